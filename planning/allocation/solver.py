"""Allocation: where the next dollar goes, across segments and levers, for the most profit.

A problem is a set of cells (segment x lever), each with a response curve, the money one unit
of its outcome is worth, bounds and perhaps a lock; a monthly budget; optional caps per lever
("program") and per segment; and a capacity limit on the accounts a higher service tier can
take. The objective is a factory-made :class:`Objective` (incremental net profit by default:
contribution minus spend), so the budget is left partly unspent when the next dollar would
return less than it costs. Rules that cannot all hold are explained in words before anything
is solved. The optimum is found exactly by equal marginal returns
(:mod:`planning.allocation.multipliers`);
:func:`allocate` returns an :class:`Allocation` with each cell's spend, outcome, contribution
and marginal return, which bounds and caps bind, the budget's multiplier and the totals, and
:func:`efficient_frontier` traces optimal profit against the budget with the same solver.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from planning.allocation import multipliers
from planning.allocation.response import ExponentialCurve, HillCurve, ResponseModel
from planning.core import columns as C

LEVERS: Final = ("acquisition", "retention", "cross_sell", "win_back", "service_tier")
LEVER_LABELS: Final = {
    "acquisition": "Acquisition",
    "retention": "Retention",
    "cross_sell": "Cross-sell / up-sell",
    "win_back": "Win-back",
    "service_tier": "Service tier",
}

# Columns of Allocation.cells.
MIN_SPEND: Final = "min_spend"
MAX_SPEND: Final = "max_spend"
LOCKED: Final = "locked"
CURRENT_SPEND: Final = "current_spend"
VALUE_PER_UNIT: Final = C.VALUE_PER_UNIT
CONTRIBUTION: Final = C.CONTRIBUTION
NET_PROFIT: Final = "net_profit"
MARGINAL_RETURN: Final = "marginal_return"
ROI: Final = "roi"
PAYBACK_MONTHS: Final = "payback_months"
BINDING: Final = "binding"
FAMILY: Final = "family"
SOURCE: Final = "source"
NOTE: Final = "note"
BUDGET: Final = "budget"


@dataclass(frozen=True)
class Objective:
    """What a plan is worth: ``contribution - spend_weight * spend``; made by the factories."""

    name: str
    spend_weight: float

    def __call__(
        self, contribution: float | np.ndarray, spend: float | np.ndarray
    ) -> float | np.ndarray:
        return contribution - self.spend_weight * spend


def net_profit_objective(hurdle_rate: float = 0.0) -> Objective:
    """Incremental net profit: contribution minus spend, each dollar charged ``1 + hurdle``.

    With a hurdle of 0.15 a dollar is only spent where it returns at least $1.15.

    Raises
    ------
    ValueError
        If ``hurdle_rate`` is not a finite number of at least 0.
    """
    if not (np.isfinite(hurdle_rate) and hurdle_rate >= 0):
        raise ValueError(f"hurdle_rate must be a finite number, 0 or more; got {hurdle_rate}.")
    name = "net profit" if hurdle_rate == 0 else f"net profit over a {hurdle_rate:.0%} hurdle"
    return Objective(name, 1.0 + float(hurdle_rate))


def contribution_objective() -> Objective:
    """Contribution alone: spends the whole budget wherever it buys the most contribution."""
    return Objective("contribution", 0.0)


@dataclass(frozen=True)
class Cell:
    """One segment x lever: its response, what an outcome unit is worth, and its rules.

    ``value_per_unit`` is the incremental contribution of one unit of outcome (money,
    discounted); ``flow_per_unit`` the contribution it brings per month (for payback; default
    the whole value at once); ``value_cv`` the uncertainty of the value (coefficient of
    variation). ``capacity_per_dollar`` is how many service-tier accounts a dollar uses.
    ``locked`` fixes the spend.
    """

    segment: str
    program: str
    response: ResponseModel
    value_per_unit: float
    min_spend: float = 0.0
    max_spend: float = float("inf")
    locked: float | None = None
    current_spend: float = 0.0
    value_cv: float = 0.0
    flow_per_unit: float | None = None
    capacity_per_dollar: float = 0.0
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.segment, self.program)

    @property
    def lower(self) -> float:
        return self.min_spend if self.locked is None else float(self.locked)

    @property
    def upper(self) -> float:
        return self.max_spend if self.locked is None else float(self.locked)


@dataclass(frozen=True)
class AllocationProblem:
    """Cells, the monthly budget, caps (by lever and by segment), service-tier capacity."""

    cells: tuple[Cell, ...]
    budget: float
    program_caps: Mapping[str, float] = field(default_factory=dict)
    segment_caps: Mapping[str, float] = field(default_factory=dict)
    capacity: float | None = None
    objective: Objective = field(default_factory=net_profit_objective)

    def with_budget(self, budget: float) -> AllocationProblem:
        return dataclasses.replace(self, budget=float(budget))


class InfeasibleProblem(ValueError):
    """The rules cannot all hold; ``problems`` says which, in words."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(" ".join(self.problems))


