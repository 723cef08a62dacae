"""Customer value: purchase summaries, BG/NBD and Gamma-Gamma fits against the published CDNOW
estimates, their predictions, and lifetime value."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from planning.core.columns import AMOUNT, CUSTOMER_ID, DATE
from planning.ingest.demo import generate_company
from planning.value import (
    CLV,
    EXPECTED_SPEND,
    EXPECTED_TRANSACTIONS,
    FREQUENCY,
    MONETARY,
    P_ALIVE,
    RECENCY,
    BGNBDFit,
    T,
    bgnbd_log_likelihood,
    customer_lifetime_value,
    expected_spend,
    expected_transactions,
    expected_transactions_new,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
    probability_alive,
    summarize_purchases,
)
from tests.repo_boundary import REFERENCE_DATA

CDNOW = REFERENCE_DATA / "cdnow_sample.txt"
CALIBRATION_END = dt.date(1997, 9, 30)
HOLDOUT_END = dt.date(1998, 6, 30)
HOLDOUT_WEEKS = 39


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The CDNOW sample as transactions: sample id, date and dollar value."""
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, dtype={2: str})
    return pd.DataFrame(
        {CUSTOMER_ID: raw[1], DATE: pd.to_datetime(raw[2], format="%Y%m%d"), AMOUNT: raw[4]}
    )


@pytest.fixture(scope="module")
def summary(cdnow: pd.DataFrame) -> pd.DataFrame:
    return summarize_purchases(cdnow, calibration_end=CALIBRATION_END, time_unit="W")


@pytest.fixture(scope="module")
def bgnbd(summary: pd.DataFrame) -> BGNBDFit:
    return fit_bgnbd(summary)


# --------------------------------------------------------------------------- summaries


def _log(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[CUSTOMER_ID, DATE, AMOUNT]).assign(
        **{DATE: lambda f: pd.to_datetime(f[DATE])}
    )


def test_summary_counts_repeat_days_and_averages_repeat_spend() -> None:
    log = _log(
        [
            ("B", "2024-01-01", 10.0),
            ("B", "2024-01-01", 5.0),
            ("B", "2024-01-15", 20.0),
            ("B", "2024-01-29", 40.0),
            ("A", "2024-01-08", 7.0),
            ("C", "2024-03-01", 9.0),
        ]
    )
    summary = summarize_purchases(log, calibration_end=dt.date(2024, 1, 31))
    assert list(summary.columns) == [CUSTOMER_ID, FREQUENCY, RECENCY, T, MONETARY]
    assert summary[CUSTOMER_ID].tolist() == ["A", "B"]  # C bought after calibration
    a, b = summary.iloc[0], summary.iloc[1]
    assert (a[FREQUENCY], a[RECENCY], a[T], a[MONETARY]) == (0, 0.0, pytest.approx(23 / 7), 0.0)
    assert b[FREQUENCY] == 2 and b[MONETARY] == 30.0  # the merged first day is not a repeat
    assert b[RECENCY] == pytest.approx(4.0) and b[T] == pytest.approx(30 / 7)


def test_unmerged_same_day_purchases_count_as_repeats_at_recency_zero() -> None:
    log = _log([("A", "2024-01-01", 10.0), ("A", "2024-01-01", 5.0)])
    row = summarize_purchases(
        log, calibration_end=dt.date(2024, 1, 8), time_unit="D", merge_same_day=False
    ).iloc[0]
    assert (row[FREQUENCY], row[RECENCY], row[T], row[MONETARY]) == (1, 0.0, 7.0, 5.0)


def test_refunds_are_not_purchases_but_free_orders_are() -> None:
    log = _log([("A", "2024-01-01", 0.0), ("A", "2024-02-01", -30.0), ("A", "2024-03-01", 12.0)])
    row = summarize_purchases(log, calibration_end=dt.date(2024, 3, 31), time_unit="M").iloc[0]
    assert row[FREQUENCY] == 1 and row[MONETARY] == 12.0
    assert row[RECENCY] == pytest.approx(60 / (365.25 / 12))


def test_observation_start_drops_earlier_history() -> None:
    log = _log([("A", "2023-06-01", 5.0), ("A", "2024-01-10", 8.0), ("A", "2024-01-17", 9.0)])
    row = summarize_purchases(
        log, calibration_end=dt.date(2024, 1, 31), observation_start=dt.date(2024, 1, 1)
    ).iloc[0]
    assert (row[FREQUENCY], row[RECENCY], row[MONETARY]) == (1, 1.0, 9.0)


