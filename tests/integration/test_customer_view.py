"""The single view of one customer and the customer search, on SQLite and PostgreSQL.

A small demo company is stored with three months of business after the as-of date, so every
part of the view can be checked against the transaction log cut at that date.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from planning.core import columns as C
from planning.ingest.demo import DemoCompany, generate_company, load_company
from planning.profit import profitability as pl
from planning.segments import customer_view as cview
from planning.segments.customer_view import find_customers, view_customer
from planning.segments.lenses import assign_segments
from planning.store import schema
from planning.store.engine import open_store
from planning.value import scoring as cv
from tests.actors import ADMIN

END = dt.date(2025, 6, 30)
AS_OF = dt.date(2025, 3, 31)  # a quarter end, with three months of later data in the store
QUARTER_ENDS = [dt.date(2024, 6, 30), dt.date(2024, 9, 30), dt.date(2024, 12, 31), AS_OF]
MID_QUARTER = dt.date(2025, 5, 14)


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company(300, seed=5, months=24, end=END)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, company, tmp_path_factory):
    """The demo company in a store, shared by this module's tests (read-only)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('customer_view') / 'continuum.db'}"
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
def scored(store) -> cv.CustomerValue:
    return cv.score_customers(store, AS_OF)


def _log(company: DemoCompany) -> pd.DataFrame:
    return company.transactions.assign(day=pd.to_datetime(company.transactions[C.DATE]))


def _activity_only_months(company: DemoCompany, as_of: dt.date) -> pd.Series:
    """Per customer, how many months up to ``as_of`` have an activity but no transaction."""
    cut = pd.Timestamp(as_of)

    def months(frame: pd.DataFrame) -> pd.DataFrame:
        day = pd.to_datetime(frame[C.DATE])
        inside = frame[day <= cut]
        month = day[day <= cut].dt.to_period("M")
        return inside[[C.CUSTOMER_ID]].assign(month=month).drop_duplicates()

    both = months(company.activities).merge(
        months(company.transactions), how="left", indicator=True
    )
    only = (both["_merge"] == "left_only").groupby(both[C.CUSTOMER_ID]).sum()
    return only.reindex(company.customers[C.CUSTOMER_ID], fill_value=0)


def _steady(company: DemoCompany, *days: dt.date) -> set[str]:
    """Customers with no month of activities without a sale up to any of ``days``: their
    monthly P&L has exactly their months with sales (such months have their own test)."""
    counts = [_activity_only_months(company, day) for day in days]
    return {str(i) for i in company.customers[C.CUSTOMER_ID] if all(n[i] == 0 for n in counts)}


@pytest.fixture(scope="module")
def regular(company) -> str:
    """The steady customer with the most transactions by AS_OF who bought after it too."""
    tx = _log(company)
    before = tx[tx["day"] <= pd.Timestamp(AS_OF)][C.CUSTOMER_ID].value_counts()
    after = set(tx.loc[tx["day"] > pd.Timestamp(AS_OF), C.CUSTOMER_ID])
    steady = _steady(company, AS_OF, MID_QUARTER)
    return str(before[before.index.isin(after & steady)].sort_index().idxmax())


@pytest.fixture(scope="module")
def view(store, regular, scored) -> cview.CustomerView:
    return view_customer(store, regular, AS_OF, scored=scored)


def _first_purchases(company: DemoCompany) -> pd.Series:
    return _log(company).groupby(C.CUSTOMER_ID)["day"].min()


def test_the_view_holds_the_customers_attributes_as_imported(view, company, regular):
    row = company.customers.set_index(C.CUSTOMER_ID).loc[regular]
    attrs = view.attributes
    assert view.customer_id == regular and view.as_of == AS_OF
    assert list(attrs) == [
        C.NAME,
        C.REGION,
        C.INDUSTRY,
        C.SIZE,
        C.CHANNEL,
        C.ACQUISITION_DATE,
        C.PAYMENT_TERMS_DAYS,
    ]
    for name in (C.NAME, C.REGION, C.INDUSTRY, C.SIZE, C.CHANNEL):
        assert attrs[name] == row[name], name
    assert pd.Timestamp(attrs[C.ACQUISITION_DATE]) == pd.Timestamp(row[C.ACQUISITION_DATE])
    assert attrs[C.PAYMENT_TERMS_DAYS] == row[C.PAYMENT_TERMS_DAYS]


def test_the_transactions_are_the_customers_own_up_to_as_of_newest_first(view, company, regular):
    tx = _log(company)
    mine = tx[(tx[C.CUSTOMER_ID] == regular) & (tx["day"] <= pd.Timestamp(AS_OF))]
    later = tx[(tx[C.CUSTOMER_ID] == regular) & (tx["day"] > pd.Timestamp(AS_OF))]
    assert len(later) > 0  # the store does hold later business
    shown = view.transactions
    assert view.transaction_count == len(mine) == len(shown)
    assert set(shown[C.TRANSACTION_ID]) == set(mine[C.TRANSACTION_ID])
    assert shown[C.DATE].max() <= pd.Timestamp(AS_OF)
    assert shown[C.DATE].is_monotonic_decreasing
    assert shown[C.AMOUNT].sum() == pytest.approx(mine[C.AMOUNT].sum(), abs=0.005)
    by_id = mine.set_index(C.TRANSACTION_ID)
    for row in shown.itertuples():
        assert row.amount == pytest.approx(by_id.loc[row.transaction_id, C.AMOUNT], abs=0.005)
        assert row.product == by_id.loc[row.transaction_id, C.PRODUCT]


