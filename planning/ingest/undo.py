"""Undoing an import batch: its rows leave the store, and what was derived from them is exact.

Every fact row carries the batch that brought it (planning.store.schema), so an undo deletes the
batch's transactions, activities, activity rates or program spend, and the customers it
created that no remaining row names. Customers it created that other batches still use stay:
they now belong to the earliest remaining batch that names them, and a customers file's
attributes leave them (as if the file had never been imported). The customer x month cube is
recomputed from the remaining transactions for the batch's customers and months, and the
segment totals are rebuilt from the cube, all in SQL. Everything happens in one write
transaction with one audit entry; the batch keeps its row, marked undone, so provenance says
what was imported and that it was taken back, and the same file can be imported again.

A customers, rates or spend file that updated rows already stored cannot be undone: the
earlier values are not kept anywhere (an upsert replaced them), so the undo is refused and
the message says what to do instead. The operating plan is not recomputed here: the caller
recomputes it with :attr:`UndoReport.first_day` as the first day that changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planning.core.access import Actor, require
from planning.store import audit, schema
from planning.store.cube import rebuild_segments
from planning.store.sql import month_start
from planning.store.writes import write

BATCH_COLUMNS: Final = (
    "id",
    "kind",
    "file",
    "rows",
    "created_at",
    "created_by",
    "undone_at",
    "undone_by",
)
_FACTS: Final = {
    "transactions": schema.Transaction,
    "activities": schema.Activity,
    "rates": schema.ActivityRate,
    "spend": schema.ProgramSpend,
}
_ATTRIBUTES: Final = (
    "name",
    "region",
    "industry",
    "size",
    "channel",
    "acquisition_date",
    "payment_terms_days",
)
_UPDATED: Final = {
    "customers": "existing customer(s)",
    "rates": "stored activity rate(s)",
    "spend": "stored program spend row(s)",
}
_EXAMPLES: Final = 5


class UndoRefused(ValueError):
    """The batch cannot be undone (unknown, already undone, or its old values are lost);
    nothing was changed."""


@dataclass(frozen=True)
class UndoReport:
    """What an undo removed, and what the caller needs to bring the plan up to date.

    ``removed`` counts the rows deleted per table (keys of planning.store.schema.TABLES);
    ``customers_kept`` the customers the batch created that other batches still use (a few
    of them in ``kept_examples``); ``months`` the first days of the months it touched;
    ``first_day`` the earliest day whose figures changed, None when the whole history did
    (a customers or rates batch): pass it as the planner's ``changed_from``.
    """

    batch_id: int
    kind: str
    file_name: str
    removed: Mapping[str, int]
    customers_kept: int
    kept_examples: tuple[str, ...]
    months: tuple[dt.date, ...]
    first_day: dt.date | None
    undone_at: dt.datetime
    undone_by: str
    notes: tuple[str, ...] = field(default=())

    @property
    def plan_reason(self) -> str:
        """The reason to give the plan recompute that follows the undo."""
        return f"undid batch {self.batch_id}"

    def summary(self) -> str:
        removed = ", ".join(f"{n:,} {table}" for table, n in self.removed.items() if n)
        text = (
            f"Undid batch {self.batch_id} ({self.kind}, {self.file_name}): removed "
            f"{removed or 'no rows'}."
        )
        if self.customers_kept:
            examples = ", ".join(self.kept_examples)
            more = "" if self.customers_kept <= len(self.kept_examples) else ", ..."
            text += (
                f" {self.customers_kept:,} customer(s) it created stay because other "
                f"batches use them ({examples}{more})."
            )
        return " ".join([text, *self.notes])


def list_batches(engine: Engine) -> pd.DataFrame:
    """Every import batch, newest first, undone ones included.

    Returns the columns ``id, kind, file, rows, created_at, created_by, undone_at,
    undone_by``: ``rows`` is the rows the batch added; the two times are UTC.
    """
    b = schema.ImportBatch.__table__
    query = sa.select(
        b.c.id,
        b.c.kind,
        b.c.file_name,
        b.c.rows_added,
        b.c.created_at,
        b.c.created_by,
        b.c.undone_at,
        b.c.undone_by,
    ).order_by(b.c.id.desc())
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=list(BATCH_COLUMNS))
    for column in ("created_at", "undone_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype({"id": "int64", "rows": "int64"})


def undo_batch(engine: Engine, actor: Actor, batch_id: int) -> UndoReport:
    """Take import batch ``batch_id`` out of the store, all or nothing (see the module text).

    Raises
    ------
    PermissionDenied
        Unless ``actor`` may undo imports (admins).
    UndoRefused
        For an unknown or already undone batch, or one that updated stored rows.
    """
    require(actor, "undo_import")
    return write(engine, lambda conn: _undo(conn, actor, int(batch_id)))


def _undo(conn: Connection, actor: Actor, batch_id: int) -> UndoReport:
    batches = schema.ImportBatch.__table__
    assert isinstance(batches, sa.Table)  # declarative types __table__ as FromClause
    batch = _check_undoable(
        batch_id, conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
    )
    kind, name = batch.kind, batch.file_name
    months = _months(conn, kind, batch_id)
    first_day = _first_day(conn, kind, batch_id)
    held = _held(conn, batch_id)
    removed: dict[str, int] = {}
    if kind == "transactions":
        removed["customer_months"] = _recompute_cube(conn, batch_id)
    if kind in _FACTS:
        table = _FACTS[kind].__table__
        assert isinstance(table, sa.Table)  # declarative types __table__ as FromClause
        removed[kind] = conn.execute(sa.delete(table).where(table.c.batch_id == batch_id)).rowcount
    removed["customers"], kept, examples = _drop_customers(
        conn, batch_id, clear_attributes=kind == "customers"
    )
    if kind in ("transactions", "customers"):
        rebuild_segments(conn)
    notes = _skipped_by_later_batches(conn, batch_id) if kind == "transactions" else ()
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        sa.update(batches)
        .where(batches.c.id == batch_id)
        .values(undone_at=now, undone_by=actor.name)
    )
    report = UndoReport(
        batch_id, kind, name, removed, kept, examples, months, first_day, now, actor.name, notes
    )
    audit.record(
        conn,
        actor,
        "import undo",
        f"batch {batch_id}: {name}",
        before={"batch": batch_id, "kind": kind, "file": name, "rows": held},
        after={
            "batch": batch_id,
            "undone": True,
            "rows_removed": removed,
            "customers_kept": kept,
            "months": [f"{m:%Y-%m}" for m in months],
            "first_day": None if first_day is None else first_day.isoformat(),
        },
    )
    return report


def _check_undoable(batch_id: int, batch: sa.Row[Any] | None) -> sa.Row[Any]:
    """``batch`` (its import_batches row) when it can be undone; else why not."""
    if batch is None:
        raise UndoRefused(
            f"There is no import batch {batch_id}: `python -m planning imports "
            "list` shows the batches."
        )
    if batch.undone_at is not None:
        raise UndoRefused(
            f"Batch {batch_id} ({batch.file_name}) was already undone by "
            f"{batch.undone_by} at {pd.Timestamp(batch.undone_at):%Y-%m-%d %H:%M}"
            " UTC: nothing was changed."
        )
    if batch.kind in _UPDATED and batch.rows_skipped:
        raise UndoRefused(
            f"Batch {batch_id} ({batch.file_name}) updated {batch.rows_skipped:,} "
            f"{_UPDATED[batch.kind]}; the values they had before are not stored, so it cannot "
            "be undone. Nothing was changed: import a file with the values you want instead."
        )
    return batch


def _held(conn: Connection, batch_id: int) -> dict[str, int]:
    """Rows of each table that carry the batch (the audit entry's "before")."""
    tables = {
        "customers": schema.Customer.__table__,
        **{kind: model.__table__ for kind, model in _FACTS.items()},
    }
    return {
        name: int(
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.batch_id == batch_id)
            ).scalar_one()
        )
        for name, table in tables.items()
    }


