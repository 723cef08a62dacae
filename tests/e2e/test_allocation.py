"""What-if allocation in headless Chromium: a planner moves the budget slider (it lives in the
page's ``st.fragment``) and sees the allocation and its figures redraw.

Screenshots go to the test's tmp dir and /tmp/continuum-shots/.
"""

from __future__ import annotations

import pytest
from e2e_kit import RENDER_MS, assert_no_error_on_screen, open_page, screenshot, settle

pytestmark = pytest.mark.e2e

SLIDER = '[data-testid="stSlider"] input[type="range"]'

_BARS = """() => {
  const plot = document.querySelectorAll('.js-plotly-plot')[0];
  const optimal = plot._fullData.find(t => t.name === 'Optimal');
  return Array.from(optimal.x).reduce((a, b) => a + b, 0);
}"""


def _spend(page) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has_text="Spend")
    return card.locator('[data-testid="stMetricValue"]').inner_text()


def test_moving_the_budget_slider_redraws_the_allocation(app_url, page, tmp_path):
    open_page(page, app_url, "What-if allocation", ".js-plotly-plot")
    assert_no_error_on_screen(page)
    before_total = page.evaluate(_BARS)
    before_spend = _spend(page)
    assert before_spend.startswith("$")
    screenshot(page, tmp_path, "allocation-before", height=2400)

    slider = page.locator(SLIDER).first  # the monthly budget, in steps of $1,000
    slider.focus()
    slider.press("Home")
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    page.get_by_text("The whole $2,000 budget is spent").wait_for(timeout=RENDER_MS)
    settle(page)

    after_total = page.evaluate(_BARS)
    assert after_total == pytest.approx(2_000.0, rel=1e-6) and after_total < before_total
    assert _spend(page) == "$2,000" != before_spend
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "allocation-after", height=2400)


def test_the_response_curve_tab_marks_the_optimal_and_the_tried_spend(app_url, page, tmp_path):
    open_page(page, app_url, "What-if allocation", ".js-plotly-plot")
    page.get_by_role("tab", name="Response curves").click()
    settle(page)
    panel = page.get_by_role("tabpanel").filter(has_text="Try a spend on this cell")
    panel.locator(".js-plotly-plot").wait_for(timeout=RENDER_MS)
    assert "re-optimising the rest" in panel.inner_text()
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "allocation-curve", height=2400)
