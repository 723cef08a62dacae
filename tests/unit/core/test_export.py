"""Exports: no cell a spreadsheet would run as a formula, numbers stay numbers, sheets readable."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from planning.core.export import neutralise, write_csv, write_workbook

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none()))
def test_numbers_and_blanks_are_left_alone(value):
    assert neutralise(value) == value


def test_a_workbook_has_frozen_formatted_sheets_and_no_formulas(tmp_path):
    frame = pd.DataFrame(
        {
            "segment": HOSTILE,
            "revenue": [1234567.891, -5.0, 0.0, 1.0, 2.0, 3.0],
            "month": pd.to_datetime(["2026-11-01"] * 6),
        }
    )
    path = write_workbook(
        {"Plan": frame, "Alerts": frame.head(1)}, tmp_path / "plan.xlsx", money=["revenue"]
    )
    book = load_workbook(path)
    assert book.sheetnames == ["Plan", "Alerts"]
    sheet = book["Plan"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["segment", "revenue", "month"]
    texts = [c.value for c in sheet["A"][1:]]
    # XML turns a carriage return into a line feed on reading; the apostrophe is what counts
    assert texts == ["'" + t.replace("\r", "\n") for t in HOSTILE]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    revenue = sheet["B2"]
    assert revenue.value == pytest.approx(1234567.891) and revenue.data_type == "n"
    assert sheet["B3"].value == -5.0  # a negative number is a number, not text
    assert revenue.number_format.startswith('"$"#,##0')


def test_a_csv_export_neutralises_text_but_not_numbers(tmp_path):
    path = write_csv(pd.DataFrame({"name": ["=1+1", "Acme"], "value": [-3, 4]}), tmp_path / "x.csv")
    assert path.read_text().splitlines() == ["name,value", "'=1+1,-3", "Acme,4"]
