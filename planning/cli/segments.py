"""``python -m planning segments``: every customer's segment as of a date, to CSV, and the segment
P&L.

One row per customer known on the as-of date: ``customer_id, segment`` (the ``rfm`` lens adds
``score``). ``--pnl-out`` writes the segment P&L over the trailing window (``--window-months``,
default 12) ending on the as-of date, with a last "Total" row that the segments add up to.
"""

from __future__ import annotations

import argparse
import sys
import time

from planning.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    check_writable,
    parse_date,
    resolve_as_of,
)
from planning.cli.paths import output_path
from planning.core import ATTRIBUTE_LENSES, DEFAULT_RULE_SET, DEFAULT_WINDOW_MONTHS, LENSES

MAX_WINDOW_MONTHS = 1200  # a century: beyond it the window start is not a date


def add_parser(commands: argparse._SubParsersAction) -> None:
    seg = commands.add_parser("segments", help="each customer's segment as of a date, to CSV")
    seg.add_argument(
        "--as-of",
        type=parse_date,
        help="use data on or before this day (default: the last transaction's day)",
    )
    seg.add_argument(
        "--lens",
        choices=LENSES,
        required=True,
        help="value tiers, RFM, a customer attribute, lifecycle stage, or the stored rule set",
    )
    seg.add_argument(
        "--attribute",
        choices=ATTRIBUTE_LENSES,
        default="size",
        help="the attribute of --lens attribute (default size)",
    )
    seg.add_argument(
        "--rule-set",
        default=DEFAULT_RULE_SET,
        help="the stored rule set of --lens rules (default 'default')",
    )
    seg.add_argument(
        "--window-months",
        type=int,
        default=DEFAULT_WINDOW_MONTHS,
        help="trailing months of contribution and activity the value, RFM and "
        "rules lenses and --pnl-out use (default 12)",
    )
    seg.add_argument("--out", type=output_path, required=True, help="CSV file to write")
    seg.add_argument("--pnl-out", type=output_path, help="CSV file for the segment P&L")


def run(engine, args: argparse.Namespace) -> int:
    from planning.core import write_csv
    from planning.profit import customer_pnl, segment_pnl
    from planning.segments import assign_segments, window_start

    if args.window_months < 1:
        raise UsageError(f"--window-months must be 1 or more, got {args.window_months}.")
    if args.window_months > MAX_WINDOW_MONTHS:
        digits = str(args.window_months)
        shown = digits if len(digits) <= 12 else f"{digits[:12]}… ({len(digits)} digits)"
        raise UsageError(f"--window-months must be {MAX_WINDOW_MONTHS} or less, got {shown}.")
    check_writable(args.out, args.pnl_out)
    as_of = resolve_as_of(engine, args.as_of)
    if as_of is None:
        return EXIT_REJECTED
    started = time.perf_counter()
    try:
        pnl = None
        if args.lens in ("value", "rfm", "rules") or args.pnl_out is not None:
            pnl = customer_pnl(engine, start=window_start(as_of, args.window_months), end=as_of)
        assignment = assign_segments(
            engine,
            args.lens,
            as_of,
            attribute=args.attribute,
            rule_set=args.rule_set,
            window_months=args.window_months,
            pnl=pnl,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    write_csv(assignment, args.out)
    if args.pnl_out is not None:
        assert pnl is not None  # computed above whenever --pnl-out is given
        write_csv(segment_pnl(pnl, assignment, total=True), args.pnl_out, float_format="%.2f")
    counts = assignment["segment"].value_counts(sort=False)
    listing = ", ".join(f"{name} {n:,}" for name, n in counts.items() if n)
    print(f"{len(assignment):,} customers as of {as_of} by {_lens_label(args)}: {listing}")
    print(
        f"wrote {args.out}"
        + (f" and {args.pnl_out}" if args.pnl_out else "")
        + f" in {time.perf_counter() - started:.1f} s"
    )
    return EXIT_OK


def _lens_label(args: argparse.Namespace) -> str:
    if args.lens == "attribute":
        return args.attribute
    if args.lens == "rules":
        return f"rule set {args.rule_set!r}"
    return {"value": "value tier", "rfm": "RFM", "lifecycle": "lifecycle stage"}[args.lens]
