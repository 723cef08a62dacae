"""The segment forecast a plan is built on: series from the store, a model chosen per series by
backtest, and segment forecasts reconciled so they add up to the company's.

:func:`forecast_segments` is the one call: it reads the history as of a date
(:mod:`planning.forecast.series`), backtests and fits every series in parallel with a cache
(:mod:`planning.forecast.fitting`), calibrates the intervals on the backtest
(:mod:`planning.forecast.intervals`),
and — when there are segments — reconciles the forecasts by the
method (bottom-up or MinT) that was more accurate on the same backtest origins
(:mod:`planning.forecast.hierarchy`). The result carries everything a planner needs to trust it: the
history, the coherent forecast with 80/95% intervals, each series' chosen model and why, the
accuracy table, and the reconciliation's own accuracy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal, cast

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from planning.core.options import Freq, Metric
from planning.forecast.backtest import (
    BENCHMARK,
    MASE,
    ORIGIN,
    WAPE,
    BacktestConfig,
    SeriesOutcome,
    accuracy_table,
    summarize_accuracy,
)
from planning.forecast.base import MODEL, SERIES, datetime_index, season_length_of
from planning.forecast.fitting import FitCache, fit_series
from planning.forecast.hierarchy import METHOD, METHODS, Method, reconcile
from planning.forecast.intervals import calibrate, calibration_factors
from planning.forecast.series import TOTAL, build_series, last_transaction_date, to_series

USED: Final = "used"
REASON: Final = "reason"
NOTES: Final = "notes"
BENCHMARK_MASE: Final = "benchmark_mase"
NO_RECONCILIATION: Final = "none"


@dataclass(frozen=True)
class ForecastResult:
    """A coherent forecast with everything needed to judge it.

    Attributes
    ----------
    history
        ``series, period, value``: the whole periods the models saw (``"Total"`` first).
    forecast
        ``series, period, model, mean, lo-80, hi-80, lo-95, hi-95``: the forecast to use —
        reconciled, so the segments add up to the total in every period.
    base_forecast
        The same before reconciliation (each series' own model).
    models
        ``series, model, used, reason, notes, mase, wape, benchmark_mase``: the model chosen per
        series, what was fitted, why, and its backtest accuracy beside seasonal naive's.
    accuracy
        ``series, model, step, n, wape, mase, bias, coverage-80, coverage-95`` for every
        candidate on the backtest origins.
    reconciliation, reconciliation_reason, reconciliation_accuracy
        ``"bottom_up"``, ``"mint_shrink"`` or ``"none"`` (company only), why, and the backtest
        accuracy per ``method, series`` (with ``"base"`` for the unreconciled forecasts).
    shrinkage
        MinT's covariance shrinkage intensity on the whole history (None unless MinT is used).
    model_fits, refitted, seconds
        Model fits run by this call, the series refitted (the rest came from the cache), time.
    pooled_fits, pooled_seconds
        The pooled-seasonal candidate's fits and time (every segment, every call: it uses the
        company total's seasonal indices, see planning.forecast.pooled_seasonal).
    interval_factors
        ``{level: factor}`` the models' interval half-widths were multiplied by so that the
        backtest forecasts held their nominal share of actuals (planning.forecast.intervals).
    """

    metric: Metric
    freq: Freq
    lens: str | None
    as_of: dt.date
    horizon: int
    history: pd.DataFrame
    forecast: pd.DataFrame
    base_forecast: pd.DataFrame
    models: pd.DataFrame
    accuracy: pd.DataFrame
    reconciliation: str
    reconciliation_reason: str
    reconciliation_accuracy: pd.DataFrame
    shrinkage: float | None
    model_fits: int
    refitted: tuple[str, ...]
    seconds: float
    assignment: pd.DataFrame | None = None
    interval_factors: dict[int, float] = dataclasses.field(default_factory=dict)
    pooled_fits: int = 0
    pooled_seconds: float = 0.0

    @property
    def segments(self) -> list[str]:
        """Segment series names (everything but the total), in history order."""
        return [s for s in self.history[SERIES].unique() if s != TOTAL]


def forecast_segments(
    engine: Engine,
    *,
    lens: str | None,
    metric: Metric,
    freq: Freq,
    horizon: int,
    as_of: dt.date | None = None,
    assignment: pd.DataFrame | None = None,
    config: BacktestConfig | None = None,
    cache: FitCache | None = None,
    workers: int | None = None,
    pooled: bool = True,
) -> ForecastResult:
    """Forecast a metric for the company and each segment of a lens, coherently.

    Parameters
    ----------
    engine
        An open store.
    lens
        None for the company total only; an attribute lens (``size``, ``region``, ``industry``,
        ``channel``); or the name of the lens ``assignment`` comes from.
    metric
        ``"revenue"``, ``"orders"`` or ``"customers"``.
    freq
        ``"M"`` months or ``"W"`` weeks.
    horizon
        Periods to forecast after the last whole period on or before ``as_of``.
    as_of
        Use only data on or before this day (default: the last transaction date).
    assignment
        ``customer_id, segment`` for a lens that is not a customer attribute.
    config
        Candidates, backtest origins, interval levels (its horizon is replaced by ``horizon``).
    cache
        Fitted outcomes kept between calls; only series whose data changed are refitted.
    workers
        Worker processes for the fits (default: one per core).
    pooled
        Give each segment the pooled-seasonal candidate, with the company total's seasonal
        indices (:mod:`planning.forecast.pooled_seasonal`); the backtest decides whether it is used.

    Returns
    -------
    ForecastResult

    Raises
    ------
    ValueError
        For an unknown metric, frequency or lens, a horizon below 1, or a store without a whole
        period of data by ``as_of``.
    """
    if not isinstance(horizon, (int, np.integer)) or isinstance(horizon, bool) or horizon < 1:
        raise ValueError(
            f"The horizon must be a whole number of periods, 1 or more; got {horizon!r}."
        )
    config = dataclasses.replace(
        config or BacktestConfig(horizon=int(horizon)), horizon=int(horizon)
    )
    as_of = as_of or last_transaction_date(engine)
    if as_of is None:
        raise ValueError("The store holds no transactions: import some, or seed the demo.")
    history = build_series(
        engine, metric=metric, freq=freq, as_of=as_of, lens=lens, assignment=assignment
    )
    if history.empty:
        raise ValueError(
            f"No whole {'month' if freq == 'M' else 'week'} of transactions has "
            f"ended by {as_of}: nothing to forecast."
        )
    series = to_series(history, freq)
    references = (
        {name: series[TOTAL] for name in series if name != TOTAL}
        if TOTAL in series and pooled
        else None
    )
    run = fit_series(series, config, cache=cache, workers=workers, references=references)
    outcomes = run.outcomes
    raw = pd.concat([o.forecast for o in outcomes.values()], ignore_index=True)
    factors = calibration_factors(
        calibration_backtests(outcomes, series), config.levels, forecasts=raw
    )
    base = calibrate(raw, factors, nonnegative=config.nonnegative)
    accuracy = pd.concat([o.accuracy for o in outcomes.values()], ignore_index=True)
    segments = [s for s in outcomes if s != TOTAL]
    method: Method | Literal["none"]
    if segments:
        method, why, rec_accuracy = choose_reconciliation(outcomes, segments, config)
        forecast, shrinkage = reconcile(
            base,
            TOTAL,
            segments,
            method,
            {s: o.residuals for s, o in outcomes.items()},
            config.levels,
            config.nonnegative,
        )
    else:
        method, why, rec_accuracy = (
            NO_RECONCILIATION,
            "one series: nothing to add up.",
            (pd.DataFrame(columns=[METHOD, SERIES, WAPE, MASE])),
        )
        forecast, shrinkage = base.copy(), None
    return ForecastResult(
        metric=metric,
        freq=freq,
        lens=lens,
        as_of=as_of,
        horizon=int(horizon),
        history=history,
        forecast=forecast,
        base_forecast=base,
        models=_models_table(outcomes, config),
        accuracy=accuracy,
        reconciliation=method,
        reconciliation_reason=why,
        reconciliation_accuracy=rec_accuracy,
        shrinkage=shrinkage if method == "mint_shrink" else None,
        model_fits=run.model_fits,
        refitted=run.refitted,
        seconds=run.seconds,
        pooled_fits=run.pooled_fits,
        pooled_seconds=run.pooled_seconds,
        assignment=None if assignment is None else assignment.copy(),
        interval_factors=factors,
    )


def calibration_backtests(
    outcomes: dict[str, SeriesOutcome], series: dict[str, pd.Series]
) -> list[pd.DataFrame]:
    """The chosen models' backtest rows the intervals can be calibrated on.

    A miss is measured against the final forecast's half-width at the same step
    (:func:`planning.forecast.intervals.calibration_factors` with ``forecasts``), and only backtests
    whose every origin had two full seasons are used: from a shorter origin the models fit
    non-seasonal forms whose errors say little about the final, seasonal ones (split-conformal
    calibration needs errors exchangeable with the forecast's). On twelve simulated demo
    companies, 12 months ahead from 24 months of history (one origin at 13 months), calibrating
    on them gave 87%/98% coverage of 80%/95% intervals — 66%/85% measured against the origin
    models' own half-widths — and the models' own intervals 79%/91%
    (benchmarks/bench_forecast_windows.py).
    """
    frames = []
    for name, o in outcomes.items():
        if o.backtest.empty or o.candidates is None or not o.candidates.ends:
            continue
        m = season_length_of(datetime_index(series[name]))
        if m >= 2 and min(o.candidates.ends) < 2 * m:
            continue
        frames.append(o.backtest[o.backtest[MODEL] == o.chosen])
    return frames


def choose_reconciliation(
    outcomes: dict[str, SeriesOutcome], segments: list[str], config: BacktestConfig
) -> tuple[Method, str, pd.DataFrame]:
    """Backtest bottom-up and MinT on the chosen models' backtest forecasts; pick the better.

    At every origin the chosen models' forecasts are reconciled with the residuals each model
    had at that origin, then scored against the actuals. The method with the lower mean MASE
    over all series wins (bottom-up on a tie, or when nothing could be held out).

    Returns
    -------
    (method, reason, DataFrame)
        The accuracy frame has ``method, series, n, wape, mase, bias, coverage-*``, with
        ``"base"`` for the unreconciled forecasts.
    """
    names = [TOTAL, *segments]
    chosen = pd.concat(
        [
            o.backtest[o.backtest[MODEL] == o.chosen]
            for o in outcomes.values()
            if not o.backtest.empty
        ],
        ignore_index=True,
    )
    if chosen.empty or chosen[SERIES].nunique() < len(names):
        return (
            "bottom_up",
            ("The history is too short to backtest the reconciliation: bottom-up is used."),
            pd.DataFrame(columns=[METHOD, SERIES]),
        )
    frames = {"base": chosen}
    for candidate in METHODS:
        parts = []
        for origin, at_origin in chosen.groupby(ORIGIN, sort=True):
            # ORIGIN holds the origins' period starts (datetime64): the group keys are Timestamps.
            at = cast(pd.Timestamp, origin)
            residuals = {s: outcomes[s].origin_residuals[at] for s in names}
            parts.append(
                reconcile(
                    at_origin,
                    TOTAL,
                    segments,
                    candidate,
                    residuals,
                    config.levels,
                    config.nonnegative,
                    extra_keys=[ORIGIN],
                )[0]
            )
        frames[candidate] = pd.concat(parts, ignore_index=True)
    tables = []
    for label_of_frame, frame in frames.items():
        summary = summarize_accuracy(accuracy_table(frame, config.levels), config.levels)
        tables.append(summary.drop(columns=MODEL).assign(**{METHOD: label_of_frame}))
    table = pd.concat(tables, ignore_index=True)
    table = table[[METHOD, *[c for c in table.columns if c != METHOD]]]
    score = table.groupby(METHOD)[MASE].mean()
    method: Method = "mint_shrink" if score["mint_shrink"] < score["bottom_up"] else "bottom_up"
    other: Method = "bottom_up" if method == "mint_shrink" else "mint_shrink"
    label = {"bottom_up": "bottom-up", "mint_shrink": "MinT"}
    reason = (
        f"{label[method]} had the lower mean backtest MASE over the {len(names)} series "
        f"({score[method]:.2f} vs {label[other]} {score[other]:.2f}; "
        f"unreconciled {score['base']:.2f})."
    )
    return method, reason, table


def _models_table(outcomes: dict[str, SeriesOutcome], config: BacktestConfig) -> pd.DataFrame:
    rows = []
    for name, o in outcomes.items():
        summary = summarize_accuracy(o.accuracy, config.levels).set_index(MODEL)
        has_row = o.chosen in summary.index
        rows.append(
            {
                SERIES: name,
                MODEL: o.chosen,
                USED: o.used,
                REASON: o.reason,
                NOTES: "; ".join(o.notes),
                MASE: float(summary[MASE].loc[o.chosen]) if has_row else np.nan,
                WAPE: float(summary[WAPE].loc[o.chosen]) if has_row else np.nan,
                BENCHMARK_MASE: float(summary[MASE].loc[BENCHMARK])
                if BENCHMARK in summary.index
                else np.nan,
            }
        )
    return pd.DataFrame(rows)
