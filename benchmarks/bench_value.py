"""Customer-value benchmark: summary, BG/NBD fit, Gamma-Gamma fit and scoring on the 100k demo.

The ~2M-row transactions of the 100k-customer demo company are generated once by a child
process and cached as Parquet under benchmarks/work/, so this process's memory holds the value
path only. Measures the median wall time of each stage over ``--repeat`` runs, then each
stage's peak traced allocation (tracemalloc, in a separate pass so tracing does not slow the
timed runs) and the process's peak RSS. Scoring is P(alive), 52-week expected purchases,
expected spend and a 52-week weekly-discounted CLV.

If a Python with ``lifetimes`` 0.11.3 is available (``--lifetimes-python``, default
benchmarks/.venv-lifetimes/bin/python, which ``make bench`` creates: lifetimes is a
benchmark-only dependency kept out of the app's environment), the same path runs there in a
child process: lifetimes' own summary from the same transactions (Parquet), then its fits and
scoring on our summary saved as CSV (so both fit the same numbers). The table adds its times,
the time ratios (per stage and for the whole path) and both log-likelihoods (lifetimes fits in
rescaled time; its likelihood is converted back to weeks). Prints a table and writes
JSON (default benchmarks/results/value.json).

    .venv/bin/python benchmarks/bench_value.py [--customers 100000] [--repeat 3]
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

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from planning.value import (
    FREQUENCY,
    MONETARY,
    RECENCY,
    T,
    bgnbd_log_likelihood,
    customer_lifetime_value,
    expected_spend,
    expected_transactions,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
    probability_alive,
    summarize_purchases,
)

END = dt.date(2025, 12, 31)
HORIZON_WEEKS = 52
MARGIN = 0.3
DISCOUNT_PER_WEEK = 0.0015  # about 8% a year
DEFAULT_LIFETIMES = str(REPO / "benchmarks" / ".venv-lifetimes" / "bin" / "python")

_GENERATE = """
import datetime as dt, sys
sys.path.insert(0, {repo!r})
from planning.ingest.demo import generate_company
tx = generate_company({customers}, end=dt.date({y}, {m}, {d})).transactions
tx[["customer_id", "date", "amount"]].to_parquet({path!r})
"""

# Runs in the lifetimes venv: the same stages on the same summary, timed the same way.
_LIFETIMES = """
import json, statistics, sys, time, warnings
import numpy as np, pandas as pd
import lifetimes
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
warnings.simplefilter("ignore")
summary = pd.read_csv(sys.argv[1])
repeat, horizon = int(sys.argv[2]), int(sys.argv[3])
margin, discount = float(sys.argv[4]), float(sys.argv[5])
transactions, end = pd.read_parquet(sys.argv[6]), sys.argv[7]
x, tx, T, m = (summary[c].to_numpy() for c in ("frequency", "recency", "T", "monetary"))

def timed(fn):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t0)
    return statistics.median(times), out

def fit_bg():
    return BetaGeoFitter().fit(x, tx, T)

def fit_gg():
    spenders = (x > 0) & (m > 0)
    return GammaGammaFitter().fit(x[spenders], m[spenders])

def summarize():
    # Daily periods merge same-day purchases as ours does; weeks are days / 7 as ours are.
    out = summary_data_from_transaction_data(
        transactions[transactions["amount"] >= 0], "customer_id", "date",
        monetary_value_col="amount", observation_period_end=end, freq="D")
    out["recency"] /= 7.0
    out["T"] /= 7.0
    return out

summary_s, theirs = timed(summarize)
bg_s, bg = timed(fit_bg)
gg_s, gg = timed(fit_gg)

def score():
    alive = bg.conditional_probability_alive(x, tx, T)
    spend = gg.conditional_expected_average_profit(pd.Series(x), pd.Series(m)).to_numpy()
    cumulative = np.vstack([np.zeros(x.size)] + [
        np.asarray(bg.conditional_expected_number_of_purchases_up_to_time(w, x, tx, T))
        for w in range(1, horizon + 1)])
    discount_factors = (1 + discount) ** -np.arange(1, horizon + 1)
    clv = discount_factors @ np.diff(cumulative, axis=0) * spend * margin
    return alive, cumulative[-1], spend, clv

