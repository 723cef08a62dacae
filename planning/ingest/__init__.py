"""Getting data in: file readers and column mapping, value parsing, natural keys, upload
checks, the all-or-nothing import, undo of a batch, and the demo company generator.

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.ingest.demo import generate_company, load_company, write_company_csv
    from planning.ingest.importing import (
        FileLayout,
        ImportRejected,
        ImportReport,
        ImportRequest,
        import_file,
        import_files,
        import_history,
        preview_file,
        sniff_layout,
        suggest_mapping,
    )
    from planning.ingest.readers import parse_mapping
    from planning.ingest.undo import UndoRefused, list_batches, undo_batch
    from planning.ingest.uploads import EXTENSIONS, UploadRefused, check_upload_size

_EXPORTS = {
    "generate_company": "demo",
    "load_company": "demo",
    "write_company_csv": "demo",
    "FileLayout": "importing",
    "ImportRejected": "importing",
    "ImportReport": "importing",
    "ImportRequest": "importing",
    "import_file": "importing",
    "import_files": "importing",
    "import_history": "importing",
    "preview_file": "importing",
    "sniff_layout": "importing",
    "suggest_mapping": "importing",
    "parse_mapping": "readers",
    "UndoRefused": "undo",
    "list_batches": "undo",
    "undo_batch": "undo",
    "EXTENSIONS": "uploads",
    "UploadRefused": "uploads",
    "check_upload_size": "uploads",
}
__all__ = [
    "EXTENSIONS",
    "FileLayout",
    "ImportRejected",
    "ImportReport",
    "ImportRequest",
    "UndoRefused",
    "UploadRefused",
    "check_upload_size",
    "generate_company",
    "import_file",
    "import_files",
    "import_history",
    "list_batches",
    "load_company",
    "parse_mapping",
    "preview_file",
    "sniff_layout",
    "suggest_mapping",
    "undo_batch",
    "write_company_csv",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
