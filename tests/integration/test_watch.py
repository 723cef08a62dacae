"""The planner as a service, on SQLite and PostgreSQL: files in, plan versions out.

In process: good files are imported and the plan recomputed; a rejected file leaves the store
and the plan untouched and lands in rejected/ with its report; a file dropped twice adds nothing.
As a real process: three files (one bad), the service killed with SIGKILL in the middle of the
big import and restarted: every good row is stored exactly once, the bad file is in rejected/
with its reason, each recompute is a plan version with its trigger, and SIGTERM stops it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from planning.core import columns as C
from planning.ingest.demo import generate_company
from planning.ingest.importing import ImportRequest, import_files
from planning.plan import versions as ps
from planning.plan.watch import PROCESSED, REJECTED, Watcher
from planning.store.engine import open_store, table_counts
from tests.actors import ADMIN

REPO = Path(__file__).resolve().parents[2]
END = dt.date(2025, 9, 30)


@pytest.fixture(scope="module")
def company():
    return generate_company(250, seed=31, end=END)


def _seed(engine, company) -> None:
    frames = {
        "customers": company.customers,
        "transactions": company.transactions,
        "rates": company.rates,
        "activities": company.activities,
        "spend": company.spend,
    }
    reports = import_files(
        engine, [ImportRequest(k, f, f"demo-{k}") for k, f in frames.items()], actor=ADMIN
    )
    assert all(r.ok for r in reports)


def _october(company, rows: int, seed: int, last_day: int = 31) -> str:
    rng = np.random.default_rng(seed)
    ids = rng.choice(company.customers[C.CUSTOMER_ID].to_numpy(), rows)
    days = rng.integers(1, last_day + 1, rows)
    days[-1] = last_day
    amounts = rng.gamma(2.0, 300.0, rows).round(2)
    lines = ["customer_id,date,amount"] + [
        f"{c},2025-10-{d:02d},{a}" for c, d, a in zip(ids, days, amounts, strict=True)
    ]
    return "\n".join(lines) + "\n"


def _drop(inbox: Path, name: str, text: str) -> Path:
    """Write a file the way a sender should: under a temporary name, then rename."""
    partial = inbox / f"{name}.part"
    partial.write_text(text)
    old = time.time() - 5  # past the settle time, so the poll takes it at once
    os.utime(partial, (old, old))
    return partial.rename(inbox / name)


BAD = "customer_id,date,amount\nC000001,2025-10-03,12.50\nC000002,2025-10-32,8\n"


def test_a_poll_imports_good_files_rejects_bad_ones_and_versions_the_plan(
    engine, company, tmp_path
):
    _seed(engine, company)
    watcher = Watcher(engine, tmp_path / "inbox", log=lambda _line: None, actor=ADMIN)
    _drop(watcher.inbox, "transactions_good.csv", _october(company, 40, 1))
    outcomes = {o.name: o for o in watcher.poll()}
    assert outcomes["transactions_good.csv"].status == "imported"
    first = ps.latest_version(engine)
    assert first is not None and first.trigger in ("import", "month close")
    counts = table_counts(engine)

    _drop(watcher.inbox, "transactions_bad.csv", BAD)
    _drop(watcher.inbox, "budget.csv", "a,b\n1,2\n")
    outcomes = {o.name: o for o in watcher.poll()}
    assert outcomes["transactions_bad.csv"].status == "rejected"
    assert outcomes["budget.csv"].status == "rejected"
    report = (watcher.inbox / REJECTED / "transactions_bad.csv.report.txt").read_text()
    assert "row 3, column date, value '2025-10-32'" in report
    assert (
        "cannot tell what budget.csv holds"
        in (watcher.inbox / REJECTED / "budget.csv.report.txt").read_text()
    )
    assert table_counts(engine) == counts
    assert ps.latest_version(engine).id == first.id  # the plan is untouched

    _drop(watcher.inbox, "transactions_good.csv", _october(company, 40, 1))  # the same again
    outcomes = {o.name: o for o in watcher.poll()}
    assert outcomes["transactions_good.csv"].status == "already imported"
    assert (watcher.inbox / PROCESSED / "transactions_good.1.csv").exists()
    assert table_counts(engine) == counts
    assert ps.latest_version(engine).id == first.id


def _start(url: str, inbox: Path, log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "planning",
                "--db",
                url,
                "watch",
                "--inbox",
                str(inbox),
                "--interval",
                "200ms",
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )


def _wait_for(log: Path, text: str, timeout: float = 120.0, count: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count(text) >= count:
            return
        time.sleep(0.05)
    pytest.fail(f"{text!r} did not appear in the service log:\n{log.read_text()}")


@pytest.mark.slow
def test_the_service_survives_a_bad_file_and_a_kill_mid_import(store_url, company, tmp_path):
    engine = open_store(store_url)
    _seed(engine, company)
    base = table_counts(engine)["transactions"]
    service = None
    inbox, log = tmp_path / "inbox", tmp_path / "watch.log"
    inbox.mkdir()
    service = _start(store_url, inbox, log)
    try:
        _wait_for(log, "watching")
        _wait_for(log, "plan version")  # the seeded data had no plan: caught up at start
        _drop(inbox, "transactions_1_small.csv", _october(company, 60, 2, last_day=15))
        _wait_for(log, "plan version", count=2)
        _drop(inbox, "transactions_2_bad.csv", BAD)
        _wait_for(log, "rejected transactions_2_bad.csv")
        _drop(inbox, "transactions_3_big.csv", _october(company, 150_000, 3))
        _wait_for(log, "importing transactions_3_big.csv")
        time.sleep(0.3)
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=10)
        assert (inbox / "transactions_3_big.csv").exists()  # the import was rolled back
        assert table_counts(engine)["transactions"] == base + 60

        service = _start(store_url, inbox, log)
        _wait_for(log, "Imported 150,000 transactions row(s) from transactions_3_big.csv")
        _wait_for(log, "plan version", count=3)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0
        assert log.read_text().rstrip().endswith("stopped")
    finally:
        if service is not None and service.poll() is None:
            service.kill()
            service.wait()
    assert table_counts(engine)["transactions"] == base + 60 + 150_000
    assert sorted(p.name for p in (inbox / PROCESSED).iterdir()) == [
        "transactions_1_small.csv",
        "transactions_3_big.csv",
    ]
    assert (
        "column date, value '2025-10-32'"
        in (inbox / REJECTED / "transactions_2_bad.csv.report.txt").read_text()
    )
    versions = ps.list_versions(engine)  # newest first
    assert [v.trigger for v in versions] == ["month close", "import", "import"]
    assert "catch-up at start" in versions[2].reason
    assert "transactions_1_small.csv" in versions[1].reason
    assert versions[0].last_closed_month == dt.date(2025, 10, 1)  # the big file closed October
    engine.dispose()
