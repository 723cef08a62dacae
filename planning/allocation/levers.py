"""Levers: the allocation cells of a company, built from its data and a planner's rules.

:func:`load_inputs` reads what every scenario shares once: the calibrated response curves, the
spend history (business-as-usual spend and the highest month of each cell), the stored
treatments and the segment economics. :func:`build_cells` then makes one
:class:`~planning.allocation.solver.Cell` per segment x lever that the segment's treatment makes
eligible and that has a response curve — a planner's override first, else the calibrated one,
and for the service-tier lever the curve the treatments imply (:func:`service_tier_curve`) —
priced by :func:`planning.allocation.economics.lever_values`. Unless a rule says otherwise a
calibrated
cell may spend up to :data:`EXTRAPOLATION` times its highest month on record: a curve says
little about spend far beyond what it was fitted on. Cells that cannot be built are named in
``notes`` with the reason, so nothing silently drops out of the plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from planning.allocation import economics as ec
from planning.allocation.calibration import (
    PROGRAM_UNITS,
    Calibration,
    calibrate_responses,
    load_spend_history,
)
from planning.allocation.response import ExponentialCurve, ResponseModel
from planning.allocation.solver import LEVER_LABELS, Cell
from planning.allocation.strategy import LEVERS, Treatment, load_treatments
from planning.core import columns as C

EXTRAPOLATION: Final = 2.0
BAU_MONTHS: Final = 12
SERVICE_TIER_CV: Final = 0.3  # stated doubt about the tier assumptions' effect
# Accounts are moved up a tier riskiest first: upgrading a third of them prevents ~63% of the
# churn the whole segment's upgrade would (exponential saturation with kappa = 1/3 of the cost).
_TIER_SATURATION: Final = 3.0


@dataclass(frozen=True)
class CellRule:
    """A planner's bounds or lock for one cell (None: the default)."""

    min_spend: float = 0.0
    max_spend: float | None = None
    locked: float | None = None


@dataclass(frozen=True, eq=False)
class PlanningInputs:
    """What every scenario of a store as of a date shares (see :func:`load_inputs`)."""

    as_of: dt.date
    settings: ec.EconomicsSettings
    calibration: Calibration
    business_as_usual: Mapping[tuple[str, str], float]
    highest: Mapping[tuple[str, str], float]
    treatments: Mapping[str, Treatment]
    economics: pd.DataFrame
    history_months: int = 0
    spend_history: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.economics.index)


def load_inputs(
    engine: Engine, *, as_of: dt.date, settings: ec.EconomicsSettings = ec.EconomicsSettings()
) -> PlanningInputs:
    """Calibrate the curves and price the outcomes of the store as of ``as_of``.

    Raises
    ------
    ValueError
        If the store holds too little history to price outcomes (see
        :func:`planning.allocation.economics.segment_economics`).
    """
    history = load_spend_history(engine, as_of=as_of)
    calibration = calibrate_responses(history)
    economics = ec.segment_economics(engine, as_of=as_of, settings=settings)
    treatments = load_treatments(engine, economics.index)
    bau, highest = _spend_levels(history)
    months = int(history[C.MONTH].nunique()) if len(history) else 0
    return PlanningInputs(
        as_of, settings, calibration, bau, highest, treatments, economics, months, history
    )


