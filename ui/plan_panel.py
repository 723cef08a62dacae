"""The live plan panel on the Overview: the latest plan version, why it changed, its alerts.

A ``st.fragment(run_every=...)``: it re-reads the newest version every few seconds and redraws
itself alone, so a planner watching the dashboard sees the watch service's (or a colleague's)
new version without clicking and without the rest of the page rerunning.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from planning import plan
from ui import format as fmt
from ui import plan_data

REFRESH = "5s"


@st.fragment(run_every=REFRESH)
def render_plan_panel(engine: Engine) -> None:
    """Draw the panel; reruns on its own every :data:`REFRESH`."""
    st.subheader("Operating plan")
    latest = plan_data.versions(engine, limit=1)
    if not latest:
        st.info(
            "No plan has been computed yet. The Operating plan page computes one; the "
            "watch service (`python -m planning watch`) keeps it current as data lands.",
            icon=":material/event_note:",
        )
        st.page_link(
            "pages/plan.py", label="Go to the Operating plan", icon=":material/event_note:"
        )
        return
    version = latest[0]
    table = plan_data.load_table(engine, version.id)
    first = table[table["month"] == table["month"].min()]
    alerts = plan_data.load_alerts(engine, version.id)
    month = fmt.month_name(version.horizon_start)
    st.caption(
        f"Plan v{version.id}, recomputed {fmt.moment(version.created_at)} by "
        f"{version.actor} ({version.trigger}): {version.reason}. Below: "
        f"{month}, the first planned month."
    )
    cards = (
        (
            f"Plan v{version.id}",
            version.trigger.capitalize(),
            "What triggered the latest "
            "recompute: an import, an assumption, a budget move, a month close or a person.",
        ),
        (
            "Revenue",
            fmt.money_short(first[plan.REVENUE].sum()),
            f"Revenue planned for {month}, the next month.",
        ),
        (
            "Contribution",
            fmt.money_short(first[plan.CONTRIBUTION].sum()),
            f"Contribution planned for {month}.",
        ),
        (
            "Program spend",
            fmt.money_short(first[plan.PROGRAM_SPEND].sum()),
            f"Program spend planned for {month}.",
        ),
        (
            "Alerts",
            fmt.count(len(alerts)),
            "Variances past the threshold and actuals outside the forecast's 95% interval.",
        ),
    )
    for column, (label, value, help_) in zip(st.columns(len(cards)), cards, strict=True):
        column.metric(label, value, help=help_, border=True)
    for alert in alerts.head(3).itertuples(index=False):
        st.warning(f"**{alert.message}.** {alert.suggestion}", icon=":material/notifications:")
    st.page_link("pages/plan.py", label="Open the Operating plan", icon=":material/event_note:")
