"""What version of an editable thing the person at the screen actually saw.

A Streamlit form is submitted by a rerun that reads the store again: if another planner saved
in between, that rerun already holds *their* version, and saving with it would silently write
over their change. So every editor asks :func:`seen_versions` on each render: it returns the
versions shown by the previous render (the one the person edited) and remembers the current
ones for the next. A save sends the seen versions, and a change made by someone else in
between is refused with who made it.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st


def seen_versions(key: str, current: Mapping[str, int]) -> dict[str, int]:
    """Per item, the version shown at the previous render (``current`` for new items)."""
    state_key = f"seen_versions_{key}"
    previous = st.session_state.get(state_key) or {}
    st.session_state[state_key] = dict(current)
    return {name: previous.get(name, version) for name, version in current.items()}


def seen_version(key: str, current: int) -> int:
    """:func:`seen_versions` for one item."""
    return seen_versions(key, {"": current})[""]


def forget(key: str) -> None:
    """Drop what was seen (after a save, so the next render starts from the store)."""
    st.session_state.pop(f"seen_versions_{key}", None)
