"""Plan versions and planner settings in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from planning.core.access import Actor
from planning.plan import versions as ps

D = dt.date


def _content(revenue: float = 100.0, alerts: bool = False) -> ps.PlanContent:
    lines = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-11-01", "2026-11-01", "2026-12-01"]),
            "segment": ["Small", "Large", "Small"],
            "metric": ["revenue", "revenue", "revenue"],
            "value": [revenue, 500.0, 120.0],
        }
    )
    alert = pd.DataFrame(
        [
            (
                pd.Timestamp("2026-10-01"),
                "Small",
                "variance",
                "warning",
                "Revenue 12% under plan",
                "Move $5,000 from acquisition to retention",
            )
        ]
        if alerts
        else [],
        columns=list(ps.ALERT_COLUMNS),
    )
    return ps.PlanContent(lines, alert, D(2026, 10, 31), D(2026, 11, 1), 12)


def _write(engine, content, trigger="manual"):
    return ps.write_version(
        engine,
        content,
        trigger=trigger,
        actor=Actor("ana", "admin"),
        reason="test",
        input_fingerprint="f" * 32,
        timings={"plan": 0.01},
    )


def test_a_new_plan_is_a_new_version_and_the_same_plan_writes_nothing(engine):
    first = _write(engine, _content())
    assert first is not None
    assert _write(engine, _content()) is None
    second = _write(engine, _content(revenue=110.0), trigger="budget")
    assert second == first + 1
    history = ps.list_versions(engine)
    assert [v.trigger for v in history] == ["budget", "manual"]
    assert history[0].node_timings == {"plan": 0.01}


def test_lines_and_alerts_come_back_as_written(engine):
    version = _write(engine, _content(alerts=True))
    content = ps.load_content(engine, version)
    assert content.lines["value"].tolist() == [500.0, 100.0, 120.0]  # month, segment order
    assert content.alerts["suggestion"].iloc[0] == "Move $5,000 from acquisition to retention"
    assert content.fingerprint == _content(alerts=True).fingerprint


def test_a_diff_names_the_changed_lines_and_the_versions_that_changed_them(engine):
    one = _write(engine, _content())
    two = _write(engine, _content(revenue=90.0), trigger="import")
    table, between = ps.diff_versions(engine, one, two)
    assert table[["segment", "old", "new", "change"]].values.tolist() == [
        ["Small", 100.0, 90.0, -10.0]
    ]
    assert [v.trigger for v in between] == ["import"]


def test_the_plan_as_of_a_moment_is_the_version_current_then(engine):
    one = _write(engine, _content())
    when = ps.get_version(engine, one).created_at
    _write(engine, _content(revenue=95.0))
    assert ps.version_as_of(engine, when).id == one
    assert ps.version_as_of(engine, D(2000, 1, 1)) is None
    assert ps.version_as_of(engine, dt.date.today() + dt.timedelta(days=1)).id == one + 1


def test_a_restore_is_a_new_version_equal_to_the_old_one(engine):
    one = _write(engine, _content())
    _write(engine, _content(revenue=200.0))
    restored = ps.restore_version(engine, one, actor=Actor("ana", "admin"))
    assert restored == one + 2
    pd.testing.assert_frame_equal(ps.load_lines(engine, restored), ps.load_lines(engine, one))
    assert ps.get_version(engine, restored).restored_from == one


def test_a_setting_saved_from_a_stale_version_is_refused_and_nothing_changes(engine):
    assert ps.read_setting(engine, "budget", {"total": 0}) == ({"total": 0}, 0)
    assert (
        ps.write_setting(
            engine, "budget", {"total": 100}, actor=Actor("ana", "admin"), expected_version=0
        )
        == 1
    )
    with pytest.raises(ps.StaleSetting, match=r"changed by ana .* after you loaded version 0"):
        ps.write_setting(
            engine, "budget", {"total": 999}, actor=Actor("ben", "admin"), expected_version=0
        )
    assert ps.read_setting(engine, "budget") == ({"total": 100}, 1)
    assert (
        ps.write_setting(
            engine, "budget", {"total": 120}, actor=Actor("ben", "admin"), expected_version=1
        )
        == 2
    )
    assert ps.read_settings(engine) == {"budget": {"total": 120}}


def test_an_unknown_trigger_is_refused(engine):
    with pytest.raises(ValueError, match="Unknown trigger 'whim'"):
        _write(engine, _content(), trigger="whim")
