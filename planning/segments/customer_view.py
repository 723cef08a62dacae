"""The single view of one customer: who they are, what they bought and cost, and what they are
worth.

:func:`view_customer` gathers, as of a date, everything the dashboard shows when someone drills
into one account: the customer's attributes, their transactions and cost-to-serve activities,
their P&L month by month, the segments they were in at the last few quarter ends (value tier and
lifecycle stage), and their scores from the value models (P(alive), CLV, potential, headroom).
Segment history reuses the whole-company assignment of planning.segments.lenses (a tier is a rank
among all customers), so it is the slowest part; the shell caches the view per customer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planning import value
from planning.core import columns as C
from planning.profit import profitability as pl
from planning.segments import lenses as segments
from planning.store import schema
from planning.value import scoring as cv

HISTORY_LENSES: Final = ("value", "lifecycle")
ROW_LIMIT: Final = 500  # transactions and activities listed, newest first


@dataclass(frozen=True, eq=False)
class CustomerView:
    """Everything known about one customer as of a date.

    ``attributes`` maps attribute name to value (missing ones are None). ``transactions`` and
    ``activities`` are the newest ``ROW_LIMIT`` rows, with ``transaction_count`` and
    ``activity_count`` the full counts. ``monthly`` is the P&L by month
    (planning.profit.profitability).
    ``segment_history`` has ``date, lens, segment`` rows. ``scores`` is the customer's row of
    :attr:`planning.value.scoring.CustomerValue.scores`, or None when the customer had no
    purchase on the as-of date.
    """

    customer_id: str
    as_of: dt.date
    attributes: dict[str, object]
    transactions: pd.DataFrame
    transaction_count: int
    activities: pd.DataFrame
    activity_count: int
    monthly: pd.DataFrame
    segment_history: pd.DataFrame
    scores: pd.Series | None

    def score(self, name: str) -> float | None:
        """One score (e.g. ``"clv"``), or None when the customer has no scores."""
        return None if self.scores is None else float(self.scores[name])


def view_customer(
    engine: Engine,
    customer_id: str,
    as_of: dt.date,
    *,
    scored: cv.CustomerValue | None = None,
    history_dates: Sequence[dt.date] | None = None,
    months: int = 24,
) -> CustomerView:
    """The single view of ``customer_id`` as of ``as_of``.

    Parameters
    ----------
    engine
        An open store.
    customer_id
        The company's own customer id.
    as_of
        Only data dated on or before this day is shown.
    scored
        Scores of every customer as of ``as_of`` (from
        :func:`planning.value.scoring.score_customers`); None leaves the value fields empty
        and the lifecycle history out.
    history_dates
        Dates of the segment history; default: ``as_of`` and the three quarter ends before it.
    months
        Months of monthly P&L shown, ending with ``as_of``'s month.

    Raises
    ------
    KeyError
        If the store has no customer ``customer_id``.
    """
    attributes = _attributes(engine, customer_id)
    tx, n_tx = _latest(
        engine,
        schema.Transaction.__table__,
        customer_id,
        as_of,
        (C.DATE, C.AMOUNT, C.COST, C.QUANTITY, C.PRODUCT, C.CATEGORY, C.CHANNEL, C.TRANSACTION_ID),
    )
    act, n_act = _latest(
        engine, schema.Activity.__table__, customer_id, as_of, (C.DATE, C.ACTIVITY, C.QUANTITY)
    )
    start = (pd.Timestamp(as_of).to_period("M") - (months - 1)).to_timestamp().date()
    monthly = pl.customer_monthly_pnl(engine, customer_id, start=start, end=as_of)
    dates = list(history_dates) if history_dates is not None else _quarter_ends(as_of, 3)
    history = _segment_history(engine, customer_id, dates, scored)
    row = None
    if scored is not None:
        match = scored.scores[scored.scores[C.CUSTOMER_ID] == customer_id]
        row = match.iloc[0] if len(match) else None
    return CustomerView(customer_id, as_of, attributes, tx, n_tx, act, n_act, monthly, history, row)


def find_customers(engine: Engine, text: str, limit: int = 20) -> list[str]:
    """Customer ids that start with ``text`` or whose name contains it (case-insensitive)."""
    cu = schema.Customer.__table__
    pattern = text.strip()
    if not pattern:
        return []
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        sa.select(cu.c.customer_id)
        .where(
            sa.or_(
                cu.c.customer_id.ilike(f"{escaped}%", escape="\\"),
                cu.c.name.ilike(f"%{escaped}%", escape="\\"),
            )
        )
        .order_by(cu.c.customer_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def _attributes(engine: Engine, customer_id: str) -> dict[str, object]:
    cu = schema.Customer.__table__
    names = (
        C.NAME,
        C.REGION,
        C.INDUSTRY,
        C.SIZE,
        C.CHANNEL,
        C.ACQUISITION_DATE,
        C.PAYMENT_TERMS_DAYS,
    )
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*[cu.c[n] for n in names]).where(cu.c.customer_id == customer_id)
        ).first()
    if row is None:
        raise KeyError(f"There is no customer {customer_id!r} in the store.")
    return dict(zip(names, row, strict=True))


def _latest(
    engine: Engine, table: sa.FromClause, customer_id: str, as_of: dt.date, cols: tuple[str, ...]
) -> tuple[pd.DataFrame, int]:
    where = [table.c.customer_id == customer_id, table.c.date <= as_of]
    with engine.connect() as conn:
        count = int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
        )
        rows = pd.read_sql(
            sa.select(*[table.c[c] for c in cols])
            .where(*where)
            .order_by(table.c.date.desc(), table.c.id.desc())
            .limit(ROW_LIMIT),
            conn,
        )
    rows[C.DATE] = pd.to_datetime(rows[C.DATE])
    return rows, count


def _quarter_ends(as_of: dt.date, count: int) -> list[dt.date]:
    """``as_of`` and the ``count`` quarter ends before it, oldest first."""
    quarter = pd.Timestamp(as_of).to_period("Q")
    ends = [(quarter - k).end_time.date() for k in range(1, count + 1)]
    return sorted([d for d in ends if d < as_of] + [as_of])


def _segment_history(
    engine: Engine, customer_id: str, dates: Sequence[dt.date], scored: cv.CustomerValue | None
) -> pd.DataFrame:
    first = _first_purchase(engine, customer_id)
    rows = []
    for day in dates:
        if first is None or day < first:
            continue
        for lens in HISTORY_LENSES:
            if lens == "lifecycle" and scored is None:
                continue
            p_alive = None
            if lens == "lifecycle" and scored is not None and day == scored.as_of:
                p_alive = scored.scores.set_index(C.CUSTOMER_ID)[value.P_ALIVE]
            assignment = segments.assign_segments(engine, lens, day, p_alive=p_alive)
            match = assignment.loc[assignment[C.CUSTOMER_ID] == customer_id, C.SEGMENT]
            if len(match):
                rows.append((pd.Timestamp(day), lens, str(match.iloc[0])))
    return pd.DataFrame(rows, columns=[C.DATE, "lens", C.SEGMENT])


def _first_purchase(engine: Engine, customer_id: str) -> dt.date | None:
    t = schema.Transaction.__table__
    with engine.connect() as conn:
        first = conn.execute(
            sa.select(sa.func.min(t.c.date)).where(t.c.customer_id == customer_id)
        ).scalar()
    return None if first is None else pd.Timestamp(first).date()
