"""Plan versions in the store: immutable, diffable, and readable as of any past moment.

Every recompute that changes the operating plan writes a new version (time, trigger, who, the
input fingerprint, per-node timings) with its lines (month x segment x metric) and alerts; a
recompute whose plan equals the latest version's writes nothing. Versions are never updated:
:func:`restore_version` writes a new version equal to an old one. :func:`version_as_of` gives
"the plan as we saw it then", :func:`diff_versions` what changed between two versions and the
triggers in between.

Planner settings (horizon, capacity, alert thresholds, budget) are named JSON values with a
version number; :func:`write_setting` refuses a save made from a stale version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planning.core import columns as C
from planning.core.access import Actor, Permission, require
from planning.store import audit, schema
from planning.store.writes import StaleWrite, write

Trigger = Literal["import", "assumption", "budget", "month close", "manual", "restore"]
TRIGGERS: Final = ("import", "assumption", "budget", "month close", "manual", "restore")
METRIC: Final = "metric"
VALUE: Final = C.VALUE
LINE_COLUMNS: Final = (C.MONTH, C.SEGMENT, METRIC, VALUE)
ALERT_COLUMNS: Final = (C.MONTH, C.SEGMENT, "kind", "severity", "message", "suggestion")


@dataclass(frozen=True)
class PlanContent:
    """What a version holds: its lines, its alerts and the months they span."""

    lines: pd.DataFrame  # month, segment, metric, value
    alerts: pd.DataFrame  # month, segment, kind, severity, message, suggestion
    last_closed_month: dt.date
    horizon_start: dt.date
    horizon_months: int

    @property
    def fingerprint(self) -> str:
        """A content hash of the lines and alerts (values rounded to the cent)."""
        return plan_fingerprint(self.lines, self.alerts)


@dataclass(frozen=True)
class VersionInfo:
    """One row of the version history."""

    id: int
    created_at: dt.datetime
    trigger: str
    actor: str
    reason: str
    input_fingerprint: str
    plan_fingerprint: str
    last_closed_month: dt.date
    horizon_start: dt.date
    horizon_months: int
    node_timings: dict[str, float]
    restored_from: int | None


class StaleInputs(RuntimeError):
    """The planner settings or budget cells changed after a plan was computed from them."""


class StaleSetting(StaleWrite):
    """A setting was saved from a version that someone else has changed since."""


def plan_fingerprint(lines: pd.DataFrame, alerts: pd.DataFrame) -> str:
    """A content hash of plan lines and alerts, independent of row order."""
    h = hashlib.sha256()
    ordered = lines.sort_values([C.MONTH, C.SEGMENT, METRIC]).reset_index(drop=True)
    h.update(
        pd.util.hash_pandas_object(ordered[[C.MONTH, C.SEGMENT, METRIC]].astype(str), index=False)
        .to_numpy()
        .tobytes()
    )
    h.update(np.round(ordered[VALUE].to_numpy(dtype=np.float64), 2).tobytes())
    if len(alerts):
        text = alerts[list(ALERT_COLUMNS)].astype(str).sort_values(list(ALERT_COLUMNS))
        h.update(pd.util.hash_pandas_object(text, index=False).to_numpy().tobytes())
    return h.hexdigest()[:32]


def write_version(
    engine: Engine,
    content: PlanContent,
    *,
    trigger: Trigger,
    actor: Actor,
    reason: str,
    input_fingerprint: str,
    timings: dict[str, float],
    restored_from: int | None = None,
    settings_token: str | None = None,
) -> int | None:
    """Store ``content`` as a new version; None (nothing written) if it equals the latest.

    Version writers queue on a table lock (PostgreSQL; SQLite's write lock does the same), so
    planners recomputing at once wait their turn instead of failing each other. With
    ``settings_token`` (:func:`settings_token` read before the settings the plan was computed
    from), a plan whose settings or budget cells changed since is not written, so the latest
    version never shows an older budget than the store holds.

    Raises
    ------
    PermissionDenied
        Unless ``actor`` may recompute (a restore: restore) the plan.
    ValueError
        For an unknown trigger or lines without the plan columns.
    StaleInputs
        If ``settings_token`` no longer matches the store (nothing is written).
    """
    require(actor, "restore_plan" if trigger == "restore" else "recompute_plan")
    if trigger not in TRIGGERS:
        raise ValueError(f"Unknown trigger {trigger!r}: use one of {', '.join(TRIGGERS)}.")
    missing = [c for c in LINE_COLUMNS if c not in content.lines]
    if missing:
        raise ValueError(f"Required column {missing[0]} missing from the plan lines.")
    printed = content.fingerprint
    versions = schema.PlanVersion.__table__
    assert isinstance(versions, sa.Table)  # declarative types __table__ as FromClause

    def work(conn: Connection) -> int | None:
        if conn.dialect.name == "postgresql":
            # Taken before the transaction's first query, so its snapshot follows the last
            # version written: SHARE ROW EXCLUSIVE conflicts with itself, not with readers.
            conn.exec_driver_sql("LOCK TABLE plan_versions IN SHARE ROW EXCLUSIVE MODE")
        if settings_token is not None and _settings_token(conn) != settings_token:
            raise StaleInputs(
                "The planner settings or budget cells changed while the plan was computed."
            )
        latest = conn.execute(
            sa.select(versions.c.id, versions.c.plan_fingerprint)
            .order_by(versions.c.id.desc())
            .limit(1)
        ).first()
        if latest is not None and latest[1] == printed and trigger != "restore":
            return None
        version_id = conn.execute(
            sa.insert(versions)
            .values(
                created_at=dt.datetime.now(dt.UTC),
                trigger=trigger,
                actor=actor.name,
                reason=reason[:1024],
                input_fingerprint=input_fingerprint,
                plan_fingerprint=printed,
                last_closed_month=content.last_closed_month,
                horizon_start=content.horizon_start,
                horizon_months=content.horizon_months,
                node_timings=json.dumps({k: round(v, 6) for k, v in timings.items()}),
                restored_from=restored_from,
            )
            .returning(versions.c.id)
        ).scalar_one()
        _insert_lines(conn, version_id, content.lines)
        _insert_alerts(conn, version_id, content.alerts)
        audit.record(
            conn,
            actor,
            "plan restore" if trigger == "restore" else "plan recompute",
            f"plan version {version_id}",
            before=None if latest is None else {"version": int(latest[0])},
            after={
                "version": int(version_id),
                "trigger": trigger,
                "reason": reason[:1024],
                "plan_fingerprint": printed,
                "restored_from": restored_from,
            },
        )
        return int(version_id)

    return write(engine, work)


def _insert_lines(conn: Connection, version_id: int, lines: pd.DataFrame) -> None:
    rows = [
        {
            "version_id": version_id,
            "month": pd.Timestamp(m).date(),
            "segment": str(s),
            "metric": str(k),
            "value": float(v),
        }
        for m, s, k, v in lines[list(LINE_COLUMNS)].itertuples(index=False)
    ]
    if rows:
        table = schema.PlanLine.__table__
        assert isinstance(table, sa.Table)  # declarative types __table__ as FromClause
        conn.execute(sa.insert(table), rows)


def _insert_alerts(conn: Connection, version_id: int, alerts: pd.DataFrame) -> None:
    rows = [
        {
            "version_id": version_id,
            "month": pd.Timestamp(a[0]).date(),
            "segment": str(a[1]),
            "kind": str(a[2])[:32],
            "severity": str(a[3])[:16],
            "message": str(a[4])[:1024],
            "suggestion": str(a[5])[:1024],
        }
        for a in alerts[list(ALERT_COLUMNS)].itertuples(index=False)
    ]
    if rows:
        table = schema.PlanAlert.__table__
        assert isinstance(table, sa.Table)  # declarative types __table__ as FromClause
        conn.execute(sa.insert(table), rows)


def list_versions(engine: Engine, limit: int | None = None) -> list[VersionInfo]:
    """Versions, newest first."""
    v = schema.PlanVersion.__table__
    query = sa.select(v).order_by(v.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [_info(row) for row in conn.execute(query).mappings()]


def latest_version(engine: Engine) -> VersionInfo | None:
    """The newest version, or None before the first recompute."""
    found = list_versions(engine, limit=1)
    return found[0] if found else None


def get_version(engine: Engine, version_id: int) -> VersionInfo:
    """One version; KeyError naming it if there is none."""
    v = schema.PlanVersion.__table__
    with engine.connect() as conn:
        row = conn.execute(sa.select(v).where(v.c.id == version_id)).mappings().first()
    if row is None:
        raise KeyError(f"There is no plan version {version_id}.")
    return _info(row)


def version_as_of(engine: Engine, moment: dt.datetime | dt.date) -> VersionInfo | None:
    """The plan as it stood at ``moment``: the newest version created on or before it.

    A date means the end of that day (UTC).
    """
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time.max, tzinfo=dt.UTC)
    v = schema.PlanVersion.__table__
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.select(v)
                .where(v.c.created_at <= moment)
                .order_by(v.c.created_at.desc(), v.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
    return None if row is None else _info(row)


def load_lines(engine: Engine, version_id: int) -> pd.DataFrame:
    """``month, segment, metric, value`` of a version, in month, segment, metric order."""
    t = schema.PlanLine.__table__
    query = (
        sa.select(t.c.month, t.c.segment, t.c.metric, t.c.value)
        .where(t.c.version_id == version_id)
        .order_by(t.c.month, t.c.segment, t.c.metric)
    )
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    frame[C.MONTH] = pd.to_datetime(frame[C.MONTH])
    return frame


def load_alerts(engine: Engine, version_id: int) -> pd.DataFrame:
    """The alerts a version raised."""
    t = schema.PlanAlert.__table__
    query = (
        sa.select(*[t.c[c] for c in ALERT_COLUMNS])
        .where(t.c.version_id == version_id)
        .order_by(t.c.month, t.c.segment, t.c.id)
    )
    with engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    frame[C.MONTH] = pd.to_datetime(frame[C.MONTH])
    return frame


def load_content(engine: Engine, version_id: int) -> PlanContent:
    """A version's content, as written."""
    info = get_version(engine, version_id)
    return PlanContent(
        load_lines(engine, version_id),
        load_alerts(engine, version_id),
        info.last_closed_month,
        info.horizon_start,
        info.horizon_months,
    )


def restore_version(engine: Engine, version_id: int, *, actor: Actor) -> int:
    """Write a new version whose content equals version ``version_id``'s; returns its id."""
    require(actor, "restore_plan")
    content = load_content(engine, version_id)
    info = get_version(engine, version_id)
    new = write_version(
        engine,
        content,
        trigger="restore",
        actor=actor,
        reason=f"restored version {version_id}",
        input_fingerprint=info.input_fingerprint,
        timings={},
        restored_from=version_id,
    )
    assert new is not None  # a restore always writes
    return new


def diff_versions(
    engine: Engine, old: int, new: int, *, tolerance: float = 0.005
) -> tuple[pd.DataFrame, list[VersionInfo]]:
    """What changed from version ``old`` to ``new``, and the versions that changed it.

    Returns
    -------
    tuple
        A frame ``month, segment, metric, old, new, change`` of the lines that differ by more
        than ``tolerance`` (rows only in one version have NaN on the other side), largest
        absolute change first; and the versions after ``old`` up to ``new``, oldest first,
        whose triggers and reasons say why.
    """
    keys = [C.MONTH, C.SEGMENT, METRIC]
    a = load_lines(engine, old).rename(columns={VALUE: "old"})
    b = load_lines(engine, new).rename(columns={VALUE: "new"})
    both = a.merge(b, on=keys, how="outer")
    both["change"] = both["new"].fillna(0.0) - both["old"].fillna(0.0)
    differs = (both["change"].abs() > tolerance) | both["old"].isna() | both["new"].isna()
    table = (
        both[differs]
        .assign(_size=lambda f: f["change"].abs())
        .sort_values(["_size", C.MONTH, C.SEGMENT, METRIC], ascending=[False, True, True, True])
        .drop(columns="_size")
        .reset_index(drop=True)
    )
    low, high = sorted((old, new))
    between = [v for v in list_versions(engine) if low < v.id <= high]
    return table, sorted(between, key=lambda v: v.id)


def read_setting(engine: Engine, name: str, default: Any = None) -> tuple[Any, int]:
    """A setting's value and version (0 and ``default`` when never saved)."""
    t = schema.PlannerSetting.__table__
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.c.value, t.c.version).where(t.c.name == name)).first()
    return (default, 0) if row is None else (json.loads(row[0]), int(row[1]))


