"""Lagrange multipliers: the exact equal-marginal-return solver behind the allocator.

The problem is ``max sum_i g_i(s_i) - c * sum_i s_i`` over ``lo <= s <= hi`` and linear caps
``A s <= C`` with non-negative ``A`` (the budget is the row of ones), where each ``g_i`` is a
money-valued response curve. For concave ``g_i`` the optimum is where every cell not at a
bound has the same marginal return once each binding cap's price is added:
``g_i'(s_i) = c + sum_G mu_G A_Gi`` (Everett 1963). Given the multipliers ``mu`` each cell's
spend is closed-form (exponential) or a few Newton steps (Hill), so the whole problem reduces to
finding ``mu``: with one binding constraint (the budget) by bisection on its multiplier (Brent's
bracketed method, which falls back to bisection steps), with several by a projected Newton
method on the dual ``D(mu) = max_s L(s, mu)`` (Bertsekas 1982), whose gradient is the cap
slack and whose Hessian is ``A diag(1 / -g'') A'``. S-shaped Hill cells are first replaced by
their concave envelope on ``[lo, hi]`` (a line to the tangent point, then the curve); the
envelope problem's solution says which of them are worth switching on, the rest are settled at
their minimum, and the switched-on cells are re-solved exactly on their concave branch. The
envelope optimum bounds the true one from above, so the gap reported is a certificate.

References
----------
Everett, H. (1963). Generalized Lagrange Multiplier Method for Solving Problems of Optimum
    Allocation of Resources. Operations Research 11(3), 399-417.
Bertsekas, D. P. (1982). Projected Newton Methods for Optimization Problems with Simple
    Constraints. SIAM J. Control and Optimization 20(2), 221-246.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import optimize

from planning.allocation.response import ExponentialCurve, HillCurve, tangent_from

_TOL: Final = 1e-10  # relative tolerance on cap usage
_NEWTON_ITERATIONS: Final = 100
_SWEEPS: Final = 200
_ENVELOPE_SWEEPS: Final = 25  # the envelope only has to say which S-shaped cells to switch on
_MAX_ENUMERATED: Final = 4  # undecided S-shaped cells tried both ways; any more stay off


@dataclass(frozen=True, eq=False)
class Batch:
    """Free cells as arrays: value-scaled curves by family, bounds, and envelope data.

    ``kind`` per cell: 0 concave on [lo, hi]; 1 a line from lo to the tangent point ``tangent``
    then concave; 2 convex enough that the envelope is the chord from lo to hi (all or
    nothing). ``slope`` is the envelope's linear slope (kinds 1 and 2).
    """

    exp_index: np.ndarray
    exp: ExponentialCurve | None
    hill_index: np.ndarray
    hill: HillCurve | None
    lo: np.ndarray
    hi: np.ndarray
    kind: np.ndarray
    tangent: np.ndarray
    slope: np.ndarray
    top: float  # no cell's marginal return at its lower bound (or envelope slope) exceeds it

    @property
    def size(self) -> int:
        return self.lo.size

    def _each(self, method: str, s: np.ndarray) -> np.ndarray:
        out = np.zeros(self.size)
        for index, curve in ((self.exp_index, self.exp), (self.hill_index, self.hill)):
            if curve is not None:
                out[index] = getattr(curve, method)(s[index])
        return out

    def value(self, s: np.ndarray) -> np.ndarray:
        return self._each("value", s)

    def derivative(self, s: np.ndarray) -> np.ndarray:
        return self._each("derivative", s)

    def second_derivative(self, s: np.ndarray) -> np.ndarray:
        return self._each("second_derivative", s)

    def spend(self, theta: np.ndarray) -> np.ndarray:
        """Each cell's best spend when a dollar costs ``theta`` (on the envelope; at a kink of
        an S-shaped cell, its lower end)."""
        inv = np.zeros(self.size)
        if self.exp is not None:
            inv[self.exp_index] = self.exp.inverse_derivative(theta[self.exp_index])
        if self.hill is not None:
            # Cells whose envelope stays on its line at this price need no Newton steps.
            h_theta = theta[self.hill_index]
            on_line = (self.kind[self.hill_index] > 0) & (h_theta >= self.slope[self.hill_index])
            h_theta = np.where(on_line, np.inf, h_theta)
            inv[self.hill_index] = self.hill.inverse_derivative(h_theta)
        s = np.clip(inv, self.lo, self.hi)
        on = theta < self.slope
        s = np.where(self.kind == 1, np.where(on, np.clip(inv, self.tangent, self.hi), self.lo), s)
        return np.where(self.kind == 2, np.where(on, self.hi, self.lo), s)

    def restricted(self, lo: np.ndarray, hi: np.ndarray) -> Batch:
        return make_batch(self.exp_index, self.exp, self.hill_index, self.hill, lo, hi)


def make_batch(
    exp_index: np.ndarray,
    exp: ExponentialCurve | None,
    hill_index: np.ndarray,
    hill: HillCurve | None,
    lo: np.ndarray,
    hi: np.ndarray,
) -> Batch:
    """A :class:`Batch`, with the concave envelope of every S-shaped Hill cell on [lo, hi]."""
    n = lo.size
    kind = np.zeros(n, dtype=np.int8)
    tangent, slope = lo.copy(), np.full(n, -np.inf)
    if hill is not None and hill_index.size:
        h_lo, h_hi = lo[hill_index], hi[hill_index]
        s_shaped = (hill.inflection() > h_lo) & (h_hi > h_lo)
        if s_shaped.any():
            t = tangent_from(hill, h_lo)
            f_lo = hill.value(h_lo)
            chord = t >= h_hi
            end = np.where(chord, h_hi, t)
            with np.errstate(divide="ignore", invalid="ignore"):
                sl = (hill.value(end) - f_lo) / (end - h_lo)
            kind[hill_index] = np.where(s_shaped, np.where(chord, 2, 1), 0)
            tangent[hill_index] = np.where(s_shaped, np.minimum(t, h_hi), h_lo)
            slope[hill_index] = np.where(s_shaped, sl, -np.inf)
    batch = Batch(exp_index, exp, hill_index, hill, lo, hi, kind, tangent, slope, 0.0)
    object.__setattr__(batch, "top", _steepest(batch))
    return batch


@dataclass(frozen=True)
class DualSolution:
    spend: np.ndarray
    mu: np.ndarray
    iterations: int


def _steepest(batch: Batch) -> float:
    """The highest marginal return any cell can offer: at its lower bound, on its envelope's
    line, or at an S-shaped curve's inflection."""
    # A Hill curve with shape < 1 is infinitely steep at 0: look a micro-dollar further.
    at_lo = batch.derivative(batch.lo)
    at_lo = np.where(np.isfinite(at_lo), at_lo, batch.derivative(batch.lo + 1e-6))
    top = float(np.max(np.concatenate([at_lo, batch.slope, [1e-300]])))
    if batch.hill is not None and batch.hill_index.size:
        peak = batch.hill.derivative(batch.hill.inflection())
        top = max(top, float(np.max(np.where(np.isfinite(peak), peak, 0.0))))
    return top