score_s, (alive, purchases, spend, clv) = timed(score)
n = x.size
bg_ll = -bg._negative_log_likelihood_ * n + x.sum() * np.log(bg._scale)
gg_n = int(((x > 0) & (m > 0)).sum())
print(json.dumps({
    "version": lifetimes.__version__, "numpy": np.__version__, "pandas": pd.__version__,
    "summary_s": summary_s, "summary_customers": int(len(theirs)),
    "bgnbd_fit_s": bg_s, "gamma_gamma_fit_s": gg_s, "scoring_s": score_s,
    "bgnbd": {k: float(v) for k, v in bg.params_.items()}, "bgnbd_log_likelihood": float(bg_ll),
    "gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
    "gamma_gamma_log_likelihood": float(-gg._negative_log_likelihood_ * gg_n),
    "sum_p_alive": float(alive.sum()), "sum_expected_purchases": float(purchases.sum()),
    "sum_clv": float(clv.sum()),
}))
"""


def _transactions_path(customers: int) -> Path:
    return REPO / "benchmarks" / "work" / f"value_transactions_{customers}.parquet"


def _transactions(customers: int) -> pd.DataFrame:
    """The demo company's transactions, generated by a child process on first use."""
    path = _transactions_path(customers)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        code = _GENERATE.format(
            repo=str(REPO), customers=customers, y=END.year, m=END.month, d=END.day, path=str(path)
        )
        subprocess.run([sys.executable, "-c", code], check=True)
    return pd.read_parquet(path)


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _peak_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _stages(transactions: pd.DataFrame) -> dict[str, Callable[[], object]]:
    state: dict[str, Any] = {}

    def summarize() -> object:
        state["summary"] = summarize_purchases(transactions, calibration_end=END)
        return state["summary"]

    def bgnbd() -> object:
        state["bgnbd"] = fit_bgnbd(state["summary"])
        return state["bgnbd"]

    def gamma_gamma() -> object:
        state["gg"] = fit_gamma_gamma(state["summary"])
        return state["gg"]

    def score() -> object:
        summary, bg, gg = state["summary"], state["bgnbd"], state["gg"]
        return (
            probability_alive(bg, summary),
            expected_transactions(bg, summary, HORIZON_WEEKS),
            expected_spend(gg, summary),
            customer_lifetime_value(
                bg,
                gg,
                summary,
                horizon=HORIZON_WEEKS,
                margin=MARGIN,
                discount_rate_per_unit=DISCOUNT_PER_WEEK,
            ),
        )

    return {
        "summary": summarize,
        "bgnbd_fit": bgnbd,
        "gamma_gamma_fit": gamma_gamma,
        "scoring": score,
    }