def test_summary_of_the_demo_company_matches_a_plain_groupby() -> None:
    log = generate_company(300, end=dt.date(2025, 12, 31)).transactions
    end = dt.date(2025, 6, 30)
    summary = summarize_purchases(log, calibration_end=end, time_unit="D").set_index(CUSTOMER_ID)
    days = (
        log[log[AMOUNT] >= 0]
        .loc[lambda f: f[DATE] <= pd.Timestamp(end)]
        .groupby([CUSTOMER_ID, DATE], as_index=False)[AMOUNT]
        .sum()
    )
    for customer, rows in days.groupby(CUSTOMER_ID):
        row = summary.loc[customer]
        first, last = rows[DATE].min(), rows[DATE].max()
        assert row[FREQUENCY] == len(rows) - 1
        assert row[RECENCY] == (last - first).days
        assert row[T] == (pd.Timestamp(end) - first).days
        repeats = rows[rows[DATE] > first][AMOUNT]
        assert row[MONETARY] == pytest.approx(repeats.mean() if len(repeats) else 0.0)
    assert len(summary) == days[CUSTOMER_ID].nunique()


def test_a_missing_column_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="Required column amount missing"):
        summarize_purchases(
            pd.DataFrame({CUSTOMER_ID: ["A"], DATE: ["2024-01-01"]}),
            calibration_end=dt.date(2024, 1, 31),
        )


def test_cdnow_calibration_summary_has_every_customer_and_2457_repeat_purchases(
    summary: pd.DataFrame,
) -> None:
    assert len(summary) == 2357
    assert summary[FREQUENCY].sum() == 2457
    assert (summary[FREQUENCY] > 0).sum() == 946
    assert summary[T].max() == pytest.approx(272 / 7)


# --------------------------------------------------------------------------- BG/NBD


@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("r", 0.243),
        ("alpha", 4.414),
        ("a", 0.793),
        ("b", 2.426),
    ],
    ids=["FHL2005a-r", "FHL2005a-alpha", "FHL2005a-a", "FHL2005a-b"],
)
def test_bgnbd_fit_on_cdnow_reproduces_the_published_estimates(
    bgnbd: BGNBDFit, name: str, published: float
) -> None:
    assert getattr(bgnbd, name) == pytest.approx(published, rel=0.01)
    assert bgnbd.converged and bgnbd.n_customers == 2357


@pytest.mark.parametrize("published", [-9582.4], ids=["FHL2005a-LL"])
def test_bgnbd_log_likelihood_on_cdnow_matches_the_published_value(
    bgnbd: BGNBDFit, published: float
) -> None:
    assert bgnbd.log_likelihood == pytest.approx(published, abs=0.1)


def test_bgnbd_covariance_is_symmetric_positive_definite(bgnbd: BGNBDFit) -> None:
    cov = bgnbd.covariance
    assert cov.shape == (4, 4) and np.allclose(cov, cov.T)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    assert 0 < bgnbd.standard_errors["r"] < bgnbd.r / 5