def read_settings(engine: Engine) -> dict[str, Any]:
    """Every saved setting's value by name."""
    t = schema.PlannerSetting.__table__
    with engine.connect() as conn:
        return {n: json.loads(v) for n, v in conn.execute(sa.select(t.c.name, t.c.value))}


def write_setting(
    engine: Engine, name: str, value: Any, *, actor: Actor, expected_version: int
) -> int:
    """Save a setting made from ``expected_version``; returns the new version.

    The setting "budget" needs the edit-budget permission, every other one edit-assumptions.

    Raises
    ------
    PermissionDenied
        Unless ``actor`` may change the setting.
    StaleSetting
        If the stored version is no longer ``expected_version`` (someone saved in between);
        nothing is written.
    """
    require(actor, setting_permission(name))
    t = schema.PlannerSetting.__table__
    assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause
    text = json.dumps(value, sort_keys=True, default=str)

    def work(conn: Connection) -> int:
        row = conn.execute(
            sa.select(t.c.value, t.c.version, t.c.updated_by, t.c.updated_at).where(
                t.c.name == name
            )
        ).first()
        current = 0 if row is None else int(row[1])
        if current != expected_version:
            who = f"{row[2]} at {row[3]:%Y-%m-%d %H:%M}" if row is not None else "someone"
            raise StaleSetting(
                f"The setting {name!r} was changed by {who} (now version {current}) after you "
                f"loaded version {expected_version}: reload it and apply your change again."
            )
        now = dt.datetime.now(dt.UTC)
        values = dict(value=text, version=current + 1, updated_at=now, updated_by=actor.name)
        if row is None:
            conn.execute(sa.insert(t).values(name=name, **values))
        else:
            conn.execute(
                sa.update(t).where(t.c.name == name, t.c.version == current).values(**values)
            )
        audit.record(
            conn,
            actor,
            "setting",
            name,
            before=None if row is None else {"version": current, "value": json.loads(row[0])},
            after={"version": current + 1, "value": value},
        )
        return current + 1

    return write(engine, work)


