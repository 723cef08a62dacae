"""The real app in headless Chromium: `streamlit run app.py` on a small demo store.

A person opens Overview, reads the KPIs and charts, goes to Data and sees the import history.
Any exception box, error alert or browser console error fails the journey. Screenshots go to
the test's tmp dir and to /tmp/continuum-shots/ for a human to look at.
"""

from __future__ import annotations

import pytest
from e2e_kit import (
    RENDER_MS,
    assert_no_error_on_screen,
    open_data_page,
    screenshot,
    settle,
    streamlit_server,
)

from planning.store.engine import open_store

pytestmark = pytest.mark.e2e


def test_overview_shows_the_headline_kpis_and_both_charts(app_url, page, tmp_path):
    page.goto(app_url)
    page.wait_for_selector('[data-testid="stMetric"]', timeout=RENDER_MS)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=RENDER_MS)  # Plotly loads lazily
    settle(page)

    metrics = page.locator('[data-testid="stMetric"]')
    assert metrics.count() == 5
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    assert [label.strip() for label in labels] == [
        "Revenue",
        "Gross margin",
        "Active customers",
        "New customers",
        "Lost customers",
    ]
    revenue = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert revenue.startswith("$") and "," in revenue
    assert page.locator(".js-plotly-plot").count() == 2
    assert page.get_by_text("Dec 2025, the last full month").is_visible()
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert "300 customers" in sidebar.inner_text()
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "overview")


def test_data_page_shows_the_uploader_and_the_import_history(app_url, page, tmp_path):
    open_data_page(page, app_url)

    assert page.get_by_text("Import history").is_visible()
    history = page.locator('[data-testid="stDataFrame"]')
    assert history.count() == 1
    assert history.first.is_visible()
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "data")


def test_uploading_a_transactions_file_shows_the_mapping_and_a_preview(app_url, page, tmp_path):
    csv = tmp_path / "orders.csv"
    csv.write_text("CustID,OrderDate,Sales\nC-1,2025-11-02,120.50\nC-2,2025-11-03,80\n")
    open_data_page(page, app_url)

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_text("the first rows as they will be read").wait_for(timeout=RENDER_MS)
    settle(page)

    # The preview table can mount a moment after its caption: wait for it before counting.
    page.locator('[data-testid="stDataFrame"]').nth(1).wait_for(timeout=RENDER_MS)
    assert page.locator('[data-testid="stDataFrame"]').count() == 2  # preview + history
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "data-upload", height=1700)

    page.get_by_role("button", name="Validate & import").click()
    success = page.locator('[data-testid="stAlertContentSuccess"]')
    success.wait_for(timeout=RENDER_MS)
    settle(page)
    assert "Imported 2 transactions row(s) from orders.csv" in success.inner_text()
    assert_no_error_on_screen(page)
    screenshot(page, tmp_path, "data-imported", height=1900)


def test_a_file_with_bad_rows_shows_the_problems_and_an_error(app_url, page, tmp_path):
    csv = tmp_path / "broken.csv"
    csv.write_text("CustID,OrderDate,Sales\nC-1,2025-11-31,12\nC-2,2025-11-03,lots\n")
    open_data_page(page, app_url)

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_role("button", name="Validate & import").wait_for(timeout=RENDER_MS)
    settle(page)
    page.get_by_role("button", name="Validate & import").click()
    error = page.locator('[data-testid="stAlertContentError"]')
    error.wait_for(timeout=RENDER_MS)
    settle(page)

    assert "nothing was written" in error.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, tmp_path, "data-rejected", height=1900)


def test_a_deep_link_opened_first_after_a_server_start_gets_the_whole_app(
    demo_store, browser, tmp_path
):
    # A server of its own: only the first session after a start can hit this.
    with streamlit_server(*demo_store) as base:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        try:
            page.goto(f"{base}/data")
            page.wait_for_selector('[data-testid="stFileUploader"]', timeout=RENDER_MS)
            settle(page)
            sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
            assert_no_error_on_screen(page)
            screenshot(page, tmp_path, "deep-link")
        finally:
            context.close()

    assert "Data in the store" in sidebar and "As of" in sidebar
    assert "overview" not in sidebar.split()  # the legacy pages/ listing names files


def test_an_empty_store_says_so_on_the_overview_instead_of_drawing_empty_charts(browser, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).dispose()
    with streamlit_server(url, tmp_path) as base:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        try:
            page.goto(base)
            notice = page.locator('[data-testid="stAlertContentInfo"]')
            notice.wait_for(timeout=RENDER_MS)
            settle(page)
            text = notice.inner_text()
            charts = page.locator(".js-plotly-plot").count()
            assert_no_error_on_screen(page)
            screenshot(page, tmp_path, "overview-empty")
        finally:
            context.close()

    assert "no transactions" in text and "make run" in text
    assert charts == 0