def test_the_activities_are_the_customers_own_up_to_as_of_newest_first(view, company, regular):
    act = company.activities.assign(day=pd.to_datetime(company.activities[C.DATE]))
    mine = act[(act[C.CUSTOMER_ID] == regular) & (act["day"] <= pd.Timestamp(AS_OF))]
    shown = view.activities
    assert view.activity_count == len(mine) == len(shown)
    assert list(shown.columns) == [C.DATE, C.ACTIVITY, C.QUANTITY]
    assert shown[C.DATE].is_monotonic_decreasing and shown[C.DATE].max() <= pd.Timestamp(AS_OF)
    got = shown.groupby(C.ACTIVITY)[C.QUANTITY].sum().sort_index()
    want = mine.groupby(C.ACTIVITY)[C.QUANTITY].sum().sort_index()
    pd.testing.assert_series_equal(got, want, check_names=False)


def test_long_histories_list_the_newest_rows_and_count_them_all(
    store, regular, company, monkeypatch
):
    monkeypatch.setattr(cview, "ROW_LIMIT", 5)
    small = view_customer(store, regular, AS_OF)
    tx = _log(company)
    mine = tx[(tx[C.CUSTOMER_ID] == regular) & (tx["day"] <= pd.Timestamp(AS_OF))]
    assert len(small.transactions) == 5 < small.transaction_count == len(mine)
    assert len(small.activities) == 5 < small.activity_count
    newest = mine.sort_values("day", ascending=False)["day"].iloc[4]
    assert (small.transactions[C.DATE] >= newest).all()


@pytest.mark.parametrize("months", [24, 6])
def test_the_monthly_pnl_covers_the_months_ending_with_as_of(store, company, regular, months):
    view = view_customer(store, regular, AS_OF, months=months)
    monthly = view.monthly
    first = (pd.Timestamp(AS_OF).to_period("M") - (months - 1)).to_timestamp()
    assert monthly[C.MONTH].min() >= first
    assert monthly[C.MONTH].max() <= pd.Timestamp(AS_OF)
    assert monthly[C.MONTH].is_monotonic_increasing
    tx = _log(company)
    mine = tx[(tx[C.CUSTOMER_ID] == regular) & tx["day"].between(first, pd.Timestamp(AS_OF))]
    revenue = mine.groupby(mine["day"].dt.to_period("M").dt.to_timestamp())[C.AMOUNT].sum()
    got = monthly.set_index(C.MONTH)["revenue"]
    assert set(got.index) == set(revenue.index)  # each month with business, and only those
    for month, amount in revenue.items():
        assert got.loc[month] == pytest.approx(amount, abs=0.005), month
    # Month by month, the P&L adds up to the customer's P&L of the period (to a few cents).
    period = pl.customer_pnl(store, start=first.date(), end=AS_OF).set_index(C.CUSTOMER_ID)
    for col in ("revenue", "gross_margin", "cost_to_serve", "contribution"):
        assert monthly[col].sum() == pytest.approx(period.loc[regular, col], abs=0.01 * months)


def test_the_segment_history_is_the_company_assignment_at_the_last_quarter_ends(
    store, view, scored, regular
):
    history = view.segment_history
    assert list(history.columns) == [C.DATE, "lens", C.SEGMENT]
    assert sorted(set(history[C.DATE])) == [pd.Timestamp(d) for d in QUARTER_ENDS]
    assert history.groupby(C.DATE)["lens"].apply(list).tolist() == [["value", "lifecycle"]] * 4
    p_alive = scored.scores.set_index(C.CUSTOMER_ID)["p_alive"]
    for row in history.itertuples():
        day = row.date.date()
        kwargs = {"p_alive": p_alive} if row.lens == "lifecycle" and day == AS_OF else {}
        assignment = assign_segments(store, row.lens, day, **kwargs).set_index(C.CUSTOMER_ID)
        assert row.segment == str(assignment.loc[regular, C.SEGMENT]), (row.lens, day)


def test_mid_quarter_the_history_ends_with_as_of_after_three_quarter_ends(store, regular):
    as_of = MID_QUARTER
    view = view_customer(store, regular, as_of)
    assert sorted(set(view.segment_history[C.DATE])) == [
        pd.Timestamp(d)
        for d in (dt.date(2024, 9, 30), dt.date(2024, 12, 31), dt.date(2025, 3, 31), as_of)
    ]


