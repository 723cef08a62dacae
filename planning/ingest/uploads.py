"""What a file must be before Continuum reads it: a named type, a sane size, safe XML.

Every file that enters an import (the Data page's upload, ``python -m planning import``, the
watch inbox) passes :func:`check_source` before a byte of it is parsed. The check looks at the
name *and* the content: a ``.csv``, ``.tsv`` or ``.txt`` must be text (no NUL bytes, not an
archive, image or executable, almost no control characters), and an ``.xlsx`` must be a ZIP
archive whose ``[Content_Types].xml`` names a spreadsheet workbook. A renamed binary is refused
with a message that names the file and says what its content really is.

Workbooks are XML inside a ZIP, which brings two classic attacks: entity expansion ("billion
laughs") and external entities (XXE, reading files or URLs from the server), plus ZIP bombs.
Workbooks that Excel, LibreOffice or openpyxl save never declare a DTD, so the prolog of every
XML part is parsed with defusedxml, which refuses any DTD, entity or external reference; the
archive's declared sizes are capped (Python's zipfile never inflates a member past its
declared size). openpyxl 3.1.5 also parses through defusedxml itself when defusedxml is
importable and ``OPENPYXL_DEFUSEDXML`` is unset or ``"True"``; :func:`require_safe_openpyxl`
refuses workbooks when a deployment switched that off.

The upload size limit (:data:`MAX_UPLOAD_BYTES`) applies to files sent through the browser,
whose bytes are held in the server's memory; the command line reads files from disk in
chunks and has no size limit.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Final, Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import XMLParser as _DefusedParser

Source = bytes | Path
FileType = Literal["text", "xlsx"]

MAX_UPLOAD_MB: Final = 200
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
TEXT_EXTENSIONS: Final = (".csv", ".tsv", ".txt")
EXCEL_EXTENSIONS: Final = (".xlsx",)
EXTENSIONS: Final = (*TEXT_EXTENSIONS, *EXCEL_EXTENSIONS)
# Inflated size of all parts of a workbook: Excel's 1,048,576 rows of a wide sheet stay far below.
MAX_WORKBOOK_XML_BYTES: Final = 2 * 1024 * 1024 * 1024
MAX_WORKBOOK_PARTS: Final = 10_000
XLSX_MAIN: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"

_HEAD_BYTES: Final = 64 * 1024
_PROLOG_BYTES: Final = 64 * 1024
# Control bytes that never occur in a text table (tab, line feed, form feed, carriage return
# and the DOS end-of-file mark 0x1A do; ESC is kept out of the list for ANSI-coloured logs).
_CONTROL: Final = (
    frozenset(range(0x09))
    | frozenset((0x0B, 0x0E, 0x0F))
    | frozenset(range(0x10, 0x1A))
    | frozenset((0x1C, 0x1D, 0x1E, 0x1F, 0x7F))
)
_MAX_CONTROL_SHARE: Final = 0.01
# Leading bytes of binary formats people rename by mistake, with what to call them.
_MAGIC: Final = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Office file (.xls or .doc)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "a SQLite database"),
)
_OTHER_OOXML: Final = {
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": (
        "a macro-enabled workbook (.xlsm); save it as .xlsx (without macros)"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": (
        "an Excel template (.xltx); save it as a workbook (.xlsx)"
    ),
    "application/vnd.ms-excel.sheet.binary.macroEnabled.main": (
        "a binary workbook (.xlsb); save it as .xlsx"
    ),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": (
        "a Word document"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": (
        "a PowerPoint presentation"
    ),
}


class UploadRefused(ValueError):
    """A file Continuum will not read; the message names the file and what is wrong with it."""


def check_upload(content: bytes, file_name: str, *, max_bytes: int | None = None) -> FileType:
    """Check a browser upload: :func:`check_upload_size`, then :func:`check_source`.

    Raises
    ------
    UploadRefused
        For a file over ``max_bytes`` or one that :func:`check_source` refuses.
    """
    check_upload_size(content, file_name, max_bytes=max_bytes)
    return check_source(content, file_name)


def check_upload_size(content: bytes, file_name: str, *, max_bytes: int | None = None) -> None:
    """Refuse an upload over ``max_bytes`` (default :data:`MAX_UPLOAD_BYTES`), naming its size.

    The type checks need not be repeated by a caller that goes on to sniff or import the
    bytes: :func:`planning.ingest.readers.sniff_layout` runs :func:`check_source` itself.
    """
    max_bytes = MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    if len(content) > max_bytes:
        raise UploadRefused(
            f"{file_name} is {_megabytes(len(content))}; uploads are limited to "
            f"{_megabytes(max_bytes)}. Split the file, or import it from the command line: "
            "python -m planning import KIND FILE."
        )


def check_source(source: Source, file_name: str) -> FileType:
    """The file's type, ``"text"`` or ``"xlsx"``, once its name and content agree on it.

    A name without an extension (an API caller's bytes) is typed by its content alone.

    Raises
    ------
    UploadRefused
        For an extension Continuum does not read, text that is really binary, a workbook that
        is not a spreadsheet, or a workbook with DTDs, entities or an oversized archive.
    """
    suffix = Path(file_name).suffix.lower()
    if suffix and suffix not in EXTENSIONS:
        raise UploadRefused(
            f"{file_name}: Continuum imports {', '.join(EXTENSIONS)} files, not '{suffix}'. "
            "Save the table as CSV or as an Excel workbook (.xlsx)."
        )
    head = _head(source)
    if not head.strip():
        raise UploadRefused(f"The file is empty: {file_name} has no rows to import.")
    if suffix in EXCEL_EXTENSIONS or (not suffix and head.startswith(b"PK\x03\x04")):
        if not head.startswith(b"PK\x03\x04"):
            raise UploadRefused(
                f"{file_name} is not an Excel workbook: an .xlsx file is a ZIP archive, and this "
                f"file is {_what_is(head)}. Save it from Excel as .xlsx, or give a CSV file "
                "its .csv name."
            )
        check_workbook(source, file_name)
        return "xlsx"
    _check_text(head, file_name)
    return "text"


def check_workbook(source: Source, file_name: str) -> None:
    """Refuse a workbook that is not an OOXML spreadsheet or whose XML or ZIP is hostile."""
    try:
        with _open(source) as fh, zipfile.ZipFile(fh) as archive:
            members = archive.infolist()
            _check_archive_sizes(members, file_name)
            _check_content_types(archive, file_name)
            for member in members:
                if member.filename.lower().endswith((".xml", ".rels", ".vml")):
                    _check_prolog(archive, member, file_name)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        EOFError,
        OSError,
    ) as exc:
        raise UploadRefused(
            f"{file_name} is not a readable Excel workbook: its ZIP archive is damaged ({exc})."
        ) from exc


def require_safe_openpyxl() -> None:
    """Raise UploadRefused unless openpyxl parses workbooks through defusedxml.

    openpyxl 3.1.5 decides once, at import, from ``OPENPYXL_DEFUSEDXML`` (default ``"True"``;
    any other spelling, even ``"true"``, switches it off) and whether defusedxml imports.
    """
    import openpyxl

    if not openpyxl.DEFUSEDXML:
        raise UploadRefused(
            "Excel import is switched off on this server: openpyxl is not parsing through "
            "defusedxml (OPENPYXL_DEFUSEDXML must be unset or exactly True). Import the table "
            "as CSV instead."
        )


def _open(source: Source) -> io.BufferedIOBase:
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def _head(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:_HEAD_BYTES]
    with open(source, "rb") as fh:
        return fh.read(_HEAD_BYTES)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def _what_is(head: bytes) -> str:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if b"\x00" in head or _control_share(head) > _MAX_CONTROL_SHARE:
        return "binary data"
    return "text (a CSV file renamed .xlsx?)"


def _control_share(head: bytes) -> float:
    return sum(head.count(bytes((b,))) for b in _CONTROL) / max(len(head), 1)


def _check_text(head: bytes, file_name: str) -> None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            hint = (
                " It looks like an Excel workbook: give it its .xlsx name."
                if magic == b"PK\x03\x04" and _is_workbook_head(head)
                else ""
            )
            raise UploadRefused(
                f"This is not a table: {file_name} is {name}.{hint} Import a CSV/text "
                "file or an .xlsx workbook."
            )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadRefused(
            f"{file_name} is UTF-16 text, which Continuum does not read: save it as UTF-8 CSV "
            "(in Excel: CSV UTF-8)."
        )
    if b"\x00" in head:
        raise UploadRefused(
            f"This is not a table: {file_name} is binary (it contains NUL bytes). "
            "Import a CSV/text file or an .xlsx workbook."
        )
    if _control_share(head) > _MAX_CONTROL_SHARE:
        raise UploadRefused(
            f"This is not a table: {_control_share(head):.0%} of the first bytes of {file_name} "
            "are control characters, as in binary data. Import a CSV/text file or an .xlsx "
            "workbook."
        )


def _is_workbook_head(head: bytes) -> bool:
    return b"[Content_Types].xml" in head and b"xl/" in head


def _check_archive_sizes(members: list[zipfile.ZipInfo], file_name: str) -> None:
    if len(members) > MAX_WORKBOOK_PARTS:
        raise UploadRefused(
            f"{file_name} is refused: its archive holds {len(members):,} parts, more than a "
            f"workbook has ({MAX_WORKBOOK_PARTS:,} at most)."
        )
    inflated = sum(m.file_size for m in members)
    if inflated > MAX_WORKBOOK_XML_BYTES:
        raise UploadRefused(
            f"{file_name} is refused: its parts inflate to {_megabytes(inflated)}, more than "
            f"{_megabytes(MAX_WORKBOOK_XML_BYTES)} (a ZIP bomb, or a workbook too large to "
            "read: export it as CSV)."
        )


def _check_content_types(archive: zipfile.ZipFile, file_name: str) -> None:
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        raise UploadRefused(
            f"{file_name} is a ZIP archive but not an Excel workbook: it has no "
            "[Content_Types].xml. Save the table from Excel as .xlsx."
        ) from None
    root = _parse(archive.read(info), file_name, info.filename)
    types = {el.get("ContentType", "") for el in root if el.tag.endswith("}Override")}
    if XLSX_MAIN in types:
        return
    for content_type, what in _OTHER_OOXML.items():
        if content_type in types:
            raise UploadRefused(f"{file_name} is not an .xlsx workbook: it is {what}.")
    raise UploadRefused(
        f"{file_name} is not an .xlsx workbook: its [Content_Types].xml names no spreadsheet "
        "workbook part. Save the table from Excel as .xlsx."
    )


def _check_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo, file_name: str) -> None:
    """Parse a part up to its root element with defusedxml: a DTD can only come before it."""
    parser = _DefusedParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    started: list[bool] = []
    build = parser.parser.StartElementHandler
    assert build is not None  # XMLParser installs its own start handler

    def start(*args):
        started.append(True)
        return build(*args)

    parser.parser.StartElementHandler = start
    with archive.open(member) as part:
        read = 0
        while not started:
            block = part.read(4096)
            if not block:
                return  # an empty or root-less part: openpyxl reports it if it needs it
            read += len(block)
            if read > _PROLOG_BYTES:
                raise UploadRefused(
                    f"{file_name} is refused: its part {member.filename} has no root element "
                    f"in its first {_PROLOG_BYTES // 1024} KB, which no workbook part lacks."
                )
            _feed(parser, block, file_name, member.filename)


def _parse(data: bytes, file_name: str, part: str):
    parser = _DefusedParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    _feed(parser, data, file_name, part)
    try:
        return parser.close()
    except Exception as exc:  # expat's ParseError, for malformed XML
        raise UploadRefused(
            f"{file_name} is not a readable Excel workbook: {part} is not well-formed XML ({exc})."
        ) from exc


def _feed(parser, data: bytes, file_name: str, part: str) -> None:
    try:
        parser.feed(data)
    except DefusedXmlException as exc:
        raise UploadRefused(
            f"{file_name} is refused: its part {part} declares a DTD or XML entities "
            f"({type(exc).__name__}), which workbooks saved by Excel never do and which "
            "billion-laughs and external-entity (XXE) attacks rely on."
        ) from exc
    except Exception as exc:  # expat's ParseError, for malformed XML
        raise UploadRefused(
            f"{file_name} is not a readable Excel workbook: {part} is not well-formed XML ({exc})."
        ) from exc
