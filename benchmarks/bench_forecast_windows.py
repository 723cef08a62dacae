"""Forecast benchmark, supplement: how much one held-out window can say, and why the weekly
CDNOW intervals stay wide.

``bench_forecast.py`` scores one fixed holdout per data set: for the demo segments at three
months that is 4 segments x 3 months = 12 errors. This script puts that number in context:

1. **Rolling windows over several companies.** ``bench_forecast.rolling``: the pipeline
(``forecast_segments`` with
   ``as_of`` before each window, so no fit sees it) on every 3-month window after 24 months of
   history, for the benchmark's demo company (seed 7) and eleven others (seeds 1-6 and 8-12,
   same defaults): mean segment MASE against seasonal naive, per company.
1b. **Selection rules.** On the same windows and companies, every segment's candidates (own
   and pooled-seasonal, :func:`planning.forecast.fitting.fit_series`) are backtested once, and the
   forecast each rule would make from them is scored: the single lowest backtest MASE, the
   mean of the best two, of the best three, the pool (every candidate but the outliers,
   :func:`planning.forecast.backtest.pool_members`, the default) and the mean of all candidates.
   Forecasts before reconciliation, so the rules are compared on equal terms.
1c. **Interval calibration.** On the same windows, and 12 months ahead from 24 months of
   history, the segments' share of actuals inside the 80% and 95% intervals when the pooled
   forecast's intervals are calibrated (:mod:`planning.forecast.intervals`) four ways: as the
   pipeline
   does (misses against the final forecast's half-widths, only from backtests whose origins
   had two full seasons, :func:`planning.forecast.by_segment.calibration_backtests`); against the
   final half-widths from every backtest; against the backtest forecasts' own half-widths; and
   not at all (the models' own intervals).
2. **What the fixed window allows.** On the benchmark's window (seed 7, the last 3 months), a
   reference that knows the generator's true seasonal pattern (``planning.ingest.demo.SEASONALITY``,
   shared by every segment) and takes each segment's seasonally adjusted level from the 9
   months *around and including* the window — information no forecast has — scored beside
   seasonal naive. It is a diagnostic, not a forecast: if it cannot beat seasonal naive by 15%
   there, no honest model is expected to.
3. **CDNOW intervals.** For each weekly metric with the last 13 weeks held out: the backtest
   forecasts available to calibrate the intervals (``planning.forecast.intervals`` needs
   ``MIN_POINTS``), and the chosen model's in-sample one-step error RMS over the first 15
   weeks (the launch cohort's spike) against the rest, which the models' own intervals
   average over.

Prints tables and writes benchmarks/results/forecast_windows.json.

    .venv/bin/python benchmarks/bench_forecast_windows.py [--work /tmp/bench-forecast-windows]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from planning.forecast.backtest import (
    COMBO_PREFIX,
    BacktestConfig,
    mase_scale,
    pool_members,
    select_and_forecast,
)
from planning.forecast.base import MEAN, MODEL, SeasonalNaive, hi, lo
from planning.forecast.by_segment import calibration_backtests
from planning.forecast.fitting import fit_series
from planning.forecast.intervals import (
    MIN_POINTS,
    calibrate,
    calibration_factors,
)
from planning.forecast.series import (
    TOTAL,
    build_series,
    last_transaction_date,
    to_series,
)
from planning.ingest.demo import SEASONALITY, generate_company, load_company
from planning.ingest.importing import import_file
from planning.store.engine import open_store

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_forecast import rolling as bench_rolling

try:  # the importer takes an actor once roles land; the benchmark runs as a local admin
    from planning.core.access import local_actor

    ACTOR: dict[str, Any] = {"actor": local_actor("bench")}
except ImportError:
    ACTOR = {}

BENCH_SEED = 7
OTHER_SEEDS = (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12)
RULES = ("best", "best 2", "best 3", "pool", "all")
CALIBRATIONS = ("pipeline", "final, every origin", "origin half-widths", "none")
HORIZON = 3
MIN_TRAIN = 24
CDNOW = REPO / "data" / "reference" / "cdnow_sample.txt"
CDNOW_MAP = {"customer_id": "1", "date": "3", "amount": "5", "quantity": "4"}
CDNOW_HELD_OUT = 13
LAUNCH_WEEKS = 15


def _fresh_store(path: Path):
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return open_store(f"sqlite:///{path}")


def fixed_window_reference(engine) -> dict[str, Any]:
    """The true-seasonality reference with a level that saw the window, vs seasonal naive."""
    end = last_transaction_date(engine)
    full = build_series(engine, metric="revenue", freq="M", as_of=end, lens="size")
    rows = []
    for name, y in to_series(full, "M").items():
        if name == TOTAL:
            continue
        n = len(y)
        season = np.array([SEASONALITY[p.month - 1] for p in y.index])
        level = float((y.to_numpy() / season)[n - 9 :].mean())  # months n-9..n: sees the window
        train, actual = y.iloc[: n - HORIZON], y.to_numpy()[n - HORIZON :]
        scale = mase_scale(train.to_numpy(), 12)
        reference = level * season[n - HORIZON :]
        naive = np.maximum(SeasonalNaive().fit(train).forecast(HORIZON)[MEAN].to_numpy(), 0)
        rows.append(
            {
                "series": name,
                "reference_mase": float(np.abs(reference - actual).mean() / scale),
                "seasonal_naive_mase": float(np.abs(naive - actual).mean() / scale),
            }
        )
    reference = float(np.mean([r["reference_mase"] for r in rows]))
    naive = float(np.mean([r["seasonal_naive_mase"] for r in rows]))
    return {
        "first_held_out": str(to_series(full, "M")[TOTAL].index[-HORIZON].date()),
        "series": rows,
        "reference_mase": reference,
        "seasonal_naive_mase": naive,
        "reference_improvement": 1 - reference / naive,
    }


def selection_rules(engine) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each rule's segment MASE and seasonal naive's (3 months ahead), and each calibration's
    interval coverage (3 and 12 months ahead), over the windows (see the module notes)."""
    end = last_transaction_date(engine)
    series = to_series(
        build_series(engine, metric="revenue", freq="M", as_of=end, lens="size"), "M"
    )
    n = len(series[TOTAL])
    scores: dict[str, list[float]] = {rule: [] for rule in (*RULES, "seasonal naive")}
    inside: dict[str, list[float]] = {}
    for horizon in (HORIZON, 12):
        config = BacktestConfig(horizon=horizon)
        for k in range(MIN_TRAIN, n - horizon + 1):
            train = {name: y.iloc[:k] for name, y in series.items()}
            run = fit_series(
                train, config, references={name: train[TOTAL] for name in train if name != TOTAL}
            )
            _coverage(run.outcomes, train, series, k, horizon, config, inside)
            if horizon != HORIZON:
                continue
            for name, outcome in run.outcomes.items():
                if name == TOTAL:
                    continue
                cands = outcome.candidates
                ranking = {
                    m: b.mase(cands.actual, cands.scale)
                    for m, b in cands.blocks.items()
                    if not m.startswith(COMBO_PREFIX)
                }
                ranking = {m: v for m, v in ranking.items() if np.isfinite(v)}
                ranked = sorted(ranking, key=ranking.get)
                members = {
                    "best": ranked[:1],
                    "best 2": ranked[:2],
                    "best 3": ranked[:3],
                    "pool": pool_members(ranking, ranked)[0],
                    "all": ranked,
                }
                actual = series[name].to_numpy()[k : k + HORIZON]
                scale = mase_scale(train[name].to_numpy(), 12)
                for rule, names in members.items():
                    mean = np.mean(
                        [cands.fitted[m].forecast[MEAN].to_numpy() for m in names], axis=0
                    )
                    scores[rule].append(float(np.abs(mean - actual).mean() / scale))
                naive = np.maximum(
                    SeasonalNaive().fit(train[name]).forecast(HORIZON)[MEAN].to_numpy(), 0
                )
                scores["seasonal naive"].append(float(np.abs(naive - actual).mean() / scale))
    rules = {rule: float(np.mean(v)) for rule, v in scores.items()} | {
        "forecasts": len(scores["pool"])
    }
    return rules, {key: [int(np.sum(v)), len(v)] for key, v in inside.items()}


