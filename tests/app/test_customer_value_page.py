"""The Customer value page through AppTest: headline values, segment tables, risk lists and the
single customer view, on a small demo company; and the messages for stores that cannot carry
the value models."""

from __future__ import annotations

import datetime as dt

import pytest

from planning.ingest.demo import generate_company, load_company
from tests.actors import ADMIN

PAGE = "pages/customer_value.py"


@pytest.fixture
def demo(store):
    company = generate_company(300, seed=5, end=dt.date(2025, 12, 31))
    assert all(r.ok for r in load_company(store, company, actor=ADMIN))
    return company


def test_the_page_values_the_company_with_an_interval_and_tables(demo, open_app):
    at = open_app(PAGE)

    assert not at.exception
    assert [t.value for t in at.title] == ["Customer value"]
    metrics = {m.label: m for m in at.metric}
    assert list(metrics) == [
        "Customer value (CLV)",
        "Potential value",
        "Headroom",
        "Mean P(alive)",
        "Value at risk",
    ]
    clv = metrics["Customer value (CLV)"]
    assert clv.value.startswith("$") and "90% interval $" in clv.proto.help
    assert [c.key for c in at.get("plotly_chart")] == ["value_by_segment", "value_p_alive"]
    tiers = at.dataframe[0].value
    assert set(tiers["segment"]) <= {"Platinum", "Gold", "Silver", "Bronze", "Loss-making"}
    assert tiers["customers"].sum() > 250


def test_switching_the_lens_to_size_regroups_the_table(demo, open_app):
    at = open_app(PAGE)
    at.session_state["segment_lens"] = "Size"
    at.run()

    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["segment"]) == {"Small", "Mid-market", "Large", "Key account"}
    assert "By size" in [h.value for h in at.subheader]


def test_opening_a_customer_shows_the_single_customer_view(demo, open_app):
    at = open_app(PAGE)
    headroom = at.dataframe[2].value
    customer = headroom["customer_id"].iloc[0]
    at.selectbox(key="value_customer_pick").set_value(customer).run()

    assert not at.exception
    assert any(customer in h.value for h in at.subheader)
    labels = [m.label for m in at.metric]
    assert {"P(alive)", "CLV", "Potential", "Headroom"} <= set(labels)
    assert f"customer_{customer}_months" in [c.key for c in at.get("plotly_chart")]


def test_searching_for_an_unknown_customer_says_so(demo, open_app):
    at = open_app(PAGE)
    at.text_input(key="value_customer_search").input("NOBODY").run()

    assert not at.exception
    assert any("No customer id starts with" in c.value for c in at.main.caption)


def test_a_store_without_enough_repeat_buyers_explains_why_there_is_no_value(company, open_app):
    at = open_app(PAGE)

    assert not at.exception
    assert len(at.warning) == 1
    assert "need repeat purchases from at least two customers" in at.warning[0].value
    assert not at.metric


def test_an_empty_store_points_to_the_data_page(store, open_app):
    at = open_app(PAGE)

    assert not at.exception
    assert "no data to value yet" in at.info[0].value