def _finite_difference(fn, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grads = []
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        grads.append((fn(theta + e) - fn(theta - e)) / (2 * h))
    return np.stack(grads, axis=-1)


@pytest.mark.parametrize(
    "params",
    [(0.243, 4.414, 0.793, 2.426), (1.5, 0.7, 3.0, 0.4), (0.05, 40.0, 0.2, 9.0)],
    ids=["FHL2005a-estimates", "a-above-one", "small-r"],
)
def test_bgnbd_gradient_matches_finite_differences(
    summary: pd.DataFrame, params: tuple[float, ...]
) -> None:
    x, tx, age = (summary[c].to_numpy(dtype=float) for c in (FREQUENCY, RECENCY, T))
    theta = np.log(params)
    _, grad = bgnbd_log_likelihood(theta, x, tx, age)
    numeric = _finite_difference(lambda th: bgnbd_log_likelihood(th, x, tx, age)[0], theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_p_alive_is_one_without_repeat_purchases_and_below_one_with_them(
    bgnbd: BGNBDFit, summary: pd.DataFrame
) -> None:
    alive = probability_alive(bgnbd, summary)
    assert alive.name == P_ALIVE and alive.index.equals(pd.Index(summary[CUSTOMER_ID]))
    repeat = (summary[FREQUENCY] > 0).to_numpy()
    assert (alive[~repeat] == 1.0).all()
    assert (alive[repeat] < 1.0).all()
    x, tx, age = (summary[c].to_numpy(dtype=float)[repeat] for c in (FREQUENCY, RECENCY, T))
    r, alpha, a, b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
    by_hand = 1 / (1 + a / (b + x - 1) * ((alpha + age) / (alpha + tx)) ** (r + x))
    np.testing.assert_allclose(alive[repeat], by_hand, rtol=1e-12)


def test_expected_transactions_equal_eq_10_as_printed(
    bgnbd: BGNBDFit, summary: pd.DataFrame
) -> None:
    r, alpha, a, b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
    x, tx, age = (summary[c].to_numpy(dtype=float) for c in (FREQUENCY, RECENCY, T))
    t = 26.0
    printed = (
        (a + b + x - 1)
        / (a - 1)
        * (
            1
            - ((alpha + age) / (alpha + age + t)) ** (r + x)
            * special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + age + t))
        )
        / (1 + (x > 0) * a / (b + np.maximum(x, 1) - 1) * ((alpha + age) / (alpha + tx)) ** (r + x))
    )
    np.testing.assert_allclose(expected_transactions(bgnbd, summary, t), printed, rtol=1e-8)


@pytest.mark.parametrize(
    ("params", "x", "tx", "age", "t"),
    [
        (None, 0, 0.0, 38.9, 39.0),
        (None, 2, 30.4, 38.9, 39.0),
        (None, 14, 35.0, 38.9, 150.0),
        (None, 150, 300.0, 310.0, 52.0),
        ((0.5, 2.0, 0.5, 0.5), 0, 0.0, 10.0, 5.0),  # a + b + x - 1 = 0: a pole of 2F1's c
    ],
    ids=["FHL2005a-x0", "FHL2005a-x2", "FHL2005a-x14", "FHL2005a-x150", "hyp2f1-pole"],
)
def test_expected_transactions_match_the_posterior_integral(
    bgnbd: BGNBDFit, params: tuple[float, ...] | None, x: int, tx: float, age: float, t: float
) -> None:
    # Given alive: lambda ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x); E[purchases] = (1-e^-lpt)/p.
    if params is not None:
        bgnbd = dataclasses.replace(
            bgnbd, **dict(zip(("r", "alpha", "a", "b"), params, strict=True))
        )
    r, alpha, a, b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
    one = pd.DataFrame({CUSTOMER_ID: ["c"], FREQUENCY: [x], RECENCY: [tx], T: [age]})

    def integrand(p: float) -> float:
        log_density = (a - 1) * np.log(p) + (b + x - 1) * np.log1p(-p) - special.betaln(a, b + x)
        density = np.exp(log_density)
        return (1 - ((alpha + age) / (alpha + age + p * t)) ** (r + x)) / p * density

    if_alive, _ = integrate.quad(integrand, 0, 1, limit=500, epsabs=1e-13)
    expected = probability_alive(bgnbd, one).iloc[0] * if_alive
    assert expected_transactions(bgnbd, one, t).iloc[0] == pytest.approx(expected, rel=1e-6)


def test_expected_transactions_are_continuous_across_a_equal_to_one(
    bgnbd: BGNBDFit, summary: pd.DataFrame
) -> None:
    values = [
        expected_transactions(dataclasses.replace(bgnbd, a=a), summary, 39.0).to_numpy()
        for a in (1 - 1e-3, 1.0, 1 + 1e-3)
    ]
    assert np.isfinite(values[1]).all()
    np.testing.assert_allclose(values[1], (values[0] + values[2]) / 2, rtol=1e-5)


def test_new_customer_expectation_is_eq_7_and_zero_at_time_zero(bgnbd: BGNBDFit) -> None:
    r, alpha, a, b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
    t = np.array([0.0, 1.0, 39.0, 78.0, 520.0])
    printed = (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )
    np.testing.assert_allclose(expected_transactions_new(bgnbd, t), printed, rtol=1e-8)
    assert expected_transactions_new(bgnbd, 0.0) == 0.0
    assert np.all(np.diff(expected_transactions_new(bgnbd, t)) > 0)


