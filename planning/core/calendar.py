"""Calendar rules shared by every layer: which months count as closed."""

from __future__ import annotations

import datetime as dt


def last_full_month(as_of: dt.date) -> dt.date:
    """First day of the last calendar month that has ended on or before ``as_of``."""
    if (as_of + dt.timedelta(days=1)).month != as_of.month:
        return as_of.replace(day=1)
    return (as_of.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
