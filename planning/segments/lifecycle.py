"""Lifecycle stages: where each customer stands in their relationship with the company on a date.

Five stages, checked in this order, first match wins:

- **New**: first seen (the earlier of the acquisition date and the first transaction) within
  ``new_days`` (90) before the date.
- **Lapsed**: no transaction for :data:`planning.core.defaults.LAPSE_MONTHS` (6) whole calendar
  months that have ended by the date: the Overview's "lost" rule, so the two pages agree.
  A customer who never bought and is not new is lapsed too.
- **At risk**: the churn model gives a probability of still being active (p(alive), from the
  BG/NBD model of planning.value) below ``at_risk_below`` (0.5). This is the model's view of
  *this* customer's buying rhythm, not a fixed recency rule: a weekly buyer silent for two
  months is at risk, a twice-a-year buyer is not.
- **Won back**: came back within the last ``won_back_months`` (6) calendar months after having
  lapsed (a purchase month preceded by six or more empty months).
- **Active**: everyone else.

Customers the p(alive) series does not name are taken as alive (not at risk).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planning.core import columns as C
from planning.core.defaults import LAPSE_MONTHS
from planning.profit.costing import known_customers_query
from planning.store import schema
from planning.value import fit_bgnbd, probability_alive
from planning.value.scoring import purchase_summary

NEW: Final = "New"
ACTIVE: Final = "Active"
WON_BACK: Final = "Won back"
AT_RISK: Final = "At risk"
LAPSED: Final = "Lapsed"
STAGES: Final = (NEW, ACTIVE, WON_BACK, AT_RISK, LAPSED)

# Columns of the purchase-history frame.
FIRST_SEEN: Final = "first_seen"
FIRST_PURCHASE: Final = "first_purchase"
LAST_PURCHASE: Final = C.LAST_PURCHASE
LAST_RETURN: Final = "last_return_month"


@dataclass(frozen=True)
class LifecycleRules:
    """Thresholds of the lifecycle stages (see the module notes)."""

    new_days: int = 90
    at_risk_below: float = 0.5
    won_back_months: int = 6

    def __post_init__(self) -> None:
        if not isinstance(self.new_days, int) or self.new_days < 1:
            raise ValueError(
                f"LifecycleRules.new_days must be a whole number of days, 1 or "
                f"more, got {self.new_days!r}."
            )
        if not 0.0 < self.at_risk_below < 1.0:
            raise ValueError(
                "LifecycleRules.at_risk_below must be a probability between 0 and "
                f"1, got {self.at_risk_below!r}."
            )
        if not isinstance(self.won_back_months, int) or self.won_back_months < 1:
            raise ValueError(
                "LifecycleRules.won_back_months must be a whole number of months, "
                f"1 or more, got {self.won_back_months!r}."
            )


def lifecycle_stages(
    history: pd.DataFrame,
    as_of: dt.date,
    p_alive: pd.Series | None,
    rules: LifecycleRules = LifecycleRules(),
) -> pd.DataFrame:
    """The lifecycle stage of each customer on ``as_of`` (pure: frames in, frame out).

    Parameters
    ----------
    history
        ``customer_id, first_seen, first_purchase, last_purchase, last_return_month``, one row
        per customer known on ``as_of`` (dates as datetime64; NaT when none), as from
        :func:`purchase_history`.
    as_of
        The day the stages describe.
    p_alive
        Probability each customer is still active, indexed by ``customer_id``; None treats
        every customer as alive (then nobody is "At risk").
    rules
        Thresholds.

    Returns
    -------
    DataFrame
        ``customer_id, segment`` with ``segment`` an ordered categorical of :data:`STAGES`.
    """
    day = pd.Timestamp(as_of)
    month = day.to_period("M")
    new = history[FIRST_SEEN] > day - pd.Timedelta(days=rules.new_days)
    last = history[LAST_PURCHASE].dt.to_period("M")
    # Lapsed once the sixth empty month after the last purchase has ended by as_of.
    lapse_ends = (last + LAPSE_MONTHS + 1).dt.to_timestamp()
    lapsed = history[LAST_PURCHASE].isna() | (lapse_ends <= day + pd.Timedelta(days=1))
    alive = pd.Series(1.0, index=history.index)
    if p_alive is not None:
        alive = p_alive.reindex(history[C.CUSTOMER_ID]).fillna(1.0).set_axis(history.index)
    at_risk = alive < rules.at_risk_below
    returned = history[LAST_RETURN].dt.to_period("M")
    won_back = returned.notna() & (returned > month - rules.won_back_months)
    stage = np.select([new, lapsed, at_risk, won_back], [NEW, LAPSED, AT_RISK, WON_BACK], ACTIVE)
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: history[C.CUSTOMER_ID].to_numpy(),
            C.SEGMENT: pd.Categorical(stage, categories=STAGES, ordered=True),
        }
    )


def purchase_history(engine: Engine, as_of: dt.date) -> pd.DataFrame:
    """First and last transaction and the latest return after a lapse, per known customer.

    Returns
    -------
    DataFrame
        ``customer_id, first_seen, first_purchase, last_purchase, last_return_month`` for
        every customer known on ``as_of`` (see planning.profit.costing), dates as datetime64. A
        return month is a month with a transaction after at least :data:`LAPSE_MONTHS` empty
        months; only transactions on or before ``as_of`` count.
    """
    cu, tx = schema.Customer.__table__, schema.Transaction.__table__
    known = known_customers_query(as_of).subquery("known")
    span = (
        sa.select(
            tx.c.customer_id,
            sa.func.min(tx.c.date).label(FIRST_PURCHASE),
            sa.func.max(tx.c.date).label(LAST_PURCHASE),
        )
        .where(tx.c.date <= as_of)
        .group_by(tx.c.customer_id)
        .subquery("span")
    )
    returns = _returns_query(engine, as_of).subquery("returns")
    query = (
        sa.select(
            known.c.customer_id,
            cu.c.acquisition_date,
            span.c.first_purchase,
            span.c.last_purchase,
            returns.c.last_return_month,
        )
        .select_from(
            known.join(cu, cu.c.customer_id == known.c.customer_id)
            .outerjoin(span, span.c.customer_id == known.c.customer_id)
            .outerjoin(returns, returns.c.customer_id == known.c.customer_id)
        )
        .order_by(known.c.customer_id)
    )
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    for col in (C.ACQUISITION_DATE, FIRST_PURCHASE, LAST_PURCHASE, LAST_RETURN):
        frame[col] = pd.to_datetime(frame[col])
    acquired = frame[C.ACQUISITION_DATE].where(frame[C.ACQUISITION_DATE] <= pd.Timestamp(as_of))
    frame[FIRST_SEEN] = pd.concat([acquired, frame[FIRST_PURCHASE]], axis=1).min(axis=1)
    return frame[[C.CUSTOMER_ID, FIRST_SEEN, FIRST_PURCHASE, LAST_PURCHASE, LAST_RETURN]]


def _returns_query(engine: Engine, as_of: dt.date) -> sa.Select:
    """``customer_id, last_return_month``: the latest month bought in after a lapse."""
    cube, tx = schema.CustomerMonth.__table__, schema.Transaction.__table__
    first = as_of.replace(day=1)
    months = sa.union(
        sa.select(cube.c.customer_id, cube.c.month).where(cube.c.month < first),
        sa.select(tx.c.customer_id, sa.literal(first, sa.Date).label(C.MONTH)).where(
            tx.c.date >= first, tx.c.date <= as_of
        ),
    ).subquery("months")
    index = _month_number(engine, months.c.month)
    gaps = sa.select(
        months.c.customer_id,
        months.c.month.label(LAST_RETURN),
        (
            index
            - sa.func.lag(index).over(partition_by=months.c.customer_id, order_by=months.c.month)
        ).label("gap"),
    ).subquery("gaps")
    return (
        sa.select(gaps.c.customer_id, sa.func.max(gaps.c.last_return_month).label(LAST_RETURN))
        .where(gaps.c.gap > LAPSE_MONTHS)
        .group_by(gaps.c.customer_id)
    )


def _month_number(engine: Engine, column: sa.ColumnElement) -> sa.ColumnElement:
    """year * 12 + month of a date column, as an integer, per dialect."""
    if engine.dialect.name == "sqlite":
        year = sa.cast(sa.func.strftime("%Y", column), sa.Integer)
        month = sa.cast(sa.func.strftime("%m", column), sa.Integer)
    else:
        year = sa.cast(sa.extract("year", column), sa.Integer)
        month = sa.cast(sa.extract("month", column), sa.Integer)
    return year * 12 + month


def p_alive_as_of(engine: Engine, as_of: dt.date) -> pd.Series:
    """P(alive) of every customer with a purchase on or before ``as_of``, from a BG/NBD fit.

    The same probability as :func:`planning.value.scoring.score_customers` (the same purchase
    summary, in weeks, and the same fit), without the spend and wallet models; pass the
    scores' ``p_alive`` to planning.segments.lenses.assign_segments instead when they are at hand.

    Returns
    -------
    Series
        ``p_alive`` indexed by ``customer_id`` (empty when nobody has bought yet).

    Raises
    ------
    ValueError
        If the purchases cannot support a fit (see planning.value.bgnbd.fit_bgnbd).
    """
    summary = purchase_summary(engine, as_of, time_unit="W")
    if summary.empty:
        return pd.Series(dtype="float64", index=pd.Index([], name=C.CUSTOMER_ID), name="p_alive")
    return probability_alive(fit_bgnbd(summary), summary)
