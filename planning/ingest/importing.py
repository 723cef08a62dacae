"""All-or-nothing imports of a company's files into the store, with provenance.

An import reads a file chunk by chunk (memory stays bounded), parses and validates every row,
and writes inside one database transaction. If any row is bad, the transaction is rolled back
and the report names each bad cell by row, column, value and reason: the store is exactly as it
was. Every import is an import batch (file name, checksum, rows, time, who); importing a file
whose checksum is already stored adds nothing, and a transaction id is never stored twice.
Rows that are identical within one file are separate purchases and are all kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planning.core import columns as C
from planning.core.access import Actor, require
from planning.ingest import readers
from planning.ingest.keys import KeyLog
from planning.ingest.parsing import (
    AmbiguousDates,
    Parsed,
    clean_text,
    parse_dates,
    parse_integers,
    parse_numbers,
    resolve_date_format,
)
from planning.ingest.readers import Chunk, FileLayout, LayoutError, Source
from planning.store import audit, schema
from planning.store.bulk import (
    BulkLoad,
    Conflict,
    Payload,
    arrow_text,
    bulk_load,
    prefetch,
    prepare_rows,
    write_rows,
)
from planning.store.cube import (
    CubeBuilder,
    chunk_totals,
    lens_snapshot,
    rebuild_segments_if_moved,
    write_cube,
)
from planning.store.writes import is_transient

MAX_PROBLEMS = 1000
# Kinds whose rows update a stored row with the same key instead of adding one.
_UPSERTED = ("customers", "rates", "spend")
# Programs a spend file may name, with the spellings exports use for them.
_PROGRAM_ALIASES = {
    "acquisition": "acquisition",
    "retention": "retention",
    "crosssell": "cross_sell",
    "upsell": "cross_sell",
    "crosssellupsell": "cross_sell",
    "winback": "win_back",
    "servicetier": "service_tier",
}


@dataclass(frozen=True)
class ImportProblem:
    """One reason a file was rejected. ``row`` is the line/spreadsheet row number (header = 1)."""

    row: int | None
    column: str | None
    value: str | None
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or why it wrote nothing."""

    kind: str
    file_name: str
    rows_read: int
    rows_added: int
    rows_skipped: int
    problems: tuple[ImportProblem, ...] = ()
    batch_id: int | None = None
    already_imported_as: int | None = None
    bad_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(p.row, p.column, p.value, p.reason) for p in self.problems],
            columns=["row", "column", "value", "reason"],
        ).astype({"row": "Int64"})

    def summary(self) -> str:
        if self.already_imported_as is not None:
            return (
                f"{self.file_name} was already imported as batch "
                f"{self.already_imported_as}: nothing added."
            )
        if not self.ok:
            shown = len(self.problems)
            more = "" if self.bad_rows <= shown else f" (first {shown} shown)"
            rows = f"{self.bad_rows:,} bad row(s){more}" if self.bad_rows else "a problem"
            return (
                f"{self.file_name} was rejected with {rows}: nothing was written, "
                "the store is unchanged."
            )
        if not self.rows_skipped:
            skipped = ""
        elif self.kind == "customers":
            skipped = f"; {self.rows_skipped:,} existing customer(s) updated"
        elif self.kind in _UPSERTED:
            skipped = f"; {self.rows_skipped:,} stored row(s) updated"
        else:
            skipped = f"; {self.rows_skipped:,} already stored, skipped"
        return (
            f"Imported {self.rows_added:,} {self.kind} row(s) from {self.file_name} "
            f"as batch {self.batch_id}{skipped}."
        )


