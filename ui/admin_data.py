"""Tables and result messages of the Users & audit page."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import ingest, plan
from planning.core import Actor, PermissionDenied
from planning.store import StaleWrite
from planning.team import UnknownUser
from ui import plan_data

ACTIONS = (
    "import",
    "import undo",
    "plan recompute",
    "plan restore",
    "setting",
    "budget cell",
    "scenario",
    "scenario delete",
    "treatment",
    "initiative",
    "initiative delete",
    "segment rules",
    "segment rules delete",
    "forecast accept",
    "sign in",
    "sign out",
    "user add",
    "user disable",
    "user enable",
    "user reset",
    "user role",
)
_RESULT_KEY = "admin_result"


def users_table(users: pd.DataFrame) -> pd.DataFrame:
    """Accounts for display: who, role, state, how they sign in, last change."""
    return pd.DataFrame(
        {
            "User": users["username"],
            "Role": users["role"],
            "State": users["disabled"].map({True: "disabled", False: "active"}),
            "Signs in with": users["single_sign_on"].map(
                {True: "single sign-on", False: "password"}
            ),
            "Version": users["version"],
            "Last changed": pd.to_datetime(users["updated_at"], utc=True).dt.strftime(
                "%Y-%m-%d %H:%M"
            ),
            "By": users["updated_by"],
        }
    )


def audit_table(log: pd.DataFrame) -> pd.DataFrame:
    """Entries for display, newest first (before/after as their JSON text)."""
    return pd.DataFrame(
        {
            "When (UTC)": log["at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "Who": log["actor"],
            "Role": log["role"],
            "Action": log["action"],
            "What": log["target"],
            "Before": log["before"].fillna(""),
            "After": log["after"].fillna(""),
        }
    )


def run(change: Callable[[], None], success: str) -> None:
    """Run a user change; keep its outcome for :func:`show_result` after the rerun."""
    try:
        change()
    except (ValueError, PermissionError, PermissionDenied, UnknownUser, StaleWrite) as exc:
        st.session_state[f"{_RESULT_KEY}_users"] = (False, str(exc))
    else:
        st.session_state[f"{_RESULT_KEY}_users"] = (True, success)
    st.rerun()


def show_result(section: str) -> None:
    """The last change's outcome in ``section`` ("users" or "batches"), once."""
    result = st.session_state.pop(f"{_RESULT_KEY}_{section}", None)
    if result is not None:
        ok, message = result
        (st.success if ok else st.error)(
            message, icon=":material/check:" if ok else ":material/error:"
        )


def batches_table(batches: pd.DataFrame) -> pd.DataFrame:
    """Import batches for display, newest first."""

    def when(col: str) -> pd.Series:
        return pd.to_datetime(batches[col], utc=True).dt.strftime("%Y-%m-%d %H:%M").fillna("")

    return pd.DataFrame(
        {
            "Batch": batches["id"],
            "Holds": batches["kind"],
            "File": batches["file"],
            "Rows added": batches["rows"],
            "Imported (UTC)": when("created_at"),
            "By": batches["created_by"],
            "Undone (UTC)": when("undone_at"),
            "Undone by": batches["undone_by"].fillna(""),
        }
    )


def batch_label(batches: pd.DataFrame) -> Callable[[int], str]:
    names = {
        int(id_): f"{id_} · {kind} · {file} · {int(rows):,} rows"
        for id_, kind, file, rows in zip(
            batches["id"], batches["kind"], batches["file"], batches["rows"], strict=True
        )
    }
    return lambda batch_id: names.get(int(batch_id), str(batch_id))


def undo_and_replan(engine: Engine, actor: Actor, batch_id: int) -> None:
    """Undo a batch, recompute the plan from the first day it touched; keep the outcome."""
    try:
        report = ingest.undo_batch(engine, actor, batch_id)
    except (ValueError, PermissionDenied, StaleWrite) as exc:
        st.session_state[f"{_RESULT_KEY}_batches"] = (False, str(exc))
        st.rerun()
    message = report.summary()
    if plan.latest_version(engine) is not None:
        try:
            result = plan_data.recompute(
                engine,
                "import",
                actor=actor,
                reason=report.plan_reason,
                changed_from=report.first_day,
                reload_all=report.first_day is None,
            )
        except ValueError as exc:
            message += f" The plan was not recomputed: {exc}"
        else:
            message += (
                " The plan is unchanged."
                if result.version_id is None
                else f" Plan version {result.version_id} written."
            )
    st.session_state[f"{_RESULT_KEY}_batches"] = (True, message)
    st.rerun()
