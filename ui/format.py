"""How numbers read on screen: money with thousands separators, percentages, signed changes.

Pure functions of plain values, so tests and charts share one spelling of every number.
Missing values (None or NaN) read as an em dash.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd

MISSING = "—"
CURRENCY = "$"
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # ASCII punctuation, which Markdown may escape


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None) -> str:
    """Whole currency units with thousands separators: ``$1,234,567``, ``-$1,200``."""
    if value is None or _missing(value):
        return MISSING
    sign = "-" if round(value) < 0 else ""
    return f"{sign}{CURRENCY}{abs(value):,.0f}"


def money_short(value: float | None) -> str:
    """Money that fits a metric card: full below a million, then ``$7.16M``, ``$1.25B``."""
    if value is None or _missing(value) or abs(value) < 999_500:
        return money(value)
    sign = "-" if value < 0 else ""
    for scale, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(value) >= scale * 0.9995:
            return f"{sign}{CURRENCY}{abs(value) / scale:,.2f}{suffix}"
    return money(value)


def count(value: float | None) -> str:
    """An integer with thousands separators: ``12,345`` (never ``-0``)."""
    if value is None or _missing(value):
        return MISSING
    return f"{_unsigned_zero(value, 0):,.0f}"


def percent(value: float | None, digits: int = 1) -> str:
    """A value already in percent: ``31.2%`` (never ``-0.0%``)."""
    if value is None or _missing(value):
        return MISSING
    return f"{_unsigned_zero(value, digits):,.{digits}f}%"


def _unsigned_zero(value: float, digits: int) -> float:
    """0.0 for a value that shows as zero at ``digits`` decimals: no "-0" on screen."""
    return 0.0 if round(value, digits) == 0 else value


def _signed(value: float, digits: int, suffix: str) -> str:
    if round(value, digits) == 0:
        return f"{0:.{digits}f}{suffix}"  # no "+0": an unchanged number has no direction
    return f"{value:+,.{digits}f}{suffix}"


def signed_percent(value: float | None, digits: int = 1) -> str | None:
    """A relative change for a metric delta: ``+12.3%``; None when unknown."""
    return None if value is None or _missing(value) else _signed(value, digits, "%")


def signed_points(value: float | None, digits: int = 1) -> str | None:
    """A change of a percentage, in percentage points: ``+1.2 pts``; None when unknown."""
    return None if value is None or _missing(value) else _signed(value, digits, " pts")


def signed_count(value: float | None) -> str | None:
    """A change of a count: ``+35``, ``-4``, ``0``; None when unknown."""
    return None if value is None or _missing(value) else _signed(value, 0, "")


def is_flat(delta: str | None) -> bool:
    """Whether a delta made by the functions above says "no change"."""
    return delta is not None and not delta.startswith(("+", "-"))


def month_name(value: dt.date | pd.Timestamp | None) -> str:
    """``Nov 2024``."""
    return MISSING if value is None else f"{value:%b %Y}"


def day(value: dt.date | dt.datetime | None) -> str:
    """``12 Nov 2024``."""
    return MISSING if value is None else f"{value.day} {value:%b %Y}"


def moment(value: dt.datetime | None) -> str:
    """``12 Nov 2024 14:05 UTC`` (naive times are shown as stored)."""
    if value is None:
        return MISSING
    zone = " UTC" if value.tzinfo is not None and value.utcoffset() == dt.timedelta(0) else ""
    return f"{day(value)} {value:%H:%M}{zone}"


def activity_name(activity: str) -> str:
    """An activity type as a person reads it: ``sales_visit`` -> ``Sales visit``."""
    text = str(activity).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def plain(text: object) -> str:
    """``text`` (a file, customer or scenario name a user typed) shown literally in Markdown.

    st.markdown, st.caption and the alerts render Markdown, so a name such as
    ``![x](https://tracker/)`` would load an image and ``[click](...)`` make a link; every ASCII
    punctuation character is backslash-escaped (CommonMark allows it for all of them, which also
    stops Streamlit's ``:color[...]`` and ``$...$`` syntax), and line breaks become spaces.
    """
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(text).splitlines()))
