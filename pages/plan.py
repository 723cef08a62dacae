"""Operating plan: the next twelve months per segment, how the closed months went against plan,
and every version of the plan with why it changed."""

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from planning import core, plan
from ui import format as fmt
from ui import plan_charts, plan_data, plan_tables
from ui.budget_editor import render_budget_cells
from ui.page import open_page
from ui.tables import count_column, money_column
from ui.versions import seen_version

METRICS = {
    "Revenue": plan.REVENUE,
    "Contribution": plan.CONTRIBUTION,
    "Gross margin": plan.GROSS_MARGIN,
    "Cost-to-serve": plan.COST_TO_SERVE,
    "Program spend": plan.PROGRAM_SPEND,
    "Customers": plan.CLOSING,
    "Orders": plan.ORDERS,
}

engine, actor, status = open_page(
    "Operating plan",
    when_empty="There is nothing to plan from yet: import transactions on the Data page, or run "
    "`make run` to load the demo company.",
)

versions = plan_data.versions(engine)
top_left, top_right = st.columns([4, 1])
if top_right.button(
    "Recompute now",
    icon=":material/refresh:",
    key="plan_recompute",
    disabled=not actor.may("recompute_plan"),
    help="Bring the plan up to date with the data and assumptions now."
    if actor.may("recompute_plan")
    else "Planners recompute the plan.",
):
    with st.spinner("Recomputing the plan: value, forecasts, curves, allocation…"):
        try:
            result = plan_data.recompute(
                engine, "manual", actor=actor, reason="recomputed from the dashboard"
            )
        except ValueError as exc:
            st.error(f"The plan could not be recomputed: {exc}", icon=":material/error:")
            st.stop()
    st.toast(
        "Nothing changed: the plan is current."
        if result.version_id is None
        else f"Plan version {result.version_id} written.",
        icon=":material/check:",
    )
    versions = plan_data.versions(engine)
if not versions:
    top_left.info(
        "No plan has been computed for this store yet. Recompute now to make the "
        "first one (about a minute on a large company).",
        icon=":material/info:",
    )
    st.stop()

labels = {
    v.id: f"v{v.id} · {fmt.moment(v.created_at)} · {v.trigger} by {v.actor}" for v in versions
}
# Follow the newest version unless the user deliberately picked an older one.
if (
    st.session_state.get("plan_version") in (None, st.session_state.get("plan_followed"))
    or st.session_state.get("plan_version") not in labels
):
    st.session_state["plan_version"] = versions[0].id
st.session_state["plan_followed"] = versions[0].id
chosen_id = top_left.selectbox(
    "Plan version", list(labels), format_func=labels.get, key="plan_version"
)
version = next(v for v in versions if v.id == chosen_id)
latest = versions[0]
st.caption(
    f"{version.horizon_months} months from {fmt.month_name(version.horizon_start)}; last closed "
    f"month {fmt.month_name(version.last_closed_month)}. Why: {version.reason}."
    + ("" if version.id == latest.id else f" A newer version exists: v{latest.id}.")
)

table = plan_data.load_table(engine, version.id)
actuals = plan_data.load_actuals(engine, version)
alerts = plan_data.load_alerts(engine, version.id)
totals = plan_tables.monthly_totals(table, METRICS.values())
horizon = f"over the {version.horizon_months} planned months"
cards = (
    ("Revenue", fmt.money_short(totals[plan.REVENUE].sum()), f"Planned revenue {horizon}."),
    (
        "Contribution",
        fmt.money_short(totals[plan.CONTRIBUTION].sum()),
        f"Gross margin less cost-to-serve, financing and program spend, {horizon}.",
    ),
    (
        "Program spend",
        fmt.money_short(totals[plan.PROGRAM_SPEND].sum()),
        f"Acquisition, retention, cross-sell and win-back spend {horizon}.",
    ),
    (
        "Customers at the end",
        fmt.count(totals[plan.CLOSING].iloc[-1]),
        "The customer base in the last planned month.",
    ),
    (
        "Alerts",
        fmt.count(len(alerts)),
        "Variances past the threshold and actuals outside the forecast's 95% interval.",
    ),
)
for column, (label, value, help_) in zip(st.columns(len(cards)), cards, strict=True):
    column.metric(label, value, help=help_, border=True)

