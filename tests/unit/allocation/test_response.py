"""Response curves: values, derivatives and their inverse, envelopes, provenance, draws."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from planning.allocation.response import (
    ExponentialCurve,
    HillCurve,
    ResponseModel,
    draw_curves,
    make_curve,
    planner_curve,
    response_band,
    tangent_from,
)

CURVES = [
    pytest.param(ExponentialCurve(64.0, 14_000.0), id="exponential"),
    pytest.param(HillCurve(22.0, 8_000.0, 1.5), id="hill-s-shaped"),
    pytest.param(HillCurve(5.0, 3_000.0, 0.7), id="hill-concave"),
    pytest.param(HillCurve(5.0, 3_000.0, 1.0), id="hill-michaelis-menten"),
]


@pytest.mark.parametrize("curve", CURVES)
def test_derivatives_match_finite_differences(curve):
    s = np.array([500.0, 2_000.0, 9_000.0, 40_000.0])
    h = 1e-5 * s
    numeric = (curve.value(s + h) - curve.value(s - h)) / (2 * h)
    np.testing.assert_allclose(curve.derivative(s), numeric, rtol=1e-6)
    numeric2 = (curve.derivative(s + h) - curve.derivative(s - h)) / (2 * h)
    np.testing.assert_allclose(curve.second_derivative(s), numeric2, rtol=1e-5)


@pytest.mark.parametrize("curve", CURVES)
def test_inverse_derivative_finds_the_spend_with_that_slope_on_the_concave_branch(curve):
    spends = np.array([1.5, 3.0, 6.0]) * 10_000.0
    slopes = curve.derivative(spends)
    np.testing.assert_allclose(curve.inverse_derivative(slopes), spends, rtol=1e-9)


def test_a_slope_steeper_than_the_curve_ever_gets_means_no_spend_beyond_the_inflection():
    exp = ExponentialCurve(10.0, 1_000.0)
    assert exp.inverse_derivative(1.0) == 0.0  # first dollar returns 0.01 < 1
    assert exp.inverse_derivative(0.0) == np.inf
    hill = HillCurve(10.0, 1_000.0, 2.0)
    assert hill.inverse_derivative(1.0) == pytest.approx(float(hill.inflection()))


def test_the_s_curves_inflection_is_where_curvature_changes_sign():
    curve = HillCurve(22.0, 8_000.0, 1.5)
    infl = float(curve.inflection())
    assert curve.second_derivative(infl * 0.99) > 0 > curve.second_derivative(infl * 1.01)


def test_tangent_from_zero_touches_the_hill_curve_where_its_average_equals_its_slope():
    curve = HillCurve(22.0, 8_000.0, 1.5)
    t = float(tangent_from(curve, 0.0))
    # Closed form for a start at 0: x = shape - 1, so t = K (n - 1)^(1/n).
    assert t == pytest.approx(8_000.0 * 0.5 ** (1 / 1.5), rel=1e-10)
    assert curve.value(t) / t == pytest.approx(float(curve.derivative(t)), rel=1e-9)


def test_tangent_from_a_concave_start_is_the_start_itself():
    assert float(tangent_from(HillCurve(22.0, 8_000.0, 1.5), 9_000.0)) == 9_000.0
    assert float(tangent_from(ExponentialCurve(1.0, 1.0), 5.0)) == 5.0


def test_make_curve_names_what_is_wrong():
    with pytest.raises(ValueError, match="Unknown curve family 'logistic'"):
        make_curve("logistic", {"beta": 1.0})
    with pytest.raises(ValueError, match="takes parameters beta, kappa; got beta"):
        make_curve("exponential", {"beta": 1.0})
    with pytest.raises(ValueError, match="kappa must be a positive finite number"):
        make_curve("exponential", {"beta": 1.0, "kappa": -2.0})


def test_a_planner_curve_keeps_its_source_date_and_note():
    model = planner_curve(
        "Key account",
        "service_tier",
        "exponential",
        {"beta": 0.3, "kappa": 9_000.0},
        on=dt.date(2026, 11, 3),
        note="premium tier pilot",
    )
    assert model.source == "planner assumption, 2026-11-03: premium tier pilot"
    assert model.months == 0
    low, high = model.intervals(0.9)["beta"]
    assert low < 0.3 < high
    assert model.intervals(0.9)["kappa"] == pytest.approx((9_000.0, 9_000.0), rel=1e-12)


def test_draws_with_the_same_normals_give_the_same_curves():
    model = ResponseModel(
        "Small",
        "acquisition",
        ExponentialCurve(64.0, 14_000.0),
        "test",
        np.array([[0.01, 0.002], [0.002, 0.04]]),
    )
    z = np.random.default_rng(1).standard_normal((2_000, 2))
    a, b = draw_curves(model, z), draw_curves(model, z.copy())
    np.testing.assert_array_equal(a.beta, b.beta)
    assert np.std(np.log(a.kappa)) == pytest.approx(0.2, rel=0.05)


def test_a_barely_identified_parameter_still_draws_finite_curves():
    model = ResponseModel(
        "Small", "win_back", HillCurve(9.0, 3_000.0, 1.2), "test", np.diag([400.0, 900.0, 100.0])
    )
    curves = draw_curves(model, np.random.default_rng(2).standard_normal((500, 3)))
    assert np.isfinite(curves.value(5_000.0)).all()
    low, high = response_band(model, [1_000.0, 5_000.0])
    assert np.all(low <= high)


def test_response_band_covers_the_curve_and_narrows_with_certainty():
    wide = ResponseModel(
        "S", "acquisition", ExponentialCurve(10.0, 1_000.0), "t", np.diag([0.04, 0.04])
    )
    narrow = ResponseModel(
        "S", "acquisition", ExponentialCurve(10.0, 1_000.0), "t", np.diag([0.0001, 0.0001])
    )
    s = np.array([500.0, 2_000.0])
    lo_w, hi_w = response_band(wide, s)
    lo_n, hi_n = response_band(narrow, s)
    expected = wide.curve.value(s)
    assert np.all((lo_w < expected) & (expected < hi_w))
    assert np.all(hi_n - lo_n < hi_w - lo_w)