@dataclass(frozen=True, eq=False)  # eq=False: frames have no truth value
class Allocation:
    """An allocation and its diagnostics.

    ``cells`` has ``segment, program, spend, min_spend, max_spend, locked, current_spend,
    outcome, value_per_unit, contribution, net_profit, marginal_return, roi, payback_months,
    binding, family, source, note`` (one row per cell, ``binding`` one of "", "min", "max",
    "locked"). ``multiplier`` is the marginal return (contribution per dollar) shared by
    every cell not held by a bound or a cap: the value of one more dollar of budget is
    ``multiplier - spend weight`` when the budget binds. ``cap_prices`` gives each binding
    cap's extra price per dollar; ``gap`` bounds how far below the optimum the allocation can
    be (0 unless S-shaped curves had to be settled on or off).
    """

    cells: pd.DataFrame
    budget: float
    spend: float
    contribution: float
    net_profit: float
    objective_value: float
    objective: str
    multiplier: float
    binding: tuple[str, ...]
    cap_prices: Mapping[str, float]
    gap: float
    note: str
    solve_seconds: float
    monthly_flow: float = 0.0

    @property
    def roi(self) -> float:
        """Net profit per dollar spent (NaN when nothing is spent)."""
        return self.net_profit / self.spend if self.spend > 0 else float("nan")

    @property
    def payback_months(self) -> float:
        """Months of the outcomes' monthly contribution that pay the spend back."""
        return self.spend / self.monthly_flow if self.monthly_flow > 0 else float("nan")


def diagnose(problem: AllocationProblem) -> tuple[str, ...]:
    """Every reason the rules cannot all hold, in words; empty when they can.

    Checked before solving: budget, bounds and locks of each cell, and for the budget and
    every cap whether the minimum spends and locked cells alone already exceed it (with only
    upper limits and non-negative spends, that is the only way the rules can conflict).
    """
    out: list[str] = []
    if not np.isfinite(problem.budget) or problem.budget < 0:
        out.append(f"The budget must be a number of 0 or more; got {problem.budget}.")
        return tuple(out)
    seen: set[tuple[str, str]] = set()
    for cell in problem.cells:
        name = _cell_name(cell)
        if cell.key in seen:
            out.append(f"{name} appears twice: give each segment x lever one set of rules.")
        seen.add(cell.key)
        if not (np.isfinite(cell.min_spend) and cell.min_spend >= 0):
            out.append(f"{name}: the minimum must be 0 or more, got {cell.min_spend}.")
        if np.isnan(cell.max_spend) or cell.max_spend < cell.min_spend:
            out.append(
                f"{name}: the minimum {_money(cell.min_spend)} is above the maximum "
                f"{_money(cell.max_spend)}."
            )
        if cell.locked is not None:
            if not (np.isfinite(cell.locked) and cell.locked >= 0):
                out.append(f"{name}: a locked spend must be 0 or more, got {cell.locked}.")
            elif not cell.min_spend <= cell.locked <= cell.max_spend:
                out.append(
                    f"{name} is locked at {_money(cell.locked)}, outside its bounds "
                    f"{_money(cell.min_spend)} to {_money(cell.max_spend)}."
                )
        if not np.isfinite(cell.value_per_unit):
            out.append(f"{name}: the value of one outcome must be a number.")
    if out:
        return tuple(out)
    lower = sum(c.lower for c in problem.cells)
    if lower > problem.budget * (1 + 1e-12):
        out.append(
            f"Minimum spends and locked cells add up to {_money(lower)}, above the "
            f"{_money(problem.budget)} budget."
        )
    programs = {c.program for c in problem.cells}
    segments = {c.segment for c in problem.cells}
    for kind, caps, known, attr in (
        ("lever", problem.program_caps, programs, "program"),
        ("segment", problem.segment_caps, segments, "segment"),
    ):
        for name, cap in caps.items():
            if name not in known:
                out.append(
                    f"The {kind} cap names '{name}', which is not a {kind} of this "
                    f"plan ({', '.join(sorted(known))})."
                )
            elif not (np.isfinite(cap) and cap >= 0):
                out.append(f"The {kind} cap for {name} must be 0 or more, got {cap}.")
            else:
                need = sum(c.lower for c in problem.cells if getattr(c, attr) == name)
                if need > cap * (1 + 1e-12):
                    out.append(
                        f"{name}: minimum spends and locked cells add up to "
                        f"{_money(need)}, above its {kind} cap of {_money(cap)}."
                    )
    if problem.capacity is not None:
        if not (np.isfinite(problem.capacity) and problem.capacity >= 0):
            out.append(
                f"The service-tier capacity must be 0 or more accounts, got {problem.capacity}."
            )
        else:
            need = sum(c.lower * c.capacity_per_dollar for c in problem.cells)
            if need > problem.capacity * (1 + 1e-12):
                out.append(
                    f"Minimum and locked service-tier spends need {need:,.0f} accounts, "
                    f"above the capacity of {problem.capacity:,.0f} accounts."
                )
    return tuple(out)


