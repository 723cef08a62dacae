"""Team mode in the app: sign-in, what each role sees and may do, sign-out.

CONTINUUM_AUTH=required puts the test's SQLite store in team mode (a PostgreSQL store is in it
anyway), so the pages behave as they do for a shared store.
"""

from __future__ import annotations

import pytest
from conftest import APP, COMPANY_CSV, TIMEOUT
from streamlit.testing.v1 import AppTest

from planning.allocation.scenarios import list_scenarios
from planning.ingest.importing import import_file
from planning.store.engine import data_status
from planning.team import auth
from tests.actors import ADMIN

PASSWORD = "a long password"


@pytest.fixture
def team(store, monkeypatch):
    """A team-mode store with the little company and one account per role."""
    monkeypatch.setenv(auth.ENV_AUTH, "required")
    assert import_file(store, "transactions", COMPANY_CSV, file_name="company.csv", actor=ADMIN).ok
    auth.add_user(store, None, "ada", "admin", password=PASSWORD)
    for name, role in (("pat", "planner"), ("vic", "viewer")):
        auth.add_user(store, ADMIN, name, role, password=PASSWORD)
    return store


def _sign_in(name: str, password: str = PASSWORD) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input(key="sign_in_user").set_value(name)
    at.text_input(key="sign_in_password").set_value(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    return at


def test_team_mode_shows_only_the_sign_in_page_until_someone_signs_in(team):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to Continuum"]
    with pytest.raises(ValueError, match=r"Known pages: \['Sign in'\]"):
        at.switch_page("pages/overview.py")


def test_a_wrong_password_is_refused_in_words(team):
    at = _sign_in("vic", "not the password")
    assert not at.exception
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    assert [t.value for t in at.title] == ["Sign in to Continuum"]


def test_a_viewer_reads_the_pages_but_not_the_admin_ones_and_saves_nothing(team):
    at = _sign_in("vic")
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert "vic" in at.sidebar.markdown[0].value
    for admin_page in ("pages/data.py", "pages/admin.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page") as missing:
            at.switch_page(admin_page)
        assert "pages/plan.py" in str(missing.value)  # the viewer's pages: all but these


def test_a_viewers_what_if_is_a_private_sandbox_never_saved(demo_1000, monkeypatch):
    monkeypatch.setenv(auth.ENV_AUTH, "required")
    auth.add_user(demo_1000, None, "ada", "admin", password=PASSWORD)
    auth.add_user(demo_1000, ADMIN, "vic", "viewer", password=PASSWORD)
    at = _sign_in("vic")
    at.switch_page("pages/allocation.py").run()
    assert not at.exception
    assert any("private sandbox" in c.value for c in at.caption)
    labels = [b.label for b in at.button]
    assert "Save scenario" not in labels
    assert not any(label.startswith("Use $") for label in labels)
    assert list_scenarios(demo_1000).empty


def test_an_admin_sees_users_and_the_audit_log(team):
    at = _sign_in("ada")
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Users & audit"]
    users = at.dataframe[0].value
    assert users["User"].tolist() == ["ada", "pat", "vic"]
    batches, log = at.dataframe[1].value, at.dataframe[2].value
    assert batches["File"].tolist() == ["company.csv"]
    assert {"sign in", "user add", "import"} <= set(log["Action"])


def test_signing_out_ends_the_session_in_the_store(team):
    at = _sign_in("pat")
    token = at.session_state["session_token"]
    assert auth.session_actor(team, token).name == "pat"
    at.sidebar.button(key="sidebar_sign_out").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to Continuum"]
    assert auth.session_actor(team, token) is None


def test_a_disabled_account_is_signed_out_on_its_next_click(team):
    at = _sign_in("pat")
    auth.disable_user(team, ADMIN, "pat")
    at.run()
    assert [t.value for t in at.title] == ["Sign in to Continuum"]
    assert "Your session ended" in at.info[0].value


def test_an_admin_undoes_an_import_batch_from_the_page(team):
    at = _sign_in("ada")
    at.switch_page("pages/admin.py").run()
    at.selectbox(key="admin_undo_batch").set_value(1)
    at.checkbox(key="admin_undo_confirm").check()
    next(b for b in at.button if b.label == "Undo batch").click().run()
    assert not at.exception
    assert any("Undid batch 1 (transactions, company.csv)" in s.value for s in at.success)
    assert data_status(team).transactions == 0
    assert at.dataframe[1].value["Undone by"].tolist() == ["ada"]
