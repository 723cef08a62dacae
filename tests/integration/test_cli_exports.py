"""The command line's CSV files neutralise formula text that came from the store.

A company whose customer ids, sizes (segment names) and rule names are spreadsheet formulas is
imported as it is (the store keeps text as text); every ``--out`` file the CLI writes from it
starts those cells with an apostrophe, while numeric columns stay numbers, negatives included.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pytest

from planning.cli.main import main
from planning.ingest.importing import import_file
from planning.segments import rules as sr
from tests.actors import ADMIN

IDS = ['=HYPERLINK("http://x","y")', "@SUM(1)", "-2+3", "+1", "Plain 1", "Plain 2"]
SIZES = ["=SUM(A1)", "@size", "-2+3 size", "Small", "Small", "=SUM(A1)"]
RULE = '=HYPERLINK("rule")'
HOSTILE = set(IDS) | set(SIZES) | {RULE}


def _csv(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


@pytest.fixture
def hostile(store_url, engine) -> str:
    """A store whose customers' ids and sizes are formulas: 26 months of purchases."""
    customers = [["customer_id", "size"], *([i, s] for i, s in zip(IDS, SIZES, strict=True))]
    transactions = [["customer_id", "date", "amount", "cost"]]
    for k, customer in enumerate(IDS):
        for month in range(26):
            if (month + k) % (k % 3 + 1) == 0:
                day = dt.date(2023, 11, 1) + dt.timedelta(days=30 * month + 3 * k)
                transactions.append([customer, day.isoformat(), 100 + 17 * k + month, 60 + 9 * k])
    for kind, rows in (("customers", customers), ("transactions", transactions)):
        report = import_file(engine, kind, _csv(rows), file_name=f"{kind}.csv", actor=ADMIN)
        assert report.ok, report.summary()
    rule = sr.SegmentRule.from_json(RULE, '[{"field": "contribution", "op": ">=", "value": 0}]')
    sr.save_rules(engine, [rule], actor=ADMIN, rule_set="default")
    return store_url


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _assert_neutralised(rows: list[dict[str, str]], text_columns: list[str]) -> None:
    seen = set()
    for row in rows:
        for column in text_columns:
            value = row[column]
            assert not value.startswith(("=", "+", "-", "@")), (column, value)
            if value.startswith("'"):
                seen.add(value[1:])
    assert seen & HOSTILE, "no hostile text reached this export"


def _assert_numbers(rows: list[dict[str, str]], columns: list[str]) -> None:
    for row in rows:
        for column in columns:
            if row[column] != "":
                assert not math.isnan(float(row[column])), (column, row[column])


def test_clv_out_neutralises_customer_ids(hostile, tmp_path):
    out = tmp_path / "clv.csv"
    assert main(["--db", hostile, "clv", "--out", str(out)]) == 0
    rows = _rows(out)
    _assert_neutralised(rows, ["customer_id"])
    assert {r["customer_id"] for r in rows} >= {"'" + i for i in IDS[:4]}
    _assert_numbers(rows, ["frequency", "recency", "clv", "p_alive"])


def test_segments_out_and_pnl_out_neutralise_ids_and_segment_names(hostile, tmp_path):
    out, pnl = tmp_path / "seg.csv", tmp_path / "pnl.csv"
    assert (
        main(
            [
                "--db",
                hostile,
                "segments",
                "--lens",
                "attribute",
                "--attribute",
                "size",
                "--out",
                str(out),
                "--pnl-out",
                str(pnl),
            ]
        )
        == 0
    )
    rows = _rows(out)
    _assert_neutralised(rows, ["customer_id", "segment"])
    assert {r["segment"] for r in rows} >= {"'=SUM(A1)", "'@size", "'-2+3 size"}
    pnl_rows = _rows(pnl)
    _assert_neutralised(pnl_rows, ["segment"])
    numeric = [c for c in pnl_rows[0] if c not in ("segment",)]
    _assert_numbers(pnl_rows, numeric)


def test_segments_by_a_rule_named_like_a_formula_neutralise_it(hostile, tmp_path):
    out = tmp_path / "rules.csv"
    assert main(["--db", hostile, "segments", "--lens", "rules", "--out", str(out)]) == 0
    assert "'" + RULE in {r["segment"] for r in _rows(out)}


def test_forecast_out_neutralises_segment_names_and_keeps_numbers(hostile, tmp_path):
    out, backtest = tmp_path / "fc.csv", tmp_path / "bt.csv"
    assert (
        main(
            [
                "--db",
                hostile,
                "forecast",
                "--level",
                "segment",
                "--lens",
                "size",
                "--horizon",
                "3",
                "--out",
                str(out),
                "--backtest-out",
                str(backtest),
            ]
        )
        == 0
    )
    rows = _rows(out)
    _assert_neutralised(rows, ["series"])
    _assert_numbers(rows, ["mean", "lo-80", "hi-80"])
    _assert_neutralised(_rows(backtest), ["series"])


def test_a_negative_amount_stays_a_number_in_the_segment_pnl(store_url, engine, tmp_path):
    rows = [
        ["customer_id", "date", "amount", "cost"],
        ["-2+3", "2025-01-05", "-250.5", "10"],
        ["-2+3", "2025-02-05", "100", "300"],
    ]
    assert import_file(engine, "transactions", _csv(rows), file_name="t.csv", actor=ADMIN).ok
    out, pnl = tmp_path / "seg.csv", tmp_path / "pnl.csv"
    assert (
        main(
            [
                "--db",
                store_url,
                "segments",
                "--lens",
                "attribute",
                "--out",
                str(out),
                "--pnl-out",
                str(pnl),
            ]
        )
        == 0
    )
    assert _rows(out)[0]["customer_id"] == "'-2+3"
    total = next(r for r in _rows(pnl) if r["segment"] == "Total")
    assert float(total["revenue"]) == pytest.approx(-150.5)
    assert float(total["contribution"]) < 0
