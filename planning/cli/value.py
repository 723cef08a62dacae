"""``python -m planning clv``: every customer's value as of a date, to CSV (and the model, to JSON).

One row per customer with a purchase on or before the as-of date: ``customer_id, frequency,
recency, T, monetary, p_alive, expected_transactions, expected_spend, clv``, then the columns
that explain it (margin rate, cost per order, yearly spend, wallet, potential, headroom, value
at risk). ``--model-out`` writes the fitted BG/NBD and Gamma-Gamma parameters with their
standard errors and log-likelihoods.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import TYPE_CHECKING, Literal

from planning.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    check_writable,
    parse_date,
    resolve_as_of,
)
from planning.cli.paths import output_path

if TYPE_CHECKING:
    from planning.value import CustomerValue

_HORIZON = re.compile(r"^\s*(\d+)\s*([WwMm])\s*$")


def add_parser(commands: argparse._SubParsersAction) -> None:
    clv = commands.add_parser("clv", help="customer lifetime value per customer, to CSV")
    clv.add_argument(
        "--as-of",
        type=parse_date,
        help="use data on or before this day (default: the last transaction's day)",
    )
    clv.add_argument(
        "--horizon",
        default="52W",
        help="how far ahead CLV counts: weeks (39W) or months (12M); default 52W",
    )
    clv.add_argument(
        "--discount-rate",
        type=float,
        default=0.10,
        help="yearly discount rate of future contribution (default 0.10)",
    )
    clv.add_argument("--out", type=output_path, required=True, help="CSV file to write")
    clv.add_argument("--model-out", type=output_path, help="JSON file for the fitted parameters")


def parse_horizon(text: str) -> tuple[int, Literal["W", "M"]]:
    """``"39W"`` -> ``(39, "W")``; raises UsageError for anything else."""
    match = _HORIZON.match(text or "")
    if not match or int(match.group(1)) < 1:
        raise UsageError(
            f"--horizon {text!r} is not a horizon: write a whole number of weeks "
            "or months, 1 or more, such as 39W or 12M."
        )
    return int(match.group(1)), "W" if match.group(2).upper() == "W" else "M"


def run(engine, args: argparse.Namespace) -> int:
    from planning import value
    from planning import value as cv
    from planning.core import write_csv

    horizon, unit = parse_horizon(args.horizon)
    try:
        settings = cv.ValueSettings(
            horizon=horizon, time_unit=unit, annual_discount_rate=args.discount_rate
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    check_writable(args.out, args.model_out)
    as_of = resolve_as_of(engine, args.as_of)
    if as_of is None:
        return EXIT_REJECTED
    started = time.perf_counter()
    try:
        scored = cv.score_customers(engine, as_of, settings=settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    scores = scored.scores
    first = (
        "customer_id",
        value.FREQUENCY,
        value.RECENCY,
        value.T,
        value.MONETARY,
        value.P_ALIVE,
        value.EXPECTED_TRANSACTIONS,
        value.EXPECTED_SPEND,
        value.CLV,
    )
    ordered = [*first, *(c for c in scores.columns if c not in first)]
    write_csv(scores[ordered], args.out, float_format="%.6f")
    if args.model_out is not None:
        args.model_out.write_text(json.dumps(_model(scored), indent=2) + "\n")
    total = scores[value.CLV].sum()
    print(
        f"{len(scores):,} customers scored as of {as_of} over {settings.horizon_label}: "
        f"CLV {total:,.0f} in all, mean P(alive) {scores[value.P_ALIVE].mean():.2f}; "
        f"wrote {args.out} in {time.perf_counter() - started:.1f} s"
    )
    if not (scored.bgnbd.converged and scored.gamma_gamma.converged):
        print("warning: a model fit did not converge; treat the values with care.")
    return EXIT_OK


def _model(scored: CustomerValue) -> dict:
    import numpy as np

    bg, gg = scored.bgnbd, scored.gamma_gamma

    def clean(values: dict[str, float]) -> dict[str, float | None]:
        return {k: (None if not np.isfinite(v) else float(v)) for k, v in values.items()}

    return {
        "as_of": scored.as_of.isoformat(),
        "time_unit": scored.settings.time_unit,
        "horizon": scored.settings.horizon,
        "annual_discount_rate": scored.settings.annual_discount_rate,
        "bgnbd": {
            "params": clean({"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b}),
            "standard_errors": clean(bg.standard_errors),
            "log_likelihood": bg.log_likelihood,
            "customers": bg.n_customers,
            "converged": bg.converged,
        },
        "gamma_gamma": {
            "params": clean({"p": gg.p, "q": gg.q, "gamma": gg.gamma}),
            "standard_errors": clean(gg.standard_errors),
            "log_likelihood": gg.log_likelihood,
            "customers": gg.n_customers,
            "converged": gg.converged,
        },
        "wallet_model": scored.wallet_model,
    }