def _months(conn: Connection, kind: str, batch_id: int) -> tuple[dt.date, ...]:
    """First days of the months whose figures the batch's rows are in."""
    if kind == "customers":
        cube, customers = schema.CustomerMonth.__table__, schema.Customer.__table__
        mine = sa.select(customers.c.customer_id).where(customers.c.batch_id == batch_id)
        query = sa.select(cube.c.month).where(cube.c.customer_id.in_(mine))
    else:
        table = _FACTS[kind].__table__
        column = table.c[{"rates": "effective_from", "spend": "month"}.get(kind, "date")]
        query = sa.select(month_start(conn.engine, column)).where(table.c.batch_id == batch_id)
    days = {_as_date(value) for value in conn.execute(query.distinct()).scalars()}
    return tuple(sorted(dt.date(d.year, d.month, 1) for d in days))


def _first_day(conn: Connection, kind: str, batch_id: int) -> dt.date | None:
    """The earliest day whose plan figures change; None when any day's may.

    A customers batch moves its customers' whole history between segments, and a rates
    batch prices activities before its first effective date too (the first rate applies).
    """
    if kind in ("customers", "rates"):
        return None
    table = _FACTS[kind].__table__
    column = table.c.month if kind == "spend" else table.c.date
    first = conn.execute(
        sa.select(sa.func.min(column)).where(table.c.batch_id == batch_id)
    ).scalar()
    return None if first is None else _as_date(first)


