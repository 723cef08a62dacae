"""Customer strategy: how each segment is treated, and the CRM work that would change it.

A :class:`Treatment` is a segment's policy: its service tier, payment terms and credit limit
(the seed gives key accounts tailored terms), how often account teams contact its customers,
and which programs may spend on it. Treatments feed the economics of allocation: terms and
credit limits set the financing cost of receivables (through profitability's per-customer
terms override), the tier and the contact cadence add cost-to-serve per account, a better tier
prevents a share of churn, and the "service tier" lever (moving more of a segment's accounts
up one tier) is derived from them. :data:`SERVICE_TIERS` and :data:`CONTACT_COST` are
documented planner assumptions, not measured: no data in the store says what a tier costs or
saves, and the page says so.

An :class:`Initiative` is a piece of CRM work scored 1-5 on business impact and technical
complexity, with a cost; :func:`rank_initiatives` puts high-impact, low-complexity work first
and names each one's quadrant of the impact-complexity matrix.

Both live in the store. Until someone saves them, the readers return documented defaults
(marked as such); every write names its actor and bumps the row's ``version``, and a save
that states the version it started from is refused if someone saved in between.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planning.core.access import Actor, require
from planning.store import audit, schema
from planning.store.writes import StaleWrite, write

LEVERS: Final = ("acquisition", "retention", "cross_sell", "win_back", "service_tier")


@dataclass(frozen=True)
class ServiceTier:
    """A service level: extra cost-to-serve per account and month, and the share of churn it
    prevents (against the standard tier)."""

    name: str
    cost_per_account_month: float
    churn_reduction: float
    description: str


SERVICE_TIERS: Final = (
    ServiceTier("standard", 0.0, 0.0, "shared service desk, standard delivery"),
    ServiceTier("priority", 45.0, 0.20, "named service contact, next-day delivery"),
    ServiceTier("premium", 300.0, 0.45, "dedicated account manager, quarterly reviews"),
)
TIER_NAMES: Final = tuple(t.name for t in SERVICE_TIERS)
CONTACT_COST: Final = 35.0  # one proactive account contact (call or visit prep), planner's
ASSUMPTION_NOTE: Final = (
    "Tier costs and churn reductions are planner assumptions (no data in the store measures "
    "them): priority +$45 per account a month, 20% less churn; premium +$300, 45% less churn; "
    f"a proactive contact costs ${CONTACT_COST:,.0f}."
)


@dataclass(frozen=True)
class Treatment:
    """One segment's policy, with who saved it and when (``version`` 0: a default)."""

    segment: str
    service_tier: str = "standard"
    payment_terms_days: int = 30
    credit_limit: float = 10_000.0
    contact_cadence_days: int = 60
    eligible_programs: tuple[str, ...] = LEVERS
    version: int = 0
    updated_at: dt.datetime | None = None
    updated_by: str = "default"

    def problems(self) -> list[str]:
        """What is wrong with this policy, in words (empty when valid)."""
        out = []
        where = f"Treatment of {self.segment}"
        if self.service_tier not in TIER_NAMES:
            out.append(
                f"{where}: unknown service tier '{self.service_tier}' (use "
                f"{', '.join(TIER_NAMES)})."
            )
        if not 0 <= self.payment_terms_days <= 365:
            out.append(
                f"{where}: payment terms must be 0 to 365 days, got {self.payment_terms_days}."
            )
        if not self.credit_limit >= 0:
            out.append(f"{where}: the credit limit must be 0 or more, got {self.credit_limit}.")
        if not 1 <= self.contact_cadence_days <= 365:
            out.append(
                f"{where}: contact cadence must be 1 to 365 days, got {self.contact_cadence_days}."
            )
        unknown = [p for p in self.eligible_programs if p not in LEVERS]
        if unknown:
            out.append(
                f"{where}: unknown program(s) {', '.join(unknown)} (use {', '.join(LEVERS)})."
            )
        return out

    @property
    def tier(self) -> ServiceTier:
        return next(t for t in SERVICE_TIERS if t.name == self.service_tier)

    @property
    def next_tier(self) -> ServiceTier | None:
        """The tier above this one (None at the top)."""
        i = TIER_NAMES.index(self.service_tier)
        return SERVICE_TIERS[i + 1] if i + 1 < len(SERVICE_TIERS) else None

    def cost_per_account_month(self) -> float:
        """Cost-to-serve the policy adds per account and month: tier plus contacts."""
        return self.tier.cost_per_account_month + CONTACT_COST * 30.0 / self.contact_cadence_days


