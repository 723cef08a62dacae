"""Segments & profitability: which segments and customers make money once everything they cost
is counted, which lose it and why, and who moved between segments."""

import contextlib
import datetime as dt

import streamlit as st

from planning import profit
from ui import format as fmt
from ui import segments_charts as charts
from ui import segments_data as sd
from ui import value_data
from ui.customer_panel import pick_customer, render_customer_panel
from ui.lenses import lens_picker
from ui.page import open_page
from ui.sidebar import current_as_of

NO_RULES = "—"

page = open_page(
    "Segments & profitability",
    when_empty="There is no data to show yet: the store holds no transactions. Import a "
    "transactions file on the Data page, or run `make run` to load the demo company.",
)
engine = page.engine
status = page.status

as_of = current_as_of()
assumptions = sd.current_assumptions()
with (
    st.expander(
        f"Assumptions: {assumptions.default_margin:.0%} margin where a sale has no cost, "
        f"{fmt.money(assumptions.cost_per_order)} per transaction without activity data, "
        f"{assumptions.cost_of_capital:.0%} cost of capital, "
        f"{assumptions.default_terms_days}-day terms where none are given"
    ),
    st.form("segments_assumptions_form", border=False),
):
    cols = st.columns(4)
    margin = cols[0].number_input(
        "Default gross margin %", 0.0, 99.0, assumptions.default_margin * 100, step=1.0
    )
    per_order = cols[1].number_input(
        "Cost per transaction ($)", 0.0, 10_000.0, assumptions.cost_per_order, step=1.0
    )
    capital = cols[2].number_input(
        "Cost of capital % a year", 0.0, 100.0, assumptions.cost_of_capital * 100, step=0.5
    )
    terms = cols[3].number_input(
        "Default payment terms (days)", 0, 365, assumptions.default_terms_days, step=1
    )
    if st.form_submit_button("Apply"):
        st.session_state[sd.ASSUMPTIONS_KEY] = profit.ProfitAssumptions(
            margin / 100, per_order, capital / 100, int(terms)
        )
        st.rerun()

label, lens, attribute = lens_picker()
mid, right, _ = st.columns([1, 1, 2])
period = mid.selectbox("Period", list(sd.PERIODS), key="segments_period")
rule_set = NO_RULES
rule_sets = sd.load_rule_sets(engine)
if rule_sets:
    rule_set = right.selectbox(
        "…or a saved rule set", [NO_RULES, *rule_sets], key="segments_rule_set"
    )
    if rule_set != NO_RULES:
        label, lens = f"Rule set “{rule_set}”", "rules"
start = sd.period_start(period, as_of)

try:
    with st.spinner(
        "Fitting the churn model for the lifecycle stages…"
        if lens == "lifecycle"
        else "Working out each customer's P&L…"
    ):
        pnl = sd.load_pnl(engine, start, as_of, assumptions)
        assignment = sd.load_assignment(
            engine,
            lens,
            as_of,
            start,
            attribute=attribute,
            rule_set=rule_set,
            assumptions=assumptions,
        )
except ValueError as exc:
    st.warning(
        f"Segments by {label.lower()} cannot be shown as of {fmt.day(as_of)}: {exc}",
        icon=":material/warning:",
    )
    st.stop()
table = profit.segment_pnl(pnl, assignment, total=True)
total, by_segment = table.iloc[-1], table.iloc[:-1]
whale = profit.whale_curve(pnl)
losers = profit.loss_makers(pnl, n=25)

span = f"{fmt.day(start)} to {fmt.day(as_of)}" if start else f"all history to {fmt.day(as_of)}"
st.caption(
    f"{period} ({span}): {fmt.count(len(pnl))} customers known on {fmt.day(as_of)}, "
    f"{fmt.count(whale.customers)} of them did business in the period."
)
cards = (
    (
        "Revenue",
        total[profit.REVENUE],
        f"Net sales in the period: {fmt.money(total[profit.REVENUE])}.",
    ),
    ("Gross margin", total[profit.GROSS_MARGIN], "Revenue less cost of goods."),
    (
        "Cost-to-serve",
        total[profit.COST_TO_SERVE],
        "Orders, deliveries, tickets, returns and visits at their activity rates.",
    ),
    (
        "Contribution",
        total[profit.CONTRIBUTION],
        "Gross margin less cost-to-serve and the financing cost of payment terms.",
    ),
)
columns = st.columns(len(cards) + 1)
for column, (name, amount, help_) in zip(columns, cards, strict=False):
    column.metric(name, fmt.money_short(amount), help=help_, border=True)
