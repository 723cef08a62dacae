"""Each segment's closed months read from the store: the facts the operating plan starts from.

The demo company (SQLite and PostgreSQL) is checked against its own transaction log, activity
counts and program spend; the little company (tests/integration/little_company.py, SQLite) by
hand, where rates change, a cost of goods is missing and a customer has no region.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from planning.core import columns as C
from planning.core.defaults import LAPSE_MONTHS
from planning.ingest.demo import DemoCompany, generate_company, load_company
from planning.profit import segment_history as sh
from planning.profit.profitability import DEFAULT_COST_OF_CAPITAL
from planning.store import schema
from planning.store.engine import open_store
from planning.store.facts import UNASSIGNED
from tests.actors import ADMIN
from tests.integration import little_company

END = dt.date(2025, 6, 30)
END_MONTH = dt.date(2025, 3, 1)  # closed months to March: three later months sit in the store
FLOWS = [sh.OPENING, sh.NEW, sh.LOST, sh.WON_BACK, sh.CLOSING]


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company(300, seed=5, months=24, end=END)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, company, tmp_path_factory):
    """The demo company in a store, shared by this module's tests (read-only)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('segment_history') / 'continuum.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = open_store(url)
    if engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in schema.Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    assert all(r.ok for r in load_company(engine, company, actor=ADMIN))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def history(store) -> pd.DataFrame:
    return sh.load_history(store, end_month=END_MONTH)


def _log(company: DemoCompany) -> pd.DataFrame:
    """Transactions to the end of END_MONTH with their month and the customer's size."""
    tx = company.transactions
    month = pd.to_datetime(tx[C.DATE]).dt.to_period("M").dt.to_timestamp()
    size = company.customers.set_index(C.CUSTOMER_ID)[C.SIZE]
    out = tx.assign(**{C.MONTH: month, C.SEGMENT: tx[C.CUSTOMER_ID].map(size).to_numpy()})
    return out[out[C.MONTH] <= pd.Timestamp(END_MONTH)]


def _indexed(history: pd.DataFrame) -> pd.DataFrame:
    return history.set_index([C.MONTH, C.SEGMENT]).sort_index()


def test_every_segment_has_every_closed_month_from_the_first_sale(history, company):
    log = _log(company)
    months = pd.date_range(log[C.MONTH].min(), pd.Timestamp(END_MONTH), freq="MS")
    assert set(history[C.SEGMENT]) == set(company.customers[C.SIZE])
    assert UNASSIGNED not in set(history[C.SEGMENT])  # every customer has a size
    for _, rows in history.groupby(C.SEGMENT):
        assert rows[C.MONTH].tolist() == list(months)
    assert history[[sh.REVENUE, sh.ORDERS, sh.CLOSING]].notna().all().all()
    assert list(history.columns[:11]) == [
        C.MONTH,
        C.SEGMENT,
        sh.REVENUE,
        sh.GROSS_MARGIN,
        sh.ORDERS,
        sh.BUYERS,
        *FLOWS,
    ]
    assert history.columns[-1] == sh.PROGRAM_SPEND


def test_the_segments_revenue_orders_and_buyers_are_the_transaction_logs(history, company):
    log = _log(company)
    got = _indexed(history)
    keys = [C.MONTH, C.SEGMENT]
    want = log.groupby(keys).agg(
        revenue=(C.AMOUNT, "sum"),
        margin=(C.AMOUNT, "sum"),
        orders=(C.AMOUNT, "size"),
        buyers=(C.CUSTOMER_ID, "nunique"),
    )
    want["margin"] -= log.groupby(keys)[C.COST].sum()
    want = want.reindex(got.index, fill_value=0)
    np.testing.assert_allclose(got[sh.REVENUE], want["revenue"], rtol=1e-9, atol=0.005)
    np.testing.assert_allclose(got[sh.GROSS_MARGIN], want["margin"], rtol=1e-9, atol=0.005)
    np.testing.assert_array_equal(got[sh.ORDERS], want["orders"])
    np.testing.assert_array_equal(got[sh.BUYERS], want["buyers"])


