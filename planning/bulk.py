"""Writing many rows fast, the way each database likes it, inside the caller's transaction.

PostgreSQL gets COPY (into a temporary staging table when rows may collide with stored ones,
then one INSERT ... SELECT ... ON CONFLICT); SQLite gets a single prepared INSERT executed for
the whole chunk. Statements are compiled from SQLAlchemy constructs, never assembled from
strings, and the caller's transaction decides whether anything is kept.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from queue import Empty, Full, Queue
from typing import Literal, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

Conflict = Literal["error", "ignore", "update", "add"]
_REBUILD_MIN_ROWS = 50_000
T = TypeVar("T")


@dataclass(frozen=True)
class Payload:
    """Rows ready for one dialect's bulk path: tuples for SQLite, CSV bytes for COPY."""

    columns: tuple[str, ...]
    rows: list[tuple] | None = None
    csv: bytes | None = None
    count: int = 0


def prepare_rows(dialect: str, table: sa.Table, frame: pd.DataFrame) -> Payload:
    """Convert ``frame`` for :func:`write_rows`; pure, so it can run on another thread."""
    frame = frame[[c.name for c in table.columns if c.name in frame.columns]]
    columns = tuple(frame.columns)
    if dialect == "postgresql":
        return Payload(columns, csv=_csv_bytes(frame), count=len(frame))
    return Payload(columns, rows=_tuples(frame), count=len(frame))


def write_rows(
    conn: Connection,
    table: sa.Table,
    frame: pd.DataFrame | Payload,
    *,
    conflict: Conflict = "error",
    keys: Sequence[str] = (),
    coalesce: bool = False,
) -> None:
    """Insert ``frame`` (columns named as ``table``'s) into ``table``.

    Parameters
    ----------
    conflict
        "error": plain insert; "ignore": rows colliding on a unique key are skipped;
        "update": colliding rows have their non-key columns replaced (upsert on ``keys``);
        "add": colliding rows have the new values added to their non-key columns.
    coalesce
        With "update", keep a stored value where the new one is missing.
    """
    payload = (frame if isinstance(frame, Payload)
               else prepare_rows(conn.dialect.name, table, frame))
    if payload.count == 0:
        return
    if conn.dialect.name == "postgresql":
        _write_postgres(conn, table, payload, conflict, keys, coalesce)
    else:
        _write_sqlite(conn, table, payload, conflict, keys, coalesce)


def _upsert(insert, table: sa.Table, columns: Sequence[str], conflict: Conflict,
            keys: Sequence[str], coalesce: bool):
    if conflict == "ignore":
        return insert.on_conflict_do_nothing(index_elements=list(keys) or None)
    if conflict == "add":
        excluded = insert.excluded
        sums = {c: table.c[c] + excluded[c] for c in columns if c not in keys}
        return insert.on_conflict_do_update(index_elements=list(keys), set_=sums)
    if conflict == "update":
        excluded = insert.excluded
        updates = {
            c: (sa.func.coalesce(excluded[c], table.c[c]) if coalesce else excluded[c])
            for c in columns
            if c not in keys
        }
        return insert.on_conflict_do_update(index_elements=list(keys), set_=updates)
    return insert


def _write_sqlite(conn, table, payload: Payload, conflict, keys, coalesce) -> None:
    # Compiled INSERTs list columns in table order, as prepare_rows ordered the values.
    columns = list(payload.columns)
    stmt = _upsert(sqlite_dialect.insert(table), table, columns, conflict, keys, coalesce)
    sql = str(stmt.compile(dialect=conn.dialect, column_keys=columns))
    conn.exec_driver_sql(sql, payload.rows)


def _tuples(frame: pd.DataFrame) -> list[tuple]:
    """Rows as tuples of plain Python values; dates as ISO text (SQLite's Date storage).

    Missing floats and texts are left as NaN, which SQLite stores as NULL.
    """
    lists = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            # A few thousand distinct days at most: format each once, not once per row.
            codes, days = pd.factorize(col)
            text = np.append(days.strftime("%Y-%m-%d").to_numpy(dtype=object), None)
            lists.append(text[codes].tolist())  # code -1 (missing) picks the None
        elif pd.api.types.is_float_dtype(col) or pd.api.types.is_string_dtype(col):
            lists.append(col.tolist())
        else:
            lists.append(col.astype(object).where(col.notna(), None).tolist())
    return list(zip(*lists))


@dataclass
class BulkLoad:
    """How a load is being written; ``plain`` means no index is live, so insert plainly."""

    plain: bool = False


@contextmanager
def bulk_load(conn: Connection, table: sa.Table, incoming_rows: int, *,
              keep_unique: bool = False) -> Iterator[BulkLoad]:
    """For a large load, drop ``table``'s indexes, load, then rebuild them once.

    Keeping a B-tree current row by row costs far more than building it once from sorted
    data; when the load is at least half the size of the table, the rebuild is the cheaper
    path. ``keep_unique`` keeps unique indexes live (the importer needs them to look up
    stored keys). The DDL runs in the caller's transaction (SQLite and PostgreSQL both have
    transactional DDL), so a rolled-back import restores the indexes too.
    """
    mode = BulkLoad()
    if incoming_rows < _REBUILD_MIN_ROWS:
        yield mode
        return
    existing = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    if incoming_rows * 2 < existing:
        yield mode
        return
    indexes = sorted((i for i in table.indexes if not (keep_unique and i.unique)),
                     key=lambda i: i.name)
    for index in indexes:
        index.drop(conn)
    mode.plain = not keep_unique
    yield mode
    if conn.dialect.name == "postgresql":
        # Sort for the rebuild in memory rather than in temporary files (this transaction only).
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
    for index in indexes:
        index.create(conn)


def _write_postgres(conn, table, payload: Payload, conflict, keys, coalesce) -> None:
    columns = list(payload.columns)
    if conflict == "error":
        _copy(conn, table.name, columns, payload.csv)
        return
    stage = sa.Table(
        f"_stage_{table.name}",
        sa.MetaData(),
        *[sa.Column(c, table.c[c].type) for c in columns],
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    stage.create(conn, checkfirst=True)
    _copy(conn, stage.name, columns, payload.csv)
    insert = pg.insert(table).from_select(columns, sa.select(*[stage.c[c] for c in columns]))
    conn.execute(_upsert(insert, table, columns, conflict, keys, coalesce))
    conn.execute(sa.delete(stage))


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as headerless CSV for COPY (Arrow's writer; empty field = NULL)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    arrays = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            arrays.append(pa.array(col.to_numpy(dtype="datetime64[D]"), type=pa.date32(),
                                   mask=col.isna().to_numpy()))
        else:
            arrays.append(pa.array(col, from_pandas=True))
    buffer = io.BytesIO()
    pacsv.write_csv(pa.table(arrays, names=list(frame.columns)), buffer,
                    pacsv.WriteOptions(include_header=False))
    return buffer.getvalue()


def _copy(conn: Connection, table_name: str, columns: list[str], data: bytes) -> None:
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(table_name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(data)


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run ``items`` in a background thread, ``depth`` items ahead of the consumer.

    Parsing (pandas, pyarrow) and the database driver both release the GIL for much of their
    work, so on two cores reading the next chunk overlaps with writing this one. Exceptions
    raised by the producer are raised in the consumer; memory stays at ``depth`` items.
    """
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put((None, item), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put((None, done))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put((exc, None))

    thread = threading.Thread(target=produce, name="continuum-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            error, item = queue.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                queue.get_nowait()
            except Empty:
                thread.join(timeout=0.1)