def _holdout_repeat_purchases(cdnow: pd.DataFrame) -> int:
    holdout = cdnow[
        (cdnow[DATE] > pd.Timestamp(CALIBRATION_END)) & (cdnow[DATE] <= pd.Timestamp(HOLDOUT_END))
    ]
    return holdout.groupby([CUSTOMER_ID, DATE]).ngroups  # same-day purchases merged


@pytest.mark.parametrize("tolerance", [0.15], ids=["CDNOW-holdout"])
def test_holdout_forecast_summed_over_customers_is_close_to_actual_holdout_purchases(
    cdnow: pd.DataFrame, summary: pd.DataFrame, bgnbd: BGNBDFit, tolerance: float
) -> None:
    # 1,882 actual against 1,653.4 forecast (-12.1%); lifetimes 0.11.3 forecasts the same
    # 1,653.4 from the same estimates, so the gap is the model's, not this port's.
    actual = _holdout_repeat_purchases(cdnow)
    forecast = expected_transactions(bgnbd, summary, HOLDOUT_WEEKS).sum()
    assert actual == 1882
    assert forecast == pytest.approx(actual, rel=tolerance)
    assert forecast < actual


@pytest.mark.parametrize("tolerance", [0.05], ids=["FHL2005a-fig-cumulative"])
def test_cumulative_78_week_repeat_purchases_of_the_cohort_track_the_actual(
    cdnow: pd.DataFrame, summary: pd.DataFrame, bgnbd: BGNBDFit, tolerance: float
) -> None:
    actual = summary[FREQUENCY].sum() + _holdout_repeat_purchases(cdnow)
    forecast = expected_transactions_new(bgnbd, summary[T].to_numpy() + HOLDOUT_WEEKS).sum()
    assert forecast == pytest.approx(actual, rel=tolerance)


# --------------------------------------------------------------------------- Gamma-Gamma


@pytest.mark.parametrize(
    ("name", "published"),
    [("p", 6.25), ("q", 3.74), ("gamma", 15.44)],
    ids=["FHL2005b-p", "FHL2005b-q", "FHL2005b-gamma"],
)
def test_gamma_gamma_fit_on_cdnow_calibration_reproduces_the_published_estimates(
    summary: pd.DataFrame, name: str, published: float
) -> None:
    fit = fit_gamma_gamma(summary)
    assert getattr(fit, name) == pytest.approx(published, rel=0.02)
    assert fit.n_customers == 946 and fit.converged


def test_gamma_gamma_gradient_matches_finite_differences(summary: pd.DataFrame) -> None:
    repeat = summary[summary[FREQUENCY] > 0]
    x, m = repeat[FREQUENCY].to_numpy(dtype=float), repeat[MONETARY].to_numpy()
    for params in ((6.25, 3.74, 15.44), (0.8, 1.5, 100.0)):
        theta = np.log(params)
        _, grad = gamma_gamma_log_likelihood(theta, x, m)
        numeric = _finite_difference(lambda th: gamma_gamma_log_likelihood(th, x, m)[0], theta)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_expected_spend_shrinks_towards_the_population_mean(summary: pd.DataFrame) -> None:
    fit = fit_gamma_gamma(summary)
    spend = expected_spend(fit, summary)
    population = fit.p * fit.gamma / (fit.q - 1)
    repeat = (summary[FREQUENCY] > 0).to_numpy()
    assert spend.name == EXPECTED_SPEND
    assert np.allclose(spend[~repeat], population)
    own = summary[MONETARY].to_numpy()[repeat]
    between = np.minimum(own, population) - 1e-9, np.maximum(own, population) + 1e-9
    assert ((spend[repeat] >= between[0]) & (spend[repeat] <= between[1])).all()


# --------------------------------------------------------------------------- lifetime value


def _clv(bgnbd: BGNBDFit, summary: pd.DataFrame, horizon: int, **kwargs) -> pd.DataFrame:
    options = {"margin": 0.3, "discount_rate_per_unit": 0.002} | kwargs
    return customer_lifetime_value(
        bgnbd, fit_gamma_gamma(summary), summary, horizon=horizon, **options
    )


def test_clv_is_zero_at_horizon_zero_and_never_falls_as_the_horizon_grows(
    bgnbd: BGNBDFit, summary: pd.DataFrame
) -> None:
    values = [_clv(bgnbd, summary, h)[CLV].to_numpy() for h in (0, 1, 13, 52, 104)]
    assert (values[0] == 0).all()
    for shorter, longer in itertools.pairwise(values):
        assert (longer >= shorter).all()
    frame = _clv(bgnbd, summary, 52)
    assert list(frame.columns) == [CUSTOMER_ID, P_ALIVE, EXPECTED_TRANSACTIONS, EXPECTED_SPEND, CLV]


