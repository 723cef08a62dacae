"""The segment lens picker every page shares: one list of lenses, one label for each.

A choice is a (lens, attribute) pair for planning.segments.lenses.assign_segments. The chosen lens
is
kept in ``st.session_state["segment_lens"]``, so moving between pages keeps the same cut.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

LENS_KEY: Final = "segment_lens"
CHOICES: Final[dict[str, tuple[str, str]]] = {
    "Value tier": ("value", "size"),
    "Lifecycle stage": ("lifecycle", "size"),
    "RFM group": ("rfm", "size"),
    "Size": ("attribute", "size"),
    "Region": ("attribute", "region"),
    "Industry": ("attribute", "industry"),
    "Channel": ("attribute", "channel"),
}
DEFAULT: Final = "Value tier"


def lens_picker(label: str = "Segment by") -> tuple[str, str, str]:
    """Draw the lens picker; returns (label, lens, attribute) of the choice."""
    if st.session_state.get(LENS_KEY) not in CHOICES:
        st.session_state[LENS_KEY] = DEFAULT
    choice = st.segmented_control(label, list(CHOICES), key=LENS_KEY, selection_mode="single")
    choice = choice or DEFAULT  # clicking the selected option again clears it
    lens, attribute = CHOICES[choice]
    return choice, lens, attribute
