"""Every way Continuum writes a CSV or workbook neutralises formula text and keeps numbers.

The writers are planning.core.export's four: write_csv and csv_bytes, write_workbook and
workbook_bytes. The command line's --out files and the download buttons use them (the CLI
side is tests/integration/test_cli_exports.py); the grep below keeps it that way.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from planning.core.export import csv_bytes, workbook_bytes, write_csv, write_workbook

REPO_ROOT = Path(__file__).resolve().parents[3]
HOSTILE = ['=HYPERLINK("http://x","y")', "@SUM(1)", "-2+3", "+1", "\tcmd", "\rcmd", "\uff1dSUM(1)"]


def _frame() -> pd.DataFrame:
    n = len(HOSTILE)
    return pd.DataFrame(
        {
            "customer_id": pd.Series(HOSTILE, dtype=object),
            "segment": pd.Categorical(HOSTILE[::-1]),
            "scenario": pd.Series(HOSTILE, dtype="string"),
            "=total": [-1.5 * (i + 1) for i in range(n)],
            "count": [-(i + 1) for i in range(n)],
            "plain": ["Acme"] * n,
        }
    )


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _check_csv(rows: list[list[str]]) -> None:
    header, body = rows[0], rows[1:]
    assert header == ["customer_id", "segment", "scenario", "'=total", "count", "plain"]
    assert [r[0] for r in body] == ["'" + t for t in HOSTILE]
    assert [r[1] for r in body] == ["'" + t for t in HOSTILE[::-1]]
    assert [r[2] for r in body] == ["'" + t for t in HOSTILE]
    assert [float(r[3]) for r in body] == [-1.5 * (i + 1) for i in range(len(HOSTILE))]
    assert [int(r[4]) for r in body] == [-(i + 1) for i in range(len(HOSTILE))]
    assert {r[5] for r in body} == {"Acme"}


def test_a_csv_file_neutralises_object_category_and_string_columns(tmp_path):
    path = write_csv(_frame(), tmp_path / "out.csv")
    _check_csv(_csv_rows(path.read_bytes().decode("utf-8")))


def test_csv_bytes_for_a_download_button_are_the_same_file(tmp_path):
    data = csv_bytes(_frame())
    assert data == write_csv(_frame(), tmp_path / "same.csv").read_bytes()
    _check_csv(_csv_rows(data.decode("utf-8")))


def test_a_line_break_inside_a_cell_cannot_start_a_row_with_a_formula():
    data = csv_bytes(pd.DataFrame({"name": ["ok\r=cmd|' /C calc'!A0", "ok\n@SUM(1)"]}))
    assert data.split(b"\r\n") == [b"name", b"\"ok\r=cmd|' /C calc'!A0\"", b'"ok\n@SUM(1)"', b""]


def test_csv_formats_apply_to_numbers_only(tmp_path):
    frame = pd.DataFrame(
        {"name": ["-2+3"], "value": [-0.123456789], "day": pd.to_datetime(["2026-11-25"])}
    )
    data = csv_bytes(frame, float_format="%.4f", date_format="%Y-%m-%d").decode()
    assert data.splitlines() == ["name,value,day", "'-2+3,-0.1235,2026-11-25"]  # CRLF ends


@pytest.mark.parametrize("write", ["file", "bytes"])
def test_a_workbook_has_no_formula_cells_and_numeric_numbers(tmp_path, write):
    sheets = {"Customers": _frame()}
    if write == "file":
        book = load_workbook(write_workbook(sheets, tmp_path / "out.xlsx", money=["=total"]))
    else:
        book = load_workbook(io.BytesIO(workbook_bytes(sheets, money=["=total"])))
    cells = [c for row in book["Customers"].iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    sheet = book["Customers"]
    assert sheet["D1"].value == "'=total"
    # XML reads a carriage return back as a line feed; the apostrophe is what matters
    assert [c.value for c in sheet["A"][1:]] == ["'" + t.replace("\r", "\n") for t in HOSTILE]
    assert [c.value for c in sheet["C"][1:]] == ["'" + t.replace("\r", "\n") for t in HOSTILE]
    assert [c.value for c in sheet["D"][1:]] == [-1.5 * (i + 1) for i in range(len(HOSTILE))]
    assert all(c.data_type == "n" for c in sheet["E"][1:])


def test_the_frame_given_is_not_changed():
    frame = _frame()
    before = frame.copy()
    csv_bytes(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_no_code_writes_a_csv_or_workbook_around_the_neutralising_writers():
    # pandas' own writers and openpyxl's save outside planning/core/export.py would skip it; the
    # demo generator writes its own synthetic company for re-import, which is allowed.
    allowed = {"planning/core/export.py", "planning/ingest/demo.py"}
    pattern = re.compile(r"\.to_csv\(|\.to_excel\(|ExcelWriter|\bWorkbook\(|\.save\(")
    found = []
    for folder in ("planning", "pages", "ui"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            name = str(path.relative_to(REPO_ROOT))
            if name in allowed:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line) and "neutralise" not in line:
                    found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "exports that bypass planning.core.export:\n" + "\n".join(found)