def _recompute_cube(conn: Connection, batch_id: int) -> int:
    """Recompute the cube's months the batch touched, for its customers, without its rows.

    Returns how many customer-months the cube lost (customer-months only this batch had).
    """
    tx, cube = schema.Transaction.__table__, schema.CustomerMonth.__table__
    assert isinstance(cube, sa.Table)  # declarative types __table__ as FromClause
    first, last = conn.execute(
        sa.select(sa.func.min(tx.c.date), sa.func.max(tx.c.date)).where(tx.c.batch_id == batch_id)
    ).one()
    if first is None:
        return 0
    first, last = _as_date(first), _as_date(last)
    start = dt.date(first.year, first.month, 1)
    end = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    customers = sa.select(tx.c.customer_id).where(tx.c.batch_id == batch_id).distinct()
    cells = (cube.c.customer_id.in_(customers), cube.c.month.between(start, end))
    deleted = conn.execute(sa.delete(cube).where(*cells)).rowcount
    month = month_start(conn.engine, tx.c.date)
    unknown = tx.c.cost.is_(None)
    totals = (
        sa.select(
            tx.c.customer_id,
            month,
            sa.func.sum(tx.c.amount),
            sa.func.sum(sa.case((unknown, 0.0), else_=tx.c.cost)),
            sa.func.sum(sa.case((unknown, tx.c.amount), else_=0.0)),
            sa.func.count(),
        )
        .where(
            tx.c.customer_id.in_(customers),
            tx.c.date.between(start, end),
            tx.c.batch_id != batch_id,
        )
        .group_by(tx.c.customer_id, month)
    )
    conn.execute(
        cube.insert().from_select(
            ["customer_id", "month", "revenue", "cost", "uncosted_revenue", "transactions"], totals
        )
    )
    # (psycopg reports no row count for INSERT ... SELECT)
    inserted = conn.execute(sa.select(sa.func.count()).select_from(cube).where(*cells))
    return deleted - int(inserted.scalar_one())


def _drop_customers(
    conn: Connection, batch_id: int, *, clear_attributes: bool
) -> tuple[int, int, tuple[str, ...]]:
    """Delete the batch's customers that no remaining row names; hand the others on.

    A kept customer belongs from now on to the earliest remaining transactions batch that
    names it (the one that would have created it), so undoing that batch later removes it.
    Returns the number deleted, the number kept and the first few kept ids.
    """
    customers = schema.Customer.__table__
    tx, act = schema.Transaction.__table__, schema.Activity.__table__
    assert isinstance(customers, sa.Table)  # declarative types __table__ as FromClause
    mine = customers.c.batch_id == batch_id
    in_tx = sa.exists().where(tx.c.customer_id == customers.c.customer_id)
    in_act = sa.exists().where(act.c.customer_id == customers.c.customer_id)
    deleted = conn.execute(sa.delete(customers).where(mine, ~in_tx, ~in_act)).rowcount
    kept = int(
        conn.execute(sa.select(sa.func.count()).select_from(customers).where(mine)).scalar_one()
    )
    examples = tuple(
        conn.execute(
            sa.select(customers.c.customer_id)
            .where(mine)
            .order_by(customers.c.customer_id)
            .limit(_EXAMPLES)
        ).scalars()
    )
    if clear_attributes and kept:
        conn.execute(sa.update(customers).where(mine).values(**dict.fromkeys(_ATTRIBUTES)))
    # Activities alone cannot create a customer: one named only by them keeps this batch.
    earliest = (
        sa.select(sa.func.min(tx.c.batch_id))
        .where(tx.c.customer_id == customers.c.customer_id)
        .scalar_subquery()
    )
    if kept:
        conn.execute(sa.update(customers).where(mine, in_tx).values(batch_id=earliest))
    return deleted, kept, examples


def _skipped_by_later_batches(conn: Connection, batch_id: int) -> tuple[str, ...]:
    """Later transactions batches skipped rows whose ids were stored: maybe this batch's."""
    b = schema.ImportBatch.__table__
    later = conn.execute(
        sa.select(b.c.id, b.c.rows_skipped)
        .where(
            b.c.kind == "transactions",
            b.c.id > batch_id,
            b.c.rows_skipped > 0,
            b.c.undone_at.is_(None),
        )
        .order_by(b.c.id)
    ).all()
    return tuple(
        f"Batch {row.id} skipped {row.rows_skipped:,} row(s) whose transaction ids were "
        "already stored; any that were this batch's are gone now: undo batch "
        f"{row.id} and import its file again to bring them back."
        for row in later
    )


def _as_date(value: dt.date | str) -> dt.date:
    """A date read back from either store (SQLite returns ISO text)."""
    return pd.Timestamp(value).date()
