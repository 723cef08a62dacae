"""The store: engine and schema, all-or-nothing writes, the audit log, bulk writes, and
the SQL that aggregates transactions where they live (facts, cubes, monthly KPIs).

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.store.audit import audit_count, read_audit
    from planning.store.engine import (
        DataStatus,
        StoreError,
        data_status,
        default_url,
        describe_url,
        import_fingerprint,
        open_store,
    )
    from planning.store.kpis import (
        ACTIVE_CUSTOMERS,
        DEFAULT_GROSS_MARGIN,
        GROSS_MARGIN,
        GROSS_MARGIN_PCT,
        LAPSE_MONTHS,
        LOST_CUSTOMERS,
        NEW_CUSTOMERS,
        REVENUE,
        Headline,
        KpiValue,
        full_months,
        headline_from_kpis,
        monthly_kpis,
    )
    from planning.store.writes import StaleWrite, StoreBusy

_EXPORTS = {
    "audit_count": "audit",
    "read_audit": "audit",
    "DataStatus": "engine",
    "StoreError": "engine",
    "data_status": "engine",
    "default_url": "engine",
    "describe_url": "engine",
    "import_fingerprint": "engine",
    "open_store": "engine",
    "ACTIVE_CUSTOMERS": "kpis",
    "DEFAULT_GROSS_MARGIN": "kpis",
    "GROSS_MARGIN": "kpis",
    "GROSS_MARGIN_PCT": "kpis",
    "Headline": "kpis",
    "KpiValue": "kpis",
    "LAPSE_MONTHS": "kpis",
    "LOST_CUSTOMERS": "kpis",
    "NEW_CUSTOMERS": "kpis",
    "REVENUE": "kpis",
    "full_months": "kpis",
    "headline_from_kpis": "kpis",
    "monthly_kpis": "kpis",
    "StaleWrite": "writes",
    "StoreBusy": "writes",
}
__all__ = [
    "ACTIVE_CUSTOMERS",
    "DEFAULT_GROSS_MARGIN",
    "GROSS_MARGIN",
    "GROSS_MARGIN_PCT",
    "LAPSE_MONTHS",
    "LOST_CUSTOMERS",
    "NEW_CUSTOMERS",
    "REVENUE",
    "DataStatus",
    "Headline",
    "KpiValue",
    "StaleWrite",
    "StoreBusy",
    "StoreError",
    "audit_count",
    "data_status",
    "default_url",
    "describe_url",
    "full_months",
    "headline_from_kpis",
    "import_fingerprint",
    "monthly_kpis",
    "open_store",
    "read_audit",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