def test_revenue_summed_over_segments_is_the_stores_revenue_in_each_closed_month(store, history):
    tx = schema.Transaction.__table__
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(tx.c.date, tx.c.amount).where(tx.c.date <= sh.month_end(END_MONTH))
        ).all()
    stored = pd.DataFrame(rows, columns=[C.DATE, C.AMOUNT])
    month = pd.to_datetime(stored[C.DATE]).dt.to_period("M").dt.to_timestamp()
    by_month = stored.groupby(month)[C.AMOUNT].sum()
    total = history.groupby(C.MONTH)[sh.REVENUE].sum()
    assert list(total.index) == list(by_month.index)
    np.testing.assert_allclose(total, by_month, rtol=1e-9)


def test_closing_is_opening_plus_new_minus_lost_plus_won_back(history):
    h = history.sort_values([C.SEGMENT, C.MONTH])
    np.testing.assert_array_equal(
        h[sh.CLOSING], h[sh.OPENING] + h[sh.NEW] - h[sh.LOST] + h[sh.WON_BACK]
    )
    for _, rows in h.groupby(C.SEGMENT):
        assert rows[sh.OPENING].iloc[0] == 0
        np.testing.assert_array_equal(rows[sh.OPENING].iloc[1:], rows[sh.CLOSING].iloc[:-1])
    assert (h[FLOWS] >= 0).all().all()
    assert h[sh.WON_BACK].sum() > 0 and h[sh.LOST].sum() > 0  # the flows are exercised


def _flows_from_the_log(company: DemoCompany, months: pd.DatetimeIndex) -> pd.DataFrame:
    """The customer base month by month, from each customer's purchase months.

    Active at month m: bought in one of the LAPSE_MONTHS months ending with m. New: first
    purchase. Lost: active last month, not now. Won back: not active last month, buying now,
    and bought before.
    """
    log = _log(company)
    index = (log[C.MONTH].dt.year - months[0].year) * 12 + log[C.MONTH].dt.month - months[0].month
    bought = pd.crosstab(log[C.CUSTOMER_ID], index).reindex(
        columns=range(len(months)), fill_value=0
    )
    bought = bought.to_numpy() > 0
    window = np.zeros_like(bought)
    for lag in range(LAPSE_MONTHS):
        window[:, lag:] |= bought[:, : bought.shape[1] - lag]
    before = np.hstack([np.zeros((len(bought), 1), bool), window[:, :-1]])
    ever = np.cumsum(bought, axis=1) > 0
    ever_before = np.hstack([np.zeros((len(bought), 1), bool), ever[:, :-1]])
    parts = {
        sh.CLOSING: window,
        sh.NEW: bought & ~ever_before,
        sh.LOST: before & ~window,
        sh.WON_BACK: bought & ~before & ever_before,
    }
    size = company.customers.set_index(C.CUSTOMER_ID)[C.SIZE]
    segment = size.reindex(pd.crosstab(log[C.CUSTOMER_ID], index).index).to_numpy()
    frames = []
    for name, flags in parts.items():
        counts = pd.DataFrame(flags, columns=months).groupby(segment).sum().T.stack()
        frames.append(counts.rename(name))
    out = pd.concat(frames, axis=1)
    out.index.names = [C.MONTH, C.SEGMENT]
    return out


def test_the_customer_flows_follow_each_customers_purchase_months(history, company):
    got = _indexed(history)
    months = pd.DatetimeIndex(sorted(history[C.MONTH].unique()))
    want = _flows_from_the_log(company, months).reindex(got.index, fill_value=0)
    for col in (sh.CLOSING, sh.NEW, sh.LOST, sh.WON_BACK):
        np.testing.assert_array_equal(got[col], want[col], err_msg=col)


