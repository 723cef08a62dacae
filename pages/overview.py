"""Overview: how the company did last month, against a year earlier, and month by month."""

import streamlit as st

from planning import store
from ui import charts, data
from ui import format as fmt
from ui.metrics import headline_cards
from ui.page import open_page
from ui.plan_panel import render_plan_panel
from ui.sidebar import current_as_of

page = open_page(
    "Overview",
    when_empty="There is no data to show yet: the store holds no transactions. "
    "Import a transactions file on the Data page, or run `make run` to load the demo "
    "company.",
)
engine = page.engine

as_of = current_as_of()
head = data.load_headline(engine, as_of)
if head.month is None:
    st.info(
        f"No calendar month has ended by {fmt.day(as_of)} yet, so there is no full month to "
        "report. Pick a later As-of date in the sidebar, or import more history.",
        icon=":material/info:",
    )
    st.stop()

st.caption(
    f"{fmt.month_name(head.month)}, the last full month as of {fmt.day(as_of)}, "
    f"against {fmt.month_name(head.year_ago_month)}."
)
for column, card in zip(st.columns(5), headline_cards(head), strict=True):
    column.metric(
        card.label,
        card.value,
        card.delta,
        delta_color=card.delta_color,
        delta_arrow=card.delta_arrow,
        delta_description=card.delta_description,
        help=card.help,
        border=True,
    )

kpis = data.load_monthly_kpis(engine, as_of)
full_months = store.full_months(kpis, as_of)
left, right = st.columns(2)
left.plotly_chart(charts.revenue_margin_figure(full_months), key="overview_revenue")
right.plotly_chart(charts.customers_figure(full_months), key="overview_customers")
st.caption(
    f"Full calendar months only. Where a sale has no cost of goods, a "
    f"{store.DEFAULT_GROSS_MARGIN:.0%} gross margin is assumed. A customer counts as lost "
    f"in the {store.LAPSE_MONTHS}th month in a row without a purchase; in the first "
    f'{store.LAPSE_MONTHS} months of history (shaded) "new" also counts existing '
    "customers seen for the first time."
)

render_plan_panel(engine)
