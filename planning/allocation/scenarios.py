"""Scenarios: named what-if inputs saved in the store, optimised, simulated and compared.

A :class:`Scenario` holds everything a planner can change: the monthly budget, bounds and locks
per cell, caps per lever and per segment, the service-tier capacity (accounts), a hurdle rate,
planner response curves, and treatments per segment. It is saved as JSON with who created and
last changed it, and when; every save bumps ``version`` and a save that started from an older
version is refused. :func:`evaluate_scenario` turns a scenario into an allocation problem
(re-pricing the economics when its treatments differ from the stored ones), solves it and
simulates its outcome; :func:`compare_scenarios` lays two side by side: the inputs that differ,
the outcomes with P10-P90 intervals, and the probability that A earns more than B over the same
draws. :func:`optimize_scenario` is the entry point for the continuous planner and the CLI.

The name :data:`BASELINE` is always available: unless a scenario of that name is saved, it is
business as usual (last twelve months' average monthly spend as the budget, no rules).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from planning.allocation import economics as ec
from planning.allocation.levers import (
    CellRule,
    PlanningInputs,
    build_cells,
    business_as_usual_budget,
    load_inputs,
)
from planning.allocation.response import ResponseModel, planner_curve
from planning.allocation.solver import (
    Allocation,
    AllocationProblem,
    allocate,
    net_profit_objective,
)
from planning.allocation.strategy import Treatment
from planning.allocation.uncertainty import (
    DRAWS,
    Comparison,
    OutcomeDistribution,
    compare_outcomes,
    simulate_allocation,
)
from planning.core import columns as C
from planning.core.access import Actor, check_name, require
from planning.store import audit, schema
from planning.store.writes import StaleWrite, write

BASELINE: Final = "baseline"
_SEP: Final = "|"


class UnknownScenario(LookupError):
    """No scenario of that name; the message lists the ones there are."""


@dataclass(frozen=True)
class CurveOverride:
    """A planner's response curve for one cell, with when and why."""

    segment: str
    program: str
    family: str
    params: Mapping[str, float]
    on: dt.date
    note: str = ""
    level_cv: float = 0.25

    def model(self) -> ResponseModel:
        return planner_curve(
            self.segment,
            self.program,
            self.family,
            dict(self.params),
            on=self.on,
            note=self.note,
            level_cv=self.level_cv,
        )


@dataclass(frozen=True)
class Scenario:
    """A named set of what-if inputs (see module notes)."""

    name: str
    budget: float
    description: str = ""
    rules: Mapping[tuple[str, str], CellRule] = field(default_factory=dict)
    program_caps: Mapping[str, float] = field(default_factory=dict)
    segment_caps: Mapping[str, float] = field(default_factory=dict)
    capacity: float | None = None
    hurdle_rate: float = 0.0
    curve_overrides: tuple[CurveOverride, ...] = ()
    treatments: Mapping[str, Treatment] = field(default_factory=dict)
    version: int = 0
    created_at: dt.datetime | None = None
    created_by: str = ""
    updated_at: dt.datetime | None = None
    updated_by: str = ""

    def inputs_json(self) -> str:
        """The inputs (all but name, budget, description and the audit fields) as JSON."""
        return json.dumps(
            {
                "rules": {
                    f"{s}{_SEP}{p}": dataclasses.asdict(r) for (s, p), r in self.rules.items()
                },
                "program_caps": dict(self.program_caps),
                "segment_caps": dict(self.segment_caps),
                "capacity": self.capacity,
                "hurdle_rate": self.hurdle_rate,
                "curve_overrides": [
                    {**dataclasses.asdict(o), "params": dict(o.params), "on": o.on.isoformat()}
                    for o in self.curve_overrides
                ],
                "treatments": {
                    s: {
                        **dataclasses.asdict(t),
                        "updated_at": None,
                        "eligible_programs": list(t.eligible_programs),
                    }
                    for s, t in self.treatments.items()
                },
            },
            sort_keys=True,
        )

    def problems(self) -> list[str]:
        out = []
        if not self.name.strip():
            out.append("A scenario needs a name.")
        else:
            try:
                check_name("scenario name", self.name)
            except ValueError as exc:
                out.append(str(exc))
        if not (self.budget >= 0 and self.budget != float("inf")):
            out.append(f"The budget must be an amount of 0 or more, got {self.budget}.")
        if not self.hurdle_rate >= 0:
            out.append(f"The hurdle rate must be 0 or more, got {self.hurdle_rate}.")
        out += [p for t in self.treatments.values() for p in t.problems()]
        return out