def _run_lifetimes(
    python: str, summary: pd.DataFrame, repeat: int, transactions: Path
) -> dict | None:
    if not Path(python).exists():
        return None
    csv = REPO / "benchmarks" / "work" / "value_summary.csv"
    summary.to_csv(csv, index=False)
    started = time.perf_counter()
    proc = subprocess.run(
        [
            python,
            "-c",
            _LIFETIMES,
            str(csv),
            str(repeat),
            str(HORIZON_WEEKS),
            str(MARGIN),
            str(DISCOUNT_PER_WEEK),
            str(transactions),
            END.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["child_wall_s"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lifetimes-python", default=DEFAULT_LIFETIMES)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "value.json")
    args = parser.parse_args()

    transactions = _transactions(args.customers)
    stages = _stages(transactions)
    seconds: dict[str, float] = {}
    results: dict[str, Any] = {}
    for name, fn in stages.items():
        seconds[name], results[name] = _timed(fn, args.repeat)
    peak = {name: _peak_mb(fn) for name, fn in stages.items()}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary, bg, gg = results["summary"], results["bgnbd_fit"], results["gamma_gamma_fit"]
    clv = results["scoring"][3]

    x, tx, age = (summary[c].to_numpy(dtype=float) for c in (FREQUENCY, RECENCY, T))
    ours = {
        "bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b},
        "bgnbd_log_likelihood": bg.log_likelihood,
        "bgnbd_converged": bg.converged,
        "gamma_gamma": {"p": gg.p, "q": gg.q, "gamma": gg.gamma},
        "gamma_gamma_log_likelihood": gg.log_likelihood,
        "sum_p_alive": float(clv["p_alive"].sum()),
        "sum_expected_purchases": float(clv["expected_transactions"].sum()),
        "sum_clv": float(clv["clv"].sum()),
    }
    other = _run_lifetimes(
        args.lifetimes_python, summary, args.repeat, _transactions_path(args.customers)
    )
    if other and "bgnbd" in other:
        lp = other["bgnbd"]
        theta = np.log([lp["r"], lp["alpha"], lp["a"], lp["b"]])
        other["bgnbd_log_likelihood_by_ours"] = float(
            bgnbd_log_likelihood(theta, x, tx, age)[0].sum()
        )
        gp = other["gamma_gamma"]
        spenders = (x > 0) & (summary[MONETARY].to_numpy() > 0)
        other["gamma_gamma_log_likelihood_by_ours"] = float(
            gamma_gamma_log_likelihood(
                np.log([gp["p"], gp["q"], gp["v"]]),
                x[spenders],
                summary[MONETARY].to_numpy()[spenders],
            )[0].sum()
        )

    report = {
        "customers": args.customers,
        "transactions": len(transactions),
        "summarized_customers": len(summary),
        "repeat": args.repeat,
        "horizon_weeks": HORIZON_WEEKS,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} x{os.cpu_count()}",
        "seconds": seconds | {"total": sum(seconds.values())},
        "peak_traced_mb": peak,
        "peak_rss_mb": rss_mb,
        "continuum": ours,
        "lifetimes": other,
    }
    _print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"\nwrote {args.out.relative_to(REPO)}")


def _print(report: dict) -> None:
    other = report["lifetimes"] or {}
    lt_seconds: dict[str, Any] = {
        "summary": other.get("summary_s"),
        "bgnbd_fit": other.get("bgnbd_fit_s"),
        "gamma_gamma_fit": other.get("gamma_gamma_fit_s"),
        "scoring": other.get("scoring_s"),
    }
    print(
        f"{report['customers']:,} customers, {report['transactions']:,} transactions, "
        f"{report['summarized_customers']:,} summarized; median of {report['repeat']}"
    )
    print(f"{'stage':<17}{'seconds':>9}{'peak MB':>9}{'lifetimes s':>13}{'ratio':>8}")
    rows = [
        (name, secs, report["peak_traced_mb"].get(name), lt_seconds.get(name))
        for name, secs in report["seconds"].items()
    ]
    if all(v is not None for v in lt_seconds.values()):
        rows[-1] = (*rows[-1][:3], sum(lt_seconds.values()))  # the whole path
        rows.append(
            (
                "fits + scoring",
                report["seconds"]["total"] - report["seconds"]["summary"],
                None,
                sum(lt_seconds.values()) - lt_seconds["summary"],
            )
        )
    for name, secs, peak, lt in rows:
        print(
            f"{name:<17}{secs:>9.3f}{'' if peak is None else f'{peak:.0f}':>9}"
            f"{'' if lt is None else f'{lt:.3f}':>13}"
            f"{'' if lt is None else f'{lt / secs:.2f}x':>8}"
        )
    print(f"peak RSS of this process: {report['peak_rss_mb']:.0f} MB")
    ours = report["continuum"]
    print(f"continuum BG/NBD {_fmt(ours['bgnbd'])}  LL {ours['bgnbd_log_likelihood']:.4f}")
    print(
        f"continuum Gamma-Gamma {_fmt(ours['gamma_gamma'])}  "
        f"LL {ours['gamma_gamma_log_likelihood']:.4f}"
    )
    if "bgnbd" in other:
        print(
            f"lifetimes {other['version']} BG/NBD {_fmt(other['bgnbd'])}  LL "
            f"{other['bgnbd_log_likelihood']:.4f} (ours at its params: "
            f"{other['bgnbd_log_likelihood_by_ours']:.4f})"
        )
        print(
            f"lifetimes Gamma-Gamma {_fmt(other['gamma_gamma'])}  LL "
            f"{other['gamma_gamma_log_likelihood']:.4f} (ours at its params: "
            f"{other['gamma_gamma_log_likelihood_by_ours']:.4f})"
        )
        for key in ("sum_p_alive", "sum_expected_purchases", "sum_clv"):
            print(f"{key}: continuum {ours[key]:,.2f}  lifetimes {other[key]:,.2f}")
    elif other:
        print(f"lifetimes failed: {other.get('error')}")
    else:
        print("lifetimes: not available")


def _fmt(params: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


if __name__ == "__main__":
    main()
