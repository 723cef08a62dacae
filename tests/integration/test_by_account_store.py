"""The account-level roll-up on a small demo company, on SQLite and PostgreSQL.

What the existing customers are expected to buy (BG/NBD x Gamma-Gamma, per customer) summed by
segment, checked against the value model fitted directly on the transaction log, beside a
top-down forecast, and on a store that never saw anything after the as-of date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from planning import value
from planning.core import columns as C
from planning.forecast.backtest import BacktestConfig
from planning.forecast.base import MEAN, PERIOD, SERIES
from planning.forecast.by_account import (
    CUSTOMERS,
    EXPECTED_ALIVE,
    EXPECTED_ORDERS,
    EXPECTED_REVENUE,
    GAP,
    GAP_SHARE,
    ROLLUP_COLUMNS,
    TOP_DOWN,
    account_rollup,
    new_customer_share,
    window_start,
)
from planning.forecast.by_segment import forecast_segments
from planning.forecast.series import TOTAL
from planning.ingest.demo import DemoCompany, generate_company, load_company
from planning.store import schema
from planning.store.engine import open_store
from planning.value.scoring import ValueSettings, score_customers
from tests.actors import ADMIN

END = dt.date(2025, 6, 30)
AS_OF = dt.date(2025, 3, 31)  # three months of later data sit in the store
HORIZON = 3
FAST = BacktestConfig(horizon=HORIZON, models=("seasonal_naive",), origins=1)
SUMS = [CUSTOMERS, EXPECTED_ALIVE, EXPECTED_ORDERS, EXPECTED_REVENUE]


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company(300, seed=5, months=24, end=END)


def _fresh(url: str):
    engine = open_store(url)
    if engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in schema.Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, company, tmp_path_factory):
    """The demo company in a store, shared by this module's tests (read-only)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('by_account') / 'continuum.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = _fresh(url)
    assert all(r.ok for r in load_company(engine, company, actor=ADMIN))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def early_store(company, tmp_path_factory):
    """The same company cut off at AS_OF: nothing dated later was ever imported."""
    cut = pd.Timestamp(AS_OF)
    early = DemoCompany(
        customers=company.customers,
        transactions=company.transactions[pd.to_datetime(company.transactions[C.DATE]) <= cut],
        activities=company.activities[pd.to_datetime(company.activities[C.DATE]) <= cut],
        rates=company.rates,
        spend=company.spend[pd.to_datetime(company.spend[C.MONTH]) <= cut],
        truth=company.truth,
    )
    engine = open_store(f"sqlite:///{tmp_path_factory.mktemp('early') / 'continuum.db'}")
    assert all(r.ok for r in load_company(engine, early, actor=ADMIN))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def by_size(store):
    """The roll-up by size as of AS_OF, without a forecast."""
    return account_rollup(store, as_of=AS_OF, horizon=HORIZON, freq="M", lens="size")


@pytest.fixture(scope="module")
def revenue_forecast(store):
    return forecast_segments(
        store, lens="size", metric="revenue", freq="M", horizon=HORIZON, as_of=AS_OF, config=FAST
    )


def _log_expectations(company: DemoCompany, as_of: dt.date, horizon: int) -> pd.DataFrame:
    """The value model fitted on the transaction log itself, one row per customer."""
    summary = value.summarize_purchases(company.transactions, calibration_end=as_of, time_unit="M")
    bgnbd, gg = value.fit_bgnbd(summary), value.fit_gamma_gamma(summary)
    orders = value.expected_transactions(bgnbd, summary, horizon)
    spend = value.expected_spend(gg, summary)
    size = company.customers.set_index(C.CUSTOMER_ID)[C.SIZE]
    return pd.DataFrame(
        {
            SERIES: size.reindex(orders.index).to_numpy(),
            CUSTOMERS: 1,
            EXPECTED_ALIVE: value.probability_alive(bgnbd, summary).to_numpy(),
            EXPECTED_ORDERS: orders.to_numpy(),
            EXPECTED_REVENUE: (orders * spend.fillna(0.0)).to_numpy(),
        }
    )