for alert in alerts.head(5).itertuples(index=False):
    (st.warning if alert.severity == "warning" else st.info)(
        f"**{alert.message}.** {alert.suggestion}", icon=":material/notifications:"
    )

label = (
    st.segmented_control("Show", list(METRICS), default="Revenue", key="plan_metric") or "Revenue"
)
metric = METRICS[label]
shown_actuals = plan_tables.recent_actuals(actuals, metric)
st.plotly_chart(plan_charts.plan_figure(table, shown_actuals, metric, label), key="plan_chart")

wide = plan_tables.by_segment(table, metric)
money = metric in plan_charts.MONEY_METRICS
st.dataframe(
    wide.rename_axis(label).reset_index(),
    hide_index=True,
    column_config={c: (money_column(c) if money else count_column(c)) for c in wide.columns},
)

with st.expander("Customers: opening, acquired, churned, won back, closing"):
    flows = plan_tables.customer_flows(table)
    st.dataframe(
        flows.rename_axis("Month").reset_index(),
        hide_index=True,
        column_config={
            plan.OPENING: count_column("Opening"),
            plan.ACQUIRED: count_column("Acquired"),
            plan.CHURNED: count_column(
                "Churned", help="Customers whose sixth month without a purchase ends in the month"
            ),
            plan.WON_BACK: count_column("Won back"),
            plan.CLOSING: count_column("Closing"),
        },
    )

settings, settings_version = plan.read_setting(engine, "plan", {})
settings_seen = seen_version("plan_settings", settings_version)
capacity = settings.get("capacity_hours")
st.subheader("Back office")
left, right = st.columns([3, 2])
left.plotly_chart(plan_charts.capacity_figure(table, capacity), key="plan_capacity")
with right:
    office = plan_tables.back_office(table)
    st.dataframe(
        office.rename_axis("Month").reset_index(),
        hide_index=True,
        height=300,
        column_config={
            plan.ORDERS: count_column("Orders"),
            plan.DELIVERIES: count_column("Deliveries"),
            plan.SERVICE_HOURS: count_column("Service hours"),
            plan.UNSERVED_HOURS: count_column("Hours not served"),
            plan.UNSERVED_COST: money_column("Contribution at risk"),
        },
    )
    with st.form("plan_settings_form"):
        hours = st.number_input(
            "Service-hour capacity a month (0: no limit)",
            min_value=0.0,
            value=float(capacity or 0.0),
            step=100.0,
            format="%.0f",
        )
        horizon = st.slider("Months planned ahead", 3, 24, int(settings.get("horizon_months", 12)))
        if st.form_submit_button(
            "Save assumptions and recompute", disabled=not actor.may("edit_assumptions")
        ):
            new = {**settings, "capacity_hours": hours or None, "horizon_months": horizon}
            try:
                plan.write_setting(engine, "plan", new, actor=actor, expected_version=settings_seen)
            except plan.StaleSetting as exc:
                st.error(str(exc), icon=":material/sync_problem:")
                st.stop()
            with st.spinner("Recomputing the plan with the new assumptions…"):
                plan_data.recompute(
                    engine,
                    "assumption",
                    actor=actor,
                    reason="capacity or horizon edited on the dashboard",
                )
            st.rerun()

st.subheader("Budget cells")
st.caption(
    "A cell with a monthly spend holds the plan's program spend for that segment at that "
    "amount; the optimiser moves the rest of the budget around it. Two planners can "
    "edit different cells at once; a cell someone saved after you loaded it is refused, "
    "with who changed it."
)
render_budget_cells(engine, actor, sorted(table["segment"].unique()))

st.subheader("Closed months: plan vs actual")
variance = plan_data.load_variance(engine, version)
decomposition = variance["decomposition"]
if decomposition.empty:
    st.info(
        "No closed month has a plan yet: the variance appears once a month that a plan "
        "version covered has closed.",
        icon=":material/info:",
    )
