"""Team mode in headless Chromium: each role signs in and takes the journeys it may, and is
kept from the ones it may not.

The store is a SQLite file run with CONTINUUM_AUTH=required (team mode, as a PostgreSQL store
would be), with the demo company, a first plan and one account per role. Screenshots go to the
test's tmp dir and /tmp/continuum-shots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_kit import (
    RENDER_MS,
    assert_no_error_on_screen,
    screenshot,
    seed_demo,
    settle,
    streamlit_server,
)

from planning.allocation.scenarios import list_scenarios
from planning.plan import versions as ps
from planning.plan.planner import Planner
from planning.store import audit
from planning.store.engine import open_store
from planning.team import auth
from tests.actors import ADMIN

pytestmark = pytest.mark.e2e

PASSWORD = "a long password"
NAV = '[data-testid="stSidebarNav"]'


@pytest.fixture(scope="module")
def team_app(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(app URL, store URL) of a team-mode demo store with accounts ada, pat and vic."""
    work = tmp_path_factory.mktemp("roles-e2e")
    url = f"sqlite:///{work / 'continuum.db'}"
    seed_demo(url, work / "csv")
    engine = open_store(url)
    Planner(engine).recompute("manual", actor=ADMIN, reason="first plan")
    auth.add_user(engine, None, "ada", "admin", password=PASSWORD)
    auth.add_user(engine, ADMIN, "pat", "planner", password=PASSWORD)
    auth.add_user(engine, ADMIN, "vic", "viewer", password=PASSWORD)
    engine.dispose()
    with streamlit_server(url, work, env={auth.ENV_AUTH: "required"}) as base:
        yield base, url


@pytest.fixture
def tab(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    context.close()


def _sign_in(page, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(base)
    page.get_by_text("Sign in to Continuum").wait_for(timeout=RENDER_MS)
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    settle(page)


def _nav_links(page) -> list[str]:
    page.wait_for_selector(NAV, timeout=RENDER_MS)
    # Each link reads "<icon name>\n\n<title>".
    return [t.strip().split("\n")[-1] for t in page.locator(f"{NAV} a").all_inner_texts()]


def _open(page, title: str, ready: str) -> None:
    page.locator(NAV).get_by_role("link", name=title).click()
    page.wait_for_selector(ready, timeout=RENDER_MS)
    settle(page)


def test_a_wrong_password_keeps_the_door_shut(team_app, tab, tmp_path: Path):
    base, _ = team_app
    _sign_in(tab, base, "vic", "guessing wrong")
    tab.get_by_text("Wrong user name or password.").wait_for(timeout=RENDER_MS)
    assert tab.locator(NAV).count() == 0  # no navigation before signing in
    screenshot(tab, tmp_path, "roles-sign-in-refused")


def test_a_viewer_reads_every_plan_page_but_saves_nothing(team_app, tab, tmp_path: Path):
    base, url = team_app
    _sign_in(tab, base, "vic")
    links = _nav_links(tab)
    assert "Operating plan" in links and "What-if allocation" in links
    assert "Data" not in links and "Users & audit" not in links
    screenshot(tab, tmp_path, "roles-viewer-overview", height=1600)

    _open(tab, "What-if allocation", ".js-plotly-plot")
    tab.get_by_text("private sandbox", exact=False).wait_for(timeout=RENDER_MS)
    assert tab.get_by_role("button", name="Save scenario").count() == 0
    assert tab.get_by_role("button", name="a month for the operating plan").count() == 0
    assert_no_error_on_screen(tab)
    screenshot(tab, tmp_path, "roles-viewer-whatif", height=2400)

    _open(tab, "Operating plan", ".js-plotly-plot")
    assert tab.get_by_role("button", name="Save cells and recompute").is_disabled()
    assert tab.get_by_role("button", name="Recompute now").is_disabled()
    assert_no_error_on_screen(tab)
    screenshot(tab, tmp_path, "roles-viewer-plan", height=3200)

    engine = open_store(url)
    assert list_scenarios(engine).empty
    engine.dispose()
    assert tab.errors == []


def test_a_planner_moves_the_budget_but_cannot_import_or_manage_users(
    team_app, tab, tmp_path: Path
):
    base, url = team_app
    _sign_in(tab, base, "pat")
    links = _nav_links(tab)
    assert "Data" not in links and "Users & audit" not in links
    _open(tab, "What-if allocation", ".js-plotly-plot")
    tab.get_by_role("button", name="a month for the operating plan").click()
    tab.locator('[data-testid="stAlertContentSuccess"], [data-testid="stAlertContentInfo"]').filter(
        has_text="lan"
    ).first.wait_for(timeout=2 * RENDER_MS)
    assert_no_error_on_screen(tab)
    screenshot(tab, tmp_path, "roles-planner-whatif", height=2400)
    engine = open_store(url)
    assert ps.read_setting(engine, "budget")[1] >= 1
    entries = audit.read_audit(engine, ADMIN, who="pat")
    engine.dispose()
    assert "setting" in set(entries["action"])
    assert tab.errors == []


def test_an_admin_manages_users_reads_the_audit_log_and_signs_out(team_app, tab, tmp_path: Path):
    base, url = team_app
    _sign_in(tab, base, "ada")
    links = _nav_links(tab)
    assert "Data" in links and "Users & audit" in links
    _open(tab, "Users & audit", '[data-testid="stDataFrame"]')
    tab.get_by_text("Audit log").first.wait_for(timeout=RENDER_MS)
    assert_no_error_on_screen(tab)
    screenshot(tab, tmp_path, "roles-admin-users-audit", height=2000)

    tab.get_by_role("button", name="Sign out").click()
    tab.get_by_text("Sign in to Continuum").wait_for(timeout=RENDER_MS)
    engine = open_store(url)
    signed_out = audit.read_audit(engine, ADMIN, action="sign out", who="ada")
    engine.dispose()
    assert len(signed_out) == 1
    assert tab.errors == []