def _coverage(
    outcomes,
    train,
    series,
    k: int,
    horizon: int,
    config: BacktestConfig,
    inside: dict[str, list[float]],
) -> None:
    """Append each segment actual's inside/outside flags per calibration and level."""
    raw = pd.concat([o.forecast for o in outcomes.values()], ignore_index=True)
    every = [
        o.backtest[o.backtest[MODEL] == o.chosen] for o in outcomes.values() if not o.backtest.empty
    ]
    factors = {
        "pipeline": calibration_factors(
            calibration_backtests(outcomes, train), config.levels, forecasts=raw
        ),
        "final, every origin": calibration_factors(every, config.levels, forecasts=raw),
        "origin half-widths": calibration_factors(every, config.levels),
        "none": dict.fromkeys(config.levels, 1.0),
    }
    for way, f in factors.items():
        out = calibrate(raw, f, nonnegative=config.nonnegative)
        for name in outcomes:
            if name == TOTAL:
                continue
            rows = out[out["series"] == name]
            actual = series[name].to_numpy()[k : k + horizon]
            for level in config.levels:
                hit = (actual >= rows[lo(level)].to_numpy()) & (
                    actual <= rows[hi(level)].to_numpy()
                )
                inside.setdefault(f"h{horizon} {way} {level}", []).extend(hit.tolist())


