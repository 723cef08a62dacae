"""Forecast benchmark: accuracy on held-out data no fit saw, and the time a full forecast takes.

**Accuracy.** The whole pipeline (series from the store, backtest selection per series,
reconciliation) runs with ``as_of`` at the end of the training data, so it cannot see the
held-out periods (tests/integration/test_forecast.py checks that later data never changes a
forecast). Its forecast is then scored against the held-out actuals, beside seasonal naive
fitted on the same training series:

- the demo company (``planning demo`` defaults: 5,000 customers, seed 7, 36 months), monthly
  revenue of the company and of each size segment, with the last 12 and the last 3 months held
  out;
- the real CDNOW sample (data/reference/cdnow_sample.txt, imported with
  ``--map customer_id=1,date=3,amount=5,quantity=4``), weekly company revenue, orders and
  active customers, with the last 13 whole weeks held out.

Measures per series: WAPE, MASE (scaled by the training data's in-sample seasonal naive
error, lag 1 when the training data is shorter than two seasons), and the share of held-out
actuals inside the 80% and 95% intervals. The holdouts are the last periods of each data set,
fixed in advance.

**Rolling origins.** One 3-month holdout of four segments is twelve numbers, and on this demo
company seasonal naive happens to land close in that window (a reference knowing the
generator's true seasonal pattern is worse than it there too: bench_forecast_windows.py). So
the demo segments are also scored on every 3-month window that follows at least 24 months of
history (ten windows, 40 segment forecasts), each forecast with ``as_of`` the day before its
window (Tashman 2000: rolling-origin evaluation), with and without the pooled-seasonal
candidates (planning.forecast.pooled_seasonal) as an ablation. Both figures are printed and stored.
bench_forecast_windows.py scores the same windows on twelve companies, rule by rule.

**Timing.** A full forecast with backtest selection of 60 monthly series of 36 months: the
company and 59 groups of the demo's customers (a hash of the customer id), forecast 12 and 3
months ahead on the machine's cores, with a fresh fit cache. Then one transaction is added for
one customer in the last month and the forecast is refreshed with the same cache: the count of
series refitted and model fits, and the time, are reported.

Prints a table and writes JSON (default benchmarks/results/forecast.json).

    .venv/bin/python benchmarks/bench_forecast.py [--work /tmp/bench-forecast]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from planning.core.access import local_actor
from planning.forecast.backtest import mase_scale
from planning.forecast.base import MEAN, PERIOD, SERIES, SeasonalNaive, hi, lo
from planning.forecast.by_segment import forecast_segments
from planning.forecast.fitting import FitCache, default_workers
from planning.forecast.series import (
    TOTAL,
    VALUE,
    build_series,
    last_transaction_date,
    last_whole_period,
    to_series,
)
from planning.ingest.demo import generate_company, load_company
from planning.ingest.importing import import_file
from planning.store import schema
from planning.store.engine import open_store

CDNOW = REPO / "data" / "reference" / "cdnow_sample.txt"
CDNOW_MAP = {"customer_id": "1", "date": "3", "amount": "5", "quantity": "4"}
TIMING_SERIES = 60


def _score(
    forecast: np.ndarray,
    lo80: np.ndarray,
    hi80: np.ndarray,
    lo95: np.ndarray,
    hi95: np.ndarray,
    actual: np.ndarray,
    scale: float,
) -> dict[str, float]:
    err = forecast - actual
    return {
        "wape": float(np.abs(err).sum() / np.abs(actual).sum()),
        "mase": float(np.abs(err).mean() / scale),
        "coverage_80": float(((actual >= lo80) & (actual <= hi80)).mean()),
        "coverage_95": float(((actual >= lo95) & (actual <= hi95)).mean()),
    }


def evaluate(
    engine, *, lens: str | None, metric: str, freq: str, horizon: int, data_end: dt.date
) -> dict[str, Any]:
    """Hold out the last ``horizon`` whole periods; score the pipeline and seasonal naive."""
    full = build_series(engine, metric=metric, freq=freq, as_of=data_end, lens=lens)
    periods = sorted(full[PERIOD].unique())
    first_held = pd.Timestamp(periods[-horizon])
    train_end = (first_held - pd.Timedelta(days=1)).date()
    started = time.perf_counter()
    result = forecast_segments(
        engine, lens=lens, metric=metric, freq=freq, horizon=horizon, as_of=train_end
    )
    seconds = time.perf_counter() - started
    train = to_series(full[full[PERIOD] < first_held], freq)
    rows = []
    for name, y in train.items():
        actual = full[(full[SERIES] == name) & (full[PERIOD] >= first_held)][VALUE].to_numpy()
        scale = mase_scale(y.to_numpy(), 12 if freq == "M" else 52)
        fc = result.forecast[result.forecast[SERIES] == name]
        chosen = _score(
            fc[MEAN].to_numpy(),
            fc[lo(80)].to_numpy(),
            fc[hi(80)].to_numpy(),
            fc[lo(95)].to_numpy(),
            fc[hi(95)].to_numpy(),
            actual,
            scale,
        )
        naive = SeasonalNaive().fit(y).forecast(horizon)
        bench = _score(
            np.maximum(naive[MEAN].to_numpy(), 0),
            naive[lo(80)].to_numpy(),
            naive[hi(80)].to_numpy(),
            naive[lo(95)].to_numpy(),
            naive[hi(95)].to_numpy(),
            actual,
            scale,
        )
        model = result.models.set_index(SERIES).loc[name]
        rows.append(
            {
                "series": name,
                "model": model["model"],
                "used": model["used"],
                "train_periods": len(y),
                "selected": chosen,
                "seasonal_naive": bench,
            }
        )
    return {
        "metric": metric,
        "freq": freq,
        "horizon": horizon,
        "lens": lens,
        "train_end": str(train_end),
        "first_held_out": str(first_held.date()),
        "reconciliation": result.reconciliation,
        "seconds": round(seconds, 2),
        "series": rows,
        "segments": _summary([r for r in rows if r["series"] != TOTAL]),
        "all": _summary(rows),
    }


def rolling(
    engine, *, horizon: int, data_end: dt.date, min_train: int, pooled: bool = True
) -> dict[str, Any]:
    """Every window of ``horizon`` months after at least ``min_train`` months, not just the last:
    the segments' mean MASE of the pipeline and of seasonal naive, window by window.

    Each window is forecast with ``as_of`` the day before it, so no fit sees it. ``pooled``
    False runs the pipeline without the pooled-seasonal candidates (the ablation)."""
    full = build_series(engine, metric="revenue", freq="M", as_of=data_end, lens="size")
    periods = sorted(full[PERIOD].unique())
    windows = []
    for k in range(min_train, len(periods) - horizon + 1):
        first = pd.Timestamp(periods[k])
        result = forecast_segments(
            engine,
            lens="size",
            metric="revenue",
            freq="M",
            horizon=horizon,
            as_of=(first - pd.Timedelta(days=1)).date(),
            pooled=pooled,
        )
        train = to_series(full[full[PERIOD] < first], "M")
        pair, wape, inside = [], [], {80: [], 95: []}
        for name, y in train.items():
            if name == TOTAL:
                continue
            actual = full[(full[SERIES] == name) & (full[PERIOD] >= first)][VALUE].to_numpy()[
                :horizon
            ]
            scale = mase_scale(y.to_numpy(), 12)
            rows = result.forecast[result.forecast[SERIES] == name]
            fc = rows[MEAN].to_numpy()
            naive = np.maximum(SeasonalNaive().fit(y).forecast(horizon)[MEAN].to_numpy(), 0)
            pair.append((np.abs(fc - actual).mean() / scale, np.abs(naive - actual).mean() / scale))
            wape.append(np.abs(fc - actual).sum() / np.abs(actual).sum())
            for level in inside:
                inside[level] += list(
                    (actual >= rows[lo(level)].to_numpy()) & (actual <= rows[hi(level)].to_numpy())
                )
        selected, naive_mase = (float(np.mean(v)) for v in zip(*pair, strict=True))
        windows.append(
            {
                "first_month": str(first.date()),
                "selected_mase": selected,
                "seasonal_naive_mase": naive_mase,
                "selected_wape": float(np.mean(wape)),
                "coverage_80": float(np.mean(inside[80])),
                "coverage_95": float(np.mean(inside[95])),
            }
        )
    selected = float(np.mean([w["selected_mase"] for w in windows]))
    naive = float(np.mean([w["seasonal_naive_mase"] for w in windows]))
    return {
        "horizon": horizon,
        "pooled": pooled,
        "windows": windows,
        "selected_mase": selected,
        "seasonal_naive_mase": naive,
        "mase_improvement": 1 - selected / naive,
        "accuracy": 1 - float(np.mean([w["selected_wape"] for w in windows])),
        "coverage_80": float(np.mean([w["coverage_80"] for w in windows])),
        "coverage_95": float(np.mean([w["coverage_95"] for w in windows])),
    }


def _summary(rows: list[dict]) -> dict[str, float] | None:
    if not rows:
        return None
    out: dict[str, float] = {}
    for side in ("selected", "seasonal_naive"):
        for key in ("wape", "mase", "coverage_80", "coverage_95"):
            out[f"{side}_{key}"] = float(np.mean([r[side][key] for r in rows]))
    out["mase_improvement"] = 1 - out["selected_mase"] / out["seasonal_naive_mase"]
    out["accuracy"] = 1 - out["selected_wape"]
    return out


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the fit workers), in seconds."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timing(engine, data_end: dt.date) -> dict[str, Any]:
    """60 monthly series: a full forecast, then a refresh after one new transaction."""
    with engine.connect() as conn:
        ids = pd.read_sql(schema.Customer.__table__.select(), conn)["customer_id"]
    groups = TIMING_SERIES - 1
    assignment = pd.DataFrame(
        {
            "customer_id": ids,
            "segment": [f"G{zlib.crc32(str(i).encode()) % groups:02d}" for i in ids],
        }
    )
    out: dict[str, Any] = {"series": TIMING_SERIES, "workers": default_workers()}
    for horizon in (12, 3):
        cache = FitCache()
        load_before, cpu_before = os.getloadavg()[0], _cpu_seconds()
        started = time.perf_counter()
        result = forecast_segments(
            engine,
            lens="group",
            metric="revenue",
            freq="M",
            horizon=horizon,
            as_of=data_end,
            assignment=assignment,
            cache=cache,
        )
        full = time.perf_counter() - started
        months = result.history[result.history[SERIES] == TOTAL].shape[0]
        entry = {
            "months": months,
            "full_seconds": round(full, 2),
            "full_cpu_seconds": round(_cpu_seconds() - cpu_before, 2),
            "load_average_before": round(load_before, 2),
            "full_model_fits": result.model_fits,
            "full_refitted": len(result.refitted),
            "full_pooled_fits": result.pooled_fits,
            "full_pooled_seconds": round(result.pooled_seconds, 3),
        }
        if horizon == 12:  # one new transaction in the last whole month, then refresh
            customer = str(ids.iloc[0])
            day = last_whole_period(data_end, "M")
            report = import_file(
                engine,
                "transactions",
                pd.DataFrame(
                    {
                        "customer_id": [customer],
                        "date": [str(day)],
                        "amount": ["1234.56"],
                        "transaction_id": ["BENCH-NEW-1"],
                    }
                ),
                file_name="bench-new-data.csv",
                actor=local_actor("bench"),
            )
            assert report.ok, report.summary()
            started = time.perf_counter()
            again = forecast_segments(
                engine,
                lens="group",
                metric="revenue",
                freq="M",
                horizon=horizon,
                as_of=data_end,
                assignment=assignment,
                cache=cache,
            )
            entry |= {
                "refresh_seconds": round(time.perf_counter() - started, 2),
                "refresh_model_fits": again.model_fits,
                "refresh_pooled_fits": again.pooled_fits,
                "refresh_pooled_seconds": round(again.pooled_seconds, 3),
                "refresh_refitted": list(again.refitted),
                "changed_segment": assignment.set_index("customer_id").loc[customer, "segment"],
            }
        out[f"horizon_{horizon}"] = entry
    return out


def _row(label: str, s: dict[str, float]) -> str:
    return (
        f"{label:<44} {s['selected_wape']:>6.3f} {s['seasonal_naive_wape']:>6.3f} "
        f"{s['selected_mase']:>6.2f} {s['seasonal_naive_mase']:>6.2f} "
        f"{s['mase_improvement']:>+7.0%} {s['selected_coverage_80']:>6.0%} "
        f"{s['selected_coverage_95']:>6.0%} {s['seasonal_naive_coverage_95']:>6.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="folder for the stores")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "forecast.json"
    )
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-forecast-"))
    work.mkdir(parents=True, exist_ok=True)
    for name in ("demo.db", "cdnow.db"):
        for suffix in ("", "-wal", "-shm"):
            (work / f"{name}{suffix}").unlink(missing_ok=True)

    demo = open_store(f"sqlite:///{work / 'demo.db'}")
    assert all(
        r.ok
        for r in load_company(
            demo, generate_company(5000, seed=7, months=36), actor=local_actor("bench")
        )
    )
    demo_end = last_transaction_date(demo)
    cdnow = open_store(f"sqlite:///{work / 'cdnow.db'}")
    report = import_file(
        cdnow,
        "transactions",
        CDNOW.read_bytes(),
        file_name=CDNOW.name,
        mapping=CDNOW_MAP,
        actor=local_actor("bench"),
    )
    assert report.ok, report.summary()
    cdnow_end = last_transaction_date(cdnow)

    accuracy = {
        "demo_monthly_revenue_h12": evaluate(
            demo, lens="size", metric="revenue", freq="M", horizon=12, data_end=demo_end
        ),
        "demo_monthly_revenue_h3": evaluate(
            demo, lens="size", metric="revenue", freq="M", horizon=3, data_end=demo_end
        ),
    }
    for metric in ("revenue", "orders", "customers"):
        accuracy[f"cdnow_weekly_{metric}_h13"] = evaluate(
            cdnow, lens=None, metric=metric, freq="W", horizon=13, data_end=cdnow_end
        )
    supplementary = rolling(demo, horizon=3, data_end=demo_end, min_train=24)
    ablation = rolling(demo, horizon=3, data_end=demo_end, min_train=24, pooled=False)
    timings = timing(demo, demo_end)

    print(
        f"\nHeld-out accuracy: selected (reconciled) forecast vs seasonal naive "
        f"({platform.node()}, {os.cpu_count()} cores, load average {load_at_start:.2f} "
        f"at the start)"
    )
    print(
        f"{'':<44} {'WAPE':>6} {'sNaive':>6} {'MASE':>6} {'sNaive':>6} {'better':>7} "
        f"{'cov80':>6} {'cov95':>6} {'sN95':>6}"
    )
    for key, result in accuracy.items():
        print(
            f"{key} (held out from {result['first_held_out']}, "
            f"reconciliation {result['reconciliation']})"
        )
        if result["segments"]:
            print(_row("  mean of the segments", result["segments"]))
        for row in result["series"]:
            print(
                _row(
                    f"  {row['series']} [{row['model'].removeprefix('combo:')}]",
                    {
                        **{f"selected_{k}": v for k, v in row["selected"].items()},
                        **{f"seasonal_naive_{k}": v for k, v in row["seasonal_naive"].items()},
                        "mase_improvement": 1
                        - row["selected"]["mase"] / row["seasonal_naive"]["mase"],
                    },
                )
            )
    print(
        f"\nRolling origins: demo segments, every 3-month window after 24 months of history "
        f"({len(supplementary['windows'])} windows x 4 segments, each forecast as of the day "
        f"before it)"
    )
    print(
        f"{'window':<12} {'MASE':>6} {'sNaive':>6} {'better':>7} {'1-WAPE':>7} {'cov80':>6} "
        f"{'cov95':>6} {'no pooled':>10}"
    )
    for w, a in zip(supplementary["windows"], ablation["windows"], strict=True):
        print(
            f"{w['first_month']:<12} {w['selected_mase']:>6.2f} {w['seasonal_naive_mase']:>6.2f}"
            f" {1 - w['selected_mase'] / w['seasonal_naive_mase']:>+7.0%} "
            f"{1 - w['selected_wape']:>7.3f} {w['coverage_80']:>6.0%} {w['coverage_95']:>6.0%}"
            f" {a['selected_mase']:>10.2f}"
        )
    for label, r in (("all windows", supplementary), ("without pooled", ablation)):
        print(
            f"{label:<12} {r['selected_mase']:>6.2f} {r['seasonal_naive_mase']:>6.2f} "
            f"{r['mase_improvement']:>+7.1%} {r['accuracy']:>7.3f} {r['coverage_80']:>6.0%} "
            f"{r['coverage_95']:>6.0%}"
        )
    print("\nTiming: 60 monthly series, backtest selection and reconciliation")
    for horizon in (12, 3):
        t = timings[f"horizon_{horizon}"]
        print(
            f"  horizon {horizon:>2}: {t['full_seconds']:6.2f} s wall, "
            f"{t['full_cpu_seconds']:.1f} s CPU, {t['full_model_fits']} model fits, "
            f"{t['full_refitted']} series fitted ({t['months']} months each, "
            f"{timings['workers']} workers, load average {t['load_average_before']} before)"
        )
    t = timings["horizon_12"]
    print(
        f"  refresh after one new transaction in {t['changed_segment']}: "
        f"{t['refresh_seconds']:.2f} s, {t['refresh_model_fits']} model fits, refitted "
        f"{', '.join(t['refresh_refitted'])}; the company seasonality changed with the total, "
        f"so every segment's pooled candidates were re-estimated: {t['refresh_pooled_fits']} "
        f"fits in {t['refresh_pooled_seconds']:.2f} s, own models from the cache"
    )

    targets = {
        "demo_segments_mase_improvement_h3": accuracy["demo_monthly_revenue_h3"]["segments"][
            "mase_improvement"
        ],
        "demo_segments_mase_improvement_h3_rolling": supplementary["mase_improvement"],
        "demo_segments_mase_improvement_h12": accuracy["demo_monthly_revenue_h12"]["segments"][
            "mase_improvement"
        ],
        "demo_segments_accuracy_h3": accuracy["demo_monthly_revenue_h3"]["segments"]["accuracy"],
        "full_forecast_seconds_h12": timings["horizon_12"]["full_seconds"],
        "full_forecast_seconds_h3": timings["horizon_3"]["full_seconds"],
    }
    print(
        "\nTargets: MASE >= 15% better than seasonal naive on demo segments "
        f"(h3 last window {targets['demo_segments_mase_improvement_h3']:+.1%}, h3 rolling "
        f"{targets['demo_segments_mase_improvement_h3_rolling']:+.1%}, h12 "
        f"{targets['demo_segments_mase_improvement_h12']:+.0%}); segment accuracy at 3 months "
        f">= 0.85 ({targets['demo_segments_accuracy_h3']:.3f}); 60 series < 10 s "
        f"(h12 {targets['full_forecast_seconds_h12']:.1f} s, h3 "
        f"{targets['full_forecast_seconds_h3']:.1f} s)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": {
                    "node": platform.node(),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average_at_start": round(load_at_start, 2),
                },
                "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "accuracy": accuracy,
                "supplementary_rolling_h3": supplementary,
                "rolling_h3_without_pooled": ablation,
                "timing": timings,
                "targets": targets,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")
    demo.dispose()
    cdnow.dispose()


if __name__ == "__main__":
    main()
