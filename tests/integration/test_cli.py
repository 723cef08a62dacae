"""The command line on both stores: exit codes, messages that say where, nothing half-written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from planning.cli.main import main
from planning.store.engine import open_store, table_counts

REPO = Path(__file__).resolve().parents[2]


def _counts(url: str) -> dict[str, int]:
    engine = open_store(url)
    try:
        return table_counts(engine)
    finally:
        engine.dispose()


def test_import_cdnow_from_the_command_line_by_position(store_url, cdnow_path, capsys):
    code = main(
        [
            "--db",
            store_url,
            "import",
            "transactions",
            str(cdnow_path),
            "--map",
            "customer_id=1,date=3,amount=5,quantity=4",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Imported 6,919 transactions row(s) from cdnow_sample.txt" in out
    assert _counts(store_url)["customers"] == 2357


def test_bad_rows_exit_non_zero_naming_row_column_and_value(store_url, tmp_path, capsys):
    bad = tmp_path / "sales.csv"
    bad.write_text("CustID,OrderDate,Sales\nA,2024-01-01,10\nB,2024-01-02,1O.5\n")
    before = _counts(store_url)
    code = main(
        [
            "--db",
            store_url,
            "import",
            "transactions",
            str(bad),
            "--map",
            "customer_id=CustID,date=OrderDate,amount=Sales",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "rejected" in err and "nothing was written" in err
    assert "row 3, column amount, value '1O.5'" in err
    assert _counts(store_url) == before


@pytest.mark.parametrize(
    "args, words",
    [
        (["--map", "customer_id"], "Bad --map entry"),
        (["--map", "customer_id=Nope"], "the file has no column 'Nope'"),
        (["--map", "colour=CustID"], "'colour' is not a transactions column"),
    ],
    ids=["map-without-equals", "map-to-missing-column", "map-unknown-target"],
)
def test_a_bad_mapping_exits_non_zero_and_writes_nothing(store_url, tmp_path, capsys, args, words):
    good = tmp_path / "sales.csv"
    good.write_text("CustID,date,amount\nA,2024-01-01,10\n")
    before = _counts(store_url)
    code = main(["--db", store_url, "import", "transactions", str(good), *args])
    captured = capsys.readouterr()
    assert code in (1, 2)
    assert words in captured.err
    assert _counts(store_url) == before


def test_a_missing_file_is_a_usage_error(store_url, tmp_path, capsys):
    code = main(["--db", store_url, "import", "transactions", str(tmp_path / "nope.csv")])
    assert code == 2
    assert "file not found" in capsys.readouterr().err


def test_an_unreachable_store_is_reported_not_a_traceback(capsys):
    code = main(["--db", "postgresql://nobody@127.0.0.1:1/none", "status"])
    assert code == 3
    assert "Cannot open the store" in capsys.readouterr().err


def test_demo_seeds_once_and_if_empty_leaves_a_full_store_alone(store_url, capsys):
    assert (
        main(
            ["--db", store_url, "demo", "--customers", "300", "--seed", "3", "--end", "2025-12-31"]
        )
        == 0
    )
    counts = _counts(store_url)
    assert counts["customers"] == 300 and counts["transactions"] > 3000
    assert counts["activities"] > 0 and counts["rates"] == 5 and counts["spend"] > 0
    assert main(["--db", store_url, "demo", "--if-empty"]) == 0
    assert "already has data" in capsys.readouterr().out
    assert main(["--db", store_url, "demo"]) == 2
    assert _counts(store_url) == counts


def test_python_dash_m_planning_runs_as_a_process_with_a_non_zero_exit(tmp_path):
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    env = {**os.environ, "CONTINUUM_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "planning", "import", "transactions", str(bad)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "The file is empty" in result.stderr
    assert "Traceback" not in result.stderr
