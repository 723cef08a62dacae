"""Bulk loads on both stores: binary COPY round trips, self-numbered rows, indexes and the cube
come back right, and a repeat found late in a large load still writes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from planning.ingest.importing import import_file
from planning.store import schema
from planning.store.bulk import write_rows
from planning.store.cube import CubeBuilder, chunk_totals
from planning.store.engine import table_counts
from planning.store.facts import customer_month
from tests.actors import ADMIN

TX = schema.Transaction.__table__
CUSTOMERS = schema.Customer.__table__


def _frame(n: int, start: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cost = rng.gamma(2.0, 30.0, n).round(2)
    cost[rng.random(n) < 0.2] = np.nan  # some transactions carry no cost of goods
    return pd.DataFrame(
        {
            "transaction_id": [f"T{i:07d}" for i in range(start, start + n)],
            "customer_id": [f"C{i:05d}" for i in rng.integers(0, 3000, n)],
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
            "amount": rng.gamma(2.0, 50.0, n).round(2) - 20,  # refunds too
            "cost": cost,
        }
    )


def _index_names(engine) -> set[str]:
    return {ix["name"] for ix in sa.inspect(engine).get_indexes("transactions")}


def test_every_column_type_and_null_survives_the_bulk_write(engine):
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(["A", "Zoë 東京", "C"], dtype="str"),
            "name": pd.Series(['Acme, "Ltd"', None, "tab\there"], dtype="str"),
            "acquisition_date": pd.to_datetime(["1999-12-31", None, "2024-02-29"]).astype(
                "datetime64[s]"
            ),
            "payment_terms_days": pd.array([30, None, -5], dtype="Int64"),
            "batch_id": [None, None, None],
        }
    ).drop(columns="batch_id")
    with engine.begin() as conn:
        write_rows(conn, CUSTOMERS, frame, conflict="update", keys=["customer_id"])
    with engine.connect() as conn:
        got = pd.read_sql(
            sa.select(
                CUSTOMERS.c.customer_id,
                CUSTOMERS.c.name,
                CUSTOMERS.c.acquisition_date,
                CUSTOMERS.c.payment_terms_days,
            ).order_by(CUSTOMERS.c.customer_id),
            conn,
        )
    assert got["customer_id"].tolist() == ["A", "C", "Zoë 東京"]
    assert got["name"].tolist()[0] == 'Acme, "Ltd"' and got["name"].tolist()[1] == "tab\there"
    assert pd.isna(got["name"].tolist()[2])
    assert [
        str(d)[:10] if d is not None and not pd.isna(d) else None for d in got["acquisition_date"]
    ] == ["1999-12-31", "2024-02-29", None]
    assert got["payment_terms_days"].tolist()[:2] == [30, -5]
    assert pd.isna(got["payment_terms_days"].tolist()[2])


def test_a_value_beyond_a_32_bit_column_is_refused_not_wrapped(engine):
    frame = pd.DataFrame(
        {"customer_id": ["A"], "payment_terms_days": pd.array([2**31], dtype="Int64")}
    )
    if engine.dialect.name == "postgresql":
        with pytest.raises(OverflowError), engine.begin() as conn:
            write_rows(conn, CUSTOMERS, frame)
        assert table_counts(engine)["customers"] == 0


def test_a_customers_file_with_payment_terms_beyond_32_bits_is_rejected_by_cell(engine):
    data = b"customer_id,payment_terms_days\nA,30\nB,3000000000\n"
    report = import_file(engine, "customers", data, file_name="terms.csv", actor=ADMIN)
    assert not report.ok and table_counts(engine)["customers"] == 0
    [problem] = report.problems
    assert (problem.row, problem.column, problem.value) == (3, "payment_terms_days", "3000000000")
    assert "whole number" in problem.reason


def test_a_large_load_numbers_its_rows_and_later_imports_continue_after_them(engine):
    first = import_file(engine, "transactions", _frame(60_000), file_name="big", actor=ADMIN)
    assert first.ok and first.rows_added == 60_000
    small = import_file(
        engine, "transactions", _frame(10, start=60_000, seed=1), file_name="small", actor=ADMIN
    )
    assert small.ok and small.rows_added == 10
    with engine.connect() as conn:
        count, distinct, low = conn.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(TX.c.id)), sa.func.min(TX.c.id))
        ).one()
    assert count == distinct == 60_010 and low >= 1
    assert {
        "ix_transactions_customer_date",
        "ix_transactions_date",
        "ux_transactions_transaction_id",
    } <= _index_names(engine)
    assert sa.inspect(engine).get_pk_constraint("transactions")["constrained_columns"] == ["id"]


def test_a_repeated_id_late_in_a_large_load_writes_nothing_and_keeps_the_indexes(engine):
    import_file(engine, "transactions", _frame(5, start=900_000), file_name="seed", actor=ADMIN)
    before = table_counts(engine)
    frame = _frame(70_000)
    frame.loc[69_990, "transaction_id"] = frame.loc[12, "transaction_id"]
    report = import_file(engine, "transactions", frame, file_name="late-repeat", actor=ADMIN)
    assert not report.ok and table_counts(engine) == before
    [problem] = report.problems
    assert (problem.row, problem.column) == (69_992, "transaction_id")
    assert "first on row 14" in problem.reason
    assert "ux_transactions_transaction_id" in _index_names(engine)
    assert sa.inspect(engine).get_pk_constraint("transactions")["constrained_columns"] == ["id"]


def test_the_cube_of_a_large_load_adds_up_to_its_transactions(engine):
    frames = [_frame(60_000, seed=2), _frame(20_000, start=60_000, seed=3)]
    for i, frame in enumerate(frames):
        assert import_file(engine, "transactions", frame, file_name=f"part-{i}", actor=ADMIN).ok
    expected = pd.concat(frames)
    expected["month"] = expected["date"].dt.to_period("M").dt.to_timestamp()
    direct = expected.groupby(["customer_id", "month"]).agg(
        revenue=("amount", "sum"), transactions=("amount", "size")
    )
    cube = customer_month(engine).set_index(["customer_id", "month"]).sort_index()
    assert len(cube) == len(direct)
    assert np.allclose(cube["revenue"].to_numpy(), direct["revenue"].to_numpy())
    assert (cube["transactions"].to_numpy() == direct["transactions"].to_numpy()).all()
    key = sa.inspect(engine).get_pk_constraint("customer_months")["constrained_columns"]
    assert key == ["customer_id", "month"]  # dropped for the first load, built again


def test_cube_totals_are_summed_and_sorted_by_customer_and_month():
    frame = _frame(5_000, seed=4)
    builder = CubeBuilder()
    for start in range(0, len(frame), 1_000):
        builder.add(chunk_totals(frame.iloc[start : start + 1_000]))
    totals = builder.totals()
    frame["month"] = frame["date"].dt.to_period("M").dt.to_timestamp()
    has_cost = frame["cost"].notna()
    frame["costed"] = frame["cost"].fillna(0.0)
    frame["uncosted"] = frame["amount"].where(~has_cost, 0.0)
    expected = frame.groupby(["customer_id", "month"], as_index=False).agg(
        revenue=("amount", "sum"),
        cost=("costed", "sum"),
        uncosted_revenue=("uncosted", "sum"),
        transactions=("amount", "size"),
    )
    assert totals["customer_id"].tolist() == expected["customer_id"].tolist()
    assert (totals["month"].to_numpy() == expected["month"].to_numpy()).all()
    for column in ("revenue", "cost", "uncosted_revenue"):
        assert np.allclose(totals[column], expected[column])
    assert totals["transactions"].tolist() == expected["transactions"].tolist()
    assert not builder
