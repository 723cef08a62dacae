"""The Segments & profitability page in headless Chromium: a person opens it, reads the segment
P&L, switches lens (size, then lifecycle stage), and opens a loss-maker. Any exception box,
error alert or browser console error fails the journey; screenshots go to /tmp/continuum-shots/.
"""

from __future__ import annotations

import pytest
from e2e_kit import RENDER_MS, assert_no_error_on_screen, open_page, screenshot, settle

pytestmark = pytest.mark.e2e

TITLE = "Segments & profitability"


def _rerun_settled(page) -> None:
    page.wait_for_timeout(800)  # let the rerun start before waiting for it to end
    settle(page)


def _switch_lens(page, lens: str) -> None:
    page.get_by_role("radio", name=lens).click()
    _rerun_settled(page)


def _table_text(page) -> str:
    return page.locator('[data-testid="stDataFrame"]').first.inner_text()


def test_segments_journey_switches_lens_and_drills_into_a_loss_maker(app_url, page, tmp_path):
    open_page(page, app_url, TITLE, '[data-testid="stDataFrame"]')
    page.locator(".js-plotly-plot").nth(3).wait_for(timeout=RENDER_MS)  # Plotly loads lazily
    settle(page)

    assert page.get_by_role("heading", name=TITLE).is_visible()
    labels = [t.strip() for t in page.locator('[data-testid="stMetricLabel"]').all_inner_texts()]
    assert labels == ["Revenue", "Gross margin", "Cost-to-serve", "Contribution", "Loss-makers"]
    revenue = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert revenue.startswith("$")
    assert page.locator(".js-plotly-plot").count() == 4  # by segment, waterfall, whale, Sankey
    assert page.get_by_text("Peak:").first.is_visible()  # the whale curve's peak is annotated
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "segments-value", height=3400)

    _switch_lens(page, "Size")
    page.get_by_role("heading", name="P&L by size").wait_for(timeout=RENDER_MS)
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "segments-size", height=3400)

    _switch_lens(page, "Lifecycle stage")
    page.get_by_role("heading", name="P&L by lifecycle stage").wait_for(timeout=RENDER_MS)
    settle(page)
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "segments-lifecycle", height=3400)

    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Open a loss-maker")
    picker.get_by_role("combobox").click()
    page.get_by_role("option").nth(1).click()  # the first loss-maker (0 is "no choice")
    page.get_by_text("revenue to contribution", exact=False).last.wait_for(timeout=RENDER_MS)
    _rerun_settled(page)
    assert_no_error_on_screen(page)
    assert page.locator(".js-plotly-plot").count() >= 6  # + the customer's waterfall and months
    screenshot(page, tmp_path, "segments-customer", height=5200)
