"""The store as the pages see it: one cached engine, and loaders cached on a data fingerprint.

The engine is a ``st.cache_resource`` per database URL (so a test pointing
CONTINUUM_DATABASE_URL elsewhere gets its own). Loaders are ``st.cache_data`` keyed on the URL,
a fingerprint of the import batches and their own arguments: every write to the store is an
import batch, so a new batch (or an undone one) changes the fingerprint and the next run reads
fresh numbers, while reruns in between (a widget click) reuse the cached frames.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from planning import ingest, store
from planning.store import DataStatus, data_status, default_url, import_fingerprint, open_store
from ui.session import may

CACHE_TTL = "10m"  # a backstop: the fingerprint already catches every import
CACHE_ENTRIES = 64

Fingerprint = tuple[int, int | None, str | None]


@st.cache_resource(show_spinner="Opening the store…", on_release=lambda e: e.dispose())
def _open_engine(url: str) -> Engine:
    return open_store(url)


def get_engine() -> Engine:
    """The engine for CONTINUUM_DATABASE_URL (or the embedded SQLite file), opened once."""
    return _open_engine(default_url())


def fingerprint(engine: Engine) -> Fingerprint:
    """:func:`planning.store.engine.import_fingerprint`: one query over the batches per rerun;
    everything else waits on it."""
    return import_fingerprint(engine)


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _status(_engine: Engine, url: str, print_: Fingerprint) -> DataStatus:
    return data_status(_engine)


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner="Adding up the months…")
def _monthly_kpis(
    _engine: Engine, url: str, print_: Fingerprint, as_of: dt.date | None
) -> pd.DataFrame:
    return store.monthly_kpis(_engine, as_of)


@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def _import_history(_engine: Engine, url: str, print_: Fingerprint) -> pd.DataFrame:
    return ingest.import_history(_engine)


def _key(engine: Engine) -> tuple[str, Fingerprint]:
    return engine.url.render_as_string(hide_password=True), fingerprint(engine)


def load_status(engine: Engine) -> DataStatus:
    """Row counts, date span and latest import (see :func:`planning.store.engine.data_status`)."""
    return _status(engine, *_key(engine))


def load_monthly_kpis(engine: Engine, as_of: dt.date | None) -> pd.DataFrame:
    """:func:`planning.store.kpis.monthly_kpis`, cached until the next import."""
    return _monthly_kpis(engine, *_key(engine), as_of)


def load_headline(engine: Engine, as_of: dt.date) -> store.Headline:
    """:func:`planning.store.kpis.headline`, from the cached monthly KPIs."""
    return store.headline_from_kpis(load_monthly_kpis(engine, as_of), as_of)


def load_import_history(engine: Engine) -> pd.DataFrame:
    """:func:`planning.ingest.importing.import_history`, cached until the next import."""
    return _import_history(engine, *_key(engine))


def require_data(status: DataStatus, message: str) -> None:
    """On an empty store, say ``message``, point to the Data page and stop the page."""
    if not status.is_empty:
        return
    st.info(message, icon=":material/info:")
    if may("import_data"):
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload_file:")
    else:
        st.caption("An admin imports the company's data.")
    st.stop()