def _row(table: pd.DataFrame, series: str) -> pd.Series:
    match = table[table[SERIES] == series]
    assert len(match) == 1, series
    return match.iloc[0]


def test_each_segment_sums_its_customers_scores_and_the_total_comes_first(store, by_size):
    scores = score_customers(
        store, AS_OF, settings=ValueSettings(horizon=HORIZON, time_unit="M")
    ).scores
    with store.connect() as conn:
        size = dict(
            conn.execute(sa.select(schema.Customer.customer_id, schema.Customer.size)).all()
        )
    scores = scores.assign(
        **{
            SERIES: scores[C.CUSTOMER_ID].map(size),
            EXPECTED_REVENUE: scores[value.EXPECTED_TRANSACTIONS] * scores[value.EXPECTED_SPEND],
        }
    )
    expected = scores.groupby(SERIES).agg(
        **{
            CUSTOMERS: (C.CUSTOMER_ID, "size"),
            EXPECTED_ALIVE: (value.P_ALIVE, "sum"),
            EXPECTED_ORDERS: (value.EXPECTED_TRANSACTIONS, "sum"),
            EXPECTED_REVENUE: (EXPECTED_REVENUE, "sum"),
        }
    )
    table = by_size.table
    assert list(table.columns) == list(ROLLUP_COLUMNS)
    assert table[SERIES].iloc[0] == TOTAL
    assert set(table[SERIES].iloc[1:]) == set(expected.index)
    for segment, want in expected.iterrows():
        got = _row(table, segment)
        for col in SUMS:
            assert got[col] == pytest.approx(want[col], rel=1e-12), (segment, col)
    total = _row(table, TOTAL)
    for col in SUMS:
        assert total[col] == pytest.approx(table[col].iloc[1:].sum(), rel=1e-12), col
    assert total[CUSTOMERS] == len(scores)
    assert (table[EXPECTED_ALIVE] <= table[CUSTOMERS]).all()
    assert (table[EXPECTED_REVENUE] > 0).all()


def test_the_totals_equal_the_value_model_fitted_on_the_transaction_log(by_size, company):
    log = _log_expectations(company, AS_OF, HORIZON)
    # Customers who bought by AS_OF: everyone the log's summary holds.
    bought = pd.to_datetime(company.transactions[C.DATE]) <= pd.Timestamp(AS_OF)
    assert len(log) == company.transactions.loc[bought, C.CUSTOMER_ID].nunique()
    expected = log.groupby(SERIES)[SUMS].sum()
    table = by_size.table.set_index(SERIES)
    for col in SUMS:
        assert table.loc[TOTAL, col] == pytest.approx(log[col].sum(), rel=1e-6), col
        for segment in expected.index:
            want = expected.loc[segment, col]
            assert table.loc[segment, col] == pytest.approx(want, rel=1e-6), (segment, col)


def test_a_longer_horizon_expects_more_orders_from_the_same_customers(store, by_size):
    short = by_size.table
    long = account_rollup(store, as_of=AS_OF, horizon=2 * HORIZON, freq="M", lens="size").table
    short, long = short.set_index(SERIES), long.set_index(SERIES)
    assert (long[CUSTOMERS] == short[CUSTOMERS]).all()
    np.testing.assert_allclose(long[EXPECTED_ALIVE], short[EXPECTED_ALIVE], rtol=1e-12)
    assert (long[EXPECTED_ORDERS] > short[EXPECTED_ORDERS]).all()
    assert (long[EXPECTED_REVENUE] > short[EXPECTED_REVENUE]).all()