def _from_row(row: RowMapping) -> Scenario:
    data = json.loads(row["inputs"])
    rules = {tuple(k.split(_SEP, 1)): CellRule(**v) for k, v in data["rules"].items()}
    overrides = tuple(
        CurveOverride(**{**o, "on": dt.date.fromisoformat(o["on"])})
        for o in data["curve_overrides"]
    )
    treatments = {
        s: Treatment(**{**t, "eligible_programs": tuple(t["eligible_programs"])})
        for s, t in data["treatments"].items()
    }
    return Scenario(
        row["name"],
        float(row["budget"]),
        row["description"],
        rules,
        data["program_caps"],
        data["segment_caps"],
        data["capacity"],
        data["hurdle_rate"],
        overrides,
        treatments,
        int(row["version"]),
        row["created_at"],
        row["created_by"],
        row["updated_at"],
        row["updated_by"],
    )


def save_scenario(engine: Engine, scenario: Scenario, *, actor: Actor) -> Scenario:
    """Save (create or update) a shared scenario; returns it with its new version and audit
    fields.

    ``scenario.version`` is the version it was read at (0 for a new scenario).

    Raises
    ------
    PermissionDenied
        Unless ``actor`` may edit scenarios (a viewer's what-if stays in their sandbox).
    ValueError
        If the scenario is invalid (nothing is saved).
    StaleWrite
        If the stored scenario changed since it was read, or a new scenario's name is taken.
    """
    require(actor, "edit_scenarios")
    problems = scenario.problems()
    if problems:
        raise ValueError(" ".join(problems))
    t = schema.Scenario.__table__
    assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause
    now = dt.datetime.now(dt.UTC)

    def work(conn: Connection) -> Scenario:
        stored = conn.execute(sa.select(t).where(t.c.name == scenario.name)).mappings().first()
        current = 0 if stored is None else int(stored["version"])
        if current != scenario.version:
            who = f" by {stored['updated_by']}" if stored is not None else ""
            raise StaleWrite(
                f"Scenario '{scenario.name}' was saved{who} (version {current}) "
                f"after you opened version {scenario.version}: reload it and "
                "apply your change again."
            )
        values = dict(
            description=scenario.description,
            budget=float(scenario.budget),
            inputs=scenario.inputs_json(),
            version=current + 1,
            updated_at=now,
            updated_by=actor.name,
        )
        if stored is None:
            conn.execute(
                sa.insert(t).values(
                    name=scenario.name, created_at=now, created_by=actor.name, **values
                )
            )
            created_at, created_by = now, actor.name
        else:
            conn.execute(sa.update(t).where(t.c.name == scenario.name).values(**values))
            created_at, created_by = stored["created_at"], stored["created_by"]
        audit.record(
            conn,
            actor,
            "scenario",
            scenario.name,
            before=None if stored is None else _audit_view(stored),
            after=_audit_view(values),
        )
        return dataclasses.replace(
            scenario,
            version=current + 1,
            created_at=created_at,
            created_by=created_by,
            updated_at=now,
            updated_by=actor.name,
        )

    return write(engine, work)


def delete_scenario(engine: Engine, name: str, *, actor: Actor, version: int) -> None:
    """Delete a scenario read at ``version``; refused if someone saved it since."""
    require(actor, "edit_scenarios")
    t = schema.Scenario.__table__
    assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause

    def work(conn: Connection) -> None:
        stored = conn.execute(sa.select(t).where(t.c.name == name)).mappings().first()
        if stored is None:
            raise UnknownScenario(f"There is no scenario '{name}' to delete.")
        if int(stored["version"]) != version:
            raise StaleWrite(
                f"Scenario '{name}' was saved by {stored['updated_by']} (version "
                f"{stored['version']}) after you opened version {version}: "
                f"{actor.name}'s delete is refused."
            )
        conn.execute(sa.delete(t).where(t.c.name == name))
        audit.record(conn, actor, "scenario delete", name, before=_audit_view(stored))

    write(engine, work)


