"""The command line: the scriptable twin of the dashboard (``python -m planning ...``).

Every command takes ``--db URL`` (default: CONTINUUM_DATABASE_URL, else the embedded SQLite
file), prints what it did, and on bad input prints what is wrong and where, then exits with a
non-zero status. Exit codes: 0 done, 1 input rejected (nothing written), 2 usage error,
3 the store could not be opened or stayed busy, 4 not allowed (sign-in refused, or the role
does not permit the write). In team mode, commands sign in (see planning.cli.common).

The command line is lazy: building the parser imports only the standard library and the
option words of planning.core, so ``--help``, a bad argument and ``status`` answer at once;
each command imports the engine modules it needs after its arguments are parsed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from planning.cli import audit as cli_audit
from planning.cli import forecast as cli_forecast
from planning.cli import imports as cli_imports
from planning.cli import optimize as cli_optimize
from planning.cli import plan as cli_plan
from planning.cli import rules as cli_rules
from planning.cli import segments as cli_segments
from planning.cli import users as cli_users
from planning.cli import value as cli_value
from planning.cli import watch as cli_watch
from planning.cli.common import EXIT_DENIED, UsageError, acting_user
from planning.core import PermissionDenied
from planning.core import columns as C

if TYPE_CHECKING:
    from planning.ingest import ImportReport

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3
# Feature commands: name -> module with add_parser(commands) and run(engine, args).
FEATURES = {
    "clv": cli_value,
    "segments": cli_segments,
    "rules": cli_rules,
    "forecast": cli_forecast,
    "plan": cli_plan,
    "watch": cli_watch,
    "optimize": cli_optimize,
    "users": cli_users,
    "audit": cli_audit,
    "imports": cli_imports,
}
_SHOWN_PROBLEMS = 20


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m planning",
        description="Continuum: customer-driven planning from your own customer data.",
    )
    parser.add_argument(
        "--db",
        help="store URL (default: $CONTINUUM_DATABASE_URL or the SQLite file data/continuum.db)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="seed the store with the demo company")
    demo.add_argument("--customers", type=int, default=5000, help="number of customers")
    demo.add_argument("--seed", type=int, default=7, help="random seed")
    demo.add_argument("--months", type=int, default=36, help="months of history")
    demo.add_argument(
        "--end", type=dt.date.fromisoformat, help="last day of history (default: end of last month)"
    )
    demo.add_argument(
        "--if-empty", action="store_true", help="do nothing when the store already has transactions"
    )
    demo.add_argument(
        "--csv-dir", type=Path, help="write the company as CSV files here instead of into the store"
    )

    imp = commands.add_parser("import", help="import a file (all rows or none)")
    imp.add_argument("kind", choices=C.KINDS, help="what the file holds")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--map",
        dest="mapping",
        default="",
        help="column mapping, e.g. customer_id=CustID,date=OrderDate,amount=Sales "
        "or by position customer_id=1,date=3,amount=5",
    )
    imp.add_argument(
        "--date-format",
        help="strftime pattern such as %%d/%%m/%%Y, or one of iso, yyyymmdd, dayfirst, monthfirst",
    )
    imp.add_argument("--customers", type=Path, help="customers file imported in the same batch")
    imp.add_argument("--customers-map", default="", help="column mapping for --customers")
    imp.add_argument(
        "--user", default=None, help="who is importing (default: $CONTINUUM_USER, else the OS user)"
    )

    commands.add_parser("status", help="show what the store holds")
    for module in FEATURES.values():
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    for k, arg in enumerate(argv, start=1):
        problem = _unusable(arg)
        if problem:
            shown = arg[:40].encode("utf-8", "replace").decode("utf-8")
            print(f"error: argument {k} ({shown!r}) {problem}", file=sys.stderr)
            return EXIT_USAGE
    args = parser.parse_args(argv)
    from planning.store import StaleWrite, StoreBusy, StoreError, default_url, open_store
    from planning.team import LoginFailed

    try:
        if args.command == "demo" and args.csv_dir:
            return _demo_csv(args)
        engine = open_store(args.db or default_url())
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STORE
    try:
        if args.command in FEATURES:
            return FEATURES[args.command].run(engine, args)
        handler = {"demo": _demo, "import": _import, "status": _status}[args.command]
        return handler(engine, args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (PermissionDenied, LoginFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DENIED
    except StaleWrite as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except StoreBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STORE
    finally:
        engine.dispose()


_UsageError = UsageError


def _unusable(arg: str) -> str:
    """Why a command-line argument cannot be used at all, or "" when it can.

    (A real command line cannot hold NUL, but main() is also called in-process. Bytes that
    are not UTF-8 can name a file, so each option that takes text checks those itself.)
    """
    return "holds a NUL character" if "\x00" in arg else ""


def _import(engine, args) -> int:
    from planning.ingest import ImportRequest, import_files, parse_mapping

    for path in (args.file, args.customers):
        try:
            found = path is None or path.is_file()
        except OSError as exc:  # a name longer than the file system allows, say
            raise _UsageError(f"cannot read {str(path)[:80]}: {exc.strerror}") from None
        if not found:
            raise _UsageError(f"file not found: {str(path)[:200]}")
    try:
        mapping = parse_mapping(args.mapping)
        customers_mapping = parse_mapping(args.customers_map)
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc
    requests = []
    if args.customers:
        requests.append(
            ImportRequest(
                "customers",
                args.customers,
                args.customers.name,
                customers_mapping,
                args.date_format,
            )
        )
    requests.append(ImportRequest(args.kind, args.file, args.file.name, mapping, args.date_format))
    started = time.perf_counter()
    reports = import_files(engine, requests, actor=acting_user(engine, args.user))
    elapsed = time.perf_counter() - started
    for report in reports:
        _print_report(report)
    if all(r.ok for r in reports):
        rows = sum(r.rows_read for r in reports)
        if rows:
            print(f"done in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s)")
        return EXIT_OK
    if len(reports) > 1:
        print(
            "nothing was written: every file in this import is rejected with the bad one.",
            file=sys.stderr,
        )
    return EXIT_REJECTED


def _print_report(report: ImportReport) -> None:
    stream = sys.stdout if report.ok else sys.stderr
    print(report.summary(), file=stream)
    for p in report.problems[:_SHOWN_PROBLEMS]:
        where = ", ".join(
            part
            for part in (
                f"row {p.row}" if p.row is not None else "",
                f"column {p.column}" if p.column else "",
                f"value {p.value!r}" if p.value is not None else "",
            )
            if part
        )
        print(f"  {where + ': ' if where else ''}{p.reason}", file=stream)
    if len(report.problems) > _SHOWN_PROBLEMS or report.bad_rows > len(report.problems):
        print(
            f"  ... {max(report.bad_rows, len(report.problems)) - _SHOWN_PROBLEMS:,} more",
            file=stream,
        )


def _demo(engine, args) -> int:
    from planning.ingest import generate_company, load_company
    from planning.store import data_status, describe_url

    if args.if_empty and not data_status(engine).is_empty:
        print(f"The store at {describe_url(engine.url)} already has data: demo not seeded.")
        return EXIT_OK
    if not data_status(engine).is_empty:
        raise _UsageError(
            f"the store at {describe_url(engine.url)} already has transactions; seed the demo "
            "into an empty store (--db sqlite:///data/demo.db) or use --if-empty."
        )
    started = time.perf_counter()
    company = generate_company(args.customers, seed=args.seed, months=args.months, end=args.end)
    generated = time.perf_counter() - started
    reports = load_company(engine, company, actor=acting_user(engine))
    for report in reports:
        _print_report(report)
    print(
        f"demo company: {len(company.customers):,} customers, "
        f"{len(company.transactions):,} transactions, generated in {generated:.1f} s, "
        f"stored in {time.perf_counter() - started - generated:.1f} s "
        f"at {describe_url(engine.url)}"
    )
    return EXIT_OK if all(r.ok for r in reports) else EXIT_REJECTED


def _demo_csv(args) -> int:
    from planning.ingest import generate_company, write_company_csv

    started = time.perf_counter()
    company = generate_company(args.customers, seed=args.seed, months=args.months, end=args.end)
    generated = time.perf_counter() - started
    paths = write_company_csv(company, args.csv_dir)
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    print(
        f"demo company: {len(company.customers):,} customers, "
        f"{len(company.transactions):,} transactions, generated in {generated:.1f} s"
    )
    return EXIT_OK


def _status(engine, _args) -> int:
    from planning.store import data_status

    status = data_status(engine)
    print(f"store:        {status.location} ({status.backend})")
    print(f"customers:    {status.customers:,}")
    print(
        f"transactions: {status.transactions:,}"
        + (f" ({status.first_date} .. {status.last_date})" if status.first_date else "")
    )
    print(f"activities:   {status.activities:,}")
    print(
        f"imports:      {status.batches}"
        + (
            f", last {status.last_import_file} at {status.last_import_at:%Y-%m-%d %H:%M}"
            if status.last_import_at
            else ""
        )
    )
    return EXIT_OK
