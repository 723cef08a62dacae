"""Command-line start-up: how fast ``--help``, a usage error, ``status`` and real commands answer.

The command line builds its parser from the standard library and planning.core only and
imports the engine after the arguments are parsed. This times, side by side in one run and
as the median of ``--repeat`` runs each, fresh processes of:

- ``python -c "import pandas, sqlalchemy"``: the floor any data command pays;
- ``python -m planning --help`` and a usage error (a horizon of 0);
- ``status``, ``segments --lens value`` and ``clv`` on a store holding the CDNOW sample.

Prints a table and writes JSON (default benchmarks/results/cli.json) with the load average.

    .venv/bin/python benchmarks/bench_cli.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CDNOW = REPO / "data" / "reference" / "cdnow_sample.txt"


def _seconds(argv: list[str], expect: int) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != expect:
        raise RuntimeError(f"{argv[1:]} exited {done.returncode}: {done.stderr[-400:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "cli.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    py = sys.executable
    with tempfile.TemporaryDirectory() as work:
        db = f"sqlite:///{Path(work) / 'cdnow.db'}"
        out = str(Path(work) / "out.csv")
        cli = [py, "-m", "planning", "--db", db]
        _seconds(
            [
                *cli,
                "import",
                "transactions",
                str(CDNOW),
                "--map",
                "customer_id=1,date=3,amount=5,quantity=4",
            ],
            0,
        )
        cases = {
            "import pandas, sqlalchemy": ([py, "-c", "import pandas, sqlalchemy"], 0),
            "--help": ([py, "-m", "planning", "--help"], 0),
            "usage error": ([*cli, "forecast", "--horizon", "0", "--out", out], 2),
            "status": ([*cli, "status"], 0),
            "segments --lens value": ([*cli, "segments", "--lens", "value", "--out", out], 0),
            "clv": ([*cli, "clv", "--as-of", "1997-09-30", "--horizon", "39W", "--out", out], 0),
        }
        runs: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):  # interleaved, so a busy moment hits every case alike
            for name, (argv, code) in cases.items():
                runs[name].append(_seconds(argv, code))
    median = {name: statistics.median(times) for name, times in runs.items()}
    floor = median["import pandas, sqlalchemy"]
    print(f"{'command':<28}{'median s':>10}{'x floor':>9}   runs")
    for name, value in median.items():
        shown = ", ".join(f"{t:.2f}" for t in runs[name])
        print(f"{name:<28}{value:>10.2f}{value / floor:>9.2f}   {shown}")
    result = {
        "benchmark": "cli",
        "repeat": args.repeat,
        "median_seconds": median,
        "runs_seconds": runs,
        "help_over_pandas_sqlalchemy": median["--help"] / floor,
        "target_help_over_pandas_sqlalchemy": 1.3,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
