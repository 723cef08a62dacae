"""Purchase histories reduced to what the customer-base models read: frequency (repeat
purchases), recency (time of the last one), age ``T`` and the mean value of repeat purchases,
per customer, in days, weeks or months (:func:`summarize_purchases`). Also the column names of
the summary and of the value frames, shared by every model of the package.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

import numpy as np
import pandas as pd

from planning.core import columns as C
from planning.core.columns import AMOUNT, CUSTOMER_ID, DATE

# Columns of the customer summary and of the value frame.
FREQUENCY: Final = C.FREQUENCY
RECENCY: Final = "recency"
T: Final = "T"
MONETARY: Final = "monetary"
P_ALIVE: Final = "p_alive"
EXPECTED_TRANSACTIONS: Final = "expected_transactions"
EXPECTED_SPEND: Final = "expected_spend"
CLV: Final = "clv"

TimeUnit = Literal["W", "D", "M"]
DAYS_PER_UNIT: Final[dict[str, float]] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}


def summarize_purchases(
    transactions: pd.DataFrame,
    *,
    calibration_end: dt.date,
    time_unit: TimeUnit = "W",
    merge_same_day: bool = True,
    observation_start: dt.date | None = None,
) -> pd.DataFrame:
    """Reduce a transaction log to one frequency/recency/T/monetary row per customer.

    A purchase is a transaction with an amount of 0 or more (zero-value orders count: CDNOW has
    eight). Negative amounts are refunds or credits, not purchases, and are left out; net them
    onto their purchase beforehand if spend should be net. With ``merge_same_day`` a customer's
    purchases on one day are summed into one transaction. Times are whole days divided by the
    days in ``time_unit`` (a month is 365.25 / 12 days).

    Parameters
    ----------
    transactions
        Long frame with ``customer_id, date, amount``; other columns are ignored.
    calibration_end
        Last day of the calibration period (inclusive); later transactions are ignored.
    time_unit
        ``"W"`` weeks, ``"D"`` days or ``"M"`` months.
    merge_same_day
        Count a customer's purchases on one day as one transaction (as Fader, Hardie & Lee 2005a
        do for CDNOW).
    observation_start
        First day of data to use; earlier transactions are ignored, so a customer's first
        purchase is their first on or after this day. Default: all history.

    Returns
    -------
    DataFrame
        ``customer_id, frequency, recency, T, monetary``, one row per customer with a purchase
        in the window, sorted by ``customer_id``: ``frequency`` repeat purchases (purchases after
        the first), ``recency`` time from the first to the last purchase, ``T`` time from the
        first purchase to ``calibration_end``, and ``monetary`` the mean amount of the repeat
        purchases (0 when ``frequency`` is 0), as in Fader, Hardie & Lee (2005b).

    Raises
    ------
    ValueError
        If a required column is missing, a row has no customer, date or amount, or
        ``time_unit`` or ``observation_start`` is invalid.
    """
    _require(transactions, (CUSTOMER_ID, DATE, AMOUNT), "transactions")
    if time_unit not in DAYS_PER_UNIT:
        raise ValueError(f"Unknown time_unit '{time_unit}': use one of W, D, M.")
    if observation_start is not None and observation_start > calibration_end:
        raise ValueError(
            f"observation_start {observation_start} is after calibration_end {calibration_end}."
        )
    for col in (CUSTOMER_ID, DATE, AMOUNT):
        missing = int(transactions[col].isna().sum())
        if missing:
            raise ValueError(
                f"transactions has {missing} rows without {col}: drop or fix them "
                "before summarizing."
            )
    day = _day_numbers(transactions[DATE])
    amount = transactions[AMOUNT].to_numpy(dtype=np.float64)
    keep = (day <= _day_number(calibration_end)) & (amount >= 0)
    if observation_start is not None:
        keep &= day >= _day_number(observation_start)
    codes, ids = _sorted_codes(transactions[CUSTOMER_ID][keep])
    day, amount = day[keep], amount[keep]
    # One int64 key per (customer, day): a single argsort instead of a two-key lexsort.
    first_day = int(day.min()) if day.size else 0
    span = int(day.max()) - first_day + 1 if day.size else 1
    order = np.argsort(codes.astype(np.int64) * span + (day - first_day))
    code, day, amount = codes[order], day[order], amount[order]
    if merge_same_day and code.size:
        starts = np.flatnonzero(np.r_[True, (code[1:] != code[:-1]) | (day[1:] != day[:-1])])
        code, day, amount = code[starts], day[starts], np.add.reduceat(amount, starts)
    if not code.size:
        return _summary_frame(ids[:0], *(np.zeros(0),) * 4)
    first = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    last = np.r_[first[1:], code.size] - 1
    frequency = last - first
    repeat_amount = amount.copy()
    repeat_amount[first] = 0.0
    repeat_total = np.add.reduceat(repeat_amount, first)
    monetary = np.divide(repeat_total, frequency, out=np.zeros(first.size), where=frequency > 0)
    unit = DAYS_PER_UNIT[time_unit]
    return _summary_frame(
        ids.take(code[first]),
        frequency,
        (day[last] - day[first]) / unit,
        (_day_number(calibration_end) - day[first]) / unit,
        monetary,
    )


def _summary_frame(
    ids: pd.Index, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray, monetary: np.ndarray
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            CUSTOMER_ID: ids,
            FREQUENCY: frequency.astype(np.int64),
            RECENCY: recency.astype(np.float64),
            T: age.astype(np.float64),
            MONETARY: monetary.astype(np.float64),
        }
    )


def _sorted_codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(ids, sort=True)``, by hashing first and sorting only the distinct ids."""
    codes, uniques = pd.factorize(ids, sort=False)
    order = uniques.argsort()
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size)
    return rank[codes], uniques.take(order)


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of a date column (datetimes, ``date`` objects or ISO strings)."""
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = pd.to_datetime(dates)
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)  # the customer's calendar day, not UTC's
    values = dates.to_numpy()
    unit, count = np.datetime_data(values.dtype)
    # One day in the column's ticks (datetime_data's unit is a plain str to the type checker).
    per_day = np.timedelta64(1, "D").astype(f"m8[{count}{unit}]").astype(np.int64)
    # Floor division of the integer ticks: exact, and cheaper than astype("datetime64[D]").
    return values.view(np.int64) // per_day


def _day_number(day: dt.date) -> int:
    return int(np.datetime64(pd.Timestamp(day).date(), "D").astype(np.int64))


def _require(frame: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    for col in cols:
        if col not in frame.columns:
            raise ValueError(
                f"Required column {col} missing from {what}: it needs {', '.join(cols)}."
            )


def _rfm(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated frequency, recency and T of a summary as float arrays."""
    _require(summary, (CUSTOMER_ID, FREQUENCY, RECENCY, T), "the summary")
    x = summary[FREQUENCY].to_numpy(dtype=np.float64)
    tx = summary[RECENCY].to_numpy(dtype=np.float64)
    age = summary[T].to_numpy(dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(tx).all() and np.isfinite(age).all()):
        raise ValueError("The summary has missing or infinite frequency, recency or T.")
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("frequency must be a whole number of repeat purchases, 0 or more.")
    if (tx < 0).any() or (tx > age).any():
        raise ValueError("recency must lie between 0 and T for every customer.")
    if (tx[x == 0] != 0).any():
        raise ValueError("recency must be 0 for customers with frequency 0.")
    return x, tx, age