def _spend_levels(
    history: pd.DataFrame,
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """Mean monthly spend over the last :data:`BAU_MONTHS` months and the highest month."""
    if history.empty:
        return {}, {}
    last = history[C.MONTH].max()
    recent = history[history[C.MONTH] > last - pd.DateOffset(months=BAU_MONTHS)]
    months = recent[C.MONTH].nunique()
    bau = recent.groupby([C.SEGMENT, C.PROGRAM])[C.SPEND].sum() / max(months, 1)
    highest = history.groupby([C.SEGMENT, C.PROGRAM])[C.SPEND].max()
    return _by_cell(bau), _by_cell(highest)


def _by_cell(values: pd.Series) -> dict[tuple[str, str], float]:
    """A Series indexed by ``(segment, program)`` as a dict keyed by the cell."""
    return {(str(s), str(p)): float(v) for (s, p), v in zip(values.index, values, strict=True)}


def service_tier_curve(
    segment: str, treatment: Treatment, economics: pd.Series
) -> tuple[ResponseModel | None, float, float, str]:
    """The lever "move more of the segment's accounts up one tier", from the treatments.

    Upgrading all ``N`` active accounts from the current tier to the next costs
    ``N x extra cost per account`` a month and prevents ``N x churn x extra reduction`` churn
    events a month (reductions compose: ``1 - (1 - r1) / (1 - r0)``); accounts are upgraded
    riskiest first, so the outcome saturates (exponential, ``kappa`` a third of the full cost).

    Returns
    -------
    (model, max spend, accounts per dollar, note)
        model None (with the reason in the note) at the top tier or without active accounts.
    """
    nxt = treatment.next_tier
    if nxt is None:
        return None, 0.0, 0.0, f"{segment} is already on the top service tier"
    accounts = float(economics[ec.ACTIVE])
    churn = float(economics[ec.CHURN_RATE])
    step = nxt.cost_per_account_month - treatment.tier.cost_per_account_month
    reduction = 1 - (1 - nxt.churn_reduction) / (1 - treatment.tier.churn_reduction)
    if accounts <= 0 or churn <= 0 or step <= 0:
        return None, 0.0, 0.0, f"{segment} has no active accounts with churn to prevent"
    full_cost = accounts * step
    kappa = full_cost / _TIER_SATURATION
    beta = accounts * churn * reduction / (1 - np.exp(-_TIER_SATURATION))
    day = (treatment.updated_at or dt.datetime.now(dt.UTC)).date()
    source = (
        f"planner assumption, {day:%Y-%m-%d}: {treatment.service_tier} -> {nxt.name} "
        f"tier (Customer strategy), riskiest accounts first"
    )
    cov = np.diag([np.log1p(SERVICE_TIER_CV**2), 0.0])
    model = ResponseModel(
        segment,
        "service_tier",
        ExponentialCurve(beta, kappa),
        source,
        cov,
        0,
        PROGRAM_UNITS["service_tier"],
    )
    return model, full_cost, 1.0 / step, ""


def build_cells(
    inputs: PlanningInputs,
    *,
    economics: pd.DataFrame | None = None,
    treatments: Mapping[str, Treatment] | None = None,
    overrides: Mapping[tuple[str, str], ResponseModel] | None = None,
    rules: Mapping[tuple[str, str], CellRule] | None = None,
) -> tuple[tuple[Cell, ...], tuple[str, ...]]:
    """The allocation cells and, in words, every segment x lever left out and why.

    Parameters
    ----------
    inputs
        From :func:`load_inputs`.
    economics, treatments
        A scenario's re-priced economics and policies (default: the stored ones).
    overrides
        Planner curves by (segment, lever), used instead of calibration.
    rules
        Bounds and locks by (segment, lever).
    """
    economics = inputs.economics if economics is None else economics
    treatments = {**inputs.treatments, **(treatments or {})}
    overrides = overrides or {}
    rules = rules or {}
    values = ec.lever_values(economics).set_index([C.SEGMENT, C.PROGRAM])
    cells: list[Cell] = []
    notes: list[str] = []
    for segment in economics.index:
        treatment = treatments.get(segment) or Treatment(segment)
        for lever in LEVERS:
            key = (segment, lever)
            name = f"{segment} x {LEVER_LABELS[lever]}"
            if lever not in treatment.eligible_programs:
                notes.append(f"{name}: not eligible under the segment's treatment.")
                continue
            max_spend, per_dollar, why = float("inf"), 0.0, ""
            model = overrides.get(key)
            if lever == "service_tier":
                tier_model, max_spend, per_dollar, why = service_tier_curve(
                    segment, treatment, economics.loc[segment]
                )
                model = model or tier_model
            elif model is None:
                model = inputs.calibration.model(segment, lever)
                skipped = next(
                    (
                        s
                        for s in inputs.calibration.skipped
                        if s.segment == segment and s.program == lever
                    ),
                    None,
                )
                why = skipped.reason if skipped else "no spend history with outcomes"
                if model is not None and key in inputs.highest:
                    max_spend = EXTRAPOLATION * inputs.highest[key]
            if model is None:
                notes.append(
                    f"{name}: no response curve, {why}; set a planner curve to include it."
                )
                continue
            worth = values.loc[key]
            rule = rules.get(key, CellRule())
            cells.append(
                Cell(
                    segment=segment,
                    program=lever,
                    response=model,
                    value_per_unit=float(worth[ec.VALUE_PER_UNIT]),
                    min_spend=float(rule.min_spend),
                    max_spend=float(rule.max_spend) if rule.max_spend is not None else max_spend,
                    locked=None if rule.locked is None else float(rule.locked),
                    current_spend=float(inputs.business_as_usual.get(key, 0.0)),
                    value_cv=float(worth[ec.VALUE_CV]),
                    flow_per_unit=float(worth[ec.FLOW_PER_UNIT]),
                    capacity_per_dollar=per_dollar,
                    note=str(worth[ec.BASIS]),
                )
            )
    return tuple(cells), tuple(notes)


def business_as_usual_budget(inputs: PlanningInputs) -> float:
    """Monthly program spend of the last twelve months, on average: the default budget."""
    return float(sum(inputs.business_as_usual.values()))


RULE_COLUMNS: Final = (C.SEGMENT, C.PROGRAM, "lever", "min_spend", "max_spend", "locked", "lock_at")


def rules_table(cells: tuple[Cell, ...], rules: Mapping[tuple[str, str], CellRule]) -> pd.DataFrame:
    """One editable row per cell: ``segment, program, lever, min_spend, max_spend, locked,
    lock_at`` (``lever`` the program's name for people; ``max_spend`` shows the default cap
    when no rule sets one, no cap as NaN)."""
    rows = []
    for cell in cells:
        rule = rules.get(cell.key, CellRule())
        top = rule.max_spend if rule.max_spend is not None else cell.max_spend
        rows.append(
            {
                C.SEGMENT: cell.segment,
                C.PROGRAM: cell.program,
                "lever": LEVER_LABELS.get(cell.program, cell.program),
                "min_spend": rule.min_spend,
                "max_spend": top if np.isfinite(top) else np.nan,
                "locked": rule.locked is not None,
                "lock_at": rule.locked if rule.locked is not None else cell.current_spend,
            }
        )
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))


