"""Fitting many series: in parallel across cores, and cached by a fingerprint of each series.

The model fits for different series are independent, so :func:`fit_series` hands each series'
backtest-select-refit (:func:`planning.forecast.backtest.select_and_forecast`) to a pool of worker
processes, one per core. Each worker limits BLAS to one thread: statsmodels' small matrix
operations gain nothing from more, and on a busy machine OpenBLAS threads that spin-wait for a
core make a fit an order of magnitude slower.

A :class:`FitCache` keeps the outcome of each series under a fingerprint of its name, periods,
values and the backtest configuration. The shell (a page, the CLI, the continuous planner)
owns the cache and passes it in, so when new data changes one segment only that segment's
fingerprint changes and only it is refitted; :class:`FitRun` says which series were refitted
and how many model fits that took.

Series that share a calendar with a reference (segments with their company total) also get
the pooled-seasonal candidates (:mod:`planning.forecast.pooled_seasonal`) after their own
candidates,
in the same workers: they depend on the reference, so they are re-estimated whenever the
reference changes (new data in one segment changes the total) — a moving average and
non-seasonal smoothing of a short series, milliseconds each — while the series' own, costly
candidates come from the cache unless the series itself changed. ``pooled_fits`` counts those
cheap fits apart from ``model_fits``.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from planning.forecast.backtest import (
    BacktestConfig,
    SeriesOutcome,
    add_candidates,
    select_and_forecast,
)
from planning.forecast.base import datetime_index
from planning.forecast.pooled_seasonal import POOLED_MODELS, make_pooled

DEFAULT_CACHE_ENTRIES: Final = 512


@dataclass(frozen=True)
class FitRun:
    """The outcome of every series, which series were refitted (not from the cache), the
    model fits that took, and the wall-clock seconds; ``pooled_fits`` and ``pooled_seconds``
    are the pooled-seasonal candidate's share (every series with a reference, each run)."""

    outcomes: dict[str, SeriesOutcome]
    refitted: tuple[str, ...]
    model_fits: int
    seconds: float
    pooled_fits: int = 0
    pooled_seconds: float = 0.0


