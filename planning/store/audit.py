"""The audit log: who wrote what, when, and the thing before and after.

Every write function records its entry with :func:`record` on the same connection as the
write, so the entry and the change commit together or not at all. The table is append-only:
triggers in the store refuse UPDATE and DELETE (migration 0009). Values are stored as JSON
text; large values (an import's rows) are summarised by the caller, never stored whole.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planning.core.access import Actor, require
from planning.store import schema

AUDIT_COLUMNS: Final = ("id", "at", "actor", "role", "action", "target", "before", "after")
_MAX_TARGET: Final = 512
_MAX_VALUE: Final = 200_000


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    target: str,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry on ``conn`` (inside the caller's write transaction)."""
    t = schema.AuditEntry.__table__
    assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause
    conn.execute(
        sa.insert(t).values(
            at=dt.datetime.now(dt.UTC),
            actor=actor.name,
            role=actor.role,
            action=action[:64],
            target=str(target)[:_MAX_TARGET],
            before=_json(before),
            after=_json(after),
        )
    )


def _json(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    if len(text) > _MAX_VALUE:
        text = json.dumps(
            {"summary": f"{len(text):,} characters, cut", "start": text[: _MAX_VALUE // 2]}
        )
    return text


def read_audit(
    engine: Engine,
    actor: Actor,
    *,
    limit: int | None = 1000,
    action: str | None = None,
    who: str | None = None,
    since: dt.datetime | None = None,
) -> pd.DataFrame:
    """Audit entries, newest first (admins only).

    Returns the columns ``id, at, actor, role, action, target, before, after``.
    """
    require(actor, "read_audit")
    t = schema.AuditEntry.__table__
    query = sa.select(*[t.c[c] for c in AUDIT_COLUMNS]).order_by(t.c.id.desc())
    if action:
        query = query.where(t.c.action == action)
    if who:
        query = query.where(t.c.actor == who)
    if since is not None:
        query = query.where(t.c.at >= since)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=list(AUDIT_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def audit_count(engine: Engine) -> int:
    """How many entries the log holds (what tests compare before and after a write)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(schema.AuditEntry.__table__)
            ).scalar_one()
        )
