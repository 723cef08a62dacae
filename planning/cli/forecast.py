"""``python -m planning forecast``: the company's or each segment's forecast, to CSV.

The output is the long frame ``series, period, model, mean, lo-80, hi-80, lo-95, hi-95`` (the
reconciled forecast when there are segments) plus ``used`` (the model form fitted) and
``reconciliation``. ``--backtest-out`` writes the accuracy table behind the choice of model:
``series, model, step, n, wape, mase, bias, coverage-80, coverage-95``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, cast

from planning.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    check_writable,
    parse_date,
    resolve_as_of,
)
from planning.cli.paths import output_path
from planning.core import ATTRIBUTE_LENSES, FREQS, METRICS, Lens

if TYPE_CHECKING:
    import pandas as pd

COMPUTED_LENSES = ("value", "rfm", "lifecycle", "rules")
LENSES = (*ATTRIBUTE_LENSES, *COMPUTED_LENSES)
MAX_HORIZON = 104


def _horizon(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_HORIZON:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a horizon: give a whole number of periods from 1 to {MAX_HORIZON}"
        )
    return value


def add_parser(commands: argparse._SubParsersAction) -> None:
    fc = commands.add_parser("forecast", help="forecast the company or each segment, to CSV")
    fc.add_argument(
        "--level",
        choices=("total", "segment"),
        default="total",
        help="the company total only, or every segment of --lens and the total",
    )
    fc.add_argument("--lens", choices=LENSES, help="segments for --level segment (default: size)")
    fc.add_argument("--metric", choices=METRICS, default="revenue")
    fc.add_argument(
        "--freq", choices=FREQS, default="M", help="M calendar months or W Monday-to-Sunday weeks"
    )
    fc.add_argument(
        "--horizon",
        type=_horizon,
        required=True,
        help="periods to forecast after the last whole period",
    )
    fc.add_argument(
        "--as-of",
        type=parse_date,
        help="use data on or before this day (default: the last transaction's day)",
    )
    fc.add_argument("--out", type=output_path, required=True, help="CSV file for the forecast")
    fc.add_argument(
        "--backtest-out",
        type=output_path,
        help="CSV file for the backtest accuracy of every candidate model",
    )


def run(engine, args: argparse.Namespace) -> int:
    from planning.core import write_csv
    from planning.forecast import SERIES, USED, forecast_segments

    if args.level == "total" and args.lens:
        raise UsageError("--lens applies to --level segment only; drop it or add --level segment")
    lens = (args.lens or "size") if args.level == "segment" else None
    check_writable(args.out, args.backtest_out)
    as_of = resolve_as_of(engine, args.as_of)
    if as_of is None:
        return EXIT_REJECTED
    try:
        assignment = _assignment(engine, lens, as_of)
        result = forecast_segments(
            engine,
            lens=lens,
            metric=args.metric,
            freq=args.freq,
            horizon=args.horizon,
            as_of=as_of,
            assignment=assignment,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    used = result.models.set_index(SERIES)[USED]
    columns: dict[str, pd.Series | str] = {
        USED: result.forecast[SERIES].map(used),
        "reconciliation": result.reconciliation,
    }
    out = result.forecast.assign(**columns)
    write_csv(out, args.out, float_format="%.4f", date_format="%Y-%m-%d")
    if args.backtest_out is not None:
        write_csv(result.accuracy, args.backtest_out, float_format="%.6f")
    _print_summary(result, args)
    return EXIT_OK


def _assignment(engine, lens: str | None, as_of) -> pd.DataFrame | None:
    if lens is None or lens in ATTRIBUTE_LENSES:
        return None
    from planning.segments import assign_segments

    # argparse's choices leave only COMPUTED_LENSES here (and assign_segments checks again).
    return assign_segments(engine, cast(Lens, lens), as_of)


def _print_summary(result, args: argparse.Namespace) -> None:
    from planning.forecast import MODEL

    unit = "months" if result.freq == "M" else "weeks"
    print(
        f"{args.metric} forecast for {len(result.models)} series, {result.horizon} {unit} "
        f"after {result.as_of} (lens: {result.lens or 'company'}):"
    )
    for row in result.models.itertuples(index=False):
        print(f"  {row.series}: {row.used} [{getattr(row, MODEL)}] - {row.reason}")
    if result.reconciliation != "none":
        print(f"reconciliation: {result.reconciliation_reason}")
    print(
        f"{result.model_fits} model fits in {result.seconds:.1f} s; wrote {args.out}"
        + (f" and {args.backtest_out}" if args.backtest_out else "")
    )
