"""Model choice by rolling-origin backtest, not by in-sample fit.

For each series, every candidate model is fitted on the history up to a forecast origin and
forecasts the planning horizon; the origin then rolls forward (Tashman 2000). Each model is
fitted once, at the earliest origin, and carried to the later ones with its parameters fixed
(:class:`planning.forecast.base.Updatable`), refitting only where the longer history allows a
richer form; this keeps a backtest to about one fit per model. The errors against the actuals
that followed each origin give the accuracy table — per series, model and horizon step:

- WAPE: sum |forecast - actual| / sum |actual|;
- MASE: mean of |forecast - actual| / scale, with the scale the in-sample mean absolute error of
  the seasonal naive forecast at that origin (lag 1 when there is not more than one season;
  Hyndman & Koehler 2006), so 1.0 means "as good as repeating last year";
- bias: sum (forecast - actual) / sum |actual| (positive: over-forecast);
- coverage at each interval level: the share of actuals inside the interval.

By default the forecast is the equal-weight combination of a *pool* of candidates, its
intervals the average of the members' bounds (Lichtendahl, Grushka-Cockayne & Winkler 2013).
The backtest decides who is left out, not who is in: every candidate whose backtest MASE is
not an outlier among the candidates' — not above Tukey's upper fence, Q3 + 1.5 IQR — is
pooled. With a backtest of a few origins on two or three years of history, ranking similar
models mostly ranks noise: picking the single best is the least accurate rule, the best few is
better, and the whole pool less the clear failures is better still (Hibon & Evgeniou 2005;
Kourentzes, Barrow & Petropoulos 2019, forecast pooling; the "forecast combination puzzle" of
equal weights, Smith & Wallis 2009). On twelve simulated demo companies, every 3-month window
after two years, the segments' MASE was 8% better than seasonal naive's with the single best,
11% with the best two, 14% with the best three and 19% with the pool
(benchmarks/bench_forecast_windows.py measures it). ``selection="combination"`` combines the
``combine`` best instead, ``selection="best"`` picks the lowest-MASE single model or
combination. The chosen models are then refitted on the whole series.

References
----------
Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and review.
    International Journal of Forecasting 16(4), 437-450.
Hyndman, R. J. & Koehler, A. B. (2006). Another look at measures of forecast accuracy.
    International Journal of Forecasting 22(4), 679-688.
Hibon, M. & Evgeniou, T. (2005). To combine or not to combine: selecting among forecasts and
    their combinations. International Journal of Forecasting 21(1), 15-24.
Kourentzes, N., Barrow, D. & Petropoulos, F. (2019). Another look at forecast selection and
    combination: evidence from forecast pooling. International Journal of Production Economics
    209, 226-235.
Smith, J. & Wallis, K. F. (2009). A simple explanation of the forecast combination puzzle.
    Oxford Bulletin of Economics and Statistics 71(3), 331-355.
Lichtendahl, K. C., Grushka-Cockayne, Y. & Winkler, R. L. (2013). Is it better to average
    probabilities or quantiles? Management Science 59(7), 1594-1611.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pandas as pd

from planning.core import columns as C
from planning.forecast.base import (
    LEVELS,
    MEAN,
    MODEL,
    PERIOD,
    SERIES,
    Bounds,
    Forecaster,
    Updatable,
    check_series,
    datetime_index,
    hi,
    lo,
    season_length_of,
)
from planning.forecast.models import ETS_MIN_POINTS, MODEL_NAMES, make_forecaster

ORIGIN: Final = "origin"
STEP: Final = C.STEP
ACTUAL: Final = C.ACTUAL
SCALE: Final = "scale"
WAPE: Final = "wape"
MASE: Final = "mase"
BIAS: Final = "bias"
N: Final = "n"
COMBO_PREFIX: Final = "combo:"
DEFAULT_MODELS: Final = ("seasonal_naive", "ets", "arima", "theta")
BENCHMARK: Final = "seasonal_naive"
Selection = Literal["pool", "combination", "best"]
OUTLIER_IQR: Final = 1.5  # Tukey's fences: a MASE above Q3 + 1.5 IQR is an outlier


TITLES: Final = {
    "seasonal_naive": "seasonal naive",
    "naive": "naive",
    "pooled_seasonal": "company seasonality with SES",
    "pooled_theta": "company seasonality with Theta",
    "pooled_damped": "company seasonality with a damped trend",
}


def title(model: str) -> str:
    """A candidate's name as a reason sentence says it: ``pooled_theta`` -> ``company
    seasonality with Theta``, ``ets`` -> ``ETS``."""
    return TITLES.get(model, model.upper() if model in ("ets", "arima") else model.title())


def coverage(level: int) -> str:
    """Name of the interval coverage column at ``level`` percent: ``coverage-80``."""
    return f"coverage-{level}"


@dataclass(frozen=True)
class BacktestConfig:
    """How series are backtested and forecast.

    ``origins`` forecast origins ``step`` periods apart (default half the evaluated horizon),
    the last one ``horizon`` periods before the end. ``selection`` ``"pool"`` (the default)
    uses the equal-weight mean of every candidate whose backtest MASE is not an outlier (see
    the module notes); ``"combination"`` the mean of the ``combine`` candidates with the
    lowest backtest MASE; ``"best"`` the single candidate or that combination, whichever has
    the lower MASE (``combine`` < 2: singles only). ``nonnegative`` clips forecasts and bounds at 0
    (revenue, orders and customers cannot be negative in a period worth planning).
    """

    horizon: int
    origins: int = 3
    step: int | None = None
    models: tuple[str, ...] = DEFAULT_MODELS
    combine: int = 3
    selection: Selection = "pool"
    levels: tuple[int, ...] = LEVELS
    nonnegative: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.horizon, int) or self.horizon < 1:
            raise ValueError(f"The horizon must be 1 period or more, got {self.horizon!r}.")
        if self.origins < 1:
            raise ValueError(f"Backtest origins must be 1 or more, got {self.origins}.")
        unknown = [m for m in self.models if m not in MODEL_NAMES]
        if unknown or not self.models:
            raise ValueError(f"Unknown model(s) {unknown}: use some of {', '.join(MODEL_NAMES)}.")
        if self.selection not in ("pool", "combination", "best"):
            raise ValueError(
                f"Unknown selection '{self.selection}': use pool, combination or best."
            )
        if any(not 0 < lv < 100 for lv in self.levels):
            raise ValueError(f"Interval levels must lie between 0 and 100, got {self.levels}.")


@dataclass(frozen=True)
class SeriesOutcome:
    """One series backtested, its model chosen and refitted on the whole history.

    ``forecast`` is the long frame of :data:`planning.forecast.base.FORECAST_COLUMNS` with the
    chosen model's name in ``model``; ``backtest`` holds every candidate's forecasts at every
    origin beside the actuals; ``accuracy`` is :func:`accuracy_table` of it; ``residuals`` are
    the chosen model's in-sample one-step errors on the whole history, ``origin_residuals``
    the same at each backtest origin (what MinT reconciliation is backtested with).
    ``candidates`` keeps what the choice was made from (:class:`Candidates`), ``added_fits``
    the fits of candidates added by :func:`add_candidate`.
    """

    series: str
    chosen: str
    used: str
    reason: str
    notes: tuple[str, ...]
    forecast: pd.DataFrame
    backtest: pd.DataFrame
    accuracy: pd.DataFrame
    residuals: np.ndarray
    model_fits: int
    ranking: dict[str, float] = field(default_factory=dict)
    origin_residuals: dict[pd.Timestamp, np.ndarray] = field(default_factory=dict)
    candidates: Candidates | None = None
    added_fits: int = 0


def plan_origins(
    n: int, horizon: int, season: int, origins: int, step: int | None
) -> tuple[list[int], int]:
    """Training lengths of the backtest origins (ascending) and the horizon they evaluate.

    Every origin keeps as much history as the forecast from the end will have in form: two
    full seasons when the series has them and a period more (seasonal ETS and Theta need two
    seasons; a backtest on shorter histories would judge them in a non-seasonal form they will
    not have at the end), else a season and one more (so seasonal naive is judged as seasonal
    naive, not as its naive fallback), else ``max(10, n // 2 + 1)`` periods; when that leaves fewer
    than ``horizon`` periods after it, the evaluated horizon
    shrinks. Empty when the series is too short to hold anything out.
    """
    if season >= 2 and n > 2 * season:
        min_train = 2 * season
    elif season >= 2 and n > season + 1:
        min_train = season + 1
    else:
        min_train = max(ETS_MIN_POINTS, n // 2 + 1)
    h_eval = min(horizon, n - min_train)
    if h_eval < 1:
        return [], 0
    step = step or max(1, math.ceil(h_eval / 2))
    ends = [n - h_eval - k * step for k in range(origins)]
    return sorted(e for e in ends if e >= min_train), h_eval


def mase_scale(values: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast (lag 1 within the first season); NaN if 0."""
    lag = season if len(values) > season >= 2 else 1
    if len(values) <= lag:
        return math.nan
    scale = float(np.mean(np.abs(values[lag:] - values[:-lag])))
    if scale == 0 and lag != 1:
        scale = float(np.mean(np.abs(np.diff(values))))
    return scale if scale > 0 else math.nan


def _clip_arrays(
    mean: np.ndarray, bounds: dict[int, tuple[np.ndarray, np.ndarray]], config: BacktestConfig
) -> Bounds:
    if not config.nonnegative:
        return mean, bounds
    return np.maximum(mean, 0.0), {
        lv: (np.maximum(a, 0.0), np.maximum(b, 0.0)) for lv, (a, b) in bounds.items()
    }


def _clip(frame: pd.DataFrame, config: BacktestConfig) -> pd.DataFrame:
    if config.nonnegative:
        for col in (MEAN, *(c for lv in config.levels for c in (lo(lv), hi(lv)))):
            frame[col] = np.maximum(frame[col].to_numpy(), 0.0)
    return frame


@dataclass(frozen=True)
class _Block:
    """One model's backtest as ``origins x steps`` arrays."""

    mean: np.ndarray
    bounds: dict[int, tuple[np.ndarray, np.ndarray]]

    def mase(self, actual: np.ndarray, scale: np.ndarray) -> float:
        scaled = np.abs(self.mean - actual) / scale[:, None]
        finite = scaled[np.isfinite(scaled)]
        return float(finite.mean()) if finite.size == scaled.size and finite.size else math.nan


@dataclass(frozen=True)
class Backtest:
    """Every candidate's forecasts at every origin beside the actuals (``frame``: ``series,
    origin, period, step, model, mean, lo-*, hi-*, actual, scale``, ``origin`` the last
    training period), each model's in-sample one-step errors at each origin (``residuals``),
    and the number of model fits run (updates not counted)."""

    frame: pd.DataFrame
    residuals: dict[str, dict[pd.Timestamp, np.ndarray]]
    fits: int


def _forecast_arrays(model: Forecaster, h: int, levels: tuple[int, ...]) -> Bounds:
    arrays = getattr(model, "forecast_arrays", None)
    if arrays is not None:
        return arrays(h, levels)
    frame = model.forecast(h, levels)
    return (
        frame[MEAN].to_numpy(),
        {lv: (frame[lo(lv)].to_numpy(), frame[hi(lv)].to_numpy()) for lv in levels},
    )


def _run_blocks(
    y: pd.Series, config: BacktestConfig
) -> tuple[
    dict[str, _Block],
    np.ndarray,
    np.ndarray,
    list[int],
    int,
    dict[str, dict[pd.Timestamp, np.ndarray]],
    int,
]:
    m = season_length_of(datetime_index(y))
    ends, h_eval = plan_origins(len(y), config.horizon, m, config.origins, config.step)
    values, fits = y.to_numpy(), 0
    actual = np.array([values[e : e + h_eval] for e in ends]).reshape(len(ends), h_eval)
    scale = np.array([mase_scale(values[:e], m) for e in ends])
    blocks: dict[str, _Block] = {}
    residuals: dict[str, dict[pd.Timestamp, np.ndarray]] = {}
    for name in config.models:
        model: Forecaster | None = None
        means: list[np.ndarray] = []
        bounds: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {
            lv: ([], []) for lv in config.levels
        }
        for end in ends:
            train = y.iloc[:end]
            if model is not None and isinstance(model, Updatable):
                model = model.update(train)
            else:
                model, fits = make_forecaster(name, seed=config.seed).fit(train), fits + 1
            mean, b = _clip_arrays(*_forecast_arrays(model, h_eval, config.levels), config)
            means.append(mean)
            for lv in config.levels:
                bounds[lv][0].append(b[lv][0])
                bounds[lv][1].append(b[lv][1])
            residuals.setdefault(name, {})[y.index[end - 1]] = np.array(model.residuals)
        if ends:
            blocks[name] = _Block(
                np.array(means), {lv: (np.array(a), np.array(b)) for lv, (a, b) in bounds.items()}
            )
    return blocks, actual, scale, ends, h_eval, residuals, fits


def _blocks_frame(
    y: pd.Series,
    blocks: dict[str, _Block],
    actual: np.ndarray,
    scale: np.ndarray,
    ends: list[int],
    h: int,
    levels: tuple[int, ...],
) -> pd.DataFrame:
    k, n_models = len(ends), len(blocks)
    if not k or not n_models:
        return pd.DataFrame()
    index = y.index
    periods = np.array([index.to_numpy()[e : e + h] for e in ends]).ravel()
    columns = {
        SERIES: np.full(n_models * k * h, str(y.name), dtype=object),
        ORIGIN: np.tile(np.repeat(index.to_numpy()[np.array(ends) - 1], h), n_models),
        PERIOD: np.tile(periods, n_models),
        STEP: np.tile(np.arange(1, h + 1), n_models * k),
        MODEL: np.repeat(np.array(list(blocks), dtype=object), k * h),
        MEAN: np.concatenate([b.mean.ravel() for b in blocks.values()]),
    }
    for lv in levels:
        columns[lo(lv)] = np.concatenate([b.bounds[lv][0].ravel() for b in blocks.values()])
        columns[hi(lv)] = np.concatenate([b.bounds[lv][1].ravel() for b in blocks.values()])
    columns[ACTUAL] = np.tile(actual.ravel(), n_models)
    columns[SCALE] = np.tile(np.repeat(scale, h), n_models)
    return pd.DataFrame(columns)


def run_backtest(y: pd.Series, config: BacktestConfig) -> Backtest:
    """Forecast the horizon from each backtest origin with every candidate model."""
    y = check_series(y)
    blocks, actual, scale, ends, h, residuals, fits = _run_blocks(y, config)
    return Backtest(
        _blocks_frame(y, blocks, actual, scale, ends, h, config.levels), residuals, fits
    )


def accuracy_table(backtest: pd.DataFrame, levels: tuple[int, ...] = LEVELS) -> pd.DataFrame:
    """WAPE, MASE, bias and interval coverage per series, model and horizon step.

    Parameters
    ----------
    backtest
        ``series, model, step, mean, actual, scale`` and ``lo-L, hi-L`` for each level, as
        from :func:`run_backtest`.

    Returns
    -------
    DataFrame
        ``series, model, step, n, wape, mase, bias, coverage-L...`` (NaN where undefined: WAPE
        and bias when every actual is 0, MASE when the series never changed).
    """
    if backtest.empty:
        return pd.DataFrame(
            columns=[SERIES, MODEL, STEP, N, WAPE, MASE, BIAS, *(coverage(lv) for lv in levels)]
        )
    frame = backtest.assign(
        _err=backtest[MEAN] - backtest[ACTUAL],
        _abs=(backtest[MEAN] - backtest[ACTUAL]).abs(),
        _act=backtest[ACTUAL].abs(),
        _scaled=(backtest[MEAN] - backtest[ACTUAL]).abs() / backtest[SCALE],
        **{
            f"_in{lv}": (
                (backtest[ACTUAL] >= backtest[lo(lv)]) & (backtest[ACTUAL] <= backtest[hi(lv)])
            ).astype(float)
            for lv in levels
        },
    )
    sums = frame.groupby([SERIES, MODEL, STEP], sort=False).agg(
        n=(ACTUAL, "size"),
        err=("_err", "sum"),
        abs=("_abs", "sum"),
        act=("_act", "sum"),
        mase=("_scaled", "mean"),
        **{coverage(lv): (f"_in{lv}", "mean") for lv in levels},
    )
    out = pd.DataFrame(
        {
            N: sums["n"],
            WAPE: (sums["abs"] / sums["act"]).where(sums["act"] > 0),
            MASE: sums["mase"],
            BIAS: (sums["err"] / sums["act"]).where(sums["act"] > 0),
            **{coverage(lv): sums[coverage(lv)] for lv in levels},
        }
    )
    return out.reset_index()


def summarize_accuracy(accuracy: pd.DataFrame, levels: tuple[int, ...] = LEVELS) -> pd.DataFrame:
    """One row per series and model: the accuracy table averaged over horizon steps.

    Each step is weighted by its number of forecasts ``n``.
    """
    cols = [WAPE, MASE, BIAS, *(coverage(lv) for lv in levels)]
    if accuracy.empty:
        return pd.DataFrame(columns=[SERIES, MODEL, N, *cols])
    weighted = (
        accuracy[cols]
        .mul(accuracy[N], axis=0)
        .assign(**{SERIES: accuracy[SERIES], MODEL: accuracy[MODEL], N: accuracy[N]})
    )
    sums = weighted.groupby([SERIES, MODEL], sort=False).sum(min_count=1)
    for col in cols:
        sums[col] = sums[col] / sums[N]
    return sums.reset_index()[[SERIES, MODEL, N, *cols]]


def _combine(frames: list[pd.DataFrame], name: str) -> pd.DataFrame:
    """Equal-weight mean of forecasts and of their interval bounds (quantile averaging).

    The frames cover the same series and periods in the same order.
    """
    out = frames[0].copy()
    numeric = [c for c in out.columns if c not in (SERIES, PERIOD, MODEL)]
    out[numeric] = np.mean([f[numeric].to_numpy(dtype=np.float64) for f in frames], axis=0)
    out[MODEL] = name
    return out


def _combine_blocks(blocks: list[_Block]) -> _Block:
    levels = list(blocks[0].bounds)
    return _Block(
        np.mean([b.mean for b in blocks], axis=0),
        {
            lv: (
                np.mean([b.bounds[lv][0] for b in blocks], axis=0),
                np.mean([b.bounds[lv][1] for b in blocks], axis=0),
            )
            for lv in levels
        },
    )


def _block_accuracy(
    series: str,
    blocks: dict[str, _Block],
    actual: np.ndarray,
    scale: np.ndarray,
    levels: tuple[int, ...],
) -> pd.DataFrame:
    """:func:`accuracy_table` computed on the origins x steps arrays directly."""
    rows: dict[str, list] = {c: [] for c in (SERIES, MODEL, STEP, N, WAPE, MASE, BIAS)}
    cover: dict[int, list] = {lv: [] for lv in levels}
    k, h = actual.shape
    act = np.abs(actual).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        for model, b in blocks.items():
            err = b.mean - actual
            rows[SERIES] += [series] * h
            rows[MODEL] += [model] * h
            rows[STEP] += list(range(1, h + 1))
            rows[N] += [k] * h
            rows[WAPE] += list(np.where(act > 0, np.abs(err).sum(axis=0) / act, np.nan))
            rows[MASE] += list((np.abs(err) / scale[:, None]).mean(axis=0))
            rows[BIAS] += list(np.where(act > 0, err.sum(axis=0) / act, np.nan))
            for lv in levels:
                low, high = b.bounds[lv]
                cover[lv] += list(((actual >= low) & (actual <= high)).mean(axis=0))
    return pd.DataFrame(rows | {coverage(lv): cover[lv] for lv in levels})


@dataclass(frozen=True)
class Fitted:
    """One candidate fitted on the whole history: its forecast (clipped), what was fitted,
    why, and its in-sample one-step errors."""

    forecast: pd.DataFrame
    used: str
    notes: tuple[str, ...]
    residuals: np.ndarray


@dataclass(frozen=True)
class Candidates:
    """Everything a choice among candidates is made from, kept so that a candidate added later
    (:func:`add_candidate`) can be judged on the same origins without refitting the others:
    each candidate's backtest block, the actuals and MASE scales at the origins, each
    candidate's in-sample errors at each origin, the whole-history fits of the candidates that
    can still be chosen, and the model fits run (updates not counted)."""

    blocks: dict[str, _Block]
    actual: np.ndarray
    scale: np.ndarray
    ends: list[int]
    h: int
    origin_residuals: dict[str, dict[pd.Timestamp, np.ndarray]]
    fitted: dict[str, Fitted]
    fits: int


def _fit_whole(y: pd.Series, forecaster: Forecaster, config: BacktestConfig) -> Fitted:
    fitted = forecaster.fit(y)
    return Fitted(
        _clip(fitted.forecast(config.horizon, config.levels), config),
        fitted.used,
        tuple(fitted.notes),
        np.array(fitted.residuals),
    )


def _ranking(blocks: dict[str, _Block], actual: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    ranking = {mod: b.mase(actual, scale) for mod, b in blocks.items()}
    return {mod: v for mod, v in ranking.items() if np.isfinite(v)}


def _order(config: BacktestConfig, names: list[str]) -> list[str]:
    """Tie-break order: the configured models, then candidates added later."""
    return [*config.models, *(n for n in names if n not in config.models)]


def _top(ranking: dict[str, float], order: list[str], k: int) -> list[str]:
    return sorted(ranking, key=lambda mod: (ranking[mod], order.index(mod)))[:k]


def pool_members(ranking: dict[str, float], order: list[str]) -> tuple[list[str], float]:
    """The candidates pooled (best first) and the fence they are under.

    A candidate is left out when its backtest MASE lies above Tukey's upper fence,
    Q3 + 1.5 IQR of all the candidates' MASEs; with fewer than four candidates the quartiles
    say nothing and all are pooled (fence infinite).
    """
    ranked = _top(ranking, order, len(ranking))
    if len(ranked) < 4:
        return ranked, math.inf
    q1, q3 = np.percentile([ranking[m] for m in ranked], [25, 75])
    fence = float(q3 + OUTLIER_IQR * (q3 - q1))
    return [m for m in ranked if ranking[m] <= fence], fence


def select_and_forecast(y: pd.Series, config: BacktestConfig) -> SeriesOutcome:
    """Backtest the candidates on ``y``, choose by mean MASE, refit and forecast the horizon.

    The candidates that can still be chosen — all of them for the pool, else the ``combine``
    with the lowest backtest MASE (one when ``combine`` < 2) — are fitted on the whole series
    and kept in :attr:`SeriesOutcome.candidates`, so a candidate added later can displace one of
    them
    without refitting the rest.

    Parameters
    ----------
    y
        One series of whole periods (see :func:`planning.forecast.series.to_series`); its name names
        the series in every frame returned.
    config
        Candidates, horizon, origins, interval levels.

    Returns
    -------
    SeriesOutcome
        The chosen model, why, its forecast, the backtest and accuracy of every candidate.
    """
    y = check_series(y)
    y.name = str(y.name)
    blocks, actual, scale, ends, h, origin_res, fits = _run_blocks(y, config)
    ranking = _ranking(blocks, actual, scale)
    keep = _top(
        ranking,
        list(config.models),
        len(ranking) if config.selection == "pool" else max(config.combine, 1),
    ) or [BENCHMARK if BENCHMARK in config.models else config.models[0]]
    fitted = {mod: _fit_whole(y, make_forecaster(mod, seed=config.seed), config) for mod in keep}
    return _outcome(
        y,
        config,
        Candidates(blocks, actual, scale, ends, h, origin_res, fitted, fits + len(fitted)),
    )


def add_candidate(
    outcome: SeriesOutcome,
    y: pd.Series,
    forecaster: Callable[[], Forecaster],
    config: BacktestConfig,
) -> SeriesOutcome:
    """``outcome`` chosen again with one more candidate, backtested on the same origins.

    Parameters
    ----------
    outcome
        From :func:`select_and_forecast` on ``y`` with ``config``.
    forecaster
        Makes a fresh, unfitted forecaster (its ``name`` names the candidate). It is fitted
        at every origin and on the whole series; the other candidates are not refitted.

    Returns
    -------
    SeriesOutcome
        A new outcome; ``outcome`` is left as it was (it may live in a cache), and is returned
        as it is when the candidate falls back to a simpler model at a backtest origin (its
        ``fell_back`` attribute), since its backtest would judge another model. Its
        ``model_fits`` counts only the fits of the other candidates; the added candidate's are
        in ``added_fits``.
    """
    return add_candidates(outcome, y, [forecaster], config)


def add_candidates(
    outcome: SeriesOutcome,
    y: pd.Series,
    forecasters: Sequence[Callable[[], Forecaster]],
    config: BacktestConfig,
) -> SeriesOutcome:
    """:func:`add_candidate` for several candidates, choosing once after all are backtested;
    a candidate that falls back at an origin is left out, the others still join."""
    cands = outcome.candidates
    if cands is None or not cands.ends:
        return outcome
    y = check_series(y)
    y.name = str(y.name)
    blocks, fitted = dict(cands.blocks), dict(cands.fitted)
    origin_residuals = dict(cands.origin_residuals)
    added = 0
    for forecaster in forecasters:
        found = _backtest_candidate(y, forecaster, cands, config)
        if found is None:
            continue
        name, block, residuals = found
        blocks[name], origin_residuals[name] = block, residuals
        fitted[name] = _fit_whole(y, forecaster(), config)
        added += len(cands.ends) + 1
    if not added:
        return outcome
    more = dataclasses.replace(
        cands, blocks=blocks, fitted=fitted, origin_residuals=origin_residuals
    )
    return dataclasses.replace(_outcome(y, config, more), added_fits=outcome.added_fits + added)


def _backtest_candidate(
    y: pd.Series, forecaster: Callable[[], Forecaster], cands: Candidates, config: BacktestConfig
) -> tuple[str, _Block, dict[pd.Timestamp, np.ndarray]] | None:
    """A candidate's block and in-sample errors at the origins of ``cands``; None when it
    falls back to a simpler model at one of them (plan_origins keeps the others in their final
    form, so its backtest would score that form, not this model)."""
    means: list[np.ndarray] = []
    bounds: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {
        lv: ([], []) for lv in config.levels
    }
    residuals: dict[pd.Timestamp, np.ndarray] = {}
    name = ""
    for end in cands.ends:
        model = forecaster().fit(y.iloc[:end])
        name = model.name
        if getattr(model, "fell_back", False):
            return None
        mean, b = _clip_arrays(*_forecast_arrays(model, cands.h, config.levels), config)
        means.append(mean)
        for lv in config.levels:
            bounds[lv][0].append(b[lv][0])
            bounds[lv][1].append(b[lv][1])
        residuals[y.index[end - 1]] = np.array(model.residuals)
    block = _Block(
        np.array(means), {lv: (np.array(a), np.array(c)) for lv, (a, c) in bounds.items()}
    )
    return name, block, residuals


def _outcome(y: pd.Series, config: BacktestConfig, cands: Candidates) -> SeriesOutcome:
    """Rank the candidates, form the combination, choose, and assemble the outcome."""
    name = str(y.name)
    blocks = dict(cands.blocks)
    order = _order(config, list(blocks))
    ranking = _ranking(blocks, cands.actual, cands.scale)
    best = _top(ranking, order, len(ranking))
    if config.selection == "pool":
        members, fence = pool_members(ranking, order)
    else:
        members, fence = best[: config.combine] if config.combine >= 2 else [], math.nan
    if len(members) >= 2:
        combo = COMBO_PREFIX + "+".join(members)
        blocks[combo] = _combine_blocks([blocks[mod] for mod in members])
        if np.isfinite(score := blocks[combo].mase(cands.actual, cands.scale)):
            ranking[combo] = score
    backtest = _blocks_frame(
        y, blocks, cands.actual, cands.scale, cands.ends, cands.h, config.levels
    )
    accuracy = (
        _block_accuracy(name, blocks, cands.actual, cands.scale, config.levels)
        if blocks
        else accuracy_table(backtest, config.levels)
    )
    chosen, reason = _choose(ranking, config, len(y), len(cands.ends), cands.h, order, fence)
    members = (
        chosen[len(COMBO_PREFIX) :].split("+") if chosen.startswith(COMBO_PREFIX) else [chosen]
    )
    fitted = [cands.fitted[mod] for mod in members]
    frames = [f.forecast for f in fitted]
    forecast = frames[0].copy() if len(frames) == 1 else _combine(frames, chosen)
    forecast[MODEL] = chosen
    origin_residuals = {
        origin: _mean_of([cands.origin_residuals[mod][origin] for mod in members])
        for origin in cands.origin_residuals.get(members[0], {})
    }
    return SeriesOutcome(
        series=name,
        chosen=chosen,
        used=" + ".join(f.used for f in fitted),
        reason=reason,
        notes=tuple(dict.fromkeys(n for f in fitted for n in f.notes)),
        forecast=forecast,
        backtest=backtest,
        accuracy=accuracy,
        residuals=_mean_of([f.residuals for f in fitted]),
        model_fits=cands.fits,
        ranking=ranking,
        origin_residuals=origin_residuals,
        candidates=cands,
    )


def _mean_of(arrays: list[np.ndarray]) -> np.ndarray:
    """Element-wise mean ignoring NaN (NaN where every array is NaN), without a warning."""
    stacked = np.vstack(arrays)
    count = (~np.isnan(stacked)).sum(axis=0)
    total = np.nansum(stacked, axis=0)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def _choose(
    ranking: dict[str, float],
    config: BacktestConfig,
    n: int,
    origins: int,
    steps: int,
    order: list[str],
    fence: float = math.nan,
) -> tuple[str, str]:
    fallback = BENCHMARK if BENCHMARK in config.models else config.models[0]
    if not ranking:
        why = (
            "too short to hold anything out"
            if not origins
            else "no candidate has a finite backtest MASE (the series never changes)"
        )
        return fallback, f"{n} periods, {why}: {title(fallback)} is used."
    order = [*order, *(m for m in ranking if m.startswith(COMBO_PREFIX))]
    combos = [m for m in ranking if m.startswith(COMBO_PREFIX)]
    over = (
        f" over {origins} origin{'s' if origins != 1 else ''} x {steps} "
        f"step{'s' if steps != 1 else ''}"
    )
    singles = [m for m in ranking if not m.startswith(COMBO_PREFIX)]
    left_out = ""
    if config.selection == "pool" and combos:
        chosen = combos[0]
        members = chosen[len(COMBO_PREFIX) :].split("+")
        out = [
            m
            for m in _top({m: ranking[m] for m in singles}, order, len(singles))
            if m not in members
        ]
        reason = (
            f"mean of the {len(members)} models whose backtest MASE is not an outlier ("
            + ", ".join(f"{title(m)} {ranking[m]:.2f}" for m in members)
            + f"), MASE {ranking[chosen]:.2f}{over}"
        )
        if out:
            left_out = f"; left out, above the fence of {fence:.2f}: " + ", ".join(
                f"{title(m)} {ranking[m]:.2f}" for m in out
            )
    elif config.selection == "pool":
        chosen = min(ranking, key=lambda mod: (ranking[mod], order.index(mod)))
        reason = f"lowest backtest MASE {ranking[chosen]:.2f}{over}"
    elif config.selection == "combination" and combos:
        chosen = combos[0]
        members = chosen[len(COMBO_PREFIX) :].split("+")
        reason = (
            f"mean of the {len(members)} models with the lowest backtest MASE ("
            + ", ".join(f"{title(m)} {ranking[m]:.2f}" for m in members)
            + f"), MASE {ranking[chosen]:.2f}{over}"
        )
    else:
        chosen = min(ranking, key=lambda mod: (ranking[mod], order.index(mod)))
        reason = f"lowest backtest MASE {ranking[chosen]:.2f}{over}"
    if BENCHMARK in ranking and chosen != BENCHMARK:
        gain = 1 - ranking[chosen] / ranking[BENCHMARK] if ranking[BENCHMARK] > 0 else math.nan
        reason += f" (seasonal naive {ranking[BENCHMARK]:.2f}"
        reason += (
            f", {abs(gain):.0%} {'better' if gain >= 0 else 'worse'})" if np.isfinite(gain) else ")"
        )
    return chosen, reason + left_out
