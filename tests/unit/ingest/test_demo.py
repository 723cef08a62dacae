"""The demo company: deterministic, on contract, and faithful to its documented truth."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import curve_fit

from planning.core.columns import (
    ACQUISITION_DATE,
    ACTIVITY,
    AMOUNT,
    CONTRACT,
    COST,
    CUSTOMER_ID,
    DATE,
    EFFECTIVE_FROM,
    MONTH,
    OUTCOME,
    PAYMENT_TERMS_DAYS,
    PROGRAM,
    PROGRAMS,
    QUANTITY,
    RATE,
    SEGMENT,
    SIZE,
    SPEND,
    TRANSACTION_ID,
)
from planning.ingest import demo
from planning.ingest.demo import DemoCompany, generate_company, write_company_csv

END = dt.date(2025, 12, 31)
WINDOW_START = pd.Timestamp("2023-01-01")


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company(5000, end=END)


def _frames(c: DemoCompany) -> dict[str, pd.DataFrame]:
    return {
        "transactions": c.transactions,
        "customers": c.customers,
        "activities": c.activities,
        "rates": c.rates,
        "spend": c.spend,
    }


def _monthly_revenue(c: DemoCompany) -> pd.Series:
    tx = c.transactions
    return tx.groupby(tx[DATE].dt.to_period("M"))[AMOUNT].sum()


def test_same_arguments_give_identical_frames_and_truth() -> None:
    first, second = generate_company(400, seed=3, end=END), generate_company(400, seed=3, end=END)
    for kind, frame in _frames(first).items():
        pd.testing.assert_frame_equal(frame, _frames(second)[kind], obj=kind)
    assert first.truth == second.truth
    other = generate_company(400, seed=4, end=END)
    assert not other.transactions[AMOUNT].equals(first.transactions[AMOUNT])


def test_every_frame_has_exactly_the_contract_columns_and_date_types(company: DemoCompany) -> None:
    for kind, frame in _frames(company).items():
        assert list(frame.columns) == [name for name, _, _ in CONTRACT[kind]], kind
        for name, kind_of_column, _ in CONTRACT[kind]:
            column = frame[name]
            if kind_of_column == "date":
                assert pd.api.types.is_datetime64_dtype(column), (kind, name)
                assert (column == column.dt.normalize()).all(), (kind, name)
            elif kind_of_column in ("number", "integer"):
                assert pd.api.types.is_numeric_dtype(column), (kind, name)
                assert column.notna().all(), (kind, name)
            else:
                assert column.map(type).eq(str).all(), (kind, name)
    assert company.customers[PAYMENT_TERMS_DAYS].dtype == np.int64


def test_customer_count_sizes_and_attributes_follow_the_documented_mix(
    company: DemoCompany,
) -> None:
    customers = company.customers
    assert len(customers) == 5000
    assert customers[CUSTOMER_ID].is_unique
    assert customers[CUSTOMER_ID].str.fullmatch(r"C\d{6}").all()
    shares = customers[SIZE].value_counts(normalize=True)
    for size, share in zip(demo.SIZES, demo.SIZE_SHARES, strict=True):
        assert shares[size] == pytest.approx(share, abs=max(0.02, share / 4)), size
    assert set(customers["region"]) == set(demo.REGIONS)
    assert set(customers["industry"]) == set(demo.INDUSTRIES)
    assert customers[PAYMENT_TERMS_DAYS].between(14, 90).all()
    terms = customers.groupby(SIZE)[PAYMENT_TERMS_DAYS].mean()
    assert terms["Small"] < terms["Mid-market"] < terms["Large"] < terms["Key account"]
    assert customers[ACQUISITION_DATE].max() <= pd.Timestamp(END)
    before = (customers[ACQUISITION_DATE] < WINDOW_START).sum()
    assert before == company.truth.initial_customers
    assert 0.2 < company.truth.acquired_customers / len(customers) < 0.5
    assert customers[ACQUISITION_DATE].is_monotonic_increasing


def test_history_covers_the_requested_months_and_ends_at_end(company: DemoCompany) -> None:
    dates = company.transactions[DATE]
    assert dates.min() >= WINDOW_START and dates.max() <= pd.Timestamp(END)
    months = company.spend[MONTH].drop_duplicates()
    assert len(months) == 36 and (months.dt.day == 1).all()
    assert months.min() == WINDOW_START
    assert len(company.spend) == 36 * len(demo.SIZES) * len(PROGRAMS)
    assert (company.rates[EFFECTIVE_FROM] == WINDOW_START).all()


def test_default_end_is_the_last_day_of_the_previous_month() -> None:
    last = generate_company(200, months=2).transactions[DATE].max()
    first_of_this_month = pd.Timestamp(dt.date.today().replace(day=1))
    assert first_of_this_month - pd.Timedelta(days=31) < last < first_of_this_month


def test_too_few_customers_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="customers must be at least 50"):
        generate_company(10, end=END)


def test_monthly_revenue_peaks_in_q4_dips_in_summer_and_trends_up(company: DemoCompany) -> None:
    revenue = _monthly_revenue(company)
    assert len(revenue) == 36
    by_month = revenue.groupby(revenue.index.month).sum()
    assert by_month[[11, 12]].sum() / by_month[[7, 8]].sum() > 1.2
    t = np.arange(36)
    design = np.column_stack([t / 12] + [(t % 12 == k).astype(float) for k in range(12)])
    slope = np.linalg.lstsq(design, np.log(revenue.to_numpy()), rcond=None)[0][0]
    assert 0.0 < slope < 0.12  # documented trend: +4% a year on order values


def test_some_big_customers_lose_money_while_the_company_is_profitable(
    company: DemoCompany,
) -> None:
    rates = company.rates.set_index(ACTIVITY)[RATE]
    acts = company.activities
    cost_to_serve = (acts[QUANTITY] * acts[ACTIVITY].map(rates)).groupby(acts[CUSTOMER_ID]).sum()
    tx = company.transactions
    margin = (tx[AMOUNT] - tx[COST]).groupby(tx[CUSTOMER_ID]).sum()
    contribution = margin.sub(cost_to_serve, fill_value=0.0)
    assert contribution.sum() > 0.1 * tx[AMOUNT].sum()
    sizes = company.customers.set_index(CUSTOMER_ID)[SIZE].reindex(contribution.index)
    big_losers = contribution[sizes.isin(["Large", "Key account"]) & (contribution < 0)]
    assert len(big_losers) >= 10
    # the losses come from the documented high-maintenance accounts, not from chance
    assert big_losers.index.isin(list(company.truth.high_maintenance)).mean() > 0.6
    assert contribution[sizes == "Key account"].median() > 0


def test_every_transaction_and_activity_customer_exists_in_the_customer_list(
    company: DemoCompany,
) -> None:
    known = set(company.customers[CUSTOMER_ID])
    assert set(company.transactions[CUSTOMER_ID]) <= known
    assert set(company.activities[CUSTOMER_ID]) <= known


def test_transaction_ids_are_unique_and_refunds_follow_a_purchase(company: DemoCompany) -> None:
    tx = company.transactions
    assert tx[TRANSACTION_ID].is_unique
    assert tx[TRANSACTION_ID].str.fullmatch(r"T\d{8}").all()
    assert 90_000 < len(tx) < 115_000
    refunds = tx[tx[AMOUNT] < 0]
    assert 0.02 < len(refunds) / len(tx) < 0.06
    assert (refunds[COST] <= 0).all() and (refunds[QUANTITY] < 0).all()
    first_purchase = tx[tx[AMOUNT] > 0].groupby(CUSTOMER_ID)[DATE].min()
    assert (refunds[DATE].to_numpy() > first_purchase[refunds[CUSTOMER_ID]].to_numpy()).all()
    purchases = tx[tx[AMOUNT] > 0]
    assert ((purchases[COST] > 0) & (purchases[COST] < purchases[AMOUNT] * 0.95)).all()


def test_activities_are_nonzero_customer_month_counts_consistent_with_transactions(
    company: DemoCompany,
) -> None:
    acts = company.activities
    assert set(acts[ACTIVITY]) == set(demo.ACTIVITIES)
    assert (acts[QUANTITY] > 0).all() and (acts[DATE].dt.day == 1).all()
    assert not acts.duplicated([CUSTOMER_ID, DATE, ACTIVITY]).any()
    tx = company.transactions
    month = tx[DATE].dt.to_period("M").dt.to_timestamp()
    for activity, rows in (("order", tx[AMOUNT] > 0), ("return", tx[AMOUNT] < 0)):
        from_tx = tx[rows].groupby([tx[CUSTOMER_ID], month]).size().sort_index()
        counted = acts[acts[ACTIVITY] == activity].set_index([CUSTOMER_ID, DATE])[QUANTITY]
        assert counted.sort_index().to_numpy().tolist() == from_tx.to_numpy().tolist(), activity


def test_acquisition_outcomes_are_the_customers_who_really_appear(company: DemoCompany) -> None:
    customers = company.customers
    new = customers[customers[ACQUISITION_DATE] >= WINDOW_START]
    appeared = new.groupby(
        [new[ACQUISITION_DATE].dt.to_period("M").dt.to_timestamp(), new[SIZE]]
    ).size()
    spend = company.spend[company.spend[PROGRAM] == "acquisition"]
    recorded = spend.set_index([MONTH, SEGMENT])[OUTCOME]
    recorded = recorded[recorded > 0]
    assert appeared.sort_index().to_dict() == recorded.sort_index().astype(int).to_dict()


def test_win_backs_and_retention_really_change_churn(company: DemoCompany) -> None:
    spend = company.spend.groupby(PROGRAM)[OUTCOME].sum()
    assert spend["win_back"] == company.truth.won_back > 50
    realized = company.truth.realized_churn_monthly_by_size
    gross = company.truth.churn_monthly_by_size
    for size in ("Small", "Mid-market"):
        assert 0.6 * gross[size] < realized[size] < gross[size], size
    assert realized["Small"] > realized["Mid-market"] > realized["Large"]


def _exponential(spend: np.ndarray, beta: float, kappa: float) -> np.ndarray:
    return beta * (1.0 - np.exp(-spend / kappa))


@pytest.mark.parametrize(
    ("segment", "program"),
    [
        ("Small", "acquisition"),
        ("Mid-market", "acquisition"),
        ("Small", "retention"),
        ("Mid-market", "retention"),
        ("Small", "win_back"),
        ("Small", "cross_sell"),
        ("Mid-market", "cross_sell"),
        ("Large", "cross_sell"),
        ("Key account", "cross_sell"),
    ],
)
def test_spend_outcomes_are_centred_on_the_documented_curve(
    company: DemoCompany, segment: str, program: str
) -> None:
    cell = company.spend[(company.spend[SEGMENT] == segment) & (company.spend[PROGRAM] == program)]
    expected = company.truth.curve(segment, program).outcome(cell[SPEND].to_numpy())
    if program == "cross_sell":  # Gamma noise with CV 0.10 per month
        assert cell[OUTCOME].sum() / expected.sum() == pytest.approx(1.0, abs=0.06)
    else:  # Poisson counts: the total lies within three standard deviations of its mean
        assert abs(cell[OUTCOME].sum() - expected.sum()) < 3 * np.sqrt(expected.sum())
    assert np.corrcoef(cell[OUTCOME], expected)[0, 1] > 0.5


@pytest.mark.parametrize(
    ("segment", "program"),
    [
        ("Small", "acquisition"),
        ("Small", "cross_sell"),
        ("Large", "cross_sell"),
    ],
)
def test_a_curve_fit_on_the_spend_history_recovers_the_true_parameters(
    company: DemoCompany, segment: str, program: str
) -> None:
    cell = company.spend[(company.spend[SEGMENT] == segment) & (company.spend[PROGRAM] == program)]
    truth = company.truth.curve(segment, program).params
    (beta, kappa), _ = curve_fit(
        _exponential,
        cell[SPEND].to_numpy(),
        cell[OUTCOME].to_numpy(),
        p0=[truth["beta"] * 1.5, truth["kappa"] * 0.5],
        maxfev=10_000,
    )
    assert beta == pytest.approx(truth["beta"], rel=0.3)
    assert kappa == pytest.approx(truth["kappa"], rel=0.35)


def test_curves_scale_with_company_size_and_keep_their_family() -> None:
    small = generate_company(1000, end=END).truth
    assert small.scale == pytest.approx(0.2)
    curve = small.curve("Large", "retention")
    assert curve.family == "hill"
    documented = demo.PROGRAM_CURVES[("Large", "retention")][1]
    assert curve.params["beta"] == pytest.approx(0.2 * documented["beta"])
    assert curve.outcome(np.array([0.0]))[0] == 0.0
    assert np.all(np.diff(curve.outcome(np.linspace(0, 50_000, 50))) > 0)


def test_csv_files_carry_contract_headers_and_iso_dates(tmp_path: Path) -> None:
    company = generate_company(300, end=END)
    paths = write_company_csv(company, tmp_path / "out")
    assert set(paths) == set(CONTRACT)
    for kind, path in paths.items():
        assert path == tmp_path / "out" / f"{kind}.csv"
        lines = path.read_text().splitlines()
        assert lines[0].split(",") == [name for name, _, _ in CONTRACT[kind]]
        assert len(lines) - 1 == len(_frames(company)[kind])
    first_tx = paths["transactions"].read_text().splitlines()[1].split(",")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", first_tx[1])
    activities = pd.read_csv(paths["activities"])
    assert activities[QUANTITY].dtype == np.int64


@pytest.mark.slow
def test_a_hundred_thousand_customers_give_about_two_million_transactions() -> None:
    company = generate_company(100_000, end=END)
    assert len(company.customers) == 100_000
    assert 1_800_000 <= len(company.transactions) <= 2_200_000
    assert company.transactions[TRANSACTION_ID].is_unique
