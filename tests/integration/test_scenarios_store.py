"""Strategy, scenarios and the optimizer against real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from planning.allocation.calibration import load_spend_history
from planning.allocation.levers import CellRule, load_inputs
from planning.allocation.scenarios import (
    BASELINE,
    CurveOverride,
    Scenario,
    UnknownScenario,
    compare_scenarios,
    delete_scenario,
    evaluate_scenario,
    list_scenarios,
    load_scenario,
    optimize_scenario,
    save_scenario,
)
from planning.allocation.solver import InfeasibleProblem
from planning.allocation.strategy import (
    DEFAULT_INITIATIVES,
    StaleWrite,
    default_treatment,
    load_initiatives,
    load_treatments,
    save_initiatives,
    save_treatments,
)
from planning.cli import main as cli
from planning.core.access import Actor
from planning.ingest.demo import generate_company, load_company
from planning.store.engine import table_counts
from tests.actors import ADMIN

END = dt.date(2025, 12, 31)


@pytest.fixture
def demo(engine):
    """The store holding a 1,000-customer demo company (36 months to END)."""
    reports = load_company(engine, generate_company(1000, seed=3, end=END), actor=ADMIN)
    assert all(r.ok for r in reports)
    return engine


def test_treatments_default_until_saved_then_keep_who_and_version(engine):
    assert load_treatments(engine, ["Key account"])["Key account"] == default_treatment(
        "Key account"
    )
    key = default_treatment("Key account")
    saved = save_treatments(
        engine, [dataclasses.replace(key, payment_terms_days=45)], actor=Actor("ana", "admin")
    )
    stored = load_treatments(engine)["Key account"]
    assert stored.payment_terms_days == 45 and stored.version == 1 == saved["Key account"].version
    assert stored.updated_by == "ana" and stored.eligible_programs == key.eligible_programs


def test_a_stale_treatment_save_is_refused_and_changes_nothing(engine):
    first = save_treatments(engine, [default_treatment("Large")], actor=Actor("ana", "admin"))[
        "Large"
    ]
    save_treatments(
        engine, [dataclasses.replace(first, credit_limit=1.0)], actor=Actor("ben", "admin")
    )
    with pytest.raises(StaleWrite, match=r"saved by ben .version 2. after you opened version 1"):
        save_treatments(
            engine, [dataclasses.replace(first, credit_limit=9.0)], actor=Actor("ana", "admin")
        )
    assert load_treatments(engine)["Large"].credit_limit == 1.0


def test_an_invalid_treatment_is_named_and_not_saved(engine):
    bad = dataclasses.replace(
        default_treatment("Small"), service_tier="gold", payment_terms_days=400
    )
    with pytest.raises(ValueError, match=r"unknown service tier 'gold'.*payment terms must be"):
        save_treatments(engine, [bad], actor=Actor("ana", "admin"))
    assert table_counts(engine)["treatments"] == 0


def test_initiatives_start_from_the_default_portfolio_and_save_edits(engine):
    assert load_initiatives(engine) == DEFAULT_INITIATIVES
    edited = [dataclasses.replace(DEFAULT_INITIATIVES[0], impact=5), *DEFAULT_INITIATIVES[2:]]
    save_initiatives(engine, edited, actor=Actor("ana", "admin"))
    stored = {i.name: i for i in load_initiatives(engine)}
    assert len(stored) == len(DEFAULT_INITIATIVES) - 1
    assert stored[DEFAULT_INITIATIVES[0].name].impact == 5
    assert stored[DEFAULT_INITIATIVES[0].name].version == 1
    with pytest.raises(StaleWrite):  # read at version 0, stored at 1
        save_initiatives(engine, [DEFAULT_INITIATIVES[0]], actor=Actor("ben", "admin"))
    with pytest.raises(ValueError, match="impact must be a whole number from 1 to 5"):
        save_initiatives(
            engine,
            [dataclasses.replace(DEFAULT_INITIATIVES[1], impact=9)],
            actor=Actor("ben", "admin"),
        )
    assert len(load_initiatives(engine)) == len(DEFAULT_INITIATIVES) - 1


def test_a_scenario_round_trips_with_every_input_and_its_audit_trail(engine):
    scenario = Scenario(
        "Retention push",
        180_000.0,
        "More on keeping Large accounts",
        rules={
            ("Large", "retention"): CellRule(min_spend=5_000.0, max_spend=40_000.0),
            ("Small", "acquisition"): CellRule(locked=8_000.0),
        },
        program_caps={"acquisition": 60_000.0},
        segment_caps={"Small": 30_000.0},
        capacity=40.0,
        hurdle_rate=0.1,
        curve_overrides=(
            CurveOverride(
                "Key account",
                "retention",
                "hill",
                {"beta": 0.2, "half_saturation": 3_000.0, "shape": 1.5},
                dt.date(2026, 11, 3),
                "pilot",
            ),
        ),
        treatments={
            "Key account": dataclasses.replace(
                default_treatment("Key account"), service_tier="premium"
            )
        },
    )
    saved = save_scenario(engine, scenario, actor=Actor("ana", "admin"))
    loaded = load_scenario(engine, "Retention push")
    assert saved.version == loaded.version == 1
    assert loaded.created_by == "ana" and loaded.updated_by == "ana"
    assert loaded.inputs_json() == scenario.inputs_json()
    assert loaded.curve_overrides[0].model().source == "planner assumption, 2026-11-03: pilot"
    again = save_scenario(
        engine, dataclasses.replace(loaded, budget=190_000.0), actor=Actor("ben", "admin")
    )
    assert again.version == 2 and again.created_by == "ana" and again.updated_by == "ben"
    listing = list_scenarios(engine)
    assert listing["name"].tolist() == ["Retention push"]
    assert listing["updated_by"].tolist() == ["ben"]


def test_a_stale_scenario_save_or_delete_is_refused(engine):
    first = save_scenario(engine, Scenario("A", 1_000.0), actor=Actor("ana", "admin"))
    save_scenario(engine, dataclasses.replace(first, budget=2_000.0), actor=Actor("ben", "admin"))
    with pytest.raises(StaleWrite, match="Scenario 'A' was saved by ben"):
        save_scenario(
            engine, dataclasses.replace(first, budget=3_000.0), actor=Actor("ana", "admin")
        )
    with pytest.raises(StaleWrite):
        save_scenario(
            engine, Scenario("A", 5.0), actor=Actor("cy", "admin")
        )  # new, but the name is taken
    with pytest.raises(StaleWrite):
        delete_scenario(engine, "A", actor=Actor("ana", "admin"), version=1)
    assert load_scenario(engine, "A").budget == 2_000.0
    delete_scenario(engine, "A", actor=Actor("ben", "admin"), version=2)
    with pytest.raises(UnknownScenario, match=r"Unknown scenario 'A'\. Scenarios: baseline\."):
        load_scenario(engine, "A")


def test_spend_history_is_read_up_to_the_as_of_date(demo):
    history = load_spend_history(demo, as_of=dt.date(2024, 12, 31))
    assert history["month"].max() == dt.datetime(2024, 12, 1)
    assert set(history["program"]) == {"acquisition", "retention", "cross_sell", "win_back"}


def test_optimizing_the_baseline_spends_the_budget_on_the_best_returns(demo):
    inputs = load_inputs(demo, as_of=END)
    allocation = optimize_scenario(demo, BASELINE, budget=8_000.0, as_of=END, inputs=inputs)
    cells = allocation.cells
    assert allocation.spend == pytest.approx(8_000.0, rel=1e-9)
    assert "budget" in allocation.binding and allocation.multiplier > 1
    assert set(cells["segment"]) == {"Small", "Mid-market", "Large", "Key account"}
    assert "service_tier" in set(cells["program"])
    free = cells[cells["binding"] == ""]
    assert (abs(free["marginal_return"] / allocation.multiplier - 1) < 1e-6).all()
    sources = set(cells["source"])
    assert any(s.startswith("calibrated on ") for s in sources)
    assert any(s.startswith("planner assumption, ") for s in sources)


def test_a_scenario_with_impossible_rules_is_explained(demo):
    save_scenario(
        demo,
        Scenario("Tight", 10_000.0, rules={("Large", "acquisition"): CellRule(min_spend=12_000.0)}),
        actor=Actor("ana", "admin"),
    )
    with pytest.raises(InfeasibleProblem, match="add up to \\$12,000, above the \\$10,000"):
        optimize_scenario(demo, "Tight", as_of=END)


def test_two_scenarios_compare_on_the_same_draws(demo):
    inputs = load_inputs(demo, as_of=END)
    base = evaluate_scenario(
        demo, load_scenario(demo, BASELINE, inputs=inputs), inputs=inputs, draws=500
    )
    richer = evaluate_scenario(
        demo, Scenario("More", base.scenario.budget * 1.5), inputs=inputs, draws=500
    )
    result = compare_scenarios(richer, base)
    assert result.inputs["input"].tolist() == ["Monthly budget"]
    assert 0.0 <= result.comparison.p_a_beats_b <= 1.0
    expected = result.outcomes.set_index("metric").loc["Expected net profit"]
    assert expected["a"] >= expected["b"]  # more budget never lowers the optimum


def test_the_optimize_command_writes_every_cell_and_the_totals(demo, store_url, tmp_path):
    out = tmp_path / "alloc.json"
    code = cli.main(
        [
            "--db",
            store_url,
            "optimize",
            "--scenario",
            "baseline",
            "--budget",
            "8000",
            "--as-of",
            END.isoformat(),
            "--draws",
            "300",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["totals"]["spend"] == pytest.approx(8_000.0, rel=1e-6)
    cell = doc["cells"][0]
    assert {
        "segment",
        "program",
        "spend",
        "min",
        "max",
        "locked",
        "expected_incremental_contribution",
        "contribution_p10",
        "contribution_p90",
        "marginal_return",
        "curve",
    } <= set(cell)
    assert set(cell["curve"]) == {"family", "params", "source"}
    assert doc["totals"]["net_profit_p10"] <= doc["totals"]["net_profit_p90"]
    assert doc["multiplier"] > 1 and doc["binding"] == ["budget"]


def test_the_optimize_command_rejects_bad_input_without_writing(demo, store_url, tmp_path, capsys):
    out = tmp_path / "alloc.json"
    before = table_counts(demo)
    assert cli.main(["--db", store_url, "optimize", "--scenario", "nope", "--out", str(out)]) == 1
    assert "Unknown scenario 'nope'" in capsys.readouterr().err
    save_scenario(
        demo,
        Scenario("Tight", 10_000.0, rules={("Large", "acquisition"): CellRule(min_spend=12_000.0)}),
        actor=Actor("ana", "admin"),
    )
    assert cli.main(["--db", store_url, "optimize", "--scenario", "Tight", "--out", str(out)]) == 1
    assert "Minimum spends and locked cells add up to $12,000" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        cli.main(["--db", store_url, "optimize", "--budget", "-1", "--out", str(out)])
    assert usage.value.code == 2
    assert not out.exists()
    after = table_counts(demo)
    saved = ("scenarios", "audit_log")  # the scenario this test saved, and its audit entry
    assert {k: v for k, v in after.items() if k not in saved} == {
        k: v for k, v in before.items() if k not in saved
    }