class ImportRejected(ValueError):
    """A file that cannot be read at all; ``report`` says why."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(report.problems[0].reason if report.problems else report.summary())
        self.report = report


@dataclass(frozen=True)
class ImportRequest:
    """One file to import: what kind it is, where it is, and how its columns map."""

    kind: str
    source: Source | pd.DataFrame
    file_name: str | None = None
    mapping: dict[str, str] | None = None
    date_format: str | None = None
    encoding: str | None = None  # overrides the sniffed encoding


@dataclass
class _State:
    """Cross-chunk facts of one request; lives only for the duration of the import."""

    date_formats: dict[str, str] = field(default_factory=dict)
    transaction_ids: KeyLog = field(default_factory=KeyLog)
    customers: list[pa.Array] = field(default_factory=list)  # distinct ids per chunk
    cube: CubeBuilder = field(default_factory=CubeBuilder)
    written: int = 0
    skipped: int = 0
    check_ids: bool = False  # the store holds transaction ids a new row may repeat
    problems: list[ImportProblem] = field(default_factory=list)
    bad_rows: int = 0
    rows_read: int = 0

    def add(self, problems: list[ImportProblem], bad_rows: int) -> None:
        room = MAX_PROBLEMS - len(self.problems)
        self.problems.extend(problems[: max(room, 0)])
        self.bad_rows += bad_rows


_ATTEMPTS = 3


class _Rollback(Exception):
    pass


def import_file(
    engine: Engine,
    kind: str,
    source: Source | pd.DataFrame,
    *,
    file_name: str | None = None,
    mapping: dict[str, str] | None = None,
    date_format: str | None = None,
    actor: Actor,
) -> ImportReport:
    """Import one file (see :func:`import_files`)."""
    request = ImportRequest(kind, source, file_name, mapping, date_format)
    return import_files(engine, [request], actor=actor)[0]


def import_files(
    engine: Engine, requests: Sequence[ImportRequest], *, actor: Actor
) -> tuple[ImportReport, ...]:
    """Import several files in one transaction: all of them are written, or none.

    Customers files should come before the transactions or activities that name them.
    Returns one report per request; if any report has problems, nothing was written. Each
    batch written gets an audit entry in the same transaction.

    Raises
    ------
    PermissionDenied
        Unless ``actor`` may import data (admins).
    """
    require(actor, "import_data")
    for request in requests:
        if request.kind not in C.CONTRACT:
            raise ValueError(f"Unknown kind '{request.kind}': use one of {', '.join(C.KINDS)}.")
    try:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return _import_all(engine, requests, actor)
            except sa.exc.DBAPIError as exc:
                # (kind, checksum) is unique: when another session committed the same file
                # while this one read it, run again and the checksum check reports that batch.
                # Two imports updating the same cube rows can deadlock on PostgreSQL; one runs
                # again.
                again = isinstance(exc, sa.exc.IntegrityError) or is_transient(exc)
                if not again or attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable")
    except UnicodeDecodeError:
        # The first bytes looked like UTF-8 but a later one is not: read the files as Latin-1.
        latin = [
            replace(r, encoding="latin-1") if not isinstance(r.source, pd.DataFrame) else r
            for r in requests
        ]
        return _import_all(engine, latin, actor)


def _import_all(
    engine: Engine, requests: Sequence[ImportRequest], actor: Actor
) -> tuple[ImportReport, ...]:
    reports: list[ImportReport] = []
    try:
        with engine.connect() as conn, conn.begin():
            if conn.dialect.name == "sqlite":
                # Take the write lock first: a read-then-write transaction that finds another
                # writer committed in between fails at once instead of waiting its turn.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            for request in requests:
                # Customers written earlier in this transaction count as known.
                known = _stored_customers(conn) if request.kind == "activities" else None
                reports.append(_import_one(conn, request, actor, known))
            if not all(r.ok for r in reports):
                raise _Rollback
    except _Rollback:
        reports = [replace(r, rows_added=0, rows_skipped=0, batch_id=None) for r in reports]
    return tuple(reports)


def _import_one(
    conn: Connection, request: ImportRequest, actor: Actor, known_customers: pa.Array | None
) -> ImportReport:
    name = request.file_name or (
        request.source.name if isinstance(request.source, Path) else "upload"
    )
    checksum = _checksum(request.source)
    batches = schema.ImportBatch.__table__
    assert isinstance(batches, sa.Table)  # declarative types __table__ as FromClause
    previous = conn.execute(
        sa.select(batches.c.id).where(
            batches.c.kind == request.kind,
            batches.c.checksum == checksum,
            batches.c.undone_at.is_(None),
        )  # undone: import again
    ).scalar()
    if previous is not None:
        return ImportReport(request.kind, name, 0, 0, 0, already_imported_as=previous)
    try:
        layout, mapping = _layout_and_mapping(request, name)
    except ImportRejected as rejected:
        return rejected.report
    batch_id = _insert_batch(conn, request, name, checksum, mapping, actor)
    # Files keyed on stored rows (customers, rates, spend) add what the table gains and update
    # the rest; an undo needs to know which batches updated rows (see planning.ingest.undo).
    rows_before = _count(conn, _table(request.kind)) if request.kind in _UPSERTED else 0
    segments_before = lens_snapshot(conn) if request.kind == "customers" else None
    state = _stream(conn, request, layout, mapping, batch_id, known_customers)
    if state.problems:
        ordered = sorted(state.problems, key=lambda p: (p.row is not None, p.row or 0))
        return ImportReport(
            request.kind, name, state.rows_read, 0, 0, tuple(ordered), bad_rows=state.bad_rows
        )
    added = _finish(conn, request.kind, batch_id, state, rows_before)
    if request.kind == "customers":
        rebuild_segments_if_moved(conn, segments_before)
    conn.execute(
        sa.update(batches)
        .where(batches.c.id == batch_id)
        .values(rows_read=state.rows_read, rows_added=added, rows_skipped=state.rows_read - added)
    )
    audit.record(
        conn,
        actor,
        "import",
        f"batch {batch_id}: {name}",
        after={
            "batch": batch_id,
            "kind": request.kind,
            "file": name,
            "checksum": checksum,
            "rows_read": state.rows_read,
            "rows_added": added,
            "mapping": mapping,
        },
    )
    return ImportReport(
        request.kind, name, state.rows_read, added, state.rows_read - added, batch_id=batch_id
    )


def _insert_batch(
    conn: Connection,
    request: ImportRequest,
    name: str,
    checksum: str,
    mapping: dict[str, str],
    actor: Actor,
) -> int:
    batches = schema.ImportBatch.__table__
    assert isinstance(batches, sa.Table)  # declarative types __table__ as FromClause
    return conn.execute(
        sa.insert(batches)
        .values(
            kind=request.kind,
            file_name=name[:512],
            checksum=checksum,
            rows_read=0,
            rows_added=0,
            rows_skipped=0,
            created_at=dt.datetime.now(dt.UTC),
            created_by=actor.name,
            mapping=",".join(f"{k}={v}" for k, v in mapping.items())[:2048],
        )
        .returning(batches.c.id)
    ).scalar_one()


def _checksum(source: Source | pd.DataFrame) -> str:
    if isinstance(source, pd.DataFrame):
        hashed = pd.util.hash_pandas_object(source, index=False).to_numpy()
        return readers.file_checksum(hashed.tobytes() + ",".join(source.columns).encode())
    return readers.file_checksum(source)


def _layout_and_mapping(request: ImportRequest, name: str) -> tuple[FileLayout, dict[str, str]]:
    def reject(reasons: list[str]) -> ImportRejected:
        problems = tuple(ImportProblem(None, None, None, r) for r in reasons)
        return ImportRejected(ImportReport(request.kind, name, 0, 0, 0, problems))

    if isinstance(request.source, pd.DataFrame):
        layout = FileLayout("frame", None, True, tuple(map(str, request.source.columns)))
    else:
        try:
            layout = readers.sniff_layout(request.source, name)
        except LayoutError as exc:
            raise reject([str(exc)]) from exc
        if request.encoding:
            layout = replace(layout, encoding=request.encoding)
    mapping, problems = readers.resolve_mapping(request.kind, layout, request.mapping)
    if problems:
        raise reject(problems)
    return layout, mapping


def _chunks(request: ImportRequest, layout: FileLayout, mapping: dict[str, str]) -> Iterator[Chunk]:
    source = request.source
    if isinstance(source, pd.DataFrame):
        step = readers.CHUNK_ROWS
        for start in range(0, len(source), step):
            part = source.iloc[start : start + step]
            frame = pd.DataFrame({t: part[c] for t, c in mapping.items()}).reset_index(drop=True)
            rows = pd.Series(np.arange(start, start + len(part)) + 2, index=frame.index)
            yield Chunk(frame, rows)
        return
    yield from readers.read_chunks(source, layout, mapping)


def preview_file(
    source: Source,
    file_name: str,
    kind: str,
    mapping: dict[str, str] | None = None,
    date_format: str | None = None,
    rows: int = 20,
) -> pd.DataFrame:
    """The first ``rows`` rows parsed into contract columns (bad cells left empty).

    Raises
    ------
    ImportRejected
        If the file is not a table or required columns cannot be mapped.
    """
    request = ImportRequest(kind, source, file_name, mapping, date_format)
    layout, resolved = _layout_and_mapping(request, file_name)
    chunk = next(readers.read_chunks(source, layout, resolved, chunk_rows=rows), None)
    if chunk is None:
        return pd.DataFrame(columns=list(resolved))
    state = _State()
    try:
        typed, _ = _typed(request.kind, chunk, state, request.date_format, layout)
    except AmbiguousDates:
        return chunk.frame
    return typed


def sniff_layout(source: Source, file_name: str) -> FileLayout:
    """See :func:`planning.ingest.readers.sniff_layout`; raises ImportRejected for a non-table."""
    try:
        return readers.sniff_layout(source, file_name)
    except LayoutError as exc:
        raise ImportRejected(
            ImportReport("?", file_name, 0, 0, 0, (ImportProblem(None, None, None, str(exc)),))
        ) from exc


suggest_mapping = readers.suggest_mapping


def _stream(
    conn: Connection,
    request: ImportRequest,
    layout: FileLayout,
    mapping: dict[str, str],
    batch_id: int,
    known_customers: pa.Array | None,
) -> _State:
    state = _State()
    source = request.source
    incoming = (
        len(source) if isinstance(source, pd.DataFrame) else readers.estimate_rows(source, layout)
    )
    validated = _validated(request, layout, mapping, state, known_customers)
    if request.kind == "transactions" and C.TRANSACTION_ID in mapping:
        state.check_ids = _stores_transaction_ids(conn)
    with bulk_load(conn, _table(request.kind), incoming, keep_unique=state.check_ids) as mode:
        chunks: Iterator[tuple[pd.DataFrame, pd.Series, _Prepared | None]] = (
            _prepared(validated, state, conn.dialect.name, batch_id, mode)
            if request.kind == "transactions"
            else ((typed, bad, None) for typed, bad in validated)
        )
        # Reading, validating and converting the next chunk overlaps with writing this one.
        for typed, bad, prepared in prefetch(chunks, depth=1):
            if bad.any() or state.problems:
                continue  # keep validating for a full report; nothing more is written
            _write_chunk(
                conn,
                request.kind,
                typed,
                batch_id,
                state,
                mode,
                prepared=prepared,
            )
            # Arrow's allocator keeps freed chunks for reuse; hand them back so the index
            # rebuild and the cube do not stack on top of them (-60 MB peak on SQLite).
            pa.default_memory_pool().release_unused()
        # A rejected load is rolled back, which restores the indexes: do not rebuild them.
        mode.discard = bool(state.problems)
    if state.rows_read == 0 and not state.problems:
        state.add(
            [
                ImportProblem(
                    None, None, None, "The file has a header but no data rows: nothing to import."
                )
            ],
            0,
        )
    return state


@dataclass(frozen=True)
class _Prepared:
    frame: pd.DataFrame
    payload: Payload | pd.DataFrame
    cube: pa.Table


def _prepared(
    validated: Iterator[tuple[pd.DataFrame, pd.Series]],
    state: _State,
    dialect: str,
    batch_id: int,
    mode: BulkLoad,
) -> Iterator[tuple[pd.DataFrame, pd.Series, _Prepared | None]]:
    """Aggregate good transaction chunks, and encode them for COPY, on the reading thread.

    Building SQLite's row tuples is pure Python work that holds the GIL, so it stays on the
    writing thread; the binary COPY encoding for PostgreSQL is numpy and Arrow work that
    releases it and overlaps.
    """
    table = _table("transactions")
    for typed, bad in validated:
        if bad.any() or state.problems:
            yield typed, bad, None
            continue
        frame = typed.assign(batch_id=batch_id)
        ids = mode.take_ids(len(frame))
        if ids is not None:
            frame.insert(0, "id", ids)
        rows = prepare_rows(dialect, table, frame) if dialect == "postgresql" else frame
        yield typed, bad, _Prepared(frame, rows, chunk_totals(frame))


def _validated(
    request: ImportRequest,
    layout: FileLayout,
    mapping: dict[str, str],
    state: _State,
    known_customers: pa.Array | None,
) -> Iterator[tuple[pd.DataFrame, pd.Series]]:
    try:
        for chunk in _chunks(request, layout, mapping):
            yield from _validate_chunk(request, layout, chunk, state, known_customers)
        if request.kind == "transactions":
            _check_duplicate_ids(state)  # before the writer rebuilds the unique index
    except readers.RaggedRow as exc:
        state.add([_ragged_problem(exc)], 1)
    except AmbiguousDates as exc:
        state.add([ImportProblem(None, C.DATE, None, str(exc))], 0)


def _ragged_problem(row: readers.RaggedRow) -> ImportProblem:
    return ImportProblem(
        row.line,
        None,
        _short(row.text) if row.text else None,
        f"the line has {row.fields} fields where the file has {row.expected}",
    )


def _validate_chunk(
    request: ImportRequest,
    layout: FileLayout,
    chunk: Chunk,
    state: _State,
    known_customers: pa.Array | None,
) -> Iterator[tuple[pd.DataFrame, pd.Series]]:
    if chunk.ragged:
        state.add([_ragged_problem(r) for r in chunk.ragged], len(chunk.ragged))
    state.rows_read += len(chunk.frame) + len(chunk.ragged)
    typed, bad = _typed(request.kind, chunk, state, request.date_format, layout)
    bad |= _check_rules(request.kind, typed, chunk, state, known_customers, bad)
    yield typed, bad


def _typed(
    kind: str, chunk: Chunk, state: _State, date_format: str | None, layout: FileLayout
) -> tuple[pd.DataFrame, pd.Series]:
    """Parse each mapped column; record bad and missing required cells."""
    table = _table(kind)
    out: dict[str, pd.Series] = {}
    bad = pd.Series(False, index=chunk.frame.index)
    problems: list[ImportProblem] = []
    for name, ctype, required in C.CONTRACT[kind]:
        if name not in chunk.frame:
            continue
        text = chunk.frame[name]
        if ctype == "date":
            if name not in state.date_formats:
                state.date_formats[name] = resolve_date_format(text, date_format)
            parsed = parse_dates(text, state.date_formats[name])
        elif ctype == "number":
            parsed = parse_numbers(text, decimal_comma=layout.delimiter == ";")
        elif ctype == "integer":
            parsed = parse_integers(text)
        else:
            length = getattr(table.c[name].type, "length", None) or 256
            parsed = clean_text(text, length)
        missing = (
            parsed.values.isna() & ~parsed.bad if required else pd.Series(False, index=text.index)
        )
        problems += _cell_problems(chunk, name, parsed, missing)
        bad |= parsed.bad | missing
        out[name] = parsed.values
    state.add(problems, int(bad.sum()))
    return pd.DataFrame(out, index=chunk.frame.index), bad


def _cell_problems(
    chunk: Chunk, name: str, parsed: Parsed, missing: pd.Series
) -> list[ImportProblem]:
    problems = []
    for mask, reason in (
        (missing, f"missing value: '{name}' is required"),
        (parsed.bad, f"cannot read '{name}': expected {parsed.expected}"),
    ):
        if mask.any():
            idx = mask[mask].index[:MAX_PROBLEMS]
            values = chunk.frame.loc[idx, name]
            problems += [
                ImportProblem(int(chunk.rows[i]), name, None if pd.isna(v) else _short(v), reason)
                for i, v in values.items()
            ]
    return problems


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _rule(
    chunk: Chunk, typed: pd.DataFrame, mask: pd.Series, column: str, reason: str
) -> list[ImportProblem]:
    idx = mask[mask].index[:MAX_PROBLEMS]
    return [
        ImportProblem(int(chunk.rows[i]), column, _short(chunk.frame.at[i, column]), reason)
        for i in idx
    ]


def _check_rules(
    kind: str,
    typed: pd.DataFrame,
    chunk: Chunk,
    state: _State,
    known_customers: pa.Array | None,
    already_bad: pd.Series,
) -> pd.Series:
    """Rules beyond one cell's type: unknown customers, negative rates, unknown programs..."""
    bad = already_bad.copy()
    problems: list[ImportProblem] = []

    def flag(mask: pd.Series, column: str, reason: str) -> None:
        nonlocal bad
        mask = mask.fillna(False).astype(bool) & ~bad
        if mask.any():
            problems.extend(_rule(chunk, typed, mask, column, reason))
            bad |= mask

    if kind == "transactions" and C.TRANSACTION_ID in typed:
        ids = arrow_text(typed[C.TRANSACTION_ID], pa.string())
        present = ids.is_valid()
        state.transaction_ids.add(
            ids.filter(present), chunk.rows.to_numpy()[present.to_numpy(zero_copy_only=False)]
        )
    if kind == "transactions":
        # Arrow hashes 32-bit-offset strings several times faster than large ones.
        customers = arrow_text(typed[C.CUSTOMER_ID], pa.string())
        state.customers.append(pc.unique(customers.drop_null()))
    elif kind == "activities":
        ids = typed[C.CUSTOMER_ID]
        known = pc.is_in(arrow_text(ids), value_set=known_customers)
        flag(
            ids.notna() & ~pd.Series(known.to_numpy(zero_copy_only=False), index=ids.index),
            C.CUSTOMER_ID,
            "unknown customer: import the customer (or a transaction of theirs) first",
        )
        if C.QUANTITY in typed:
            flag(typed[C.QUANTITY] < 0, C.QUANTITY, "activity quantity cannot be negative")
    elif kind == "rates":
        flag(typed[C.RATE] < 0, C.RATE, "an activity rate cannot be negative")
    elif kind == "spend":
        programs = typed[C.PROGRAM].str.lower().str.replace(r"[^a-z]", "", regex=True)
        typed[C.PROGRAM] = programs.map(_PROGRAM_ALIASES)
        flag(
            programs.notna() & typed[C.PROGRAM].isna(),
            C.PROGRAM,
            f"unknown program: use one of {', '.join(sorted(set(_PROGRAM_ALIASES.values())))}",
        )
        flag(typed[C.SPEND] < 0, C.SPEND, "spend cannot be negative")
    elif kind == "customers":
        ids = typed[C.CUSTOMER_ID]
        flag(
            ids.duplicated(keep="first") & ids.notna(),
            C.CUSTOMER_ID,
            "customer listed twice in this file",
        )
        if C.PAYMENT_TERMS_DAYS in typed:
            flag(
                typed[C.PAYMENT_TERMS_DAYS] < 0,
                C.PAYMENT_TERMS_DAYS,
                "payment terms cannot be negative",
            )
    state.add(problems, int((bad & ~already_bad).sum()))
    return bad & ~already_bad


