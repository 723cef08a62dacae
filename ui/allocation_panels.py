"""The What-if allocation page's panels: the budget slider and what it buys, the rules form,
one cell's response curve, and handing the budget to the plan or saving it as a scenario.

:func:`render_whatif` is a ``st.fragment``: moving the budget or the hurdle rate re-solves and
redraws it alone, over the cached inputs of :mod:`ui.allocation_data`.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import allocation as al
from planning import plan
from planning.allocation import curve_table
from planning.core import Actor
from planning.core import columns as C
from planning.plan import Budget
from ui import allocation_charts as charts
from ui import allocation_data as ad
from ui import format as fmt
from ui import plan_data
from ui.tables import money_column


def _rules_form(
    inputs: al.PlanningInputs, scenario: al.Scenario, cells: tuple[al.Cell, ...]
) -> None:
    """The rules table, caps, capacity and treatments; "Optimise" applies them."""
    with st.form("alloc_rules_form", border=True):
        st.markdown("**Rules per cell** (edit, then Optimise)")
        table = st.data_editor(
            al.rules_table(cells, scenario.rules),
            key="alloc_rules_table",
            hide_index=True,
            width="stretch",
            disabled=[C.SEGMENT, C.PROGRAM, "lever"],
            column_order=[c for c in al.RULE_COLUMNS if c != C.PROGRAM],
            column_config={
                C.SEGMENT: "Segment",
                "lever": "Lever",
                "min_spend": money_column("Min"),
                "max_spend": money_column(
                    "Max", help="Empty: no cap. Default: twice the highest month on record."
                ),
                "locked": st.column_config.CheckboxColumn("Locked"),
                "lock_at": money_column("Lock at"),
            },
        )
        left, right = st.columns(2)
        caps = left.data_editor(
            pd.DataFrame(
                {
                    "cap_on": [*scenario.program_caps, *scenario.segment_caps],
                    "limit": [*scenario.program_caps.values(), *scenario.segment_caps.values()],
                },
                dtype=object,
            ).astype({"limit": float}),
            key="alloc_caps",
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_config={
                "cap_on": st.column_config.SelectboxColumn(
                    "Cap on lever or segment", options=[*al.LEVERS, *inputs.segments]
                ),
                "limit": money_column("Monthly cap"),
            },
        )
        capacity = right.number_input(
            "Service-tier capacity (accounts, 0 = no limit)",
            min_value=0,
            value=int(scenario.capacity or 0),
            step=5,
            key="alloc_capacity",
        )
        stored = {**inputs.treatments, **scenario.treatments}
        treatments = right.data_editor(
            al.treatments_frame(stored)[
                [
                    "segment",
                    "service_tier",
                    "payment_terms_days",
                    "credit_limit",
                    "contact_cadence_days",
                ]
            ],
            key="alloc_treatments",
            hide_index=True,
            width="stretch",
            disabled=["segment"],
            column_config={
                "segment": "Segment",
                "service_tier": st.column_config.SelectboxColumn(
                    "Tier", options=list(al.TIER_NAMES)
                ),
                "payment_terms_days": st.column_config.NumberColumn(
                    "Terms (days)", min_value=0, max_value=365
                ),
                "credit_limit": money_column("Credit limit"),
                "contact_cadence_days": st.column_config.NumberColumn(
                    "Contact (days)", min_value=1
                ),
            },
        )
        if not st.form_submit_button("Optimise", type="primary", icon=":material/tune:"):
            return
    rules, problems = al.rules_from_table(table, cells)
    changed = {}
    for row in treatments.to_dict("records"):
        old = inputs.treatments[row["segment"]]
        new = dataclasses.replace(
            old,
            service_tier=row["service_tier"],
            payment_terms_days=int(row["payment_terms_days"]),
            credit_limit=float(row["credit_limit"]),
            contact_cadence_days=int(row["contact_cadence_days"]),
        )
        problems += new.problems()
        if new != old:
            changed[row["segment"]] = new
    caps = caps.dropna()
    if problems:
        st.error("Nothing was applied: " + " ".join(problems), icon=":material/error:")
        return
    st.session_state["alloc_scenario"] = dataclasses.replace(
        scenario,
        rules=rules,
        treatments=changed,
        program_caps={k: v for k, v in _caps(caps).items() if k in al.LEVERS},
        segment_caps={k: v for k, v in _caps(caps).items() if k not in al.LEVERS},
        capacity=float(capacity) if capacity else None,
    )


@st.fragment
def render_whatif(engine: Engine, actor: Actor, inputs: al.PlanningInputs, start: str) -> None:
    """The budget slider, the optimal allocation and its panels: a fragment, so moving the
    slider re-solves and redraws this part of the page only."""
    scenario = st.session_state["alloc_scenario"]
    top = max(3 * al.business_as_usual_budget(inputs), 3 * scenario.budget, 10_000.0)
    step = 1000 if top < 2_000_000 else 10_000
    options = list(range(0, int(top // step + 1) * step + 1, step))
    if st.session_state.get("alloc_budget") not in options:
        st.session_state["alloc_budget"] = ad.nearest(options, scenario.budget)
    left, right = st.columns([3, 1])
    budget = left.select_slider(
        "Monthly budget", options=options, key="alloc_budget", format_func=fmt.money
    )
    hurdle = right.number_input(
        "Hurdle rate (%)",
        0.0,
        200.0,
        scenario.hurdle_rate * 100,
        step=5.0,
        key="alloc_hurdle",
        help="Only spend a dollar where it returns at least $1 plus this share.",
    )
    scenario = dataclasses.replace(scenario, budget=float(budget), hurdle_rate=hurdle / 100)
    with st.spinner("Pricing the scenario's treatments…"):
        try:
            problem, allocation, notes = ad.solve(engine, inputs, scenario)
        except al.InfeasibleProblem as exc:
            _rules_form(inputs, scenario, ad.problem(engine, inputs, scenario)[0].cells)
            st.error(
                "These rules cannot all hold: " + " ".join(exc.problems), icon=":material/error:"
            )
            return
    if not problem.cells:
        st.info(
            "No segment x lever has a response curve yet: import program spend with "
            "outcomes on the Data page, or set a planner curve.",
            icon=":material/info:",
        )
        return
    distribution = ad.simulate(engine, inputs, scenario, problem, allocation)
    q = distribution.quantiles()
    cards = st.columns(5)
    cards[0].metric(
        "Net profit",
        fmt.money_short(allocation.net_profit),
        border=True,
        help=f"Of one month's program spend: the contribution its outcomes bring "
        f"over {inputs.settings.horizon_months} months (discounted), less the "
        "spend.",
    )
    cards[1].metric(
        "P10",
        fmt.money_short(q["p10"]),
        border=True,
        help="Net profit in the worst tenth of 2,000 simulated outcomes "
        "(curve-parameter and customer-value uncertainty).",
    )
    cards[2].metric(
        "P90",
        fmt.money_short(q["p90"]),
        border=True,
        help="Net profit in the best tenth of the simulated outcomes.",
    )
    cards[3].metric(
        "Spend",
        fmt.money_short(allocation.spend),
        border=True,
        help=f"Of a {fmt.money(allocation.budget)} monthly budget.",
    )
    cards[4].metric(
        "ROI",
        "—" if pd.isna(allocation.roi) else f"{allocation.roi:,.0%}",
        border=True,
        help="Net profit per dollar spent.",
    )
    payback = (
        ""
        if pd.isna(allocation.payback_months)
        else f" The outcomes' monthly contribution pays the spend back in "
        f"{allocation.payback_months:,.1f} months."
    )
    st.caption(
        allocation.note
        + payback
        + (
            f" Up to {fmt.money(allocation.gap)} may be left on "
            "the table by S-shaped curves settled on or off."
            if allocation.gap > 0.5
            else ""
        )
    )
    policy = ad.policy(engine, inputs, scenario)
    if len(policy):
        st.info(
            f"The treatment changes' effect on the existing base: "
            f"{fmt.money(policy['net_effect'].sum())} a month (churn prevented worth "
            f"{fmt.money(policy['value_saved'].sum())}, added policy cost "
            f"{fmt.money(policy['policy_cost'].sum())}). It is not in the programs' "
            "figures above; the Scenarios page adds it to net profit.",
            icon=":material/handshake:",
        )
    _plan_budget_button(engine, actor, scenario)
    if notes:
        with st.expander(f"{len(notes)} segment x lever left out"):
            st.markdown("\n".join(f"- {n}" for n in notes))
    _rules_form(inputs, scenario, problem.cells)

    tabs = st.tabs(
        [
            "Allocation",
            "Response curves",
            "Marginal returns",
            "Efficient frontier",
            "Outcome distribution",
        ]
    )
    with tabs[0]:
        st.plotly_chart(charts.allocation_figure(allocation.cells), key="alloc_bars")
        shown = ad.labelled(allocation.cells)[
            [
                C.SEGMENT,
                C.PROGRAM,
                al.CURRENT_SPEND,
                C.SPEND,
                C.OUTCOME,
                al.CONTRIBUTION,
                al.MARGINAL_RETURN,
                al.BINDING,
                al.SOURCE,
            ]
        ]
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_config={
                C.SEGMENT: "Segment",
                C.PROGRAM: "Lever",
                al.CURRENT_SPEND: money_column("Business as usual"),
                C.SPEND: money_column("Optimal"),
                C.OUTCOME: st.column_config.NumberColumn("Outcome a month", format="%,.2f"),
                al.CONTRIBUTION: money_column("Contribution"),
                al.MARGINAL_RETURN: st.column_config.NumberColumn(
                    "Next dollar returns", format="$%.2f"
                ),
                al.BINDING: "Held by",
                al.SOURCE: "Curve source",
            },
        )
    with tabs[1]:
        _curve_panel(problem, allocation)
    with tabs[2]:
        st.plotly_chart(
            charts.marginal_figure(
                allocation.cells, allocation.multiplier, problem.objective.spend_weight
            ),
            key="alloc_marginal",
        )
    with tabs[3]:
        with st.spinner("Solving for every budget…"):
            curve = ad.frontier(engine, inputs, scenario, problem, top)
        st.plotly_chart(
            charts.frontier_figure(curve, allocation.budget, allocation.net_profit),
            key="alloc_frontier",
        )
    with tabs[4]:
        st.plotly_chart(
            charts.distribution_figure(distribution.net_profit, q), key="alloc_distribution"
        )
    _save_panel(engine, actor, scenario, start)


def _caps(caps: pd.DataFrame) -> dict[str, float]:
    """The caps table's rows as ``{lever or segment: monthly cap}``."""
    return {str(k): float(v) for k, v in zip(caps["cap_on"], caps["limit"], strict=True)}


