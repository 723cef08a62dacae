"""What-if allocation: where next month's program dollars earn the most net profit.

The inputs that change often (the budget, the spend to try on one cell) are sliders in a
fragment, so moving one re-solves and redraws this part of the page only; the rules table,
caps and treatments are a form whose "Optimise" button applies them together.
"""

import streamlit as st

from planning import allocation as al
from ui import allocation_data as ad
from ui import format as fmt
from ui.allocation_panels import render_whatif
from ui.page import open_page
from ui.sidebar import current_as_of

engine, actor, status = open_page("What-if allocation")
as_of = current_as_of()
inputs = ad.require_inputs(
    engine,
    status.is_empty,
    as_of,
    "There is nothing to allocate yet: import transactions and "
    "program spend on the Data page, or run `make run` to load the demo company.",
)

start = st.selectbox(
    "Start from scenario",
    ad.scenario_names(engine),
    key="alloc_start",
    help="Baseline is business as usual: the last twelve months' average "
    "monthly spend as the budget, no rules.",
)
base = al.load_scenario(engine, start, inputs=inputs)
# The scenario being edited keeps the version it was opened at: when someone saves it in the
# meantime, this screen says so, and a save from here is refused rather than overwrite theirs.
if st.session_state.get("alloc_loaded") != (start, as_of):
    st.session_state["alloc_loaded"] = (start, as_of)
    st.session_state["alloc_scenario"] = base
    for key in ("alloc_budget", "alloc_try", "alloc_try_cell", "alloc_hurdle"):
        st.session_state.pop(key, None)
opened = st.session_state["alloc_scenario"].version
if base.version != opened:
    warn, reload = st.columns([5, 1])
    warn.warning(
        f"{fmt.plain(base.updated_by or 'Someone')} saved '{fmt.plain(start)}' "
        f"(version {base.version}) after you opened version {opened}: saving your "
        "changes under this name will be refused. Reload to start from theirs.",
        icon=":material/sync_problem:",
    )
    if reload.button("Reload", key="alloc_reload", icon=":material/refresh:"):
        st.session_state.pop("alloc_loaded", None)
        st.rerun()
st.caption(
    f"Monthly budget and spend, as of {fmt.day(as_of)}. Outcomes are worth their customer "
    f"value over {inputs.settings.horizon_months} months, discounted at "
    f"{inputs.settings.annual_discount_rate:.0%} a year; curves are calibrated on "
    f"{inputs.history_months} months of program spend. {al.ASSUMPTION_NOTE}"
)


render_whatif(engine, actor, inputs, start)