def _solve_one(
    batch: Batch,
    c: float,
    mu: np.ndarray,
    A: np.ndarray,
    C: np.ndarray,
    g: int,
    xtol: float = 1e-15,
) -> tuple[float, np.ndarray]:
    """The multiplier of constraint ``g`` (others fixed) at which it is exactly met, or 0 if it
    is slack at 0. Jumps of S-shaped cells are bridged by spending part of the jump."""
    base = c + A.T @ mu - A[g] * mu[g]
    row = A[g]
    members = row > 0

    def usage(log_price: float) -> float:
        return float(row @ batch.spend(base + row * np.exp(log_price)))

    if usage(-745.0) <= C[g] * (1 + _TOL) + _TOL:
        return 0.0, batch.spend(base)
    # Above hi_u every member's marginal return at its lower bound is below its price.
    hi_u = np.log(batch.top) + 1.0 - np.log(np.min(row[members]))
    while usage(hi_u) > C[g] and hi_u < 700.0:
        hi_u += 2.0
    if usage(hi_u) > C[g]:  # a curve infinitely steep at 0 never quite lets go of its dollar
        return float(np.exp(hi_u)), batch.spend(base + row * np.exp(hi_u))
    lo_u = hi_u - 8.0
    while usage(lo_u) <= C[g]:  # usage at a price of ~0 (e^-745) is above C: checked above
        lo_u = max(lo_u - 8.0, -745.0)
    root = optimize.brentq(
        lambda u: usage(u) - C[g], lo_u, hi_u, xtol=xtol, rtol=1e-15, maxiter=400
    )
    price = np.exp(root)
    # Either side of the root by more than its tolerance (and than theta's rounding), so a
    # jump at the root shows.
    theta = base + row * price
    step = np.where(
        members, np.maximum(row * price * (100.0 * xtol + 1e-13), 4e-12 * np.abs(theta)), 0.0
    )
    above = batch.spend(theta + step)
    below = batch.spend(theta - step)
    s = above.copy()
    short = C[g] - row @ s
    jumps = np.flatnonzero(members & (below - above > 1e-9 * (1 + np.abs(below))))
    for j in jumps:  # fill the shortfall by spending into the jump(s)
        if short <= 0:
            break
        step = min(below[j] - above[j], short / row[j])
        s[j] += step
        short -= step * row[j]
    return price, s


