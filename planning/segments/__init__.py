"""Segments: attribute and behaviour lenses, segment rules, lifecycle stages, and the
single-customer view.

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.segments.customer_view import CustomerView, find_customers, view_customer
    from planning.segments.lenses import (
        CUSTOMERS,
        FROM_SEGMENT,
        TO_SEGMENT,
        assign_segments,
        migration_matrix,
        window_start,
    )
    from planning.segments.rules import (
        DEFAULT_RULE_SET,
        SegmentRule,
        delete_rule_set,
        load_rules,
        rule_sets,
        rules_version,
        save_rules,
    )

_EXPORTS = {
    "CustomerView": "customer_view",
    "find_customers": "customer_view",
    "view_customer": "customer_view",
    "CUSTOMERS": "lenses",
    "FROM_SEGMENT": "lenses",
    "TO_SEGMENT": "lenses",
    "assign_segments": "lenses",
    "migration_matrix": "lenses",
    "window_start": "lenses",
    "DEFAULT_RULE_SET": "rules",
    "SegmentRule": "rules",
    "delete_rule_set": "rules",
    "load_rules": "rules",
    "rule_sets": "rules",
    "rules_version": "rules",
    "save_rules": "rules",
}
__all__ = [
    "CUSTOMERS",
    "DEFAULT_RULE_SET",
    "FROM_SEGMENT",
    "TO_SEGMENT",
    "CustomerView",
    "SegmentRule",
    "assign_segments",
    "delete_rule_set",
    "find_customers",
    "load_rules",
    "migration_matrix",
    "rule_sets",
    "rules_version",
    "save_rules",
    "view_customer",
    "window_start",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