def test_without_a_forecast_there_is_no_gap_and_the_text_says_so(store):
    rollup = account_rollup(store, as_of=AS_OF, horizon=HORIZON, freq="M")
    table = rollup.table
    assert table[SERIES].tolist() == [TOTAL]  # no lens: the company only
    assert rollup.metric is None
    assert table[[TOP_DOWN, GAP, GAP_SHARE]].isna().all().all()
    assert f"{int(table[CUSTOMERS].iloc[0]):,} existing customers" in rollup.explanation
    assert "no account-level counterpart" in rollup.explanation
    assert rollup.as_of == AS_OF and rollup.horizon == HORIZON and rollup.freq == "M"


@pytest.mark.parametrize("horizon", [HORIZON, 2], ids=["same-horizon", "shorter-horizon"])
def test_the_gap_is_the_top_down_forecast_minus_the_account_level(store, revenue_forecast, horizon):
    forecast = revenue_forecast
    rollup = account_rollup(
        store, as_of=AS_OF, horizon=horizon, freq="M", lens="size", forecast=forecast
    )
    table = rollup.table
    assert rollup.metric == "revenue"
    assert table[SERIES].tolist() == [TOTAL, *forecast.segments]
    fc = forecast.forecast
    first = sorted(fc[PERIOD].unique())[:horizon]
    assert first[0] == pd.Timestamp("2025-04-01")  # the month after AS_OF
    top_down = fc[fc[PERIOD].isin(first)].groupby(SERIES)[MEAN].sum()
    np.testing.assert_allclose(table[TOP_DOWN], table[SERIES].map(top_down), rtol=1e-12)
    np.testing.assert_allclose(table[GAP], table[TOP_DOWN] - table[EXPECTED_REVENUE], rtol=1e-12)
    np.testing.assert_allclose(table[GAP_SHARE], table[GAP] / table[EXPECTED_REVENUE], rtol=1e-12)
    # The forecast is coherent and so is the account level: the gaps add up too.
    total = _row(table, TOTAL)
    assert total[GAP] == pytest.approx(table[GAP].iloc[1:].sum(), rel=1e-9)
    direction = "above" if total[GAP_SHARE] >= 0 else "below"
    assert (
        f"The top-down forecast is {abs(total[GAP_SHARE]):.0%} {direction} the account level"
        in rollup.explanation
    )
    segments = table.iloc[1:]
    widest = segments.iloc[segments[GAP_SHARE].abs().argmax()]
    assert f"The widest difference is {widest[SERIES]}:" in rollup.explanation


def test_an_orders_forecast_is_compared_with_expected_orders(store):
    forecast = forecast_segments(
        store, lens="size", metric="orders", freq="M", horizon=HORIZON, as_of=AS_OF, config=FAST
    )
    assert forecast.metric == "orders"
    rollup = account_rollup(
        store, as_of=AS_OF, horizon=HORIZON, freq="M", lens="size", forecast=forecast
    )
    table = rollup.table
    np.testing.assert_allclose(table[GAP], table[TOP_DOWN] - table[EXPECTED_ORDERS], rtol=1e-12)
    np.testing.assert_allclose(table[GAP_SHARE], table[GAP] / table[EXPECTED_ORDERS], rtol=1e-12)
    assert "the value model counts purchase days" in rollup.explanation


def test_a_customers_forecast_has_no_account_level_counterpart(store, revenue_forecast):
    # Only the metric matters here: active customers per period are not summed over periods.
    forecast = dataclasses.replace(revenue_forecast, metric="customers")
    rollup = account_rollup(
        store, as_of=AS_OF, horizon=HORIZON, freq="M", lens="size", forecast=forecast
    )
    assert rollup.metric == "customers"
    assert rollup.table[[TOP_DOWN, GAP, GAP_SHARE]].isna().all().all()
    assert rollup.table[SERIES].tolist() == [TOTAL, *forecast.segments]
    assert "no account-level counterpart" in rollup.explanation


