"""AppTest fixtures: the real app.py against a throwaway SQLite store.

CONTINUUM_DATABASE_URL points the app at a fresh file per test. The little company below is
imported through the real importer, so the numbers on screen can be checked by hand:

    Jan 2024  C1 1,000,000 (cost 600,000)   C2 234,567 (no cost: 30% margin assumed)
    Jul 2024  C4 500 (no cost)                -> C4 is lost in Jan 2025; C2 in Jul 2024
    Jan 2025  C1 1,500,000 (cost 900,000)   C3 100,000 (cost 50,000)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from planning.ingest.importing import import_file
from planning.store.engine import ENV_URL, open_store
from tests.actors import ADMIN

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "app.py"
TIMEOUT = 30

COMPANY_CSV = b"""customer_id,date,amount,cost
C1,2024-01-10,1000000.00,600000.00
C2,2024-01-20,234567.00,
C4,2024-07-15,500.00,
C1,2025-01-05,1500000.00,900000.00
C3,2025-01-31,100000.00,50000.00
"""
LAST_DAY = dt.date(2025, 1, 31)


@pytest.fixture
def store(tmp_path, monkeypatch) -> Iterator[Engine]:
    """An empty store that the app under test opens (through CONTINUUM_DATABASE_URL)."""
    url = f"sqlite:///{tmp_path / 'continuum.db'}"
    monkeypatch.setenv(ENV_URL, url)
    engine = open_store(url)
    yield engine
    engine.dispose()


@pytest.fixture
def company(store) -> Engine:
    """The store holding the little company of this module's docstring."""
    report = import_file(store, "transactions", COMPANY_CSV, file_name="company.csv", actor=ADMIN)
    assert report.ok, report.summary()
    return store


@pytest.fixture
def demo_1000(store) -> Engine:
    """The store holding a 1,000-customer demo company (36 months to 2025-12-31), with
    program spend and outcomes."""
    from planning.ingest.demo import generate_company, load_company

    company = generate_company(1000, seed=3, end=dt.date(2025, 12, 31))
    assert all(r.ok for r in load_company(store, company, actor=ADMIN))
    return store


@pytest.fixture
def open_app() -> Callable[..., AppTest]:
    """Run app.py once (optionally on another page) and return the AppTest."""

    def run(page: str | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        if page is not None:
            at.switch_page(page).run()
        return at

    return run
