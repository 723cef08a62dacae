"""The What-if allocation page through AppTest: optimise, move the budget, lock a cell, save."""

from __future__ import annotations

import pytest

from planning.allocation.scenarios import list_scenarios, load_scenario
from planning.core.access import Actor

PAGE = "pages/allocation.py"
TIMEOUT = 120


@pytest.fixture
def demo(demo_1000):
    return demo_1000


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_page_optimises_the_baseline_and_draws_every_chart(demo, open_app):
    at = open_app(PAGE)
    assert not at.exception
    assert at.title[0].value == "What-if allocation"
    metrics = _metrics(at)
    assert list(metrics) == ["Net profit", "P10", "P90", "Spend", "ROI"]
    assert all(v.startswith("$") for k, v in metrics.items() if k in ("Net profit", "Spend"))
    keys = {c.key for c in at.get("plotly_chart")}
    assert {
        "alloc_bars",
        "alloc_curve",
        "alloc_marginal",
        "alloc_frontier",
        "alloc_distribution",
    } <= keys
    assert any("planner assumptions" in c.value for c in at.caption)


def test_moving_the_budget_slider_resolves_with_the_new_budget(demo, open_app):
    at = open_app(PAGE)
    at.select_slider(key="alloc_budget").set_value(5000).run(timeout=TIMEOUT)
    assert not at.exception
    assert _metrics(at)["Spend"] == "$5,000"
    assert any("The whole $5,000 budget is spent" in c.value for c in at.caption)


def test_trying_a_spend_on_one_cell_reoptimises_the_rest(demo, open_app):
    at = open_app(PAGE)
    at.selectbox(key="alloc_cell").set_value("Large · Acquisition").run(timeout=TIMEOUT)
    at.select_slider(key="alloc_try").set_value(0).run(timeout=TIMEOUT)
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Spending **$0** here and re-optimising the rest" in text
    assert "against the optimum" in text and "**-$" in text  # worse than optimal


def test_saving_the_scenario_stores_it_with_who_saved_it(demo, open_app):
    at = open_app(PAGE)
    at.select_slider(key="alloc_budget").set_value(7000).run(timeout=TIMEOUT)
    at.text_input(key="alloc_save_name").set_value("Lean month")
    save = next(b for b in at.button if b.label == "Save scenario")
    save.click().run(timeout=TIMEOUT)
    assert not at.exception
    assert "Saved scenario 'Lean month' (version 1)" in at.success[0].value
    assert list_scenarios(demo)["name"].tolist() == ["Lean month"]
    assert load_scenario(demo, "Lean month").budget == 7000.0


def test_rules_that_cannot_hold_are_explained_on_the_page(demo, open_app):
    from planning.allocation.levers import CellRule
    from planning.allocation.scenarios import Scenario, save_scenario

    save_scenario(
        demo,
        Scenario("Tight", 5_000.0, rules={("Large", "acquisition"): CellRule(min_spend=9_000.0)}),
        actor=Actor("ana", "admin"),
    )
    at = open_app(PAGE)
    at.selectbox(key="alloc_start").set_value("Tight").run(timeout=TIMEOUT)
    assert not at.exception
    assert "These rules cannot all hold" in at.error[0].value
    assert "$9,000, above the $5,000 budget" in at.error[0].value


def test_an_empty_store_says_what_to_do(store, open_app):
    at = open_app(PAGE)
    assert not at.exception
    assert "There is nothing to allocate yet" in at.info[0].value
