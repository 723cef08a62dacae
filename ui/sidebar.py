"""The sidebar every page shares: the "As of" date and what is in the store.

``st.session_state["as_of"]`` holds the as-of date for every page. It follows the newest
transaction date until the user picks another day, so an import of newer data moves it along
unless someone deliberately looked at an earlier date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import streamlit as st

from planning.core import Actor
from planning.store import DataStatus
from ui import format as fmt

AS_OF_KEY = "as_of"
_FOLLOWED_KEY = "as_of_followed"  # the last-transaction date the as-of was last set to
_BACKENDS = {"sqlite": "SQLite file", "postgresql": "PostgreSQL"}


_ROLE_WORDS = {
    "viewer": "viewer: reads every page; what-ifs stay private",
    "planner": "planner: edits scenarios, budgets and assumptions",
    "admin": "admin: also imports data and manages users",
}


def render_sidebar(
    status: DataStatus, actor: Actor, *, team: bool, on_sign_out: Callable[[], None]
) -> None:
    """Draw who is signed in, the as-of date input and the data status into the sidebar."""
    with st.sidebar:
        if team:
            st.markdown(f"**{fmt.plain(actor.name)}**")
            st.caption(_ROLE_WORDS[actor.role])
            if st.button("Sign out", key="sidebar_sign_out", icon=":material/logout:"):
                on_sign_out()
        _as_of_input(status)
        st.markdown("**Data in the store**")
        if status.is_empty:
            st.caption(
                "No transactions yet. Import a file on the Data page, "
                "or run `make run` to load the demo company."
            )
        else:
            st.caption(
                f"{fmt.count(status.customers)} customers · "
                f"{fmt.count(status.transactions)} transactions  \n"
                f"{fmt.day(status.first_date)} to {fmt.day(status.last_date)}"
            )
        if status.last_import_at is not None:
            st.caption(
                f"Last import {fmt.moment(status.last_import_at)}  \n"
                f"from `{status.last_import_file}`"
            )
        st.caption(f"{_BACKENDS.get(status.backend, status.backend)}: `{_where(status)}`")
        if not team:
            st.caption(
                f"Single-user mode: {fmt.plain(actor.name)} acts as this store's admin; no sign-in."
            )


def current_as_of() -> dt.date | None:
    """The as-of date chosen in the sidebar (None while the store is empty)."""
    return st.session_state.get(AS_OF_KEY)


def _as_of_input(status: DataStatus) -> None:
    if status.is_empty or status.last_date is None:
        st.session_state[AS_OF_KEY] = None
        st.session_state.pop(_FOLLOWED_KEY, None)
        return
    chosen = st.session_state.get(AS_OF_KEY)
    followed = st.session_state.get(_FOLLOWED_KEY)
    out_of_range = chosen is not None and not (status.first_date <= chosen <= status.last_date)
    if chosen is None or chosen == followed or out_of_range:
        st.session_state[AS_OF_KEY] = status.last_date
    st.session_state[_FOLLOWED_KEY] = status.last_date
    st.date_input(
        "As of",
        key=AS_OF_KEY,
        min_value=status.first_date,
        max_value=status.last_date,
        format="YYYY-MM-DD",
        help="Every page uses only data dated on or before this day.",
    )


def _where(status: DataStatus) -> str:
    if status.backend == "sqlite":
        return status.location.removeprefix("sqlite:///")
    return status.location