def test_the_history_starts_with_the_customers_first_purchase(store, company):
    first = _first_purchases(company)
    inside = first[(first > pd.Timestamp(QUARTER_ENDS[1])) & (first <= pd.Timestamp(AS_OF))]
    customer = sorted(set(inside.index) & _steady(company, AS_OF))[0]
    view = view_customer(store, customer, AS_OF, history_dates=QUARTER_ENDS)
    dates = [d.date() for d in view.segment_history[C.DATE]]
    assert dates and min(dates) >= first[customer].date()
    assert set(dates) == {d for d in QUARTER_ENDS if d >= first[customer].date()}


def test_the_scores_are_the_customers_row_of_the_company_scores(view, scored, regular):
    expected = scored.scores.set_index(C.CUSTOMER_ID).loc[regular]
    assert view.scores is not None and view.scores[C.CUSTOMER_ID] == regular
    for name in ("p_alive", "clv", "potential", "headroom"):
        assert view.score(name) == pytest.approx(float(expected[name]), rel=1e-12), name
    assert view.score("headroom") == pytest.approx(
        view.score("potential") - view.score("clv"), rel=1e-9, abs=1e-9
    )


def test_without_scores_the_view_has_no_value_fields_and_no_lifecycle_history(store, regular):
    view = view_customer(store, regular, AS_OF)
    assert view.scores is None and view.score("clv") is None
    assert set(view.segment_history["lens"]) == {"value"}
    assert len(view.segment_history) == len(QUARTER_ENDS)


def test_a_customer_who_first_bought_after_as_of_has_an_empty_view(store, company, scored):
    first = _first_purchases(company)
    customer = str(first[first > pd.Timestamp(AS_OF)].sort_index().index[0])
    view = view_customer(store, customer, AS_OF, scored=scored)
    assert view.attributes[C.NAME] is not None  # the customer is known
    assert view.transactions.empty and view.transaction_count == 0
    assert view.segment_history.empty
    assert view.scores is None
    assert view.monthly["revenue"].sum() == 0


def test_a_month_with_activities_but_no_sale_shows_its_cost_to_serve(store, company):
    # Until profitability._priced zero-filled only numeric columns, such a month made pandas
    # warn about filling the str customer_id column (an error under filterwarnings = error).
    only = _activity_only_months(company, AS_OF)
    tx = _log(company)
    bought = set(tx.loc[tx["day"] <= pd.Timestamp(AS_OF), C.CUSTOMER_ID])
    customer = sorted(set(only.index[only > 0]) & bought)[0]
    view = view_customer(store, customer, AS_OF)
    sold = set(tx.loc[tx[C.CUSTOMER_ID] == customer, "day"].dt.to_period("M").dt.to_timestamp())
    quiet = view.monthly[~view.monthly[C.MONTH].isin(sold)]
    assert len(quiet) > 0
    assert (quiet["revenue"] == 0).all() and (quiet["cost_to_serve"] > 0).all()


def test_an_unknown_customer_is_a_key_error_naming_it(store):
    with pytest.raises(KeyError, match="There is no customer 'NOBODY' in the store"):
        view_customer(store, "NOBODY", AS_OF)


# --------------------------------------------------------------------------- search


def _ids_where(company: DemoCompany, keep) -> list[str]:
    customers = company.customers
    return sorted(
        str(i)
        for i, name in zip(customers[C.CUSTOMER_ID], customers[C.NAME], strict=True)
        if keep(i, name)
    )


@pytest.mark.parametrize(
    "text", ["C00001", "c00001", "  C00001  "], ids=["as-typed", "lower", "padded"]
)
def test_a_search_finds_customers_by_id_prefix_ignoring_case(store, company, text):
    expected = _ids_where(company, lambda i, _: i.startswith("C00001"))
    assert 1 < len(expected) < 20
    assert find_customers(store, text) == expected


def test_a_search_finds_customers_whose_name_contains_the_text_ignoring_case(store, company):
    word = str(company.customers[C.NAME].iloc[0]).split()[1]  # e.g. "Services"
    expected = _ids_where(company, lambda _, name: word.lower() in name.lower())
    assert len(expected) > 3
    assert find_customers(store, word.upper(), limit=1000) == expected
    assert find_customers(store, word.lower(), limit=3) == expected[:3]


def test_a_search_returns_at_most_limit_ids_in_id_order(store, company):
    everyone = sorted(company.customers[C.CUSTOMER_ID].astype(str))
    assert find_customers(store, "C", limit=7) == everyone[:7]
    assert find_customers(store, "C") == everyone[:20]  # the default limit


def test_an_id_is_found_by_its_prefix_only_not_by_a_middle_part(store, company):
    ids = company.customers[C.CUSTOMER_ID].astype(str)
    assert not any("000123" in name for name in company.customers[C.NAME])
    assert find_customers(store, "000123") == []
    assert find_customers(store, ids.iloc[122]) == [ids.iloc[122]]


@pytest.mark.parametrize("text", ["", "   ", "%", "_", "\\", "C%1"], ids=repr)
def test_blank_text_and_like_wildcards_find_nothing(store, text):
    assert find_customers(store, text) == []
