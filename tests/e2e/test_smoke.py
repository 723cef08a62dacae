"""The real app in headless Chromium: `streamlit run app.py` on a small demo store.

A person opens Overview, reads the KPIs and charts, goes to Data and sees the import history.
Any exception box, error alert or browser console error fails the journey. Screenshots go to
the test's tmp dir and to /tmp/continuum-shots/ for a human to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from planning.demo import generate_company, write_company_csv
from planning.importing import import_file
from planning.store import open_store

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SHOTS = Path("/tmp/continuum-shots")
END = dt.date(2025, 12, 31)
STARTUP_SECONDS = 60
RENDER_MS = 60_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _seed(url: str, csv_dir: Path) -> None:
    paths = write_company_csv(generate_company(customers=300, seed=1, end=END), csv_dir)
    engine = open_store(url)
    try:
        for kind in ("customers", "transactions", "activities", "rates", "spend"):
            # Bytes, not the Path: importing a Path currently leaves the file open.
            report = import_file(engine, kind, paths[kind].read_bytes(),
                                 file_name=paths[kind].name)
            assert report.ok, report.summary()
    finally:
        engine.dispose()


def _wait_healthy(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit did not answer /_stcore/health in {STARTUP_SECONDS} s:\n"
                f"{log.read_text()}")


@contextmanager
def _streamlit(url: str, work: Path) -> Iterator[str]:
    """`streamlit run app.py` on ``url``; yields its base URL and always stops the server."""
    port = _free_port()
    log = work / f"streamlit-{port}.log"
    env = {**os.environ, "CONTINUUM_DATABASE_URL": url, "PYTHONWARNINGS": "ignore"}
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("streamlit")), "run", "app.py",
             "--server.port", str(port), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, server, log)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> tuple[str, Path]:
    """(URL, work dir) of a fresh SQLite store holding a 300-customer demo company."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium).")
    work = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{work / 'continuum.db'}"
    _seed(url, work / "csv")
    return url, work


@pytest.fixture(scope="module")
def app_url(demo_store) -> Iterator[str]:
    """A running app on the demo store, shared by the journeys of this module."""
    with _streamlit(*demo_store) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, tmp_path) -> Iterator:
    """A fresh page that records console errors; fails the test if any were logged."""
    context = browser.new_context(viewport={"width": 1440, "height": 1100})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response",
            lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"


def _open_data_page(page, app_url: str) -> None:
    # Through the sidebar, as a person would: opening /data directly makes Streamlit's
    # frontend probe /data/_stcore/health first, a 404 that would read as a console error.
    page.goto(app_url)
    page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=RENDER_MS)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Data").click()
    page.wait_for_selector('[data-testid="stFileUploader"]', timeout=RENDER_MS)
    _settle(page)


def _settle(page) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=RENDER_MS)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')",
        timeout=RENDER_MS,
    )
    page.wait_for_timeout(500)  # let Plotly finish drawing before a screenshot


def _assert_no_error_on_screen(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()


def _screenshot(page, tmp_path: Path, name: str, height: int | None = None) -> Path:
    # Streamlit scrolls inside its own container, so a tall viewport shows a tall page.
    if height is not None:
        page.set_viewport_size({"width": 1440, "height": height})
        _settle(page)
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)
    return path


def test_overview_shows_the_headline_kpis_and_both_charts(app_url, page, tmp_path):
    page.goto(app_url)
    page.wait_for_selector('[data-testid="stMetric"]', timeout=RENDER_MS)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=RENDER_MS)  # Plotly loads lazily
    _settle(page)

    metrics = page.locator('[data-testid="stMetric"]')
    assert metrics.count() == 5
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    assert [label.strip() for label in labels] == [
        "Revenue", "Gross margin", "Active customers", "New customers", "Lost customers",
    ]
    revenue = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert revenue.startswith("$") and "," in revenue
    assert page.locator(".js-plotly-plot").count() == 2
    assert page.get_by_text("Dec 2025, the last full month").is_visible()
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert "300 customers" in sidebar.inner_text()
    _assert_no_error_on_screen(page)
    _screenshot(page, tmp_path, "overview")


def test_data_page_shows_the_uploader_and_the_import_history(app_url, page, tmp_path):
    _open_data_page(page, app_url)

    assert page.get_by_text("Import history").is_visible()
    history = page.locator('[data-testid="stDataFrame"]')
    assert history.count() == 1
    assert history.first.is_visible()
    _assert_no_error_on_screen(page)
    _screenshot(page, tmp_path, "data")


def test_uploading_a_transactions_file_shows_the_mapping_and_a_preview(app_url, page, tmp_path):
    csv = tmp_path / "orders.csv"
    csv.write_text("CustID,OrderDate,Sales\nC-1,2025-11-02,120.50\nC-2,2025-11-03,80\n")
    _open_data_page(page, app_url)

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_text("the first rows as they will be read").wait_for(timeout=RENDER_MS)
    _settle(page)

    assert page.locator('[data-testid="stDataFrame"]').count() == 2  # preview + history
    _assert_no_error_on_screen(page)
    _screenshot(page, tmp_path, "data-upload", height=1700)

    page.get_by_role("button", name="Validate & import").click()
    success = page.locator('[data-testid="stAlertContentSuccess"]')
    success.wait_for(timeout=RENDER_MS)
    _settle(page)
    assert "Imported 2 transactions row(s) from orders.csv" in success.inner_text()
    _assert_no_error_on_screen(page)
    _screenshot(page, tmp_path, "data-imported", height=1900)


def test_a_file_with_bad_rows_shows_the_problems_and_an_error(app_url, page, tmp_path):
    csv = tmp_path / "broken.csv"
    csv.write_text("CustID,OrderDate,Sales\nC-1,2025-11-31,12\nC-2,2025-11-03,lots\n")
    _open_data_page(page, app_url)

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    page.get_by_role("button", name="Validate & import").wait_for(timeout=RENDER_MS)
    _settle(page)
    page.get_by_role("button", name="Validate & import").click()
    error = page.locator('[data-testid="stAlertContentError"]')
    error.wait_for(timeout=RENDER_MS)
    _settle(page)

    assert "nothing was written" in error.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    _screenshot(page, tmp_path, "data-rejected", height=1900)


def test_a_deep_link_opened_first_after_a_server_start_gets_the_whole_app(
    demo_store, browser, tmp_path
):
    # A server of its own: only the first session after a start can hit this.
    with _streamlit(*demo_store) as base:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        try:
            page.goto(f"{base}/data")
            page.wait_for_selector('[data-testid="stFileUploader"]', timeout=RENDER_MS)
            _settle(page)
            sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
            _assert_no_error_on_screen(page)
            _screenshot(page, tmp_path, "deep-link")
        finally:
            context.close()

    assert "Data in the store" in sidebar and "As of" in sidebar
    assert "overview" not in sidebar.split()  # the legacy pages/ listing names files


def test_an_empty_store_says_so_on_the_overview_instead_of_drawing_empty_charts(
    browser, tmp_path
):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).dispose()
    with _streamlit(url, tmp_path) as base:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        try:
            page.goto(base)
            notice = page.locator('[data-testid="stAlertContentInfo"]')
            notice.wait_for(timeout=RENDER_MS)
            _settle(page)
            text = notice.inner_text()
            charts = page.locator(".js-plotly-plot").count()
            _assert_no_error_on_screen(page)
            _screenshot(page, tmp_path, "overview-empty")
        finally:
            context.close()

    assert "no transactions" in text and "make run" in text
    assert charts == 0
