"""The vocabulary every layer shares: column names, roles and permissions, documented
defaults, the calendar, and the safe CSV/XLSX writers.

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.core.access import (
        ROLES,
        Actor,
        Permission,
        PermissionDenied,
        check_username,
        local_actor,
        whoami,
    )
    from planning.core.columns import KINDS
    from planning.core.defaults import DEFAULT_WINDOW_MONTHS, DRAWS
    from planning.core.export import neutralise_frame, write_csv, write_workbook
    from planning.core.options import (
        ATTRIBUTE_LENSES,
        DEFAULT_RULE_SET,
        FREQS,
        LENSES,
        METRICS,
        AttributeLens,
        Freq,
        Lens,
        Metric,
        TimeUnit,
    )

_EXPORTS = {
    "Actor": "access",
    "Permission": "access",
    "PermissionDenied": "access",
    "ROLES": "access",
    "check_username": "access",
    "local_actor": "access",
    "whoami": "access",
    "KINDS": "columns",
    "DEFAULT_WINDOW_MONTHS": "defaults",
    "DRAWS": "defaults",
    "neutralise_frame": "export",
    "write_csv": "export",
    "write_workbook": "export",
    "ATTRIBUTE_LENSES": "options",
    "AttributeLens": "options",
    "DEFAULT_RULE_SET": "options",
    "FREQS": "options",
    "Freq": "options",
    "LENSES": "options",
    "Lens": "options",
    "METRICS": "options",
    "Metric": "options",
    "TimeUnit": "options",
}
__all__ = [
    "ATTRIBUTE_LENSES",
    "DEFAULT_RULE_SET",
    "DEFAULT_WINDOW_MONTHS",
    "DRAWS",
    "FREQS",
    "KINDS",
    "LENSES",
    "METRICS",
    "ROLES",
    "Actor",
    "AttributeLens",
    "Freq",
    "Lens",
    "Metric",
    "Permission",
    "PermissionDenied",
    "TimeUnit",
    "check_username",
    "local_actor",
    "neutralise_frame",
    "whoami",
    "write_csv",
    "write_workbook",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
