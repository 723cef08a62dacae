"""``python -m planning plan ...``: the continuous planner's versions from the command line.

``plan recompute`` brings the plan up to date (a version is written only if it changed);
``plan show`` prints a version (the newest, ``--version N``, or the one current ``--as-of``
a date); ``plan diff V1 V2`` what changed and why; ``plan export`` a planner's workbook (one
sheet per view) or CSV; ``plan restore V`` a new version equal to an old one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from planning.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    acting_user,
    check_writable,
    parse_date,
    positive_id,
)

if TYPE_CHECKING:
    from planning import plan as op


def add_parser(commands: argparse._SubParsersAction) -> None:
    plan = commands.add_parser("plan", help="the operating plan: recompute, show, diff, export")
    actions = plan.add_subparsers(dest="plan_action", required=True, metavar="ACTION")
    recompute = actions.add_parser("recompute", help="bring the plan up to date")
    recompute.add_argument("--user", help="who asks (default: OS user)")
    recompute.add_argument("--reason", default="", help="why, for the version history")
    recompute.add_argument(
        "--if-missing", action="store_true", help="only when the store has no plan version yet"
    )
    for name, text in (("show", "print a plan version"), ("export", "write a plan version")):
        sub = actions.add_parser(name, help=text)
        which = sub.add_mutually_exclusive_group()
        which.add_argument("--version", type=positive_id, help="version number (default: newest)")
        which.add_argument(
            "--as-of", type=parse_date, help="the version current at the end of this day"
        )
        if name == "export":
            sub.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
            sub.add_argument("--out", type=Path, required=True, help="file to write")
    diff = actions.add_parser("diff", help="what changed between two versions")
    diff.add_argument("old", type=positive_id)
    diff.add_argument("new", type=positive_id)
    restore = actions.add_parser("restore", help="a new version equal to an old one")
    restore.add_argument("version", type=positive_id)
    restore.add_argument("--user", help="who asks (default: OS user)")


def run(engine, args: argparse.Namespace) -> int:
    from planning import plan as op

    action = args.plan_action
    if action == "recompute":
        from planning.plan import Planner

        if args.if_missing and op.latest_version(engine) is not None:
            print("The store already has a plan: nothing to do.")
            return EXIT_OK
        try:
            result = Planner(engine).recompute(
                "manual", actor=acting_user(engine, args.user), reason=args.reason
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_REJECTED
        if result.version_id is None:
            print(f"The plan is up to date: nothing changed ({result.seconds:.1f} s).")
        else:
            print(
                f"Plan version {result.version_id} ({result.trigger}) in {result.seconds:.1f} "
                f"s; recomputed {', '.join(result.recomputed)}."
            )
        return EXIT_OK
    if action == "diff":
        return _diff(engine, args.old, args.new)
    if action == "restore":
        try:
            new = op.restore_version(engine, args.version, actor=acting_user(engine, args.user))
        except KeyError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return EXIT_REJECTED
        print(f"Restored version {args.version} as version {new}.")
        return EXIT_OK
    version = _pick(engine, args)
    if version is None:
        return EXIT_REJECTED
    if action == "show":
        return _show(engine, version)
    check_writable(args.out)
    return _export(engine, version, args.format, args.out)


def _pick(engine, args) -> op.VersionInfo | None:
    from planning import plan as op

    try:
        if args.version is not None:
            return op.get_version(engine, args.version)
        found = (
            op.version_as_of(engine, args.as_of)
            if args.as_of is not None
            else op.latest_version(engine)
        )
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return None
    if found is None:
        when = f" on or before {args.as_of}" if args.as_of else ""
        print(
            f"error: there is no plan version{when}: run `python -m planning plan "
            "recompute` first.",
            file=sys.stderr,
        )
    return found


def _show(engine, version: op.VersionInfo) -> int:
    from planning import plan as op
    from planning.core import columns as C

    print(
        f"Plan version {version.id}, {version.created_at:%Y-%m-%d %H:%M} by {version.actor} "
        f"({version.trigger}: {version.reason})"
    )
    print(
        f"{version.horizon_months} months from {version.horizon_start:%b %Y}; last closed "
        f"month {version.last_closed_month:%b %Y}"
    )
    table = op.plan_table(op.load_lines(engine, version.id))
    metrics = (
        op.REVENUE,
        op.GROSS_MARGIN,
        op.COST_TO_SERVE,
        op.PROGRAM_SPEND,
        op.CONTRIBUTION,
        op.CLOSING,
    )
    totals = table.groupby(C.MONTH)[[c for c in metrics if c in table]].sum()
    shown = totals.copy()
    shown.index = [f"{m:%b %Y}" for m in shown.index]
    print(shown.map(lambda x: f"{x:,.0f}").to_string())
    alerts = op.load_alerts(engine, version.id)
    for alert in alerts.itertuples(index=False):
        print(f"  ! {alert.message}. {alert.suggestion}")
    return EXIT_OK


def _diff(engine, old: int, new: int) -> int:
    from planning import plan as op
    from planning.core import columns as C

    try:
        table, between = op.diff_versions(engine, old, new)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return EXIT_REJECTED
    for version in (old, new):
        try:
            op.get_version(engine, version)
        except KeyError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return EXIT_REJECTED
    print(f"{len(table):,} plan line(s) differ between version {old} and version {new}.")
    for v in between:
        print(f"  v{v.id} {v.created_at:%Y-%m-%d %H:%M} {v.trigger} by {v.actor}: {v.reason}")
    if len(table):
        shown = table.head(20).copy()
        shown[C.MONTH] = shown[C.MONTH].dt.strftime("%b %Y")
        print(shown.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    return EXIT_OK


def _export(engine, version: op.VersionInfo, fmt: str, out: Path) -> int:
    import pandas as pd

    from planning import plan as op
    from planning.core import columns as C
    from planning.core import write_csv, write_workbook

    lines = op.load_lines(engine, version.id)
    table = op.plan_table(lines)
    if fmt == "csv":
        write_csv(table.assign(month=table[C.MONTH].dt.date), out)
        print(f"Wrote plan version {version.id} ({len(table):,} rows) to {out}")
        return EXIT_OK
    money = [
        c
        for c in table.columns
        if c not in (C.MONTH, C.SEGMENT)
        and not c.startswith("customers")
        and c
        not in (op.ORDERS, op.DELIVERIES, op.SERVICE_HOURS, op.SERVED_HOURS, op.UNSERVED_HOURS)
    ]
    by_month = table.groupby(C.MONTH, as_index=False)[
        [c for c in table.columns if c not in (C.MONTH, C.SEGMENT)]
    ].sum()
    versions = pd.DataFrame(
        [
            {
                "version": v.id,
                "created": v.created_at.replace(tzinfo=None),
                "trigger": v.trigger,
                "by": v.actor,
                "reason": v.reason,
            }
            for v in op.list_versions(engine)
        ]
    )
    sheets = {
        "Plan by month": by_month,
        "Plan by segment": table,
        "Alerts": op.load_alerts(engine, version.id),
        "Versions": versions,
    }
    write_workbook(
        sheets,
        out,
        money=money,
        counts=[
            c
            for c in table.columns
            if c.startswith("customers") or c in (op.ORDERS, op.DELIVERIES, op.SERVICE_HOURS)
        ],
    )
    print(f"Wrote plan version {version.id} to {out} ({', '.join(sheets)})")
    return EXIT_OK