def allocate(problem: AllocationProblem) -> Allocation:
    """The allocation that maximises the problem's objective within all its rules.

    Parameters
    ----------
    problem
        Cells, budget, caps, capacity and objective.

    Returns
    -------
    Allocation
        Spends, outcomes and diagnostics (see :class:`Allocation`).

    Raises
    ------
    InfeasibleProblem
        If the rules cannot all hold (see :func:`diagnose`); nothing is solved.
    """
    problems = diagnose(problem)
    if problems:
        raise InfeasibleProblem(problems)
    started = time.perf_counter()
    cells = problem.cells
    lower = np.array([c.lower for c in cells])
    upper = np.array([c.upper for c in cells])
    value = np.array([c.value_per_unit for c in cells])
    rows, limits, names = _constraints(problem)
    # A worthless outcome (value <= 0) or a fixed cell stays at its lower bound.
    free = (upper > lower) & (value > 0)
    spend = lower.copy()
    fixed_usage = rows @ np.where(free, 0.0, lower)
    cap_prices = np.zeros(len(names))
    gap = 0.0
    if free.any():
        idx = np.flatnonzero(free)
        remaining = limits - fixed_usage
        # No cell can use more than any constraint it belongs to allows: keeps bounds finite.
        with np.errstate(divide="ignore"):
            room = np.where(rows[:, idx] > 0, remaining[:, None] / rows[:, idx], np.inf)
        hi = np.minimum(upper[idx], room.min(axis=0))
        batch = _batch(cells, idx, value, lower[idx], np.maximum(hi, lower[idx]))
        solution, gap = multipliers.solve(
            batch, problem.objective.spend_weight, rows[:, idx], remaining
        )
        spend[idx] = solution.spend
        cap_prices = solution.mu
    return _result(
        problem, spend, names, rows, limits, cap_prices, gap, time.perf_counter() - started
    )


def evaluate(problem: AllocationProblem, spend: Mapping[tuple[str, str], float]) -> Allocation:
    """The same diagnostics for a given spend per (segment, lever) (missing cells: 0)."""
    s = np.array([float(spend.get(c.key, 0.0)) for c in problem.cells])
    rows, limits, names = _constraints(problem)
    return _result(problem, s, names, rows, limits, np.zeros(len(names)), 0.0, 0.0)


