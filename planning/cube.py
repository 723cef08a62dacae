"""The customer x month cube as an import builds it: totals of the rows it writes, then one write.

Every transactions import keeps the ``customer_months`` table current (planning.facts reads it
instead of every transaction). While a file streams in, each written chunk adds its
customer-month totals (summed on the reading thread) to a running list of Arrow columns; at
the end one sorted aggregation turns them into one row per customer-month, in the order of the
table's key so that the database appends to its B-tree instead of splitting pages all over it, and the
rows are written in one pass (added to stored months when the cube already holds data).
Memory stays bounded: when the list passes a few million rows it is folded into its totals.

A transaction without a cost of goods adds its amount to ``uncosted_revenue`` (costed at query
time with the documented default margin), so changing that assumption needs no rebuild.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from planning import columns as C
from planning import schema
from planning.bulk import write_rows

REVENUE: Final = "revenue"
COST: Final = "cost"
UNCOSTED_REVENUE: Final = "uncosted_revenue"
TRANSACTIONS: Final = "transactions"
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
    rows = pa.table({
        # Arrow hashes 32-bit-offset strings several times faster than large ones.
        C.CUSTOMER_ID: pa.array(frame[C.CUSTOMER_ID], type=pa.string(), from_pandas=True),
        C.MONTH: pa.array(months, type=pa.timestamp("s")),
        REVENUE: amount,
        COST: np.where(costed, cost, 0.0),
        UNCOSTED_REVENUE: np.where(costed, 0.0, amount),
        TRANSACTIONS: np.ones(len(frame), dtype="int64"),
    })
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
    summed = table.group_by(list(KEYS), use_threads=False).aggregate(
        [(m, "sum") for m in measures])
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
    frame = pd.DataFrame({
        C.CUSTOMER_ID: pd.arrays.ArrowStringArray(
            ids.take(pa.array(order[keys >> 32])).cast(pa.large_string())),
        C.MONTH: ((keys & 0xFFFFFFFF) + first_day).astype("datetime64[D]").astype(
            "datetime64[s]"),
    })
    for measure in (REVENUE, COST, UNCOSTED_REVENUE):
        frame[measure] = np.bincount(group, weights=table.column(measure).to_numpy(),
                                     minlength=len(keys))
    counts = table.column(TRANSACTIONS).to_numpy()
    frame[TRANSACTIONS] = np.bincount(group, weights=counts, minlength=len(keys)).astype("int64")
    return frame


def write_cube(conn: Connection, totals: pd.DataFrame) -> None:
    """Write a load's customer x month ``totals``, adding them to months already stored."""
    table = schema.CustomerMonth.__table__
    empty = conn.execute(sa.select(table.c.customer_id).limit(1)).first() is None
    for start in range(0, len(totals), _WRITE_ROWS):
        write_rows(conn, table, totals.iloc[start:start + _WRITE_ROWS],
                   conflict="error" if empty else "add", keys=list(KEYS))
