"""The accountability loop: accepted forecasts are kept, and checked against what happened.

When a planner accepts a forecast, :func:`accept_forecast` stores it with the date its data
ended (its ``as_of``), the lens, metric and frequency, every series' mean and 80/95% bounds, and
— for a computed lens (RFM, value, lifecycle, rules) — which customer was in which segment then,
so its actuals are later measured on the same customers. As actuals land,
:func:`compare_to_actuals` lines each forecast up with the actual of its period (whole periods
only, from the store as of the evaluation date), by series and horizon step;
:func:`forecast_alerts` lists the actuals outside the 95% interval; and
:func:`accuracy_history` answers "how good have our forecasts been?" per segment and period,
with the running accuracy of every forecast made so far.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planning.core import columns as C
from planning.core.access import Actor, require
from planning.core.options import ATTRIBUTE_LENSES, Freq, Metric
from planning.forecast.base import MEAN, MODEL, PERIOD, SERIES, hi, lo
from planning.forecast.by_segment import ForecastResult
from planning.forecast.series import VALUE, build_series
from planning.store import audit, schema
from planning.store.writes import write

RUN_ID: Final = "run_id"
MADE_AS_OF: Final = "as_of"
STEP: Final = C.STEP
ACTUAL: Final = C.ACTUAL
ERROR: Final = "error"
INSIDE_80: Final = "inside_80"
INSIDE_95: Final = "inside_95"
DIRECTION: Final = "direction"
ACCURACY: Final = "accuracy"
RUNNING_ACCURACY: Final = "running_accuracy"
COVERAGE_95: Final = "coverage_95"
FORECASTS: Final = "forecasts"
_BOUNDS: Final = {lo(80): "lo_80", hi(80): "hi_80", lo(95): "lo_95", hi(95): "hi_95"}


def accept_forecast(engine: Engine, result: ForecastResult, *, actor: Actor, note: str = "") -> int:
    """Store an accepted forecast with its as-of date; return its run id.

    The forecast frame (reconciled) is stored line by line in one transaction; a forecast by a
    lens that is not a customer attribute also stores its segment assignment.
    """
    require(actor, "accept_forecast")
    runs, lines = _table(schema.ForecastRun), _table(schema.ForecastLine)
    periods = sorted(result.forecast[PERIOD].unique())
    step_of = {p: i + 1 for i, p in enumerate(periods)}
    frame = result.forecast

    def work(conn: Connection) -> int:
        run_id = conn.execute(
            runs.insert()
            .values(
                created_at=dt.datetime.now(dt.UTC),
                created_by=actor.name,
                as_of=result.as_of,
                metric=result.metric,
                freq=result.freq,
                lens=result.lens,
                horizon=result.horizon,
                reconciliation=result.reconciliation,
                note=note[:512],
            )
            .returning(runs.c.id)
        ).scalar_one()
        conn.execute(
            lines.insert(),
            [
                {
                    "run_id": run_id,
                    "series": str(r[SERIES]),
                    "period": pd.Timestamp(r[PERIOD]).date(),
                    "step": step_of[r[PERIOD]],
                    "model": str(r[MODEL]),
                    "mean": float(r[MEAN]),
                    **{col: _float_or_none(r.get(name)) for name, col in _BOUNDS.items()},
                }
                for r in frame.to_dict("records")
            ],
        )
        if result.assignment is not None and result.lens not in ATTRIBUTE_LENSES:
            table = _table(schema.ForecastAssignment)
            conn.execute(
                table.insert(),
                [
                    {"run_id": run_id, "customer_id": str(cid), "segment": str(seg)}
                    for cid, seg in zip(
                        result.assignment[C.CUSTOMER_ID], result.assignment[C.SEGMENT], strict=True
                    )
                ],
            )
        audit.record(
            conn,
            actor,
            "forecast accept",
            f"forecast run {run_id}",
            after={
                "as_of": result.as_of,
                "metric": result.metric,
                "freq": result.freq,
                "lens": result.lens,
                "horizon": result.horizon,
                "series": int(frame[SERIES].nunique()),
                "note": note[:512],
            },
        )
        return int(run_id)

    return write(engine, work)


def _table(model: type[schema.Base]) -> sa.Table:
    """A mapped class's table, typed as the ``Table`` a declarative class always has."""
    table = model.__table__
    if not isinstance(table, sa.Table):  # the stubs allow any FromClause
        raise TypeError(f"{model.__name__} is not mapped to a table.")
    return table


