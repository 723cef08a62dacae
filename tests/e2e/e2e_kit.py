"""Shared pieces of the browser journeys: the real app under `streamlit run`, Chromium, and
the checks every journey makes (no exception box, no error alert, no console error).

Fixtures live in conftest.py beside this file; these helpers are imported by the journeys
(``from e2e_kit import settle, ...``).
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

from planning.ingest.demo import generate_company, write_company_csv
from planning.ingest.importing import import_file
from planning.store.engine import open_store
from tests.actors import ADMIN

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path("/tmp/continuum-shots")
END = dt.date(2025, 12, 31)
STARTUP_SECONDS = 60
RENDER_MS = 60_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_demo(url: str, csv_dir: Path) -> None:
    paths = write_company_csv(generate_company(customers=300, seed=1, end=END), csv_dir)
    engine = open_store(url)
    try:
        for kind in ("customers", "transactions", "activities", "rates", "spend"):
            # Bytes, not the Path: importing a Path currently leaves the file open.
            report = import_file(
                engine, kind, paths[kind].read_bytes(), file_name=paths[kind].name, actor=ADMIN
            )
            assert report.ok, report.summary()
    finally:
        engine.dispose()


def wait_healthy(base: str, server: subprocess.Popen, log: Path) -> None:
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
    pytest.fail(
        f"streamlit did not answer /_stcore/health in {STARTUP_SECONDS} s:\n{log.read_text()}"
    )


@contextmanager
def streamlit_server(url: str, work: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run app.py` on ``url`` (with ``env`` added to the environment); yields its
    base URL and always stops the server."""
    port = free_port()
    log = work / f"streamlit-{port}.log"
    env = {**os.environ, "CONTINUUM_DATABASE_URL": url, "PYTHONWARNINGS": "ignore", **(env or {})}
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("streamlit")),
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server, log)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def open_data_page(page, app_url: str) -> None:
    open_page(page, app_url, "Data", '[data-testid="stFileUploader"]')


def settle(page) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=RENDER_MS)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')",
        timeout=RENDER_MS,
    )
    page.wait_for_timeout(500)  # let Plotly finish drawing before a screenshot


def assert_no_error_on_screen(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()


def screenshot(page, tmp_path: Path, name: str, height: int | None = None) -> Path:
    # Streamlit scrolls inside its own container, so a tall viewport shows a tall page.
    if height is not None:
        page.set_viewport_size({"width": 1440, "height": height})
        settle(page)
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)
    return path


def open_page(page, app_url: str, title: str, ready_selector: str) -> None:
    """Open the page called ``title`` through the sidebar navigation, as a person would.

    Opening a deep link directly makes Streamlit's frontend probe ``/<page>/_stcore/health``
    first, a 404 that would read as a console error.
    """
    page.goto(app_url)
    page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=RENDER_MS)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.wait_for_selector(ready_selector, timeout=RENDER_MS)
    settle(page)