else:
    months = list(decomposition["month"])
    month = st.selectbox("Month", months[::-1], format_func=fmt.month_name, key="plan_month")
    row = decomposition[decomposition["month"] == month].iloc[0]
    left, right = st.columns([3, 2])
    left.plotly_chart(
        plan_charts.variance_waterfall(row, fmt.month_name(month)), key="plan_waterfall"
    )
    segments = variance["segments"]
    segments = segments[segments["month"] == month]
    right.dataframe(
        segments[
            [
                "segment",
                "revenue_plan",
                "revenue_actual",
                "contribution_plan",
                "contribution_actual",
                "contribution_variance",
            ]
        ],
        hide_index=True,
        column_config={
            "segment": "Segment",
            "revenue_plan": money_column("Revenue plan"),
            "revenue_actual": money_column("Revenue actual"),
            "contribution_plan": money_column("Contribution plan"),
            "contribution_actual": money_column("Contribution actual"),
            "contribution_variance": money_column("Variance"),
        },
    )
    right.caption(
        "Volume: more or fewer customers. Mix: customers in richer or poorer "
        "segments. Spend per customer and margin rate: what each customer bought "
        "and earned. The three revenue effects together are the forecast's error."
    )

st.subheader("Versions")
history = pd.DataFrame(
    [
        {
            "Version": v.id,
            "When": fmt.moment(v.created_at),
            "Trigger": v.trigger,
            "By": v.actor,
            "Why": v.reason,
            "Seconds": round(sum(v.node_timings.values()), 2),
        }
        for v in versions
    ]
)
st.dataframe(history, hide_index=True, height=min(36 * (len(history) + 1) + 3, 320))
if len(versions) > 1:
    left, right = st.columns(2)
    old = left.selectbox(
        "Compare", list(labels), index=1, format_func=labels.get, key="plan_diff_old"
    )
    new = right.selectbox(
        "with", list(labels), index=0, format_func=labels.get, key="plan_diff_new"
    )
    if actor.may("restore_plan") and st.button(
        f"Restore v{old} as a new version",
        key="plan_restore",
        icon=":material/history:",
        help="Writes a new version whose plan equals the one picked under Compare; "
        "nothing is overwritten.",
    ):
        restored = plan_data.restore(engine, old, actor=actor)
        st.toast(f"Restored v{old} as version {restored}.", icon=":material/check:")
        st.session_state.pop("plan_version", None)
        st.rerun()
    changed, between = plan_data.load_diff(engine, old, new)
    st.caption(
        f"{len(changed):,} plan lines differ. Versions in between: "
        + "; ".join(f"v{v.id} {v.trigger} ({v.reason})" for v in between)
        + "."
        if between
        else f"{len(changed):,} plan lines differ."
    )
    if len(changed):
        changed = changed.assign(month=changed["month"].dt.strftime("%b %Y"))
        st.dataframe(
            changed.head(200),
            hide_index=True,
            column_config={
                "old": st.column_config.NumberColumn("Old", format="%,.0f"),
                "new": st.column_config.NumberColumn("New", format="%,.0f"),
                "change": st.column_config.NumberColumn("Change", format="%,.0f"),
            },
        )


@st.cache_data(max_entries=8, show_spinner=False)
def _workbook(version_id: int, _table: pd.DataFrame, _alerts: pd.DataFrame) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.xlsx"
        core.write_workbook(
            {
                "Plan by month": plan_tables.plan_by_month(_table),
                "Plan by segment": _table,
                "Alerts": _alerts,
            },
            path,
            money=sorted(plan_charts.MONEY_METRICS),
            counts=[plan.CLOSING, plan.ORDERS, plan.DELIVERIES, plan.SERVICE_HOURS],
        )
        return path.read_bytes()


left, right = st.columns(2)
stamp = f"v{version.id}-{dt.date.today():%Y%m%d}"
left.download_button(
    "Download the plan (Excel)",
    _workbook(version.id, table, alerts),
    file_name=f"continuum-plan-{stamp}.xlsx",
    icon=":material/download:",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
right.download_button(
    "Download the plan (CSV)",
    core.neutralise_frame(table).to_csv(index=False).encode("utf-8"),
    file_name=f"continuum-plan-{stamp}.csv",
    mime="text/csv",
    icon=":material/download:",
)
