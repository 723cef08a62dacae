"""The vocabulary every layer shares: column names, roles and permissions, documented
defaults, the calendar, and the safe CSV/XLSX writers.

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.core.access import ROLES, Actor, Permission, PermissionDenied, local_actor, whoami
    from planning.core.columns import KINDS
    from planning.core.defaults import DRAWS
    from planning.core.export import neutralise_frame, write_workbook
    from planning.core.options import ATTRIBUTE_LENSES, AttributeLens, Freq, Lens, Metric, TimeUnit

_EXPORTS = {
    "AttributeLens": "options",
    "Freq": "options",
    "Lens": "options",
    "Metric": "options",
    "TimeUnit": "options",
    "Actor": "access",
    "Permission": "access",
    "PermissionDenied": "access",
    "ROLES": "access",
    "local_actor": "access",
    "whoami": "access",
    "KINDS": "columns",
    "DRAWS": "defaults",
    "neutralise_frame": "export",
    "write_workbook": "export",
    "ATTRIBUTE_LENSES": "options",
}
__all__ = [
    "ATTRIBUTE_LENSES",
    "DRAWS",
    "KINDS",
    "ROLES",
    "Actor",
    "AttributeLens",
    "Freq",
    "Lens",
    "Metric",
    "Permission",
    "PermissionDenied",
    "TimeUnit",
    "local_actor",
    "neutralise_frame",
    "whoami",
    "write_workbook",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
