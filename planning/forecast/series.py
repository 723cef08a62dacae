"""Series to forecast: revenue, orders and active customers per period, for the company and per
segment, aggregated by the database as of any date.

Monthly series are read from the ``customer_months`` cube (one row per active customer-month),
weekly ones from the transactions through their date index; both GROUP BY in SQL, so only one
row per segment and period reaches Python. A segment is either a customer attribute (the lenses
``size``, ``region``, ``industry``, ``channel``, joined to the customers table in SQL) or any
assignment of customers to segments a caller brings (``customer_id, segment``; the RFM, value
and lifecycle lenses), which is written to a temporary table on the same connection and joined
there. Customers without a segment fall in "Unassigned", so the segments add up to the company.

Only whole periods are returned: the last one is the last calendar month (or Monday-to-Sunday
week) that has ended on or before ``as_of``, because a period still in progress would look like
a drop and drag every forecast down. The first period is kept only when the data starts on its
first day (weeks) or within its first three days (months); a history that begins mid-period
would look like a jump. Periods without activity are 0. Definitions:

- ``revenue``: the sum of transaction amounts (refunds, being negative, net off);
- ``orders``: the number of transactions (a refund is a transaction too);
- ``customers``: distinct customers with at least one transaction in the period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planning.core import columns as C
from planning.core.calendar import last_full_month
from planning.core.options import ATTRIBUTE_LENSES, FREQS, METRICS, Freq, Metric
from planning.forecast.base import PANDAS_FREQ, PERIOD, SERIES
from planning.segments.lenses import SIZE_ORDER
from planning.store import schema
from planning.store.facts import UNASSIGNED
from planning.store.sql import week_start

VALUE: Final = C.VALUE
TOTAL: Final = "Total"
SERIES_COLUMNS: Final = (SERIES, PERIOD, VALUE)
METRIC_LABELS: Final[dict[str, str]] = {
    "revenue": "Revenue",
    "orders": "Orders",
    "customers": "Active customers",
}
FIRST_MONTH_GRACE_DAYS: Final = 3
_TEMP_TABLE: Final = "tmp_forecast_segments"


def last_whole_period(as_of: dt.date, freq: Freq) -> dt.date:
    """Start of the last whole month or Monday-to-Sunday week that has ended by ``as_of``."""
    _check_freq(freq)
    if freq == "M":
        return last_full_month(as_of)
    last_sunday = as_of - dt.timedelta(days=(as_of.weekday() + 1) % 7)
    return last_sunday - dt.timedelta(days=6)


def period_start(day: dt.date, freq: Freq) -> dt.date:
    """Start of the month or Monday-start week holding ``day``."""
    _check_freq(freq)
    return day.replace(day=1) if freq == "M" else day - dt.timedelta(days=day.weekday())


def period_index(first: dt.date, last: dt.date, freq: Freq) -> pd.DatetimeIndex:
    """Period starts from ``first`` to ``last`` inclusive, with the frequency set."""
    return pd.date_range(
        pd.Timestamp(first), pd.Timestamp(last), freq=PANDAS_FREQ[freq], name=PERIOD
    )


def build_series(
    engine: Engine,
    *,
    metric: Metric,
    freq: Freq,
    as_of: dt.date | None = None,
    lens: str | None = None,
    assignment: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Revenue, orders or active customers per whole period, for the company and per segment.

    Parameters
    ----------
    engine
        An open store.
    metric
        ``"revenue"``, ``"orders"`` or ``"customers"`` (see the module notes).
    freq
        ``"M"`` calendar months or ``"W"`` Monday-to-Sunday weeks.
    as_of
        Use only transactions on or before this day. Default: the last transaction date.
    lens
        None for the company only; an attribute lens (``size``, ``region``, ``industry``,
        ``channel``); or the name of the lens ``assignment`` comes from.
    assignment
        ``customer_id, segment``: required for a lens that is not a customer attribute.

    Returns
    -------
    DataFrame
        ``series, period, value``: the series ``"Total"`` first, then one per segment in the
        lens's order (an ordered assignment's categories, size tiers small to large, else by
        name; "Unassigned" last); every series has the same whole periods (``period`` is the period
        start).
        Empty when no whole period has ended by ``as_of``.

    Raises
    ------
    ValueError
        For an unknown metric, frequency or lens, or a malformed assignment.
    """
    if metric not in METRICS:
        raise ValueError(f"Unknown metric '{metric}': use one of {', '.join(METRICS)}.")
    _check_freq(freq)
    segments = _segment_source(lens, assignment)
    with engine.connect() as conn:
        first, last_day = _date_span(conn, as_of)
        if first is None or last_day is None:  # MIN and MAX are NULL together
            return _empty()
        as_of = as_of or last_day
        periods = _whole_periods(first, as_of, freq)
        if periods.empty:
            return _empty()
        end = (periods[-1] + pd.tseries.frequencies.to_offset(PANDAS_FREQ[freq])).date()
        query = _query(engine, metric, freq, periods[0].date(), end, segments)
        if isinstance(segments, pd.DataFrame):
            rows = _read_with_assignment(conn, query, segments)
        else:
            rows = pd.read_sql(query, conn)
    return _fill(rows, periods, segments, _natural_order(lens, assignment))


