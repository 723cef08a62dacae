"""``python -m planning plan ...`` and ``watch`` on both stores: versions, exports, bad input."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from openpyxl import load_workbook

from planning.cli.main import main
from planning.core.access import Actor
from planning.ingest.demo import generate_company, load_company
from planning.plan import versions as ps
from planning.store.engine import open_store
from tests.actors import ADMIN


@pytest.fixture
def demo_url(store_url):
    engine = open_store(store_url)
    assert all(
        r.ok
        for r in load_company(
            engine, generate_company(200, seed=41, end=dt.date(2025, 6, 30)), actor=ADMIN
        )
    )
    engine.dispose()
    return store_url


def test_recompute_show_diff_restore_and_export(demo_url, tmp_path, capsys):
    assert main(["--db", demo_url, "plan", "recompute"]) == 0
    assert "Plan version 1 (manual)" in capsys.readouterr().out
    assert main(["--db", demo_url, "plan", "recompute"]) == 0
    assert "The plan is up to date" in capsys.readouterr().out
    assert main(["--db", demo_url, "plan", "recompute", "--if-missing"]) == 0
    assert "already has a plan" in capsys.readouterr().out

    engine = open_store(demo_url)
    ps.write_setting(
        engine, "budget", {"annual": 1000.0}, actor=Actor("ana", "admin"), expected_version=0
    )
    engine.dispose()
    assert main(["--db", demo_url, "plan", "recompute"]) == 0
    capsys.readouterr()
    assert main(["--db", demo_url, "plan", "show", "--version", "2"]) == 0
    shown = capsys.readouterr().out
    assert "Plan version 2" in shown and "12 months from Jul 2025" in shown
    assert main(["--db", demo_url, "plan", "diff", "1", "2"]) == 0
    diff = capsys.readouterr().out
    assert "plan line(s) differ between version 1 and version 2" in diff
    assert "v2 " in diff and "manual" in diff

    assert main(["--db", demo_url, "plan", "restore", "1"]) == 0
    assert "Restored version 1 as version 3" in capsys.readouterr().out

    out = tmp_path / "plan.xlsx"
    assert main(["--db", demo_url, "plan", "export", "--format", "xlsx", "--out", str(out)]) == 0
    book = load_workbook(out)
    assert book.sheetnames == ["Plan by month", "Plan by segment", "Alerts", "Versions"]
    sheet = book["Plan by segment"]
    assert sheet.freeze_panes == "A2"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    csv = tmp_path / "plan.csv"
    assert (
        main(
            [
                "--db",
                demo_url,
                "plan",
                "export",
                "--format",
                "csv",
                "--out",
                str(csv),
                "--version",
                "2",
            ]
        )
        == 0
    )
    assert csv.read_text().splitlines()[0].startswith("month,segment,")


def test_showing_a_plan_before_any_exists_or_an_unknown_version_is_an_error(demo_url, capsys):
    assert main(["--db", demo_url, "plan", "show"]) == 1
    assert "there is no plan version" in capsys.readouterr().err
    assert main(["--db", demo_url, "plan", "diff", "1", "9"]) == 1
    assert "There is no plan version" in capsys.readouterr().err


def test_a_bad_interval_or_a_missing_export_folder_is_a_usage_error(demo_url, tmp_path, capsys):
    assert main(["--db", demo_url, "watch", "--inbox", str(tmp_path), "--interval", "soon"]) == 2
    assert "--interval 'soon' is not a duration" in capsys.readouterr().err
    assert main(["--db", demo_url, "plan", "recompute"]) == 0
    capsys.readouterr()
    code = main(["--db", demo_url, "plan", "export", "--out", str(tmp_path / "no" / "x.xlsx")])
    assert code == 2 and "folder" in capsys.readouterr().err


def test_watch_once_imports_the_inbox_and_exits(demo_url, tmp_path, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "transactions_july.csv").write_text("customer_id,date,amount\nC000001,2025-07-02,99\n")
    old = time.time() - 5
    os.utime(inbox / "transactions_july.csv", (old, old))
    assert main(["--db", demo_url, "watch", "--inbox", str(inbox), "--once"]) == 0
    out = capsys.readouterr().out
    assert "Imported 1 transactions row(s) from transactions_july.csv" in out
    assert (inbox / "processed" / "transactions_july.csv").exists()
