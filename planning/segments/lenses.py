"""Segments: ways of cutting the customer base, each a partition of the customers on a date.

Every lens assigns every customer known on ``as_of`` (see planning.profit.costing) to exactly one
segment, so segment totals always add up to the company:

- ``value``: tiers by contribution over a trailing window (planning.profit.profitability). Customers
  losing money are "Loss-making"; those making money are ranked and cut by share (default top
  5 % Platinum, next 15 % Gold, next 30 % Silver); the rest, including customers without
  business in the window, are Bronze.
- ``rfm``: recency (days since the last transaction), frequency (transactions in the window)
  and monetary value (revenue in the window) scored 1-5 by quintile among customers who have
  bought (ties share a score), e.g. "R5F4M3", grouped into readable segments by recency and
  the mean of the F and M scores (:data:`RFM_GROUPS`). Customers who never bought: "No
  purchases".
- ``attribute``: a customer attribute (size, region, industry, channel); missing ones are
  "Unassigned".
- ``lifecycle``: New, Active, Won back, At risk, Lapsed (planning.segments.lifecycle), "at risk"
from
  the churn model's p(alive).
- ``rules``: the user's rule set stored in the store (planning.segments.rules).

:func:`assign_segments` is the one entry point; :func:`migration_matrix` compares two dates.
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
from planning.core.defaults import DEFAULT_WINDOW_MONTHS
from planning.core.options import ATTRIBUTE_LENSES, LENSES, AttributeLens, Lens
from planning.profit import costing
from planning.profit.profitability import (
    CONTRIBUTION,
    ORDERS,
    REVENUE,
    ProfitAssumptions,
    customer_pnl,
)
from planning.segments import lifecycle
from planning.segments import rules as segment_rules
from planning.segments.lifecycle import LifecycleRules
from planning.store import schema
from planning.store.facts import UNASSIGNED

# Columns of the customer features and of the RFM and migration frames.
RECENCY_DAYS: Final = "recency_days"
FREQUENCY: Final = C.FREQUENCY
LAST_PURCHASE: Final = C.LAST_PURCHASE
SCORE: Final = "score"
FROM_SEGMENT: Final = "from_segment"
TO_SEGMENT: Final = "to_segment"
CUSTOMERS: Final = C.CUSTOMERS
NOT_YET: Final = "Not yet a customer"
NO_PURCHASES: Final = "No purchases"

RFM_GROUPS: Final = (
    "Champions",
    "Loyal",
    "Promising",
    "Needs attention",
    "Can't lose",
    "Slipping",
    "Hibernating",
    "Lost",
    NO_PURCHASES,
)
# Natural order of the demo's and most companies' size bands; other values sort by name.
SIZE_ORDER: Final = ("Small", "Mid-market", "Large", "Key account")


@dataclass(frozen=True)
class ValueTiers:
    """Value-tier cut points: ``(name, share)`` from the top, then the rest and the losers.

    Shares are of the customers making money in the window; they must be positive and add up
    to 1 or less.
    """

    cuts: tuple[tuple[str, float], ...] = (("Platinum", 0.05), ("Gold", 0.15), ("Silver", 0.30))
    rest: str = "Bronze"
    loss_making: str = "Loss-making"

    def __post_init__(self) -> None:
        names = [name for name, _ in self.cuts] + [self.rest, self.loss_making]
        if any(not isinstance(n, str) or not n.strip() for n in names):
            raise ValueError("Every value tier needs a name.")
        if len(set(names)) != len(names):
            raise ValueError(f"Value tier names must differ, got {', '.join(names)}.")
        shares = [share for _, share in self.cuts]
        if any(not 0 < s <= 1 for s in shares) or sum(shares) > 1 + 1e-9:
            raise ValueError(
                f"Value tier shares must be above 0 and add up to 1 or less, got {shares}."
            )

    @property
    def names(self) -> tuple[str, ...]:
        return (*(name for name, _ in self.cuts), self.rest, self.loss_making)


def value_tiers(pnl: pd.DataFrame, tiers: ValueTiers = ValueTiers()) -> pd.DataFrame:
    """Value tier of each customer of a P&L (pure).

    Returns
    -------
    DataFrame
        ``customer_id, segment`` (ordered categorical of ``tiers.names``); profitable customers
        ranked by contribution, ties by ``customer_id``.
    """
    contribution = pnl[CONTRIBUTION].to_numpy(dtype=np.float64)
    segment = np.full(len(pnl), tiers.rest, dtype=object)
    segment[contribution < 0] = tiers.loss_making
    positive = np.flatnonzero(contribution > 0)
    order = (
        pd.DataFrame({"c": contribution[positive], "id": pnl[C.CUSTOMER_ID].to_numpy()[positive]})
        .sort_values(["c", "id"], ascending=[False, True])
        .index.to_numpy()
    )
    ranked = positive[order]
    bounds = np.round(np.cumsum([share for _, share in tiers.cuts]) * ranked.size).astype(int)
    start = 0
    for (name, _), stop in zip(tiers.cuts, bounds, strict=True):
        segment[ranked[start:stop]] = name
        start = max(start, stop)
    return _assignment(pnl[C.CUSTOMER_ID], segment, tiers.names)


def rfm_scores(features: pd.DataFrame) -> pd.DataFrame:
    """RFM scores and readable groups (pure).

    Parameters
    ----------
    features
        ``customer_id, recency_days, frequency, revenue``; ``recency_days`` NaN for customers
        who never bought.

    Returns
    -------
    DataFrame
        ``customer_id, segment, score``: ``segment`` an ordered categorical of
        :data:`RFM_GROUPS`, ``score`` like "R5F4M3" ("" without purchases).
    """
    bought = features[RECENCY_DAYS].notna().to_numpy()
    r = _quintile(-features[RECENCY_DAYS].to_numpy(dtype=np.float64)[bought])
    f = _quintile(features[FREQUENCY].to_numpy(dtype=np.float64)[bought])
    m = _quintile(features[REVENUE].to_numpy(dtype=np.float64)[bought])
    fm = (f + m + 1) // 2
    group = np.select(
        [(r >= 4) & (fm >= 4), (r >= 3) & (fm >= 3), r >= 4, r == 3, fm >= 4, fm == 3, r == 2],
        list(RFM_GROUPS[:7]),
        RFM_GROUPS[7],
    )
    segment = np.full(len(features), NO_PURCHASES, dtype=object)
    segment[bought] = group
    score = np.full(len(features), "", dtype=object)
    score[bought] = [f"R{a}F{b}M{c}" for a, b, c in zip(r, f, m, strict=True)]
    out = _assignment(features[C.CUSTOMER_ID], segment, RFM_GROUPS)
    out[SCORE] = score
    return out


def _quintile(values: np.ndarray) -> np.ndarray:
    """Scores 1-5 by quintile of the mid-rank percentile, (rank - 0.5) / n, with equal values
    sharing their average rank: equal values share a score, and all-equal values score 3."""
    if not values.size:
        return np.zeros(0, dtype=np.int64)
    pct = (pd.Series(values).rank(method="average").to_numpy() - 0.5) / values.size
    return np.clip(np.ceil(pct * 5), 1, 5).astype(np.int64)


def attribute_segments(customers: pd.DataFrame, attribute: AttributeLens) -> pd.DataFrame:
    """Segment = the customer's attribute, "Unassigned" when missing or blank (pure)."""
    values = customers[attribute].astype(object).where(customers[attribute].notna(), None)
    values = values.map(lambda v: v.strip() if isinstance(v, str) and v.strip() else UNASSIGNED)
    present = sorted(set(values) - {UNASSIGNED})
    if attribute == C.SIZE:
        present = [s for s in SIZE_ORDER if s in present] + [
            s for s in present if s not in SIZE_ORDER
        ]
    return _assignment(customers[C.CUSTOMER_ID], values.to_numpy(), (*present, UNASSIGNED))