def _audit_view(row: RowMapping | Mapping[str, Any]) -> dict[str, Any]:
    keep = ("description", "budget", "inputs", "version")
    out = {k: row[k] for k in keep if k in row}
    if isinstance(out.get("inputs"), str):
        out["inputs"] = json.loads(out["inputs"])
    return out


def list_scenarios(engine: Engine) -> pd.DataFrame:
    """``name, description, budget, version, created_by, created_at, updated_by, updated_at``
    of every stored scenario, by name."""
    t = schema.Scenario.__table__
    with engine.connect() as conn:
        return pd.read_sql(
            sa.select(
                t.c.name,
                t.c.description,
                t.c.budget,
                t.c.version,
                t.c.created_by,
                t.c.created_at,
                t.c.updated_by,
                t.c.updated_at,
            ).order_by(t.c.name),
            conn,
        )


def load_scenario(engine: Engine, name: str, *, inputs: PlanningInputs | None = None) -> Scenario:
    """A stored scenario; :data:`BASELINE` (business as usual) when not stored.

    Raises
    ------
    UnknownScenario
        If there is no such scenario (the message lists the stored names).
    """
    t = schema.Scenario.__table__
    if name != BASELINE:
        try:
            check_name("scenario name", name)
        except ValueError as exc:
            raise UnknownScenario(str(exc)) from None
    with engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.name == name)).mappings().first()
        names = conn.execute(sa.select(t.c.name).order_by(t.c.name)).scalars().all()
    if row is not None:
        return _from_row(row)
    if name == BASELINE:
        budget = business_as_usual_budget(inputs) if inputs is not None else 0.0
        return Scenario(
            BASELINE,
            budget,
            "Business as usual: last twelve months' average monthly program spend, no rules.",
        )
    known = ", ".join([BASELINE, *[n for n in names if n != BASELINE]])
    raise UnknownScenario(f"Unknown scenario '{name}'. Scenarios: {known}.")


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """A scenario solved and simulated: its problem, allocation, outcome draws, left-outs,
    and what its treatment changes do to the existing base each month
    (:func:`planning.allocation.economics.policy_effects`)."""

    scenario: Scenario
    problem: AllocationProblem
    allocation: Allocation
    distribution: OutcomeDistribution
    notes: tuple[str, ...]
    economics: pd.DataFrame
    policy: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def policy_effect(self) -> float:
        return float(self.policy["net_effect"].sum()) if len(self.policy) else 0.0

    @property
    def net_profit(self) -> float:
        """The programs' net profit plus the treatments' effect on the existing base."""
        return self.allocation.net_profit + self.policy_effect

    def net_draws(self) -> np.ndarray:
        return self.distribution.net_profit + self.policy_effect


def scenario_problem(
    inputs: PlanningInputs,
    scenario: Scenario,
    *,
    economics: pd.DataFrame | None = None,
    budget: float | None = None,
) -> tuple[AllocationProblem, tuple[str, ...]]:
    """The allocation problem a scenario poses (pure: economics already priced)."""
    overrides = {(o.segment, o.program): o.model() for o in scenario.curve_overrides}
    cells, notes = build_cells(
        inputs,
        economics=economics,
        treatments=scenario.treatments,
        overrides=overrides,
        rules=scenario.rules,
    )
    problem = AllocationProblem(
        cells,
        float(scenario.budget if budget is None else budget),
        program_caps=dict(scenario.program_caps),
        segment_caps=dict(scenario.segment_caps),
        capacity=scenario.capacity,
        objective=net_profit_objective(scenario.hurdle_rate),
    )
    return problem, notes


