"""The Overview's headline metrics as plain values: label, formatted value, delta and help.

Kept apart from drawing so the wording and formatting of each number is testable without
Streamlit, and every page that shows a headline number spells it the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from planning.store import Headline, KpiValue
from ui import format as fmt


@dataclass(frozen=True)
class MetricCard:
    label: str
    value: str
    delta: str | None
    delta_description: str | None
    delta_color: Literal["normal", "inverse", "off"]
    delta_arrow: Literal["auto", "off"]
    help: str


def headline_cards(head: Headline) -> list[MetricCard]:
    """Revenue, gross margin %, active, new and lost customers for ``head.month``."""
    ago = fmt.month_name(head.year_ago_month)

    def card(
        label: str,
        kpi: KpiValue,
        value: Callable[[float | None], str],
        delta: str | None,
        help_: str,
        colour: Literal["normal", "inverse"] = "normal",
    ) -> MetricCard:
        if kpi.year_ago is None:
            help_ += f" No data for {ago} to compare with."
        flat = fmt.is_flat(delta)
        return MetricCard(
            label,
            value(kpi.value),
            delta,
            f"vs {ago}" if delta else None,
            "off" if flat else colour,
            "off" if flat else "auto",
            help_,
        )

    return [
        card(
            "Revenue",
            head.revenue,
            fmt.money_short,
            fmt.signed_percent(head.revenue.change_pct),
            f"Sales in the month: {fmt.money(head.revenue.value)}.",
        ),
        card(
            "Gross margin",
            head.gross_margin_pct,
            fmt.percent,
            fmt.signed_points(head.gross_margin_pct.change),
            "Revenue less cost of goods, as a share of revenue; 30% is assumed where a sale "
            "has no cost.",
        ),
        card(
            "Active customers",
            head.active_customers,
            fmt.count,
            fmt.signed_count(head.active_customers.change),
            "Customers who bought in the month.",
        ),
        card(
            "New customers",
            head.new_customers,
            fmt.count,
            fmt.signed_count(head.new_customers.change),
            "First purchase ever in the month.",
        ),
        card(
            "Lost customers",
            head.lost_customers,
            fmt.count,
            fmt.signed_count(head.lost_customers.change),
            "Customers whose sixth month in a row without a purchase ended in the month.",
            colour="inverse",
        ),
    ]