def test_activities_are_counted_and_priced_per_segment_and_month(history, company):
    act = company.activities
    month = pd.to_datetime(act[C.DATE]).dt.to_period("M").dt.to_timestamp()
    size = company.customers.set_index(C.CUSTOMER_ID)[C.SIZE]
    act = act.assign(**{C.MONTH: month, C.SEGMENT: act[C.CUSTOMER_ID].map(size).to_numpy()})
    act = act[act[C.MONTH] <= pd.Timestamp(END_MONTH)]
    rate = company.rates.set_index(C.ACTIVITY)[C.RATE]  # one rate each, from the first month
    got = _indexed(history)
    qty = act.pivot_table(
        index=[C.MONTH, C.SEGMENT], columns=C.ACTIVITY, values=C.QUANTITY, aggfunc="sum"
    ).reindex(got.index, fill_value=0.0)
    for activity in company.rates[C.ACTIVITY]:
        np.testing.assert_allclose(
            got[sh.qty_column(activity)], qty[activity].fillna(0.0), err_msg=activity
        )
    cost = (qty.fillna(0.0) * rate).sum(axis=1)
    np.testing.assert_allclose(got[sh.COST_TO_SERVE], cost, rtol=1e-9)


def test_program_spend_is_the_imported_spend_by_program(history, company):
    spend = company.spend[pd.to_datetime(company.spend[C.MONTH]) <= pd.Timestamp(END_MONTH)]
    spend = spend.assign(**{C.MONTH: pd.to_datetime(spend[C.MONTH])})
    wide = spend.pivot_table(
        index=[C.MONTH, C.SEGMENT], columns=C.PROGRAM, values=C.SPEND, aggfunc="sum"
    )
    got = _indexed(history)
    wide = wide.reindex(got.index, fill_value=0.0)
    programs = sorted(spend[C.PROGRAM].unique())
    assert [c for c in got.columns if c.startswith(sh.SPEND_PREFIX)] == [
        sh.spend_column(p) for p in programs
    ]
    for program in programs:
        np.testing.assert_allclose(got[sh.spend_column(program)], wide[program], rtol=1e-12)
    np.testing.assert_allclose(
        got[sh.PROGRAM_SPEND], got[[sh.spend_column(p) for p in programs]].sum(axis=1)
    )


def test_financing_cost_charges_positive_revenue_for_its_payment_terms(store, history, company):
    log = _log(company)
    terms = company.customers.set_index(C.CUSTOMER_ID)[C.PAYMENT_TERMS_DAYS]
    per = log.groupby([C.MONTH, C.SEGMENT, C.CUSTOMER_ID])[C.AMOUNT].sum().clip(lower=0)
    days = per * terms.reindex(per.index.get_level_values(C.CUSTOMER_ID)).to_numpy()
    want = days.groupby(level=[0, 1]).sum() / 365.0 * DEFAULT_COST_OF_CAPITAL
    got = _indexed(history)
    np.testing.assert_allclose(
        got[sh.FINANCING_COST], want.reindex(got.index, fill_value=0.0), rtol=1e-9
    )
    doubled = _indexed(
        sh.load_history(store, end_month=END_MONTH, cost_of_capital=2 * DEFAULT_COST_OF_CAPITAL)
    )
    np.testing.assert_allclose(doubled[sh.FINANCING_COST], 2 * got[sh.FINANCING_COST], rtol=1e-12)
    pd.testing.assert_series_equal(doubled[sh.REVENUE], got[sh.REVENUE])


def test_later_business_never_changes_a_closed_month(store, history):
    later = sh.load_history(store, end_month=dt.date(2025, 6, 1))
    assert later[C.MONTH].max() == pd.Timestamp("2025-06-01")
    assert history[C.MONTH].max() == pd.Timestamp(END_MONTH)
    early = later[later[C.MONTH] <= pd.Timestamp(END_MONTH)].reset_index(drop=True)
    pd.testing.assert_frame_equal(history, early)


def test_reloading_from_a_month_and_splicing_gives_the_whole_history_again(store, history):
    start = dt.date(2024, 11, 1)
    tail = sh.load_history(store, end_month=END_MONTH, start_month=start)
    assert tail[C.MONTH].min() == pd.Timestamp(start)
    head = history[history[C.MONTH] >= pd.Timestamp(start)].reset_index(drop=True)
    pd.testing.assert_frame_equal(tail, head)  # the flows still start from all history
    pd.testing.assert_frame_equal(sh.splice_history(history, tail), history)