_DEFAULTS: Final[dict[str, dict]] = {
    # Key accounts: tailored terms (longer, with a higher limit) and a named contact.
    "Key account": dict(
        service_tier="priority",
        payment_terms_days=60,
        credit_limit=250_000.0,
        contact_cadence_days=14,
    ),
    "Large": dict(payment_terms_days=45, credit_limit=100_000.0, contact_cadence_days=30),
    "Mid-market": dict(payment_terms_days=30, credit_limit=25_000.0, contact_cadence_days=60),
    "Small": dict(
        payment_terms_days=30,
        credit_limit=5_000.0,
        contact_cadence_days=90,
        eligible_programs=LEVERS[:4],
    ),
    "Platinum": dict(
        service_tier="priority",
        payment_terms_days=60,
        credit_limit=250_000.0,
        contact_cadence_days=14,
    ),
}


def default_treatment(segment: str) -> Treatment:
    """The seed policy of a segment (unknown segments get the standard policy)."""
    return Treatment(segment, **_DEFAULTS.get(segment, {}))


def load_treatments(engine: Engine, segments: Iterable[str] = ()) -> dict[str, Treatment]:
    """Stored treatments, plus the default for every named segment that has none."""
    t = schema.Treatment.__table__
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t)).mappings().all()
    out = {
        r["segment"]: Treatment(
            r["segment"],
            r["service_tier"],
            int(r["payment_terms_days"]),
            float(r["credit_limit"]),
            int(r["contact_cadence_days"]),
            tuple(p for p in r["eligible_programs"].split(",") if p),
            int(r["version"]),
            r["updated_at"],
            r["updated_by"],
        )
        for r in rows
    }
    for segment in segments:
        out.setdefault(segment, default_treatment(segment))
    return out


def save_treatments(
    engine: Engine, treatments: Iterable[Treatment], *, actor: Actor
) -> dict[str, Treatment]:
    """Save policies (all or none); each row's version goes up by one.

    A treatment's ``version`` is the one it was read at: if the stored row has moved on since,
    nothing is saved and :class:`StaleWrite` says whose save came in between.

    Raises
    ------
    PermissionDenied
        Unless ``actor`` may edit treatments.
    ValueError
        If a policy is invalid (nothing is saved).
    StaleWrite
        If a row changed since it was read (nothing is saved).
    """
    require(actor, "edit_treatments")
    treatments = list(treatments)
    problems = [p for tr in treatments for p in tr.problems()]
    if problems:
        raise ValueError(" ".join(problems))
    t = schema.Treatment.__table__
    assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause
    now = dt.datetime.now(dt.UTC)

    def work(conn: Connection) -> dict[str, Treatment]:
        saved = {}
        for tr in treatments:
            stored = conn.execute(sa.select(t).where(t.c.segment == tr.segment)).mappings().first()
            _check_version(
                f"the treatment of {tr.segment}",
                None if stored is None else (stored["version"], stored["updated_by"]),
                tr.version,
            )
            values = dict(
                service_tier=tr.service_tier,
                payment_terms_days=int(tr.payment_terms_days),
                credit_limit=float(tr.credit_limit),
                contact_cadence_days=int(tr.contact_cadence_days),
                eligible_programs=",".join(tr.eligible_programs),
                version=tr.version + 1,
                updated_at=now,
                updated_by=actor.name,
            )
            if stored is None:
                conn.execute(sa.insert(t).values(segment=tr.segment, **values))
            else:
                conn.execute(sa.update(t).where(t.c.segment == tr.segment).values(**values))
            audit.record(
                conn,
                actor,
                "treatment",
                tr.segment,
                before=None if stored is None else _row_json(stored),
                after={k: v for k, v in values.items() if k != "updated_at"},
            )
            saved[tr.segment] = dataclasses.replace(
                tr, version=tr.version + 1, updated_at=now, updated_by=actor.name
            )
        return saved

    return write(engine, work)