def _curve_panel(problem: al.AllocationProblem, allocation: al.Allocation) -> None:
    cells = {charts.cell_label(*c.key): c for c in problem.cells}
    label = st.selectbox("Cell", list(cells), key="alloc_cell")
    cell = cells[label]
    spend = allocation.cells.set_index([C.SEGMENT, C.PROGRAM])[C.SPEND]
    optimal, current = float(spend.loc[cell.key]), float(cell.current_spend)
    top = max(2.5 * max(optimal, current), 1_000.0)
    step = max(round(top / 200, -2), 100.0)
    options = [round(i * step) for i in range(int(top // step) + 1)]
    if (
        st.session_state.get("alloc_try_cell") != label
        or st.session_state.get("alloc_try") not in options
    ):
        st.session_state["alloc_try_cell"] = label
        st.session_state["alloc_try"] = ad.nearest(options, optimal)
    tried = st.select_slider(
        "Try a spend on this cell", options=options, key="alloc_try", format_func=fmt.money
    )
    trial_problem = al.lock_cell(problem, cell.key, float(tried))
    trial = None if al.diagnose(trial_problem) else al.allocate(trial_problem)
    model = cell.response
    st.plotly_chart(
        charts.response_figure(
            curve_table(model, top),
            value_per_unit=cell.value_per_unit,
            segment=cell.segment,
            title=f"{label}: contribution against monthly spend",
            points={"Business as usual": current, "Optimal": optimal, "Your try": float(tried)},
        ),
        key="alloc_curve",
    )
    params = ", ".join(f"{k} {v:,.4g}" for k, v in model.params.items())
    st.caption(
        f"{model.family.capitalize()} curve ({params}); {model.source}. One outcome "
        f"({model.unit}) is worth {fmt.money(cell.value_per_unit)}: {cell.note}."
    )
    if trial is None:
        st.warning(
            f"{fmt.money(tried)} on this cell leaves too little for the other rules.",
            icon=":material/warning:",
        )
    else:
        change = trial.net_profit - allocation.net_profit
        st.markdown(
            f"Spending **{fmt.money(tried)}** here and re-optimising the rest: net "
            f"profit **{fmt.money(trial.net_profit)}**, "
            f"**{fmt.money(change)}** against the optimum."
        )


def _seen_budget(version: int) -> None:
    st.session_state["alloc_budget_seen"] = version


def _plan_budget_button(engine: Engine, actor: Actor, scenario: al.Scenario) -> None:
    """Make this monthly budget and these rules the operating plan's, and recompute it."""
    if not actor.may("edit_budget"):
        return
    # The version of the plan's budget as this screen showed it, so a budget someone else set
    # in between is not silently replaced.
    _, seen = plan.read_setting(engine, "budget")
    if not st.button(
        f"Use {fmt.money(scenario.budget)} a month for the operating plan",
        key="alloc_to_plan",
        icon=":material/event_note:",
        on_click=_seen_budget,
        args=(seen,),
        help="The plan's yearly budget becomes twelve times this month's, with "
        "these rules; the plan is recomputed and a new version written.",
    ):
        return
    with st.spinner("Recomputing the operating plan…"):
        try:
            result = plan_data.set_plan_budget(
                engine,
                Budget.from_scenario(scenario),
                actor=actor,
                expected_version=st.session_state.get("alloc_budget_seen", seen),
                reason=f"monthly budget {fmt.money(scenario.budget)} set on the what-if page",
            )
        except plan.StaleSetting as exc:
            st.error(str(exc), icon=":material/sync_problem:")
            return
    if result.version_id is None:
        st.info(
            "The plan is unchanged: its allocation already spends within this budget "
            "(beyond the optimum, another dollar earns less than a dollar).",
            icon=":material/check:",
        )
    else:
        st.success(
            f"Plan version {result.version_id} written ({', '.join(result.recomputed)} "
            f"recomputed in {result.seconds:.2f} s).",
            icon=":material/check:",
        )


def _save_panel(engine: Engine, actor: Actor, scenario: al.Scenario, start_name: str) -> None:
    if not actor.may("edit_scenarios"):
        st.caption(
            ":material/lock: This what-if is your private sandbox: it lives in this "
            "browser session only and is never saved into the shared scenarios."
        )
        return
    with st.expander("Save as scenario", icon=":material/save:"):
        with st.form("alloc_save"):
            name = st.text_input(
                "Name",
                value="" if start_name == al.BASELINE else start_name,
                key="alloc_save_name",
                max_chars=128,
            )
            description = st.text_input("Description", value=scenario.description, max_chars=1024)
            if not st.form_submit_button("Save scenario"):
                return
        version = scenario.version if name == start_name else 0
        try:
            saved = al.save_scenario(
                engine,
                dataclasses.replace(
                    scenario, name=name.strip(), description=description, version=version
                ),
                actor=actor,
            )
        except (ValueError, al.StaleWrite) as exc:
            st.error(f"Not saved: {exc}", icon=":material/error:")
            return
        st.success(
            f"Saved scenario '{fmt.plain(saved.name)}' (version {saved.version}) by "
            f"{fmt.plain(saved.updated_by)}.",
            icon=":material/check:",
        )