columns[-1].metric(
    "Loss-makers",
    fmt.count(whale.loss_makers),
    help=f"Customers with a negative contribution; together they lose "
    f"{fmt.money(-whale.loss_makers_contribution)}.",
    border=True,
)

st.subheader(f"P&L by {label[0].lower() + label[1:]}")
st.dataframe(
    table,
    hide_index=True,
    column_config=charts.pnl_table_columns(table),
    column_order=charts.pnl_table_order(table),
    key="segments_pnl_table",
)
unrated = sd.load_unrated_activities(engine, start, as_of)
if not unrated.empty:
    st.caption(
        "Not costed (no activity rate imported): "
        + ", ".join(
            f"{fmt.activity_name(a)} ({fmt.count(q)})" for a, q in unrated.itertuples(index=False)
        )
    )

left, right = st.columns([2, 3])
left.plotly_chart(charts.contribution_by_segment_figure(by_segment), key="segments_by_segment")
with right:
    focus = st.selectbox(
        "Waterfall for", ["All customers", *by_segment["segment"]], key="segments_waterfall_for"
    )
    row = total if focus == "All customers" else by_segment.set_index("segment").loc[focus]
    st.plotly_chart(
        charts.waterfall_figure(row, f"Revenue to contribution: {focus}"), key="segments_waterfall"
    )

st.subheader("Whale curve and loss-makers")
left, right = st.columns([1, 1])
if whale.customers == 0:
    left.info(
        "No customer bought or was served in this period, so there is no curve to draw. "
        "Pick a longer period or a later As-of date.",
        icon=":material/info:",
    )
else:
    left.plotly_chart(charts.whale_figure(whale), key="segments_whale")
with right:
    if losers.empty:
        st.info("No customer lost money in this period.", icon=":material/info:")
    else:
        shown, config = charts.loss_maker_table(losers)
        st.caption(
            f"The {len(losers)} customers losing most, and why "
            f"(of {fmt.count(whale.loss_makers)} loss-makers)."
        )
        st.dataframe(
            shown, hide_index=True, column_config=config, key="segments_losers", height=360
        )

st.subheader("Migration between two dates")
default_from = max(status.first_date, (as_of - dt.timedelta(days=365)))
if as_of <= status.first_date:
    st.caption("The history is one day long: there is no earlier date to compare with.")
else:
    from_date = st.columns([1, 3])[0].date_input(
        "Compare with the segments on",
        value=default_from,
        min_value=status.first_date,
        max_value=as_of - dt.timedelta(days=1),
        format="YYYY-MM-DD",
        key="segments_from",
    )
    try:
        moves = sd.load_migration(
            engine,
            lens,
            from_date,
            as_of,
            attribute=attribute,
            rule_set=rule_set,
            assumptions=assumptions,
        )
    except ValueError as exc:
        st.warning(f"No migration to show: {exc}", icon=":material/warning:")
    else:
        st.plotly_chart(
            charts.sankey_figure(moves, fmt.day(from_date), fmt.day(as_of)), key="segments_sankey"
        )
        st.caption(
            "Link width is the number of customers; hover a link for their "
            "contribution over the 12 months to each date. Customers who were not yet "
            "customers on the first date come from “Not yet a customer”."
        )

st.subheader("Drill down to a customer")
customer = pick_customer(
    engine, losers["customer_id"].tolist(), key="segments_customer", label="Open a loss-maker"
)
if customer is not None:
    mine = pnl[pnl["customer_id"] == customer]
    if not mine.empty:
        st.plotly_chart(
            charts.waterfall_figure(
                mine.iloc[0], f"{customer}: revenue to contribution, {period.lower()}"
            ),
            key="segments_customer_waterfall",
        )
    scored = None
    # Too little history for the value models: the panel shows the rest.
    with st.spinner("Scoring the customers' value…"), contextlib.suppress(ValueError):
        scored = value_data.load_scores(engine, as_of, value_data.current_settings())
    render_customer_panel(engine, customer, as_of, scored)
