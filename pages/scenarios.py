"""Scenarios: two what-if scenarios side by side, and the chance one earns more than the other."""

import streamlit as st

from planning import allocation
from ui import allocation_charts as charts
from ui import allocation_data as ad
from ui import format as fmt
from ui.page import open_page
from ui.sidebar import current_as_of
from ui.tables import money_column

page = open_page("Scenarios")
engine = page.engine
status = page.status
as_of = current_as_of()
inputs = ad.require_inputs(
    engine,
    status.is_empty,
    as_of,
    "There are no scenarios to compare yet: import data on the "
    "Data page, or run `make run` to load the demo company.",
)

stored = allocation.list_scenarios(engine)
names = ad.scenario_names(engine)
if len(names) < 2:
    st.info(
        "Only the baseline exists. Save a scenario on the What-if allocation page to "
        "compare it with the baseline.",
        icon=":material/info:",
    )
    st.page_link("pages/allocation.py", label="Go to What-if allocation", icon=":material/tune:")
left, right = st.columns(2)
name_a = left.selectbox("Scenario A", names, index=min(1, len(names) - 1), key="scn_a")
name_b = right.selectbox("Scenario B", names, index=0, key="scn_b")

results = {}
for column, name in ((left, name_a), (right, name_b)):
    scenario = allocation.load_scenario(engine, name, inputs=inputs)
    saved = (
        "business as usual, not stored"
        if scenario.version == 0
        else f"version {scenario.version}, saved by {fmt.plain(scenario.updated_by)} on "
        f"{fmt.moment(scenario.updated_at)}; created by {fmt.plain(scenario.created_by)}"
    )
    column.caption(f"{fmt.plain(scenario.description) or 'No description.'} ({saved})")
    with st.spinner(f"Optimising and simulating {name}…"):
        try:
            results[name] = ad.evaluate(engine, inputs, scenario)
        except allocation.InfeasibleProblem as exc:
            column.error(
                f"{fmt.plain(name)}'s rules cannot all hold: " + " ".join(exc.problems),
                icon=":material/error:",
            )
if len(results) < 2 or name_a == name_b:
    if name_a == name_b:
        st.info("Pick two different scenarios to compare.", icon=":material/info:")
    st.stop()

a, b = results[name_a], results[name_b]
comparison = allocation.compare_scenarios(a, b)
p = comparison.comparison.p_a_beats_b
cards = st.columns(4)
cards[0].metric(
    "P(A beats B)",
    f"{p:.0%}",
    border=True,
    help="Share of 2,000 simulated outcomes, drawn alike for both scenarios "
    "(common random numbers), in which A's net profit is higher.",
)
diff = comparison.outcomes.set_index("metric")
cards[1].metric(
    "Net profit, A",
    fmt.money_short(a.net_profit),
    border=True,
    help="A month's programs (their outcomes' discounted contribution less the "
    "spend) plus the treatments' effect on the existing base.",
)
cards[2].metric("Net profit, B", fmt.money_short(b.net_profit), border=True)
cards[3].metric(
    "A minus B",
    fmt.money_short(diff.loc["Expected net profit", "difference"]),
    border=True,
    help="Expected monthly net profit of A less that of B.",
)

st.subheader("Inputs that differ")
if comparison.inputs.empty:
    st.caption("The two scenarios have the same inputs.")
else:
    st.dataframe(
        comparison.inputs,
        hide_index=True,
        width="stretch",
        column_config={"input": "Input", "a": f"A: {name_a}", "b": f"B: {name_b}"},
    )

st.subheader("Outcomes of a month's plan")
outcomes = comparison.outcomes[comparison.outcomes["metric"] != "ROI"]
st.dataframe(
    outcomes.assign(difference=outcomes["difference"].map(fmt.money)),
    hide_index=True,
    width="stretch",
    column_config={
        "metric": "Outcome",
        "a": money_column(f"A: {name_a}"),
        "b": money_column(f"B: {name_b}"),
        "difference": st.column_config.TextColumn("A minus B"),
    },
)
st.caption(
    f"ROI: A {a.allocation.roi:,.0%}, B {b.allocation.roi:,.0%}. P10 and P90 bound "
    "80% of simulated outcomes (curve-parameter and customer-value uncertainty)."
)

left, right = st.columns(2)
left.plotly_chart(
    charts.comparison_figure(a.net_draws(), b.net_draws(), name_a, name_b), key="scn_overlay"
)
right.plotly_chart(
    charts.difference_figure(comparison.comparison.difference, p), key="scn_difference"
)

st.subheader("Spend per cell")
cells = ad.labelled(comparison.cells)
st.dataframe(
    cells.assign(change=cells["change"].map(fmt.money)),
    hide_index=True,
    width="stretch",
    column_config={
        "segment": "Segment",
        "program": "Lever",
        "spend_a": money_column(f"A: {name_a}"),
        "spend_b": money_column(f"B: {name_b}"),
        "change": st.column_config.TextColumn("A minus B"),
    },
)
if len(stored):
    with st.expander("Saved scenarios"):
        st.dataframe(
            stored,
            hide_index=True,
            width="stretch",
            column_config={"budget": money_column("Monthly budget")},
        )
