"""Customer strategy: how each segment is treated, and which CRM initiatives to do first."""

import dataclasses

import streamlit as st

from planning import allocation
from ui import allocation_charts as charts
from ui import allocation_data as ad
from ui.page import open_page
from ui.tables import money_column
from ui.versions import seen_versions

engine, actor, status = open_page(
    "Customer strategy",
    when_empty="There are no segments to treat yet: import customers and transactions on the "
    "Data page, or run `make run` to load the demo company.",
)

treatments = allocation.load_treatments(engine, ad.segment_names(engine, status.last_date))
st.subheader("Treatment per segment")
st.caption(
    "Service tier, payment terms, credit limit, contact cadence and the programs a segment is "
    "eligible for. Terms and credit limits set the financing cost of receivables; tiers and "
    "contacts add cost-to-serve per account; a higher tier prevents churn and is a lever on "
    "the What-if allocation page. " + allocation.ASSUMPTION_NOTE
)
frame = allocation.treatments_frame(treatments)
seen = seen_versions("strategy_treatments", {s: t.version for s, t in treatments.items()})
editable = actor.may("edit_treatments")
with st.form("strategy_treatments"):
    edited = st.data_editor(
        frame,
        key="strategy_table",
        hide_index=True,
        width="stretch",
        disabled=["segment", "cost_per_account_month", "version", "saved"],
        column_config={
            "segment": "Segment",
            "service_tier": st.column_config.SelectboxColumn(
                "Service tier", options=list(allocation.TIER_NAMES), required=True
            ),
            "payment_terms_days": st.column_config.NumberColumn(
                "Payment terms (days)", min_value=0, max_value=365, step=1
            ),
            "credit_limit": money_column("Credit limit"),
            "contact_cadence_days": st.column_config.NumberColumn(
                "Contact every (days)", min_value=1, max_value=365, step=1
            ),
            "eligible_programs": st.column_config.TextColumn(
                "Eligible programs", help="Comma-separated: " + ", ".join(allocation.LEVERS)
            ),
            "cost_per_account_month": money_column("Policy cost per account a month"),
            "version": st.column_config.NumberColumn("Version"),
            "saved": "Saved by, at",
        },
    )
    submitted = st.form_submit_button("Save treatments", type="primary", disabled=not editable)
if not editable:
    st.caption("Planners edit treatments; you can read them.")
if submitted:
    changed = allocation.changed_treatments(
        allocation.treatments_from_frame(edited), treatments, seen
    )
    try:
        saved = allocation.save_treatments(engine, changed, actor=actor)
    except (ValueError, allocation.StaleWrite) as exc:
        st.error(f"Nothing was saved: {exc}", icon=":material/error:")
    else:
        st.success(f"Saved the treatments of {len(saved)} segments.", icon=":material/check:")
        st.rerun()

st.subheader("CRM initiatives")
initiatives = allocation.load_initiatives(engine)
seen_initiatives = seen_versions("strategy_initiatives", {i.name: i.version for i in initiatives})
if all(i.version == 0 for i in initiatives):
    st.caption("The default portfolio (not saved yet): edit it and save to make it yours.")
ranked = allocation.rank_initiatives(initiatives)
st.plotly_chart(charts.initiatives_figure(ranked), key="strategy_matrix")
st.caption(
    "Ranked high impact and low complexity first: quick wins, then major projects, "
    "fill-ins, and work to reconsider; within a quadrant by impact per unit of "
    "complexity, then cost."
)
with st.form("strategy_initiatives"):
    table = st.data_editor(
        ranked.drop(columns=["score"]),
        key="strategy_initiatives_table",
        hide_index=True,
        width="stretch",
        num_rows="dynamic",
        disabled=["rank", "quadrant", "version"],
        column_config={
            "rank": "Rank",
            "name": "Initiative",
            "description": "What it is",
            "impact": st.column_config.NumberColumn(
                "Impact (1-5)", min_value=1, max_value=5, step=1
            ),
            "complexity": st.column_config.NumberColumn(
                "Complexity (1-5)", min_value=1, max_value=5, step=1
            ),
            "cost": money_column("Cost"),
            "status": st.column_config.SelectboxColumn("Status", options=list(allocation.STATUSES)),
            "quadrant": "Quadrant",
            "version": "Version",
        },
    )
    if st.form_submit_button(
        "Save initiatives", type="primary", disabled=not actor.may("edit_treatments")
    ):
        loaded = [
            dataclasses.replace(i, version=seen_initiatives.get(i.name, i.version))
            for i in initiatives
        ]
        edited = [
            dataclasses.replace(i, version=seen_initiatives.get(i.name, i.version))
            for i in allocation.initiatives_from_frame(table)
        ]
        try:
            saved = allocation.save_initiatives(engine, edited, actor=actor, loaded=loaded)
        except (ValueError, allocation.StaleWrite) as exc:
            st.error(f"Nothing was saved: {exc}", icon=":material/error:")
        else:
            st.success(f"Saved {len(saved)} initiatives.", icon=":material/check:")
            st.rerun()
