"""SQL helpers that differ by dialect: the one home for them.

Every expression the store layer builds is portable SQLAlchemy Core except the calendar
truncations here, which SQLite and PostgreSQL spell differently. A new dialect (a warehouse
with a SQLAlchemy driver) adds its spelling here and nowhere else.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def month_start(engine: Engine, column: sa.ColumnElement) -> sa.ColumnElement:
    """SQL expression for the first day of the month of a date ``column``, per dialect.

    SQLite returns ISO text (``'2024-03-01'``), PostgreSQL a DATE; callers parse both with
    :func:`pandas.to_datetime`.
    """
    name = engine.dialect.name
    if name == "sqlite":
        return sa.func.strftime("%Y-%m-01", column)
    if name == "postgresql":
        # Truncate a timestamp without time zone so the session time zone cannot shift it.
        return sa.cast(sa.func.date_trunc("month", sa.cast(column, sa.DateTime)), sa.Date)
    raise ValueError(
        f"Monthly figures are not implemented for the {name!r} database; use SQLite or PostgreSQL."
    )


def week_start(engine: Engine, column: sa.ColumnElement) -> sa.ColumnElement:
    """SQL expression for the Monday on or before a date ``column``, per dialect."""
    name = engine.dialect.name
    if name == "sqlite":
        return sa.func.date(column, "-6 days", "weekday 1")
    if name == "postgresql":
        return sa.cast(sa.func.date_trunc("week", sa.cast(column, sa.DateTime)), sa.Date)
    raise ValueError(
        f"Weekly series are not implemented for the {name!r} database; use SQLite or PostgreSQL."
    )
