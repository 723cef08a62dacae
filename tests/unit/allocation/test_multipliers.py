"""The equal-marginal-return solver on its own: envelopes, KKT conditions, brute force, SLSQP.

Each problem is ``max sum g_i(s_i) - c sum s_i`` over ``lo <= s <= hi`` and ``A s <= C``, with
``g_i`` the (money-valued) response curves of the cells; the budget is the row of ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import optimize

from planning.allocation import multipliers as mp
from planning.allocation.response import ExponentialCurve, HillCurve

Curve = ExponentialCurve | HillCurve


def _batch(curves: list[Curve], lo, hi) -> mp.Batch:
    """A batch of scalar curves, grouped by family as the allocator groups them."""
    exp_index = np.array([i for i, c in enumerate(curves) if isinstance(c, ExponentialCurve)])
    hill_index = np.array([i for i, c in enumerate(curves) if isinstance(c, HillCurve)])
    exp = hill = None
    if exp_index.size:
        exp = ExponentialCurve(
            np.array([curves[i].beta for i in exp_index], dtype=float),
            np.array([curves[i].kappa for i in exp_index], dtype=float),
        )
    if hill_index.size:
        hill = HillCurve(
            np.array([curves[i].beta for i in hill_index], dtype=float),
            np.array([curves[i].half_saturation for i in hill_index], dtype=float),
            np.array([curves[i].shape for i in hill_index], dtype=float),
        )
    return mp.make_batch(
        exp_index.astype(int),
        exp,
        hill_index.astype(int),
        hill,
        np.asarray(lo, dtype=float),
        np.asarray(hi, dtype=float),
    )


def _budget(n: int, budget: float) -> tuple[np.ndarray, np.ndarray]:
    return np.ones((1, n)), np.array([float(budget)])


def _objective(curves: list[Curve], s: np.ndarray, c: float) -> float:
    return float(
        sum(float(curve.value(x)) for curve, x in zip(curves, s, strict=True)) - c * s.sum()
    )


def _marginals(curves: list[Curve], s: np.ndarray) -> np.ndarray:
    return np.array([float(curve.derivative(x)) for curve, x in zip(curves, s, strict=True)])


def _slsqp(curves, lo, hi, A, C, c, start) -> float:
    """SLSQP's optimum (from ``start``), or -inf when it ends infeasible."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    result = optimize.minimize(
        lambda s: -_objective(curves, s, c),
        start,
        jac=lambda s: -(_marginals(curves, s) - c),
        method="SLSQP",
        bounds=list(zip(lo, hi, strict=True)),
        constraints=[{"type": "ineq", "fun": lambda s: C - A @ s, "jac": lambda s: -A}],
        options={"maxiter": 1000, "ftol": 1e-12},
    )
    s = np.clip(result.x, lo, hi)
    return _objective(curves, s, c) if np.all(A @ s <= C * (1 + 1e-7) + 1e-7) else -np.inf


def _check_kkt(curves, batch, solution, A, C, c, rtol=1e-6):
    """Bounds and caps hold, priced caps are met exactly, and every cell's marginal return is
    its dollar's price: equal where it moves freely, lower at its minimum, higher at its
    maximum."""
    s, mu = solution.spend, solution.mu
    assert np.all(s >= batch.lo - 1e-9 * (1 + batch.lo))
    assert np.all(s <= batch.hi + 1e-9 * (1 + batch.hi))
    assert np.all(A @ s <= C * (1 + 1e-9) + 1e-9)
    assert np.all(mu >= 0)
    usage = A @ s
    for g in np.flatnonzero(mu > 0):
        assert usage[g] == pytest.approx(C[g], rel=1e-8)
    price = c + A.T @ mu
    marginal = _marginals(curves, s)
    scale = rtol * np.maximum(price, 1e-12)
    interior = (s > batch.lo + 1e-6) & (s < batch.hi - 1e-6)
    # A curve infinitely steep at its minimum (Hill, shape < 1, at 0) has no finite price.
    at_lo = (s <= batch.lo + 1e-6) & np.isfinite(marginal)
    at_hi = s >= batch.hi - 1e-6
    assert np.all(np.abs(marginal[interior] - price[interior]) <= scale[interior])
    assert np.all(marginal[at_lo & ~at_hi] <= price[at_lo & ~at_hi] + scale[at_lo & ~at_hi])
    assert np.all(marginal[at_hi & ~at_lo] >= price[at_hi & ~at_lo] - scale[at_hi & ~at_lo])


