"""Continuum: the Streamlit entry point. Opens the store, draws the shared sidebar, routes pages.

Run with ``streamlit run app.py`` (or ``make run``). CONTINUUM_DATABASE_URL chooses the store;
without it the embedded SQLite file under data/ is used.
"""

import streamlit as st

from planning.store import StoreError
from ui import data
from ui.sidebar import render_sidebar

# An emoji favicon is drawn in the browser; a Material one is fetched from a CDN (offline: fails).
st.set_page_config(page_title="Continuum", page_icon="📈", layout="wide")

navigation = st.navigation(
    {
        "Dashboard": [
            st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:",
                    default=True),
            st.Page("pages/segments.py", title="Segments & profitability",
                    icon=":material/pie_chart:"),
            st.Page("pages/customer_value.py", title="Customer value",
                    icon=":material/diamond:"),
            st.Page("pages/forecast.py", title="Forecast", icon=":material/trending_up:"),
        ],
        "Plan": [
            st.Page("pages/plan.py", title="Operating plan", icon=":material/event_note:"),
            st.Page("pages/allocation.py", title="What-if allocation", icon=":material/tune:"),
            st.Page("pages/scenarios.py", title="Scenarios", icon=":material/compare_arrows:"),
            st.Page("pages/strategy.py", title="Customer strategy",
                    icon=":material/handshake:"),
        ],
        "Manage": [
            st.Page("pages/data.py", title="Data", icon=":material/database:"),
        ],
    }
)

try:
    engine = data.get_engine()
except StoreError as exc:
    st.error(
        f"{exc}\n\nCheck CONTINUUM_DATABASE_URL, or unset it to use the embedded SQLite file.",
        icon=":material/error:",
    )
    st.stop()

render_sidebar(data.load_status(engine))
navigation.run()