def _check_duplicate_ids(state: _State) -> None:
    """Report every row whose transaction id an earlier row of the file already has."""
    rows, firsts = state.transaction_ids.repeats()
    problems = [
        ImportProblem(
            int(row), C.TRANSACTION_ID, None, f"duplicate transaction id (first on row {first})"
        )
        for row, first in zip(rows[:MAX_PROBLEMS], firsts[:MAX_PROBLEMS], strict=True)
    ]
    state.add(problems, len(rows))


def _table(kind: str) -> sa.Table:
    return schema.TABLES[kind]


def _write_chunk(
    conn: Connection,
    kind: str,
    typed: pd.DataFrame,
    batch_id: int,
    state: _State,
    mode: BulkLoad,
    *,
    prepared: _Prepared | None = None,
) -> None:
    frame = typed.assign(batch_id=batch_id)
    if kind == "transactions":
        assert prepared is not None
        frame, rows, cube = prepared.frame, prepared.payload, prepared.cube
        if state.check_ids:
            stored = _stored_ids(conn, frame[C.TRANSACTION_ID])
            if stored.any():
                state.skipped += int(stored.sum())
                frame = frame[~stored]
                rows, cube = frame, chunk_totals(frame)
        # A repeat within the file is caught before commit; ON CONFLICT keeps the insert
        # from failing on it first, so the report can name both rows.
        conflict: Conflict = "ignore" if C.TRANSACTION_ID in frame and not mode.plain else "error"
        write_rows(conn, _table(kind), rows, conflict=conflict, keys=[C.TRANSACTION_ID])
        state.written += len(frame)
        state.cube.add(cube)
    elif kind == "customers":
        write_rows(
            conn, _table(kind), frame, conflict="update", keys=[C.CUSTOMER_ID], coalesce=True
        )
    elif kind == "activities":
        frame[C.ACTIVITY] = _activity_names(frame[C.ACTIVITY])
        if C.QUANTITY not in frame:
            frame[C.QUANTITY] = 1.0
        frame[C.QUANTITY] = frame[C.QUANTITY].fillna(1.0)
        ids = mode.take_ids(len(frame))
        if ids is not None:
            frame.insert(0, "id", ids)
        write_rows(conn, _table(kind), frame)
        state.written += len(frame)
    elif kind == "rates":
        frame[C.ACTIVITY] = _activity_names(frame[C.ACTIVITY])
        if C.EFFECTIVE_FROM not in frame:
            frame[C.EFFECTIVE_FROM] = pd.Timestamp("1900-01-01")
        frame[C.EFFECTIVE_FROM] = frame[C.EFFECTIVE_FROM].fillna(pd.Timestamp("1900-01-01"))
        write_rows(
            conn, _table(kind), frame, conflict="update", keys=[C.ACTIVITY, C.EFFECTIVE_FROM]
        )
    elif kind == "spend":
        frame[C.MONTH] = frame[C.MONTH].dt.to_period("M").dt.to_timestamp()
        write_rows(
            conn, _table(kind), frame, conflict="update", keys=[C.MONTH, C.SEGMENT, C.PROGRAM]
        )


