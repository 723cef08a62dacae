"""Column formats for st.dataframe, so every table spells numbers the same way.

Money reads ``$3,899,564`` (whole currency units with thousands separators), counts
``12,345``, shares ``97%``.
"""

from __future__ import annotations

from typing import Final

import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

MONEY_FORMAT: Final = "$%,.0f"


def money_column(label: str, help: str | None = None) -> ColumnConfig:
    """Whole currency units with thousands separators."""
    return st.column_config.NumberColumn(label, help=help, format=MONEY_FORMAT)


def count_column(label: str, help: str | None = None) -> ColumnConfig:
    """A count with thousands separators, whole (planned counts are fractional)."""
    return st.column_config.NumberColumn(label, help=help, format="%,.0f")


def share_column(label: str, help: str | None = None) -> ColumnConfig:
    """A share (0..1) shown as a percentage."""
    return st.column_config.NumberColumn(label, help=help, format="percent")
