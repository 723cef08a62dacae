"""Customer value as the pages see it: scores, segment values and customer views, cached.

Scoring fits the value models on the whole store, so it is cached per store fingerprint, as-of
date and settings (see ui.data); a widget click reruns the page without refitting. Settings
travel as plain values so the cache key is stable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import segments, value
from planning.core import AttributeLens, Lens, TimeUnit
from planning.core import columns as C
from ui.data import CACHE_ENTRIES, CACHE_TTL, Fingerprint, _key

SETTINGS_KEY = "value_settings"


def current_settings() -> value.ValueSettings:
    """The value settings chosen on the Customer value page (defaults until changed)."""
    return st.session_state.get(SETTINGS_KEY) or value.ValueSettings()


@st.cache_data(ttl=CACHE_TTL, max_entries=16, show_spinner=False)
def _scores(
    _engine: Engine,
    url: str,
    print_: Fingerprint,
    as_of: dt.date,
    horizon: int,
    unit: TimeUnit,
    rate: float,
    quantile: float,
) -> value.CustomerValue:
    settings = value.ValueSettings(
        horizon=horizon, time_unit=unit, annual_discount_rate=rate, wallet_quantile=quantile
    )
    return value.score_customers(_engine, as_of, settings=settings)


def load_scores(
    engine: Engine, as_of: dt.date, settings: value.ValueSettings
) -> value.CustomerValue:
    """:func:`planning.value.scoring.score_customers`, cached until the next import.

    Raises ValueError (from the engine) when the store cannot support the models yet.
    """
    return _scores(
        engine,
        *_key(engine),
        as_of,
        settings.horizon,
        settings.time_unit,
        settings.annual_discount_rate,
        settings.wallet_quantile,
    )


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _assignment(
    _engine: Engine,
    url: str,
    print_: Fingerprint,
    lens: Lens,
    attribute: AttributeLens,
    as_of: dt.date,
    _p_alive: pd.Series | None,
    p_alive_key: tuple,
) -> pd.DataFrame:
    return segments.assign_segments(_engine, lens, as_of, attribute=attribute, p_alive=_p_alive)


def load_assignment(
    engine: Engine,
    lens: Lens,
    attribute: AttributeLens,
    as_of: dt.date,
    scored: value.CustomerValue | None = None,
) -> pd.DataFrame:
    """:func:`planning.segments.lenses.assign_segments`; the lifecycle lens uses ``scored``'s
    P(alive)."""
    p_alive, key = None, ()
    if lens == "lifecycle" and scored is not None:
        p_alive = scored.scores.set_index(C.CUSTOMER_ID)[value.P_ALIVE]
        key = (scored.as_of, *dataclasses.astuple(scored.settings))
    return _assignment(engine, *_key(engine), lens, attribute, as_of, p_alive, key)


@st.cache_data(ttl=CACHE_TTL, max_entries=32, show_spinner=False)
def _view(
    _engine: Engine,
    url: str,
    print_: Fingerprint,
    customer_id: str,
    as_of: dt.date,
    _scored: value.CustomerValue | None,
    scored_key: tuple,
) -> segments.CustomerView:
    return segments.view_customer(_engine, customer_id, as_of, scored=_scored)


def load_customer_view(
    engine: Engine, customer_id: str, as_of: dt.date, scored: value.CustomerValue | None
) -> segments.CustomerView:
    """:func:`planning.segments.customer_view.view_customer`, cached per customer."""
    key = () if scored is None else (scored.as_of, *dataclasses.astuple(scored.settings))
    return _view(engine, *_key(engine), customer_id, as_of, scored, key)
