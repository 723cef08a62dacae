"""The Data page through AppTest: upload, map columns, preview, import, report and history.

Uploads go through the real ``st.file_uploader`` (AppTest can set its files), and every
rejected import is checked against the store's row counts: nothing written means nothing.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from planning.store import schema
from planning.store.engine import table_counts

DATA_PAGE = "pages/data.py"
GOOD = b"CustID,OrderDate,Sales\nX1,2025-01-02,10.50\nX2,2025-01-03,1200\n"
BAD = b"CustID,OrderDate,Sales\nX1,2025-01-02,10\nX2,2025-13-45,20\nX3,2025-01-04,abc\n"


@pytest.fixture
def data_page(company, open_app):
    return open_app(DATA_PAGE)


def _upload(at, name: str, content: bytes, mime: str = "text/csv"):
    at.file_uploader(key="data_file").set_value((name, content, mime)).run()
    assert not at.exception
    return at


def _mapping(at) -> dict[str, str]:
    return {
        box.label.rstrip(" *"): box.value for box in at.selectbox if box.key.startswith("data_map_")
    }


def _import(at):
    at.button(key="data_import").click().run()
    assert not at.exception
    return at


def _history(at) -> pd.DataFrame:
    return at.dataframe[-1].value


def test_the_data_page_opens_inside_the_app_with_its_sidebar(data_page):
    assert not data_page.exception
    assert [t.value for t in data_page.title] == ["Data"]
    assert "4 customers · 5 transactions" in data_page.sidebar.caption[0].value
    assert list(_history(data_page)["file_name"]) == ["company.csv"]


def test_an_upload_is_mapped_by_its_column_names_and_previewed_as_parsed(data_page):
    at = _upload(data_page, "orders.csv", GOOD)

    assert _mapping(at) == {
        "customer_id": "CustID",
        "date": "OrderDate",
        "amount": "Sales",
        "cost": "(not in file)",
        "quantity": "(not in file)",
        "product": "(not in file)",
        "category": "(not in file)",
        "channel": "(not in file)",
        "transaction_id": "(not in file)",
    }
    assert "utf-8 · comma-separated · header row · 3 columns" in at.main.caption[-1].value
    preview = at.dataframe[0].value
    assert list(preview.columns) == ["customer_id", "date", "amount"]
    assert preview["amount"].tolist() == [10.5, 1200.0]
    assert preview["date"].iloc[0] == pd.Timestamp("2025-01-02")


def test_a_good_upload_imports_and_shows_in_the_history_and_the_sidebar(data_page, company):
    before = table_counts(company)
    at = _import(_upload(data_page, "orders.csv", GOOD))

    assert at.success[0].value == "Imported 2 transactions row(s) from orders.csv as batch 2."
    assert {m.label: m.value for m in at.metric} == {
        "Rows read": "2",
        "Rows added": "2",
        "Rows skipped": "0",
    }
    after = table_counts(company)
    assert after["transactions"] == before["transactions"] + 2
    history = _history(at)
    assert list(history["file_name"]) == ["orders.csv", "company.csv"]
    assert history.loc[0, "rows_added"] == 2
    assert "6 customers · 7 transactions" in at.sidebar.caption[0].value


def test_a_file_with_bad_rows_lists_each_bad_cell_and_writes_nothing(data_page, company):
    before = table_counts(company)
    at = _import(_upload(data_page, "bad.csv", BAD))

    error = at.error[0].value
    assert "nothing was written" in error and "bad.csv" in error
    problems = at.dataframe[1].value  # 0 is the preview, the last one the history
    assert list(problems.columns) == ["row", "column", "value", "reason"]
    assert problems[["row", "column", "value"]].astype(str).values.tolist() == [
        ["3", "date", "2025-13-45"],
        ["4", "amount", "abc"],
    ]
    assert table_counts(company) == before
    assert list(_history(at)["file_name"]) == ["company.csv"]
    assert not at.success


def test_importing_the_same_file_again_adds_nothing_and_says_so(data_page, company):
    at = _import(_upload(data_page, "orders.csv", GOOD))
    counts = table_counts(company)

    at = _import(at)

    assert at.info[0].value == "orders.csv was already imported as batch 2: nothing added."
    assert table_counts(company) == counts


def test_a_required_column_left_unmapped_blocks_the_import(data_page):
    at = _upload(data_page, "orders.csv", GOOD)
    box = next(b for b in at.selectbox if b.key.endswith("_customer_id"))

    box.set_value("(not in file)").run()

    assert "Choose a file column for customer_id before importing." in at.warning[0].value
    assert at.button(key="data_import").disabled


def test_columns_with_unknown_names_can_be_mapped_by_hand(data_page):
    at = _upload(data_page, "kunden.csv", b"Kunde;Tag;Betrag\nK1;2025-01-02;10\n")
    assert "customer_id, date, amount" in at.warning[0].value

    for target, column in {"customer_id": "Kunde", "date": "Tag", "amount": "Betrag"}.items():
        next(b for b in at.selectbox if b.key.endswith(f"_{target}")).set_value(column)
    at = _import(at.run())

    assert at.success[0].value.startswith("Imported 1 transactions row(s) from kunden.csv")


def test_ambiguous_dates_are_refused_until_the_date_format_is_chosen(data_page, company):
    file = b"customer_id,date,amount\nA,03/04/2025,10\nB,05/06/2025,20\n"
    at = _import(_upload(data_page, "eu.csv", file))
    assert "day-first or month-first" in at.dataframe[1].value["reason"].iloc[0]

    at.selectbox(key="data_date_format").set_value("31/03/2024 (day first)").run()
    at = _import(at)

    assert at.success[0].value.startswith("Imported 2 transactions row(s) from eu.csv")
    with company.connect() as conn:
        t = schema.Transaction.__table__
        day = conn.execute(sa.select(t.c.date).where(t.c.customer_id == "A")).scalar_one()
    assert day == dt.date(2025, 4, 3)


def test_a_file_that_is_not_a_table_is_refused_in_words(data_page):
    at = _upload(data_page, "photo.csv", b"\x89PNG\x00\x00\x01\x02" * 40)

    assert "This is not a table" in at.dataframe[0].value["reason"].iloc[0]
    assert "nothing was written" in at.error[0].value
    assert not at.button


def test_another_kind_of_file_gets_that_kinds_columns(data_page):
    data_page.selectbox(key="data_kind").set_value("rates").run()
    at = _upload(data_page, "rates.csv", b"activity,rate\norder,12.5\ndelivery,30\n")

    assert set(_mapping(at)) == {"activity", "rate", "effective_from"}
    at = _import(at)
    assert at.success[0].value.startswith("Imported 2 rates row(s) from rates.csv")


def test_a_fresh_store_says_nothing_has_been_imported_yet(store, open_app):
    at = open_app(DATA_PAGE)

    assert not at.exception
    assert "Nothing imported yet." in [c.value for c in at.main.caption]
    assert not at.dataframe


def test_the_as_of_date_follows_newer_data_unless_someone_picked_another_day(data_page):
    at = _import(_upload(data_page, "feb.csv", b"customer_id,date,amount\nC1,2025-02-10,5\n"))
    assert at.session_state["as_of"] == dt.date(2025, 2, 10)

    at.sidebar.date_input(key="as_of").set_value(dt.date(2024, 12, 31)).run()
    at = _import(_upload(at, "mar.csv", b"customer_id,date,amount\nC1,2025-03-03,5\n"))

    assert at.session_state["as_of"] == dt.date(2024, 12, 31)
    assert at.sidebar.date_input(key="as_of").max == dt.date(2025, 3, 3)
