"""The budget-cell editor of the Operating plan page.

The cells a planner sees are kept in this browser session as they were loaded (values and
versions), so a save is checked against what the planner actually saw, however many reruns
came in between: when someone else saved a cell since, that cell is refused with who changed
it and to what, and the planner's value is not written over theirs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import plan
from planning.core import Actor
from planning.core import columns as C
from planning.store import StaleWrite
from ui import plan_data
from ui.format import plain
from ui.tables import money_column

_LOADED_KEY = "plan_cells_loaded"
_RESULT_KEY = "plan_cells_result"
_PROGRAM_NAMES = {
    "acquisition": "Acquisition",
    "retention": "Retention",
    "cross_sell": "Cross-sell",
    "win_back": "Win-back",
}


def _grid(
    stored: dict[tuple[str, str], plan.BudgetCell], segments: list[str]
) -> dict[tuple[str, str], plan.BudgetCell]:
    return {
        (s, p): stored.get((s, p), plan.BudgetCell(s, p, None, 0))
        for s in segments
        for p in C.PROGRAMS
    }


def _frame(cells: dict[tuple[str, str], plan.BudgetCell], segments: list[str]) -> pd.DataFrame:
    rows = [
        {"Segment": s, **{_PROGRAM_NAMES[p]: cells[(s, p)].monthly_spend for p in C.PROGRAMS}}
        for s in segments
    ]
    return pd.DataFrame(rows)


def render_budget_cells(engine: Engine, actor: Actor, segments: list[str]) -> None:
    """Draw the cells (editable for planners) and save the edited ones on submit."""
    current = plan.read_cells(engine)
    loaded = st.session_state.get(_LOADED_KEY)
    if loaded is None or set(loaded) != {(s, p) for s in segments for p in C.PROGRAMS}:
        loaded = st.session_state[_LOADED_KEY] = _grid(current, segments)
    for message, ok in st.session_state.pop(_RESULT_KEY, []):
        (st.success if ok else st.error)(
            message, icon=":material/check:" if ok else ":material/sync_problem:"
        )
    moved = [c for key, c in current.items() if key in loaded and c.version != loaded[key].version]
    if moved:
        st.warning(
            f"{len(moved)} cell(s) changed since you loaded them (latest by "
            f"{plain(moved[-1].updated_by)}): reload to see them.",
            icon=":material/sync_problem:",
        )
    editable = actor.may("edit_budget")
    with st.form("plan_cells_form", border=False):
        edited = st.data_editor(
            _frame(loaded, segments),
            key="plan_cells_editor",
            hide_index=True,
            width="stretch",
            disabled=["Segment"] if editable else True,
            column_config={
                "Segment": "Segment",
                **{
                    name: money_column(
                        f"{name} a month",
                        help="None: the optimiser decides; a number holds the cell at it",
                    )
                    for name in _PROGRAM_NAMES.values()
                },
            },
        )
        left, right = st.columns(2)
        save = left.form_submit_button(
            "Save cells and recompute", type="primary", disabled=not editable
        )
        reload = right.form_submit_button("Reload cells")
    if not editable:
        st.caption("Viewers see the cells; planners edit them.")
    if reload:
        st.session_state.pop(_LOADED_KEY, None)
        st.rerun()
    if save:
        _save(engine, actor, loaded, edited)


def _value(v: object) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if not isinstance(v, int | float | str | np.number):
        raise TypeError(f"a monthly spend must be a number, got {v!r}")
    return float(v)


def _save(
    engine: Engine,
    actor: Actor,
    loaded: dict[tuple[str, str], plan.BudgetCell],
    edited: pd.DataFrame,
) -> None:
    results: list[tuple[str, bool]] = []
    saved = 0
    for row in edited.to_dict("records"):
        for program, name in _PROGRAM_NAMES.items():
            before = loaded[(row["Segment"], program)]
            value = _value(row[name])
            if value == before.monthly_spend:
                continue
            try:
                cell = plan.save_cell(
                    engine, actor, before.segment, program, value, expected_version=before.version
                )
            except (StaleWrite, ValueError) as exc:
                results.append((str(exc), False))
            else:
                loaded[(cell.segment, cell.program)] = cell
                saved += 1
    if saved:
        with st.spinner("Recomputing the plan with the new cells…"):
            result = plan_data.recompute(
                engine,
                "budget",
                actor=actor,
                reason=f"{saved} budget cell(s) edited by {actor.name}",
            )
        results.insert(
            0,
            (
                f"Saved {saved} cell(s); plan "
                + (
                    "unchanged."
                    if result.version_id is None
                    else f"version {result.version_id} written."
                ),
                True,
            ),
        )
    elif not results:
        results.append(("Nothing changed: no cell was edited.", True))
    st.session_state[_LOADED_KEY] = loaded
    st.session_state[_RESULT_KEY] = results
    st.rerun()