def test_another_attribute_splits_the_same_company(store, history, company):
    by_region = sh.load_history(store, lens="region", end_month=END_MONTH)
    assert set(by_region[C.SEGMENT]) == set(company.customers[C.REGION])
    for col in (sh.REVENUE, sh.ORDERS, sh.CLOSING, sh.NEW, sh.COST_TO_SERVE):
        np.testing.assert_allclose(
            by_region.groupby(C.MONTH)[col].sum(), history.groupby(C.MONTH)[col].sum(), rtol=1e-9
        )


def test_an_empty_store_has_no_history(sqlite_engine):
    out = sh.load_history(sqlite_engine, end_month=END_MONTH)
    assert out.empty
    assert list(out.columns) == [C.MONTH, C.SEGMENT, sh.REVENUE, sh.GROSS_MARGIN, sh.ORDERS]


# --------------------------------------------------------------------------- by hand


@pytest.fixture
def little(sqlite_engine):
    return little_company.load(sqlite_engine)


def _terms_cost(revenue: float, days: int) -> float:
    return revenue * days / 365.0 * DEFAULT_COST_OF_CAPITAL


def test_the_little_company_month_by_month_by_hand(little):
    h = _indexed(sh.load_history(little, end_month=dt.date(2024, 3, 1)))
    jan, feb, mar = (pd.Timestamp(f"2024-0{m}-01") for m in (1, 2, 3))
    assert list(h.index) == [(m, s) for m in (jan, feb, mar) for s in ("Large", "Small")]
    expected = {
        # month, segment: revenue, gross margin, orders, cost to serve, financing
        (jan, "Large"): (1000, 400, 1, 10 + 2 * 40, _terms_cost(1000, 60)),
        (feb, "Large"): (2000, 700, 1, 12 + 300, _terms_cost(2000, 60)),
        (mar, "Large"): (500, 150, 1, 12, _terms_cost(500, 60)),  # no cost: 30% margin
        (jan, "Small"): (300, 100, 1, 10 + 40, _terms_cost(300, 30)),  # B: default terms
        (feb, "Small"): (-100, -40, 1, 0, 0.0),  # a refund; returns have no rate
        (mar, "Small"): (50, 15, 1, 12, _terms_cost(50, 14)),
    }
    for key, (revenue, margin, orders, cts, financing) in expected.items():
        row = h.loc[key]
        assert row[sh.REVENUE] == pytest.approx(revenue), key
        assert row[sh.GROSS_MARGIN] == pytest.approx(margin), key
        assert row[sh.ORDERS] == orders and row[sh.BUYERS] == 1, key
        assert row[sh.COST_TO_SERVE] == pytest.approx(cts), key
        assert row[sh.FINANCING_COST] == pytest.approx(financing), key
    assert h[sh.NEW].tolist() == [1, 1, 0, 0, 0, 1]  # A and B in January, C in March
    assert h[sh.CLOSING].tolist() == [1, 1, 1, 1, 1, 2]
    assert h[sh.LOST].sum() == 0 and h[sh.WON_BACK].sum() == 0
    assert h.loc[(feb, "Small"), sh.qty_column("return")] == 1
    assert h.loc[(jan, "Large"), sh.qty_column("delivery")] == 2
    assert (h[sh.PROGRAM_SPEND] == 0).all()  # no spend imported
    assert not any(c.startswith(sh.SPEND_PREFIX) for c in h.columns)


def test_customers_without_the_attribute_are_unassigned_when_they_buy(little):
    h = _indexed(sh.load_history(little, lens="region", end_month=dt.date(2024, 3, 1)))
    assert sorted(set(h.index.get_level_values(C.SEGMENT))) == sorted(
        ["North", "South", UNASSIGNED]
    )
    unassigned = h.xs(UNASSIGNED, level=C.SEGMENT)  # C (no region) buys in March; D never
    assert unassigned[sh.REVENUE].tolist() == [0, 0, 50]
    assert unassigned[sh.CLOSING].tolist() == [0, 0, 1]


def test_activities_before_the_first_sale_are_left_out(little):
    h = sh.load_history(little, end_month=dt.date(2024, 3, 1))
    assert h[C.MONTH].min() == pd.Timestamp("2024-01-01")  # C's December visit: no month
    # "sales visit" is stored as sales_visit; only A's February visit is in a month with sales.
    assert h[sh.qty_column("sales_visit")].sum() == 1