def _assignment(ids: pd.Series, segment: np.ndarray, order: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: ids.to_numpy(),
            C.SEGMENT: pd.Categorical(segment, categories=order, ordered=True),
        }
    )


def window_start(as_of: dt.date, months: int) -> dt.date:
    """First day of the ``months``-month window ending on ``as_of``."""
    if months < 1:
        raise ValueError(f"The window must be at least 1 month, got {months}.")
    return (pd.Timestamp(as_of) - pd.DateOffset(months=months) + pd.Timedelta(days=1)).date()


def customer_features(
    engine: Engine,
    as_of: dt.date,
    *,
    window_months: int = DEFAULT_WINDOW_MONTHS,
    assumptions: ProfitAssumptions = ProfitAssumptions(),
    pnl: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What the RFM and rule lenses look at, for every customer known on ``as_of``.

    Returns
    -------
    DataFrame
        ``customer_id, region, industry, size, channel, last_purchase, recency_days,
        frequency, revenue, contribution``: attributes, the last transaction on or before
        ``as_of`` and the days since it (NaN if none), and the transactions, revenue and
        contribution of the trailing window (``pnl`` when given, else computed).
    """
    if pnl is None:
        pnl = customer_pnl(
            engine, start=window_start(as_of, window_months), end=as_of, assumptions=assumptions
        )
    cu, tx = schema.Customer.__table__, schema.Transaction.__table__
    last = (
        sa.select(tx.c.customer_id, sa.func.max(tx.c.date).label(LAST_PURCHASE))
        .where(tx.c.date <= as_of)
        .group_by(tx.c.customer_id)
        .subquery("last")
    )
    query = sa.select(
        cu.c.customer_id, *(cu.c[a] for a in ATTRIBUTE_LENSES), last.c.last_purchase
    ).select_from(cu.outerjoin(last, last.c.customer_id == cu.c.customer_id))
    with engine.connect() as conn:
        attrs = pd.read_sql(query, conn)
    frame = pnl[[C.CUSTOMER_ID, ORDERS, REVENUE, CONTRIBUTION]].merge(
        attrs, on=C.CUSTOMER_ID, how="left"
    )
    frame[LAST_PURCHASE] = pd.to_datetime(frame[LAST_PURCHASE])
    frame[RECENCY_DAYS] = (pd.Timestamp(as_of) - frame[LAST_PURCHASE]).dt.days.astype("float64")
    frame = frame.rename(columns={ORDERS: FREQUENCY})
    return frame[
        [
            C.CUSTOMER_ID,
            *ATTRIBUTE_LENSES,
            LAST_PURCHASE,
            RECENCY_DAYS,
            FREQUENCY,
            REVENUE,
            CONTRIBUTION,
        ]
    ]


def assign_segments(
    engine: Engine,
    lens: Lens,
    as_of: dt.date,
    *,
    attribute: AttributeLens = "size",
    tiers: ValueTiers = ValueTiers(),
    window_months: int = DEFAULT_WINDOW_MONTHS,
    rules: LifecycleRules = LifecycleRules(),
    p_alive: pd.Series | None = None,
    rule_set: str = segment_rules.DEFAULT_RULE_SET,
    assumptions: ProfitAssumptions = ProfitAssumptions(),
    pnl: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Assign every customer known on ``as_of`` to one segment of ``lens``.

    Parameters
    ----------
    engine
        An open store.
    lens
        ``"value"``, ``"rfm"``, ``"attribute"``, ``"lifecycle"`` or ``"rules"`` (module notes).
    as_of
        Use only data on or before this day.
    attribute
        The attribute of the ``attribute`` lens: size, region, industry or channel.
    tiers
        Cut points of the ``value`` lens.
    window_months
        Trailing window of the contribution, frequency and revenue that the ``value``, ``rfm``
        and ``rules`` lenses use.
    rules
        Thresholds of the ``lifecycle`` lens.
    p_alive
        Probability alive per customer (indexed by ``customer_id``) for the ``lifecycle`` lens,
        e.g. from the customer-value scoring; None fits the BG/NBD model on the store as of
        ``as_of`` (planning.segments.lifecycle.p_alive_as_of).
    rule_set
        The stored rule set of the ``rules`` lens.
    assumptions
        Profit assumptions for contribution.
    pnl
        A :func:`planning.profit.profitability.customer_pnl` ending on ``as_of`` when already
        computed:
        the trailing-window one for the value, RFM and rules lenses; any period for the
        attribute lens (it only lists the customers known on ``as_of``).

    Returns
    -------
    DataFrame
        ``customer_id, segment`` (ordered categorical, the lens's natural order), one row per
        known customer, sorted by ``customer_id``; the ``rfm`` lens adds ``score``.

    Raises
    ------
    ValueError
        For an unknown lens or attribute, an ``as_of`` before the first transaction, or a rule
        set that does not exist.
    """
    if lens not in LENSES:
        raise ValueError(f"Unknown lens {lens!r}: use one of {', '.join(LENSES)}.")
    if lens == "attribute" and attribute not in ATTRIBUTE_LENSES:
        raise ValueError(
            f"Unknown attribute {attribute!r}: use one of {', '.join(ATTRIBUTE_LENSES)}."
        )
    first = costing.first_day(engine)
    if first is None:
        raise ValueError("The store holds no transactions yet: import some first.")
    if as_of < first:
        raise ValueError(
            f"as of {as_of} is before the first transaction ({first}): no "
            "customer is known yet. Pick a later date."
        )
    if lens == "lifecycle":
        if p_alive is None:
            p_alive = lifecycle.p_alive_as_of(engine, as_of)
        history = lifecycle.purchase_history(engine, as_of)
        return lifecycle.lifecycle_stages(history, as_of, p_alive, rules)
    if lens == "attribute":
        cu = schema.Customer.__table__
        with engine.connect() as conn:
            # A P&L to as_of already lists the known customers: no second look for them.
            known = (
                pnl[[C.CUSTOMER_ID]]
                if pnl is not None
                else pd.read_sql(costing.known_customers_query(as_of), conn)[[C.CUSTOMER_ID]]
            )
            attrs = pd.read_sql(sa.select(cu.c.customer_id, cu.c[attribute]), conn)
        return attribute_segments(known.merge(attrs, on=C.CUSTOMER_ID, how="left"), attribute)
    if pnl is None:
        pnl = customer_pnl(
            engine, start=window_start(as_of, window_months), end=as_of, assumptions=assumptions
        )
    if lens == "value":
        return value_tiers(pnl, tiers)
    if lens == "rules":
        stored = segment_rules.load_rules(engine, rule_set)
        if not stored:
            raise ValueError(
                f"There is no rule set {rule_set!r} in the store: save rules "
                "first (planning.segments.rules.save_rules)."
            )
        features = customer_features(engine, as_of, pnl=pnl)
        return segment_rules.rule_segments(features, stored)
    return rfm_scores(customer_features(engine, as_of, pnl=pnl))


def migration_matrix(
    engine: Engine,
    lens: Lens,
    from_date: dt.date,
    to_date: dt.date,
    *,
    p_alive_from: pd.Series | None = None,
    p_alive_to: pd.Series | None = None,
    window_months: int = DEFAULT_WINDOW_MONTHS,
    assumptions: ProfitAssumptions = ProfitAssumptions(),
    **options,
) -> pd.DataFrame:
    """Who moved from which segment to which between two dates.

    Parameters
    ----------
    engine, lens, window_months, assumptions
        As for :func:`assign_segments`; ``options`` are its other keyword arguments.
    from_date, to_date
        The two dates, ``from_date`` before ``to_date``.
    p_alive_from, p_alive_to
        P(alive) on each date for the ``lifecycle`` lens (None: fitted on the store).

    Returns
    -------
    DataFrame
        ``from_segment, to_segment, customers, revenue_from, revenue_to, contribution_from,
        contribution_to``: one row per pair with at least one customer, the money being the
        movers' trailing-window revenue and contribution as of each date. Customers known on
        ``to_date`` but not yet on ``from_date`` come from "Not yet a customer".
    """
    if from_date >= to_date:
        raise ValueError(f"from_date {from_date} must be before to_date {to_date}.")
    frames = []
    for day, alive in ((from_date, p_alive_from), (to_date, p_alive_to)):
        pnl = customer_pnl(
            engine, start=window_start(day, window_months), end=day, assumptions=assumptions
        )
        seg = assign_segments(
            engine,
            lens,
            day,
            window_months=window_months,
            p_alive=alive,
            assumptions=assumptions,
            pnl=pnl,
            **options,
        )
        frames.append(
            seg[[C.CUSTOMER_ID, C.SEGMENT]].merge(
                pnl[[C.CUSTOMER_ID, REVENUE, CONTRIBUTION]], on=C.CUSTOMER_ID, how="left"
            )
        )
    before, after = frames
    moves = after.merge(before, on=C.CUSTOMER_ID, how="left", suffixes=("_to", "_from"))
    moves[f"{C.SEGMENT}_from"] = moves[f"{C.SEGMENT}_from"].astype(object).fillna(NOT_YET)
    moves = moves.fillna({f"{REVENUE}_from": 0.0, f"{CONTRIBUTION}_from": 0.0})
    order_from = [*before[C.SEGMENT].cat.categories, NOT_YET]
    moves[FROM_SEGMENT] = pd.Categorical(moves[f"{C.SEGMENT}_from"], order_from, ordered=True)
    moves[TO_SEGMENT] = moves[f"{C.SEGMENT}_to"]
    out = (
        moves.groupby([FROM_SEGMENT, TO_SEGMENT], observed=True)
        .agg(
            customers=(C.CUSTOMER_ID, "size"),
            revenue_from=(f"{REVENUE}_from", "sum"),
            revenue_to=(f"{REVENUE}_to", "sum"),
            contribution_from=(f"{CONTRIBUTION}_from", "sum"),
            contribution_to=(f"{CONTRIBUTION}_to", "sum"),
        )
        .reset_index()
    )
    for col in (FROM_SEGMENT, TO_SEGMENT):
        out[col] = out[col].astype(str)
    return out.round({c: 2 for c in out.columns if c.startswith((REVENUE, CONTRIBUTION))})
