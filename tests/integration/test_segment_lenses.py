"""Segment lenses from the store, on SQLite and PostgreSQL: the little company by hand, rule sets
kept in the store, the migration matrix, and the property that every lens partitions the
customers known on the date, for generated companies and for the demo company."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from little_company import ASSUMPTIONS, END, load

from planning.core import columns as C
from planning.core.options import LENSES
from planning.ingest.demo import generate_company, load_company
from planning.ingest.importing import import_file
from planning.profit.profitability import company_pnl, customer_pnl, segment_pnl
from planning.segments.lenses import ValueTiers, assign_segments, migration_matrix, window_start
from planning.segments.lifecycle import p_alive_as_of
from planning.segments.rules import (
    Condition,
    SegmentRule,
    delete_rule_set,
    load_rules,
    rule_sets,
    save_rules,
)
from planning.store import schema
from tests.actors import ADMIN


def _segments(frame: pd.DataFrame) -> dict[str, str]:
    return frame.set_index(C.CUSTOMER_ID)["segment"].astype(str).to_dict()


def test_attribute_lens_of_the_little_company(engine):
    load(engine)
    assert _segments(assign_segments(engine, "attribute", END, attribute="size")) == {
        "A": "Large",
        "B": "Small",
        "C": "Small",
        "D": "Small",
    }
    assert _segments(assign_segments(engine, "attribute", END, attribute="region")) == {
        "A": "North",
        "B": "South",
        "C": "Unassigned",
        "D": "Unassigned",
    }
    # D is acquired on 20 March: not a customer yet on the 19th.
    assert "D" not in _segments(assign_segments(engine, "attribute", dt.date(2024, 3, 19)))


def test_value_lens_of_the_little_company(engine):
    load(engine)
    # Contributions A 778.47, B 8.36, C -297.19, D 0: two profitable customers.
    assert _segments(assign_segments(engine, "value", END, assumptions=ASSUMPTIONS)) == {
        "A": "Silver",
        "B": "Bronze",
        "C": "Loss-making",
        "D": "Bronze",
    }
    halves = ValueTiers(cuts=(("Top half", 0.5),), rest="Rest")
    assert _segments(assign_segments(engine, "value", END, tiers=halves)) == {
        "A": "Top half",
        "B": "Rest",
        "C": "Loss-making",
        "D": "Rest",
    }


def test_lifecycle_lens_uses_the_probability_alive_it_is_given(engine):
    load(engine)
    extra = b"customer_id,date,amount\nE,2023-01-10,100\nE,2023-10-05,100\nF,2023-06-10,80\n"
    assert import_file(engine, "transactions", extra, file_name="more.csv", actor=ADMIN).ok
    p_alive = pd.Series({"A": 0.3, "B": 0.9, "E": 0.9})

    stages = _segments(assign_segments(engine, "lifecycle", END, p_alive=p_alive))

    # A, B, C first bought within 90 days; D was acquired 11 days ago.
    assert stages == {
        "A": "New",
        "B": "New",
        "C": "New",
        "D": "New",
        "E": "Won back",  # bought again in October after 8 empty months
        "F": "Lapsed",
    }  # nothing since June 2023
    later = dt.date(2024, 5, 31)  # A (last bought in March) no longer new, and at risk
    assert _segments(assign_segments(engine, "lifecycle", later, p_alive=p_alive))["A"] == "At risk"


def test_rules_are_kept_in_the_store_and_assign_in_order(engine):
    load(engine)
    rules = [
        SegmentRule("Large accounts", (Condition("size", "in", ("Large",)),)),
        SegmentRule("Unprofitable", (Condition("contribution", "<", 0),)),
    ]
    save_rules(engine, rules, rule_set="review", actor=ADMIN)

    assert load_rules(engine, "review") == tuple(rules)
    assert rule_sets(engine) == ["review"]
    assert _segments(assign_segments(engine, "rules", END, rule_set="review")) == {
        "A": "Large accounts",
        "B": "Other",
        "C": "Unprofitable",
        "D": "Other",
    }
    save_rules(engine, rules[::-1], rule_set="review", actor=ADMIN)  # replacing reorders
    assert [r.name for r in load_rules(engine, "review")] == ["Unprofitable", "Large accounts"]
    assert delete_rule_set(engine, "review", actor=ADMIN) == 2
    with pytest.raises(ValueError, match="There is no rule set 'review'"):
        assign_segments(engine, "rules", END, rule_set="review")


def test_a_stored_rule_that_is_no_longer_valid_is_named(engine):
    table = schema.SegmentRule.__table__
    with engine.begin() as conn:
        conn.execute(
            sa.insert(table).values(
                rule_set="old",
                position=0,
                name="Broken",
                conditions='[{"field": "colour"}]',
                updated_at=dt.datetime.now(dt.UTC),
            )
        )
    with pytest.raises(ValueError, match="Segment rule 'Broken' is invalid"):
        load_rules(engine, "old")


def test_migration_matrix_counts_movers_and_newcomers(engine):
    load(engine)
    moves = migration_matrix(
        engine, "attribute", dt.date(2024, 1, 31), END, attribute="size", assumptions=ASSUMPTIONS
    )
    assert moves[["from_segment", "to_segment", "customers"]].values.tolist() == [
        ["Small", "Small", 2],
        ["Large", "Large", 1],
        ["Not yet a customer", "Small", 1],
    ]
    large = moves.set_index("from_segment").loc["Large"]
    assert (large["revenue_from"], large["revenue_to"]) == (1000.0, 3500.0)
    assert large["contribution_to"] == 778.47
    value = migration_matrix(engine, "value", dt.date(2024, 1, 31), END)
    assert value["customers"].sum() == 4


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda e: assign_segments(e, "colour", END), "Unknown lens 'colour'"),
        (lambda e: assign_segments(e, "attribute", END, attribute="age"), "Unknown attribute"),
        (
            lambda e: assign_segments(e, "value", dt.date(2020, 1, 1)),
            "as of 2020-01-01 is before the first transaction \\(2024-01-10\\)",
        ),
        (lambda e: migration_matrix(e, "value", END, END), "must be before to_date"),
    ],
    ids=["unknown-lens", "unknown-attribute", "before-the-data", "dates-not-in-order"],
)
def test_bad_requests_are_refused_with_a_clear_message(engine, call, words):
    load(engine)
    with pytest.raises(ValueError, match=words):
        call(engine)


def test_an_empty_store_says_there_is_nothing_to_segment(engine):
    with pytest.raises(ValueError, match="holds no transactions yet"):
        assign_segments(engine, "value", END)


# --------------------------------------------------------------------------- properties


def _clear(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(schema.Base.metadata.sorted_tables):
            if table.name != "audit_log":  # append-only: the store refuses DELETE
                conn.execute(sa.delete(table))


day = st.dates(dt.date(2023, 1, 1), dt.date(2024, 12, 31))
company = st.fixed_dictionaries(
    {
        "transactions": st.lists(
            st.tuples(st.integers(0, 9), day, st.integers(-500, 5000).map(lambda c: c / 10)),
            min_size=1,
            max_size=40,
        ),
        "sizes": st.lists(st.sampled_from(["Small", "Large", ""]), min_size=10, max_size=10),
        "acquired": st.lists(st.one_of(st.none(), day), min_size=10, max_size=10),
        "visits": st.lists(st.tuples(st.integers(0, 9), day), max_size=10),
        "as_of": day,
    }
)


def _load_generated(engine, data: dict) -> set[str]:
    """Import a generated company; return the customers known on its as-of date."""
    rows = "".join(f"K{c},{d},{a}\n" for c, d, a in data["transactions"])
    assert import_file(
        engine,
        "transactions",
        f"customer_id,date,amount\n{rows}".encode(),
        file_name="t.csv",
        actor=ADMIN,
    ).ok
    customers = "".join(f"K{k},{data['sizes'][k]},{data['acquired'][k] or ''}\n" for k in range(10))
    assert import_file(
        engine,
        "customers",
        f"customer_id,size,acquisition_date\n{customers}".encode(),
        file_name="c.csv",
        actor=ADMIN,
    ).ok
    visits = data["visits"]  # every K0..K9 is in the customers file, so may have activities
    if visits:
        assert import_file(
            engine, "rates", b"activity,rate\nsales_visit,300\n", file_name="r.csv", actor=ADMIN
        ).ok
        rows = "".join(f"K{c},{d},sales_visit\n" for c, d in visits)
        assert import_file(
            engine,
            "activities",
            f"customer_id,date,activity\n{rows}".encode(),
            file_name="a.csv",
            actor=ADMIN,
        ).ok
    as_of = data["as_of"]
    known = {f"K{c}" for c, d, _ in data["transactions"] if d <= as_of}
    known |= {f"K{k}" for k, d in enumerate(data["acquired"]) if d is not None and d <= as_of}
    known |= {f"K{c}" for c, d in visits if d <= as_of}
    return known


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=company)
def test_every_lens_partitions_the_known_customers_of_a_generated_company(engine, data):
    _clear(engine)
    known = _load_generated(engine, data)
    as_of = data["as_of"]
    first = min(d for _, d, _ in data["transactions"])
    save_rules(
        engine,
        [
            SegmentRule("Losing", (Condition("contribution", "<", 0),)),
            SegmentRule("Recent", (Condition("recency_days", "<=", 60),)),
        ],
        actor=ADMIN,
    )
    p_alive = pd.Series(np.linspace(0, 1, 10), index=[f"K{k}" for k in range(10)])
    pnl = customer_pnl(engine, start=window_start(as_of, 12), end=as_of)
    assert set(pnl[C.CUSTOMER_ID]) == known
    for lens in LENSES:
        if as_of < first:
            with pytest.raises(ValueError, match="before the first transaction"):
                assign_segments(engine, lens, as_of, p_alive=p_alive)
            continue
        out = assign_segments(engine, lens, as_of, p_alive=p_alive)
        assert out[C.CUSTOMER_ID].is_unique, lens
        assert set(out[C.CUSTOMER_ID]) == known, lens
        assert out["segment"].notna().all(), lens
        table = segment_pnl(pnl, out)
        total = company_pnl(pnl)
        assert table["customers"].sum() == len(known)
        assert round(table["contribution"].sum() * 100) == round(total["contribution"] * 100)


@pytest.fixture(scope="module")
def demo_company():
    return generate_company(customers=300, seed=5, months=24, end=dt.date(2025, 6, 30))


@pytest.mark.slow
def test_every_lens_partitions_the_demo_company_on_several_dates(engine, demo_company):
    load_company(engine, demo_company, actor=ADMIN)
    for as_of in (dt.date(2024, 1, 15), dt.date(2025, 6, 30)):
        known = None
        for lens in LENSES:
            if lens == "rules":
                save_rules(
                    engine, [SegmentRule("Big", (Condition("size", "==", "Large"),))], actor=ADMIN
                )
            out = assign_segments(engine, lens, as_of)
            ids = set(out[C.CUSTOMER_ID])
            assert len(ids) == len(out), lens
            known = ids if known is None else known
            assert ids == known, lens  # every lens covers the same customers
        pnl = customer_pnl(engine, start=window_start(as_of, 12), end=as_of)
        assert set(pnl[C.CUSTOMER_ID]) == known


@pytest.mark.slow
def test_demo_p_alive_separates_who_buys_again(engine, demo_company):
    load_company(engine, demo_company, actor=ADMIN)
    as_of = dt.date(2024, 12, 31)
    p_alive = p_alive_as_of(engine, as_of)
    tx = demo_company.transactions
    later = set(tx.loc[pd.to_datetime(tx[C.DATE]) > pd.Timestamp(as_of), C.CUSTOMER_ID])
    bought_again = p_alive.index.isin(list(later))
    # Customers who buy again had a higher p(alive) than those who do not.
    assert p_alive[bought_again].mean() > p_alive[~bought_again].mean() + 0.2
    stages = assign_segments(engine, "lifecycle", as_of, p_alive=p_alive)
    lapsed = set(stages.loc[stages["segment"] == "Lapsed", C.CUSTOMER_ID])
    assert len(lapsed & later) < 0.2 * len(lapsed)