def _kkt_ok(mu: np.ndarray, slack: np.ndarray, C: np.ndarray) -> bool:
    """Every cap met, and every priced cap met exactly (complementary slackness)."""
    tol = _TOL * np.maximum(np.abs(C), 1.0)
    return bool(np.all(np.where(mu > 0, np.abs(slack), np.maximum(-slack, 0.0)) <= tol))


def _sweep(
    batch: Batch, c: float, A: np.ndarray, C: np.ndarray, mu: np.ndarray, xtol: float
) -> tuple[np.ndarray, float]:
    """One round of exact coordinate minimisation of the dual, cap by cap.

    Returns the spends and the largest relative change of a multiplier."""
    s = batch.spend(c + A.T @ mu)
    moved = 0.0
    for g in range(A.shape[0]):
        price, s = _solve_one(batch, c, mu, A, C, g, xtol)
        moved = max(moved, abs(price - mu[g]) / (abs(price) + c + 1e-300))
        mu[g] = price
    return s, moved


def _dual(
    batch: Batch, c: float, A: np.ndarray, C: np.ndarray, mu: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    theta = c + A.T @ mu
    s = batch.spend(theta)
    return float(np.sum(batch.value(s) - theta * s) + mu @ C), C - A @ s, s


def _projected_newton(
    batch: Batch, c: float, A: np.ndarray, C: np.ndarray, mu: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Minimise the (smooth) dual over mu >= 0 from ``mu``; None if a step goes nowhere.

    Caps whose members all sit at bounds have no curvature: they stay where the sweeps put
    them, and the sweeps take over if the Newton steps stall.
    """
    value, grad, s = _dual(batch, c, A, C, mu)
    for it in range(1, _NEWTON_ITERATIONS + 1):
        if _kkt_ok(mu, grad, C):
            return mu, s, it
        interior = (s > batch.lo) & (s < batch.hi)
        with np.errstate(divide="ignore"):
            curvature = np.where(interior, -1.0 / batch.second_derivative(s), 0.0)
        diag = (A * A) @ curvature
        free = ((mu > 0) | (grad < 0)) & (diag > 1e-12 * max(float(diag.max()), 1e-300))
        if not free.any():
            return None
        Af = A[free]
        H = (Af * curvature) @ Af.T
        H += np.eye(H.shape[0]) * (1e-13 * float(np.trace(H)))
        try:
            step = -np.linalg.solve(H, grad[free])
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(step)):
            return None
        direction = np.zeros_like(mu)
        direction[free] = step
        alpha = 1.0
        for _ in range(40):
            trial = np.maximum(mu + alpha * direction, 0.0)
            t_value, t_grad, t_s = _dual(batch, c, A, C, trial)
            if t_value <= value + 1e-4 * (grad @ (trial - mu)) + 1e-14 * abs(value):
                break
            alpha /= 2
        else:
            return None
        mu, value, grad, s = trial, t_value, t_grad, t_s
    return None


def solve_dual(batch: Batch, c: float, A: np.ndarray, C: np.ndarray) -> DualSolution:
    """Multipliers and spends of ``max sum g(s) - c sum s`` s.t. ``A s <= C`` on [lo, hi].

    One cap that binds (the usual case: the budget) is solved by bisection on its
    multiplier. With several, rounds of exact cap-by-cap minimisation alternate with projected
    Newton steps on the smooth dual until the KKT conditions hold; an S-shaped envelope (not
    smooth) is left to the rounds, which only need to say which cells are worth switching on.
    """
    k = A.shape[0]
    mu = np.zeros(k)
    s = batch.spend(np.full(batch.size, c))
    if _kkt_ok(mu, C - A @ s, C):
        return DualSolution(s, mu, 0)
    smooth = not np.any(batch.kind > 0)
    rounds = _SWEEPS if smooth else _ENVELOPE_SWEEPS
    for round_ in range(1, rounds + 1):
        s, moved = _sweep(batch, c, A, C, mu, 1e-15 if smooth else 1e-10)
        if k == 1 or _kkt_ok(mu, C - A @ s, C) or (not smooth and moved < 1e-8):
            return DualSolution(s, mu, round_)
        if smooth:
            newton = _projected_newton(batch, c, A, C, mu.copy())
            if newton is not None:
                return DualSolution(newton[1], newton[0], round_ + newton[2])
    return DualSolution(s, mu, rounds)


def solve(batch: Batch, c: float, A: np.ndarray, C: np.ndarray) -> tuple[DualSolution, float]:
    """Solve exactly for concave cells; for S-shaped ones via the envelope (see module notes).

    Returns the solution and the gap bound: envelope optimum minus the achieved objective
    (0 when every cell is concave on its bounds).
    """

    def objective(s: np.ndarray) -> float:
        return float(np.sum(batch.value(s)) - c * np.sum(s))

    envelope = solve_dual(batch, c, A, C)
    if not np.any(batch.kind > 0):
        return envelope, 0.0
    # Weak duality: the dual function at any multipliers bounds the envelope's optimum, which
    # bounds the true one (at a price, each cell's best spend is on the curve itself).
    bound = _dual(batch, c, A, C, envelope.mu)[0]
    s = envelope.spend
    s_shaped = np.flatnonzero(batch.kind > 0)
    off = s_shaped[s[s_shaped] <= batch.lo[s_shaped] + 1e-9 * (1 + batch.lo[s_shaped])]
    on_edge = np.where(batch.kind == 2, batch.hi, batch.tangent)
    on = s_shaped[s[s_shaped] >= on_edge[s_shaped] * (1 - 1e-9)]
    undecided = np.setdiff1d(s_shaped, np.concatenate([off, on]))
    best: tuple[float, DualSolution] | None = None
    enumerated = undecided[:_MAX_ENUMERATED]
    # Switched-on cells that leave no room for the rest are switched off again, the cell
    # with the flattest envelope first, until the rules hold (all off always does).
    on = on[np.argsort(-batch.slope[on])]
    while best is None:
        for choice in itertools.product((False, True), repeat=enumerated.size):
            switched_on = np.concatenate([on, enumerated[list(choice)]]).astype(int)
            candidate = _settled(batch, c, A, C, switched_on, s_shaped)
            if candidate is None:
                continue
            value = objective(candidate.spend)
            if best is None or value > best[0]:
                best = (value, candidate)
        if best is None:
            if on.size == 0 and enumerated.size == 0:
                raise RuntimeError(
                    "no S-shaped cell left to switch off; the rules were checked feasible"
                )  # unreachable: lo is feasible
            on, enumerated = (on[:-1], enumerated) if on.size else (on, enumerated[:0])
    return best[1], max(bound - best[0], 0.0)


def _settled(
    batch: Batch, c: float, A: np.ndarray, C: np.ndarray, on: np.ndarray, s_shaped: np.ndarray
) -> DualSolution | None:
    """Re-solve with S-shaped cells either off (at lo) or on (on their concave branch)."""
    lo, hi = batch.lo.copy(), batch.hi.copy()
    off = np.setdiff1d(s_shaped, on)
    hi[off] = lo[off]
    if batch.hill is not None:
        infl = np.zeros(batch.size)
        infl[batch.hill_index] = batch.hill.inflection()
        lo[on] = np.minimum(np.maximum(lo[on], infl[on]), hi[on])
    if np.any(A @ lo > C * (1 + _TOL) + _TOL):
        return None
    return solve_dual(batch.restricted(lo, hi), c, A, C)
