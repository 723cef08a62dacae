"""Pooled seasonality: company indices, segment level, no look-ahead, and the cache kept local."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.forecast.backtest import BacktestConfig, add_candidate, select_and_forecast
from planning.forecast.base import MEAN, SeasonalNaive
from planning.forecast.fitting import FitCache, fit_series
from planning.forecast.pooled_seasonal import (
    NAME,
    POOLED_MODELS,
    NoProfile,
    PooledModel,
    PooledSeasonal,
    make_pooled,
    seasonal_profile,
    ses_grid,
)

PATTERN = np.array([0.95, 0.96, 1.02, 1.00, 1.02, 0.95, 0.85, 0.82, 1.03, 1.09, 1.15, 1.16])
CONFIG = BacktestConfig(horizon=3, models=("seasonal_naive", "ets", "theta"))


def segments(
    n: int = 4, months: int = 36, noise: float = 0.08, seed: int = 0
) -> dict[str, pd.Series]:
    """``n`` segments with one seasonal pattern and flat levels, plus their total."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2023-11-01", periods=months, freq="MS")
    season = PATTERN[(index.month - 1).to_numpy()]
    out = {
        f"S{i}": pd.Series(
            1000.0 * (i + 1) * season * rng.gamma(1 / noise**2, noise**2, months),
            index=index,
            name=f"S{i}",
        )
        for i in range(n)
    }
    out["Total"] = pd.concat(out.values(), axis=1).sum(axis=1).rename("Total").asfreq("MS")
    return out


def test_the_profile_of_a_noise_free_total_is_its_pattern():
    index = pd.date_range("2022-01-01", periods=36, freq="MS")
    total = pd.Series(5000.0 * PATTERN[(index.month - 1).to_numpy()], index=index)
    profile = seasonal_profile(total, 12)
    np.testing.assert_allclose(profile, PATTERN / PATTERN.mean(), rtol=1e-9)


@pytest.mark.parametrize(
    "values, why",
    [
        (np.full(20, 100.0), "two full seasons"),
        (np.r_[np.full(30, 100.0), 0.0], "without revenue"),
    ],
)
def test_a_total_that_cannot_give_indices_says_why(values, why):
    total = pd.Series(values, index=pd.date_range("2022-01-01", periods=len(values), freq="MS"))
    with pytest.raises(NoProfile, match=why):
        seasonal_profile(total, 12)


def test_ses_picks_a_small_weight_for_noise_and_a_large_one_for_a_random_walk():
    rng = np.random.default_rng(3)
    noise = 100 + rng.normal(0, 5, 200)
    walk = 100 + np.cumsum(rng.normal(0, 5, 200))
    assert ses_grid(noise)[0] <= 0.15
    assert ses_grid(walk)[0] >= 0.8


def test_the_forecast_is_the_segment_level_times_the_company_pattern():
    data = segments(noise=1e-4)
    model = PooledSeasonal(data["Total"]).fit(data["S2"])
    frame = model.forecast(12)
    expected = 3000.0 * PATTERN[(frame["period"].dt.month - 1).to_numpy()]
    np.testing.assert_allclose(frame[MEAN].to_numpy(), expected, rtol=0.01)
    assert model.used.startswith("pooled seasonal")
    assert (frame["lo-95"] <= frame["lo-80"]).all() and (frame["hi-80"] <= frame["hi-95"]).all()


def test_later_company_data_never_changes_the_forecast():
    data = segments()
    y = data["S1"].iloc[:30]
    before = PooledSeasonal(data["Total"].iloc[:30]).fit(y).forecast(3)
    later = data["Total"].copy()
    later.iloc[30:] *= 5.0  # the company's future, wildly different
    after = PooledSeasonal(later).fit(y).forecast(3)
    pd.testing.assert_frame_equal(before, after)


