"""The Forecast page in headless Chromium on a small demo store: a planner reads the company
forecast, looks at the segments adding up and at the account level, then accepts the forecast.

Screenshots go to the test's tmp dir and to /tmp/continuum-shots/ for a human to look at.
"""

from __future__ import annotations

import pytest
from e2e_kit import RENDER_MS, assert_no_error_on_screen, open_page, screenshot, settle

pytestmark = pytest.mark.e2e


def _settled(page) -> None:
    page.wait_for_timeout(800)  # let the rerun start before waiting for it to end
    settle(page)


def _open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    _settled(page)


def test_a_planner_reads_the_forecast_checks_it_adds_up_and_accepts_it(app_url, page, tmp_path):
    open_page(page, app_url, "Forecast", '[data-testid="stTabs"]')
    page.get_by_role("radio", name="Size", exact=True).click()
    _settled(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=RENDER_MS)
    settle(page)

    labels = [t.strip() for t in page.locator('[data-testid="stMetricLabel"]').all_inner_texts()]
    assert labels == ["Next month", "Next 12 months", "Model", "Backtest accuracy", "Model fits"]
    first = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert first.startswith("$")
    assert page.get_by_text("Revenue: Company").first.is_visible()
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "forecast", height=1500)

    _open_tab(page, "Why this model")
    assert page.get_by_text("was chosen for the company").is_visible()
    _open_tab(page, "Segments add up")
    assert page.get_by_text("the bars add up to the company").first.is_visible()
    assert page.get_by_text("Reconciliation:").is_visible()
    screenshot(page, tmp_path, "forecast-adding-up", height=1500)

    _open_tab(page, "Account level")
    page.get_by_text("The account level counts only the").wait_for(timeout=RENDER_MS)
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "forecast-account-level", height=1500)

    _open_tab(page, "Track record")
    page.get_by_role("button", name="Accept forecast").click()
    success = page.locator('[data-testid="stAlertContentSuccess"]').first
    success.wait_for(timeout=RENDER_MS)
    settle(page)
    assert "accepted as of 31 Dec 2025" in success.inner_text()
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "forecast-accepted", height=1500)
