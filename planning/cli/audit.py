"""``python -m planning audit``: read or export the audit log (admins only).

Prints the newest entries (``--limit``, ``--action``, ``--who``), or writes them all to a CSV
or Excel file with ``--out`` (cells a spreadsheet would run as formulas are neutralised).
"""

from __future__ import annotations

import argparse

from planning.cli.common import (
    EXIT_OK,
    UsageError,
    acting_user,
    check_writable,
    plain_text,
    positive_id,
)
from planning.cli.paths import output_path


def add_parser(commands: argparse._SubParsersAction) -> None:
    log = commands.add_parser("audit", help="show or export the audit log (admins)")
    log.add_argument(
        "--limit", type=positive_id, default=50, help="newest entries to show (default 50)"
    )
    log.add_argument(
        "--action", default=None, type=plain_text, help="only this action, e.g. import, scenario"
    )
    log.add_argument("--who", default=None, type=plain_text, help="only this user's entries")
    log.add_argument(
        "--out",
        type=output_path,
        default=None,
        help="write every matching entry to FILE.csv or FILE.xlsx",
    )
    log.add_argument("--user", default=None, help="the admin reading (default: $CONTINUUM_USER)")


def run(engine, args: argparse.Namespace) -> int:
    from planning import core, store

    if args.out is not None and args.out.suffix.lower() not in (".csv", ".xlsx"):
        raise UsageError(f"--out {args.out}: write a .csv or .xlsx file.")
    check_writable(args.out)
    frame = store.read_audit(
        engine,
        acting_user(engine, args.user),
        limit=None if args.out else args.limit,
        action=args.action,
        who=args.who,
    )
    if args.out is not None:
        frame = frame.assign(at=frame["at"].dt.tz_localize(None))
        if args.out.suffix.lower() == ".csv":
            core.write_csv(frame, args.out)
        else:
            core.write_workbook({"Audit log": frame}, args.out)
        print(f"{len(frame):,} audit entries written to {args.out}")
        return EXIT_OK
    if frame.empty:
        print("The audit log holds no matching entries.")
    for row in frame.itertuples():
        print(f"{row.at:%Y-%m-%d %H:%M:%S} {row.actor} ({row.role}) {row.action}: {row.target}")
    return EXIT_OK