def _float_or_none(value: object) -> float | None:
    if value is None:
        return None
    value = float(value)  # type: ignore[arg-type]
    return None if np.isnan(value) else value


def accepted_forecasts(engine: Engine) -> pd.DataFrame:
    """Every accepted forecast, newest first.

    Returns
    -------
    DataFrame
        ``run_id, created_at, created_by, as_of, metric, freq, lens, horizon, reconciliation,
        note``.
    """
    runs = schema.ForecastRun.__table__
    with engine.connect() as conn:
        frame = pd.read_sql(
            sa.select(
                runs.c.id.label(RUN_ID),
                runs.c.created_at,
                runs.c.created_by,
                runs.c.as_of,
                runs.c.metric,
                runs.c.freq,
                runs.c.lens,
                runs.c.horizon,
                runs.c.reconciliation,
                runs.c.note,
            ).order_by(runs.c.id.desc()),
            conn,
        )
    frame[MADE_AS_OF] = pd.to_datetime(frame[MADE_AS_OF]).dt.date
    return frame


def _lines(engine: Engine, run_ids: list[int]) -> pd.DataFrame:
    lines = schema.ForecastLine.__table__
    with engine.connect() as conn:
        frame = pd.read_sql(
            sa.select(
                lines.c.run_id.label(RUN_ID),
                lines.c.series.label(SERIES),
                lines.c.period.label(PERIOD),
                lines.c.step.label(STEP),
                lines.c.model.label(MODEL),
                lines.c.mean.label(MEAN),
                *(lines.c[col].label(name) for name, col in _BOUNDS.items()),
            ).where(lines.c.run_id.in_(run_ids)),
            conn,
        )
    frame[PERIOD] = pd.to_datetime(frame[PERIOD])
    return frame


def _assignment(engine: Engine, run_id: int) -> pd.DataFrame | None:
    table = schema.ForecastAssignment.__table__
    with engine.connect() as conn:
        frame = pd.read_sql(
            sa.select(table.c.customer_id, table.c.segment).where(table.c.run_id == run_id), conn
        )
    return None if frame.empty else frame


def compare_to_actuals(
    engine: Engine, *, as_of: dt.date | None = None, run_ids: list[int] | None = None
) -> pd.DataFrame:
    """Every accepted forecast line whose period has ended, beside its actual.

    Parameters
    ----------
    engine
        An open store.
    as_of
        Actuals are the whole periods ended by this day (default: the last transaction date).
    run_ids
        The accepted forecasts to check (default: all).

    Returns
    -------
    DataFrame
        ``run_id, as_of, metric, freq, lens, series, period, step, model, mean, lo-80, hi-80,
        lo-95, hi-95, actual, error, inside_80, inside_95``: ``as_of`` is when the forecast was
        made, ``step`` how many periods ahead, ``error`` actual minus mean.
    """
    runs = accepted_forecasts(engine)
    if run_ids is not None:
        runs = runs[runs[RUN_ID].isin(run_ids)]
    if runs.empty:
        return _empty_comparison()
    lines = _lines(engine, runs[RUN_ID].astype(int).tolist())
    frames = []
    actuals_cache: dict[tuple, pd.DataFrame] = {}
    for run in runs.to_dict("records"):
        run_id = run[RUN_ID]
        metric: Metric = run["metric"]  # stored from a ForecastResult; build_series checks it
        freq: Freq = run["freq"]
        lens, assignment = run["lens"], None
        if lens is not None and lens not in ATTRIBUTE_LENSES:
            assignment = _assignment(engine, int(run_id))
            lens = lens if assignment is not None else None  # only the total can be checked
        key = (metric, freq, lens if assignment is None else f"run {run_id}")
        if key not in actuals_cache:
            actuals_cache[key] = build_series(
                engine,
                metric=metric,
                freq=freq,
                as_of=as_of,
                lens=lens,
                assignment=assignment,
            )
        actual = actuals_cache[key].rename(columns={VALUE: ACTUAL})
        mine = lines[lines[RUN_ID] == run_id].merge(actual, on=[SERIES, PERIOD], how="inner")
        if mine.empty:
            continue
        frames.append(
            mine.assign(
                **{MADE_AS_OF: run[MADE_AS_OF], "metric": metric, "freq": freq, "lens": run["lens"]}
            )
        )
    if not frames:
        return _empty_comparison()
    out = pd.concat(frames, ignore_index=True)
    out[ERROR] = out[ACTUAL] - out[MEAN]
    out[INSIDE_80] = (out[ACTUAL] >= out[lo(80)]) & (out[ACTUAL] <= out[hi(80)])
    out[INSIDE_95] = (out[ACTUAL] >= out[lo(95)]) & (out[ACTUAL] <= out[hi(95)])
    return out[list(_COMPARISON_COLUMNS)].sort_values([RUN_ID, SERIES, PERIOD], ignore_index=True)