def _stores_transaction_ids(conn: Connection) -> bool:
    tx = schema.Transaction.__table__
    query = sa.select(tx.c.transaction_id).where(tx.c.transaction_id.is_not(None)).limit(1)
    return conn.execute(query).first() is not None


_ID_LOOKUP_BATCH = 20_000  # below SQLite's and PostgreSQL's bound-parameter limits


def _stored_ids(conn: Connection, ids: pd.Series) -> pd.Series:
    """Mask of ``ids`` already stored by an earlier batch (looked up through the index)."""
    tx = schema.Transaction.__table__
    values = ids.dropna().unique().tolist()
    found: set[str] = set()
    for start in range(0, len(values), _ID_LOOKUP_BATCH):
        batch = values[start : start + _ID_LOOKUP_BATCH]
        found.update(
            conn.execute(
                sa.select(tx.c.transaction_id).where(tx.c.transaction_id.in_(batch))
            ).scalars()
        )
    return ids.isin(found) if found else pd.Series(False, index=ids.index)


def _activity_names(names: pd.Series) -> pd.Series:
    return names.str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)


def _finish(conn: Connection, kind: str, batch_id: int, state: _State, rows_before: int) -> int:
    """Create customers first seen in transactions; count the rows this batch added.

    For customers, rates and spend files, rows naming a stored key update it and count as
    skipped.
    """
    table = _table(kind)
    if kind == "transactions":
        _add_customers(conn, state, batch_id)
        if state.cube:
            write_cube(conn, state.cube.totals())
        return state.written
    if kind == "activities":
        return state.written
    return _count(conn, table) - rows_before


