"""The preamble every page shares: one call instead of the same lines at the top of each page.

:func:`open_page` routes the page through app.py (navigation, sidebar, sign-in), titles it,
opens the store, resolves who acts and reads what the store holds; given ``when_empty``, an
empty store stops the page there with that sentence and a link to the Data page.
"""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st
from sqlalchemy.engine import Engine

from planning.core import Actor
from planning.store import DataStatus
from ui import data
from ui.routing import run_through_app
from ui.session import current_actor


class Page(NamedTuple):
    """What a page works with: the store, who acts, and what the store holds."""

    engine: Engine
    actor: Actor
    status: DataStatus


def open_page(title: str, *, when_empty: str | None = None) -> Page:
    """Route through app.py, title the page and open the store (see the module docstring)."""
    run_through_app()
    st.title(title)
    engine = data.get_engine()
    actor = current_actor()
    status = data.load_status(engine)
    if when_empty is not None:
        data.require_data(status, when_empty)
    return Page(engine, actor, status)
