"""Uncertainty: what an allocation may really earn, and how sure we are that one plan beats
another.

Two things are uncertain about a plan's profit: the response curves (their parameters are
estimates, with the covariance calibration reported, or a planner's stated doubt) and the
value of an outcome (a new customer's lifetime value is itself a model's estimate). Each
simulation draw takes every cell's curve parameters from the normal in log-parameter space and
one lognormal, mean-one factor per segment for the value of its outcomes (one customer-value
model error per segment, shared by its levers), then adds up contribution minus spend. The
draws are vectorised: one array of ``draws x cells`` per curve family.

Comparisons use common random numbers: a cell's normals are seeded by the cell itself
(segment and lever) and the segment's by the segment, so two scenarios that share a cell share
its luck, and the difference between them measures the decisions, not the dice.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from planning.allocation.response import _MAX_LOG_DEVIATION
from planning.allocation.solver import CONTRIBUTION, Allocation, AllocationProblem, Cell
from planning.core import columns as C
from planning.core.defaults import DRAWS

LEVELS: Final = (0.1, 0.5, 0.9)
P10, P50, P90 = "p10", "p50", "p90"
_VALUE_STREAM: Final = 0x5EED  # separates a segment's value normals from its cells'


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no truth value
class OutcomeDistribution:
    """Simulated net profit of one allocation.

    ``contribution`` is draws x cells (cell order of ``keys``), ``net_profit`` the draws of
    total contribution minus total spend.
    """

    keys: tuple[tuple[str, str], ...]
    spend: np.ndarray
    contribution: np.ndarray
    net_profit: np.ndarray
    seed: int

    @property
    def draws(self) -> int:
        return int(self.net_profit.size)

    def quantiles(self) -> dict[str, float]:
        """P10, P50 and P90 of net profit."""
        values = np.quantile(self.net_profit, LEVELS)
        return dict(zip((P10, P50, P90), (float(v) for v in values), strict=True))

    def cell_quantiles(self) -> pd.DataFrame:
        """``segment, program, p10, p50, p90`` of each cell's incremental contribution."""
        q = np.quantile(self.contribution, LEVELS, axis=0) if self.keys else np.zeros((3, 0))
        return pd.DataFrame(
            {
                C.SEGMENT: [k[0] for k in self.keys],
                C.PROGRAM: [k[1] for k in self.keys],
                P10: q[0],
                P50: q[1],
                P90: q[2],
            }
        )


@dataclass(frozen=True, eq=False)
class Comparison:
    """Scenario A against B over the same draws: the difference in net profit (A - B)."""

    difference: np.ndarray
    p_a_beats_b: float

    def quantiles(self) -> dict[str, float]:
        values = np.quantile(self.difference, LEVELS)
        return dict(zip((P10, P50, P90), (float(v) for v in values), strict=True))


def _stream(seed: int, *parts: str | int) -> np.random.Generator:
    """A generator fixed by the seed and the given names (stable across runs and processes)."""
    words = [int(seed) & 0xFFFFFFFF]
    words += [p if isinstance(p, int) else zlib.crc32(p.encode("utf-8")) for p in parts]
    return np.random.default_rng(words)


