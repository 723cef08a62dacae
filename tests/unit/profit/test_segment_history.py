"""The calendar helpers, column names and splicing of planning.profit.segment_history."""

from __future__ import annotations

import calendar
import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.core import columns as C
from planning.profit import segment_history as sh

_DAYS = st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))


@pytest.mark.parametrize(
    "as_of, month",
    [
        (dt.date(2025, 6, 30), dt.date(2025, 6, 1)),
        (dt.date(2025, 6, 29), dt.date(2025, 5, 1)),
        (dt.date(2025, 6, 1), dt.date(2025, 5, 1)),
        (dt.date(2025, 1, 15), dt.date(2024, 12, 1)),
        (dt.date(2024, 12, 31), dt.date(2024, 12, 1)),
        (dt.date(2024, 2, 29), dt.date(2024, 2, 1)),
        (dt.date(2024, 2, 28), dt.date(2024, 1, 1)),
        (dt.date(2023, 2, 28), dt.date(2023, 2, 1)),
    ],
    ids=[
        "last-day-closes-its-month",
        "day-before-the-last",
        "first-day",
        "mid-january-back-a-year",
        "new-years-eve",
        "leap-day",
        "february-28-in-a-leap-year",
        "february-28-otherwise",
    ],
)
def test_the_last_closed_month_is_the_last_one_over_by_as_of(as_of, month):
    assert sh.last_closed_month(as_of) == month


@settings(deadline=None)  # pandas date arithmetic; a busy machine is slow
@given(_DAYS)
def test_the_last_closed_month_ended_on_or_before_as_of_and_the_next_one_did_not(as_of):
    month = sh.last_closed_month(as_of)
    assert month.day == 1
    assert sh.month_end(month) <= as_of
    following = sh.month_end(sh.month_end(month) + dt.timedelta(days=1))
    assert following > as_of


@pytest.mark.parametrize(
    "month, end",
    [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
        (dt.date(2025, 4, 1), dt.date(2025, 4, 30)),
        (dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        (dt.date(2023, 2, 1), dt.date(2023, 2, 28)),
        (dt.date(1900, 2, 1), dt.date(1900, 2, 28)),
        (dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2025, 2, 14), dt.date(2025, 2, 28)),
        (dt.date(2025, 3, 31), dt.date(2025, 3, 31)),
    ],
    ids=[
        "january",
        "april",
        "leap-february",
        "february",
        "1900-is-no-leap-year",
        "december",
        "mid-month",
        "already-the-end",
    ],
)
def test_month_end_is_the_last_day_of_the_month(month, end):
    result = sh.month_end(month)
    assert result == end and isinstance(result, dt.date)


@settings(deadline=None)  # pandas date arithmetic; a busy machine is slow
@given(_DAYS)
def test_month_end_stays_in_the_month_and_the_next_day_starts_a_new_one(day):
    end = sh.month_end(day)
    assert (end.year, end.month) == (day.year, day.month)
    assert end.day == calendar.monthrange(day.year, day.month)[1]
    assert (end + dt.timedelta(days=1)).day == 1


@pytest.mark.parametrize(
    "make, prefix, name, column",
    [
        (sh.qty_column, sh.QTY_PREFIX, "order", "qty_order"),
        (sh.qty_column, sh.QTY_PREFIX, "sales_visit", "qty_sales_visit"),
        (sh.spend_column, sh.SPEND_PREFIX, "retention", "spend_retention"),
        (sh.spend_column, sh.SPEND_PREFIX, "win_back", "spend_win_back"),
    ],
)
def test_activity_and_program_columns_carry_their_prefix(make, prefix, name, column):
    assert make(name) == column
    assert column.startswith(prefix) and column.removeprefix(prefix) == name


def test_quantity_and_spend_columns_never_collide():
    assert sh.qty_column("x") != sh.spend_column("x")
    assert not sh.qty_column("x").startswith(sh.SPEND_PREFIX)
    assert not sh.spend_column("x").startswith(sh.QTY_PREFIX)


