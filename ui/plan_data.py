"""The operating plan as the pages see it: one planner per store, versions cached by id.

The :class:`planning.plan.planner.Planner` (with its memo of every step) is a ``st.cache_resource``
per store, so a budget move on one page recomputes only what the move touched. A version never
changes once written, so its lines and alerts are cached by version id; the version list is
read fresh (one indexed query) so a version the watch service wrote shows up on the next
refresh.
"""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import plan
from planning.core import Actor
from planning.plan import Budget, Planner, Recompute, actual_table
from ui.data import CACHE_TTL, _key

_LOCK = threading.Lock()  # one recompute at a time per server process


@st.cache_resource(show_spinner=False)
def _planner(url: str, _engine: Engine) -> Planner:
    return Planner(_engine)


def get_planner(engine: Engine) -> Planner:
    """The planner of this store, kept for the life of the server."""
    return _planner(engine.url.render_as_string(hide_password=True), engine)


def recompute(
    engine: Engine,
    trigger: plan.Trigger,
    *,
    actor: Actor,
    reason: str,
    changed_from: dt.date | None = None,
    reload_all: bool = False,
) -> Recompute:
    """Recompute the plan now (serialised: two sessions do not recompute at once)."""
    with _LOCK:
        return get_planner(engine).recompute(
            trigger, actor=actor, reason=reason, changed_from=changed_from, reload_all=reload_all
        )


def set_plan_budget(
    engine: Engine, budget: Budget, *, actor: Actor, reason: str, expected_version: int
) -> Recompute:
    """Make ``budget`` the plan's and recompute (trigger "budget").

    ``expected_version`` is the version of the plan's budget the user saw. Raises
    planning.plan.versions.StaleSetting if someone saved the budget after it.
    """
    plan.write_setting(
        engine, "budget", budget.to_setting(), actor=actor, expected_version=expected_version
    )
    return recompute(engine, "budget", actor=actor, reason=reason)


def restore(engine: Engine, version_id: int, *, actor: Actor) -> int:
    """Write a new version equal to ``version_id``; returns the new version's id."""
    with _LOCK:
        return plan.restore_version(engine, version_id, actor=actor)


def versions(engine: Engine, limit: int = 200) -> list[plan.VersionInfo]:
    """Plan versions, newest first."""
    return plan.list_versions(engine, limit=limit)


@st.cache_data(ttl=CACHE_TTL, max_entries=32, show_spinner=False)
def _lines(_engine: Engine, url: str, version_id: int) -> pd.DataFrame:
    return plan.load_lines(_engine, version_id)


@st.cache_data(ttl=CACHE_TTL, max_entries=32, show_spinner=False)
def _alerts(_engine: Engine, url: str, version_id: int) -> pd.DataFrame:
    return plan.load_alerts(_engine, version_id)


def load_table(engine: Engine, version_id: int) -> pd.DataFrame:
    """A version's plan as one row per month and segment
    (planning.plan.operating_plan.plan_table)."""
    return plan.plan_table(_lines(engine, _url(engine), version_id))


def load_alerts(engine: Engine, version_id: int) -> pd.DataFrame:
    return _alerts(engine, _url(engine), version_id)


@st.cache_data(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def _history(_engine: Engine, url: str, print_: tuple, last_closed: str) -> pd.DataFrame:
    from planning import profit

    return profit.load_history(_engine, end_month=pd.Timestamp(last_closed).date())


def load_actuals(engine: Engine, version: plan.VersionInfo) -> pd.DataFrame:
    """Actuals of every closed month up to the version's last closed month, in plan terms."""
    url, print_ = _key(engine)
    history = _history(engine, url, print_, version.last_closed_month.isoformat())
    return actual_table(history)


def load_diff(engine: Engine, old: int, new: int) -> tuple[pd.DataFrame, list[plan.VersionInfo]]:
    return plan.diff_versions(engine, old, new)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def load_variance(engine: Engine, version: plan.VersionInfo) -> dict[str, pd.DataFrame]:
    """Plan vs actual of the closed months before ``version``: decomposition and per segment."""
    planned = plan.closed_plans(engine, version.last_closed_month)
    if planned.empty:
        return {"decomposition": pd.DataFrame(), "segments": pd.DataFrame()}
    table = plan.plan_table(planned)
    actual = load_actuals(engine, version)
    actual = actual[actual["month"].isin(table["month"])]
    for col in plan.DRIVERS:
        if col not in table:
            table[col] = 0.0
    return {
        "decomposition": plan.decompose(table, actual),
        "segments": plan.segment_variance(table, actual),
    }
