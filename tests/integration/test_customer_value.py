"""Customer value from the store, on SQLite and PostgreSQL, against the demo company's truth.

The demo generator churns customers with known monthly hazards; scoring the store as of six
months before its end and looking at who bought afterwards checks that P(alive) separates the
customers who stayed from those who left (the AUC is printed for the closing note).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy import stats

from planning import value
from planning.core import columns as C
from planning.ingest.demo import generate_company, load_company
from planning.ingest.importing import import_file
from planning.store import schema
from planning.store.engine import open_store
from planning.value import scoring as cv
from tests.actors import ADMIN

END = dt.date(2025, 12, 31)
AS_OF = dt.date(2025, 6, 30)
CUSTOMERS = 1200


@pytest.fixture(scope="module")
def company():
    return generate_company(CUSTOMERS, seed=11, end=END)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_engine(request, company, tmp_path_factory):
    """A store holding the demo company, shared by this module's tests (read-only)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('value') / 'continuum.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = open_store(url)
    if request.param == "postgresql":
        names = ", ".join(t.name for t in schema.Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    assert all(r.ok for r in load_company(engine, company, actor=ADMIN))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def scored(demo_engine) -> cv.CustomerValue:
    return cv.score_customers(demo_engine, AS_OF)


def test_the_summary_computed_in_the_store_equals_the_one_from_the_transaction_log(
    demo_engine, company
):
    in_store = cv.purchase_summary(demo_engine, AS_OF)
    from_log = value.summarize_purchases(company.transactions, calibration_end=AS_OF)
    pd.testing.assert_frame_equal(
        in_store.reset_index(drop=True),
        from_log.reset_index(drop=True),
        check_exact=False,
        rtol=1e-9,
        check_dtype=False,
    )


def test_p_alive_separates_customers_who_buy_again_from_those_who_do_not(demo_engine, scored):
    tx = company_after(demo_engine)
    bought = scored.scores[C.CUSTOMER_ID].isin(tx)
    alive = scored.scores[value.P_ALIVE]
    auc = _auc(alive.to_numpy(), bought.to_numpy())
    print(
        f"\nP(alive) AUC for buying in the next 6 months: {auc:.3f} "
        f"({int(bought.sum())} of {len(bought)} bought)"
    )
    assert auc > 0.75


def test_expected_purchases_of_the_next_half_year_add_up_to_what_happened(demo_engine, scored):
    summary = scored.scores[[C.CUSTOMER_ID, value.FREQUENCY, value.RECENCY, value.T]]
    weeks = (END - AS_OF).days / 7
    expected = value.expected_transactions(scored.bgnbd, summary, weeks).sum()
    t = schema.Transaction.__table__
    days = (
        sa.select(t.c.customer_id, t.c.date)
        .distinct()
        .where(
            t.c.date > AS_OF, t.c.amount >= 0, t.c.customer_id.in_(summary[C.CUSTOMER_ID].tolist())
        )
    )
    with demo_engine.connect() as conn:
        actual = conn.execute(sa.select(sa.func.count()).select_from(days.subquery())).scalar()
    print(f"\nholdout purchase days: expected {expected:,.0f}, actual {actual:,}")
    assert expected == pytest.approx(actual, rel=0.10)


def company_after(engine) -> set[str]:
    t = schema.Transaction.__table__
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(t.c.customer_id).where(t.c.date > AS_OF, t.c.amount > 0)
            ).scalars()
        )


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    ranks = stats.rankdata(score)
    positives = label.sum()
    negatives = label.size - positives
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def test_clv_prices_each_customer_with_their_own_margin_and_cost_to_serve(scored):
    s = scored.scores
    assert (s[cv.WALLET] >= s[cv.YEARLY_SPEND] - 1e-9).all()
    positive = s[cv.MARGIN_RATE] >= 0
    assert (s.loc[positive, cv.HEADROOM] >= -1e-6).all()
    # a customer whose cost-to-serve per order exceeds the margin on an order is worth < 0
    losing = s[s[cv.MARGIN_RATE] * s[value.EXPECTED_SPEND] < s[cv.COST_PER_ORDER]]
    assert len(losing) and (losing[value.CLV] <= 1e-9).all()
    assert s[value.P_ALIVE].between(0, 1).all()


def test_segment_values_add_up_to_the_company_and_carry_intervals(scored, company):
    attrs = company.customers[[C.CUSTOMER_ID, C.SIZE]].rename(columns={C.SIZE: C.SEGMENT})
    table = cv.segment_value(scored, attrs)
    total = cv.company_value(scored)
    assert table[cv.CUSTOMERS].sum() == len(scored.scores)
    assert table[value.CLV].sum() == pytest.approx(total[value.CLV], rel=1e-12)
    assert (table[value.CLV + cv.LO] < table[value.CLV]).all()
    assert (table[value.CLV] < table[value.CLV + cv.HI]).all()
    # uncertainty grows less than proportionally: the company's interval is relatively tighter
    width = (table[value.CLV + cv.HI] - table[value.CLV + cv.LO]).sum()
    assert total[value.CLV + cv.HI] - total[value.CLV + cv.LO] < width
    assert set(table[C.SEGMENT]) == {"Small", "Mid-market", "Large", "Key account"}


def test_scores_as_of_a_date_ignore_everything_imported_for_later_days(tmp_path):
    url = f"sqlite:///{tmp_path / 'leak.db'}"
    engine = open_store(url)
    small = generate_company(300, seed=3, end=END)
    assert all(r.ok for r in load_company(engine, small, actor=ADMIN))
    before = cv.score_customers(engine, AS_OF).scores
    later = pd.DataFrame(
        {
            C.CUSTOMER_ID: small.customers[C.CUSTOMER_ID].iloc[:50],
            C.DATE: "2025-09-01",
            C.AMOUNT: 99_999.0,
        }
    )
    assert import_file(engine, "transactions", later, file_name="later.csv", actor=ADMIN).ok
    after = cv.score_customers(engine, AS_OF).scores
    engine.dispose()
    pd.testing.assert_frame_equal(before, after)


def test_a_store_without_repeat_buyers_gets_a_clear_message(engine):
    one_each = pd.DataFrame(
        {C.CUSTOMER_ID: ["A", "B"], C.DATE: ["2025-01-02", "2025-01-03"], C.AMOUNT: [10.0, 20.0]}
    )
    assert import_file(engine, "transactions", one_each, file_name="once.csv", actor=ADMIN).ok
    with pytest.raises(ValueError, match="need repeat purchases"):
        cv.score_customers(engine, dt.date(2025, 2, 1))
    with pytest.raises(ValueError, match="No purchases on or before 2024-12-31"):
        cv.score_customers(engine, dt.date(2024, 12, 31))