def simulate_allocation(
    problem: AllocationProblem,
    spend: Allocation | Mapping[tuple[str, str], float],
    *,
    draws: int = DRAWS,
    seed: int = 0,
) -> OutcomeDistribution:
    """Simulate the net profit of spending ``spend`` in ``problem``'s cells.

    Parameters
    ----------
    problem
        Cells with their response models (curve and log-parameter covariance) and values
        (``value_cv``: the coefficient of variation of one outcome's value).
    spend
        An :class:`Allocation` of this problem, or spend per (segment, lever); missing cells
        spend 0.
    draws
        Number of draws, 1 or more.
    seed
        Seed of the common random numbers (compare distributions made with the same seed).

    Returns
    -------
    OutcomeDistribution

    Raises
    ------
    ValueError
        If ``draws`` is below 1.
    """
    if draws < 1:
        raise ValueError(f"draws must be 1 or more, got {draws}.")
    if isinstance(spend, Allocation):
        spend = {
            (r[C.SEGMENT], r[C.PROGRAM]): float(r[C.SPEND])
            for r in spend.cells[[C.SEGMENT, C.PROGRAM, C.SPEND]].to_dict("records")
        }
    cells = problem.cells
    s = np.array([float(spend.get(c.key, 0.0)) for c in cells])
    outcome = np.zeros((draws, len(cells)))
    for family in ("exponential", "hill"):
        members = [i for i, c in enumerate(cells) if c.response.family == family]
        if members:
            outcome[:, members] = _family_outcomes(
                [cells[i] for i in members], s[members], draws, seed
            )
    contribution = outcome * _values(cells, draws, seed)
    return OutcomeDistribution(
        tuple(c.key for c in cells), s, contribution, contribution.sum(axis=1) - s.sum(), seed
    )


def _family_outcomes(cells: list[Cell], spend: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """draws x cells expected outcomes at ``spend`` for cells of one curve family."""
    k = len(cells[0].response.curve.PARAMS)
    z = np.stack([_stream(seed, *c.key).standard_normal((draws, k)) for c in cells], axis=1)
    cov = np.stack([c.response.log_covariance for c in cells])
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))[:, None, :]  # cells x k x k
    # deviation[d, c] = root[c] @ z[d, c], as one batched matrix product per cell.
    deviation = np.matmul(z.transpose(1, 0, 2), root.transpose(0, 2, 1)).transpose(1, 0, 2)
    largest = np.max(np.abs(deviation), axis=-1, keepdims=True)  # as in draw_curves
    deviation = deviation * np.minimum(1.0, _MAX_LOG_DEVIATION / np.maximum(largest, 1e-300))
    base = np.stack([c.response.curve.log_params() for c in cells])  # cells x k
    curve = cells[0].response.curve.with_log_params(base[None] + deviation)
    with np.errstate(over="ignore", invalid="ignore"):
        out = curve.value(spend[None, :])
    return np.nan_to_num(out, nan=0.0, posinf=0.0)


def _values(cells: tuple[Cell, ...], draws: int, seed: int) -> np.ndarray:
    """draws x cells value of one outcome: the cell's value times its segment's factor."""
    out = np.empty((draws, len(cells)))
    factors: dict[str, np.ndarray] = {}
    for i, cell in enumerate(cells):
        if cell.segment not in factors:
            factors[cell.segment] = _stream(seed, cell.segment, _VALUE_STREAM).standard_normal(
                draws
            )
        sigma = np.sqrt(np.log1p(cell.value_cv**2))
        out[:, i] = cell.value_per_unit * np.exp(sigma * factors[cell.segment] - sigma**2 / 2)
    return out


def compare_outcomes(a: OutcomeDistribution, b: OutcomeDistribution) -> Comparison:
    """The distribution of A's net profit minus B's, and the probability A beats B.

    Raises
    ------
    ValueError
        If the two were not simulated with the same seed and number of draws (their draws
        would not be paired).
    """
    if a.seed != b.seed or a.draws != b.draws:
        raise ValueError(
            "Compare distributions simulated with the same seed and number of "
            f"draws (got seeds {a.seed} and {b.seed}, draws {a.draws} and "
            f"{b.draws})."
        )
    difference = a.net_profit - b.net_profit
    return Comparison(difference, float(np.mean(difference > 0)))


def contribution_quantiles(
    distribution: OutcomeDistribution, allocation: Allocation
) -> pd.DataFrame:
    """The allocation's cells with P10/P50/P90 of each cell's contribution beside them."""
    return allocation.cells.merge(
        distribution.cell_quantiles(), on=[C.SEGMENT, C.PROGRAM], how="left", validate="one_to_one"
    ).rename(
        columns={
            P10: f"{CONTRIBUTION}_{P10}",
            P50: f"{CONTRIBUTION}_{P50}",
            P90: f"{CONTRIBUTION}_{P90}",
        }
    )
