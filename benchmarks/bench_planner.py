"""Planner benchmark: the continuous planner on the 100k-customer / ~2M-transaction demo company.

Measures, on a SQLite store (and PostgreSQL with ``--backends sqlite,postgresql``):

- a full recompute from scratch (a new planner, nothing memoised), with per-step times;
- a recompute after a budget move (only allocation, plan and variance run);
- an import of a 10,000-row batch of late transactions dated in the last closed month,
  followed by its recompute (history reloaded from that month, value, forecasts and
  everything below them recomputed);
- the peak memory of the process.

The company is generated once into benchmarks/work/ (``python -m planning demo`` in a child).
Prints a table and writes JSON (default benchmarks/results/planner.json).

    .venv/bin/python benchmarks/bench_planner.py [--customers 100000] [--backends sqlite]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from planning.core.access import local_actor
from planning.ingest.importing import import_file
from planning.plan import versions as plan_store
from planning.plan.planner import Planner
from planning.profit import segment_history as plan_facts
from planning.store.engine import normalize_url, open_store

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BATCH_ROWS = 10_000


def _seeded_sqlite(work: Path, customers: int) -> Path:
    path = work / f"planner_{customers}.db"
    if not path.exists():
        print(f"generating the {customers:,}-customer company into {path} …", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "planning",
                "--db",
                f"sqlite:///{path}",
                "demo",
                "--customers",
                str(customers),
            ],
            cwd=REPO,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def _store(backend: str, work: Path, customers: int, admin_url: str) -> tuple[str, callable]:
    seeded = _seeded_sqlite(work, customers)
    if backend == "sqlite":
        copy = work / "planner_bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        shutil.copy(seeded, copy)
        return f"sqlite:///{copy}", lambda: None
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"continuum_planner_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    subprocess.run(
        [sys.executable, "-m", "planning", "--db", url, "demo", "--customers", str(customers)],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def _late_batch(engine, last_closed: dt.date) -> pd.DataFrame:
    """10,000 transactions of existing customers dated in the last closed month."""
    rng = np.random.default_rng(11)
    with engine.connect() as conn:
        ids = np.array(conn.execute(sa.text("SELECT customer_id FROM customers")).scalars().all())
    days = rng.integers(1, plan_facts.month_end(last_closed).day + 1, BATCH_ROWS)
    return pd.DataFrame(
        {
            "customer_id": rng.choice(ids, BATCH_ROWS),
            "date": [
                dt.date(last_closed.year, last_closed.month, int(d)).isoformat() for d in days
            ],
            "amount": rng.gamma(2.0, 400.0, BATCH_ROWS).round(2),
        }
    )


def bench(backend: str, work: Path, customers: int, admin_url: str) -> dict:
    url, drop = _store(backend, work, customers, admin_url)
    try:
        engine = open_store(url)
        started = time.perf_counter()
        full = Planner(engine).recompute(
            "manual", actor=local_actor("bench"), reason="benchmark: full"
        )
        full_s = time.perf_counter() - started
        planner = Planner(engine)
        planner.recompute(
            "manual", actor=local_actor("bench")
        )  # warm: memo filled, nothing changes
        plan_store.write_setting(
            engine,
            "budget",
            {"annual": 2_500_000.0},
            actor=local_actor("bench"),
            expected_version=0,
        )
        started = time.perf_counter()
        moved = planner.recompute(
            "budget", actor=local_actor("bench"), reason="benchmark: budget move"
        )
        budget_s = time.perf_counter() - started
        last_closed = plan_store.latest_version(engine).last_closed_month
        batch = _late_batch(engine, last_closed)
        started = time.perf_counter()
        report = import_file(
            engine, "transactions", batch, file_name="late_batch.csv", actor=local_actor("bench")
        )
        imported_s = time.perf_counter() - started
        assert report.ok, report.summary()
        after = planner.recompute(
            "import",
            actor=local_actor("bench"),
            reason="benchmark: 10k rows",
            changed_from=last_closed,
        )
        import_total_s = time.perf_counter() - started
        engine.dispose()
        return {
            "backend": backend,
            "customers": customers,
            "full_recompute_s": full_s,
            "full_steps": full.evaluation.timings(),
            "full_load_s": full.load_seconds,
            "budget_recompute_s": budget_s,
            "budget_recomputed": list(moved.recomputed),
            "budget_steps": moved.evaluation.timings(),
            "budget_ratio": full_s / budget_s,
            "import_rows": BATCH_ROWS,
            "import_s": imported_s,
            "import_recompute_s": after.seconds,
            "import_total_s": import_total_s,
            "import_recomputed": list(after.recomputed),
            "import_steps": after.evaluation.timings(),
            "import_load_s": after.load_seconds,
            "versions": [v.trigger for v in plan_store.list_versions(engine)][::-1],
        }
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument(
        "--pg-url", default=os.environ.get("CONTINUUM_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "planner.json"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = [
        bench(b, args.work, args.customers, normalize_url(args.pg_url))
        for b in args.backends.split(",")
    ]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{'backend':<11}{'full s':>9}{'budget ms':>11}{'ratio':>8}{'import+plan s':>15}"
        f"{'peak MB':>9}"
    )
    for r in results:
        print(
            f"{r['backend']:<11}{r['full_recompute_s']:>9.1f}"
            f"{r['budget_recompute_s'] * 1000:>11.0f}{r['budget_ratio']:>7.0f}x"
            f"{r['import_total_s']:>15.1f}{peak:>9.0f}"
        )
        for name in ("full_steps", "budget_steps", "import_steps"):
            steps = ", ".join(f"{k} {v:.2f}" for k, v in r[name].items())
            print(f"  {name.replace('_', ' ')}: {steps}")
        print(
            f"  import of {r['import_rows']:,} rows {r['import_s']:.1f} s, then recompute "
            f"{r['import_recompute_s']:.1f} s (load {r['import_load_s']:.1f} s)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "planner",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "peak_rss_mb": peak,
                "results": results,
            },
            indent=2,
            default=float,
        )
        + "\n"
    )
    print(f"wrote {args.out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
