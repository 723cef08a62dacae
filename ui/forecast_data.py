"""The Forecast page's data: forecasts, the account-level roll-up and the track record, cached.

Forecasts are ``st.cache_data`` keyed on the store URL and fingerprint (see ui.data), the lens,
metric, frequency, horizon and as-of date, so a widget click reruns the page without refitting.
Beneath that, one :class:`planning.forecast.fitting.FitCache` per server (``st.cache_resource``)
keeps
every series' fitted outcome by its fingerprint: after an import only the series whose numbers
changed are refitted. Accepting a forecast is not an import, so the track record is also keyed
on the newest accepted forecast.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import forecast as fc
from planning.core import ATTRIBUTE_LENSES, Actor, AttributeLens, Freq, Lens, Metric
from planning.forecast import (
    AccountRollup,
    FitCache,
    ForecastResult,
    account_rollup,
    build_series,
    forecast_segments,
)
from ui import value_data
from ui.data import CACHE_ENTRIES, CACHE_TTL, Fingerprint, _key

KEY_PREFIX: Final = "forecast_"


@st.cache_resource(show_spinner=False)
def fit_cache() -> FitCache:
    """The server's cache of fitted series (shared by every session)."""
    return FitCache()


def segment_lens(lens: str, attribute: str) -> str:
    """The planning lens name of a lens-picker choice: the attribute itself for attributes."""
    return attribute if lens == "attribute" else lens


def load_assignment(
    engine: Engine, lens: Lens, attribute: AttributeLens, as_of: dt.date
) -> pd.DataFrame | None:
    """None for attribute lenses (joined in SQL); the customers' segments otherwise.

    Raises ValueError as planning.segments.lenses does (e.g. too little history for P(alive)).
    """
    if lens == "attribute":
        return None
    scored = (
        value_data.load_scores(engine, as_of, value_data.current_settings())
        if (lens == "lifecycle")
        else None
    )
    return value_data.load_assignment(engine, lens, attribute, as_of, scored)


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _forecast(
    _engine: Engine,
    url: str,
    print_: Fingerprint,
    lens: str | None,
    metric: Metric,
    freq: Freq,
    horizon: int,
    as_of: dt.date,
    _assignment: pd.DataFrame | None,
    assignment_key: tuple,
) -> ForecastResult:
    return forecast_segments(
        _engine,
        lens=lens,
        metric=metric,
        freq=freq,
        horizon=horizon,
        as_of=as_of,
        assignment=_assignment,
        cache=fit_cache(),
    )


def load_forecast(
    engine: Engine,
    *,
    lens: str | None,
    metric: Metric,
    freq: Freq,
    horizon: int,
    as_of: dt.date,
    assignment: pd.DataFrame | None,
) -> ForecastResult:
    """:func:`planning.forecast.by_segment.forecast_segments`, cached until the next import."""
    key = (
        ()
        if assignment is None
        else (len(assignment), pd.util.hash_pandas_object(assignment, index=False).sum())
    )
    return _forecast(engine, *_key(engine), lens, metric, freq, horizon, as_of, assignment, key)


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _actuals(
    _engine: Engine,
    url: str,
    print_: Fingerprint,
    lens: str | None,
    metric: Metric,
    freq: Freq,
    as_of: dt.date,
    _assignment: pd.DataFrame | None,
    assignment_key: tuple,
) -> pd.DataFrame:
    return build_series(
        _engine, metric=metric, freq=freq, as_of=as_of, lens=lens, assignment=_assignment
    )


def load_actuals(engine: Engine, result: ForecastResult, as_of: dt.date) -> pd.DataFrame:
    """The same series as ``result`` but as of ``as_of`` (what happened after it was made)."""
    assignment = result.assignment
    key = (
        ()
        if assignment is None
        else (len(assignment), pd.util.hash_pandas_object(assignment, index=False).sum())
    )
    return _actuals(
        engine, *_key(engine), result.lens, result.metric, result.freq, as_of, assignment, key
    )


@st.cache_data(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _rollup(
    _engine: Engine,
    url: str,
    print_: Fingerprint,
    lens: str | None,
    horizon: int,
    freq: Freq,
    as_of: dt.date,
    _assignment: pd.DataFrame | None,
    _forecast: ForecastResult,
    forecast_key: tuple,
) -> AccountRollup:
    return account_rollup(
        _engine,
        as_of=as_of,
        horizon=horizon,
        freq=freq,
        lens=lens,
        assignment=_assignment,
        forecast=_forecast,
    )


def load_account_rollup(engine: Engine, result: ForecastResult) -> AccountRollup:
    """:func:`planning.forecast.by_account.account_rollup` beside ``result``, cached.

    Raises ValueError when the customer-value model cannot be fitted.
    """
    key = (
        result.lens,
        result.metric,
        result.freq,
        result.horizon,
        result.as_of,
        () if result.assignment is None else len(result.assignment),
    )
    lens = result.lens if result.lens in ATTRIBUTE_LENSES or result.assignment is not None else None
    return _rollup(
        engine,
        *_key(engine),
        lens,
        result.horizon,
        result.freq,
        result.as_of,
        result.assignment,
        result,
        key,
    )


def accepted_version(engine: Engine) -> tuple[int, int | None]:
    """:func:`planning.forecast.accountability.accepted_version`."""
    return fc.accepted_version(engine)


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _track_record(
    _engine: Engine, url: str, print_: Fingerprint, version: tuple, as_of: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        fc.accepted_forecasts(_engine),
        fc.compare_to_actuals(_engine, as_of=as_of),
    )


def load_track_record(engine: Engine, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accepted forecasts, every accepted line beside its actual as of ``as_of``)."""
    return _track_record(engine, *_key(engine), accepted_version(engine), as_of)


def accept(engine: Engine, result: ForecastResult, actor: Actor, note: str) -> int:
    """Store ``result`` as accepted (see
    :func:`planning.forecast.accountability.accept_forecast`)."""
    return fc.accept_forecast(engine, result, actor=actor, note=note)


def as_of_choices(first: dt.date | None, latest: dt.date | None) -> list[dt.date]:
    """Dates a forecast can be made as of: every month end from a year after the data starts
    (a season of history) up to ``latest``, and ``latest`` itself."""
    if first is None or latest is None:
        return []
    start = (pd.Timestamp(first) + pd.DateOffset(months=12)).to_period("M").to_timestamp("M")
    ends = [d.date() for d in pd.date_range(start, pd.Timestamp(latest), freq="ME")]
    return [*[d for d in ends if d < latest], latest]
