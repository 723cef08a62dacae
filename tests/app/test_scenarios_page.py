"""The Scenarios page through AppTest: two scenarios side by side with P(A beats B)."""

from __future__ import annotations

import dataclasses

import pytest

from planning.allocation.scenarios import Scenario, save_scenario
from planning.allocation.strategy import default_treatment
from planning.core.access import Actor

PAGE = "pages/scenarios.py"
TIMEOUT = 120


@pytest.fixture
def demo(demo_1000):
    return demo_1000


def test_with_only_the_baseline_the_page_points_to_what_if_allocation(demo, open_app):
    at = open_app(PAGE)
    assert not at.exception
    assert "Only the baseline exists" in at.info[0].value


def test_two_scenarios_side_by_side_with_the_chance_one_beats_the_other(demo, open_app):
    premium = dataclasses.replace(default_treatment("Key account"), service_tier="premium")
    save_scenario(
        demo,
        Scenario(
            "Premium keys", 9_000.0, "Key accounts on premium", treatments={"Key account": premium}
        ),
        actor=Actor("ana", "admin"),
    )
    at = open_app(PAGE)
    assert not at.exception
    assert at.selectbox(key="scn_a").value == "Premium keys"
    assert at.selectbox(key="scn_b").value == "baseline"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["P(A beats B)"].endswith("%")
    assert metrics["Net profit, A"].startswith("$")
    inputs = at.dataframe[0].value
    assert inputs["input"].tolist() == ["Monthly budget", "Treatment: Key account"]
    outcomes = at.dataframe[1].value.set_index("metric")
    assert "Treatments: effect on the existing base" in outcomes.index
    assert outcomes.loc["Treatments: effect on the existing base", "b"] == 0
    assert {c.key for c in at.get("plotly_chart")} == {"scn_overlay", "scn_difference"}
    assert "saved by ana" in at.caption[0].value


def test_the_same_scenario_twice_is_not_compared(demo, open_app):
    save_scenario(demo, Scenario("Lean", 5_000.0), actor=Actor("ana", "admin"))
    at = open_app(PAGE)
    at.selectbox(key="scn_b").set_value("Lean").run(timeout=TIMEOUT)
    assert not at.exception
    assert "Pick two different scenarios" in at.info[0].value