# --------------------------------------------------------------------------- the envelope


def test_concave_cells_need_no_envelope():
    curves = [ExponentialCurve(5e4, 8e3), HillCurve(4e4, 6e3, 0.8), HillCurve(4e4, 6e3, 1.0)]
    batch = _batch(curves, [0.0, 0.0, 0.0], [5e4, 5e4, 5e4])
    assert batch.kind.tolist() == [0, 0, 0]
    assert np.all(batch.slope == -np.inf)
    assert np.array_equal(batch.tangent, batch.lo)


def test_an_s_shaped_cell_already_past_its_inflection_is_concave_on_its_bounds():
    curve = HillCurve(4e4, 6e3, 2.5)
    infl = float(curve.inflection())
    batch = _batch([curve], [infl * 1.01], [5e4])
    assert batch.kind.tolist() == [0]


def test_an_s_shaped_cell_is_a_line_to_its_tangent_point_then_the_curve():
    curve = HillCurve(4e4, 6e3, 2.5)
    batch = _batch([curve], [0.0], [1e5])
    t, slope = float(batch.tangent[0]), float(batch.slope[0])
    assert batch.kind.tolist() == [1]
    assert float(curve.inflection()) < t < 1e5
    # The line from (lo, g(lo)) reaches the curve at t and touches it there.
    assert slope == pytest.approx(float(curve.value(t) / t), rel=1e-12)
    assert slope == pytest.approx(float(curve.derivative(t)), rel=1e-9)
    # The envelope lies on or above the curve everywhere on [lo, hi].
    grid = np.linspace(0.0, t, 400)
    assert np.all(slope * grid >= curve.value(grid) - 1e-9 * 4e4)


def test_an_s_shaped_cell_whose_tangent_lies_beyond_its_maximum_is_all_or_nothing():
    curve = HillCurve(4e4, 6e3, 2.5)
    hi = float(curve.inflection()) * 1.1  # the tangent from 0 lies well beyond
    batch = _batch([curve], [0.0], [hi])
    assert batch.kind.tolist() == [2]
    assert batch.tangent[0] == pytest.approx(hi)
    assert batch.slope[0] == pytest.approx(float(curve.value(hi)) / hi, rel=1e-12)
    assert batch.spend(np.array([batch.slope[0] * 0.99]))[0] == hi
    assert batch.spend(np.array([batch.slope[0] * 1.01]))[0] == 0.0


def test_no_cell_offers_a_steeper_marginal_return_than_the_batch_top():
    curves = [ExponentialCurve(5e4, 8e3), HillCurve(4e4, 6e3, 0.7), HillCurve(4e4, 6e3, 2.5)]
    batch = _batch(curves, [100.0, 0.0, 0.0], [5e4, 5e4, 5e4])
    grid = np.linspace(1e-3, 5e4, 20_001)
    steepest = max(
        float(curves[0].derivative(100.0)),
        float(curves[1].derivative(1e-6)),
        float(np.max(curves[2].derivative(grid))),
    )
    assert batch.top >= steepest * (1 - 1e-9)


# --------------------------------------------------------------------------- best spend at a price


