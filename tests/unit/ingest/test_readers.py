"""Sniffing layouts and parsing cells, without a database."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planning.ingest.parsing import AmbiguousDates, parse_dates, parse_numbers, resolve_date_format
from planning.ingest.readers import (
    LayoutError,
    parse_mapping,
    read_chunks,
    resolve_mapping,
    sniff_layout,
    suggest_mapping,
)


@pytest.mark.parametrize(
    "text, delimiter, header",
    [
        ("a,b,c\n1,2,3\n", ",", True),
        ("a;b;c\n1;2;3\n", ";", True),
        ("a\tb\tc\n1\t2\t3\n", "\t", True),
        ("a|b|c\n1|2|3\n", "|", True),
        (" 00004 0001 19970101  2   29.33\n 00021 0002 19970101  3   63.34\n", "whitespace", False),
        ("C1,2024-01-01,10\nC2,2024-01-02,20\n", ",", False),
    ],
    ids=["comma", "semicolon", "tab", "pipe", "whitespace-runs", "comma-no-header"],
)
def test_delimiter_and_header_are_sniffed(text, delimiter, header):
    layout = sniff_layout(text.encode(), "f.csv")
    assert (layout.delimiter, layout.has_header) == (delimiter, header)


def test_encodings_are_told_apart():
    assert sniff_layout("a,b\né,1\n".encode(), "f").encoding == "utf-8"
    assert sniff_layout("\ufeffa,b\né,1\n".encode("utf-8"), "f").encoding == "utf-8-sig"
    assert sniff_layout("a,b\né,1\n".encode("latin-1"), "f").encoding == "latin-1"


def test_a_headerless_file_names_its_columns_by_position():
    layout = sniff_layout(b"C1 5 2024-01-01\nC2 6 2024-01-02\n", "f.txt")
    assert layout.columns == ("1", "2", "3")
    mapping, problems = resolve_mapping(
        "transactions", layout, {"customer_id": "1", "amount": "2", "date": "3"}
    )
    assert problems == [] and mapping == {"customer_id": "1", "amount": "2", "date": "3"}


def test_common_export_names_are_suggested():
    layout = sniff_layout(
        b"Cust ID,Invoice Date,Net Sales,COGS,Order No\nA,2024-01-01,1,1,X\n", "f.csv"
    )
    assert suggest_mapping("transactions", layout) == {
        "customer_id": "Cust ID",
        "date": "Invoice Date",
        "amount": "Net Sales",
        "cost": "COGS",
        "transaction_id": "Order No",
    }


def test_mapping_problems_say_what_the_file_has():
    layout = sniff_layout(b"x,y\n1,2\n", "f.csv")
    _mapping, problems = resolve_mapping("transactions", layout, {"customer_id": "7"})
    assert "the file has no column '7' (its columns are: x, y)" in problems[0]
    assert any("Required column 'date' missing" in p for p in problems)


@pytest.mark.parametrize(
    "payload", [b"", b"\n \n", b"\x00\x01\x02garbage"], ids=["empty", "blank", "binary"]
)
def test_non_tables_raise_a_layout_error(payload):
    with pytest.raises(LayoutError):
        sniff_layout(payload, "f.csv")


def test_parse_mapping_rejects_a_pair_without_equals():
    assert parse_mapping("customer_id=CustID, date=3") == {"customer_id": "CustID", "date": "3"}
    with pytest.raises(ValueError, match="Bad --map entry 'amount'"):
        parse_mapping("customer_id=CustID,amount")


def test_row_numbers_are_file_line_numbers_even_after_blank_lines():
    data = b"customer_id,date,amount\nA,2024-01-01,1\n\nB,2024-01-02,2\n"
    layout = sniff_layout(data, "f.csv")
    mapping, _ = resolve_mapping("transactions", layout, None)
    [chunk] = list(read_chunks(data, layout, mapping))
    assert chunk.rows.tolist() == [2, 4]


@pytest.mark.parametrize(
    "values, expected",
    [
        (["19970101", "19980630"], "%Y%m%d"),
        (["2024-01-31", "2024-02-01 10:00:00"], "ISO8601"),
        (["31/01/2024", "01/02/2024"], "%d/%m/%Y"),
        (["01/31/2024", "02/01/2024"], "%m/%d/%Y"),
        (["31.01.2024", "01.02.2024"], "%d.%m.%Y"),
    ],
    ids=["compact", "iso", "day-first", "month-first", "dotted-day-first"],
)
def test_date_formats_are_detected(values, expected):
    assert resolve_date_format(pd.Series(values), None) == expected


def test_ambiguous_dates_are_not_guessed():
    with pytest.raises(AmbiguousDates, match="day-first or month-first"):
        resolve_date_format(pd.Series(["03/04/2024", "05/06/2024"]), None)


def test_dates_out_of_range_are_bad():
    parsed = parse_dates(pd.Series(["2024-01-01", "1850-01-01", "nonsense", None]), "ISO8601")
    assert parsed.bad.tolist() == [False, True, True, False]


@pytest.mark.parametrize(
    "text, value",
    [
        ("12.5", 12.5),
        ("-3", -3.0),
        ("$1,234.50", 1234.5),
        (" 7 ", 7.0),
        ("1e3", 1000.0),
    ],
    ids=["plain", "refund", "currency-and-thousands", "padded", "exponent"],
)
def test_numbers_in_common_spellings_parse(text, value):
    parsed = parse_numbers(pd.Series([text], dtype="str"))
    assert parsed.values.iloc[0] == value and not parsed.bad.iloc[0]


@pytest.mark.parametrize("text", ["ten", "1.2.3", "inf", "NaN", "--5"])
def test_non_numbers_are_bad(text):
    assert parse_numbers(pd.Series([text], dtype="str")).bad.iloc[0]


@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=50))
def test_any_float_written_as_text_reads_back_exactly(values):
    parsed = parse_numbers(pd.Series([repr(v) for v in values], dtype="str"))
    assert parsed.values.tolist() == values and not parsed.bad.any()


def test_an_empty_mapping_value_keeps_a_suggested_column_out():
    layout = sniff_layout(b"customer_id,date,amount,cost\nA,2024-01-01,1,2\n", "f.csv")
    mapping, problems = resolve_mapping("transactions", layout, {"cost": ""})
    assert problems == [] and "cost" not in mapping
