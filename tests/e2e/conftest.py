"""Fixtures of the browser journeys: a demo store, the app serving it, Chromium, a page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_kit import CHROMIUM, CHROMIUM_ARGS, seed_demo, streamlit_server


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> tuple[str, Path]:
    """(URL, work dir) of a fresh SQLite store holding a 300-customer demo company."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium).")
    work = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{work / 'continuum.db'}"
    seed_demo(url, work / "csv")
    return url, work


@pytest.fixture(scope="module")
def app_url(demo_store) -> Iterator[str]:
    """A running app on the demo store, shared by the journeys of this module."""
    with streamlit_server(*demo_store) as base:
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
    page.on(
        "response",
        lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"