@pytest.mark.parametrize("price", [0.2, 1.0, 3.0, 7.0])
def test_at_a_price_each_concave_cell_spends_until_its_marginal_return_equals_it(price):
    curves = [ExponentialCurve(5e4, 8e3), HillCurve(4e4, 6e3, 0.8)]
    batch = _batch(curves, [500.0, 0.0], [3e4, 3e4])
    s = batch.spend(np.full(2, price))
    for curve, x, lo, hi in zip(curves, s, batch.lo, batch.hi, strict=True):
        if lo < x < hi:
            assert float(curve.derivative(x)) == pytest.approx(price, rel=1e-8)
        elif x == lo:
            assert float(curve.derivative(lo)) <= price * (1 + 1e-9)
        else:
            assert x == hi and float(curve.derivative(hi)) >= price * (1 - 1e-9)


def test_a_higher_price_never_buys_more_spend():
    curves = [ExponentialCurve(5e4, 8e3), HillCurve(4e4, 6e3, 0.8), HillCurve(4e4, 6e3, 2.5)]
    batch = _batch(curves, [0.0, 0.0, 0.0], [4e4, 4e4, 4e4])
    prices = np.geomspace(1e-3, 1e2, 200)
    spends = np.array([batch.spend(np.full(3, p)) for p in prices])
    assert np.all(np.diff(spends, axis=0) <= 1e-9)


def test_an_s_shaped_cell_is_off_above_its_envelope_slope_and_past_its_tangent_below_it():
    curve = HillCurve(4e4, 6e3, 2.5)
    batch = _batch([curve], [0.0], [1e5])
    slope, t = float(batch.slope[0]), float(batch.tangent[0])
    assert batch.spend(np.array([slope * 1.001]))[0] == 0.0
    below = batch.spend(np.array([slope * 0.999]))[0]
    assert below >= t
    assert float(curve.derivative(below)) == pytest.approx(slope * 0.999, rel=1e-8)


# --------------------------------------------------------------------------- the budget alone


def _closed_form_exponential(betas, kappas, budget, c):
    """``g_i = b_i (1 - exp(-s / k_i))`` all interior: ``b_i / k_i exp(-s_i / k_i) = lambda``
    and ``sum s_i = budget`` give ``log lambda = (sum k_i log(b_i / k_i) - budget) / sum k_i``."""
    b, k = np.asarray(betas, dtype=float), np.asarray(kappas, dtype=float)
    log_lambda = (np.sum(k * np.log(b / k)) - budget) / np.sum(k)
    return k * (np.log(b / k) - log_lambda), np.exp(log_lambda) - c


@pytest.mark.parametrize(
    "betas, kappas, budget",
    [
        ([5e4, 5e4], [1e4, 1e4], 2e4),
        ([8e4, 2e4, 5e4], [1.2e4, 3e3, 7e3], 1.5e4),
        ([1e5, 6e4, 3e4, 9e4], [2e4, 5e3, 8e3, 1.1e4], 3e4),
    ],
    ids=["two-equal-cells-split-evenly", "three-cells", "four-cells"],
)
def test_exponential_cells_under_a_binding_budget_match_the_closed_form(betas, kappas, budget):
    curves = [ExponentialCurve(b, k) for b, k in zip(betas, kappas, strict=True)]
    expected, mu = _closed_form_exponential(betas, kappas, budget, c=1.0)
    assert np.all(expected > 0) and mu > 0  # every cell interior, the budget binding
    n = len(curves)
    A, C = _budget(n, budget)
    solution = mp.solve_dual(_batch(curves, np.zeros(n), np.full(n, 1e6)), 1.0, A, C)
    np.testing.assert_allclose(solution.spend, expected, rtol=1e-9)
    assert solution.mu[0] == pytest.approx(mu, rel=1e-9)


def test_with_money_to_spare_every_cell_spends_until_a_dollar_returns_a_dollar():
    curves = [ExponentialCurve(5e4, 8e3), HillCurve(4e4, 6e3, 0.8)]
    batch = _batch(curves, [0.0, 0.0], [1e6, 1e6])
    A, C = _budget(2, 1e7)
    solution = mp.solve_dual(batch, 1.0, A, C)
    assert solution.mu[0] == 0.0 and solution.iterations == 0
    np.testing.assert_allclose(_marginals(curves, solution.spend), [1.0, 1.0], rtol=1e-8)
    assert solution.spend.sum() < 1e7


