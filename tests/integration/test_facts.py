"""The customer x month cube kept by imports equals aggregating the transactions directly."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from planning.core import columns as C
from planning.core.defaults import DEFAULT_GROSS_MARGIN
from planning.ingest.demo import generate_company, load_company
from planning.ingest.importing import import_file
from planning.store.facts import customer_month, segment_month
from tests.actors import ADMIN


def _direct(engine, as_of=None) -> pd.DataFrame:
    with engine.connect() as conn:
        tx = pd.read_sql("SELECT customer_id, date, amount, cost FROM transactions", conn)
    tx["date"] = pd.to_datetime(tx["date"])
    if as_of is not None:
        tx = tx[tx["date"] <= pd.Timestamp(as_of)]
    tx["month"] = tx["date"].dt.to_period("M").dt.to_timestamp()
    tx["cost"] = tx["cost"].fillna(tx["amount"] * (1 - DEFAULT_GROSS_MARGIN))
    return tx.groupby(["customer_id", "month"], as_index=False).agg(
        revenue=("amount", "sum"), cost=("cost", "sum"), transactions=("amount", "size")
    )


def _compare(left: pd.DataFrame, right: pd.DataFrame) -> None:
    keys = ["customer_id", "month"]
    a = left.sort_values(keys).reset_index(drop=True)
    b = right.sort_values(keys).reset_index(drop=True)
    assert a[keys].astype(str).equals(b[keys].astype(str))
    for col in ("revenue", "cost"):
        assert a[col].to_numpy() == pytest.approx(b[col].to_numpy(), abs=1e-6)
    assert (a["transactions"].to_numpy() == b["transactions"].to_numpy()).all()


def test_the_cube_matches_the_transactions_across_overlapping_imports(engine):
    first = (
        "transaction_id,customer_id,date,amount,cost\n"
        "T1,A,2024-01-05,100,60\nT2,A,2024-01-20,50,\nT3,B,2024-02-01,-20,-12\n"
    )
    second = (
        "transaction_id,customer_id,date,amount,cost\n"
        "T3,B,2024-02-01,-20,-12\nT4,A,2024-01-28,10,5\nT5,C,2024-03-03,7,\n"
    )
    assert import_file(engine, "transactions", first.encode(), file_name="1.csv", actor=ADMIN).ok
    report = import_file(engine, "transactions", second.encode(), file_name="2.csv", actor=ADMIN)
    assert (report.rows_added, report.rows_skipped) == (2, 1)
    import_file(
        engine,
        "transactions",
        b"customer_id,date,amount\nA,2024-01-05,100\n",
        file_name="3.csv",
        actor=ADMIN,
    )
    _compare(customer_month(engine), _direct(engine))
    jan = customer_month(engine).query("customer_id == 'A'").iloc[0]
    assert (jan["revenue"], jan["transactions"]) == (260.0, 4)


def test_as_of_uses_only_transactions_on_or_before_that_day(engine):
    import_file(
        engine,
        "transactions",
        b"customer_id,date,amount\nA,2024-01-05,1\nA,2024-02-10,2\nA,2024-02-20,4\n"
        b"B,2024-03-01,8\n",
        file_name="x.csv",
        actor=ADMIN,
    )
    as_of = dt.date(2024, 2, 15)
    cube = customer_month(engine, as_of=as_of)
    _compare(cube, _direct(engine, as_of))
    assert cube["revenue"].sum() == 3.0


def test_segments_of_every_lens_add_up_to_the_company(engine):
    company = generate_company(400, seed=11, end=dt.date(2025, 6, 30))
    assert all(r.ok for r in load_company(engine, company, actor=ADMIN))
    total = company.transactions[C.AMOUNT].sum()
    for lens in ("size", "region", "industry", "channel"):
        seg = segment_month(engine, lens)
        assert seg["revenue"].sum() == pytest.approx(total, abs=0.01)
        assert (
            seg.groupby("month")["customers"]
            .sum()
            .equals(customer_month(engine).groupby("month").size().rename("customers"))
        )
