"""The continuous planner on both stores: exactly-downstream recomputes, determinism, versions
per trigger, month close rolling the horizon, and the plan as of a past moment."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from planning.core import columns as C
from planning.core.access import Actor
from planning.ingest.demo import generate_company
from planning.ingest.importing import ImportRequest, import_file, import_files
from planning.plan import operating_plan as op
from planning.plan import versions as ps
from planning.plan.planner import Planner
from tests.actors import ADMIN

END = dt.date(2025, 10, 31)
SEPTEMBER_END = pd.Timestamp("2025-09-30")


@pytest.fixture(scope="module")
def company():
    return generate_company(300, seed=21, end=END)


def _load(engine, company, until: pd.Timestamp) -> None:
    frames = {
        "customers": company.customers,
        "transactions": company.transactions[company.transactions[C.DATE] <= until],
        "rates": company.rates,
        "activities": company.activities[company.activities[C.DATE] <= until],
        "spend": company.spend[company.spend[C.MONTH] <= until],
    }
    reports = import_files(
        engine, [ImportRequest(k, f, f"demo-{k}") for k, f in frames.items()], actor=ADMIN
    )
    assert all(r.ok for r in reports), [r.summary() for r in reports]


@pytest.fixture
def planned(engine, company):
    """A store with the company up to 30 Sep 2025 and its first plan."""
    _load(engine, company, SEPTEMBER_END)
    planner = Planner(engine)
    first = planner.recompute("manual", actor=Actor("test", "admin"), reason="first plan")
    return planner, first


def test_the_first_plan_covers_twelve_months_after_the_last_closed_one(engine, planned):
    _, first = planned
    assert first.version_id is not None
    version = ps.get_version(engine, first.version_id)
    assert version.last_closed_month == dt.date(2025, 9, 1)
    assert version.horizon_start == dt.date(2025, 10, 1)
    table = op.plan_table(ps.load_lines(engine, first.version_id))
    assert table[C.MONTH].nunique() == 12
    assert set(table[C.SEGMENT]) == {"Small", "Mid-market", "Large", "Key account"}
    flows = table[op.OPENING] + table[op.ACQUIRED] - table[op.CHURNED] + table[op.WON_BACK]
    assert (flows - table[op.CLOSING]).abs().max() < 1e-6
    contribution = (
        table[op.GROSS_MARGIN]
        - table[op.COST_TO_SERVE]
        - table[op.FINANCING_COST]
        - table[op.PROGRAM_SPEND]
    )
    assert (contribution - table[op.CONTRIBUTION]).abs().max() < 1e-6
    assert set(version.node_timings) >= {"load", "value", "forecasts", "plan"}


def test_unchanged_inputs_recompute_nothing_and_write_no_version(engine, planned):
    planner, _first = planned
    again = planner.recompute("manual", actor=Actor("test", "admin"))
    assert again.recomputed == ()
    assert again.version_id is None
    assert len(ps.list_versions(engine)) == 1


def test_a_budget_move_recomputes_only_allocation_plan_and_variance(engine, planned):
    planner, first = planned
    ps.write_setting(
        engine, "budget", {"annual": 40_000.0}, actor=Actor("ana", "admin"), expected_version=0
    )
    moved = planner.recompute("budget", actor=Actor("ana", "admin"))
    assert moved.recomputed == ("allocation", "plan", "variance", "result")
    assert moved.version_id == first.version_id + 1
    assert ps.get_version(engine, moved.version_id).trigger == "budget"
    spend = op.plan_table(ps.load_lines(engine, moved.version_id))[op.PROGRAM_SPEND].sum()
    before = op.plan_table(ps.load_lines(engine, first.version_id))[op.PROGRAM_SPEND].sum()
    assert spend < before


def test_an_assumption_edit_recomputes_from_the_nodes_that_read_it(engine, planned):
    planner, _ = planned
    ps.write_setting(
        engine, "plan", {"capacity_hours": 50.0}, actor=Actor("ana", "admin"), expected_version=0
    )
    edited = planner.recompute("assumption", actor=Actor("ana", "admin"))
    assert edited.recomputed == (
        "economics",
        "forecasts",
        "allocation",
        "plan",
        "variance",
        "result",
    )
    table = op.plan_table(ps.load_lines(engine, edited.version_id))
    month = table[table[C.MONTH] == table[C.MONTH].min()]
    assert month[op.SERVED_HOURS].sum() == pytest.approx(50.0)
    assert month[op.UNSERVED_HOURS].sum() > 0
    # capacity goes to the most valuable customers first
    served_share = (month[op.SERVED_HOURS] / month[op.SERVICE_HOURS]).set_axis(month[C.SEGMENT])
    assert served_share["Key account"] >= served_share["Small"]


def test_two_planners_on_the_same_store_compute_the_same_plan(engine, planned):
    _, first = planned
    other = Planner(engine).graph.evaluate(Planner(engine).load_sources())
    assert (
        other.values["result"].fingerprint
        == ps.get_version(engine, first.version_id).plan_fingerprint
    )


def test_a_new_month_of_data_closes_the_month_and_rolls_the_horizon(engine, company, planned):
    planner, _first = planned
    october = company.transactions[(company.transactions[C.DATE] > SEPTEMBER_END)]
    report = import_file(
        engine, "transactions", october.reset_index(drop=True), file_name="october.csv", actor=ADMIN
    )
    assert report.ok
    closed = planner.recompute(
        "import", actor=Actor("watch", "admin"), changed_from=dt.date(2025, 10, 1)
    )
    version = ps.get_version(engine, closed.version_id)
    assert version.trigger == "month close"
    assert "Oct 2025 closed" in version.reason
    assert version.horizon_start == dt.date(2025, 11, 1)
    assert "forecasts" in closed.recomputed and "value" in closed.recomputed
    variance = closed.evaluation.values["variance"]
    decomposition = variance["decomposition"]
    assert list(decomposition[C.MONTH]) == [pd.Timestamp("2025-10-01")]
    effects = decomposition[
        ["volume", "mix", "price", "margin_rate", "cost_to_serve", "program_spend", "financing"]
    ].sum(axis=1)
    assert round(effects.iloc[0], 2) == round(decomposition["variance"].iloc[0], 2)


def test_the_plan_as_of_a_moment_is_the_one_current_then(engine, planned):
    planner, first = planned
    when = ps.get_version(engine, first.version_id).created_at
    ps.write_setting(
        engine, "budget", {"annual": 10_000.0}, actor=Actor("ana", "admin"), expected_version=0
    )
    planner.recompute("budget", actor=Actor("ana", "admin"))
    assert ps.version_as_of(engine, when).id == first.version_id
