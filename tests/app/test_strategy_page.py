"""The Customer strategy page through AppTest: treatments per segment and the initiatives."""

from __future__ import annotations

import pytest

from planning.allocation.strategy import load_initiatives, load_treatments
from planning.core.access import whoami
from planning.ingest.importing import import_file
from tests.actors import ADMIN

PAGE = "pages/strategy.py"
TRANSACTIONS = b"""customer_id,date,amount
C1,2025-01-10,1000.00
C2,2025-01-20,200.00
C3,2025-02-02,150.00
C4,2025-02-05,4000.00
"""

CUSTOMERS = b"""customer_id,size
C1,Key account
C2,Small
C3,Small
C4,Large
"""


@pytest.fixture
def sized(store):
    assert import_file(store, "customers", CUSTOMERS, file_name="customers.csv", actor=ADMIN).ok
    assert import_file(store, "transactions", TRANSACTIONS, file_name="tx.csv", actor=ADMIN).ok
    return store


def test_the_page_names_the_assumptions_and_the_default_portfolio(sized, open_app):
    at = open_app(PAGE)
    assert not at.exception
    assert "planner assumptions" in at.caption[0].value
    assert "The default portfolio (not saved yet)" in at.caption[1].value
    assert [c.key for c in at.get("plotly_chart")] == ["strategy_matrix"]


def test_saving_treatments_and_initiatives_stores_them_with_the_user(sized, open_app):
    at = open_app(PAGE)
    next(b for b in at.button if b.label == "Save treatments").click().run()
    assert not at.exception
    stored = load_treatments(sized)
    assert set(stored) == {"Key account", "Large", "Small"}
    assert {t.updated_by for t in stored.values()} == {whoami()}  # single-user mode
    next(b for b in at.button if b.label == "Save initiatives").click().run()
    assert not at.exception
    assert {i.updated_by for i in load_initiatives(sized)} == {whoami()}


def test_an_empty_store_says_what_to_do(store, open_app):
    at = open_app(PAGE)
    assert not at.exception
    assert "There are no segments to treat yet" in at.info[0].value
