"""Opening the store: the embedded SQLite file by default, any PostgreSQL URL in team mode.

One code path serves both. Opening a store runs the Alembic migrations up to head, so a user's
data survives upgrades and a fresh file is ready to use. SQLite runs in WAL mode with a busy
timeout so readers (the dashboard) never block the writer (an import) and a second writer waits
instead of failing with "database is locked".
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from planning.store import schema

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE_PATH = REPO_ROOT / "data" / "continuum.db"
ENV_URL = "CONTINUUM_DATABASE_URL"
BUSY_TIMEOUT_MS = 30_000


class StoreError(RuntimeError):
    """The store cannot be opened or is not in the state an operation needs."""


def default_url() -> str:
    """The URL in CONTINUUM_DATABASE_URL, else the embedded SQLite file under data/."""
    return os.environ.get(ENV_URL) or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_store_engine(url: str | None = None) -> Engine:
    """Create an Engine for ``url`` (default: :func:`default_url`) without migrating it."""
    try:
        url = normalize_url(url or default_url())
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        shown = str(url)[:80]
        raise StoreError(
            f"{shown!r} is not a database URL: use sqlite:///path/to/file.db or "
            "postgresql://user@host/dbname."
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except (OSError, ValueError) as exc:
                raise StoreError(
                    f"Cannot create the folder of {parsed.database[:80]!r}: "
                    f"{getattr(exc, 'strerror', None) or exc}"
                ) from None
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        sa.event.listen(engine, "connect", _configure_sqlite)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True)
    raise StoreError(
        f"Unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///path/to/file.db or postgresql://user@host/dbname."
    )


def _configure_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA page_size=16384")  # only takes effect on a new, empty file
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A large page cache keeps bulk inserts into indexed tables from thrashing (KiB).
    cursor.execute("PRAGMA cache_size=-131072")
    cursor.close()


@functools.cache
def head_revisions() -> frozenset[str]:
    """The newest revision of every branch in alembic/versions, read off the files' own
    ``revision`` and ``down_revision`` assignments (what Alembic's script directory reports as
    its heads; a test keeps the two equal)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (REPO_ROOT / "alembic" / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in ("revision", "down_revision")
            ):
                continue
            value = ast.literal_eval(node.value)
            if node.targets[0].id == "revision":
                revisions.add(value)
            elif value is not None:
                parents.update((value,) if isinstance(value, str) else value)
    return frozenset(revisions - parents)


def _at_heads(engine: Engine) -> bool:
    """True when the store already carries every head revision (nothing to migrate)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        return frozenset(stamped) == head_revisions()


def migrate(engine: Engine) -> None:
    """Upgrade the store's schema to the newest Alembic revision.

    A store already at the newest revision is left alone without loading Alembic, which
    costs more than the rest of a short command put together.
    """
    if _at_heads(engine):
        return
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        # "heads": features developed side by side may each add a migration branch off the
        # same parent; every branch is applied.
        command.upgrade(config, "heads")


def open_store(url: str | None = None) -> Engine:
    """Open (and create or upgrade) the store at ``url``; the one way the shell gets an Engine."""
    engine = create_store_engine(url)
    try:
        migrate(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreError(
            f"Cannot open the store at {describe_url(engine.url)}: {exc.orig}"
        ) from exc
    return engine


def describe_url(url: sa.URL | str) -> str:
    """The URL with any password hidden, for messages and the sidebar."""
    return make_url(str(url) if not isinstance(url, str) else url).render_as_string(
        hide_password=True
    )


@dataclass(frozen=True)
class DataStatus:
    """What the sidebar and `planning status` show about the store."""

    backend: str
    location: str
    customers: int
    transactions: int
    activities: int
    first_date: dt.date | None
    last_date: dt.date | None
    last_import_at: dt.datetime | None
    last_import_file: str | None
    batches: int

    @property
    def is_empty(self) -> bool:
        return self.transactions == 0


def data_status(engine: Engine) -> DataStatus:
    """Row counts, the span of transaction dates and the latest import batch."""
    t = schema.Transaction.__table__
    b = schema.ImportBatch.__table__
    with engine.connect() as conn:
        n_tx, first, last = conn.execute(
            sa.select(sa.func.count(), sa.func.min(t.c.date), sa.func.max(t.c.date))
        ).one()
        n_customers = conn.execute(
            sa.select(sa.func.count()).select_from(schema.Customer.__table__)
        ).scalar_one()
        n_activities = conn.execute(
            sa.select(sa.func.count()).select_from(schema.Activity.__table__)
        ).scalar_one()
        n_batches = conn.execute(sa.select(sa.func.count()).select_from(b)).scalar_one()
        latest = conn.execute(
            sa.select(b.c.created_at, b.c.file_name).order_by(b.c.id.desc()).limit(1)
        ).first()
    return DataStatus(
        backend=engine.dialect.name,
        location=describe_url(engine.url),
        customers=int(n_customers),
        transactions=int(n_tx),
        activities=int(n_activities),
        first_date=_as_date(first),
        last_date=_as_date(last),
        last_import_at=latest[0] if latest else None,
        last_import_file=latest[1] if latest else None,
        batches=int(n_batches),
    )


def import_fingerprint(engine: Engine) -> tuple[int, int | None, str | None]:
    """(live import batches, newest batch id, newest batch or undo time): changes on every
    import and every undone batch, so a cache keyed on it refreshes exactly then.

    One query over the batches.
    """
    b = schema.ImportBatch.__table__
    with engine.connect() as conn:
        n, newest, at, undone = conn.execute(
            sa.select(
                sa.func.count(b.c.id) - sa.func.count(b.c.undone_at),
                sa.func.max(b.c.id),
                sa.func.max(b.c.created_at),
                sa.func.max(b.c.undone_at),
            )
        ).one()
    moment = max((str(m) for m in (at, undone) if m is not None), default=None)
    return int(n), newest, moment


def table_counts(engine: Engine) -> dict[str, int]:
    """Row count of every data table; tests compare these before and after a failed import."""
    with engine.connect() as conn:
        return {
            name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for name, table in schema.TABLES.items()
        }


def _as_date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
