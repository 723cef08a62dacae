"""Budget cells: a planner's monthly spend for one segment x program, versioned per save.

A cell with a spend holds the operating plan's allocation for that segment and program at that
amount each month (the optimiser moves the rest of the budget around it); clearing it gives
the cell back to the optimiser. Two planners can edit different cells at once without meeting;
two saves of the same cell from the same version cannot both land: the second is refused with
who changed it, to what, and when, and nothing is overwritten.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planning.core import columns as C
from planning.core.access import Actor, require
from planning.store import audit, schema
from planning.store.writes import StaleWrite, write


@dataclass(frozen=True)
class BudgetCell:
    """One cell as stored (version 0: never saved)."""

    segment: str
    program: str
    monthly_spend: float | None
    version: int
    updated_at: dt.datetime | None = None
    updated_by: str | None = None

    @property
    def key(self) -> str:
        return f"{self.segment}|{self.program}"


def _cell(row: sa.Row) -> BudgetCell:
    at = row.updated_at
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    return BudgetCell(
        row.segment,
        row.program,
        None if row.monthly_spend is None else float(row.monthly_spend),
        int(row.version),
        at,
        row.updated_by,
    )


def read_cells(engine: Engine) -> dict[tuple[str, str], BudgetCell]:
    """Every saved cell by (segment, program)."""
    t = schema.BudgetCell.__table__
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.segment, t.c.program)).all()
    return {(r.segment, r.program): _cell(r) for r in rows}


def read_cell(engine: Engine, segment: str, program: str) -> BudgetCell:
    """One cell (version 0 and no spend when never saved)."""
    t = schema.BudgetCell.__table__
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(t).where(t.c.segment == segment, t.c.program == program)
        ).first()
    return BudgetCell(segment, program, None, 0) if row is None else _cell(row)


def cell_locks(cells: dict[tuple[str, str], BudgetCell]) -> dict[str, float]:
    """``{"segment|program": monthly spend}`` of the cells that hold a spend."""
    return {c.key: c.monthly_spend for c in cells.values() if c.monthly_spend is not None}


def check_cell(segment: str, program: str, monthly_spend: float | None) -> None:
    """Raise ValueError saying what is wrong with a cell's segment, program or spend."""
    if not isinstance(segment, str) or not segment.strip() or len(segment) > 128:
        raise ValueError(
            f"A budget cell needs a segment name of 1 to 128 characters, got {str(segment)[:40]!r}."
        )
    if program not in C.PROGRAMS:
        raise ValueError(
            f"Unknown program {str(program)[:40]!r}: use one of {', '.join(C.PROGRAMS)}."
        )
    if monthly_spend is not None and not (math.isfinite(monthly_spend) and monthly_spend >= 0):
        raise ValueError(
            f"The monthly spend of {segment} x {program} must be $0 or more, got {monthly_spend!r}."
        )


def save_cell(
    engine: Engine,
    actor: Actor,
    segment: str,
    program: str,
    monthly_spend: float | None,
    *,
    expected_version: int,
) -> BudgetCell:
    """Save a cell edited from ``expected_version``; returns it at its new version.

    Raises
    ------
    PermissionDenied
        Unless ``actor`` may edit the budget.
    ValueError
        For an unknown program, an empty segment or a negative spend.
    StaleWrite
        If someone saved the cell after ``expected_version`` (nothing is written).
    """
    require(actor, "edit_budget")
    check_cell(segment, program, monthly_spend)
    spend = None if monthly_spend is None else round(float(monthly_spend), 2)
    t = schema.BudgetCell.__table__
    assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause

    def work(conn: Connection) -> BudgetCell:
        row = conn.execute(
            sa.select(t).where(t.c.segment == segment, t.c.program == program)
        ).first()
        before = None if row is None else _cell(row)
        current = 0 if before is None else before.version
        if current != expected_version:
            raise StaleWrite(_conflict(before, segment, program, expected_version, spend))
        now = dt.datetime.now(dt.UTC)
        values = dict(
            monthly_spend=spend, version=current + 1, updated_at=now, updated_by=actor.name
        )
        if row is None:
            conn.execute(sa.insert(t).values(segment=segment, program=program, **values))
        else:
            conn.execute(
                sa.update(t)
                .where(t.c.segment == segment, t.c.program == program, t.c.version == current)
                .values(**values)
            )
        audit.record(
            conn,
            actor,
            "budget cell",
            f"{segment} x {program}",
            before=None
            if before is None
            else {"monthly_spend": before.monthly_spend, "version": current},
            after={"monthly_spend": spend, "version": current + 1},
        )
        return BudgetCell(segment, program, spend, current + 1, now, actor.name)

    return write(engine, work)


def _money(spend: float | None) -> str:
    return "no fixed spend" if spend is None else f"${spend:,.0f} a month"


def _conflict(
    stored: BudgetCell | None, segment: str, program: str, expected: int, yours: float | None
) -> str:
    if stored is None:
        return (
            f"The budget cell {segment} x {program} is not at version {expected} any more "
            "(it was removed): reload it."
        )
    when = f" at {stored.updated_at:%Y-%m-%d %H:%M} UTC" if stored.updated_at else ""
    return (
        f"{stored.updated_by} changed the budget cell {segment} x {program} to "
        f"{_money(stored.monthly_spend)}{when} (version {stored.version}) after you loaded "
        f"version {expected}. Your {_money(yours)} was not saved: reload the cell and "
        "apply your change again."
    )
