"""Reconciliation: segments add up to the total, whatever the base forecasts and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from planning.forecast.base import MEAN, PERIOD, SERIES, hi, lo
from planning.forecast.hierarchy import (
    coherence_gap,
    reconcile,
    reconciliation_matrix,
    shrunk_covariance,
    summing_matrix,
)


def base_frame(values: np.ndarray, names: list[str]) -> pd.DataFrame:
    periods = pd.date_range("2026-01-01", periods=values.shape[0], freq="MS")
    rows = []
    for j, name in enumerate(names):
        for i, period in enumerate(periods):
            v = float(values[i, j])
            rows.append(
                {
                    SERIES: name,
                    PERIOD: period,
                    "model": "m",
                    MEAN: v,
                    lo(80): v - 1,
                    hi(80): v + 1,
                    lo(95): v - 2,
                    hi(95): v + 2,
                }
            )
    return pd.DataFrame(rows)


@st.composite
def hierarchies(draw):
    k = draw(st.integers(1, 6))
    periods = draw(st.integers(1, 4))
    t = draw(st.integers(0, 30))
    finite = st.floats(0, 1e7, allow_nan=False)
    base = draw(arrays(np.float64, (periods, k + 1), elements=finite))
    resid = draw(arrays(np.float64, (t, k + 1), elements=st.floats(-1e5, 1e5, allow_nan=False)))
    return k, base, resid


@settings(max_examples=60, deadline=None)
@given(hierarchies(), st.sampled_from(["bottom_up", "mint_shrink"]), st.booleans())
def test_reconciled_segments_always_add_up_to_the_total(case, method, nonnegative):
    k, values, resid = case
    names = ["Total", *(f"S{i}" for i in range(k))]
    residuals = {name: resid[:, j] for j, name in enumerate(names)}
    out, _ = reconcile(
        base_frame(values, names), "Total", names[1:], method, residuals, nonnegative=nonnegative
    )
    scale = max(1.0, float(np.abs(values).max()))
    assert coherence_gap(out, "Total", names[1:]) <= 1e-7 * scale * (k + 1)
    if nonnegative:
        assert (out[MEAN] >= 0).all()
    assert (out[hi(95)] - out[lo(95)]).round(6).eq(4).all() or nonnegative


def test_bottom_up_keeps_the_segments_and_adds_them():
    names = ["Total", "A", "B"]
    out, lam = reconcile(
        base_frame(np.array([[10.0, 3.0, 4.0]]), names), "Total", names[1:], "bottom_up"
    )
    got = out.set_index(SERIES)[MEAN]
    assert (got["A"], got["B"], got["Total"]) == (3.0, 4.0, 7.0) and lam is None


def test_mint_with_equal_uncorrelated_errors_is_the_least_squares_projection():
    # W = I: y~ = S (S'S)^-1 S' y^ ; for y^ = (10, 3, 3) the segments become 13/3 each
    g = reconciliation_matrix("mint_shrink", 2, np.eye(3))
    bottom = g @ np.array([10.0, 3.0, 3.0])
    np.testing.assert_allclose(bottom, [13 / 3, 13 / 3])
    np.testing.assert_allclose(summing_matrix(2) @ bottom, [26 / 3, 13 / 3, 13 / 3])


def test_shrinkage_is_strong_for_noise_and_weak_for_a_real_correlation():
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(40, 4))
    _, lam_noise = shrunk_covariance(noise)
    common = rng.normal(size=(40, 1))
    correlated = common + 0.05 * rng.normal(size=(40, 4))
    _, lam_corr = shrunk_covariance(correlated)
    assert 0 <= lam_corr < 0.1 < lam_noise <= 1


def test_too_few_residuals_give_the_diagonal():
    cov, lam = shrunk_covariance(np.array([[1.0, 2.0], [np.nan, 1.0]]))
    assert lam == 1.0 and cov[0, 1] == 0


def test_an_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="Unknown reconciliation 'top_down'"):
        reconciliation_matrix("top_down", 2)