def last_transaction_date(engine: Engine) -> dt.date | None:
    """The date of the newest transaction in the store (None when there is none)."""
    with engine.connect() as conn:
        return _date_span(conn, None)[1]


def _natural_order(lens: str | None, assignment: pd.DataFrame | None) -> list[str]:
    """Segment names in the lens's own order: an ordered assignment's categories, size tiers
    small to large; empty (alphabetical) otherwise."""
    if assignment is not None and isinstance(
        assignment.get(C.SEGMENT, pd.Series()).dtype, pd.CategoricalDtype
    ):
        return [str(c) for c in assignment[C.SEGMENT].cat.categories]
    return list(SIZE_ORDER) if lens == "size" else []


def _check_freq(freq: str) -> None:
    if freq not in FREQS:
        raise ValueError(f"Unknown frequency '{freq}': use M (months) or W (weeks).")


def _segment_source(lens: str | None, assignment: pd.DataFrame | None) -> str | pd.DataFrame | None:
    if lens is None and assignment is None:
        return None
    if assignment is None:
        if lens not in ATTRIBUTE_LENSES:
            raise ValueError(
                f"Lens '{lens}' is not a customer attribute "
                f"({', '.join(ATTRIBUTE_LENSES)}): pass its assignment "
                "(customer_id, segment), e.g. from planning.segments.lenses."
            )
        return lens
    for col in (C.CUSTOMER_ID, C.SEGMENT):
        if col not in assignment.columns:
            raise ValueError(
                f"Required column '{col}' missing from the segment assignment "
                "(needs customer_id, segment)."
            )
    frame = assignment[[C.CUSTOMER_ID, C.SEGMENT]].copy()
    if frame[C.CUSTOMER_ID].isna().any() or frame[C.SEGMENT].isna().any():
        raise ValueError("The segment assignment has rows without a customer_id or segment.")
    if frame[C.CUSTOMER_ID].duplicated().any():
        dup = frame.loc[frame[C.CUSTOMER_ID].duplicated(), C.CUSTOMER_ID].iloc[0]
        raise ValueError(f"Customer '{dup}' has more than one segment in the assignment.")
    return frame.astype({C.CUSTOMER_ID: str, C.SEGMENT: str})