def efficient_frontier(problem: AllocationProblem, budgets: Iterable[float]) -> pd.DataFrame:
    """Optimal totals at each budget, from the same solver.

    Budgets below what the minimum spends and locks need are left out.

    Returns
    -------
    DataFrame
        ``budget, spend, contribution, net_profit, multiplier`` ordered by budget.
    """
    rows = []
    for budget in sorted(float(b) for b in budgets):
        candidate = problem.with_budget(budget)
        if diagnose(candidate):
            continue
        result = allocate(candidate)
        rows.append(
            {
                BUDGET: budget,
                C.SPEND: result.spend,
                CONTRIBUTION: result.contribution,
                NET_PROFIT: result.net_profit,
                "multiplier": result.multiplier,
            }
        )
    return pd.DataFrame(rows, columns=[BUDGET, C.SPEND, CONTRIBUTION, NET_PROFIT, "multiplier"])


def _constraints(problem: AllocationProblem) -> tuple[np.ndarray, np.ndarray, list[str]]:
    cells = problem.cells
    rows = [np.ones(len(cells))]
    limits = [problem.budget]
    names = ["budget"]
    for program, cap in problem.program_caps.items():
        rows.append(np.array([1.0 if c.program == program else 0.0 for c in cells]))
        limits.append(cap)
        names.append(f"{LEVER_LABELS.get(program, program)} cap")
    for segment, cap in problem.segment_caps.items():
        rows.append(np.array([1.0 if c.segment == segment else 0.0 for c in cells]))
        limits.append(cap)
        names.append(f"{segment} cap")
    if problem.capacity is not None:
        rows.append(np.array([c.capacity_per_dollar for c in cells]))
        limits.append(problem.capacity)
        names.append("service-tier capacity")
    return np.array(rows, dtype=float).reshape(len(rows), len(cells)), np.array(limits), names


def _family_curves(
    cells: Sequence[Cell], scale: np.ndarray
) -> tuple[np.ndarray, ExponentialCurve | None, np.ndarray, HillCurve | None]:
    """The cells' curves as one array-valued curve per family, ceilings times ``scale``."""
    curves = [c.response.curve for c in cells]
    exp_pos = np.array(
        [k for k, c in enumerate(curves) if isinstance(c, ExponentialCurve)], dtype=int
    )
    hill_pos = np.array([k for k, c in enumerate(curves) if isinstance(c, HillCurve)], dtype=int)
    exp = hill = None
    if exp_pos.size:
        exp = ExponentialCurve(
            np.array([curves[k].beta for k in exp_pos]) * scale[exp_pos],
            np.array([curves[k].kappa for k in exp_pos]),
        )
    if hill_pos.size:
        hill = HillCurve(
            np.array([curves[k].beta for k in hill_pos]) * scale[hill_pos],
            np.array([curves[k].half_saturation for k in hill_pos]),
            np.array([curves[k].shape for k in hill_pos]),
        )
    return exp_pos, exp, hill_pos, hill


