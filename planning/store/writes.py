"""Write transactions that neither lose an update nor show "database is locked" to anyone.

Every write goes through :func:`write`: one transaction, retried a bounded number of times
when the database says it could not serialise it. On PostgreSQL a write runs at SERIALIZABLE,
so two planners saving the same thing at once cannot both win; the loser's transaction fails
with a serialization failure (SQLSTATE 40001, or a deadlock, 40P01) and runs again, where the
version check sees the winner's save and refuses with a message naming who saved. On SQLite a
write takes the write lock up front (``BEGIN IMMEDIATE``), so it waits its turn (the store's
busy timeout) instead of failing half-way when another writer got there first.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")
ATTEMPTS: Final = 8
_PG_RETRY: Final = frozenset({"40001", "40P01"})


class StoreBusy(RuntimeError):
    """The store stayed too busy to take a write after every retry; nothing was written."""


class StaleWrite(RuntimeError):
    """The thing being saved changed since it was read; nothing was written."""


def write(engine: Engine, work: Callable[[Connection], T], *, attempts: int = ATTEMPTS) -> T:
    """Run ``work(conn)`` in one write transaction and commit; retry transient failures.

    ``work`` must do only store work (it may run more than once) and raise to roll back.

    Raises
    ------
    StoreBusy
        If every attempt met a serialization failure or a lock timeout.
    """
    for attempt in range(1, attempts + 1):
        try:
            with engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn = conn.execution_options(isolation_level="SERIALIZABLE")
                with conn.begin():
                    if conn.dialect.name == "sqlite":
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    return work(conn)
        except sa.exc.DBAPIError as exc:
            if not is_transient(exc):
                raise
            if attempt == attempts:
                raise StoreBusy(
                    f"The store was too busy to save after {attempts} attempts; "
                    "nothing was written. Try again in a moment."
                ) from exc
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
    raise AssertionError("unreachable")


def is_transient(exc: sa.exc.DBAPIError) -> bool:
    """Whether running the transaction again may succeed (serialization, deadlock, lock)."""
    code = getattr(exc.orig, "sqlstate", None)
    if code in _PG_RETRY:
        return True
    text = str(exc.orig).lower()
    return isinstance(exc, sa.exc.OperationalError) and (
        "database is locked" in text or "database is busy" in text
    )
