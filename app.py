"""Continuum: the Streamlit entry point. Opens the store, signs the user in, draws the shared
sidebar, routes pages by role.

Run with ``streamlit run app.py`` (or ``make run``). CONTINUUM_DATABASE_URL chooses the store;
without it the embedded SQLite file under data/ is used (single user, no sign-in). A
PostgreSQL store, or CONTINUUM_AUTH=required, is team mode: everyone signs in, and the
navigation shows each role only its pages (planning/ enforces the same roles on every write).
"""

import streamlit as st

from planning.store import StoreError
from ui import data, session
from ui.sidebar import render_sidebar

# An emoji favicon is drawn in the browser; a Material one is fetched from a CDN (offline: fails).
st.set_page_config(page_title="Continuum", page_icon="📈", layout="wide")

try:
    engine = data.get_engine()
except StoreError as exc:
    st.error(
        f"{exc}\n\nCheck CONTINUUM_DATABASE_URL, or unset it to use the embedded SQLite file.",
        icon=":material/error:",
    )
    st.stop()

actor = session.resolve_actor(engine)
if actor is None:
    st.navigation(
        [
            st.Page(
                lambda: session.render_sign_in(engine),
                title="Sign in",
                icon=":material/login:",
                url_path="sign-in",
            )
        ]
    ).run()
    st.stop()

pages = {
    "Dashboard": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/segments.py", title="Segments & profitability", icon=":material/pie_chart:"),
        st.Page("pages/customer_value.py", title="Customer value", icon=":material/diamond:"),
        st.Page("pages/forecast.py", title="Forecast", icon=":material/trending_up:"),
    ],
    "Plan": [
        st.Page("pages/plan.py", title="Operating plan", icon=":material/event_note:"),
        st.Page("pages/allocation.py", title="What-if allocation", icon=":material/tune:"),
        st.Page("pages/scenarios.py", title="Scenarios", icon=":material/compare_arrows:"),
        st.Page("pages/strategy.py", title="Customer strategy", icon=":material/handshake:"),
    ],
}
if actor.may("import_data"):
    pages["Manage"] = [
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
        st.Page("pages/admin.py", title="Users & audit", icon=":material/admin_panel_settings:"),
    ]
navigation = st.navigation(pages)
render_sidebar(
    data.load_status(engine),
    actor,
    team=session.team_mode(engine),
    on_sign_out=lambda: session.sign_out(engine),
)
navigation.run()