def test_a_short_total_falls_back_to_seasonal_naive_with_the_reason():
    data = segments(months=20)
    model = PooledSeasonal(data["Total"]).fit(data["S0"])
    assert model.used == "seasonal naive (m=12)" and "two full seasons" in model.notes[0]
    np.testing.assert_allclose(
        model.forecast(3)[MEAN].to_numpy(),
        SeasonalNaive().fit(data["S0"]).forecast(3)[MEAN].to_numpy(),
    )


def test_pooling_beats_each_segments_own_seasonality_on_noisy_segments():
    """With two or three noisy years per segment, the company pattern is the better estimate:
    averaged over many simulated companies, the pooled model's 3-month error is lower than
    seasonal naive's (this could fail if the indices or the level were wrong)."""
    pooled, naive = [], []
    for seed in range(30):
        data = segments(months=33, noise=0.12, seed=seed)
        for name in ("S0", "S1", "S2", "S3"):
            train, actual = data[name].iloc[:30], data[name].iloc[30:].to_numpy()
            total = data["Total"].iloc[:30]
            pooled.append(
                np.abs(PooledSeasonal(total).fit(train).forecast(3)[MEAN] - actual).mean()
            )
            naive.append(np.abs(SeasonalNaive().fit(train).forecast(3)[MEAN] - actual).mean())
    assert np.mean(pooled) < 0.9 * np.mean(naive)  # measured: 0.81


def test_adding_the_candidate_refits_nothing_else_and_leaves_the_cached_outcome_alone():
    data = segments()
    own = select_and_forecast(data["S0"], CONFIG)
    before = own.backtest.copy()
    more = add_candidate(own, data["S0"], lambda: PooledSeasonal(data["Total"]), CONFIG)
    assert NAME in more.ranking and NAME not in own.ranking
    assert more.model_fits == own.model_fits
    assert more.added_fits == len(own.candidates.ends) + 1
    pd.testing.assert_frame_equal(own.backtest, before)
    singles = {m for m in own.backtest["model"] if not m.startswith("combo:")}
    assert set(more.backtest["model"]) >= singles | {NAME}
    # Its backtest forecasts at each origin used the company data up to that origin only.
    at = more.backtest[more.backtest["model"] == NAME]
    for origin, rows in at.groupby("origin"):
        n = data["S0"].index.get_loc(origin) + 1
        alone = PooledSeasonal(data["Total"].iloc[:n]).fit(data["S0"].iloc[:n]).forecast(len(rows))
        np.testing.assert_allclose(rows[MEAN].to_numpy(), np.maximum(alone[MEAN].to_numpy(), 0.0))


def test_new_data_in_one_segment_refits_only_it_and_the_total_with_their_own_models():
    data, cache = segments(), FitCache()
    refs = {n: data["Total"] for n in data if n != "Total"}
    first = fit_series(data, CONFIG, cache=cache, workers=1, references=refs)
    assert first.pooled_fits == 4 * len(POOLED_MODELS) * (
        len(first.outcomes["S0"].candidates.ends) + 1
    )
    changed = dict(data)
    changed["S2"] = data["S2"].copy()
    changed["S2"].iloc[-1] *= 1.2
    changed["Total"] = data["Total"].copy()
    changed["Total"].iloc[-1] += data["S2"].iloc[-1] * 0.2
    refs = {n: changed["Total"] for n in changed if n != "Total"}
    again = fit_series(changed, CONFIG, cache=cache, workers=1, references=refs)
    assert set(again.refitted) == {"S2", "Total"}
    assert again.model_fits == first.outcomes["S2"].model_fits + first.outcomes["Total"].model_fits
    # The other segments kept their own fits and re-estimated only the pooled candidate.
    assert (
        again.outcomes["S0"].candidates.fitted["ets"]
        is first.outcomes["S0"].candidates.fitted["ets"]
    )
    assert (
        again.outcomes["S0"].candidates.blocks[NAME]
        is not first.outcomes["S0"].candidates.blocks[NAME]
    )


