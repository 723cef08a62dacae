"""The Operating plan page and the Overview's live plan panel through AppTest."""

from __future__ import annotations

import datetime as dt

import pytest

from planning.core.access import Actor
from planning.ingest.demo import generate_company, load_company
from planning.plan import versions as ps
from planning.plan.planner import Planner
from tests.actors import ADMIN

PAGE = "pages/plan.py"


@pytest.fixture
def demo(store):
    company = generate_company(300, seed=9, end=dt.date(2025, 12, 31))
    assert all(r.ok for r in load_company(store, company, actor=ADMIN))
    return store


@pytest.fixture
def planned(demo):
    assert Planner(demo).recompute("manual", actor=Actor("test", "admin")).version_id == 1
    return demo


def test_without_a_plan_the_page_offers_to_compute_the_first_one(demo, open_app):
    at = open_app(PAGE)
    assert not at.exception
    assert "No plan has been computed for this store yet" in at.info[0].value

    at.button(key="plan_recompute").click().run(timeout=120)
    assert not at.exception
    assert ps.latest_version(demo).id == 1
    assert [m.label for m in at.metric][:2] == ["Revenue", "Contribution"]


def test_the_plan_shows_twelve_months_by_segment_with_totals(planned, open_app):
    at = open_app(PAGE)
    assert not at.exception
    assert "12 months from Jan 2026; last closed month Dec 2025" in at.caption[0].value
    table = at.dataframe[0].value
    assert len(table) == 12
    assert {"Small", "Mid-market", "Large", "Key account", "Total"} <= set(table.columns)
    keys = [c.key for c in at.get("plotly_chart")]
    assert keys == ["plan_chart", "plan_capacity"]

    at.segmented_control(key="plan_metric").set_value("Customers").run()
    assert not at.exception
    assert at.dataframe[0].value.columns[0] == "Customers"


def test_saving_a_capacity_limit_recomputes_and_shows_unserved_hours(planned, open_app):
    at = open_app(PAGE)
    at.number_input[0].set_value(100.0)
    at.button[1].click().run(timeout=120)  # the form's submit button
    assert not at.exception
    latest = ps.latest_version(planned)
    assert latest.id == 2 and latest.trigger == "assumption"
    assert ps.read_setting(planned, "plan")[0]["capacity_hours"] == 100.0
    figure = at.get("plotly_chart")[1].proto.spec
    assert "Not served" in figure and "Capacity" in figure


def test_the_overview_panel_shows_the_newest_version_and_why(planned, open_app):
    at = open_app()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Plan v1" in labels
    assert any("Plan v1, recomputed" in c.value for c in at.caption)


def test_the_overview_panel_says_when_there_is_no_plan(demo, open_app):
    at = open_app()
    assert not at.exception
    assert any("No plan has been computed yet" in i.value for i in at.info)


def test_an_assumption_saved_by_someone_else_after_the_page_loaded_is_not_overwritten(
    planned, open_app
):
    at = open_app(PAGE)
    # Another planner saves the capacity while this page is open.
    ps.write_setting(
        planned, "plan", {"capacity_hours": 55.0}, actor=Actor("ben", "planner"), expected_version=0
    )
    at.number_input[0].set_value(100.0)
    next(b for b in at.button if b.label == "Save assumptions and recompute").click().run()
    assert not at.exception
    assert any(
        "changed by ben" in e.value and "after you loaded version 0" in e.value for e in at.error
    )
    assert ps.read_setting(planned, "plan") == ({"capacity_hours": 55.0}, 1)
    assert ps.latest_version(planned).id == 1


def test_a_plan_version_is_restored_from_the_page_as_a_new_version(planned, open_app):
    ps.write_setting(planned, "budget", {"annual": 1_000.0}, actor=ADMIN, expected_version=0)
    assert Planner(planned).recompute("budget", actor=ADMIN).version_id == 2
    at = open_app(PAGE)
    at.button(key="plan_restore").click().run(timeout=120)
    assert not at.exception
    restored = ps.latest_version(planned)
    assert (restored.id, restored.trigger, restored.restored_from) == (3, "restore", 1)
    assert ps.load_content(planned, 3).fingerprint == ps.load_content(planned, 1).fingerprint