def test_a_cell_whose_first_dollar_returns_less_than_it_costs_stays_at_its_minimum():
    curves = [ExponentialCurve(5e4, 8e3), ExponentialCurve(500.0, 1e3)]  # 0.5 per dollar at 0
    batch = _batch(curves, [0.0, 200.0], [1e6, 1e6])
    solution = mp.solve_dual(batch, 1.0, *_budget(2, 1e5))
    assert solution.spend[1] == 200.0
    assert float(curves[0].derivative(solution.spend[0])) == pytest.approx(1.0, rel=1e-8)


def test_a_budget_that_only_covers_the_minimums_gives_every_cell_its_minimum():
    curves = [ExponentialCurve(5e4, 8e3), HillCurve(4e4, 6e3, 0.8)]
    lo = np.array([1_000.0, 2_500.0])
    batch = _batch(curves, lo, [1e5, 1e5])
    solution = mp.solve_dual(batch, 1.0, *_budget(2, lo.sum()))
    np.testing.assert_allclose(solution.spend, lo, rtol=1e-9)


def test_a_contribution_objective_spends_the_whole_budget():
    curves = [ExponentialCurve(5e4, 8e3), HillCurve(4e4, 6e3, 0.8), ExponentialCurve(100, 1e3)]
    batch = _batch(curves, [0.0] * 3, [4e4] * 3)
    A, C = _budget(3, 5e4)
    solution = mp.solve_dual(batch, 0.0, A, C)  # a dollar costs nothing: only the budget binds
    assert solution.spend.sum() == pytest.approx(5e4, rel=1e-10)
    _check_kkt(curves, batch, solution, A, C, 0.0)


def test_two_cells_match_a_brute_force_search_over_the_split():
    curves = [ExponentialCurve(6e4, 9e3), HillCurve(5e4, 7e3, 0.9)]
    budget = 1.2e4
    batch = _batch(curves, [0.0, 0.0], [1e5, 1e5])
    solution, gap = mp.solve(batch, 1.0, *_budget(2, budget))
    first = np.linspace(0.0, budget, 200_001)  # the budget binds: the second gets the rest
    grid = curves[0].value(first) + curves[1].value(budget - first) - budget
    assert gap == 0.0
    assert _objective(curves, solution.spend, 1.0) >= float(grid.max()) - 1e-6
    assert solution.spend[0] == pytest.approx(first[np.argmax(grid)], abs=0.5)


# --------------------------------------------------------------------------- several caps


def _capped_problem(rng: np.random.Generator, n: int):
    curves: list[Curve] = []
    for _ in range(n):
        if rng.random() < 0.5:
            curves.append(ExponentialCurve(rng.uniform(1e4, 1e5), rng.uniform(2e3, 2e4)))
        else:
            curves.append(
                HillCurve(rng.uniform(1e4, 1e5), rng.uniform(2e3, 2e4), rng.uniform(0.5, 1.0))
            )
    lo = np.where(rng.random(n) < 0.3, rng.uniform(0, 2e3, n), 0.0)
    hi = lo + rng.uniform(5e3, 4e4, n)
    budget = float(lo.sum() + rng.uniform(0.05, 0.25) * (hi - lo).sum())
    group = (np.arange(n) % 2 == 0).astype(float)  # e.g. one program's cells
    weight = rng.uniform(0.2, 2.0, n)  # e.g. service-tier capacity per dollar
    A = np.vstack([np.ones(n), group, weight])
    C = np.array(
        [
            budget,
            float(group @ lo + 0.3 * (budget - lo.sum())),
            float(weight @ lo + 0.8 * weight.mean() * (budget - lo.sum())),
        ]
    )
    return curves, lo, hi, A, C