def _add_customers(conn: Connection, state: _State, batch_id: int) -> None:
    """Store the customers first seen in this file (without attributes)."""
    if not state.customers:
        return
    seen = pc.unique(pa.chunked_array(state.customers, type=pa.string()))
    stored = _stored_customers(conn).cast(pa.string())
    new = seen.filter(pc.invert(pc.is_in(seen, value_set=stored))).cast(pa.large_string())
    if len(new):
        new = new.take(pc.array_sort_indices(new))
        ids = pd.DataFrame({C.CUSTOMER_ID: pd.arrays.ArrowStringArray(new), "batch_id": batch_id})
        # Another session may add the same customer meanwhile: ON CONFLICT DO NOTHING.
        write_rows(conn, _table("customers"), ids, conflict="ignore", keys=[C.CUSTOMER_ID])


def _count(conn: Connection, table: sa.Table, where=None) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    return int(conn.execute(query).scalar_one())


def _stored_customers(conn: Connection) -> pa.Array:
    t = schema.Customer.__table__
    return pa.array(
        conn.execute(sa.select(t.c.customer_id)).scalars().all(), type=pa.large_string()
    )


def import_history(engine: Engine) -> pd.DataFrame:
    """Every import batch, newest first."""
    b = schema.ImportBatch.__table__
    query = sa.select(
        b.c.id,
        b.c.kind,
        b.c.file_name,
        b.c.rows_read,
        b.c.rows_added,
        b.c.rows_skipped,
        b.c.created_at,
        b.c.created_by,
    ).order_by(b.c.id.desc())
    with engine.connect() as conn:
        return pd.read_sql(query, conn)
