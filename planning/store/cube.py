"""The customer x month cube as an import builds it, and the segment totals read from it.

Every transactions import keeps the ``customer_months`` table current (planning.store.facts reads it
instead of every transaction). While a file streams in, each written chunk adds its
customer-month totals (summed on the reading thread) to a running list of Arrow columns; at
the end one sorted aggregation turns them into one row per customer-month, in the order of the
table's key so that the database appends to its B-tree instead of splitting pages all over it, and
the
rows are written in one pass (added to stored months when the cube already holds data).
Memory stays bounded: when the list passes a few million rows it is folded into its totals.

The same write adds the load's totals to ``segment_months`` (per attribute lens, segment and
month), so segment series never join every customer-month to the customers table; a
customers import that moves a customer who has bought to another segment rebuilds those
totals from the cube in SQL.

A transaction without a cost of goods adds its amount to ``uncosted_revenue`` (costed at query
time with the documented default margin), so changing that assumption needs no rebuild.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from planning.core import columns as C
from planning.core.options import ATTRIBUTE_LENSES
from planning.store import schema
from planning.store.bulk import arrow_text, primary_key_rebuilt, write_rows
from planning.store.facts import UNASSIGNED

REVENUE: Final = C.REVENUE
COST: Final = C.COST
UNCOSTED_REVENUE: Final = C.UNCOSTED_REVENUE
TRANSACTIONS: Final = C.TRANSACTIONS
CUSTOMERS: Final = C.CUSTOMERS
KEYS: Final = (C.CUSTOMER_ID, C.MONTH)
_FOLD_ROWS = 2_500_000  # ~100 MB of pending rows at most
_WRITE_ROWS = 100_000  # rows per statement: bounded memory for the driver


def chunk_totals(frame: pd.DataFrame) -> pa.Table:
    """``frame``'s transactions summed per customer and month (the cube's columns).

    Summing each chunk as it passes (on the reading thread) roughly halves what the builder
    holds for a file in date order, where a customer's month spans one or two chunks.
    """
    amount = frame[C.AMOUNT].to_numpy(dtype="float64")
    if C.COST in frame:
        cost = frame[C.COST].to_numpy(dtype="float64", na_value=np.nan)
        costed = ~np.isnan(cost)
    else:
        cost, costed = np.zeros(len(frame)), np.zeros(len(frame), dtype=bool)
    months = frame[C.DATE].to_numpy(dtype="datetime64[M]").astype("datetime64[s]")
    rows = pa.table(
        {
            # Arrow hashes 32-bit-offset strings several times faster than large ones.
            C.CUSTOMER_ID: arrow_text(frame[C.CUSTOMER_ID], pa.string()),
            C.MONTH: pa.array(months, type=pa.timestamp("s")),
            REVENUE: amount,
            COST: np.where(costed, cost, 0.0),
            UNCOSTED_REVENUE: np.where(costed, 0.0, amount),
            TRANSACTIONS: np.ones(len(frame), dtype="int64"),
        }
    )
    return _summed([rows])


class CubeBuilder:
    """Customer x month totals of the chunks a load has written so far."""

    def __init__(self) -> None:
        self._parts: list[pa.Table] = []
        self._rows = 0

    def add(self, rows: pa.Table) -> None:
        """Add :func:`chunk_totals` of a written chunk."""
        self._parts.append(rows)
        self._rows += rows.num_rows
        if self._rows > _FOLD_ROWS and len(self._parts) > 1:
            self._parts = [_summed(self._parts)]
            self._rows = self._parts[0].num_rows

    def __bool__(self) -> bool:
        return self._rows > 0

    def totals(self) -> pd.DataFrame:
        """One row per customer-month, sorted by customer and month (the table's key).

        The builder is empty afterwards (its rows are freed as they are summed).
        """
        parts, self._parts, self._rows = self._parts, [], 0
        return _sorted_totals(pa.concat_tables(parts))


def _summed(parts: list[pa.Table]) -> pa.Table:
    table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    measures = (REVENUE, COST, UNCOSTED_REVENUE, TRANSACTIONS)
    summed = table.group_by(list(KEYS), use_threads=False).aggregate([(m, "sum") for m in measures])
    return summed.rename_columns({f"{m}_sum": m for m in measures})


def _sorted_totals(table: pa.Table) -> pd.DataFrame:
    """Sum ``table`` per customer and month, in key order, with integer keys only.

    Each customer id becomes its rank among the ids present, and (rank, day of the month) one
    64-bit integer: one integer sort groups and orders the rows at once, and ``bincount``
    sums them. Half the memory and time of a hash aggregation over strings followed by a sort.
    """
    encoded = pc.dictionary_encode(table.column(C.CUSTOMER_ID).combine_chunks())
    ids = encoded.dictionary
    order = pc.array_sort_indices(ids).to_numpy()
    rank = np.empty(len(ids), dtype="int64")
    rank[order] = np.arange(len(ids))
    days = table.column(C.MONTH).to_numpy().astype("datetime64[D]").astype("int64")
    first_day = int(days.min()) if len(days) else 0
    key = (rank[encoded.indices.to_numpy()] << 32) | (days - first_day)
    del encoded, rank, days
    keys, group = np.unique(key, return_inverse=True)
    del key
    frame = pd.DataFrame(
        {
            C.CUSTOMER_ID: pd.arrays.ArrowStringArray(
                ids.take(pa.array(order[keys >> 32])).cast(pa.large_string())
            ),
            C.MONTH: ((keys & 0xFFFFFFFF) + first_day)
            .astype("datetime64[D]")
            .astype("datetime64[s]"),
        }
    )
    for measure in (REVENUE, COST, UNCOSTED_REVENUE):
        frame[measure] = np.bincount(
            group, weights=table.column(measure).to_numpy(), minlength=len(keys)
        )
    counts = table.column(TRANSACTIONS).to_numpy()
    frame[TRANSACTIONS] = np.bincount(group, weights=counts, minlength=len(keys)).astype("int64")
    return frame


def write_cube(conn: Connection, totals: pd.DataFrame) -> None:
    """Write a load's customer x month ``totals`` and their segment totals.

    Totals are added to months already stored; the segment table learns how many of the
    customer-months are new (a customer buying again in a stored month is not one more).
    """
    table = schema.CustomerMonth.__table__
    assert isinstance(table, sa.Table)  # declarative types __table__ as FromClause
    empty = conn.execute(sa.select(table.c.customer_id).limit(1)).first() is None
    new = np.ones(len(totals), dtype=bool) if empty else _not_stored(conn, totals)
    with primary_key_rebuilt(conn, table) if empty else contextlib.nullcontext():
        for start in range(0, len(totals), _WRITE_ROWS):
            write_rows(
                conn,
                table,
                totals.iloc[start : start + _WRITE_ROWS],
                conflict="error" if empty else "add",
                keys=list(KEYS),
            )
    _add_segment_totals(conn, totals, new)


_LOOKUP_IDS = 20_000  # ids per IN list: below SQLite's and PostgreSQL's parameter limits


def _batches(ids: np.ndarray) -> Iterator[list[str]]:
    for start in range(0, len(ids), _LOOKUP_IDS):
        yield ids[start : start + _LOOKUP_IDS].tolist()


def _not_stored(conn: Connection, totals: pd.DataFrame) -> np.ndarray:
    """Mask of ``totals`` rows whose customer-month the cube does not hold yet."""
    table = schema.CustomerMonth.__table__
    first, last = totals[C.MONTH].min().date(), totals[C.MONTH].max().date()
    stored = [
        _frame(
            conn,
            sa.select(table.c.customer_id, table.c.month).where(
                table.c.customer_id.in_(batch), table.c.month.between(first, last)
            ),
        )
        for batch in _batches(totals[C.CUSTOMER_ID].unique())
    ]
    found = pd.concat(stored, ignore_index=True)
    if found.empty:
        return np.ones(len(totals), dtype=bool)
    found[C.MONTH] = pd.to_datetime(found[C.MONTH]).astype("datetime64[s]")
    keys = pd.MultiIndex.from_frame(totals[list(KEYS)].astype({C.CUSTOMER_ID: "str"}))
    return ~keys.isin(pd.MultiIndex.from_frame(found.astype({C.CUSTOMER_ID: "str"})))


def _frame(conn: Connection, query: sa.Select) -> pd.DataFrame:
    """A query's rows as a frame, built from plain tuples (a Row costs pandas a slow path)."""
    result = conn.execute(query)
    columns = list(result.keys())
    values = list(zip(*result.all(), strict=True)) or [()] * len(columns)
    return pd.DataFrame(dict(zip(columns, values, strict=True)), columns=columns)


def _lens_attributes(conn: Connection) -> pd.DataFrame:
    """Every customer's segment under every attribute lens, indexed by customer id.

    One read of the customers table (the importer reads its ids anyway): far cheaper than
    looking up the customers of a large load in batches of bound parameters.
    """
    customers = schema.Customer.__table__
    columns = [
        sa.func.coalesce(customers.c[lens], UNASSIGNED).label(lens) for lens in ATTRIBUTE_LENSES
    ]
    return _frame(conn, sa.select(customers.c.customer_id, *columns)).set_index(C.CUSTOMER_ID)


def _add_segment_totals(conn: Connection, totals: pd.DataFrame, new: np.ndarray) -> None:
    """Add ``totals`` (customer-months, ``new`` where not stored before) to segment_months.

    Segments and months become small integer codes, and each lens's sums are ``bincount``
    over (segment, month) cells: no group-by over strings for every customer-month.
    """
    segments = schema.SegmentMonth.__table__
    assert isinstance(segments, sa.Table)  # declarative types __table__ as FromClause
    attributes = _lens_attributes(conn)
    # -1: not a stored customer
    where = attributes.index.get_indexer(pd.Index(totals[C.CUSTOMER_ID]))
    month_codes, months = pd.factorize(totals[C.MONTH])
    measures = {
        REVENUE: totals[REVENUE].to_numpy(),
        COST: totals[COST].to_numpy(),
        UNCOSTED_REVENUE: totals[UNCOSTED_REVENUE].to_numpy(),
        TRANSACTIONS: totals[TRANSACTIONS].to_numpy(),
        CUSTOMERS: new,
    }
    parts = []
    for lens in ATTRIBUTE_LENSES:
        codes, names = pd.factorize(pd.concat([attributes[lens], pd.Series([UNASSIGNED])]))
        cell = codes[where] * len(months) + month_codes  # where == -1 picks the UNASSIGNED row
        size = len(names) * len(months)
        sums = {m: np.bincount(cell, weights=v, minlength=size) for m, v in measures.items()}
        used = np.flatnonzero(np.bincount(cell, minlength=size))
        parts.append(
            pd.DataFrame(
                {
                    "lens": lens,
                    C.SEGMENT: np.asarray(names, dtype=object)[used // len(months)],
                    C.MONTH: months[used % len(months)],
                    **{m: sums[m][used] for m in (REVENUE, COST, UNCOSTED_REVENUE)},
                    **{m: sums[m][used].round().astype("int64") for m in (TRANSACTIONS, CUSTOMERS)},
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    empty = conn.execute(sa.select(segments.c.lens).limit(1)).first() is None
    write_rows(
        conn,
        segments,
        frame,
        conflict="error" if empty else "add",
        keys=["lens", C.SEGMENT, C.MONTH],
    )


def lens_snapshot(conn: Connection) -> pd.DataFrame | None:
    """Every customer's attribute segments, or None when no customer has bought yet.

    Compared before and after a customers import by :func:`rebuild_segments_if_moved`.
    """
    cube = schema.CustomerMonth.__table__
    if conn.execute(sa.select(cube.c.customer_id).limit(1)).first() is None:
        return None
    customers = schema.Customer.__table__
    query = sa.select(
        customers.c.customer_id, *(customers.c[lens] for lens in ATTRIBUTE_LENSES)
    ).order_by(customers.c.customer_id)
    return _frame(conn, query)


def rebuild_segments_if_moved(conn: Connection, before: pd.DataFrame | None) -> None:
    """Rebuild the segment totals when a customer who has bought changed segment.

    ``before`` is the :func:`lens_snapshot` taken before customers were written. New
    customers have no history and move nothing; only a changed attribute of a stored
    customer does, and then the totals are rebuilt from the cube in SQL.
    """
    if before is None:
        return
    after = lens_snapshot(conn)
    if after is None:  # no customer has bought: there is no segment total to move
        return
    merged = after.merge(before, on=C.CUSTOMER_ID, how="inner", suffixes=("", "_before"))
    for lens in ATTRIBUTE_LENSES:
        now, then = merged[lens].fillna(UNASSIGNED), merged[f"{lens}_before"].fillna(UNASSIGNED)
        if (now != then).any():
            rebuild_segments(conn)
            return


def rebuild_segments(conn: Connection) -> None:
    """Recompute every segment total from the customer x month cube, in SQL."""
    segments, cube = schema.SegmentMonth.__table__, schema.CustomerMonth.__table__
    customers = schema.Customer.__table__
    assert isinstance(segments, sa.Table)  # declarative types __table__ as FromClause
    conn.execute(sa.delete(segments))
    for lens in ATTRIBUTE_LENSES:
        segment = sa.func.coalesce(customers.c[lens], UNASSIGNED)
        select = (
            sa.select(
                sa.literal(lens),
                segment,
                cube.c.month,
                sa.func.sum(cube.c.revenue),
                sa.func.sum(cube.c.cost),
                sa.func.sum(cube.c.uncosted_revenue),
                sa.func.count(),
                sa.func.sum(cube.c.transactions),
            )
            .select_from(cube.outerjoin(customers, customers.c.customer_id == cube.c.customer_id))
            .group_by(segment, cube.c.month)
        )
        conn.execute(
            segments.insert().from_select(
                [
                    "lens",
                    C.SEGMENT,
                    C.MONTH,
                    REVENUE,
                    COST,
                    UNCOSTED_REVENUE,
                    CUSTOMERS,
                    TRANSACTIONS,
                ],
                select,
            )
        )