def test_a_candidate_that_falls_back_at_an_origin_is_not_judged_in_that_form():
    """At a 12-month horizon on 24 months the only origin has 13 months of company data, too
    few for indices: the candidate's backtest would score seasonal naive, so it stays out."""
    data = {k: v.iloc[:24] for k, v in segments().items()}
    config = BacktestConfig(horizon=12, models=("seasonal_naive", "ets", "theta"))
    own = select_and_forecast(data["S0"], config)
    assert min(own.candidates.ends) < 24
    more = add_candidate(own, data["S0"], lambda: PooledSeasonal(data["Total"]), config)
    assert more is own and NAME not in more.ranking


def test_segments_of_one_run_share_one_profile_estimate_per_origin():
    data = segments()
    profiles: dict = {}
    shared = [
        PooledSeasonal(data["Total"], profiles=profiles).fit(data[f"S{i}"]).forecast(3)
        for i in range(4)
    ]
    alone = [PooledSeasonal(data["Total"]).fit(data[f"S{i}"]).forecast(3) for i in range(4)]
    assert len(profiles) == 1
    for a, b in zip(shared, alone, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_the_theta_and_ets_variants_follow_a_segment_that_grows_under_the_company_pattern():
    index = pd.date_range("2023-01-01", periods=36, freq="MS")
    season = PATTERN[(index.month - 1).to_numpy()]
    rng = np.random.default_rng(3)
    level = 1000.0 + 25.0 * np.arange(39)  # +2.5% of the start a month
    segment = pd.Series(level[:36] * season * rng.normal(1, 0.01, 36), index=index, name="S")
    total = pd.Series(5000.0 * season, index=index, name="Total")
    future = PATTERN[(pd.date_range("2026-01-01", periods=3, freq="MS").month - 1).to_numpy()]
    truth = level[36:] * future
    errors = {}
    for name in POOLED_MODELS:
        model = make_pooled(name, total).fit(segment)
        assert model.name == name and not model.fell_back
        fc = model.forecast(3)
        errors[name] = float(np.abs(fc[MEAN].to_numpy() - truth).mean())
        assert (fc["lo-95"] <= fc["lo-80"]).all() and (fc["lo-80"] <= fc[MEAN]).all()
        assert (fc[MEAN] <= fc["hi-80"]).all() and (fc["hi-80"] <= fc["hi-95"]).all()
    # a flat SES level lags a growing segment; SES with drift and a damped trend do not
    assert errors["pooled_theta"] < 0.5 * errors[NAME]
    assert errors["pooled_damped"] < 0.5 * errors[NAME]
    assert "Theta" in make_pooled("pooled_theta", total).fit(segment).used


def test_a_variant_whose_level_model_cannot_fit_falls_back_and_says_so():
    data = segments()
    short = data["S0"].iloc[-8:]  # ETS needs ten periods of the adjusted series
    model = PooledModel(data["Total"], "damped").fit(short)
    assert model.fell_back and "ets: 8 periods, needs 10" in model.notes
    with pytest.raises(ValueError, match="Unknown level model 'arima'"):
        PooledModel(data["Total"], "arima")
    with pytest.raises(ValueError, match="Unknown pooled model"):
        make_pooled("pooled_arima", data["Total"])


def test_the_pooled_step_gives_the_same_outcomes_in_worker_processes_as_in_this_one():
    data = segments()
    refs = {n: data["Total"] for n in data if n != "Total"}
    serial = fit_series(data, CONFIG, workers=1, references=refs)
    parallel = fit_series(data, CONFIG, workers=2, references=refs)
    assert serial.pooled_fits == parallel.pooled_fits > 0
    for name in data:
        assert serial.outcomes[name].chosen == parallel.outcomes[name].chosen
        pd.testing.assert_frame_equal(
            serial.outcomes[name].forecast, parallel.outcomes[name].forecast
        )
