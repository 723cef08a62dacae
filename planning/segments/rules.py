"""User-defined segments: named rules over customer attributes and behaviour, kept in the store.

A rule set is an ordered list of rules; a rule is a name and conditions that must all hold
(an empty list matches everyone). Each customer falls in the first rule that matches, and
customers no rule matches fall in "Other", so a rule set always partitions the customers.
Conditions compare one customer field with a value:

- text attributes ``region, industry, size, channel`` with ``==, !=, in, not in``
  (a missing attribute equals nothing and is "not in" every list);
- numbers over the trailing window ``contribution, revenue, frequency`` (transactions) and
  ``recency_days`` (days since the last transaction) with ``==, !=, >, >=, <, <=`` (a customer
  who never bought has no recency, so no recency condition holds for them).

Rules are stored as JSON (``[{"field": "size", "op": "in", "value": ["Large"]}, ...]``) in the
``segment_rules`` table, one row per rule, under a rule-set name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planning.core import columns as C
from planning.core.access import Actor, check_name, require
from planning.core.options import DEFAULT_RULE_SET
from planning.store import audit, schema
from planning.store.writes import StaleWrite, write

RuleField = Literal[
    "region", "industry", "size", "channel", "contribution", "revenue", "frequency", "recency_days"
]
Operator = Literal["==", "!=", "in", "not in", ">", ">=", "<", "<="]
TEXT_FIELDS: Final = ("region", "industry", "size", "channel")
NUMBER_FIELDS: Final = ("contribution", "revenue", "frequency", "recency_days")
TEXT_OPERATORS: Final = ("==", "!=", "in", "not in")
NUMBER_OPERATORS: Final = ("==", "!=", ">", ">=", "<", "<=")
OTHER: Final = "Other"
MAX_NAME: Final = 128


@dataclass(frozen=True)
class Condition:
    """``field op value``, e.g. ``Condition("recency_days", ">", 90)``."""

    field: RuleField
    op: Operator
    value: str | float | tuple[str, ...]

    def __post_init__(self) -> None:
        if self.field not in get_args(RuleField):
            raise ValueError(
                f"Unknown rule field {self.field!r}: use one of {', '.join(get_args(RuleField))}."
            )
        allowed = TEXT_OPERATORS if self.field in TEXT_FIELDS else NUMBER_OPERATORS
        if self.op not in allowed:
            raise ValueError(
                f"Operator {self.op!r} does not apply to {self.field}: use one of "
                f"{', '.join(allowed)}."
            )
        if self.op in ("in", "not in"):
            values = (self.value,) if isinstance(self.value, str) else self.value
            if (
                not isinstance(values, list | tuple)
                or not values
                or not all(isinstance(v, str) for v in values)
            ):
                raise ValueError(
                    f"{self.field} {self.op} needs a list of text values, got {self.value!r}."
                )
            object.__setattr__(self, "value", tuple(values))
        elif self.field in TEXT_FIELDS:
            if not isinstance(self.value, str):
                raise ValueError(f"{self.field} {self.op} needs a text value, got {self.value!r}.")
        elif (
            isinstance(self.value, bool)
            or not isinstance(self.value, int | float)
            or not np.isfinite(self.value)
        ):
            raise ValueError(f"{self.field} {self.op} needs a number, got {self.value!r}.")

    def holds(self, features: pd.DataFrame) -> pd.Series:
        """Whether the condition holds for each row of ``features`` (False where missing)."""
        column = features[self.field]
        if self.op in ("in", "not in"):
            assert isinstance(self.value, tuple)  # __post_init__ made the values a tuple
            listed = column.isin(self.value)
            return listed if self.op == "in" else ~listed
        ops = {
            "==": np.equal,
            "!=": np.not_equal,
            ">": np.greater,
            ">=": np.greater_equal,
            "<": np.less,
            "<=": np.less_equal,
        }
        if self.field in TEXT_FIELDS:
            result = ops[self.op](column.to_numpy(dtype=object), self.value)
        else:
            assert isinstance(self.value, int | float)  # __post_init__ checked the number
            result = ops[self.op](column.to_numpy(dtype=np.float64), float(self.value))
        return pd.Series(result, index=features.index, dtype=bool) & column.notna()

    def as_dict(self) -> dict:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": self.field, "op": self.op, "value": value}


@dataclass(frozen=True)
class SegmentRule:
    """A named segment: the customers for whom every condition holds."""

    name: str
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        name = self.name.strip() if isinstance(self.name, str) else ""
        if not name or len(name) > MAX_NAME:
            raise ValueError(
                f"A segment rule needs a name of 1 to {MAX_NAME} characters, got {self.name!r}."
            )
        if name == OTHER:
            raise ValueError(
                f"{OTHER!r} is kept for the customers no rule matches: pick another name."
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "conditions", tuple(self.conditions))

    def to_json(self) -> str:
        """The conditions as the JSON text stored in the store."""
        return json.dumps([c.as_dict() for c in self.conditions])

    @classmethod
    def from_json(cls, name: str, text: str) -> SegmentRule:
        """A rule from its name and stored JSON; ValueError naming the rule if it is invalid."""
        try:
            items = json.loads(text)
            if not isinstance(items, list):
                raise ValueError("the conditions must be a JSON list")
            return cls(name, tuple(Condition(i["field"], i["op"], i["value"]) for i in items))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"Segment rule {name!r} is invalid: {exc}") from exc


def rule_segments(features: pd.DataFrame, rules: Sequence[SegmentRule]) -> pd.DataFrame:
    """Each customer's first matching rule (pure: frame in, frame out).

    Parameters
    ----------
    features
        ``customer_id`` and the fields the rules use (see the module notes), one row per
        customer.
    rules
        In priority order; names must be distinct.

    Returns
    -------
    DataFrame
        ``customer_id, segment``; ``segment`` an ordered categorical of the rule names then
        "Other".
    """
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ValueError("Two rules share a name: each segment needs its own.")
    for rule in rules:
        for condition in rule.conditions:
            if condition.field not in features.columns:
                raise ValueError(
                    f"Required column {condition.field} missing from the customer "
                    f"features (rule {rule.name!r})."
                )
    segment = pd.Series(OTHER, index=features.index, dtype=object)
    unmatched = pd.Series(True, index=features.index)
    for rule in rules:
        match = unmatched.copy()
        for condition in rule.conditions:
            match &= condition.holds(features)
        segment[match] = rule.name
        unmatched &= ~match
    return pd.DataFrame(
        {
            C.CUSTOMER_ID: features[C.CUSTOMER_ID].to_numpy(),
            C.SEGMENT: pd.Categorical(segment.to_numpy(), categories=[*names, OTHER], ordered=True),
        }
    )


def save_rules(
    engine: Engine,
    rules: Sequence[SegmentRule],
    *,
    actor: Actor,
    rule_set: str = DEFAULT_RULE_SET,
    expected_version: int | None = None,
) -> int:
    """Replace the rule set ``rule_set`` with ``rules`` (in this order), all or nothing;
    returns the set's new version.

    ``expected_version`` is the version the edit started from (:func:`rule_set_version`);
    None replaces whatever is stored (the command line's ``rules`` import).

    Raises
    ------
    PermissionDenied
        Unless ``actor`` may edit assumptions.
    StaleWrite
        If the set was saved after ``expected_version`` (nothing is written).
    """
    require(actor, "edit_assumptions")
    rule_set = _check_rule_set(rule_set)
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ValueError("Two rules share a name: each segment needs its own.")
    table = schema.SegmentRule.__table__
    assert isinstance(table, sa.Table)  # declarative types __table__ as FromClause
    now = dt.datetime.now(dt.UTC)

    def work(conn: Connection) -> int:
        current, by, at = _version(conn, rule_set)
        if expected_version is not None and current != expected_version:
            raise StaleWrite(
                f"The rule set {rule_set!r} was saved by {by or 'someone'}"
                f"{f' at {at:%Y-%m-%d %H:%M}' if at else ''} (version {current}) "
                f"after you loaded version {expected_version}: reload it and apply "
                "your change again."
            )
        before = [_rule_json(r) for r in _load(conn, rule_set)]
        conn.execute(sa.delete(table).where(table.c.rule_set == rule_set))
        if rules:
            conn.execute(
                sa.insert(table),
                [
                    {
                        "rule_set": rule_set,
                        "position": k,
                        "name": r.name,
                        "conditions": r.to_json(),
                        "updated_at": now,
                        "version": current + 1,
                        "updated_by": actor.name,
                    }
                    for k, r in enumerate(rules)
                ],
            )
        audit.record(
            conn,
            actor,
            "segment rules",
            rule_set,
            before={"version": current, "rules": before} if before else None,
            after={"version": current + 1, "rules": [_rule_json(r) for r in rules]},
        )
        return current + 1

    return write(engine, work)


def _rule_json(rule: SegmentRule) -> dict:
    return {"name": rule.name, "conditions": json.loads(rule.to_json())}


def rule_set_version(engine: Engine, rule_set: str = DEFAULT_RULE_SET) -> int:
    """The version of ``rule_set`` (0 when it was never saved)."""
    with engine.connect() as conn:
        return _version(conn, rule_set)[0]


def _version(conn: Connection, rule_set: str) -> tuple[int, str | None, dt.datetime | None]:
    table = schema.SegmentRule.__table__
    row = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.max(table.c.version),
            sa.func.max(table.c.updated_by),
            sa.func.max(table.c.updated_at),
        ).where(table.c.rule_set == rule_set)
    ).one()
    if not row[0]:
        return 0, None, None
    at = row[3]
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    return int(row[1] or 1), row[2], at


def _load(conn: Connection, rule_set: str) -> tuple[SegmentRule, ...]:
    table = schema.SegmentRule.__table__
    query = (
        sa.select(table.c.name, table.c.conditions)
        .where(table.c.rule_set == rule_set)
        .order_by(table.c.position)
    )
    return tuple(SegmentRule.from_json(name, text) for name, text in conn.execute(query))


def load_rules(engine: Engine, rule_set: str = DEFAULT_RULE_SET) -> tuple[SegmentRule, ...]:
    """The rules of ``rule_set`` in priority order (empty when the set does not exist)."""
    rule_set = _check_rule_set(rule_set)
    with engine.connect() as conn:
        return _load(conn, rule_set)


def rule_sets(engine: Engine) -> list[str]:
    """Names of the stored rule sets."""
    table = schema.SegmentRule.__table__
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(table.c.rule_set).distinct().order_by(table.c.rule_set)
            ).scalars()
        )


def rules_version(engine: Engine) -> tuple[int, str | None]:
    """(rules stored, newest save time): changes whenever a rule set is saved or deleted, so a
    cache can be keyed on it."""
    table = schema.SegmentRule.__table__
    with engine.connect() as conn:
        n, newest = conn.execute(sa.select(sa.func.count(), sa.func.max(table.c.updated_at))).one()
    return int(n), None if newest is None else str(newest)


def delete_rule_set(engine: Engine, rule_set: str, *, actor: Actor) -> int:
    """Delete a rule set; returns the number of rules removed."""
    require(actor, "edit_assumptions")
    table = schema.SegmentRule.__table__
    assert isinstance(table, sa.Table)  # declarative types __table__ as FromClause

    def work(conn: Connection) -> int:
        before = [_rule_json(r) for r in _load(conn, rule_set)]
        removed = conn.execute(sa.delete(table).where(table.c.rule_set == rule_set)).rowcount
        if removed:
            audit.record(conn, actor, "segment rules delete", rule_set, before={"rules": before})
        return int(removed)

    return write(engine, work)


def _check_rule_set(rule_set: str) -> str:
    name = rule_set.strip() if isinstance(rule_set, str) else ""
    if not name or len(name) > MAX_NAME:
        raise ValueError(
            f"A rule set needs a name of 1 to {MAX_NAME} characters, got {rule_set[:40]!r}."
        )
    return check_name("rule set name", name)