class FitCache:
    """Outcomes by series fingerprint, least recently used dropped beyond ``max_entries``.

    Thread-safe: Streamlit serves several sessions from one process.
    """

    def __init__(self, max_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be 1 or more, got {max_entries}.")
        self.max_entries = max_entries
        self._items: OrderedDict[str, SeriesOutcome] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.model_fits = 0

    def get(self, key: str) -> SeriesOutcome | None:
        with self._lock:
            outcome = self._items.get(key)
            if outcome is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return outcome

    def put(self, key: str, outcome: SeriesOutcome) -> None:
        with self._lock:
            self._items[key] = outcome
            self._items.move_to_end(key)
            self.model_fits += outcome.model_fits
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def series_fingerprint(y: pd.Series, config: BacktestConfig) -> str:
    """SHA-256 of the series name, frequency, periods, values and the configuration."""
    digest = hashlib.sha256()
    digest.update(
        repr(
            (
                str(y.name),
                datetime_index(y).freqstr,
                str(y.index[0]) if len(y) else "",
                len(y),
                config,
            )
        ).encode()
    )
    digest.update(np.ascontiguousarray(y.to_numpy(dtype=np.float64)).tobytes())
    return digest.hexdigest()


def _fit_one(y: pd.Series, config: BacktestConfig) -> SeriesOutcome:
    with threadpool_limits(limits=1, user_api="blas"):
        return select_and_forecast(y, config)


def _pool_batch(
    batch: list[tuple[SeriesOutcome, pd.Series]], reference: pd.Series, config: BacktestConfig
) -> list[SeriesOutcome]:
    """Add the pooled candidates to each outcome; one batch shares the reference's indices."""
    profiles: dict = {}
    done: list[SeriesOutcome] = []
    with threadpool_limits(limits=1, user_api="blas"):
        for outcome, y in batch:
            done.append(
                add_candidates(
                    outcome,
                    y,
                    [
                        functools.partial(make_pooled, name, reference, profiles=profiles)
                        for name in POOLED_MODELS
                    ],
                    config,
                )
            )
    return done


def default_workers() -> int:
    """One worker process per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def fit_series(
    series: Mapping[str, pd.Series],
    config: BacktestConfig,
    *,
    cache: FitCache | None = None,
    workers: int | None = None,
    references: Mapping[str, pd.Series] | None = None,
) -> FitRun:
    """Backtest, choose and forecast every series, in parallel, reusing cached outcomes.

    Parameters
    ----------
    series
        ``{name: series}`` as from :func:`planning.forecast.series.to_series`.
    config
        The backtest configuration (part of every fingerprint).
    cache
        Outcomes kept from earlier runs; updated with the series fitted now.
    workers
        Worker processes (default: one per core); 1 fits in this process.
    references
        ``{name: reference}``: series that also get the pooled-seasonal candidates, with the
        seasonal indices of their reference (the company total of a segment).

    Returns
    -------
    FitRun
    """
    started = time.perf_counter()
    keys = {name: series_fingerprint(y, config) for name, y in series.items()}
    outcomes: dict[str, SeriesOutcome] = {}
    todo: list[str] = []
    for name, key in keys.items():
        cached = cache.get(key) if cache is not None else None
        if cached is None:
            todo.append(name)
        else:
            outcomes[name] = cached
    workers = workers or default_workers()
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    )
    pool = (
        ProcessPoolExecutor(max_workers=min(workers, len(series)), mp_context=context)
        if workers > 1 and (len(todo) > 1 or references)
        else None
    )
    try:
        if pool is not None and len(todo) > 1:
            futures = {name: pool.submit(_fit_one, series[name], config) for name in todo}
            fitted = {name: future.result() for name, future in futures.items()}
        else:
            fitted = {name: _fit_one(series[name], config) for name in todo}
        for name, outcome in fitted.items():
            outcomes[name] = outcome
            if cache is not None:
                cache.put(keys[name], outcome)
        pooled_started = time.perf_counter()
        pooled = _add_pooled(outcomes, series, references or {}, config, pool, workers)
    finally:
        if pool is not None:
            pool.shutdown()
    pooled_fits = sum(pooled[name].added_fits - outcomes[name].added_fits for name in pooled)
    outcomes |= pooled
    return FitRun(
        outcomes={name: outcomes[name] for name in series},
        refitted=tuple(todo),
        model_fits=sum(o.model_fits for o in fitted.values()),
        seconds=time.perf_counter() - started,
        pooled_fits=pooled_fits,
        pooled_seconds=time.perf_counter() - pooled_started,
    )


def _add_pooled(
    outcomes: dict[str, SeriesOutcome],
    series: Mapping[str, pd.Series],
    references: Mapping[str, pd.Series],
    config: BacktestConfig,
    pool: ProcessPoolExecutor | None,
    workers: int,
) -> dict[str, SeriesOutcome]:
    """Each referenced series' outcome with the pooled candidates added, in ``workers`` batches
    per reference (the batches share nothing but the reference)."""
    by_reference: dict[int, list[str]] = {}
    for name, reference in references.items():
        if name in outcomes:
            by_reference.setdefault(id(reference), []).append(name)
    jobs: list[tuple[list[str], Future[list[SeriesOutcome]] | list[SeriesOutcome]]] = []
    for names in by_reference.values():
        reference = references[names[0]]
        parts = [names[i::workers] for i in range(min(workers, len(names)))]
        for part in parts:
            batch = [(outcomes[n], series[n]) for n in part]
            jobs.append(
                (
                    part,
                    pool.submit(_pool_batch, batch, reference, config)
                    if pool is not None
                    else _pool_batch(batch, reference, config),
                )
            )
    done: dict[str, SeriesOutcome] = {}
    for part, result in jobs:
        batch_done = result.result() if isinstance(result, Future) else result
        done |= dict(zip(part, batch_done, strict=True))
    return done
