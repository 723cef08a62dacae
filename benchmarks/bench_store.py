"""Store benchmark: the 100k-customer demo company imported from CSV into SQLite and PostgreSQL.

Measures, per backend: import throughput of the ~2M-row transactions CSV (validation
included, through the real ``python -m planning import`` command in a child process), that
process's peak memory (its own VmHWM; ru_maxrss, which also counts the image forked from
this process, is recorded beside it), and the time of the customer x month and segment x
month aggregations run in SQL. Prints a table and writes JSON (default
benchmarks/results/store.json) with the machine's load average before and after.

    .venv/bin/python benchmarks/bench_store.py [--customers 100000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from planning.store.engine import normalize_url, open_store, table_counts
from planning.store.facts import customer_month, segment_month
from planning.team.auth import add_user

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# ``python -m planning`` that reports, on exit, the peak RSS of its own image (VmHWM). The
# child's ru_maxrss also counts the parent's image it was forked from before exec, which
# after the SQLite round's cube reads is ~840 MB whatever the import itself uses.
_CLI = """
import sys
from planning.cli.main import main
try:
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        print(next(line for line in status if line.startswith("VmHWM")), file=sys.stderr)
raise SystemExit(code)
"""


# A PostgreSQL store is in team mode: imports sign in as this admin, made when the store is.
BENCH_ADMIN, BENCH_PASSWORD = "bench-admin", "a benchmark's own password"


def _run_cli(url: str, *args: str) -> dict:
    """Run one CLI command in a child process; return wall time, peak RSS and its output."""
    started = time.perf_counter()
    env = {**os.environ, "CONTINUUM_USER": BENCH_ADMIN, "CONTINUUM_PASSWORD": BENCH_PASSWORD}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI, "--db", url, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {args}\n{out}\n{err}")
    found = re.search(r"done in ([\d.]+) s", out)
    peak_kb = re.search(r"VmHWM:\s+(\d+) kB", err)
    return {
        "wall_s": wall,
        "import_s": float(found.group(1)) if found else wall,
        "peak_rss_mb": int(peak_kb.group(1)) / 1024 if peak_kb else usage.ru_maxrss / 1024,
        "maxrss_with_fork_mb": usage.ru_maxrss / 1024,
        "output": out.strip(),
    }


def _timed(fn, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _fresh_store(backend: str, work: Path, admin_url: str) -> tuple[str, callable]:
    if backend == "sqlite":
        path = work / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: None
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"continuum_bench_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def bench_backend(backend: str, files: dict[str, Path], work: Path, admin_url: str) -> dict:
    url, drop = _fresh_store(backend, work, admin_url)
    try:
        engine = open_store(url)
        if backend == "postgresql":
            add_user(engine, None, BENCH_ADMIN, "admin", password=BENCH_PASSWORD)
        engine.dispose()
        customers = _run_cli(url, "import", "customers", str(files["customers"]))
        tx = _run_cli(url, "import", "transactions", str(files["transactions"]))
        engine = open_store(url)
        rows = table_counts(engine)["transactions"]
        cube_s, cube = _timed(lambda: customer_month(engine))
        seg_s, seg = _timed(lambda: segment_month(engine, "size"))
        engine.dispose()
        return {
            "backend": backend,
            "transactions": rows,
            "customers_import_s": customers["import_s"],
            "import_s": tx["import_s"],
            "import_process_wall_s": tx["wall_s"],
            "import_rows_per_s": rows / tx["import_s"],
            "import_peak_rss_mb": tx["peak_rss_mb"],
            "import_maxrss_with_fork_mb": tx["maxrss_with_fork_mb"],
            "customer_month_s": cube_s,
            "customer_month_rows": len(cube),
            "segment_month_s": seg_s,
            "segment_month_rows": len(seg),
        }
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url", default=os.environ.get("CONTINUUM_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "store.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()  # the machine is shared: say how busy it was

    # The company is generated in a child process: a large parent would inflate every later
    # child's peak memory (Linux counts the forked image before exec in ru_maxrss).
    generated = _run_cli(
        "sqlite://",
        "demo",
        "--customers",
        str(args.customers),
        "--seed",
        str(args.seed),
        "--csv-dir",
        str(args.work),
    )
    generate_s = float(re.search(r"generated in ([\d.]+) s", generated["output"]).group(1))
    files = {kind: args.work / f"{kind}.csv" for kind in ("customers", "transactions")}
    print(
        f"{generated['output'].splitlines()[-1]}; "
        f"CSV {files['transactions'].stat().st_size / 1e6:.0f} MB"
    )

    results = [
        bench_backend(b, files, args.work, normalize_url(args.pg_url))
        for b in args.backends.split(",")
    ]
    header = (
        f"{'backend':<11}{'rows':>11}{'import s':>10}{'rows/s':>11}{'peak MB':>9}"
        f"{'cust x month s':>16}{'seg x month s':>15}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['backend']:<11}{r['transactions']:>11,}{r['import_s']:>10.1f}"
            f"{r['import_rows_per_s']:>11,.0f}{r['import_peak_rss_mb']:>9.0f}"
            f"{r['customer_month_s']:>16.2f}{r['segment_month_s']:>15.3f}"
        )
    load_after = os.getloadavg()
    print(
        f"load average (1, 5, 15 min) before {load_before}, after {load_after} "
        f"on {os.cpu_count()} CPUs"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "store",
                "customers": args.customers,
                "seed": args.seed,
                "generate_s": generate_s,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average_before": load_before,
                    "load_average_after": load_after,
                },
                "results": results,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