def _row_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored row (a RowMapping, keyed by column name) or the values written, for the audit."""
    return {k: v for k, v in row.items() if k not in ("updated_at",)}


def _check_version(what: str, stored: tuple[int, str] | None, version: int) -> None:
    """Refuse a write made from ``version`` when the stored ``(version, updated_by)`` moved on."""
    current = 0 if stored is None else int(stored[0])
    if current != version:
        by = f" by {stored[1]}" if stored is not None else ""
        raise StaleWrite(
            f"{what} was saved{by} (version {current}) after you opened version "
            f"{version}: reload it and apply your change again."
        )


def treatments_frame(treatments: Mapping[str, Treatment]) -> pd.DataFrame:
    """One row per segment for display and editing, with the policy's cost per account."""
    return pd.DataFrame(
        [
            {
                "segment": tr.segment,
                "service_tier": tr.service_tier,
                "payment_terms_days": tr.payment_terms_days,
                "credit_limit": tr.credit_limit,
                "contact_cadence_days": tr.contact_cadence_days,
                "eligible_programs": ", ".join(tr.eligible_programs),
                "cost_per_account_month": tr.cost_per_account_month(),
                "version": tr.version,
                "saved": "default (not saved yet)"
                if tr.version == 0
                else f"{tr.updated_by}, {tr.updated_at:%Y-%m-%d %H:%M}",
            }
            for tr in treatments.values()
        ]
    )


# --------------------------------------------------------------------------- initiatives

STATUSES: Final = ("proposed", "planned", "in progress", "done")


@dataclass(frozen=True)
class Initiative:
    """A piece of CRM work: impact and complexity 1 (low) to 5 (high), cost in money."""

    name: str
    description: str
    impact: int
    complexity: int
    cost: float
    status: str = "proposed"
    version: int = 0
    updated_at: dt.datetime | None = None
    updated_by: str = "default"

    def problems(self) -> list[str]:
        out = []
        if not self.name.strip():
            out.append("An initiative needs a name.")
        for attr in ("impact", "complexity"):
            value = getattr(self, attr)
            if not (isinstance(value, int) and 1 <= value <= 5):
                out.append(
                    f"Initiative '{self.name}': {attr} must be a whole number from 1 to "
                    f"5, got {value!r}."
                )
        if not self.cost >= 0:
            out.append(f"Initiative '{self.name}': cost must be 0 or more, got {self.cost}.")
        if self.status not in STATUSES:
            out.append(
                f"Initiative '{self.name}': unknown status '{self.status}' (use "
                f"{', '.join(STATUSES)})."
            )
        return out


DEFAULT_INITIATIVES: Final = (
    Initiative(
        "Churn-risk alerts to account managers",
        "Flag customers whose P(alive) drops, with their value at risk.",
        4,
        2,
        30_000.0,
    ),
    Initiative(
        "Win-back offers for lapsed Large accounts",
        "A tailored reactivation offer for lapsed accounts with high past value.",
        4,
        2,
        40_000.0,
    ),
    Initiative(
        "Minimum order value for high-maintenance accounts",
        "Stop small split orders that cost more to serve than they earn.",
        3,
        1,
        5_000.0,
    ),
    Initiative(
        "Tailored payment terms for top customers",
        "Terms and credit limits per key account, reviewed quarterly.",
        3,
        2,
        10_000.0,
    ),
    Initiative(
        "Service-level commitments for key accounts",
        "A premium tier with a dedicated account manager and guaranteed delivery.",
        5,
        3,
        120_000.0,
    ),
    Initiative(
        "Self-service ordering for small customers",
        "A portal that takes small orders without a call or a visit.",
        3,
        3,
        90_000.0,
    ),
    Initiative(
        "Cross-sell recommendations in the order portal",
        "Suggest categories a customer's peers buy and they do not.",
        3,
        4,
        150_000.0,
    ),
    Initiative(
        "One customer record across CRM and ERP",
        "Merge customer data so every team sees the same history.",
        4,
        5,
        300_000.0,
    ),
)


