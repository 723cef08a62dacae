"""Parallel fits give the same answers as serial ones, and the cache refits only what changed."""

from __future__ import annotations

import pandas as pd
import pytest

from planning.forecast.backtest import BacktestConfig
from planning.forecast.fitting import FitCache, fit_series, series_fingerprint
from tests.unit.forecast.test_base import seasonal_series

CONFIG = BacktestConfig(horizon=3, models=("seasonal_naive", "ets", "theta"))


def many(n: int = 4) -> dict[str, pd.Series]:
    return {f"S{i}": seasonal_series(seed=i).rename(f"S{i}") for i in range(n)}


def test_worker_processes_give_exactly_the_serial_forecasts():
    series = many()
    serial = fit_series(series, CONFIG, workers=1)
    parallel = fit_series(series, CONFIG, workers=2)
    for name in series:
        pd.testing.assert_frame_equal(
            serial.outcomes[name].forecast, parallel.outcomes[name].forecast
        )
        assert serial.outcomes[name].chosen == parallel.outcomes[name].chosen
    assert serial.model_fits == parallel.model_fits > 0


def test_new_data_in_one_series_refits_only_that_series():
    series, cache = many(), FitCache()
    first = fit_series(series, CONFIG, cache=cache, workers=1)
    assert set(first.refitted) == set(series) and len(cache) == 4
    again = fit_series(series, CONFIG, cache=cache, workers=1)
    assert again.refitted == () and again.model_fits == 0 and cache.hits == 4
    changed = dict(series)
    changed["S2"] = series["S2"].copy()
    changed["S2"].iloc[-1] *= 1.1
    third = fit_series(changed, CONFIG, cache=cache, workers=1)
    assert third.refitted == ("S2",) and third.model_fits > 0
    assert third.outcomes["S0"] is first.outcomes["S0"]


def test_the_fingerprint_changes_with_values_name_and_configuration():
    y = seasonal_series()
    base = series_fingerprint(y, CONFIG)
    assert series_fingerprint(y.copy(), CONFIG) == base
    assert series_fingerprint(y.rename("other"), CONFIG) != base
    assert series_fingerprint(y * 1.0001, CONFIG) != base
    assert series_fingerprint(y, BacktestConfig(horizon=4)) != base


def test_the_cache_forgets_the_least_recently_used_beyond_its_size():
    cache = FitCache(max_entries=2)
    run = fit_series(many(3), CONFIG, cache=cache, workers=1)
    assert len(cache) == 2 and run.model_fits > 0
    with pytest.raises(ValueError, match="max_entries"):
        FitCache(max_entries=0)