def test_an_assignment_groups_its_customers_and_leaves_the_rest_unassigned(store, company):
    ids = company.customers[C.CUSTOMER_ID].iloc[:60]
    assignment = pd.DataFrame({C.CUSTOMER_ID: ids, C.SEGMENT: "First sixty"})
    rollup = account_rollup(
        store, as_of=AS_OF, horizon=HORIZON, freq="M", lens="first", assignment=assignment
    )
    table = rollup.table.set_index(SERIES)
    assert set(table.index) == {TOTAL, "First sixty", "Unassigned"}
    bought = company.transactions.loc[
        pd.to_datetime(company.transactions[C.DATE]) <= pd.Timestamp(AS_OF), C.CUSTOMER_ID
    ].unique()
    assert table.loc["First sixty", CUSTOMERS] == len(set(bought) & set(ids))
    assert table.loc["Unassigned", CUSTOMERS] == len(set(bought) - set(ids))
    for col in SUMS:
        assert table.loc[TOTAL, col] == pytest.approx(
            table.loc["First sixty", col] + table.loc["Unassigned", col], rel=1e-12
        )


def test_a_lens_that_is_not_an_attribute_needs_its_assignment(store):
    with pytest.raises(ValueError, match="Lens 'rfm' is not a customer attribute"):
        account_rollup(store, as_of=AS_OF, horizon=HORIZON, freq="M", lens="rfm")


def test_too_little_history_to_fit_the_value_model_is_an_error(store, company):
    first_day = pd.to_datetime(company.transactions[C.DATE]).min().date()
    with pytest.raises(ValueError, match=r"bought again|No purchases"):
        account_rollup(store, as_of=first_day - dt.timedelta(days=1), horizon=3, freq="M")


@pytest.mark.parametrize("freq, horizon", [("M", 3), ("M", 12), ("W", 8)])
def test_the_new_customer_share_is_the_revenue_of_customers_first_seen_in_the_window(
    store, company, freq, horizon
):
    tx = company.transactions.assign(day=pd.to_datetime(company.transactions[C.DATE]))
    tx = tx[tx["day"] <= pd.Timestamp(AS_OF)]
    first = tx.groupby(C.CUSTOMER_ID)["day"].transform("min")
    start = pd.Timestamp(window_start(AS_OF, horizon, freq))
    window = tx["day"] >= start
    expected = tx.loc[window & (first >= start), C.AMOUNT].sum() / tx.loc[window, C.AMOUNT].sum()
    share = new_customer_share(store, AS_OF, horizon, freq)
    assert 0 < share < 1
    assert share == pytest.approx(expected, rel=1e-9)


def test_the_roll_up_reports_the_new_customer_share_of_its_own_horizon(store, by_size):
    share = new_customer_share(store, AS_OF, HORIZON, "M")
    assert by_size.new_customer_share == share
    assert f"In the last {HORIZON} months" in by_size.explanation
    assert f"brought {share:.0%} of revenue" in by_size.explanation


def test_without_revenue_in_the_window_the_new_customer_share_is_unknown(store, company):
    first_day = pd.to_datetime(company.transactions[C.DATE]).min().date()
    assert np.isnan(new_customer_share(store, first_day - dt.timedelta(days=1), 3, "M"))


def test_nothing_dated_after_as_of_changes_the_roll_up(store, early_store, by_size):
    columns = [SERIES, *SUMS]
    full = by_size
    early = account_rollup(early_store, as_of=AS_OF, horizon=HORIZON, freq="M", lens="size")
    pd.testing.assert_frame_equal(
        full.table[columns], early.table[columns], check_exact=False, rtol=1e-7
    )
    assert full.new_customer_share == pytest.approx(early.new_customer_share, rel=1e-12)
    assert full.explanation == early.explanation
    # The later months are really there: as of the end, more customers are counted.
    later = account_rollup(store, as_of=END, horizon=HORIZON, freq="M", lens="size")
    assert _row(later.table, TOTAL)[CUSTOMERS] > _row(full.table, TOTAL)[CUSTOMERS]
