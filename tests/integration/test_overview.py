"""Monthly KPIs and the headline, on SQLite and PostgreSQL, against hand-counted numbers.

The little company below (every number checked by hand):

    A  2023-01-10  100 (cost 60)   2023-01-20  50 (no cost -> 35)   2024-01-05  200 (cost 120)
    B  2023-01-15  300 (no cost -> 210)
    C  2023-03-01   80 (cost 40)   2023-04-01  20 (cost 10)
    D  2024-01-31 1000 (cost 500)
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from planning.store import kpis as overview
from planning.store import schema

D = dt.date
ROWS = [
    ("A", D(2023, 1, 10), 100.0, 60.0),
    ("A", D(2023, 1, 20), 50.0, None),
    ("A", D(2024, 1, 5), 200.0, 120.0),
    ("B", D(2023, 1, 15), 300.0, None),
    ("C", D(2023, 3, 1), 80.0, 40.0),
    ("C", D(2023, 4, 1), 20.0, 10.0),
    ("D", D(2024, 1, 31), 1000.0, 500.0),
]


@pytest.fixture
def company(engine):
    with engine.begin() as conn:
        batch_id = conn.execute(
            sa.insert(schema.ImportBatch.__table__).values(
                kind="transactions",
                file_name="hand.csv",
                checksum="0" * 64,
                rows_read=len(ROWS),
                rows_added=len(ROWS),
                rows_skipped=0,
                created_at=dt.datetime(2024, 2, 1, tzinfo=dt.UTC),
                created_by="test",
                mapping="",
            )
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(schema.Transaction.__table__),
            [
                {
                    "customer_id": cid,
                    "date": day,
                    "amount": amount,
                    "cost": cost,
                    "batch_id": batch_id,
                }
                for cid, day, amount, cost in ROWS
            ],
        )
    return engine


def _month(kpis: pd.DataFrame, year: int, month: int) -> pd.Series:
    return kpis.set_index("month").loc[pd.Timestamp(year, month, 1)]


def test_monthly_kpis_sum_revenue_and_cost_with_the_default_margin_where_cost_is_missing(company):
    kpis = overview.monthly_kpis(company, as_of=D(2024, 1, 31))

    jan = _month(kpis, 2023, 1)
    assert jan["revenue"] == 450.0
    assert jan["cost"] == 305.0  # 60 + 50 * 0.7 + 300 * 0.7
    assert jan["gross_margin"] == 145.0
    assert jan["gross_margin_pct"] == pytest.approx(145 / 450 * 100)
    assert jan["transactions"] == 3
    assert jan["active_customers"] == 2
    assert jan["new_customers"] == 2

    last = _month(kpis, 2024, 1)
    assert (last["revenue"], last["cost"], last["gross_margin"]) == (1200.0, 620.0, 580.0)
    assert (last["transactions"], last["active_customers"], last["new_customers"]) == (2, 2, 1)


def test_monthly_kpis_cover_every_calendar_month_including_months_without_sales(company):
    kpis = overview.monthly_kpis(company, as_of=D(2024, 1, 31))

    assert list(kpis.columns) == list(overview.KPI_COLUMNS)
    assert list(kpis["month"]) == list(pd.date_range("2023-01-01", "2024-01-01", freq="MS"))
    feb = _month(kpis, 2023, 2)
    assert (feb["revenue"], feb["transactions"], feb["active_customers"]) == (0.0, 0, 0)
    assert pd.isna(feb["gross_margin_pct"])
    assert kpis["new_customers"].sum() == 4


def test_a_customer_is_lost_in_the_sixth_empty_month_unless_they_bought_again_by_as_of(company):
    kpis = overview.monthly_kpis(company, as_of=D(2024, 1, 31))

    lost = kpis.set_index("month")["lost_customers"]
    # B's last purchase is January 2023 -> lost in July; C's is April -> lost in October.
    # A also went quiet after January 2023 but bought again in January 2024.
    assert lost[lost > 0].to_dict() == {pd.Timestamp(2023, 7, 1): 1, pd.Timestamp(2023, 10, 1): 1}


def test_as_of_hides_later_purchases_so_a_returning_customer_counts_as_lost_then(company):
    kpis = overview.monthly_kpis(company, as_of=D(2023, 12, 31))

    assert kpis["month"].iloc[-1] == pd.Timestamp(2023, 12, 1)
    assert _month(kpis, 2023, 7)["lost_customers"] == 2  # A and B
    assert kpis["revenue"].sum() == 550.0
    assert kpis["new_customers"].sum() == 3


def test_customers_lapsing_in_a_month_that_has_not_ended_by_as_of_are_not_counted(company):
    before_end = overview.monthly_kpis(company, as_of=D(2023, 7, 30))
    at_end = overview.monthly_kpis(company, as_of=D(2023, 7, 31))

    assert before_end["lost_customers"].sum() == 0
    assert _month(at_end, 2023, 7)["lost_customers"] == 2


def test_without_as_of_the_last_transaction_date_is_used(company):
    pd.testing.assert_frame_equal(
        overview.monthly_kpis(company), overview.monthly_kpis(company, as_of=D(2024, 1, 31))
    )


def test_an_empty_store_gives_an_empty_frame_with_the_documented_columns(engine):
    kpis = overview.monthly_kpis(engine)

    assert kpis.empty
    assert list(kpis.columns) == list(overview.KPI_COLUMNS)


def test_headline_compares_the_last_full_month_with_the_same_month_a_year_earlier(company):
    head = overview.headline(company, as_of=D(2024, 1, 31))

    assert head.month == D(2024, 1, 1)
    assert head.year_ago_month == D(2023, 1, 1)
    assert (head.revenue.value, head.revenue.year_ago) == (1200.0, 450.0)
    assert head.revenue.change_pct == pytest.approx((1200 - 450) / 450 * 100)
    assert head.gross_margin_pct.value == pytest.approx(580 / 1200 * 100)
    assert head.gross_margin_pct.change == pytest.approx(580 / 1200 * 100 - 145 / 450 * 100)
    assert (head.active_customers.value, head.active_customers.change) == (2, 0)
    assert (head.new_customers.value, head.new_customers.year_ago) == (1, 2)
    assert (head.lost_customers.value, head.lost_customers.year_ago) == (0, 0)


def test_headline_skips_a_month_in_progress_and_has_no_change_without_a_year_of_history(company):
    head = overview.headline(company, as_of=D(2023, 4, 15))

    assert head.month == D(2023, 3, 1)
    assert head.revenue.value == 80.0
    assert head.revenue.year_ago is None
    assert head.revenue.change is None and head.revenue.change_pct is None


def test_headline_is_empty_when_no_month_has_ended_yet(company):
    head = overview.headline(company, as_of=D(2023, 1, 20))

    assert head.month is None
    assert head.revenue.value is None and head.active_customers.value is None


def test_headline_of_an_empty_store_has_no_values(engine):
    head = overview.headline(engine)

    assert head.month is None and head.revenue.change is None


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (D(2024, 1, 31), D(2024, 1, 1)),
        (D(2024, 1, 30), D(2023, 12, 1)),
        (D(2024, 2, 29), D(2024, 2, 1)),
        (D(2024, 3, 1), D(2024, 2, 1)),
    ],
)
def test_last_full_month_is_the_month_that_has_ended_by_as_of(as_of, expected):
    assert overview.last_full_month(as_of) == expected
