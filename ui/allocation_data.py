"""What-if allocation as the pages see it: cached inputs, solved and simulated scenarios.

Calibrating the curves and pricing the outcomes (a few seconds) is cached on the store's data
fingerprint and the as-of date; a scenario's re-priced economics on its treatments; a
scenario's simulation and efficient frontier on its inputs (as JSON) and budget, so a budget
slider move re-solves (milliseconds) and only re-simulates what changed. Scenarios,
treatments and initiatives are read fresh: they are small, and another session may have just
saved one.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import allocation as al
from planning.allocation import (
    OutcomeDistribution,
    Scenario,
    ScenarioResult,
    policy_effects,
    simulate_allocation,
)
from planning.core import DRAWS
from planning.core import columns as C
from ui.data import CACHE_TTL, _key

FRONTIER_POINTS = 21


@st.cache_data(ttl=CACHE_TTL, max_entries=4, show_spinner=False)
def _inputs(_engine: Engine, url: str, print_: tuple, as_of: dt.date) -> al.PlanningInputs:
    return al.load_inputs(_engine, as_of=as_of)


def load_inputs(engine: Engine, as_of: dt.date) -> al.PlanningInputs:
    """:func:`planning.allocation.levers.load_inputs`, cached until the next import."""
    return _inputs(engine, *_key(engine), as_of)


def require_inputs(
    engine: Engine, is_empty: bool, as_of: dt.date | None, empty: str
) -> al.PlanningInputs:
    """The inputs, or a sentence saying why there are none (``empty`` for an empty store)
    and the end of the page run."""
    if is_empty or as_of is None:
        st.info(empty, icon=":material/info:")
        st.stop()
    with st.spinner("Calibrating response curves and pricing outcomes…"):
        try:
            return load_inputs(engine, as_of)
        except ValueError as exc:
            st.info(
                f"Outcomes cannot be priced as of {as_of:%d %b %Y}: {exc}", icon=":material/info:"
            )
            st.stop()


@st.cache_data(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _economics(
    _engine: Engine,
    url: str,
    print_: tuple,
    as_of: dt.date,
    treatments: str,
    _inputs: al.PlanningInputs,
    _scenario: Scenario,
) -> pd.DataFrame:
    return al.scenario_economics(_engine, _inputs, _scenario)


def scenario_economics(
    engine: Engine, inputs: al.PlanningInputs, scenario: Scenario
) -> pd.DataFrame:
    """The segment economics under the scenario's treatments, cached on the treatments."""
    if not scenario.treatments:
        return inputs.economics
    key = json.loads(scenario.inputs_json())["treatments"]
    return _economics(
        engine, *_key(engine), inputs.as_of, json.dumps(key, sort_keys=True), inputs, scenario
    )


def problem(
    engine: Engine, inputs: al.PlanningInputs, scenario: Scenario
) -> tuple[al.AllocationProblem, tuple[str, ...]]:
    """The scenario's allocation problem and the cells left out (why, in words)."""
    economics = scenario_economics(engine, inputs, scenario)
    return al.scenario_problem(inputs, scenario, economics=economics)


def solve(
    engine: Engine, inputs: al.PlanningInputs, scenario: Scenario
) -> tuple[al.AllocationProblem, al.Allocation, tuple[str, ...]]:
    """The scenario's problem, its optimal allocation and the cells left out.

    Raises
    ------
    planning.allocation.solver.InfeasibleProblem
        If the scenario's rules cannot all hold.
    """
    posed, notes = problem(engine, inputs, scenario)
    return posed, al.allocate(posed), notes


@st.cache_data(ttl=CACHE_TTL, max_entries=32, show_spinner=False)
def _simulation(
    url: str,
    print_: tuple,
    as_of: dt.date,
    inputs_json: str,
    budget: float,
    _problem: al.AllocationProblem,
    _allocation: al.Allocation,
) -> OutcomeDistribution:
    return simulate_allocation(_problem, _allocation, draws=DRAWS)


def simulate(
    engine: Engine,
    inputs: al.PlanningInputs,
    scenario: Scenario,
    problem: al.AllocationProblem,
    allocation: al.Allocation,
) -> OutcomeDistribution:
    """2,000 draws of the allocation's net profit, cached on the scenario's inputs."""
    return _simulation(
        *_key(engine),
        inputs.as_of,
        scenario.inputs_json(),
        float(scenario.budget),
        problem,
        allocation,
    )


@st.cache_data(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _frontier(
    url: str,
    print_: tuple,
    as_of: dt.date,
    inputs_json: str,
    top: float,
    _problem: al.AllocationProblem,
) -> pd.DataFrame:
    budgets = np.linspace(0.0, top, FRONTIER_POINTS)
    return al.efficient_frontier(_problem, budgets)


def frontier(
    engine: Engine,
    inputs: al.PlanningInputs,
    scenario: Scenario,
    problem: al.AllocationProblem,
    top: float,
) -> pd.DataFrame:
    """Optimal net profit against budget from 0 to ``top`` (independent of the budget set)."""
    return _frontier(*_key(engine), inputs.as_of, scenario.inputs_json(), float(top), problem)


def evaluate(engine: Engine, inputs: al.PlanningInputs, scenario: Scenario) -> ScenarioResult:
    """A scenario solved and simulated (for comparisons: the same seed for every scenario)."""
    posed, allocation, notes = solve(engine, inputs, scenario)
    economics = scenario_economics(engine, inputs, scenario)
    return ScenarioResult(
        scenario,
        posed,
        allocation,
        simulate(engine, inputs, scenario, posed, allocation),
        notes,
        economics,
        policy_effects(inputs.economics, economics),
    )


def policy(engine: Engine, inputs: al.PlanningInputs, scenario: Scenario) -> pd.DataFrame:
    """What the scenario's treatment changes do to the existing base each month."""
    return policy_effects(inputs.economics, scenario_economics(engine, inputs, scenario))


def nearest(options: list[int], value: float) -> int:
    """The option closest to ``value`` (for a select slider whose options moved)."""
    return min(options, key=lambda o: abs(o - value))


def scenario_names(engine: Engine) -> list[str]:
    """The baseline and every stored scenario."""
    stored = al.list_scenarios(engine)["name"].tolist()
    return [al.BASELINE, *[n for n in stored if n != al.BASELINE]]


@st.cache_data(ttl=CACHE_TTL, max_entries=8, show_spinner=False)
def _segment_names(_engine: Engine, url: str, print_: tuple, as_of: dt.date) -> list[str]:
    from planning.segments import assign_segments

    lens = al.EconomicsSettings().lens
    assignment = assign_segments(_engine, "attribute", as_of, attribute=lens)
    return sorted(assignment["segment"].astype(str).unique())


def segment_names(engine: Engine, as_of: dt.date) -> list[str]:
    """The segments allocation plans for (the size attribute's values), cached."""
    return _segment_names(engine, *_key(engine), as_of)


def labelled(cells: pd.DataFrame) -> pd.DataFrame:
    """A copy of an allocation's cells with levers named for people ("Cross-sell / up-sell")."""
    return cells.assign(**{C.PROGRAM: cells[C.PROGRAM].map(lambda p: al.LEVER_LABELS.get(p, p))})