# --------------------------------------------------------------------------- splicing


def _history(months: list[str], segments: list[str], **columns: float) -> pd.DataFrame:
    rows = [{C.MONTH: pd.Timestamp(m), C.SEGMENT: s, **columns} for m in months for s in segments]
    return pd.DataFrame(rows)


def test_splicing_replaces_every_month_from_the_new_first_month_on():
    old = _history(["2025-01-01", "2025-02-01", "2025-03-01"], ["Large", "Small"], revenue=1.0)
    new = _history(["2025-02-01", "2025-03-01", "2025-04-01"], ["Large", "Small"], revenue=2.0)
    out = sh.splice_history(old, new)
    assert out[C.MONTH].is_monotonic_increasing
    assert len(out) == 8
    by_month = out.groupby(C.MONTH)["revenue"].unique().map(list).to_dict()
    assert by_month == {
        pd.Timestamp("2025-01-01"): [1.0],
        pd.Timestamp("2025-02-01"): [2.0],
        pd.Timestamp("2025-03-01"): [2.0],
        pd.Timestamp("2025-04-01"): [2.0],
    }
    assert out.index.tolist() == list(range(8))


def test_a_splice_is_sorted_by_month_then_segment():
    old = _history(["2025-01-01"], ["Small", "Large"], revenue=1.0)
    new = _history(["2025-02-01"], ["Small", "Large", "Key account"], revenue=2.0)
    out = sh.splice_history(old, new)
    assert list(zip(out[C.MONTH].dt.month, out[C.SEGMENT], strict=True)) == [
        (1, "Large"),
        (1, "Small"),
        (2, "Key account"),
        (2, "Large"),
        (2, "Small"),
    ]


def test_a_segment_the_reload_no_longer_has_is_dropped_from_the_replaced_months():
    old = _history(["2025-01-01", "2025-02-01"], ["Large", "Gone"], revenue=1.0)
    new = _history(["2025-02-01"], ["Large"], revenue=2.0)
    out = sh.splice_history(old, new)
    assert set(out.loc[out[C.MONTH] == "2025-02-01", C.SEGMENT]) == {"Large"}
    assert set(out.loc[out[C.MONTH] == "2025-01-01", C.SEGMENT]) == {"Large", "Gone"}


def test_a_column_only_one_side_has_is_zero_on_the_other():
    old = _history(["2025-01-01"], ["Large"], revenue=1.0, spend_retention=5.0)
    new = _history(["2025-02-01"], ["Large"], revenue=2.0, qty_order=3.0)
    out = sh.splice_history(old, new).set_index(C.MONTH)
    assert out.loc["2025-01-01", "qty_order"] == 0.0
    assert out.loc["2025-02-01", "spend_retention"] == 0.0
    assert out.loc["2025-01-01", "spend_retention"] == 5.0
    assert out.loc["2025-02-01", "qty_order"] == 3.0
    assert not out.isna().any().any()


def test_splicing_nothing_new_gives_a_copy_of_the_old_history():
    old = _history(["2025-01-01", "2025-02-01"], ["Large"], revenue=1.0)
    out = sh.splice_history(old, old.iloc[0:0])
    pd.testing.assert_frame_equal(out, old)
    assert out is not old
    out.loc[0, "revenue"] = 99.0
    assert old.loc[0, "revenue"] == 1.0


def test_a_reload_from_before_the_old_history_replaces_all_of_it():
    old = _history(["2025-02-01", "2025-03-01"], ["Large"], revenue=1.0)
    new = _history(["2025-01-01", "2025-02-01"], ["Large"], revenue=2.0)
    out = sh.splice_history(old, new)
    assert out["revenue"].tolist() == [2.0, 2.0]
    assert out[C.MONTH].tolist() == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")]