def scenario_economics(engine: Engine, inputs: PlanningInputs, scenario: Scenario) -> pd.DataFrame:
    """The segment economics under the scenario's treatments (the shared ones if unchanged)."""
    if not scenario.treatments:
        return inputs.economics
    return ec.segment_economics(
        engine,
        as_of=inputs.as_of,
        settings=inputs.settings,
        treatments={**inputs.treatments, **scenario.treatments},
        base_treatments=inputs.treatments,
    )


def evaluate_scenario(
    engine: Engine,
    scenario: Scenario,
    *,
    inputs: PlanningInputs,
    budget: float | None = None,
    draws: int = DRAWS,
    seed: int = 0,
) -> ScenarioResult:
    """Optimise a scenario and simulate its net profit.

    Raises
    ------
    planning.allocation.solver.InfeasibleProblem
        If its rules cannot all hold (the message says which).
    """
    economics = scenario_economics(engine, inputs, scenario)
    problem, notes = scenario_problem(inputs, scenario, economics=economics, budget=budget)
    allocation = allocate(problem)
    distribution = simulate_allocation(problem, allocation, draws=draws, seed=seed)
    return ScenarioResult(
        scenario,
        problem,
        allocation,
        distribution,
        notes,
        economics,
        ec.policy_effects(inputs.economics, economics),
    )


def optimize_scenario(
    engine: Engine,
    scenario_name: str,
    *,
    budget: float | None = None,
    as_of: dt.date,
    inputs: PlanningInputs | None = None,
) -> Allocation:
    """The optimal allocation of a stored scenario (or :data:`BASELINE`) as of a date.

    Parameters
    ----------
    engine
        An open store.
    scenario_name
        A stored scenario, or ``"baseline"``.
    budget
        Monthly budget instead of the scenario's.
    as_of
        Only data on or before this day.
    inputs
        Already loaded :func:`planning.allocation.levers.load_inputs` for ``as_of`` (saves
        recomputing).

    Raises
    ------
    UnknownScenario
        If there is no such scenario.
    planning.allocation.solver.InfeasibleProblem
        If its rules cannot all hold.
    """
    inputs = inputs or load_inputs(engine, as_of=as_of)
    scenario = load_scenario(engine, scenario_name, inputs=inputs)
    economics = scenario_economics(engine, inputs, scenario)
    problem, _ = scenario_problem(inputs, scenario, economics=economics, budget=budget)
    return allocate(problem)


@dataclass(frozen=True, eq=False)
class ScenarioComparison:
    """Two scenarios side by side (see :func:`compare_scenarios`)."""

    inputs: pd.DataFrame
    outcomes: pd.DataFrame
    cells: pd.DataFrame
    comparison: Comparison


def compare_scenarios(a: ScenarioResult, b: ScenarioResult) -> ScenarioComparison:
    """A against B: changed inputs, outcomes with intervals, and P(A beats B).

    Both must have been simulated with the same seed and draws (common random numbers).

    Returns
    -------
    ScenarioComparison
        ``inputs``: ``input, a, b`` for every input that differs; ``outcomes``: ``metric, a,
        b, difference`` (net profit with its P10/P50/P90 -- programs plus treatments --,
        the programs' contribution and spend, the treatments' effect on the existing base,
        ROI); ``cells``: ``segment, program, spend_a, spend_b, change``.
    """
    compare_outcomes(a.distribution, b.distribution)  # checks the draws are paired
    difference = a.net_draws() - b.net_draws()
    comparison = Comparison(difference, float(np.mean(difference > 0)))
    levels = (0.1, 0.5, 0.9)
    qa, qb, qd = (np.quantile(x, levels) for x in (a.net_draws(), b.net_draws(), difference))
    rows = [("Expected net profit", a.net_profit, b.net_profit, a.net_profit - b.net_profit)]
    for i, label in enumerate(("P10", "P50", "P90")):
        rows.append((f"Net profit {label}", qa[i], qb[i], qd[i]))
    rows += [
        (
            "Programs: contribution",
            a.allocation.contribution,
            b.allocation.contribution,
            a.allocation.contribution - b.allocation.contribution,
        ),
        (
            "Programs: spend",
            a.allocation.spend,
            b.allocation.spend,
            a.allocation.spend - b.allocation.spend,
        ),
        (
            "Treatments: effect on the existing base",
            a.policy_effect,
            b.policy_effect,
            a.policy_effect - b.policy_effect,
        ),
        ("ROI", a.allocation.roi, b.allocation.roi, a.allocation.roi - b.allocation.roi),
    ]
    outcomes = pd.DataFrame(rows, columns=["metric", "a", "b", "difference"])
    key = [C.SEGMENT, C.PROGRAM]
    cells = a.allocation.cells[[*key, C.SPEND]].merge(
        b.allocation.cells[[*key, C.SPEND]], on=key, how="outer", suffixes=("_a", "_b")
    )
    cells = cells.fillna({f"{C.SPEND}_a": 0.0, f"{C.SPEND}_b": 0.0})
    cells["change"] = cells[f"{C.SPEND}_a"] - cells[f"{C.SPEND}_b"]
    return ScenarioComparison(_changed_inputs(a.scenario, b.scenario), outcomes, cells, comparison)