_COMPARISON_COLUMNS: Final = (
    RUN_ID,
    MADE_AS_OF,
    "metric",
    "freq",
    "lens",
    SERIES,
    PERIOD,
    STEP,
    MODEL,
    MEAN,
    lo(80),
    hi(80),
    lo(95),
    hi(95),
    ACTUAL,
    ERROR,
    INSIDE_80,
    INSIDE_95,
)


def _empty_comparison() -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype="object") for col in _COMPARISON_COLUMNS})


def forecast_alerts(comparison: pd.DataFrame) -> pd.DataFrame:
    """The lines whose actual fell outside the 95% interval, largest miss first.

    Returns
    -------
    DataFrame
        The rows of :func:`compare_to_actuals` outside the interval (a missing interval counts
        as outside nothing), plus ``direction``: ``"above"`` or ``"below"``.
    """
    if comparison.empty:
        return comparison.assign(**{DIRECTION: pd.Series(dtype=str)})
    below = comparison[ACTUAL] < comparison[lo(95)]
    above = comparison[ACTUAL] > comparison[hi(95)]
    out = comparison[below | above].copy()
    out[DIRECTION] = np.where(above[below | above], "above", "below")
    miss = (out[ERROR].abs() / out[MEAN].abs().where(out[MEAN] != 0)).fillna(np.inf)
    return (
        out.assign(_miss=miss)
        .sort_values("_miss", ascending=False)
        .drop(columns="_miss")
        .reset_index(drop=True)
    )


def accuracy_history(comparison: pd.DataFrame) -> pd.DataFrame:
    """How good the accepted forecasts have been, per series and actual period.

    Returns
    -------
    DataFrame
        ``series, period, forecasts, accuracy, coverage_95, running_accuracy``: for each series
        and period with an actual, how many accepted forecasts covered it, their accuracy
        ``1 - sum|error| / sum|actual|``, the share inside the 95% interval, and the running
        accuracy of every forecast for that series up to and including the period.
    """
    cols = [SERIES, PERIOD, FORECASTS, ACCURACY, COVERAGE_95, RUNNING_ACCURACY]
    if comparison.empty:
        return pd.DataFrame(columns=cols)
    frame = comparison.assign(
        _abs=comparison[ERROR].abs(),
        _act=comparison[ACTUAL].abs(),
        _in=comparison[INSIDE_95].astype(float),
    )
    per = (
        frame.groupby([SERIES, PERIOD], sort=True)
        .agg(
            **{
                FORECASTS: (ERROR, "size"),
                "_abs": ("_abs", "sum"),
                "_act": ("_act", "sum"),
                COVERAGE_95: ("_in", "mean"),
            }
        )
        .reset_index()
    )
    per[ACCURACY] = 1 - per["_abs"] / per["_act"].where(per["_act"] > 0)
    run_abs = per.groupby(SERIES)["_abs"].cumsum()
    run_act = per.groupby(SERIES)["_act"].cumsum()
    per[RUNNING_ACCURACY] = 1 - run_abs / run_act.where(run_act > 0)
    return per[cols]


def accepted_version(engine: Engine) -> tuple[int, int | None]:
    """(number of accepted forecasts, newest id): changes whenever one is accepted."""
    runs = schema.ForecastRun.__table__
    with engine.connect() as conn:
        n, newest = conn.execute(sa.select(sa.func.count(), sa.func.max(runs.c.id))).one()
    return int(n), newest
