"""The continuous planner in headless Chromium: a planner moves the budget on the What-if page
and makes it the plan's; the Overview, open in another tab and never reloaded, shows the new
plan version by itself (its plan panel is a fragment that refreshes every few seconds).

Screenshots go to the test's tmp dir and /tmp/continuum-shots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_kit import (
    RENDER_MS,
    assert_no_error_on_screen,
    open_page,
    screenshot,
    seed_demo,
    settle,
    streamlit_server,
)

from planning.core.access import Actor
from planning.plan import versions as ps
from planning.plan.planner import Planner
from planning.store.engine import open_store

pytestmark = pytest.mark.e2e

SLIDER = '[data-testid="stSlider"] input[type="range"]'


@pytest.fixture(scope="module")
def planned_app(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(app URL, store URL) of a demo store that already has plan version 1."""
    work = tmp_path_factory.mktemp("plan-e2e")
    url = f"sqlite:///{work / 'continuum.db'}"
    seed_demo(url, work / "csv")
    engine = open_store(url)
    assert Planner(engine).recompute("manual", actor=Actor("setup", "admin")).version_id == 1
    engine.dispose()
    with streamlit_server(url, work) as base:
        yield base, url


def _panel_caption(page) -> str:
    return page.get_by_text("recomputed", exact=False).first.inner_text()


def test_a_budget_moved_on_the_what_if_page_reaches_the_open_overview(
    planned_app, browser, tmp_path: Path
):
    base, url = planned_app
    context = browser.new_context(viewport={"width": 1440, "height": 1400})
    errors: list[str] = []
    overview, whatif = context.new_page(), context.new_page()
    for tab in (overview, whatif):
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        overview.goto(base)
        overview.get_by_text("Plan v1, recomputed").wait_for(timeout=RENDER_MS)
        settle(overview)
        overview.evaluate("() => { window.__notReloaded = true; }")
        assert_no_error_on_screen(overview)
        screenshot(overview, tmp_path, "plan-overview-before", height=2000)

        open_page(whatif, base, "What-if allocation", ".js-plotly-plot")
        slider = whatif.locator(SLIDER).first
        slider.focus()
        slider.press("Home")  # no program budget at all: a cut the optimum cannot absorb
        settle(whatif)
        whatif.get_by_role("button", name="a month for the operating plan").click()
        done = whatif.locator('[data-testid="stAlertContentSuccess"]').filter(
            has_text="Plan version 2 written"
        )
        try:
            done.wait_for(timeout=2 * RENDER_MS)  # the server's first recompute fits everything
        except Exception:
            screenshot(whatif, tmp_path, "plan-whatif-failed", height=2400)
            raise
        assert_no_error_on_screen(whatif)
        screenshot(whatif, tmp_path, "plan-whatif-budget", height=2000)

        overview.get_by_text("Plan v2, recomputed").wait_for(timeout=30_000)
        assert overview.evaluate("() => window.__notReloaded === true")
        caption = overview.get_by_text("Plan v2, recomputed").inner_text()
        assert "(budget)" in caption and "set on the what-if page" in caption
        assert_no_error_on_screen(overview)
        screenshot(overview, tmp_path, "plan-overview-after", height=2000)

        open_page(overview, base, "Operating plan", ".js-plotly-plot")
        assert_no_error_on_screen(overview)
        screenshot(overview, tmp_path, "plan-page", height=3200)
    finally:
        context.close()
    assert not errors, errors
    engine = open_store(url)
    version = ps.latest_version(engine)
    engine.dispose()
    assert version.id == 2 and version.trigger == "budget"