def rules_from_table(
    table: pd.DataFrame, cells: tuple[Cell, ...]
) -> tuple[dict[tuple[str, str], CellRule], list[str]]:
    """Rules from an edited :func:`rules_table`, and what is wrong with it, row by row.

    A maximum equal to the cell's default cap is not a rule (so the default keeps following
    the data); an empty maximum means no cap.
    """
    defaults = {c.key: c.max_spend for c in cells}
    rules: dict[tuple[str, str], CellRule] = {}
    problems: list[str] = []
    for row in table.to_dict("records"):
        key = (str(row[C.SEGMENT]), str(row[C.PROGRAM]))
        name = f"{key[0]} x {LEVER_LABELS.get(key[1], key[1])}"
        low = 0.0 if pd.isna(row["min_spend"]) else float(row["min_spend"])
        top = None if pd.isna(row["max_spend"]) else float(row["max_spend"])
        if top is None and np.isfinite(defaults.get(key, np.inf)):
            top = float("inf")
        elif top is not None and np.isclose(top, defaults.get(key, np.nan)):
            top = None
        locked = None
        if bool(row["locked"]):
            locked = 0.0 if pd.isna(row["lock_at"]) else float(row["lock_at"])
            if locked < 0:
                problems.append(f"{name}: a lock must be 0 or more, got {locked:,.0f}.")
        if low < 0:
            problems.append(f"{name}: the minimum must be 0 or more, got {low:,.0f}.")
        rule = CellRule(low, top, locked)
        if rule != CellRule():
            rules[key] = rule
    return rules, problems
