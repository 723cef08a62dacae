"""Shared fixtures: a real SQLite file and a real PostgreSQL database for every store test.

PostgreSQL comes from CONTINUUM_TEST_POSTGRES_URL, or the local server on 127.0.0.1:5432
(``make test`` starts it). Each test run creates a throwaway database and drops it at the end.
With CI=true a missing PostgreSQL fails the run instead of skipping the PostgreSQL half.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine, make_url

from planning.cli.common import ENV_PASSWORD, ENV_USER
from planning.store import schema
from planning.store.engine import normalize_url, open_store
from tests import repo_boundary

REPO_ROOT = repo_boundary.REPO_ROOT
repo_boundary.install()
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _admin_url() -> str:
    return normalize_url(os.environ.get("CONTINUUM_TEST_POSTGRES_URL") or DEFAULT_PG)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test run, dropped afterwards."""
    admin = sa.create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"continuum_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL is not reachable at {make_url(_admin_url())!r}: {exc.orig}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = make_url(_admin_url()).set(database=name).render_as_string(hide_password=False)
    open_store(url).dispose()  # migrate once; tests truncate between uses
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(engine: Engine) -> None:
    names = ", ".join(t.name for t in schema.Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


# PostgreSQL stores are in team mode: commands sign in. Each PostgreSQL store starts with this
# admin account, and the environment signs the command line in as it.
CI_ADMIN, CI_PASSWORD = "ci-admin", "correct horse battery staple"
_CI_HASH = PasswordHasher().hash(CI_PASSWORD)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path, monkeypatch) -> str:
    """A URL to an empty, migrated store: a SQLite file, then a PostgreSQL database (holding
    only the admin account the command line signs in as)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'continuum.db'}"
    url = request.getfixturevalue("postgres_url")
    engine = open_store(url)
    _truncate_postgres(engine)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.User.__table__).values(
                username=CI_ADMIN,
                role="admin",
                password_hash=_CI_HASH,
                disabled=False,
                version=1,
                created_at=now,
                created_by="conftest",
                updated_at=now,
                updated_by="conftest",
            )
        )
    engine.dispose()
    monkeypatch.setenv(ENV_USER, CI_ADMIN)
    monkeypatch.setenv(ENV_PASSWORD, CI_PASSWORD)
    return url


@pytest.fixture
def engine(store_url) -> Iterator[Engine]:
    engine = open_store(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'continuum.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def cdnow_path() -> Path:
    path = repo_boundary.REFERENCE_DATA / "cdnow_sample.txt"
    if not path.exists():
        pytest.fail(f"reference data missing: {path} (data/reference/ is part of the checkout)")
    return path


def pytest_sessionfinish(session, exitstatus) -> None:
    """A read beside the checkout fails the run, even where a library caught the error."""
    if repo_boundary.violations:
        names = ", ".join(sorted(set(repo_boundary.violations)))
        session.config.get_terminal_writer().line(
            f"tests read outside the repository: {names}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
