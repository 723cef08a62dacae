"""Imports on a real SQLite file and a real PostgreSQL database: good files land exactly once,
bad files write nothing and say what is wrong and where."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from planning.core.access import Actor
from planning.ingest.importing import ImportRequest, import_file, import_files, import_history
from planning.store import schema
from planning.store.engine import table_counts
from tests.actors import ADMIN

TX = schema.Transaction.__table__


def _csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def _amounts(engine) -> list[float]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(TX.c.amount)).scalars())


def _assert_rejected_and_unchanged(engine, report, before):
    assert not report.ok
    assert report.rows_added == 0 and report.batch_id is None
    assert table_counts(engine) == before


def test_cdnow_imports_by_column_position_with_no_preparation(engine, cdnow_path):
    report = import_file(
        engine,
        "transactions",
        cdnow_path,
        mapping={"customer_id": "1", "date": "3", "amount": "5", "quantity": "4"},
        actor=ADMIN,
    )
    assert report.ok, report.problems
    assert (report.rows_read, report.rows_added) == (6919, 6919)
    counts = table_counts(engine)
    assert counts["transactions"] == 6919 and counts["customers"] == 2357
    with engine.connect() as conn:
        first, last, total = conn.execute(
            sa.select(sa.func.min(TX.c.date), sa.func.max(TX.c.date), sa.func.sum(TX.c.amount))
        ).one()
    assert str(first)[:10] == "1997-01-01" and str(last)[:10] == "1998-06-30"
    expected = pd.read_csv(cdnow_path, sep=r"\s+", header=None)[4].sum()
    assert total == pytest.approx(expected, abs=0.005)


def test_reimporting_the_same_file_adds_nothing(engine, cdnow_path):
    mapping = {"customer_id": "1", "date": "3", "amount": "5"}
    first = import_file(engine, "transactions", cdnow_path, mapping=mapping, actor=ADMIN)
    before = table_counts(engine)
    again = import_file(engine, "transactions", cdnow_path, mapping=mapping, actor=ADMIN)
    assert again.ok and again.rows_added == 0
    assert again.already_imported_as == first.batch_id
    assert table_counts(engine) == before


def test_identical_rows_in_one_file_are_separate_purchases_and_all_kept(engine):
    data = _csv(
        "customer_id,date,amount\nA,2024-01-05,10.00\nA,2024-01-05,10.00\n"
        "A,2024-01-05,10.00\nB,2024-01-06,-4.50\n"
    )
    report = import_file(engine, "transactions", data, file_name="dupes.csv", actor=ADMIN)
    assert report.ok and report.rows_added == 4
    assert _amounts(engine) == [-4.5, 10.0, 10.0, 10.0]


def test_a_transaction_id_is_never_stored_twice_across_files(engine):
    import_file(
        engine,
        "transactions",
        _csv("txn,customer,date,amount\nT1,A,2024-01-01,5\nT2,A,2024-01-02,6\n"),
        file_name="a.csv",
        mapping={"transaction_id": "txn"},
        actor=ADMIN,
    )
    report = import_file(
        engine,
        "transactions",
        _csv("txn,customer,date,amount\nT2,A,2024-01-02,6\nT3,B,2024-01-03,7\n"),
        file_name="b.csv",
        mapping={"transaction_id": "txn"},
        actor=ADMIN,
    )
    assert report.ok
    assert (report.rows_added, report.rows_skipped) == (1, 1)
    assert table_counts(engine)["transactions"] == 3


def test_a_duplicate_transaction_id_within_a_file_writes_nothing(engine):
    before = table_counts(engine)
    report = import_file(
        engine,
        "transactions",
        _csv(
            "order_id,customer_id,date,amount\nX1,A,2024-01-01,5\nX2,A,2024-01-01,5\n"
            "X1,B,2024-01-02,9\n"
        ),
        file_name="dup-id.csv",
        actor=ADMIN,
    )
    _assert_rejected_and_unchanged(engine, report, before)
    problem = report.problems[0]
    assert (problem.row, problem.column) == (4, "transaction_id")
    assert "duplicate transaction id (first on row 2)" in problem.reason


@pytest.mark.parametrize(
    "body, row, column, value, words",
    [
        ("A,2024-02-30,10\n", 2, "date", "2024-02-30", "date like YYYY-MM-DD"),
        ("A,2024-01-01,ten\n", 2, "amount", "ten", "expected a number"),
        (",2024-01-01,10\n", 2, "customer_id", None, "'customer_id' is required"),
        ("A,,10\n", 2, "date", None, "'date' is required"),
    ],
    ids=["unparseable-date", "non-numeric-amount", "missing-customer", "missing-date"],
)
def test_a_bad_cell_is_reported_by_row_column_value_and_nothing_is_written(
    engine, body, row, column, value, words
):
    import_file(
        engine,
        "transactions",
        _csv("customer_id,date,amount\nZ,2024-01-01,1\n"),
        file_name="good.csv",
        actor=ADMIN,
    )
    before = table_counts(engine)
    report = import_file(
        engine,
        "transactions",
        _csv("customer_id,date,amount\nA,2024-01-01,1\n" + body.replace("A,", "A,", 1)).replace(
            b"\nA,2024-01-01,1\n", b"\n"
        ),
        file_name="bad.csv",
        actor=ADMIN,
    )
    _assert_rejected_and_unchanged(engine, report, before)
    [problem] = report.problems
    assert (problem.row, problem.column, problem.value) == (row, column, value)
    assert words in problem.reason


def test_a_missing_required_column_is_named_with_what_to_do(engine):
    before = table_counts(engine)
    report = import_file(
        engine,
        "transactions",
        _csv("customer_id,when,amount\nA,2024-01-01,1\n"),
        file_name="no-date.csv",
        actor=ADMIN,
    )
    _assert_rejected_and_unchanged(engine, report, before)
    reason = report.problems[0].reason
    assert "Required column 'date' missing" in reason and "--map date=COLUMN" in reason


@pytest.mark.parametrize(
    "payload, words",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not a table"),
        (b"customer_id,date,amount\n", "no data rows"),
    ],
    ids=["empty-file", "blank-lines-only", "binary-file", "header-only"],
)
def test_a_file_that_is_not_a_table_writes_nothing(engine, payload, words):
    before = table_counts(engine)
    report = import_file(engine, "transactions", payload, file_name="odd.csv", actor=ADMIN)
    _assert_rejected_and_unchanged(engine, report, before)
    assert words in report.problems[0].reason


def test_activities_for_an_unknown_customer_write_nothing(engine):
    import_file(
        engine,
        "transactions",
        _csv("customer_id,date,amount\nA,2024-01-01,1\n"),
        file_name="tx.csv",
        actor=ADMIN,
    )
    before = table_counts(engine)
    report = import_file(
        engine,
        "activities",
        _csv(
            "customer_id,date,activity,quantity\nA,2024-01-03,delivery,2\n"
            "GHOST,2024-01-04,support ticket,1\n"
        ),
        file_name="act.csv",
        actor=ADMIN,
    )
    _assert_rejected_and_unchanged(engine, report, before)
    [problem] = report.problems
    assert (problem.row, problem.column, problem.value) == (3, "customer_id", "GHOST")
    assert "unknown customer" in problem.reason


def test_a_bad_transactions_file_also_rolls_back_its_customers_file(engine):
    before = table_counts(engine)
    reports = import_files(
        engine,
        [
            ImportRequest("customers", _csv("customer_id,region\nA,North\nB,South\n"), "c.csv"),
            ImportRequest(
                "transactions", _csv("customer_id,date,amount\nA,2024-01-01,x\n"), "t.csv"
            ),
        ],
        actor=ADMIN,
    )
    assert reports[0].ok and not reports[1].ok
    assert all(r.batch_id is None and r.rows_added == 0 for r in reports)
    assert table_counts(engine) == before


def test_semicolon_latin1_file_with_decimal_commas_imports(engine):
    text = "Kunde;Datum;Umsatz\nMüller;2024-03-01;1.234,50\nJosé;2024-03-02;-12,75\n"
    report = import_file(
        engine,
        "transactions",
        _csv(text, "latin-1"),
        file_name="de.csv",
        mapping={"customer_id": "Kunde", "date": "Datum", "amount": "Umsatz"},
        actor=ADMIN,
    )
    assert report.ok, report.problems
    assert _amounts(engine) == [-12.75, 1234.5]
    with engine.connect() as conn:
        names = set(conn.execute(sa.select(TX.c.customer_id)).scalars())
    assert names == {"Müller", "José"}


def test_tab_separated_utf8_with_bom_and_day_first_dates_imports(engine):
    text = "\ufeffCustID\tOrderDate\tSales\nK1\t31/01/2024\t10\nK2\t01/02/2024\t20\n"
    report = import_file(
        engine,
        "transactions",
        text.encode("utf-8"),
        file_name="tabs.tsv",
        mapping={"customer_id": "CustID", "date": "OrderDate", "amount": "Sales"},
        actor=ADMIN,
    )
    assert report.ok, report.problems
    with engine.connect() as conn:
        dates = sorted(str(d)[:10] for d in conn.execute(sa.select(TX.c.date)).scalars())
    assert dates == ["2024-01-31", "2024-02-01"]


def test_ambiguous_slashed_dates_ask_for_a_date_format(engine):
    data = _csv("customer_id,date,amount\nA,03/04/2024,1\nB,05/06/2024,2\n")
    before = table_counts(engine)
    report = import_file(engine, "transactions", data, file_name="amb.csv", actor=ADMIN)
    _assert_rejected_and_unchanged(engine, report, before)
    assert "%d/%m/%Y (day first) or %m/%d/%Y (month first)" in report.problems[0].reason
    ok = import_file(
        engine, "transactions", data, file_name="amb.csv", date_format="%m/%d/%Y", actor=ADMIN
    )
    assert ok.ok
    with engine.connect() as conn:
        assert str(conn.execute(sa.select(sa.func.min(TX.c.date))).scalar())[:10] == "2024-03-04"


def test_xlsx_workbook_imports_with_spreadsheet_row_numbers_in_errors(engine):
    book = Workbook()
    sheet = book.active
    sheet.append(["Customer", "Invoice Date", "Net Amount"])
    sheet.append(["A", pd.Timestamp("2024-01-02").to_pydatetime(), 12.5])
    sheet.append(["B", "not a date", 3])
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_file(
        engine, "transactions", buffer.getvalue(), file_name="book.xlsx", actor=ADMIN
    )
    assert not report.ok
    assert (report.problems[0].row, report.problems[0].column) == (3, "date")
    sheet.delete_rows(3)
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_file(
        engine, "transactions", buffer.getvalue(), file_name="book.xlsx", actor=ADMIN
    )
    assert report.ok and report.rows_added == 1


def test_every_import_is_a_batch_with_provenance(engine):
    import_file(
        engine,
        "transactions",
        _csv("customer_id,date,amount\nA,2024-01-01,1\n"),
        file_name="one.csv",
        actor=Actor("ana", "admin"),
    )
    history = import_history(engine)
    row = history.iloc[0]
    assert (row["kind"], row["file_name"], row["rows_added"], row["created_by"]) == (
        "transactions",
        "one.csv",
        1,
        "ana",
    )
    with engine.connect() as conn:
        checksum = conn.execute(sa.select(schema.ImportBatch.__table__.c.checksum)).scalar()
    assert len(checksum) == 64


def _big_frame(n: int, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(start)
    return pd.DataFrame(
        {
            "transaction_id": [f"T{i:07d}" for i in range(start, start + n)],
            "customer_id": [f"C{i:05d}" for i in rng.integers(0, 5000, n)],
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "amount": rng.gamma(2.0, 50.0, n).round(2),
        }
    )


def test_a_large_load_rebuilds_its_indexes_and_still_skips_stored_ids(engine):
    first = import_file(engine, "transactions", _big_frame(60_000), file_name="big-1", actor=ADMIN)
    assert first.ok and first.rows_added == 60_000
    # Overlaps the first load by 30,000 ids and is big enough to take the rebuild path.
    second = import_file(
        engine, "transactions", _big_frame(60_000, start=30_000), file_name="big-2", actor=ADMIN
    )
    assert second.ok and (second.rows_added, second.rows_skipped) == (30_000, 30_000)
    inspector = sa.inspect(engine)
    names = {ix["name"] for ix in inspector.get_indexes("transactions")}
    assert {"ix_transactions_customer_date", "ux_transactions_transaction_id"} <= names
    with engine.connect() as conn:
        distinct = conn.execute(sa.select(sa.func.count(sa.distinct(TX.c.transaction_id)))).scalar()
    assert distinct == table_counts(engine)["transactions"] == 90_000


def test_a_bad_row_late_in_a_large_load_leaves_store_and_indexes_as_they_were(engine):
    import_file(
        engine,
        "transactions",
        _csv("customer_id,date,amount\nA,2024-01-01,1\n"),
        file_name="seed.csv",
        actor=ADMIN,
    )
    before = table_counts(engine)
    frame = _big_frame(80_000).astype({"amount": "str"})
    frame.loc[79_990, "amount"] = "12..5"
    report = import_file(engine, "transactions", frame, file_name="late-bad", actor=ADMIN)
    _assert_rejected_and_unchanged(engine, report, before)
    assert (report.problems[0].row, report.problems[0].value) == (79_992, "12..5")
    names = {ix["name"] for ix in sa.inspect(engine).get_indexes("transactions")}
    assert "ux_transactions_transaction_id" in names


def test_two_sessions_importing_the_same_file_at_once_store_it_once(store_url):
    import threading

    from planning.store.engine import open_store

    data = "customer_id,date,amount\n" + "".join(
        f"C{i},2024-01-{1 + i % 28:02d},{i}.5\n" for i in range(3000)
    )
    engines = [open_store(store_url) for _ in range(2)]
    reports = []
    barrier = threading.Barrier(2)

    def run(engine):
        barrier.wait()
        reports.append(
            import_file(engine, "transactions", data.encode(), file_name="same.csv", actor=ADMIN)
        )

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.rows_added for r in reports) == [0, 3000]
    assert sum(r.already_imported_as is not None for r in reports) == 1
    assert table_counts(engines[0])["transactions"] == 3000
    for e in engines:
        e.dispose()