def cdnow_intervals(engine) -> list[dict[str, Any]]:
    """Calibration points and residual scale of the chosen model per weekly metric."""
    end = last_transaction_date(engine)
    out = []
    for metric in ("revenue", "orders", "customers"):
        y = to_series(build_series(engine, metric=metric, freq="W", as_of=end, lens=None), "W")[
            TOTAL
        ]
        outcome = select_and_forecast(
            y.iloc[:-CDNOW_HELD_OUT], BacktestConfig(horizon=CDNOW_HELD_OUT)
        )
        chosen = outcome.backtest[outcome.backtest[MODEL] == outcome.chosen]
        res = outcome.residuals
        out.append(
            {
                "metric": metric,
                "model": outcome.chosen,
                "train_weeks": len(y) - CDNOW_HELD_OUT,
                "backtest_points": len(chosen),
                "min_points": MIN_POINTS,
                "origins": int(chosen["origin"].nunique()) if len(chosen) else 0,
                "residual_rms_launch": float(np.sqrt(np.nanmean(res[:LAUNCH_WEEKS] ** 2))),
                "residual_rms_after": float(np.sqrt(np.nanmean(res[LAUNCH_WEEKS:] ** 2))),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="folder for the stores")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "forecast_windows.json"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-forecast-windows-"))
    work.mkdir(parents=True, exist_ok=True)

    rolling: dict[str, Any] = {}
    rules: dict[str, Any] = {}
    coverage: dict[str, Any] = {}
    reference: dict[str, Any] = {}
    for seed in (BENCH_SEED, *OTHER_SEEDS):
        engine = _fresh_store(work / f"demo-{seed}.db")
        assert all(
            r.ok
            for r in load_company(engine, generate_company(5000, seed=seed, months=36), **ACTOR)
        )
        rolling[str(seed)] = bench_rolling(
            engine, horizon=HORIZON, min_train=MIN_TRAIN, data_end=last_transaction_date(engine)
        )
        rules[str(seed)], coverage[str(seed)] = selection_rules(engine)
        if seed == BENCH_SEED:
            reference = fixed_window_reference(engine)
        engine.dispose()
    cdnow = _fresh_store(work / "cdnow.db")
    report = import_file(
        cdnow, "transactions", CDNOW.read_bytes(), file_name=CDNOW.name, mapping=CDNOW_MAP, **ACTOR
    )
    assert report.ok, report.summary()
    intervals = cdnow_intervals(cdnow)
    cdnow.dispose()

    print(
        f"\nDemo segments, every {HORIZON}-month window after {MIN_TRAIN} months "
        f"({platform.node()}, {os.cpu_count()} cores)"
    )
    print(f"{'company':<10} {'windows':>7} {'MASE':>6} {'sNaive':>6} {'better':>7}")
    for seed, r in rolling.items():
        print(
            f"seed {seed:<5} {len(r['windows']):>7} {r['selected_mase']:>6.3f} "
            f"{r['seasonal_naive_mase']:>6.3f} {r['mase_improvement']:>+7.1%}"
        )
    others = [rolling[str(s)] for s in OTHER_SEEDS]
    pooled_sel = float(np.mean([w["selected_mase"] for r in others for w in r["windows"]]))
    pooled_nv = float(np.mean([w["seasonal_naive_mase"] for r in others for w in r["windows"]]))
    print(
        f"other 11   {sum(len(r['windows']) for r in others):>7} {pooled_sel:>6.3f} "
        f"{pooled_nv:>6.3f} {1 - pooled_sel / pooled_nv:>+7.1%}"
    )
    print(
        f"\nSelection rules: segment MASE relative to seasonal naive's, {HORIZON}-month windows "
        f"after {MIN_TRAIN} months, forecasts before reconciliation"
    )
    print(f"{'company':<10} " + " ".join(f"{r:>8}" for r in RULES))
    for seed, r in rules.items():
        print(
            f"seed {seed:<5} "
            + " ".join(f"{1 - r[rule] / r['seasonal naive']:>+8.1%}" for rule in RULES)
        )
    overall = {
        rule: float(np.mean([r[rule] for r in rules.values()]))
        for rule in (*RULES, "seasonal naive")
    }
    print(
        f"{'all':<10} "
        + " ".join(f"{1 - overall[rule] / overall['seasonal naive']:>+8.1%}" for rule in RULES)
        + f"   ({len(rules)} companies, {sum(r['forecasts'] for r in rules.values())} "
        f"segment forecasts)"
    )
    totals = {
        key: [sum(c[key][0] for c in coverage.values()), sum(c[key][1] for c in coverage.values())]
        for key in coverage[str(BENCH_SEED)]
    }
    print(
        f"\nInterval coverage of the segments, all {len(coverage)} companies "
        f"(share of actuals inside; seed {BENCH_SEED} alone in brackets)"
    )
    print(f"{'calibration':<22} {'h3 80%':>14} {'h3 95%':>14} {'h12 80%':>14} {'h12 95%':>14}")
    for way in CALIBRATIONS:
        cells = []
        for horizon in (HORIZON, 12):
            for level in (80, 95):
                key = f"h{horizon} {way} {level}"
                own = coverage[str(BENCH_SEED)][key]
                cells.append(f"{totals[key][0] / totals[key][1]:>6.1%} ({own[0] / own[1]:.0%})")
        print(f"{way:<22} " + " ".join(f"{c:>14}" for c in cells))
    print(
        f"  points per cell: h3 {totals[f'h{HORIZON} pipeline 80'][1]}, "
        f"h12 {totals['h12 pipeline 80'][1]}"
    )
    print(
        f"\nBenchmark window (seed {BENCH_SEED}, from {reference['first_held_out']}): true "
        f"seasonality + a level that saw the window, MASE {reference['reference_mase']:.3f} "
        f"vs seasonal naive {reference['seasonal_naive_mase']:.3f} "
        f"({reference['reference_improvement']:+.1%})"
    )
    for r in reference["series"]:
        print(
            f"  {r['series']:<12} reference {r['reference_mase']:.3f}  seasonal naive "
            f"{r['seasonal_naive_mase']:.3f}"
        )
    print(f"\nCDNOW weekly, last {CDNOW_HELD_OUT} weeks held out: interval calibration input")
    for r in intervals:
        print(
            f"  {r['metric']:<10} {r['model']:<24} {r['train_weeks']} weeks, "
            f"{r['origins']} origin(s), {r['backtest_points']} backtest points "
            f"(calibration needs {r['min_points']}); one-step error RMS "
            f"{r['residual_rms_launch']:.1f} in the first {LAUNCH_WEEKS} weeks vs "
            f"{r['residual_rms_after']:.1f} after"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": {
                    "node": platform.node(),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                },
                "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "rolling_h3": rolling,
                "selection_rules_h3": rules,
                "interval_coverage": {
                    "per_company": coverage,
                    "all": {key: v[0] / v[1] for key, v in totals.items()},
                    "points": totals,
                },
                "selection_rules_h3_all": {
                    rule: 1 - overall[rule] / overall["seasonal naive"] for rule in RULES
                },
                "rolling_h3_other_seeds": {
                    "selected_mase": pooled_sel,
                    "seasonal_naive_mase": pooled_nv,
                    "mase_improvement": 1 - pooled_sel / pooled_nv,
                },
                "fixed_window_reference": reference,
                "cdnow_intervals": intervals,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