def _date_span(conn: Connection, as_of: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    t = schema.Transaction.__table__
    query = sa.select(sa.func.min(t.c.date), sa.func.max(t.c.date))
    if as_of is not None:
        query = query.where(t.c.date <= as_of)
    first, last = conn.execute(query).one()
    return _as_date(first), _as_date(last)


def _whole_periods(first: dt.date, as_of: dt.date, freq: Freq) -> pd.DatetimeIndex:
    start = period_start(first, freq)
    grace = FIRST_MONTH_GRACE_DAYS if freq == "M" else 0
    if (first - start).days > grace:
        start = (pd.Timestamp(start) + pd.tseries.frequencies.to_offset(PANDAS_FREQ[freq])).date()
    return period_index(start, last_whole_period(as_of, freq), freq)


def _query(
    engine: Engine,
    metric: Metric,
    freq: Freq,
    start: dt.date,
    end: dt.date,
    segments: str | pd.DataFrame | None,
) -> sa.Select:
    if freq == "M":
        src = schema.CustomerMonth.__table__
        period: sa.ColumnElement[Any] = src.c.month
        measure = {
            "revenue": sa.func.sum(src.c.revenue),
            "orders": sa.func.sum(src.c.transactions),
            "customers": sa.func.count(),
        }[metric]
        window = [src.c.month >= start, src.c.month < end]
    else:
        src = schema.Transaction.__table__
        period = week_start(engine, src.c.date)
        measure = {
            "revenue": sa.func.sum(src.c.amount),
            "orders": sa.func.count(),
            "customers": sa.func.count(sa.distinct(src.c.customer_id)),
        }[metric]
        window = [src.c.date >= start, src.c.date < end]
    period = period.label(PERIOD)
    if segments is None:
        return sa.select(period, measure.label("value")).where(*window).group_by(period)
    if isinstance(segments, str):
        seg_table = schema.Customer.__table__
        seg_col = seg_table.c[segments]
    else:
        seg_table = _assignment_table()
        seg_col = seg_table.c.segment
    segment = sa.func.coalesce(seg_col, UNASSIGNED).label(C.SEGMENT)
    return (
        sa.select(segment, period, measure.label("value"))
        .select_from(src.outerjoin(seg_table, seg_table.c.customer_id == src.c.customer_id))
        .where(*window)
        .group_by(segment, period)
    )


def _assignment_table() -> sa.Table:
    return sa.Table(
        _TEMP_TABLE,
        sa.MetaData(),
        sa.Column("customer_id", schema.Customer.__table__.c.customer_id.type, primary_key=True),
        sa.Column("segment", sa.String(128), nullable=False),
        prefixes=["TEMPORARY"],
    )


def _read_with_assignment(
    conn: Connection, query: sa.Select, assignment: pd.DataFrame
) -> pd.DataFrame:
    """Run ``query`` with the assignment in a temporary table on this connection only."""
    table = _assignment_table()
    try:
        table.drop(conn, checkfirst=True)  # left over on a pooled connection by a crash
        table.create(conn)
        # into=dict is the default, spelled out so the rows are typed as plain dicts.
        records = assignment.to_dict("records", into=dict)
        if records:
            conn.execute(table.insert(), records)
        return pd.read_sql(query, conn)
    finally:
        # PostgreSQL: the rollback undoes the CREATE too. SQLite: it commits DDL at once, so
        # the table is dropped explicitly.
        conn.rollback()
        table.drop(conn, checkfirst=True)
        conn.commit()


def _ordered(names: set[str], order: list[str]) -> list[str]:
    """The lens's natural order first, then other names alphabetically, Unassigned last."""
    first = [n for n in order if n in names]
    rest = sorted(n for n in names if n not in first and n != UNASSIGNED)
    return first + rest + ([UNASSIGNED] if UNASSIGNED in names else [])


def _fill(
    rows: pd.DataFrame,
    periods: pd.DatetimeIndex,
    segments: str | pd.DataFrame | None,
    order: list[str],
) -> pd.DataFrame:
    rows = rows.assign(**{PERIOD: pd.to_datetime(rows[PERIOD])})
    if segments is None:
        total = rows.set_index(PERIOD)["value"].reindex(periods, fill_value=0.0)
        return _long({TOTAL: total})
    names = set(rows[C.SEGMENT])
    if isinstance(segments, pd.DataFrame):
        names |= set(segments[C.SEGMENT])
    wide = (
        rows.pivot_table(index=PERIOD, columns=C.SEGMENT, values="value", aggfunc="sum")
        .reindex(index=periods, columns=_ordered(names, order))
        .fillna(0.0)
    )
    by_name = {TOTAL: wide.sum(axis=1)} | {str(s): wide[s] for s in wide.columns}
    return _long(by_name)


def _long(by_name: dict[str, pd.Series]) -> pd.DataFrame:
    frames = [
        pd.DataFrame({SERIES: name, PERIOD: s.index, VALUE: s.to_numpy(dtype=np.float64)})
        for name, s in by_name.items()
    ]
    return pd.concat(frames, ignore_index=True)[list(SERIES_COLUMNS)]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            SERIES: pd.Series(dtype=str),
            PERIOD: pd.Series(dtype="datetime64[ns]"),
            VALUE: pd.Series(dtype="float64"),
        }
    )


def to_series(frame: pd.DataFrame, freq: Freq) -> dict[str, pd.Series]:
    """``{series name: pandas Series indexed by period}`` with the frequency set, in frame order.

    Raises
    ------
    ValueError
        If a required column is missing or a series has gaps in its periods.
    """
    for col in SERIES_COLUMNS:
        if col not in frame.columns:
            raise ValueError(f"Required column '{col}' missing from the series frame.")
    out: dict[str, pd.Series] = {}
    for name, group in frame.groupby(SERIES, sort=False):
        index = pd.DatetimeIndex(group[PERIOD])
        try:
            regular = pd.DatetimeIndex(index, freq=PANDAS_FREQ[freq])
        except ValueError as exc:
            raise ValueError(
                f"Series '{name}' has missing or unordered periods for frequency {freq}."
            ) from exc
        out[str(name)] = pd.Series(
            group[VALUE].to_numpy(dtype=np.float64), index=regular, name=str(name)
        )
    return out


def _as_date(value: object) -> dt.date | None:
    return None if value is None else pd.Timestamp(value).date()  # type: ignore[arg-type]
