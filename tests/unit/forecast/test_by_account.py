"""The window of the account-level roll-up's new-customer share (no store needed)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.forecast.by_account import window_start


def _calendar_start(as_of: dt.date, months: int) -> dt.date:
    """First day of the ``months`` calendar months that end with ``as_of``'s month."""
    return (pd.Timestamp(as_of).to_period("M") - (months - 1)).to_timestamp().date()


@settings(deadline=None)  # pandas date arithmetic; a busy machine is slow
@given(st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)), st.integers(1, 104))
def test_a_weekly_window_is_exactly_that_many_weeks_ending_on_as_of(as_of, weeks):
    start = window_start(as_of, weeks, "W")
    assert (as_of - start).days + 1 == 7 * weeks
    assert start.weekday() == (as_of + dt.timedelta(days=1)).weekday()


@pytest.mark.parametrize(
    "as_of, months, start",
    [
        (dt.date(2025, 5, 31), 3, dt.date(2025, 3, 1)),
        (dt.date(2025, 3, 31), 1, dt.date(2025, 3, 1)),
        (dt.date(2025, 12, 31), 12, dt.date(2025, 1, 1)),
        (dt.date(2024, 8, 31), 6, dt.date(2024, 3, 1)),
        (dt.date(2025, 1, 31), 2, dt.date(2024, 12, 1)),
    ],
    ids=["may-3", "march-1", "december-12", "august-6", "across-new-year"],
)
def test_a_monthly_window_ending_on_a_months_last_day_is_whole_months(as_of, months, start):
    assert window_start(as_of, months, "M") == start


@pytest.mark.xfail(
    strict=True,
    reason="window_start(as_of, h, 'M') is the day after the same day h months earlier: for "
    "an as_of on the last day of a month shorter than the month h earlier it starts a day or "
    "more too early (2025-06-30, 3 -> 2025-03-31 instead of 2025-04-01; 2025-02-28, 1 -> "
    "2025-01-29), so the new-customer share counts days outside the horizon's calendar months",
)
@pytest.mark.parametrize(
    "as_of, months",
    [(dt.date(2025, 6, 30), 3), (dt.date(2025, 2, 28), 1), (dt.date(2025, 4, 30), 1)],
    ids=["june-3", "february-1", "april-1"],
)
def test_a_monthly_window_ending_on_a_short_months_last_day_is_whole_months(as_of, months):
    assert window_start(as_of, months, "M") == _calendar_start(as_of, months)