@pytest.mark.parametrize("seed", range(6))
def test_with_several_caps_the_kkt_conditions_hold_and_slsqp_does_no_better(seed):
    rng = np.random.default_rng(seed)
    curves, lo, hi, A, C = _capped_problem(rng, int(rng.integers(3, 7)))
    batch = _batch(curves, lo, hi)
    solution, gap = mp.solve(batch, 1.0, A, C)
    assert gap == 0.0
    _check_kkt(curves, batch, solution, A, C, 1.0)
    ours = _objective(curves, solution.spend, 1.0)
    for start in (lo, (lo + hi) / 2):
        theirs = _slsqp(curves, lo, hi, A, C, 1.0, start)
        assert ours >= theirs - 1e-7 * (1 + abs(theirs))


def test_a_cap_that_does_not_bind_has_no_price():
    curves = [ExponentialCurve(5e4, 8e3), ExponentialCurve(5e4, 8e3)]
    batch = _batch(curves, [0.0, 0.0], [1e5, 1e5])
    A = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    C = np.array([1e4, 8e3, 1e6])  # the budget binds, the first cell's cap does not
    solution = mp.solve_dual(batch, 1.0, A, C)
    assert solution.mu[0] > 0
    assert solution.mu[1] == 0.0 and solution.mu[2] == 0.0
    np.testing.assert_allclose(solution.spend, [5e3, 5e3], rtol=1e-9)


def test_a_binding_cap_on_one_cell_moves_the_rest_of_the_budget_to_the_other():
    curves = [ExponentialCurve(5e4, 8e3), ExponentialCurve(5e4, 8e3)]
    batch = _batch(curves, [0.0, 0.0], [1e5, 1e5])
    A = np.array([[1.0, 1.0], [1.0, 0.0]])
    C = np.array([1e4, 2e3])
    solution = mp.solve_dual(batch, 1.0, A, C)
    np.testing.assert_allclose(solution.spend, [2e3, 8e3], rtol=1e-9)
    assert solution.mu[1] > 0
    _check_kkt(curves, batch, solution, A, C, 1.0)


# --------------------------------------------------------------------------- S-shaped cells


def _grid_optimum(curves, lo, hi, budget, c, points=1501) -> float:
    """The best point of a grid over two cells (the second may also take what is left)."""
    a = np.linspace(lo[0], hi[0], points)[:, None]
    b = np.linspace(lo[1], hi[1], points)[None, :]
    value = curves[0].value(a) + curves[1].value(b) - c * (a + b)
    return float(np.max(np.where(a + b <= budget, value, -np.inf)))


@pytest.mark.parametrize(
    "curves, lo, hi, budget",
    [
        ([HillCurve(6e4, 8e3, 2.5), ExponentialCurve(3e4, 5e3)], [0, 0], [4e4, 4e4], 1.2e4),
        ([HillCurve(6e4, 8e3, 2.5), ExponentialCurve(3e4, 5e3)], [0, 0], [4e4, 4e4], 4e4),
        ([HillCurve(6e4, 8e3, 3.0), HillCurve(5e4, 1.2e4, 2.0)], [0, 0], [3e4, 3e4], 1.5e4),
        ([HillCurve(6e4, 8e3, 3.0), HillCurve(5e4, 1.2e4, 2.0)], [500, 0], [9e3, 3e4], 2.5e4),
        ([HillCurve(2e4, 9e3, 2.5), ExponentialCurve(4e4, 6e3)], [0, 0], [3e4, 3e4], 6e3),
    ],
    ids=[
        "one-threshold-cell-tight-budget",
        "one-threshold-cell-ample-budget",
        "two-threshold-cells",
        "all-or-nothing-cell",
        "threshold-not-worth-crossing",
    ],
)
def test_the_reported_gap_bounds_the_distance_to_the_true_optimum(curves, lo, hi, budget):
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    batch = _batch(curves, lo, hi)
    A, C = _budget(2, budget)
    solution, gap = mp.solve(batch, 1.0, A, C)
    s = solution.spend
    assert np.all(s >= lo - 1e-9) and np.all(s <= hi + 1e-9)
    assert s.sum() <= budget * (1 + 1e-9)
    achieved = _objective(curves, s, 1.0)
    best = _grid_optimum(curves, lo, hi, budget, 1.0)
    assert gap >= 0.0
    assert achieved + gap >= best - 1e-6 * abs(best)  # the certificate
    assert achieved <= best + 1e-3 * abs(best) + 1.0  # and the spends are feasible: no magic


