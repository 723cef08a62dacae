"""Segment x month totals kept by imports equal grouping the cube by each customer attribute."""

from __future__ import annotations

import datetime as dt
import importlib.util

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from planning.core.defaults import DEFAULT_GROSS_MARGIN
from planning.core.options import ATTRIBUTE_LENSES
from planning.ingest.importing import import_file
from planning.store import cube, schema
from planning.store.engine import REPO_ROOT, table_counts
from planning.store.facts import UNASSIGNED, customer_month, segment_month
from tests.actors import ADMIN

SEGMENTS = schema.SegmentMonth.__table__


def _tx(body: str, name: str, engine) -> None:
    report = import_file(
        engine,
        "transactions",
        ("transaction_id,customer_id,date,amount,cost\n" + body).encode(),
        file_name=name,
        actor=ADMIN,
    )
    assert report.ok, report.problems


def _customers(body: str, name: str, engine) -> None:
    report = import_file(
        engine,
        "customers",
        ("customer_id,region,industry,size,channel\n" + body).encode(),
        file_name=name,
        actor=ADMIN,
    )
    assert report.ok, report.problems


def _direct(engine, lens: str, as_of: dt.date | None = None) -> pd.DataFrame:
    """Every transaction grouped by its customer's attribute and month, in pandas."""
    with engine.connect() as conn:
        tx = pd.read_sql("SELECT customer_id, date, amount, cost FROM transactions", conn)
        customers = pd.read_sql(f"SELECT customer_id, {lens} FROM customers", conn)
    tx["date"] = pd.to_datetime(tx["date"])
    if as_of is not None:
        tx = tx[tx["date"] <= pd.Timestamp(as_of)]
    tx["month"] = tx["date"].dt.to_period("M").dt.to_timestamp()
    tx = tx.merge(customers, on="customer_id", how="left")
    tx["segment"] = tx[lens].fillna(UNASSIGNED)
    tx["margin"] = tx["amount"] - tx["cost"].fillna(tx["amount"] * (1 - DEFAULT_GROSS_MARGIN))
    return tx.groupby(["segment", "month"], as_index=False).agg(
        revenue=("amount", "sum"),
        gross_margin=("margin", "sum"),
        customers=("customer_id", "nunique"),
        transactions=("amount", "size"),
    )


def _assert_every_lens_matches(engine, as_of: dt.date | None = None) -> None:
    for lens in ATTRIBUTE_LENSES:
        got = segment_month(engine, lens, as_of=as_of).reset_index(drop=True)
        want = _direct(engine, lens, as_of)
        assert (
            got[["segment", "month"]].astype(str).equals(want[["segment", "month"]].astype(str))
        ), lens
        for col in ("revenue", "gross_margin"):
            assert got[col].to_numpy() == pytest.approx(want[col].to_numpy(), abs=1e-6)
        assert got["customers"].tolist() == want["customers"].tolist(), lens
        assert got["transactions"].tolist() == want["transactions"].tolist(), lens


def test_overlapping_imports_count_each_buying_customer_once_per_month(engine):
    _customers("A,North,Retail,Small,Online\nB,South,Retail,Large,Partner\n", "c.csv", engine)
    _tx("T1,A,2024-01-05,100,60\nT2,B,2024-01-20,50,\nT3,C,2024-02-01,-20,-12\n", "1.csv", engine)
    # T3 is stored already; A buys again in January; D is new.
    _tx("T3,C,2024-02-01,-20,-12\nT4,A,2024-01-28,10,5\nT5,D,2024-03-03,7,\n", "2.csv", engine)
    _assert_every_lens_matches(engine)
    jan = segment_month(engine, "size").query("segment == 'Small'").iloc[0]
    assert (jan["customers"], jan["transactions"], jan["revenue"]) == (1, 2, 110.0)


def test_a_customers_file_moves_the_history_of_customers_it_changes(engine):
    _tx("T1,A,2024-01-05,100,60\nT2,B,2024-02-20,50,\n", "1.csv", engine)
    assert set(segment_month(engine, "region")["segment"]) == {UNASSIGNED}
    _customers("A,North,Retail,Small,Online\n", "c1.csv", engine)
    _assert_every_lens_matches(engine)
    _customers("A,South,,,\nB,East,Food,Large,Partner\n", "c2.csv", engine)  # blanks keep
    _assert_every_lens_matches(engine)
    assert set(segment_month(engine, "region")["segment"]) == {"South", "East"}


def test_new_or_unchanged_customers_do_not_rebuild_the_totals(engine, monkeypatch):
    _customers("A,North,Retail,Small,Online\n", "c1.csv", engine)
    _tx("T1,A,2024-01-05,100,60\n", "1.csv", engine)
    calls = []
    monkeypatch.setattr(cube, "rebuild_segments", lambda conn: calls.append(conn))
    _customers("A,North,Retail,Small,Online\nZ,West,Food,Mid,Online\n", "c2.csv", engine)
    assert calls == []
    _assert_every_lens_matches(engine)


def test_as_of_reads_stored_months_and_the_partial_month_from_transactions(engine):
    _customers("A,North,Retail,Small,Online\nB,South,Food,Large,Partner\n", "c.csv", engine)
    _tx(
        "T1,A,2024-01-05,1,\nT2,A,2024-02-10,2,1\nT3,B,2024-02-20,4,\nT4,B,2024-03-01,8,\n",
        "x.csv",
        engine,
    )
    _assert_every_lens_matches(engine, as_of=dt.date(2024, 2, 15))
    assert segment_month(engine, "size", as_of=dt.date(2024, 2, 15))["revenue"].sum() == 3.0


def test_a_rejected_import_leaves_the_segment_totals_as_they_were(engine):
    _tx("T1,A,2024-01-05,100,60\n", "1.csv", engine)
    before = (table_counts(engine), segment_month(engine, "size"))
    report = import_file(
        engine,
        "transactions",
        b"transaction_id,customer_id,date,amount\nT9,B,2024-01-05,1\nT10,B,2024-13-01,2\n",
        file_name="bad.csv",
        actor=ADMIN,
    )
    assert not report.ok
    assert table_counts(engine) == before[0]
    pd.testing.assert_frame_equal(segment_month(engine, "size"), before[1])


def test_the_migration_fills_the_totals_from_a_stored_cube(engine):
    _customers("A,North,Retail,Small,Online\n", "c.csv", engine)
    _tx("T1,A,2024-01-05,100,60\nT2,B,2024-02-20,50,\nT3,A,2024-02-21,5,\n", "1.csv", engine)
    kept = {lens: segment_month(engine, lens) for lens in ATTRIBUTE_LENSES}
    spec = importlib.util.spec_from_file_location(
        "m0006", REPO_ROOT / "alembic" / "versions" / "0006_segment_months.py"
    )
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE segment_months"))
        with Operations.context(MigrationContext.configure(conn)):
            migration.upgrade()
    for lens, frame in kept.items():
        pd.testing.assert_frame_equal(segment_month(engine, lens), frame)
    assert len(customer_month(engine)) == 3