def _batch(
    cells: tuple[Cell, ...], idx: np.ndarray, value: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> multipliers.Batch:
    """Free cells' money-valued curves (value x outcome), grouped by family."""
    exp_pos, exp, hill_pos, hill = _family_curves([cells[i] for i in idx], value[idx])
    return multipliers.make_batch(exp_pos, exp, hill_pos, hill, lo, hi)


def _outcomes(cells: Sequence[Cell], spend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's expected outcome and outcome per extra dollar at ``spend``."""
    exp_pos, exp, hill_pos, hill = _family_curves(cells, np.ones(len(cells)))
    outcome, slope = np.zeros(len(cells)), np.zeros(len(cells))
    for pos, curve in ((exp_pos, exp), (hill_pos, hill)):
        if curve is not None:
            outcome[pos] = curve.value(spend[pos])
            slope[pos] = curve.derivative(spend[pos])
    return outcome, slope


def _result(
    problem: AllocationProblem,
    spend: np.ndarray,
    names: list[str],
    rows: np.ndarray,
    limits: np.ndarray,
    prices: np.ndarray,
    gap: float,
    seconds: float,
) -> Allocation:
    cells = problem.cells
    outcome, slope = _outcomes(cells, spend)
    value = np.array([c.value_per_unit for c in cells])
    flow = np.array(
        [c.value_per_unit if c.flow_per_unit is None else c.flow_per_unit for c in cells]
    )
    contribution = outcome * value
    usage = rows @ spend if len(cells) else np.zeros(len(names))
    binding_caps = tuple(
        name
        for name, use, limit, price in zip(names, usage, limits, prices, strict=True)
        if use >= limit * (1 - 1e-9) - 1e-9 and (price > 0 or name != "budget" or limit == 0)
    )
    weight = problem.objective.spend_weight
    budget_price = prices[0] if len(prices) else 0.0
    multiplier = weight + budget_price
    frame = pd.DataFrame(
        {
            C.SEGMENT: [c.segment for c in cells],
            C.PROGRAM: [c.program for c in cells],
            C.SPEND: spend,
            MIN_SPEND: [c.min_spend for c in cells],
            MAX_SPEND: [c.max_spend for c in cells],
            LOCKED: [c.locked is not None for c in cells],
            CURRENT_SPEND: [c.current_spend for c in cells],
            C.OUTCOME: outcome,
            VALUE_PER_UNIT: value,
            CONTRIBUTION: contribution,
            NET_PROFIT: contribution - spend,
            MARGINAL_RETURN: slope * value,
            ROI: np.divide(
                contribution - spend, spend, out=np.full(len(cells), np.nan), where=spend > 0
            ),
            PAYBACK_MONTHS: np.divide(
                spend, outcome * flow, out=np.full(len(cells), np.nan), where=outcome * flow > 0
            ),
            BINDING: [_binding(c, s) for c, s in zip(cells, spend, strict=True)],
            FAMILY: [c.response.family for c in cells],
            SOURCE: [c.response.source for c in cells],
            NOTE: [c.note for c in cells],
        }
    )
    total_spend = float(spend.sum())
    total_contribution = float(contribution.sum())
    return Allocation(
        cells=frame,
        budget=problem.budget,
        spend=total_spend,
        contribution=total_contribution,
        net_profit=total_contribution - total_spend,
        objective_value=float(problem.objective(total_contribution, total_spend)),
        objective=problem.objective.name,
        multiplier=float(multiplier),
        binding=binding_caps,
        cap_prices={name: float(p) for name, p in zip(names, prices, strict=True) if p > 0},
        gap=float(gap),
        note=_note(problem, total_spend, multiplier, binding_caps),
        solve_seconds=seconds,
        monthly_flow=float(np.sum(outcome * flow)),
    )


def _binding(cell: Cell, spend: float) -> str:
    if cell.locked is not None:
        return "locked"
    tol = 1e-7 * (1.0 + abs(spend))
    if spend <= cell.min_spend + tol:
        return "min"
    if spend >= cell.max_spend - tol:
        return "max"
    return ""


def _note(
    problem: AllocationProblem, spend: float, multiplier: float, binding: tuple[str, ...]
) -> str:
    caps = [b for b in binding if b != "budget"]
    cap_text = f" Binding: {', '.join(caps)}." if caps else ""
    if "budget" in binding:
        return (
            f"The whole {_money(problem.budget)} budget is spent; the last dollar returns "
            f"${multiplier:,.2f} of contribution wherever no bound or cap holds it." + cap_text
        )
    weight = problem.objective.spend_weight
    return (
        f"Spends {_money(spend)} of the {_money(problem.budget)} budget: beyond that the "
        f"next dollar would return less than the ${weight:,.2f} it costs." + cap_text
    )


def _cell_name(cell: Cell) -> str:
    return f"{cell.segment} x {LEVER_LABELS.get(cell.program, cell.program)}"


def _money(value: float) -> str:
    return "no limit" if value == float("inf") else f"${value:,.0f}"


def lock_cell(problem: AllocationProblem, key: tuple[str, str], spend: float) -> AllocationProblem:
    """The problem with one cell locked at ``spend`` (its bounds widened to allow it), to ask
    "what if this cell spent that, and the rest were re-optimised?"."""
    cells = tuple(
        dataclasses.replace(
            c,
            locked=float(spend),
            min_spend=min(c.min_spend, spend),
            max_spend=max(c.max_spend, spend),
        )
        if c.key == key
        else c
        for c in problem.cells
    )
    return dataclasses.replace(problem, cells=cells)
