"""Undoing an import batch on both stores: every table as before the batch, derived tables
exact, admins only, once only, the same file importable again, the plan as if the batch had
never been imported, the command line's exit codes, and the migration that makes it possible."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url

from planning.cli.common import ENV_PASSWORD, ENV_USER
from planning.cli.main import main
from planning.core import columns as C
from planning.core.access import PermissionDenied
from planning.ingest.demo import generate_company
from planning.ingest.importing import ImportRequest, import_file, import_files
from planning.ingest.undo import UndoRefused, list_batches, undo_batch
from planning.plan import versions as ps
from planning.plan.planner import Planner
from planning.store import audit, schema
from planning.store.engine import REPO_ROOT, create_store_engine, open_store, table_counts
from planning.team import auth
from tests.actors import ADMIN, PLANNER, VIEWER
from tests.integration import little_company

LATER = b"""customer_id,date,amount,cost
A,2024-03-20,700,400
B,2024-02-10,50,
E,2024-03-02,120,80
E,2024-04-02,80,
"""
LATEST = b"""customer_id,date,amount,cost
A,2024-03-25,300,
E,2024-04-15,60,40
"""
# Rows without a stable id: the store's own surrogate keys and the audit log.
_IGNORED = {"id"}
_SNAPSHOT = (
    "customers",
    "transactions",
    "activities",
    "rates",
    "spend",
    "customer_months",
    "segment_months",
)


def _table(engine: Engine, name: str, *, batch_ids: bool = True) -> pd.DataFrame:
    table = schema.TABLES[name]
    columns = [c for c in table.c if c.name not in _IGNORED and (batch_ids or c.name != "batch_id")]
    with engine.connect() as conn:
        frame = pd.DataFrame(
            conn.execute(sa.select(*columns)).all(), columns=[c.name for c in columns]
        )
    keys = [c.name for c in columns]
    frame = frame.astype({c.name: "float64" for c in columns if isinstance(c.type, sa.Float)})
    return frame.sort_values(keys, ignore_index=True, key=lambda s: s.astype(str))


def _snapshot(engine: Engine, *, batch_ids: bool = True) -> dict[str, pd.DataFrame]:
    return {name: _table(engine, name, batch_ids=batch_ids) for name in _SNAPSHOT}


def _assert_same(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    for name, frame in expected.items():
        # Sums recomputed in SQL may differ from the import's in the last bits of a double.
        pd.testing.assert_frame_equal(got[name], frame, check_exact=False, rtol=1e-12, obj=name)


def _counts_but_audit(engine: Engine) -> dict[str, int]:
    return {k: v for k, v in table_counts(engine).items() if k != "audit_log"}


def _import(engine: Engine, kind: str, content: bytes, name: str) -> int:
    report = import_file(engine, kind, content, file_name=name, actor=ADMIN)
    assert report.ok and report.batch_id is not None, report.summary()
    return report.batch_id


def _batch(engine: Engine, batch_id: int) -> pd.Series:
    batches = list_batches(engine).set_index("id")
    return batches.loc[batch_id]


def test_undoing_the_latest_batch_leaves_every_table_as_it_was_before_it(engine):
    little_company.load(engine)
    before, counts, entries = (
        _snapshot(engine),
        _counts_but_audit(engine),
        audit.audit_count(engine),
    )
    batch = _import(engine, "transactions", LATER, "later.csv")
    assert _counts_but_audit(engine) != counts
    report = undo_batch(engine, ADMIN, batch)
    _assert_same(_snapshot(engine), before)
    # The batch keeps its row, marked undone; the audit log holds the import and its undo.
    assert _counts_but_audit(engine) == {**counts, "import_batches": counts["import_batches"] + 1}
    assert audit.audit_count(engine) == entries + 2
    assert report.removed == {"customer_months": 2, "transactions": 4, "customers": 1}
    assert report.months == (dt.date(2024, 2, 1), dt.date(2024, 3, 1), dt.date(2024, 4, 1))
    assert report.first_day == dt.date(2024, 2, 10) and report.plan_reason == f"undid batch {batch}"
    row = _batch(engine, batch)
    assert row["undone_by"] == ADMIN.name and row["undone_at"] >= row["created_at"]
    entry = audit.read_audit(engine, ADMIN, limit=1).iloc[0]
    assert (entry["action"], entry["target"]) == ("import undo", f"batch {batch}: later.csv")
    assert '"transactions": 4' in entry["before"] and '"2024-04"' in entry["after"]


def test_undoing_a_batch_a_later_one_built_on_keeps_the_later_rows_exact(engine):
    little_company.load(engine)
    base = _snapshot(engine)
    first = _import(engine, "transactions", LATER, "later.csv")
    second = _import(engine, "transactions", LATEST, "latest.csv")
    report = undo_batch(engine, ADMIN, first)
    # E was created by the first batch; the second still buys for E, so E stays, now its.
    assert report.customers_kept == 1 and report.kept_examples == ("E",)
    assert "1 customer(s) it created stay because other batches use them (E)" in report.summary()
    customers = _table(engine, "customers").set_index(C.CUSTOMER_ID)
    assert customers.loc["E", "batch_id"] == second
    without_first = _snapshot(engine, batch_ids=False)
    # Undo the second too: the store is the little company again, cube and segments exact.
    undo_batch(engine, ADMIN, second)
    _assert_same(_snapshot(engine), base)
    # Importing the second file again gives the store that never had the first batch.
    again = _import(engine, "transactions", LATEST, "latest.csv")
    assert again not in (first, second)
    _assert_same(_snapshot(engine, batch_ids=False), without_first)


def test_a_file_imports_again_after_its_batch_was_undone_with_the_same_totals(engine):
    little_company.load(engine)
    batch = _import(engine, "transactions", LATER, "later.csv")
    imported = _snapshot(engine, batch_ids=False)
    repeated = import_file(engine, "transactions", LATER, file_name="later.csv", actor=ADMIN)
    assert repeated.already_imported_as == batch
    undo_batch(engine, ADMIN, batch)
    again = _import(engine, "transactions", LATER, "later.csv")
    assert again != batch
    _assert_same(_snapshot(engine, batch_ids=False), imported)
    repeated = import_file(engine, "transactions", LATER, file_name="later.csv", actor=ADMIN)
    assert repeated.already_imported_as == again


@pytest.mark.parametrize("who", [VIEWER, PLANNER], ids=["viewer", "planner"])
def test_a_viewer_or_planner_cannot_undo_and_the_store_is_unchanged(engine, who):
    little_company.load(engine)
    batch = _import(engine, "transactions", LATER, "later.csv")
    before, counts, entries = _snapshot(engine), table_counts(engine), audit.audit_count(engine)
    with pytest.raises(PermissionDenied, match="undoing an import batch needs the admin role"):
        undo_batch(engine, who, batch)
    _assert_same(_snapshot(engine), before)
    assert table_counts(engine) == counts and audit.audit_count(engine) == entries
    assert pd.isna(_batch(engine, batch)["undone_at"])


def test_undoing_twice_or_an_unknown_batch_is_refused_and_changes_nothing(engine):
    little_company.load(engine)
    batch = _import(engine, "transactions", LATER, "later.csv")
    undo_batch(engine, ADMIN, batch)
    after, entries = _snapshot(engine), audit.audit_count(engine)
    with pytest.raises(
        UndoRefused, match=f"Batch {batch} \\(later.csv\\) was already undone by {ADMIN.name}"
    ):
        undo_batch(engine, ADMIN, batch)
    with pytest.raises(UndoRefused, match="There is no import batch 999"):
        undo_batch(engine, ADMIN, 999)
    _assert_same(_snapshot(engine), after)
    assert audit.audit_count(engine) == entries


def test_a_customers_file_that_updated_customers_cannot_be_undone(engine):
    little_company.load(engine)
    update = b"customer_id,size,region\nA,Small,West\nF,Large,East\n"
    batch = _import(engine, "customers", update, "moves.csv")
    before = _snapshot(engine)
    with pytest.raises(
        UndoRefused,
        match="updated 1 existing customer\\(s\\); the values they had before are not stored",
    ):
        undo_batch(engine, ADMIN, batch)
    _assert_same(_snapshot(engine), before)


def test_a_rates_file_that_replaced_stored_rates_cannot_be_undone(engine):
    little_company.load(engine)
    report = import_file(
        engine,
        "rates",
        b"activity,rate,effective_from\norder,11,2024-01-01\norder,15,2024-06-01\n",
        file_name="rates2.csv",
        actor=ADMIN,
    )
    assert (report.rows_added, report.rows_skipped) == (1, 1)
    assert "1 stored row(s) updated" in report.summary()
    with pytest.raises(UndoRefused, match="updated 1 stored activity rate\\(s\\)"):
        undo_batch(engine, ADMIN, report.batch_id)


def test_undoing_a_customers_file_drops_its_unused_customers_and_strips_the_used(
    engine, another_store
):
    customers = _import(engine, "customers", little_company.CUSTOMERS, "customers.csv")
    _import(engine, "transactions", little_company.TRANSACTIONS, "transactions.csv")
    report = undo_batch(engine, ADMIN, customers)
    # D never bought: gone. A, B and C stay as the transactions file would have made them.
    assert report.removed == {"customers": 1} and report.customers_kept == 3
    assert report.first_day is None
    only_transactions = _snapshot(engine, batch_ids=False)
    stored = _table(engine, "customers")
    assert list(stored[C.CUSTOMER_ID]) == ["A", "B", "C"]
    assert stored.drop(columns=[C.CUSTOMER_ID, "batch_id"]).isna().all().all()
    segments = _table(engine, "segment_months")
    assert set(segments[C.SEGMENT]) == {"Unassigned"}

    _import(another_store, "transactions", little_company.TRANSACTIONS, "transactions.csv")
    _assert_same(_snapshot(another_store, batch_ids=False), only_transactions)


def test_activities_rates_and_spend_batches_undo_to_the_store_before_them(engine):
    little_company.load(engine, activities=False)
    before = _snapshot(engine)
    rates = _import(engine, "rates", little_company.RATES, "rates.csv")
    activities = _import(engine, "activities", little_company.ACTIVITIES, "activities.csv")
    spend = _import(
        engine,
        "spend",
        b"month,segment,program,spend\n2024-01-01,Large,retention,"
        b"500\n2024-02-01,Small,acquisition,250\n",
        "spend.csv",
    )
    reports = [undo_batch(engine, ADMIN, b) for b in (spend, activities, rates)]
    assert [r.removed for r in reports] == [
        {"spend": 2, "customers": 0},
        {"activities": 10, "customers": 0},
        {"rates": 4, "customers": 0},
    ]
    assert reports[0].first_day == dt.date(2024, 1, 1)
    assert reports[1].first_day == dt.date(2023, 12, 15)
    _assert_same(_snapshot(engine), before)


# ---------------------------------------------------------------------------- the plan

PLAN_END = dt.date(2025, 10, 31)


@pytest.fixture(scope="module")
def company():
    return generate_company(300, seed=21, end=PLAN_END)


def _load_company(engine: Engine, company) -> None:
    frames = {
        "customers": company.customers,
        "transactions": company.transactions,
        "rates": company.rates,
        "activities": company.activities,
        "spend": company.spend,
    }
    reports = import_files(
        engine, [ImportRequest(k, f, f"demo-{k}") for k, f in frames.items()], actor=ADMIN
    )
    assert all(r.ok for r in reports), [r.summary() for r in reports]


def _corrections(company) -> pd.DataFrame:
    """Extra mid-2025 purchases of existing customers: the last day of data stays the same."""
    tx = company.transactions
    rows = tx[(tx[C.DATE] >= "2025-06-01") & (tx[C.DATE] < "2025-08-01")].head(60).copy()
    rows[C.TRANSACTION_ID] = "X" + rows[C.TRANSACTION_ID].astype(str)
    rows[C.AMOUNT] = rows[C.AMOUNT] * 3
    return rows.reset_index(drop=True)


def _lines(engine: Engine, version_id: int | None) -> pd.DataFrame:
    assert version_id is not None
    lines = ps.load_lines(engine, version_id)
    return lines.sort_values(list(lines.columns[:3]), ignore_index=True)


def test_the_plan_after_an_undo_equals_the_plan_of_a_store_that_never_had_the_batch(
    engine, another_store, company
):
    _load_company(engine, company)
    planner = Planner(engine)
    planner.recompute("manual", actor=ADMIN, reason="first plan")
    report = import_file(
        engine, "transactions", _corrections(company), file_name="corrections.csv", actor=ADMIN
    )
    assert report.ok
    with_batch = planner.recompute(
        "import", actor=ADMIN, reason="corrections", changed_from=dt.date(2025, 6, 1)
    )
    assert with_batch.version_id is not None
    undone = undo_batch(engine, ADMIN, report.batch_id)
    assert undone.first_day is not None and undone.first_day >= dt.date(2025, 6, 1)
    # The same planner reloads history only from the first day the batch touched.
    after = planner.recompute(
        "import", actor=ADMIN, reason=undone.plan_reason, changed_from=undone.first_day
    )
    assert ps.get_version(engine, after.version_id).reason == f"undid batch {report.batch_id}"

    _load_company(another_store, company)
    never = Planner(another_store).recompute("manual", actor=ADMIN, reason="never had it")
    got, expected = _lines(engine, after.version_id), _lines(another_store, never.version_id)
    # PostgreSQL sums the recomputed cube rows in another order than a fresh load's; the
    # forecast fits carry that last-bit noise to ~1e-8 of a value (measured), far below a cent.
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-7, atol=1e-4)
    assert not _lines(engine, with_batch.version_id).equals(got)


# ---------------------------------------------------------------------------- command line


def test_the_command_line_lists_undoes_and_refuses_with_its_exit_codes(
    store_url, capsys, monkeypatch
):
    engine = open_store(store_url)
    try:
        little_company.load(engine)
        batch = _import(engine, "transactions", LATER, "later.csv")
    finally:
        engine.dispose()
    assert main(["--db", store_url, "imports", "list"]) == 0
    out = capsys.readouterr().out
    assert "later.csv" in out and "undone" not in out
    assert main(["--db", store_url, "imports", "undo", str(batch)]) == 0
    out = capsys.readouterr().out
    assert f"Undid batch {batch} (transactions, later.csv): removed" in out
    assert "no operating plan yet" in out
    assert main(["--db", store_url, "imports", "undo", str(batch)]) == 1
    assert "already undone" in capsys.readouterr().err
    assert main(["--db", store_url, "imports", "undo", "999"]) == 1
    assert "There is no import batch 999" in capsys.readouterr().err
    assert main(["--db", store_url, "imports", "list"]) == 0
    assert "undone" in capsys.readouterr().out


def test_the_command_line_refuses_a_viewer_with_exit_code_4(store_url, capsys, monkeypatch):
    monkeypatch.setenv(auth.ENV_AUTH, "required")
    engine = open_store(store_url)
    try:
        little_company.load(engine)
        batch = _import(engine, "transactions", LATER, "later.csv")
        auth.add_user(engine, ADMIN, "vera", "viewer", password="a long viewer password")
        counts = table_counts(engine)
    finally:
        engine.dispose()
    monkeypatch.setenv(ENV_USER, "vera")
    monkeypatch.setenv(ENV_PASSWORD, "a long viewer password")
    assert main(["--db", store_url, "imports", "undo", str(batch)]) == 4
    assert "needs the admin role" in capsys.readouterr().err
    engine = open_store(store_url)
    try:
        assert table_counts(engine) == counts
    finally:
        engine.dispose()


def test_the_command_line_recomputes_the_plan_after_an_undo(store_url, company, capsys):
    engine = open_store(store_url)
    try:
        _load_company(engine, company)
        batch = _import_frame(engine, _corrections(company))
        Planner(engine).recompute("manual", actor=ADMIN, reason="first plan")
    finally:
        engine.dispose()
    assert main(["--db", store_url, "imports", "undo", str(batch)]) == 0
    assert "Plan version 2 (import)" in capsys.readouterr().out
    engine = open_store(store_url)
    try:
        latest = ps.latest_version(engine)
        assert latest is not None and latest.reason == f"undid batch {batch}"
    finally:
        engine.dispose()


def _import_frame(engine: Engine, frame: pd.DataFrame) -> int:
    report = import_file(engine, "transactions", frame, file_name="corrections.csv", actor=ADMIN)
    assert report.ok and report.batch_id is not None
    return report.batch_id


# ---------------------------------------------------------------------------- migration


@pytest.fixture
def blank_url(store_url, tmp_path) -> Iterator[str]:
    """A URL to a new, empty store (not migrated) on the same backend as ``store_url``."""
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'another.db'}"
        return
    name = f"continuum_undo_{secrets.token_hex(4)}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def another_store(blank_url) -> Iterator[Engine]:
    """A second empty, migrated store on the same backend as ``engine``."""
    engine = open_store(blank_url)
    yield engine
    engine.dispose()


def _upgrade(url: str, revision: str) -> None:
    engine = create_store_engine(url)
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


_BATCHES = (
    "INSERT INTO import_batches (id, kind, file_name, checksum, rows_read, rows_added, "
    "rows_skipped, created_at, created_by, mapping) VALUES "
    "(1, 'customers', 'c.csv', 'c1', 2, 2, 0, '2026-01-01 10:00:00', 'ann', ''), "
    "(2, 'rates', 'r.csv', 'r1', 1, 1, 0, '2026-01-02 10:00:00', 'ann', ''), "
    "(3, 'spend', 's.csv', 's1', 1, 1, 0, '2026-01-03 10:00:00', 'ann', '')"
)


def test_the_migration_keeps_a_stores_batches_and_references_and_lets_undone_files_repeat(
    blank_url,
):
    url = blank_url
    _upgrade(url, "0009")
    engine = create_store_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(_BATCHES)
        conn.exec_driver_sql(
            "INSERT INTO customers (customer_id, size, batch_id) VALUES "
            "('A', 'Large', 1), ('B', NULL, 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO activity_rates (id, activity, rate, effective_from, "
            "batch_id) VALUES (1, 'order', 10, '2024-01-01', 2)"
        )
        conn.exec_driver_sql(
            "INSERT INTO program_spend (id, month, segment, program, spend, "
            "batch_id) VALUES (1, '2024-01-01', 'Large', 'retention', 5, 3)"
        )
    engine.dispose()
    engine = open_store(url)  # upgrades to head
    try:
        batches = list_batches(engine)
        assert list(batches["id"]) == [3, 2, 1] and batches["undone_at"].isna().all()
        assert list(batches["created_by"]) == ["ann"] * 3
        counts = table_counts(engine)
        assert (counts["customers"], counts["rates"], counts["spend"]) == (2, 1, 1)
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.exec_driver_sql("INSERT INTO customers (customer_id, batch_id) VALUES ('Z', 9)")
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        # The same file twice is refused while its batch stands, allowed once it is undone.
        repeat = _BATCHES.split("VALUES")[0] + (
            "VALUES (4, 'customers', 'c.csv', 'c1', 2, 2, 0, '2026-02-01', 'bo', '')"
        )
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.exec_driver_sql(repeat)
        undo_batch(engine, ADMIN, 1)
        assert table_counts(engine)["customers"] == 0
        with engine.begin() as conn:
            conn.exec_driver_sql(repeat)
    finally:
        engine.dispose()
