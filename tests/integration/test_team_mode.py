"""Team mode on both stores: versioned edits without lost updates, roles enforced in planning/,
the append-only audit log, and plan restore.

Each test runs on a real SQLite file and a real PostgreSQL database (the ``engine`` fixture).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading

import pytest
import sqlalchemy as sa

from planning.allocation.scenarios import Scenario, delete_scenario, save_scenario
from planning.allocation.strategy import (
    DEFAULT_INITIATIVES,
    default_treatment,
    save_initiatives,
    save_treatments,
)
from planning.core.access import Actor, PermissionDenied
from planning.forecast.accountability import accept_forecast
from planning.forecast.backtest import BacktestConfig
from planning.forecast.by_segment import forecast_segments
from planning.ingest.demo import generate_company, load_company
from planning.ingest.importing import ImportRequest, import_file, import_files
from planning.plan import budget_cells
from planning.plan import versions as ps
from planning.plan.planner import Planner
from planning.segments.rules import Condition, SegmentRule, delete_rule_set, save_rules
from planning.store import audit, schema
from planning.store.writes import StaleWrite
from planning.team import auth
from tests.actors import ADMIN, PLANNER, VIEWER

END = dt.date(2025, 6, 30)


def _digest(engine) -> str:
    """Every row of every table, hashed: equal digests mean an unchanged store."""
    h = hashlib.sha256()
    with engine.connect() as conn:
        for table in schema.Base.metadata.sorted_tables:
            if table.name in ("login_attempts", "user_sessions"):
                continue  # sign-in bookkeeping, not data
            rows = conn.execute(sa.select(table)).all()
            h.update(table.name.encode())
            for row in sorted(map(repr, rows)):
                h.update(row.encode())
    return h.hexdigest()


@pytest.fixture
def planned(engine):
    """A small demo company with its first plan, its default treatments and a scenario."""
    assert all(
        r.ok for r in load_company(engine, generate_company(150, seed=5, end=END), actor=ADMIN)
    )
    Planner(engine).recompute("manual", actor=ADMIN, reason="first plan")
    save_scenario(engine, Scenario("Push", 20_000.0), actor=PLANNER)
    save_treatments(engine, [default_treatment("Large")], actor=PLANNER)
    save_rules(engine, [SegmentRule("Big", (Condition("size", "==", "Large"),))], actor=PLANNER)
    budget_cells.save_cell(engine, PLANNER, "Large", "retention", 1_000.0, expected_version=0)
    return engine


# ------------------------------------------------------------------ concurrent edits


def test_two_sessions_saving_one_budget_cell_the_second_is_refused_and_nothing_is_lost(engine):
    ana, ben = Actor("ana", "planner"), Actor("ben", "planner")
    budget_cells.save_cell(engine, ana, "Large", "retention", 5_000.0, expected_version=0)
    before_audit = audit.audit_count(engine)
    # Both load the cell at version 1 ...
    ana_view = budget_cells.read_cell(engine, "Large", "retention")
    ben_view = budget_cells.read_cell(engine, "Large", "retention")
    # ... ana saves first, then ben.
    saved = budget_cells.save_cell(
        engine, ana, "Large", "retention", 6_000.0, expected_version=ana_view.version
    )
    with pytest.raises(StaleWrite) as refused:
        budget_cells.save_cell(
            engine, ben, "Large", "retention", 9_000.0, expected_version=ben_view.version
        )
    message = str(refused.value)
    assert "ana changed the budget cell Large x retention to $6,000 a month" in message
    assert "(version 2) after you loaded version 1" in message
    assert "Your $9,000 a month was not saved" in message
    stored = budget_cells.read_cell(engine, "Large", "retention")
    assert (stored.monthly_spend, stored.version, stored.updated_by) == (6_000.0, 2, "ana")
    assert saved.version == 2
    entries = audit.read_audit(engine, ADMIN, action="budget cell")
    assert audit.audit_count(engine) == before_audit + 1
    assert (
        entries.iloc[0]["actor"] == "ana" and '"monthly_spend": 6000.0' in entries.iloc[0]["after"]
    )


def test_eight_threads_of_200_increments_end_exact_with_no_lock_error(engine):
    budget_cells.save_cell(engine, ADMIN, "Small", "acquisition", 0.0, expected_version=0)
    errors: list[str] = []
    conflicts = [0] * 8

    def increment(worker: int) -> None:
        actor = Actor(f"planner-{worker}", "planner")
        for _ in range(200):
            while True:
                cell = budget_cells.read_cell(engine, "Small", "acquisition")
                try:
                    budget_cells.save_cell(
                        engine,
                        actor,
                        "Small",
                        "acquisition",
                        cell.monthly_spend + 1,
                        expected_version=cell.version,
                    )
                    break
                except StaleWrite:
                    conflicts[worker] += 1  # what a person would be shown: reload, try again
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    return

    threads = [threading.Thread(target=increment, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cell = budget_cells.read_cell(engine, "Small", "acquisition")
    assert cell.monthly_spend == 1_600.0
    assert cell.version == 1 + 1_600
    assert len(audit.read_audit(engine, ADMIN, limit=None, action="budget cell")) == 1_601
    print(f"{engine.dialect.name}: {sum(conflicts)} stale saves refused and retried")


def test_a_stale_setting_save_is_refused_with_who_changed_it(engine):
    ps.write_setting(
        engine, "plan", {"capacity_hours": 10.0}, actor=Actor("ana", "planner"), expected_version=0
    )
    with pytest.raises(ps.StaleSetting, match=r"changed by ana at .* after you loaded version 0"):
        ps.write_setting(
            engine,
            "plan",
            {"capacity_hours": 99.0},
            actor=Actor("ben", "planner"),
            expected_version=0,
        )
    assert ps.read_setting(engine, "plan") == ({"capacity_hours": 10.0}, 1)


def test_an_initiative_another_planner_added_is_kept_when_mine_is_saved(engine):
    ana, ben = Actor("ana", "planner"), Actor("ben", "planner")
    loaded = save_initiatives(engine, DEFAULT_INITIATIVES[:3], actor=ana)
    new = dataclasses.replace(DEFAULT_INITIATIVES[3], version=0)
    save_initiatives(engine, [*loaded, new], actor=ben, loaded=loaded)
    # ana still has the three she loaded; she drops the third and edits the first.
    edited = [dataclasses.replace(loaded[0], impact=1), loaded[1]]
    save_initiatives(engine, edited, actor=ana, loaded=loaded)
    stored = {i.name: i for i in save_initiatives.__globals__["load_initiatives"](engine)}
    assert set(stored) == {loaded[0].name, loaded[1].name, new.name}
    assert stored[loaded[0].name].impact == 1 and stored[loaded[0].name].version == 2
    assert stored[loaded[1].name].version == 1  # unchanged rows are not rewritten


# ------------------------------------------------------------------ roles


def _writes(engine) -> dict[str, object]:
    """Every write function of planning/, called as one actor would."""
    result = forecast_segments(
        engine,
        lens=None,
        metric="orders",
        freq="M",
        horizon=2,
        config=BacktestConfig(horizon=2, models=("seasonal_naive",), origins=1),
    )
    version = ps.latest_version(engine).id
    csv = b"customer_id,date,amount\nZ1,2025-06-01,10\n"
    return {
        "import_file": lambda a: import_file(
            engine, "transactions", csv, file_name="z.csv", actor=a
        ),
        "import_files": lambda a: import_files(
            engine, [ImportRequest("transactions", csv, "z.csv")], actor=a
        ),
        "load_company": lambda a: load_company(engine, generate_company(50, seed=1), actor=a),
        "save_scenario": lambda a: save_scenario(engine, Scenario("Mine", 1_000.0), actor=a),
        "delete_scenario": lambda a: delete_scenario(engine, "Push", actor=a, version=1),
        "save_treatments": lambda a: save_treatments(engine, [default_treatment("Small")], actor=a),
        "save_initiatives": lambda a: save_initiatives(engine, DEFAULT_INITIATIVES[:1], actor=a),
        "save_rules": lambda a: save_rules(engine, [], actor=a, rule_set="other"),
        "delete_rule_set": lambda a: delete_rule_set(engine, "default", actor=a),
        "accept_forecast": lambda a: accept_forecast(engine, result, actor=a),
        "write_setting budget": lambda a: ps.write_setting(
            engine, "budget", {"annual": 1.0}, actor=a, expected_version=0
        ),
        "write_setting plan": lambda a: ps.write_setting(
            engine, "plan", {"capacity_hours": 1.0}, actor=a, expected_version=0
        ),
        "save_cell": lambda a: budget_cells.save_cell(
            engine, a, "Large", "retention", 2.0, expected_version=1
        ),
        "write_version": lambda a: ps.write_version(
            engine,
            ps.load_content(engine, version),
            trigger="manual",
            actor=a,
            reason="x",
            input_fingerprint="x",
            timings={},
        ),
        "restore_version": lambda a: ps.restore_version(engine, version, actor=a),
        "recompute": lambda a: Planner(engine).recompute("manual", actor=a),
        "add_user": lambda a: auth.add_user(engine, a, "eve", "viewer", password="x" * 12),
        "disable_user": lambda a: auth.disable_user(engine, a, "ci-admin"),
        "enable_user": lambda a: auth.enable_user(engine, a, "ci-admin"),
        "reset_password": lambda a: auth.reset_password(engine, a, "ci-admin", "y" * 12),
        "set_role": lambda a: auth.set_role(engine, a, "ci-admin", "viewer"),
        "read_audit": lambda a: audit.read_audit(engine, a),
    }


ADMIN_ONLY = {
    "import_file",
    "import_files",
    "load_company",
    "add_user",
    "disable_user",
    "enable_user",
    "reset_password",
    "set_role",
    "read_audit",
}


def test_a_viewer_calling_any_write_gets_a_permission_error_and_the_store_is_unchanged(planned):
    writes = _writes(planned)
    before = _digest(planned)
    for name, call in writes.items():
        with pytest.raises(PermissionDenied, match="vic is signed in as a viewer") as denied:
            call(VIEWER)
        assert "Nothing was changed" in str(denied.value), name
    assert _digest(planned) == before


def test_a_planner_may_edit_plans_but_not_import_or_manage_users(planned):
    writes = _writes(planned)
    before = _digest(planned)
    for name in sorted(ADMIN_ONLY):
        with pytest.raises(
            PermissionDenied, match=r"pat is signed in as a planner: .* needs the admin role"
        ):
            writes[name](PLANNER)
    assert _digest(planned) == before
    save_scenario(planned, Scenario("Mine", 1_000.0), actor=PLANNER)  # and this is allowed


def test_a_bare_name_is_not_an_actor(planned):
    with pytest.raises(TypeError, match="Writes need the acting user as a"):
        save_scenario(planned, Scenario("Mine", 1_000.0), actor="pat")  # type: ignore[arg-type]


# ------------------------------------------------------------------ restore and audit


def test_a_restore_writes_a_new_version_whose_content_equals_the_restored_one(planned):
    first = ps.latest_version(planned).id
    ps.write_setting(planned, "budget", {"annual": 5_000.0}, actor=PLANNER, expected_version=0)
    moved = Planner(planned).recompute("budget", actor=PLANNER).version_id
    assert moved is not None and moved != first
    assert (
        ps.load_content(planned, moved).fingerprint != ps.load_content(planned, first).fingerprint
    )
    restored = ps.restore_version(planned, first, actor=PLANNER)
    assert restored > moved
    old, new = ps.load_content(planned, first), ps.load_content(planned, restored)
    assert new.fingerprint == old.fingerprint
    assert (
        new.lines.sort_values(["month", "segment", "metric"])
        .reset_index(drop=True)
        .equals(old.lines.sort_values(["month", "segment", "metric"]).reset_index(drop=True))
    )
    info = ps.get_version(planned, restored)
    assert (info.trigger, info.restored_from, info.actor) == ("restore", first, "pat")
    entry = audit.read_audit(planned, ADMIN, action="plan restore").iloc[0]
    assert entry["target"] == f"plan version {restored}"


def test_every_write_leaves_one_audit_entry_with_who_and_what(planned):
    actions = audit.read_audit(planned, ADMIN, limit=None)["action"].tolist()
    assert actions.count("import") == 5  # the demo's five files
    for action in ("plan recompute", "scenario", "treatment", "segment rules", "budget cell"):
        assert actions.count(action) == 1, action


def test_the_audit_log_refuses_update_and_delete(planned):
    count = audit.audit_count(planned)
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with (
            pytest.raises(sa.exc.DBAPIError, match="audit_log is append-only"),
            planned.begin() as conn,
        ):
            conn.execute(sa.text(statement))
    assert audit.audit_count(planned) == count
    assert "mallory" not in set(audit.read_audit(planned, ADMIN, limit=None)["actor"])


# ------------------------------------------------------------------ accounts and sessions


def test_accounts_sign_in_and_sign_out_ends_the_session(engine):
    auth.add_user(engine, ADMIN, "ana", "planner", password="a long password")
    session = auth.sign_in(engine, "ana", "a long password")
    assert auth.session_actor(engine, session.token) == Actor("ana", "planner")
    auth.sign_out(engine, session.token)
    assert auth.session_actor(engine, session.token) is None
    assert auth.session_actor(engine, "forged-token") is None


def test_an_expired_session_or_a_disabled_account_is_refused(engine):
    auth.add_user(engine, ADMIN, "ana", "planner", password="a long password")
    short = auth.sign_in(engine, "ana", "a long password", ttl=dt.timedelta(seconds=-1))
    assert auth.session_actor(engine, short.token) is None
    live = auth.sign_in(engine, "ana", "a long password")
    auth.disable_user(engine, ADMIN, "ana")
    assert auth.session_actor(engine, live.token) is None
    with pytest.raises(auth.LoginFailed, match="disabled"):
        auth.sign_in(engine, "ana", "a long password")


def test_a_role_change_ends_sessions_so_the_new_role_applies_at_once(engine):
    auth.add_user(engine, ADMIN, "ana", "planner", password="a long password")
    session = auth.sign_in(engine, "ana", "a long password")
    auth.set_role(engine, ADMIN, "ana", "viewer")
    assert auth.session_actor(engine, session.token) is None
    assert auth.sign_in(engine, "ana", "a long password").actor.role == "viewer"


def test_wrong_passwords_lock_the_account_for_a_while_with_one_message_for_name_and_password(
    engine,
):
    auth.add_user(engine, ADMIN, "ana", "planner", password="a long password")
    with pytest.raises(auth.LoginFailed, match=r"^Wrong user name or password\.$"):
        auth.sign_in(engine, "nobody", "a long password")
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.LoginFailed, match=r"^Wrong user name or password\.$"):
            auth.sign_in(engine, "ana", "not the password")
    with pytest.raises(
        auth.LoginFailed, match="Too many failed sign-ins for 'ana': try again in 15 minutes"
    ):
        auth.sign_in(engine, "ana", "a long password")  # even the right one, for now


def test_passwords_are_stored_as_argon2_hashes_only(engine):
    auth.add_user(engine, ADMIN, "ana", "planner", password="a long password")
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(schema.User.__table__.c.password_hash).where(
                schema.User.__table__.c.username == "ana"
            )
        ).scalar_one()
    assert stored.startswith("$argon2id$") and "a long password" not in stored


def test_the_first_account_must_be_an_admin_and_later_ones_need_an_admin(engine):
    with engine.begin() as conn:  # the PostgreSQL fixture's CLI account; start from none
        conn.execute(sa.delete(schema.User.__table__))
    with pytest.raises(ValueError, match="the first one must be an admin"):
        auth.add_user(engine, None, "ana", "planner", password="a long password")
    auth.add_user(engine, None, "root-admin", "admin", password="a long password")
    with pytest.raises(PermissionError, match="Only an admin can add users"):
        auth.add_user(engine, None, "mallory", "admin", password="a long password")
    with pytest.raises(ValueError, match="at least 10 characters"):
        auth.add_user(engine, ADMIN, "ana", "planner", password="short")
    assert auth.list_users(engine)["username"].tolist() == ["root-admin"]


def test_a_budget_saved_while_a_plan_is_computed_is_in_the_version_written(planned):
    class Interrupted(Planner):
        """A planner during whose first load another planner saves the budget."""

        saved = False

        def load_sources(self, **kwargs):
            sources = super().load_sources(**kwargs)
            if not self.saved:
                self.saved = True
                ps.write_setting(
                    planned,
                    "budget",
                    {"annual": 5_000.0},
                    actor=Actor("ben", "planner"),
                    expected_version=0,
                )
            return sources

    written = Interrupted(planned).recompute("budget", actor=PLANNER)
    assert written.version_id is not None  # ben's budget moves the plan
    # A fresh planner reading the store now computes the very same plan: nothing to write.
    assert Planner(planned).recompute("budget", actor=PLANNER).version_id is None


def test_a_plan_computed_from_older_settings_is_not_written(planned):
    token = ps.settings_token(planned)
    latest = ps.latest_version(planned)
    content = ps.load_content(planned, latest.id)
    changed = dataclasses.replace(content, horizon_months=content.horizon_months + 1)
    budget_cells.save_cell(planned, PLANNER, "Small", "win_back", 10.0, expected_version=0)
    with pytest.raises(ps.StaleInputs):
        ps.write_version(
            planned,
            changed,
            trigger="manual",
            actor=PLANNER,
            reason="x",
            input_fingerprint="x",
            timings={},
            settings_token=token,
        )
    assert ps.latest_version(planned).id == latest.id
