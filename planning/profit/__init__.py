"""Cost-to-serve and profit: activity-based costing, customer and segment P&L, and the
segment-month history (and its rates) that the plan runs on.

The names below are the package's public API: pages, ui/ and the command line import
them from here. Each loads its module on first use, so importing the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planning.core.lazy import lazy_exports

if TYPE_CHECKING:
    from planning.profit.costing import unrated_activities
    from planning.profit.profitability import (
        COGS,
        CONTRIBUTION,
        CONTRIBUTION_PER_CUSTOMER,
        COST_TO_SERVE,
        CTS_PREFIX,
        CUMULATIVE_CONTRIBUTION,
        CUMULATIVE_SHARE,
        CUSTOMER_SHARE,
        CUSTOMERS,
        DRIVER,
        FINANCING_COST,
        GROSS_MARGIN,
        ORDERS,
        REVENUE,
        TOP_ACTIVITY,
        TOP_ACTIVITY_COST,
        UNASSIGNED,
        ProfitAssumptions,
        WhaleCurve,
        activity_of,
        cts_columns,
        customer_pnl,
        loss_makers,
        segment_pnl,
        whale_curve,
    )
    from planning.profit.segment_history import load_history

_EXPORTS = {
    "unrated_activities": "costing",
    "COGS": "profitability",
    "CONTRIBUTION": "profitability",
    "CONTRIBUTION_PER_CUSTOMER": "profitability",
    "COST_TO_SERVE": "profitability",
    "CTS_PREFIX": "profitability",
    "CUMULATIVE_CONTRIBUTION": "profitability",
    "CUMULATIVE_SHARE": "profitability",
    "CUSTOMERS": "profitability",
    "CUSTOMER_SHARE": "profitability",
    "DRIVER": "profitability",
    "FINANCING_COST": "profitability",
    "GROSS_MARGIN": "profitability",
    "ORDERS": "profitability",
    "ProfitAssumptions": "profitability",
    "REVENUE": "profitability",
    "TOP_ACTIVITY": "profitability",
    "TOP_ACTIVITY_COST": "profitability",
    "UNASSIGNED": "profitability",
    "WhaleCurve": "profitability",
    "activity_of": "profitability",
    "cts_columns": "profitability",
    "customer_pnl": "profitability",
    "loss_makers": "profitability",
    "segment_pnl": "profitability",
    "whale_curve": "profitability",
    "load_history": "segment_history",
}
__all__ = [
    "COGS",
    "CONTRIBUTION",
    "CONTRIBUTION_PER_CUSTOMER",
    "COST_TO_SERVE",
    "CTS_PREFIX",
    "CUMULATIVE_CONTRIBUTION",
    "CUMULATIVE_SHARE",
    "CUSTOMERS",
    "CUSTOMER_SHARE",
    "DRIVER",
    "FINANCING_COST",
    "GROSS_MARGIN",
    "ORDERS",
    "REVENUE",
    "TOP_ACTIVITY",
    "TOP_ACTIVITY_COST",
    "UNASSIGNED",
    "ProfitAssumptions",
    "WhaleCurve",
    "activity_of",
    "cts_columns",
    "customer_pnl",
    "load_history",
    "loss_makers",
    "segment_pnl",
    "unrated_activities",
    "whale_curve",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
