"""``python -m planning imports ...``: the import batches, and undoing one (admins).

``imports list`` prints every batch, newest first, with who undid it and when.
``imports undo BATCH_ID`` takes the batch out of the store with everything derived from it
(see planning.ingest.undo), then brings the operating plan up to date when the store has one. A
batch
that cannot be undone (unknown, already undone, or it updated stored rows) exits 1 with the
reason; a user whose role does not allow it exits 4.
"""

from __future__ import annotations

import argparse
import sys

from planning.cli.common import EXIT_OK, EXIT_REJECTED, acting_user, positive_id


def add_parser(commands: argparse._SubParsersAction) -> None:
    imports = commands.add_parser("imports", help="list import batches or undo one (admins)")
    actions = imports.add_subparsers(dest="imports_action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every import batch, newest first")
    take_back = actions.add_parser(
        "undo", help="remove a batch's rows and recompute what was derived from them"
    )
    take_back.add_argument("batch_id", type=positive_id, metavar="BATCH_ID")
    take_back.add_argument(
        "--user", default=None, help="the admin undoing it (default: $CONTINUUM_USER)"
    )


def run(engine, args: argparse.Namespace) -> int:
    from planning import ingest, plan

    if args.imports_action == "list":
        return _list(engine)
    actor = acting_user(engine, args.user)
    try:
        report = ingest.undo_batch(engine, actor, args.batch_id)
    except ingest.UndoRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    print(report.summary())
    if plan.latest_version(engine) is None:
        print("The store has no operating plan yet: nothing to recompute.")
        return EXIT_OK
    from planning.plan import Planner

    try:
        result = Planner(engine).recompute(
            "import", actor=actor, reason=report.plan_reason, changed_from=report.first_day
        )
    except ValueError as exc:
        print(f"The plan was not recomputed: {exc}")
        return EXIT_OK
    if result.version_id is None:
        print(f"The plan did not change ({result.seconds:.1f} s).")
    else:
        print(f"Plan version {result.version_id} ({result.trigger}) in {result.seconds:.1f} s.")
    return EXIT_OK


def _list(engine) -> int:
    import pandas as pd

    from planning import ingest

    batches = ingest.list_batches(engine)
    if batches.empty:
        print("The store holds no import batches yet.")
        return EXIT_OK
    for row in batches.to_dict("records"):
        undone = (
            ""
            if pd.isna(row["undone_at"])
            else f"  undone {row['undone_at']:%Y-%m-%d %H:%M} by {row['undone_by']}"
        )
        print(
            f"{row['id']:>6}  {row['created_at']:%Y-%m-%d %H:%M}  {row['kind']:<12} "
            f"{row['rows']:>10,} rows  {row['file']}  (by {row['created_by']}){undone}"
        )
    return EXIT_OK