@pytest.mark.parametrize("budget", [4e4, 1.2e4])
def test_a_threshold_cell_switched_on_spends_on_its_concave_branch(budget):
    curves = [HillCurve(6e4, 8e3, 2.5), ExponentialCurve(3e4, 5e3)]
    batch = _batch(curves, [0.0, 0.0], [4e4, 4e4])
    solution, _ = mp.solve(batch, 1.0, *_budget(2, budget))
    s = solution.spend[0]
    assert s == 0.0 or s >= float(curves[0].inflection()) * (1 - 1e-9)


def test_a_worthwhile_all_or_nothing_cell_takes_its_maximum():
    curve = HillCurve(6e4, 8e3, 3.0)
    hi = float(curve.inflection()) * 1.05
    assert float(curve.value(hi)) > hi  # worth more than it costs
    solution, gap = mp.solve(_batch([curve], [0.0], [hi]), 1.0, *_budget(1, 1e6))
    assert solution.spend[0] == pytest.approx(hi)
    assert gap == pytest.approx(0.0, abs=1e-6 * hi)


def test_an_all_or_nothing_cell_worth_less_than_it_costs_stays_off():
    curve = HillCurve(1e4, 8e3, 3.0)
    hi = 12_000.0
    assert float(curve.value(hi)) < hi
    solution, _ = mp.solve(_batch([curve], [0.0], [hi]), 1.0, *_budget(1, 1e6))
    assert solution.spend[0] == 0.0


# --------------------------------------------------------------------------- properties

_concave = st.one_of(
    st.builds(ExponentialCurve, st.floats(1e3, 2e5), st.floats(500, 5e4)),
    st.builds(HillCurve, st.floats(1e3, 2e5), st.floats(500, 5e4), st.floats(0.4, 1.0)),
)
_any_curve = st.one_of(
    _concave,
    st.builds(HillCurve, st.floats(1e3, 2e5), st.floats(500, 5e4), st.floats(1.05, 3.0)),
)


def _dollars(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high).map(lambda x: round(x, 2))  # whole cents, as plans are


@st.composite
def _problems(draw, curves=_any_curve):
    n = draw(st.integers(1, 6))
    cells = [draw(curves) for _ in range(n)]
    lo = np.array([draw(st.sampled_from([0.0, draw(_dollars(0, 3e3))])) for _ in range(n)])
    hi = lo + np.array([draw(_dollars(1.0, 6e4)) for _ in range(n)])  # free cells: hi > lo
    budget = float(lo.sum() + draw(_dollars(0.0, 2e5)))
    c = draw(st.sampled_from([1.0, 0.0, 1.3]))
    return cells, lo, hi, budget, c


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems())
def test_the_solution_respects_every_bound_and_spends_no_more_than_the_budget(problem):
    curves, lo, hi, budget, c = problem
    solution, gap = mp.solve(_batch(curves, lo, hi), c, *_budget(len(curves), budget))
    s = solution.spend
    assert np.all(np.isfinite(s)) and np.isfinite(gap) and gap >= 0
    assert np.all(s >= lo - 1e-9 * (1 + lo))
    assert np.all(s <= hi + 1e-9 * (1 + hi))
    assert s.sum() <= budget * (1 + 1e-9) + 1e-9


def _kkt_holds(problem) -> None:
    curves, lo, hi, budget, c = problem
    batch = _batch(curves, lo, hi)
    A, C = _budget(len(curves), budget)
    solution, gap = mp.solve(batch, c, A, C)
    assert gap == 0.0
    _check_kkt(curves, batch, solution, A, C, c)