def load_initiatives(engine: Engine) -> tuple[Initiative, ...]:
    """The stored portfolio, or :data:`DEFAULT_INITIATIVES` while none is stored."""
    t = schema.Initiative.__table__
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.name)).mappings().all()
    if not rows:
        return DEFAULT_INITIATIVES
    return tuple(
        Initiative(
            r["name"],
            r["description"],
            int(r["impact"]),
            int(r["complexity"]),
            float(r["cost"]),
            r["status"],
            int(r["version"]),
            r["updated_at"],
            r["updated_by"],
        )
        for r in rows
    )


def save_initiatives(
    engine: Engine,
    initiatives: Iterable[Initiative],
    *,
    actor: Actor,
    loaded: Iterable[Initiative] = (),
) -> tuple[Initiative, ...]:
    """Save the edited portfolio ``initiatives`` (all or none).

    Each initiative's ``version`` is the one it was read at (0 for a new one); a stored row that
    moved on since, or a name given twice, refuses the whole save. ``loaded`` is the portfolio
    the edit started from: a stored initiative that was loaded and is missing from
    ``initiatives`` is deleted; one added by someone else since (not loaded) is kept.

    Raises
    ------
    PermissionDenied
        Unless ``actor`` may edit treatments and initiatives.
    ValueError
        If an initiative is invalid or a name repeats (nothing is saved).
    StaleWrite
        If a row changed since it was read (nothing is saved).
    """
    require(actor, "edit_treatments")
    items = list(initiatives)
    problems = [p for item in items for p in item.problems()]
    names = [i.name for i in items]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"Initiative names must be unique: {', '.join(repeated)} repeats.")
    if problems:
        raise ValueError(" ".join(problems))
    before = {i.name: i for i in loaded}
    kept = set(names)
    removed = {n: i for n, i in before.items() if n not in kept}
    # Rows this edit did not change are neither checked nor written: a planner who edited one
    # initiative does not collide with another who edited a different one.
    changed = [
        i for i in items if i.version == 0 or i.name not in before or not _same(i, before[i.name])
    ]
    t = schema.Initiative.__table__
    assert isinstance(t, sa.Table)  # declarative types __table__ as FromClause
    now = dt.datetime.now(dt.UTC)

    def work(conn: Connection) -> tuple[Initiative, ...]:
        stored = {r["name"]: r for r in conn.execute(sa.select(t)).mappings()}

        def check(item: Initiative) -> None:
            row = stored.get(item.name)
            _check_version(
                f"initiative '{item.name}'",
                None if row is None else (row["version"], row["updated_by"]),
                item.version,
            )

        for item in [*changed, *removed.values()]:
            check(item)
        for name in removed:
            if name in stored:
                conn.execute(sa.delete(t).where(t.c.name == name))
                audit.record(conn, actor, "initiative delete", name, before=_row_json(stored[name]))
        out = [i for i in items if i not in changed]
        for item in changed:
            saved = dataclasses.replace(
                item, version=item.version + 1, updated_at=now, updated_by=actor.name
            )
            values = dict(
                description=saved.description,
                impact=saved.impact,
                complexity=saved.complexity,
                cost=float(saved.cost),
                status=saved.status,
                version=saved.version,
                updated_at=now,
                updated_by=actor.name,
            )
            if item.name in stored:
                conn.execute(sa.update(t).where(t.c.name == item.name).values(**values))
            else:
                conn.execute(sa.insert(t).values(name=item.name, **values))
            audit.record(
                conn,
                actor,
                "initiative",
                item.name,
                before=None if item.name not in stored else _row_json(stored[item.name]),
                after=_row_json(values),
            )
            out.append(saved)
        return tuple(sorted(out, key=lambda i: i.name))

    return write(engine, work)


