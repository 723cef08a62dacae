"""The continuous planner: the operating plan recomputed whenever its inputs change.

:class:`Planner` is the shell around a :class:`planning.plan.graph.Graph` of pure steps::

    history ──────────────┬──> economics ──> allocation ──> plan ──> result
    value inputs ─> value ┘         ^            ^          ^  ^        ^
    spend history ─> curves ────────┘            |          |  |        |
    budget, settings ────────────────────────────┘          |  |        |
    history ─> forecasts ───────────────────────────────────┘  |        |
    closed plans + history ─> variance ────────────────────────┴────────┘

It reads the sources from the store (incrementally: after an import only the months the
import touched are reloaded), evaluates the graph with its memo, so a budget move recomputes
only allocation, plan and result, and writes a new plan version when the plan changed. The
trigger of a version is the caller's (import, assumption, budget, manual) unless the last
closed month moved, which is a month close: the horizon rolls, the closed month's plan vs
actual enters the variance, and the rest of the year is re-optimised against the budget left.

The budget is the planner setting ``budget``: a yearly total phased by month over calendar
years (default: the last twelve months' program spend, i.e. business as usual). Each month's
budget is the year's remaining budget spread over its remaining months by the phasing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planning import value as v
from planning.allocation import calibration
from planning.allocation import solver as al
from planning.allocation.response import ResponseModel
from planning.core import columns as C
from planning.core.access import Actor, require
from planning.core.options import AttributeLens
from planning.forecast.backtest import BacktestConfig
from planning.forecast.fitting import FitCache, fit_series
from planning.plan import budget_cells
from planning.plan import operating_plan as op
from planning.plan import variance as va
from planning.plan import versions as plan_store
from planning.plan.graph import Evaluation, Graph, Memo, Node
from planning.profit import costing
from planning.profit import profitability as pl
from planning.profit import segment_history as plan_facts
from planning.profit.segment_rates import segment_rates
from planning.store import schema
from planning.value import scoring as customer_value

PROGRAMS: Final = (op.ACQUISITION, op.RETENTION, op.CROSS_SELL, op.WIN_BACK)
_STALE_ATTEMPTS: Final = 5
VARIANCE_MONTHS: Final = 12  # closed months whose plan vs actual the variance looks at
DEFAULT_LENS: Final[AttributeLens] = "size"
EXTRAPOLATION: Final = 2.0  # default cap of a cell's monthly spend, times its highest month


@dataclass(frozen=True)
class Budget:
    """A yearly program budget phased by month, and per-cell rules.

    Attributes
    ----------
    annual
        Program spend for a calendar year, or None for business as usual (the last twelve
        closed months' spend).
    phasing
        Twelve weights, January first: the share of the year each month gets.
    bounds
        ``{"segment|program": [min, max]}`` monthly spend bounds.
    locks
        ``{"segment|program": spend}`` monthly spend that may not move.
    """

    annual: float | None = None
    phasing: tuple[float, ...] = (1.0,) * 12
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    locks: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.annual is not None and not self.annual >= 0:
            raise ValueError(f"The annual budget must be 0 or more, got {self.annual}.")
        if len(self.phasing) != 12 or any(w < 0 for w in self.phasing) or not sum(self.phasing):
            raise ValueError("Phasing needs twelve weights, 0 or more, not all 0.")

    @classmethod
    def from_setting(cls, value: Mapping[str, Any] | None) -> Budget:
        value = dict(value or {})
        return cls(
            annual=value.get("annual"),
            phasing=tuple(float(w) for w in value.get("phasing", (1.0,) * 12)),
            bounds={k: tuple(b) for k, b in value.get("bounds", {}).items()},
            locks={k: float(s) for k, s in value.get("locks", {}).items()},
        )

    @classmethod
    def from_scenario(cls, scenario: Any) -> Budget:
        """The yearly budget of a what-if scenario (planning.allocation.scenarios.Scenario): twelve
        times
        its monthly budget, with its cells' bounds and locks."""
        bounds, locks = {}, {}
        for (segment, program), rule in scenario.rules.items():
            key = f"{segment}|{program}"
            if rule.locked is not None:
                locks[key] = float(rule.locked)
            elif rule.min_spend or rule.max_spend is not None:
                bounds[key] = (
                    float(rule.min_spend),
                    float(rule.max_spend) if rule.max_spend is not None else float("inf"),
                )
        return cls(annual=12 * float(scenario.budget), bounds=bounds, locks=locks)

    def to_setting(self) -> dict[str, Any]:
        return {
            "annual": self.annual,
            "phasing": list(self.phasing),
            "bounds": {k: list(b) for k, b in self.bounds.items()},
            "locks": dict(self.locks),
        }


@dataclass(frozen=True)
class Calendar:
    """Where the plan stands in time: the data's last day and the last closed month."""

    as_of: dt.date
    last_closed: dt.date


@dataclass(frozen=True)
class Recompute:
    """What one recompute did."""

    version_id: int | None
    trigger: str
    evaluation: Evaluation
    seconds: float
    load_seconds: float
    reason: str

    @property
    def recomputed(self) -> tuple[str, ...]:
        return self.evaluation.recomputed


class Planner:
    """Recomputes the operating plan of one store; keeps its memo between recomputes.

    One instance per process (the watch service, the dashboard's cached resource, a CLI run).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        lens: AttributeLens = DEFAULT_LENS,
        value_settings: customer_value.ValueSettings | None = None,
    ) -> None:
        self.engine = engine
        self.lens = lens
        self.value_settings = value_settings or customer_value.ValueSettings()
        self.memo = Memo()
        self.fits = FitCache()
        self.graph = build_graph(self.fits)
        self._history: pd.DataFrame | None = None
        self._history_end: dt.date | None = None
        self._sources: dict[str, Any] | None = None
        self._token: str | None = None

    # ------------------------------------------------------------------ sources

    def load_sources(
        self,
        *,
        changed_from: dt.date | None = None,
        reload_all: bool = False,
        settings_only: bool = False,
    ) -> dict[str, Any]:
        """Read the sources from the store; history only from ``changed_from``'s month on.

        With ``settings_only`` (a budget or assumption edit) the data sources of the previous
        load are kept and only the planner settings are read again, unless the calendar moved.
        """
        # Read before the settings: a save in between makes the token older than the settings,
        # so the plan is recomputed once more rather than written from a newer budget unseen.
        self._token = plan_store.settings_token(self.engine)
        status_last = _last_transaction_day(self.engine)
        previous = self._sources
        if settings_only and previous is not None and previous["calendar"].as_of == status_last:
            settings = plan_store.read_settings(self.engine)
            self._sources = {
                **previous,
                "budget": _budget(self.engine, settings),
                "plan_settings": _plan_settings(settings.get("plan")),
            }
            return self._sources
        if status_last is None:
            raise ValueError("The store holds no transactions yet: import some before planning.")
        last_closed = plan_facts.last_closed_month(status_last)
        calendar = Calendar(status_last, last_closed)
        if (
            reload_all
            or self._history is None
            or self._history_end != last_closed
            or changed_from is None
        ):
            history = plan_facts.load_history(self.engine, lens=self.lens, end_month=last_closed)
        else:
            start = max(
                dt.date(changed_from.year, changed_from.month, 1),
                self._history[C.MONTH].min().date(),
            )
            if start <= last_closed:
                part = plan_facts.load_history(
                    self.engine, lens=self.lens, end_month=last_closed, start_month=start
                )
                history = plan_facts.splice_history(self._history, part)
            else:
                history = self._history
        self._history, self._history_end = history, last_closed
        settings = plan_store.read_settings(self.engine)
        self._sources = {
            "calendar": calendar,
            "history": history,
            "value_inputs": self._read_value_inputs(status_last),
            "spend_history": calibration.load_spend_history(self.engine, as_of=last_closed),
            "rates": _current_rates(self.engine),
            "budget": _budget(self.engine, settings),
            "plan_settings": _plan_settings(settings.get("plan")),
            "closed_plans": closed_plans(self.engine, last_closed),
        }
        return self._sources

    def _read_value_inputs(self, as_of: dt.date) -> dict[str, Any]:
        s = self.value_settings
        summary = customer_value.purchase_summary(self.engine, as_of, time_unit=s.time_unit)
        start = (
            pd.Timestamp(as_of) - pd.DateOffset(months=s.economics_months) + pd.Timedelta(days=1)
        ).date()
        pnl = pl.customer_pnl(self.engine, start=start, end=as_of)
        attributes = customer_value.read_attributes(self.engine)
        return {
            "as_of": as_of,
            "summary": summary,
            "pnl": pnl,
            "attributes": attributes,
            "settings": s,
        }

    # ------------------------------------------------------------------ recompute

    def recompute(
        self,
        trigger: plan_store.Trigger = "manual",
        *,
        actor: Actor,
        reason: str = "",
        changed_from: dt.date | None = None,
        reload_all: bool = False,
    ) -> Recompute:
        """Bring the plan up to date with the store; write a version if it changed.

        Parameters
        ----------
        trigger
            Why the caller recomputes; a moved last closed month makes it "month close".
        changed_from
            The earliest day new data touched (an import), so history reloads from there.
        """
        require(actor, "recompute_plan")
        started = time.perf_counter()
        previous = plan_store.latest_version(self.engine)
        sources = self.load_sources(
            changed_from=changed_from,
            reload_all=reload_all,
            settings_only=trigger in ("budget", "assumption"),
        )
        loaded = time.perf_counter() - started
        calendar: Calendar = sources["calendar"]
        if previous is not None and calendar.last_closed > previous.last_closed_month:
            trigger = "month close"
            reason = (f"{calendar.last_closed:%b %Y} closed; " + reason).strip("; ")
        for attempt in range(1, _STALE_ATTEMPTS + 1):
            evaluation = self.graph.evaluate(sources, self.memo)
            content: plan_store.PlanContent = evaluation.values["result"]
            timings = {"load": loaded, **evaluation.timings()}
            try:
                version = plan_store.write_version(
                    self.engine,
                    content,
                    trigger=trigger,
                    actor=actor,
                    reason=reason or _default_reason(evaluation),
                    input_fingerprint=evaluation.fingerprints["result"],
                    timings=timings,
                    # The last attempt writes regardless: whoever saved in between
                    # recomputes after their own save.
                    settings_token=self._token if attempt < _STALE_ATTEMPTS else None,
                )
                break
            except plan_store.StaleInputs:
                sources = self.load_sources(settings_only=True)
        return Recompute(
            version, trigger, evaluation, time.perf_counter() - started, loaded, reason
        )


def _budget(engine: Engine, settings: Mapping[str, Any]) -> Budget:
    """The budget setting with the saved budget cells holding their spend."""
    budget = Budget.from_setting(settings.get("budget"))
    cells = budget_cells.cell_locks(budget_cells.read_cells(engine))
    return replace(budget, locks={**budget.locks, **cells}) if cells else budget


# ---------------------------------------------------------------------- the graph


def build_graph(fits: FitCache | None = None) -> Graph:
    """The planner's steps. ``fits`` keeps forecast outcomes by series fingerprint."""
    cache = fits if fits is not None else FitCache()
    return Graph(
        [
            Node("value", ("value_inputs",), _value_node),
            Node("economics", ("history", "value", "plan_settings"), _economics_node),
            Node(
                "forecasts",
                ("history", "plan_settings"),
                lambda history, plan_settings: _forecast_node(history, plan_settings, cache),
            ),
            Node("curves", ("spend_history",), _curves_node),
            Node(
                "allocation",
                (
                    "curves",
                    "economics",
                    "budget",
                    "history",
                    "spend_history",
                    "calendar",
                    "plan_settings",
                ),
                _allocation_node,
            ),
            Node(
                "plan",
                ("history", "forecasts", "allocation", "economics", "rates", "plan_settings"),
                _plan_node,
            ),
            Node("variance", ("history", "closed_plans", "allocation"), _variance_node),
            Node("result", ("plan", "variance"), _result_node),
        ]
    )


def _value_node(value_inputs: Mapping[str, Any]) -> pd.Series:
    """Mean CLV per customer of each segment's scored customers (attribute lens)."""
    scored = customer_value.value_customers(
        value_inputs["summary"],
        value_inputs["pnl"],
        value_inputs["attributes"],
        value_inputs["as_of"],
        settings=value_inputs["settings"],
        uncertainty=False,
    )
    attrs = value_inputs["attributes"].set_index(C.CUSTOMER_ID)
    lens = DEFAULT_LENS if DEFAULT_LENS in attrs else attrs.columns[0]
    segment = attrs[lens].reindex(scored.scores[C.CUSTOMER_ID]).fillna(pl.UNASSIGNED)
    return scored.scores[v.CLV].groupby(segment.to_numpy()).mean()


def _economics_node(
    history: pd.DataFrame, value: pd.Series, plan_settings: op.PlanSettings
) -> pd.DataFrame:
    clv = {str(segment): float(mean) for segment, mean in value.items()}
    return segment_rates(history, months=plan_settings.economics_months, clv_per_customer=clv)


def _forecast_node(
    history: pd.DataFrame, settings: op.PlanSettings, cache: FitCache
) -> pd.DataFrame:
    """Revenue and orders per segment for the horizon, model chosen by backtest (the company's
    pooled seasonal pattern among the candidates, planning.forecast.pooled_seasonal)."""
    series = {}
    for segment, g in history.groupby(C.SEGMENT, sort=True):
        index = pd.DatetimeIndex(g[C.MONTH], freq="MS")
        for metric, col in ((op.REVENUE, plan_facts.REVENUE), (op.ORDERS, plan_facts.ORDERS)):
            series[f"{segment}|{metric}"] = pd.Series(
                g[col].to_numpy(dtype=float), index=index, name=f"{segment}|{metric}"
            )
    references: dict[str, pd.Series] = {}
    for metric in (op.REVENUE, op.ORDERS):
        parts = [y for name, y in series.items() if name.endswith(f"|{metric}")]
        if len(parts) > 1:  # the company's seasonal pattern, shared with every segment
            total = pd.concat(parts, axis=1).fillna(0.0).sum(axis=1).asfreq("MS", fill_value=0.0)
            references |= {name: total for name in series if name.endswith(f"|{metric}")}
    run = fit_series(
        series, BacktestConfig(horizon=settings.horizon_months), cache=cache, references=references
    )
    rows = []
    for name, outcome in run.outcomes.items():
        segment, metric = name.rsplit("|", 1)
        fc = outcome.forecast
        rows.append(
            pd.DataFrame(
                {
                    C.SEGMENT: segment,
                    op.METRIC: metric,
                    C.MONTH: pd.to_datetime(fc["period"]),
                    "mean": fc["mean"].to_numpy(),
                    "lo95": fc["lo-95"].to_numpy(),
                    "hi95": fc["hi-95"].to_numpy(),
                    "model": fc["model"],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _curves_node(spend_history: pd.DataFrame) -> tuple[ResponseModel, ...]:
    if spend_history.empty or spend_history[C.OUTCOME].isna().all():
        return ()
    return calibration.calibrate_responses(spend_history.dropna(subset=[C.OUTCOME])).models


def _allocation_node(
    curves: tuple[ResponseModel, ...],
    economics: pd.DataFrame,
    budget: Budget,
    history: pd.DataFrame,
    spend_history: pd.DataFrame,
    calendar: Calendar,
    plan_settings: op.PlanSettings,
) -> dict[str, Any]:
    """Each planned month's program spend, optimised for net profit against its budget."""
    months = op.horizon_months(calendar.last_closed, plan_settings.horizon_months)
    bau = _business_as_usual(history)
    highest: dict[tuple[str, str], float] = {}
    if len(spend_history):
        most = spend_history.groupby([C.SEGMENT, C.PROGRAM])[C.SPEND].max()
        highest = {(str(s), str(p)): float(m) for (s, p), m in zip(most.index, most, strict=True)}
    cells = [
        _cell(model, economics, bau, budget, highest)
        for model in curves
        if model.segment in economics.index and model.program in PROGRAMS
    ]
    monthly = _monthly_budgets(budget, history, months, bau)
    solved: dict[float, al.Allocation] = {}
    rows = []
    for month, amount in monthly.items():
        key = round(amount, 2)
        if key not in solved and cells:
            problem = al.AllocationProblem(cells=tuple(cells), budget=key)
            solved[key] = al.allocate(problem)
        allocation = solved.get(key)
        if allocation is None:
            continue
        spends = _spends(allocation)
        for cell in cells:
            spend = spends[cell.key]
            extra = float(
                cell.response.curve.value(spend) - cell.response.curve.value(cell.current_spend)
            )
            rows.append((month, cell.segment, cell.program, spend, extra))
    programs = pd.DataFrame(rows, columns=[C.MONTH, C.SEGMENT, C.PROGRAM, C.SPEND, "extra"])
    first = solved.get(round(monthly.iloc[0], 2)) if len(monthly) else None
    return {
        "programs": programs,
        "budgets": monthly,
        "first": first,
        "suggestion": _suggestion(first, cells),
    }


def _spends(allocation: al.Allocation) -> dict[tuple[str, str], float]:
    frame = allocation.cells
    return {
        (str(s), str(p)): float(x)
        for s, p, x in zip(frame[C.SEGMENT], frame[C.PROGRAM], frame[C.SPEND], strict=True)
    }


def _business_as_usual(history: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Mean monthly spend of each segment x program over the last twelve closed months."""
    recent = history[history[C.MONTH] > history[C.MONTH].max() - pd.DateOffset(months=12)]
    out = {}
    for program in PROGRAMS:
        col = plan_facts.spend_column(program)
        if col in recent:
            for segment, spend in recent.groupby(C.SEGMENT)[col].mean().items():
                out[(str(segment), program)] = float(spend)
    return out


def _cell(
    model: ResponseModel,
    economics: pd.DataFrame,
    bau: Mapping[tuple[str, str], float],
    budget: Budget,
    highest: Mapping[tuple[str, str], float],
) -> al.Cell:
    """A segment x program lever priced in contribution from the segment's economics.

    A new, saved or won-back customer is worth the segment's CLV per customer; a dollar of
    cross-sell revenue its gross margin net of financing. Unless the budget sets bounds, a
    cell may spend up to :data:`EXTRAPOLATION` times its highest month on record: a curve
    says little about spend far beyond what it was calibrated on.
    """
    e = economics.loc[model.segment]
    assert isinstance(e, pd.Series)  # one row: the index holds each segment once
    if model.program == op.CROSS_SELL:
        worth = max(e["margin_rate"] - e["financing_rate"], 0.0)
    else:
        worth = max(float(e["clv_per_customer"]), 0.0)
    key = f"{model.segment}|{model.program}"
    ceiling = EXTRAPOLATION * float(highest.get((model.segment, model.program), 0.0))
    low, high = budget.bounds.get(key, (0.0, ceiling if ceiling > 0 else float("inf")))
    return al.Cell(
        segment=model.segment,
        program=model.program,
        response=model,
        value_per_unit=worth,
        min_spend=float(low),
        max_spend=float(high),
        locked=budget.locks.get(key),
        current_spend=bau.get((model.segment, model.program), 0.0),
    )


def _monthly_budgets(
    budget: Budget,
    history: pd.DataFrame,
    months: pd.DatetimeIndex,
    bau: Mapping[tuple[str, str], float],
) -> pd.Series:
    """Each planned month's budget: the year's remaining budget phased over its months left."""
    annual = budget.annual if budget.annual is not None else 12 * sum(bau.values())
    weights = np.asarray(budget.phasing, dtype=float)
    spent = (
        history.groupby(history[C.MONTH].dt.year)[plan_facts.PROGRAM_SPEND].sum()
        if plan_facts.PROGRAM_SPEND in history
        else pd.Series(dtype=float)
    )
    out = {}
    for month in months:
        year = month.year
        done = history[(history[C.MONTH].dt.year == year)][C.MONTH].dt.month.unique()
        left = [m for m in range(1, 13) if m not in done]
        remaining = max(annual - float(spent.get(year, 0.0)), 0.0)
        share = (
            weights[month.month - 1] / weights[[m - 1 for m in left]].sum()
            if weights[[m - 1 for m in left]].sum() > 0
            else 0.0
        )
        out[month] = remaining * share
    return pd.Series(out, dtype=float)


def _suggestion(allocation: al.Allocation | None, cells: list[al.Cell]) -> str:
    """The re-optimised allocation of the next month in words: the biggest moves."""
    if allocation is None or not cells:
        return "No response curves to re-optimise: import program spend with outcomes."
    moves = []
    spends = _spends(allocation)
    for cell in cells:
        change = spends[cell.key] - cell.current_spend
        if abs(change) >= 1:
            moves.append((change, cell.segment, cell.program))
    moves.sort(key=lambda m: -abs(m[0]))
    if not moves:
        return "The re-optimised allocation keeps spend where it is."
    parts = [
        f"{'add' if c > 0 else 'cut'} ${abs(c):,.0f}/month {s} {p.replace('_', '-')}"
        for c, s, p in moves[:3]
    ]
    return "Re-optimised allocation: " + "; ".join(parts) + "."


def _plan_node(
    history: pd.DataFrame,
    forecasts: pd.DataFrame,
    allocation: Mapping[str, Any],
    economics: pd.DataFrame,
    rates: Mapping[str, float],
    plan_settings: op.PlanSettings,
) -> plan_store.PlanContent:
    return op.build_plan(
        history=history,
        forecasts=forecasts,
        programs=allocation["programs"],
        economics=economics,
        rates=rates,
        settings=plan_settings,
    )


def _variance_node(
    history: pd.DataFrame, closed_plans: pd.DataFrame, allocation: Mapping[str, Any]
) -> dict[str, pd.DataFrame]:
    """Plan vs actual of the closed months that had a plan, decomposed, with alerts."""
    if closed_plans.empty:
        empty = pd.DataFrame()
        return {
            "decomposition": empty,
            "segments": empty,
            "alerts": pd.DataFrame(columns=list(plan_store.ALERT_COLUMNS)),
        }
    plan = op.plan_table(closed_plans)
    actual = actual_table(history, months=plan[C.MONTH].unique())
    keep = plan[C.MONTH].isin(actual[C.MONTH])
    plan = plan[keep]
    for col in va.DRIVERS:
        if col not in plan:
            plan[col] = 0.0
    alerts = va.variance_alerts(plan, actual, suggestions={"*": allocation["suggestion"]})
    return {
        "decomposition": va.decompose(plan, actual),
        "segments": va.segment_variance(plan, actual),
        "alerts": alerts,
    }


def actual_table(history: pd.DataFrame, months: Any = None) -> pd.DataFrame:
    """History in the plan's terms (variance drivers) for the given months."""
    h = history if months is None else history[history[C.MONTH].isin(pd.to_datetime(months))]
    return pd.DataFrame(
        {
            C.MONTH: h[C.MONTH],
            C.SEGMENT: h[C.SEGMENT],
            va.REVENUE: h[plan_facts.REVENUE],
            va.GROSS_MARGIN: h[plan_facts.GROSS_MARGIN],
            va.COST_TO_SERVE: h[plan_facts.COST_TO_SERVE],
            va.PROGRAM_SPEND: h.get(plan_facts.PROGRAM_SPEND, 0.0),
            va.FINANCING_COST: h[plan_facts.FINANCING_COST],
            va.CUSTOMERS: h[plan_facts.CLOSING],
        }
    ).reset_index(drop=True)


def _result_node(
    plan: plan_store.PlanContent, variance: Mapping[str, pd.DataFrame]
) -> plan_store.PlanContent:
    return plan_store.PlanContent(
        plan.lines,
        variance["alerts"],
        plan.last_closed_month,
        plan.horizon_start,
        plan.horizon_months,
    )


# ---------------------------------------------------------------------- shell helpers


def closed_plans(engine: Engine, last_closed: dt.date) -> pd.DataFrame:
    """For each of the last closed months, its lines from the plan made before it was known.

    That is the newest version whose last closed month was before it: the plan that had the
    month in its horizon when the month's actuals had not arrived ("the plan as we saw it").
    """
    versions = plan_store.list_versions(engine)
    loaded: dict[int, pd.DataFrame] = {}
    frames = []
    for k in range(VARIANCE_MONTHS):
        month = (pd.Timestamp(last_closed) - pd.DateOffset(months=k)).date()
        before = [v for v in versions if v.last_closed_month < month]
        if not before:
            continue
        version = before[0].id  # newest first
        if version not in loaded:
            loaded[version] = plan_store.load_lines(engine, version)
        lines = loaded[version]
        frames.append(lines[lines[C.MONTH] == pd.Timestamp(month)])
    if not frames:
        return pd.DataFrame(columns=list(plan_store.LINE_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _plan_settings(value: Mapping[str, Any] | None) -> op.PlanSettings:
    value = dict(value or {})
    hours = value.get("hours_per_activity")
    return op.PlanSettings(
        horizon_months=int(value.get("horizon_months", 12)),
        economics_months=int(value.get("economics_months", 12)),
        capacity_hours=value.get("capacity_hours"),
        **({"hours_per_activity": dict(hours)} if hours else {}),
    )


def _current_rates(engine: Engine) -> dict[str, float]:
    card = costing.read_rates(engine)
    return {a: float(history[-1][1]) for a, history in card.rates.items()}


def _last_transaction_day(engine: Engine) -> dt.date | None:
    t = schema.Transaction.__table__
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(t.c.date))).scalar()
    return None if last is None else pd.Timestamp(last).date()


def _default_reason(evaluation: Evaluation) -> str:
    ran = [r for r in evaluation.runs if r.recomputed]
    if not ran:
        return "nothing changed"
    first = ran[0]
    return f"{first.reason} -> recomputed {', '.join(r.name for r in ran)}"
