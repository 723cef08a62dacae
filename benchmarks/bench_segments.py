"""Segments benchmark: customer P&L, segment P&L and the whale curve on the 100k-customer demo.

The demo company (100,000 customers, ~2M transactions, ~2.8M activities) is seeded once into a
SQLite file by ``python -m planning demo`` in a child process (skipped when the store already
holds data). Each stage then runs once to warm the database's page cache, ``--repeat`` times
for the median wall time, and once more under tracemalloc for its peak traced allocation; the
table also gives the process's peak RSS. "Segment P&L" is the whole path a page or the CLI
takes: the customers' P&L aggregated in the store for the trailing 12 months, the segment
assignment, and the segment table that adds up to the company (target: under 2 s). Prints a
table and writes JSON (default benchmarks/results/segments.json).

    .venv/bin/python benchmarks/bench_segments.py [--db sqlite:///...] [--customers 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from planning.profit.profitability import (
    customer_pnl,
    loss_makers,
    segment_pnl,
    whale_curve,
)
from planning.segments.lenses import assign_segments, migration_matrix, window_start
from planning.segments.lifecycle import p_alive_as_of
from planning.store.engine import data_status, open_store

DEFAULT_DB = REPO / "benchmarks" / "work" / "segments-100k.db"
TARGET_S = 2.0


def _seed(url: str, customers: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "planning", "--db", url, "demo", "--customers", str(customers)],
        cwd=REPO,
        check=True,
    )
    return time.perf_counter() - started


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    fn()  # warm the page cache
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def _peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{DEFAULT_DB}")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "segments.json"
    )
    args = parser.parse_args()

    engine = open_store(args.db)
    seeded_s = None
    if data_status(engine).is_empty:
        engine.dispose()
        seeded_s = _seed(args.db, args.customers)
        engine = open_store(args.db)
    status = data_status(engine)
    as_of = status.last_date
    start = window_start(as_of, 12)
    pnl = customer_pnl(engine, start=start, end=as_of)
    p_alive = p_alive_as_of(engine, as_of)  # the value pipeline's input, not timed here

    def segment_pnl_by(lens: str) -> Callable[[], Any]:
        def run() -> Any:
            frame = customer_pnl(engine, start=start, end=as_of)
            return segment_pnl(frame, assign_segments(engine, lens, as_of, pnl=frame), total=True)

        return run

    stages: dict[str, tuple[Callable[[], Any], float | None]] = {
        "customer P&L, 12 months (store)": (
            lambda: customer_pnl(engine, start=start, end=as_of),
            None,
        ),
        "customer P&L, all history (store)": (
            lambda: customer_pnl(engine, start=None, end=as_of),
            None,
        ),
        "segment P&L by size (P&L + assignment + table)": (segment_pnl_by("attribute"), TARGET_S),
        "segment P&L by value tier": (segment_pnl_by("value"), TARGET_S),
        "RFM assignment (given the P&L)": (
            lambda: assign_segments(engine, "rfm", as_of, pnl=pnl),
            None,
        ),
        "lifecycle assignment (given P(alive))": (
            lambda: assign_segments(engine, "lifecycle", as_of, p_alive=p_alive),
            None,
        ),
        "whale curve (given the P&L)": (lambda: whale_curve(pnl), None),
        "loss-makers, top 25 (given the P&L)": (lambda: loss_makers(pnl, 25), None),
        "migration matrix by value tier, 12 months apart": (
            lambda: migration_matrix(
                engine, "value", window_start(as_of, 12) - dt.timedelta(days=1), as_of
            ),
            None,
        ),
    }
    rows = []
    for name, (fn, target) in stages.items():
        times, result = _timed(fn, args.repeat)
        rows.append(
            {
                "stage": name,
                "median_s": statistics.median(times),
                "min_s": min(times),
                "runs_s": times,
                "peak_traced_mb": _peak_mb(fn),
                "target_s": target,
                "meets_target": None if target is None else statistics.median(times) < target,
            }
        )
    whale = whale_curve(pnl)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()

    print(
        f"\nSegments benchmark: {status.customers:,} customers, {status.transactions:,} "
        f"transactions, {status.activities:,} activities ({status.backend}), as of {as_of}; "
        f"median of {args.repeat} runs after one warm-up"
    )
    print(f"{'stage':<52} {'median s':>9} {'min s':>7} {'peak MB':>8}  target")
    for r in rows:
        target = (
            ""
            if r["target_s"] is None
            else (f"< {r['target_s']:.0f} s " + ("ok" if r["meets_target"] else "MISSED"))
        )
        print(
            f"{r['stage']:<52} {r['median_s']:>9.3f} {r['min_s']:>7.3f} "
            f"{r['peak_traced_mb']:>8.1f}  {target}"
        )
    print(
        f"process peak RSS {peak_rss_mb:,.0f} MB; whale curve peak: "
        f"{whale.peak_customer_share:.0%} of {whale.customers:,} active customers earn "
        f"{whale.peak_share:.0%} of contribution; {whale.loss_makers:,} loss-makers"
    )
    result = {
        "benchmark": "segments",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "note": "shared with other engineers' jobs while measured",
        },
        "store": {
            "backend": status.backend,
            "customers": status.customers,
            "transactions": status.transactions,
            "activities": status.activities,
            "as_of": as_of.isoformat(),
            "seeded_in_s": seeded_s,
        },
        "repeat": args.repeat,
        "stages": rows,
        "peak_rss_mb": peak_rss_mb,
        "whale_curve": {
            "customers": whale.customers,
            "peak_customer_share": whale.peak_customer_share,
            "peak_share": whale.peak_share,
            "loss_makers": whale.loss_makers,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