_exponential = st.builds(ExponentialCurve, st.floats(1e3, 2e5), st.floats(500, 5e4))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems(curves=_exponential))
def test_concave_cells_not_held_by_a_bound_share_one_marginal_return(problem):
    _kkt_holds(problem)


# Hypothesis found these with concave Hill cells (shape 0.4 to 1) beside exponential ones: the
# budget is left partly unspent while returns exceed the hurdle, or the price search overflows
# in HillCurve.inverse_derivative. Kept as known failures until the solver handles them.
_HILL_MISSES = [
    (
        [ExponentialCurve(1000.0, 500.0)] * 3
        + [HillCurve(22200.0, 1320.0, 0.9999999999999999), HillCurve(1005.0, 500.0, 0.4)],
        np.array([0.0, 0.0, 18.0, 0.0, 36.0]),
        np.array([454.0, 1.0, 19.0, 43.0, 40.0]),
        57.0,
        1.3,
    ),
    (
        [ExponentialCurve(1000.0, 500.0)] * 3
        + [HillCurve(14981.0, 1135.0, 0.9999999999999999), HillCurve(8219.0, 691.0, 0.4)],
        np.array([0.0, 0.0, 18.0, 0.0, 36.0]),
        np.array([450.0, 1.0, 19.0, 42.0, 41.0]),
        61.0,
        1.3,
    ),
    (
        [ExponentialCurve(1000.0, 500.0)] * 3
        + [HillCurve(14981.0, 1135.0, 0.9999999999999999), HillCurve(8219.0, 691.0, 0.4)],
        np.array([0.0, 0.0, 2396.0, 0.0, 36.0]),
        np.array([1.0, 1.0, 2398.0, 200.0, 332.0]),
        2439.0,
        1.3,
    ),
]


@pytest.mark.xfail(
    strict=True,
    reason="the exact solver misses the optimum with concave Hill "
    "cells beside exponential ones (cases found by Hypothesis)",
)
@pytest.mark.parametrize("problem", _HILL_MISSES, ids=["budget-57", "budget-61", "budget-2439"])
def test_concave_hill_cells_share_one_marginal_return_too(problem):
    _kkt_holds(problem)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems(curves=_concave), st.floats(1.0, 1e5))
def test_more_budget_never_lowers_the_optimum(problem, extra):
    curves, lo, hi, budget, c = problem
    batch = _batch(curves, lo, hi)
    n = len(curves)
    less, _ = mp.solve(batch, c, *_budget(n, budget))
    more, _ = mp.solve(batch, c, *_budget(n, budget + extra))
    low, high = _objective(curves, less.spend, c), _objective(curves, more.spend, c)
    assert high >= low - 1e-9 * (1 + abs(low))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems(curves=_any_curve), st.floats(1.0, 1e5))
def test_more_budget_never_lowers_the_bound_on_the_optimum(problem, extra):
    curves, lo, hi, budget, c = problem
    batch = _batch(curves, lo, hi)
    n = len(curves)
    less, less_gap = mp.solve(batch, c, *_budget(n, budget))
    more, more_gap = mp.solve(batch, c, *_budget(n, budget + extra))
    low = _objective(curves, less.spend, c) + less_gap
    high = _objective(curves, more.spend, c) + more_gap
    assert high >= low - 1e-6 * (1 + abs(low))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems(curves=_concave))
def test_slsqp_never_beats_the_exact_solver_on_concave_cells(problem):
    curves, lo, hi, budget, c = problem
    n = len(curves)
    A, C = _budget(n, budget)
    solution, _ = mp.solve(_batch(curves, lo, hi), c, A, C)
    ours = _objective(curves, solution.spend, c)
    theirs = _slsqp(curves, lo, hi, A, C, c, lo.copy())
    assert ours >= theirs - 1e-7 * (1 + abs(theirs))
