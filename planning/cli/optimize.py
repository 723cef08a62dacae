"""``python -m planning optimize``: a scenario's optimal allocation, to JSON.

``alloc.json`` lists every cell (segment x lever) with its spend, bounds, lock, expected
incremental contribution with its P10/P90, marginal return and response curve (family,
parameters, source), then the totals (spend, contribution, net profit with P10/P50/P90, ROI,
payback), the budget's multiplier, the binding caps, and the segment x levers left out with
the reason. An unknown scenario or rules that cannot all hold print what is wrong and exit 1
without writing; a negative budget is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from planning.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    check_writable,
    parse_date,
    resolve_as_of,
)
from planning.cli.paths import output_path
from planning.core import DRAWS
from planning.core import columns as C


def _budget(text: str) -> float:
    try:
        value = float(text.replace(",", "").removeprefix("$"))
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a budget: give a monthly amount of 0 or more, e.g. 150000"
        )
    return value


def add_parser(commands: argparse._SubParsersAction) -> None:
    opt = commands.add_parser("optimize", help="a scenario's optimal allocation, to JSON")
    opt.add_argument(
        "--scenario", default="baseline", help="a saved scenario, or 'baseline' (business as usual)"
    )
    opt.add_argument("--budget", type=_budget, help="monthly budget instead of the scenario's")
    opt.add_argument(
        "--as-of",
        type=parse_date,
        help="use data on or before this day (default: the last transaction's day)",
    )
    opt.add_argument(
        "--draws",
        type=int,
        default=DRAWS,
        help=f"simulation draws for the P10/P90 (default {DRAWS})",
    )
    opt.add_argument("--out", type=output_path, required=True, help="JSON file for the allocation")


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def run(engine, args: argparse.Namespace) -> int:
    from planning import allocation as al
    from planning.allocation import UnknownScenario, evaluate_scenario, load_inputs, load_scenario

    check_writable(args.out)
    if args.draws < 1:
        raise UsageError(f"--draws must be 1 or more, got {args.draws}")
    as_of = resolve_as_of(engine, args.as_of)
    if as_of is None:
        return EXIT_REJECTED
    started = time.perf_counter()
    try:
        inputs = load_inputs(engine, as_of=as_of)
        scenario = load_scenario(engine, args.scenario, inputs=inputs)
        result = evaluate_scenario(
            engine, scenario, inputs=inputs, budget=args.budget, draws=args.draws
        )
    except UnknownScenario as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except al.InfeasibleProblem as exc:
        print(f"error: the rules of scenario '{args.scenario}' cannot all hold:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_REJECTED
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    allocation = result.allocation
    args.out.write_text(json.dumps(_document(result, as_of), indent=2))
    q = result.distribution.quantiles()
    print(
        f"scenario {scenario.name}: {len(allocation.cells)} cells, spend "
        f"${allocation.spend:,.0f} of ${allocation.budget:,.0f}, net profit "
        f"${allocation.net_profit:,.0f} (P10 ${q['p10']:,.0f}, P90 ${q['p90']:,.0f}), "
        f"multiplier {allocation.multiplier:.3f}; in {time.perf_counter() - started:.1f} s "
        f"-> {args.out}"
    )
    for note in result.notes:
        print(f"  left out: {note}")
    return EXIT_OK


def _document(result, as_of) -> dict[str, Any]:
    from planning import allocation as al
    from planning.allocation import contribution_quantiles

    allocation = result.allocation
    cells = contribution_quantiles(result.distribution, allocation)
    models = {c.key: c.response for c in result.problem.cells}
    q = result.distribution.quantiles()
    return {
        "scenario": result.scenario.name,
        "version": result.scenario.version,
        "as_of": as_of.isoformat(),
        "objective": allocation.objective,
        "cells": [
            {
                "segment": row[C.SEGMENT],
                "program": row[C.PROGRAM],
                "spend": _number(row[C.SPEND]),
                "min": _number(row[al.MIN_SPEND]),
                "max": _number(row[al.MAX_SPEND]),
                "locked": bool(row[al.LOCKED]),
                "current_spend": _number(row[al.CURRENT_SPEND]),
                "outcome": _number(row[C.OUTCOME]),
                "value_per_unit": _number(row[al.VALUE_PER_UNIT]),
                "expected_incremental_contribution": _number(row[al.CONTRIBUTION]),
                "contribution_p10": _number(row["contribution_p10"]),
                "contribution_p90": _number(row["contribution_p90"]),
                "marginal_return": _number(row[al.MARGINAL_RETURN]),
                "binding": row[al.BINDING],
                "curve": {
                    "family": row[al.FAMILY],
                    "params": models[(row[C.SEGMENT], row[C.PROGRAM])].params,
                    "source": row[al.SOURCE],
                },
            }
            for row in cells.to_dict("records")
        ],
        "totals": {
            "budget": _number(allocation.budget),
            "spend": _number(allocation.spend),
            "contribution": _number(allocation.contribution),
            "net_profit": _number(allocation.net_profit),
            "net_profit_p10": _number(q["p10"]),
            "net_profit_p50": _number(q["p50"]),
            "net_profit_p90": _number(q["p90"]),
            "roi": _number(allocation.roi),
            "payback_months": _number(allocation.payback_months),
        },
        "multiplier": _number(allocation.multiplier),
        "binding": list(allocation.binding),
        "cap_prices": {k: _number(v) for k, v in allocation.cap_prices.items()},
        "gap": _number(allocation.gap),
        "note": allocation.note,
        "left_out": list(result.notes),
        "draws": result.distribution.draws,
    }