def _same(a: Initiative, b: Initiative) -> bool:
    fields = ("name", "description", "impact", "complexity", "cost", "status")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def quadrant(impact: int, complexity: int) -> str:
    """The initiative's quadrant of the impact-complexity matrix."""
    high_impact, easy = impact >= 3, complexity <= 2
    if high_impact:
        return "Quick win" if easy else "Major project"
    return "Fill-in" if easy else "Reconsider"


_QUADRANT_ORDER: Final = ("Quick win", "Major project", "Fill-in", "Reconsider")


def rank_initiatives(initiatives: Iterable[Initiative]) -> pd.DataFrame:
    """Initiatives ranked high-impact, low-complexity first.

    Order: quadrant (quick wins, major projects, fill-ins, reconsider), then impact per unit
    of complexity, then lower cost.

    Returns
    -------
    DataFrame
        ``rank, name, description, impact, complexity, cost, status, quadrant, score``.
    """
    frame = pd.DataFrame(
        [
            {
                "name": i.name,
                "description": i.description,
                "impact": i.impact,
                "complexity": i.complexity,
                "cost": i.cost,
                "status": i.status,
                "version": i.version,
            }
            for i in initiatives
        ],
        columns=["name", "description", "impact", "complexity", "cost", "status", "version"],
    )
    frame["quadrant"] = [
        quadrant(a, b) for a, b in zip(frame["impact"], frame["complexity"], strict=True)
    ]
    frame["score"] = frame["impact"] / frame["complexity"]
    frame["_q"] = frame["quadrant"].map(_QUADRANT_ORDER.index)
    frame = frame.sort_values(
        ["_q", "score", "cost"], ascending=[True, False, True], ignore_index=True
    ).drop(columns="_q")
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


def treatments_from_frame(frame: pd.DataFrame) -> list[Treatment]:
    """Treatments from an edited :func:`treatments_frame` (its ``version`` column is the
    version each row was read at)."""
    out = []
    for row in frame.to_dict("records"):
        programs = tuple(
            p.strip() for p in str(row["eligible_programs"] or "").split(",") if p.strip()
        )
        out.append(
            Treatment(
                str(row["segment"]),
                str(row["service_tier"]),
                int(row["payment_terms_days"]),
                float(row["credit_limit"]),
                int(row["contact_cadence_days"]),
                programs,
                int(row["version"]),
            )
        )
    return out


def changed_treatments(
    edited: Iterable[Treatment], loaded: Mapping[str, Treatment], seen: Mapping[str, int]
) -> list[Treatment]:
    """The treatments of ``edited`` whose policy differs from ``loaded`` (or that were never
    saved), each carrying the version its editor saw (``seen``), so only real edits are saved
    and checked."""
    policy = (
        "service_tier",
        "payment_terms_days",
        "credit_limit",
        "contact_cadence_days",
        "eligible_programs",
    )
    out = []
    for tr in edited:
        before = loaded.get(tr.segment)
        if (
            before is None
            or before.version == 0
            or any(getattr(tr, f) != getattr(before, f) for f in policy)
        ):
            out.append(dataclasses.replace(tr, version=seen.get(tr.segment, tr.version)))
    return out


def initiatives_from_frame(frame: pd.DataFrame) -> list[Initiative]:
    """Initiatives from an edited :func:`rank_initiatives` table (new rows: version 0).

    Raises
    ------
    ValueError
        If a row lacks a number (the message names the initiative).
    """
    out = []
    for row in frame.to_dict("records"):
        name = "" if pd.isna(row.get("name")) else str(row["name"]).strip()
        if not name and all(pd.isna(row.get(c)) for c in ("impact", "complexity", "cost")):
            continue  # an empty row the editor added
        missing = [c for c in ("impact", "complexity", "cost") if pd.isna(row.get(c))]
        if missing:
            raise ValueError(f"Initiative '{name or '(no name)'}' needs {', '.join(missing)}.")
        out.append(
            Initiative(
                name,
                "" if pd.isna(row.get("description")) else str(row["description"]),
                int(row["impact"]),
                int(row["complexity"]),
                float(row["cost"]),
                str(row.get("status") or "proposed"),
                0 if pd.isna(row.get("version")) else int(row["version"]),
            )
        )
    return out