def settings_token(engine: Engine) -> str:
    """A digest of every planner setting's and budget cell's version: it changes with every
    save of either, which is what :func:`write_version` checks a plan against."""
    with engine.connect() as conn:
        return _settings_token(conn)


def _settings_token(conn: Connection) -> str:
    s, c = schema.PlannerSetting.__table__, schema.BudgetCell.__table__
    h = hashlib.sha256()
    for name, version in conn.execute(sa.select(s.c.name, s.c.version).order_by(s.c.name)):
        h.update(f"s:{name}={version};".encode())
    for segment, program, version in conn.execute(
        sa.select(c.c.segment, c.c.program, c.c.version).order_by(c.c.segment, c.c.program)
    ):
        h.update(f"c:{segment}|{program}={version};".encode())
    return h.hexdigest()


def setting_permission(name: str) -> Permission:
    """What saving the setting ``name`` needs."""
    return "edit_budget" if name == "budget" else "edit_assumptions"


def _info(row: Any) -> VersionInfo:
    def day(value: Any) -> dt.date:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])

    created = row["created_at"]
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created)
    return VersionInfo(
        id=int(row["id"]),
        created_at=created,
        trigger=row["trigger"],
        actor=row["actor"],
        reason=row["reason"],
        input_fingerprint=row["input_fingerprint"],
        plan_fingerprint=row["plan_fingerprint"],
        last_closed_month=day(row["last_closed_month"]),
        horizon_start=day(row["horizon_start"]),
        horizon_months=int(row["horizon_months"]),
        node_timings=json.loads(row["node_timings"] or "{}"),
        restored_from=row["restored_from"],
    )