def _changed_inputs(a: Scenario, b: Scenario) -> pd.DataFrame:
    def money(v: float | None) -> str:
        return "—" if v is None else f"${v:,.0f}"

    rows: list[tuple[str, str, str]] = []
    if a.budget != b.budget:
        rows.append(("Monthly budget", money(a.budget), money(b.budget)))
    if a.hurdle_rate != b.hurdle_rate:
        rows.append(("Hurdle rate", f"{a.hurdle_rate:.0%}", f"{b.hurdle_rate:.0%}"))
    if a.capacity != b.capacity:
        rows.append(
            (
                "Service-tier capacity (accounts)",
                str(a.capacity or "none"),
                str(b.capacity or "none"),
            )
        )
    for label, ca, cb in (
        ("Lever cap", a.program_caps, b.program_caps),
        ("Segment cap", a.segment_caps, b.segment_caps),
    ):
        for name in sorted(set(ca) | set(cb)):
            if ca.get(name) != cb.get(name):
                rows.append((f"{label}: {name}", money(ca.get(name)), money(cb.get(name))))
    for key in sorted(set(a.rules) | set(b.rules)):
        ra, rb = a.rules.get(key, CellRule()), b.rules.get(key, CellRule())
        if ra != rb:
            rows.append((f"Rule: {key[0]} x {key[1]}", _rule(ra), _rule(rb)))
    oa = {(o.segment, o.program): o for o in a.curve_overrides}
    ob = {(o.segment, o.program): o for o in b.curve_overrides}
    for key in sorted(set(oa) | set(ob)):
        if oa.get(key) != ob.get(key):
            rows.append((f"Curve: {key[0]} x {key[1]}", _curve(oa.get(key)), _curve(ob.get(key))))
    for segment in sorted(set(a.treatments) | set(b.treatments)):
        ta, tb = a.treatments.get(segment), b.treatments.get(segment)
        if _policy(ta) != _policy(tb):
            rows.append((f"Treatment: {segment}", _policy(ta), _policy(tb)))
    return pd.DataFrame(rows, columns=["input", "a", "b"])


def _rule(rule: CellRule) -> str:
    if rule.locked is not None:
        return f"locked at ${rule.locked:,.0f}"
    top = "default max" if rule.max_spend is None else f"${rule.max_spend:,.0f}"
    return f"${rule.min_spend:,.0f} to {top}"


def _curve(o: CurveOverride | None) -> str:
    if o is None:
        return "calibrated"
    params = ", ".join(f"{k} {v:,.4g}" for k, v in o.params.items())
    return f"{o.family} ({params}), {o.on:%Y-%m-%d}"


def _policy(t: Treatment | None) -> str:
    if t is None:
        return "as stored"
    return (
        f"{t.service_tier}, {t.payment_terms_days} days, limit ${t.credit_limit:,.0f}, "
        f"contact every {t.contact_cadence_days} days"
    )
