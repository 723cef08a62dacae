"""Tables and result messages of the Users & audit page."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from planning.access import PermissionDenied
from planning.auth import UnknownUser
from planning.writes import StaleWrite

ACTIONS = ("import", "import undo", "plan recompute", "plan restore", "setting", "budget cell",
           "scenario", "scenario delete", "treatment", "initiative", "initiative delete",
           "segment rules", "segment rules delete", "forecast accept", "sign in", "sign out",
           "user add", "user disable", "user enable", "user reset", "user role")
_RESULT_KEY = "admin_result"


def users_table(users: pd.DataFrame) -> pd.DataFrame:
    """Accounts for display: who, role, state, how they sign in, last change."""
    return pd.DataFrame({
        "User": users["username"], "Role": users["role"],
        "State": users["disabled"].map({True: "disabled", False: "active"}),
        "Signs in with": users["single_sign_on"].map({True: "single sign-on",
                                                      False: "password"}),
        "Version": users["version"],
        "Last changed": pd.to_datetime(users["updated_at"], utc=True).dt.strftime(
            "%Y-%m-%d %H:%M"),
        "By": users["updated_by"]})


def audit_table(log: pd.DataFrame) -> pd.DataFrame:
    """Entries for display, newest first (before/after as their JSON text)."""
    return pd.DataFrame({
        "When (UTC)": log["at"].dt.strftime("%Y-%m-%d %H:%M:%S"), "Who": log["actor"],
        "Role": log["role"], "Action": log["action"], "What": log["target"],
        "Before": log["before"].fillna(""), "After": log["after"].fillna("")})


def run(change: Callable[[], None], success: str) -> None:
    """Run a user change; keep its outcome for :func:`show_result` after the rerun."""
    try:
        change()
    except (ValueError, PermissionError, PermissionDenied, UnknownUser, StaleWrite) as exc:
        st.session_state[_RESULT_KEY] = (False, str(exc))
    else:
        st.session_state[_RESULT_KEY] = (True, success)
    st.rerun()


def show_result() -> None:
    """The last change's outcome, once."""
    result = st.session_state.pop(_RESULT_KEY, None)
    if result is not None:
        ok, message = result
        (st.success if ok else st.error)(message, icon=":material/check:" if ok
                                         else ":material/error:")