def test_undiscounted_clv_is_expected_purchases_times_margin_per_purchase(
    bgnbd: BGNBDFit, summary: pd.DataFrame
) -> None:
    frame = _clv(
        bgnbd, summary, 52, discount_rate_per_unit=0.0, step=5, cost_to_serve_per_transaction=2.0
    )
    np.testing.assert_allclose(
        frame[EXPECTED_TRANSACTIONS], expected_transactions(bgnbd, summary, 52), rtol=1e-10
    )
    np.testing.assert_allclose(
        frame[CLV], frame[EXPECTED_TRANSACTIONS] * (frame[EXPECTED_SPEND] * 0.3 - 2.0), rtol=1e-10
    )


def test_discounting_lowers_clv_and_coarser_steps_discount_later(
    bgnbd: BGNBDFit, summary: pd.DataFrame
) -> None:
    weekly = _clv(bgnbd, summary, 52, discount_rate_per_unit=0.01)[CLV]
    monthly = _clv(bgnbd, summary, 52, discount_rate_per_unit=0.01, step=4)[CLV]
    flat = _clv(bgnbd, summary, 52, discount_rate_per_unit=0.0)[CLV]
    assert (weekly < flat).all() and (monthly < weekly).all()


def test_per_customer_margin_and_cost_align_on_customer_id(
    bgnbd: BGNBDFit, summary: pd.DataFrame
) -> None:
    ids = summary[CUSTOMER_ID]
    margin = pd.Series(0.3, index=ids[::-1])  # reversed on purpose
    cost = pd.Series(np.where(ids % 2 == 0, 50.0, 0.0), index=ids)
    frame = _clv(bgnbd, summary, 52, margin=margin, cost_to_serve_per_transaction=cost)
    loss_makers = frame[CLV] < 0
    assert loss_makers.any() and (ids[loss_makers] % 2 == 0).all()
    with pytest.raises(ValueError, match="margin has no value for 1 customers"):
        _clv(bgnbd, summary, 52, margin=margin.iloc[1:])


# --------------------------------------------------------------------------- properties


@st.composite
def _customers_and_fit(draw: st.DrawFn) -> tuple[BGNBDFit, pd.DataFrame, float]:
    def positive(lo: float, hi: float) -> float:
        return float(np.exp(draw(st.floats(np.log(lo), np.log(hi)))))

    fit = BGNBDFit(
        r=positive(0.01, 20),
        alpha=positive(0.01, 200),
        a=positive(0.02, 20),
        b=positive(0.02, 20),
        log_likelihood=0.0,
        n_customers=0,
        covariance=np.zeros((4, 4)),
        converged=True,
    )
    n = draw(st.integers(1, 8))
    x = np.array(draw(st.lists(st.integers(0, 300), min_size=n, max_size=n)), dtype=float)
    age = np.array(draw(st.lists(st.floats(0, 500), min_size=n, max_size=n)))
    share = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    summary = pd.DataFrame(
        {
            CUSTOMER_ID: np.arange(n),
            FREQUENCY: x.astype(int),
            RECENCY: np.where(x > 0, share * age, 0.0),
            T: age,
        }
    )
    return fit, summary, draw(st.floats(0, 2000))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_customers_and_fit())
def test_p_alive_is_a_probability_and_expected_purchases_are_bounded(case) -> None:
    fit, summary, t = case
    alive = probability_alive(fit, summary).to_numpy()
    expected = expected_transactions(fit, summary, t).to_numpy()
    assert ((alive >= 0) & (alive <= 1)).all()
    # No more than an immortal customer at the posterior mean rate (r+x)/(alpha+T) would make.
    x, age = summary[FREQUENCY].to_numpy(), summary[T].to_numpy()
    ceiling = alive * (fit.r + x) * t / (fit.alpha + age)
    assert np.isfinite(expected).all()
    assert ((expected >= 0) & (expected <= ceiling * (1 + 1e-9) + 1e-12)).all()
    later = expected_transactions(fit, summary, 1.5 * t + 1).to_numpy()
    assert (later >= expected * (1 - 1e-7)).all()  # both evaluations are good to ~1e-8
