"""The Data page refuses oversized and mistyped uploads in its own words, before any import."""

from __future__ import annotations

import re

import pytest

from planning.ingest import uploads
from planning.store.engine import table_counts
from tests import hostile_files as hf

DATA_PAGE = "pages/data.py"


def _uploaded(open_app, name: str, content: bytes):
    """The Data page after ``name`` was dropped on its uploader."""
    at = open_app(DATA_PAGE)
    at.file_uploader(key="data_file").set_value((name, content, "application/octet-stream"))
    at.run()
    assert not at.exception
    return at


def _shown(markdown: str) -> str:
    """What a reader sees of Markdown whose punctuation was escaped."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _refused(at) -> str:
    errors = [_shown(e.value) for e in at.error]
    assert len(errors) == 1, errors
    assert not [b for b in at.button if b.key == "data_import"], "no import button for a refusal"
    return errors[0]


def _rejected(at) -> str:
    """The reason of a file refused through the import report: summary, then a table."""
    assert "nothing was written" in _refused(at)
    return at.dataframe[0].value["reason"].iloc[0]


def test_an_upload_over_the_pages_limit_is_refused_with_its_size(company, open_app, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 40)
    before = table_counts(company)
    message = _refused(_uploaded(open_app, "orders.csv", hf.GOOD_CSV))
    assert message.startswith("orders.csv is 0.0 MB; uploads are limited to 0.0 MB.")
    assert message.endswith("Nothing was imported.")
    assert table_counts(company) == before


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("orders.csv", hf.PNG, "This is not a table: orders.csv is a PNG image."),
        ("orders.xlsx", hf.GOOD_CSV, "orders.xlsx is not an Excel workbook"),
        (
            "orders.xlsx",
            hf.word_document(),
            "orders.xlsx is not an .xlsx workbook: it is a Word document.",
        ),
        (
            "orders.xlsx",
            hf.billion_laughs_workbook(),
            "orders.xlsx is refused: its part xl/worksheets/sheet1.xml declares a DTD",
        ),
        ("orders.xlsx", hf.external_entity_workbook(), "declares a DTD or XML entities"),
    ],
    ids=["png-as-csv", "csv-as-xlsx", "docx-as-xlsx", "billion-laughs", "external-entity"],
)
def test_a_renamed_or_hostile_file_is_refused_naming_it(company, open_app, name, content, words):
    before = table_counts(company)
    assert words in _rejected(_uploaded(open_app, name, content))
    assert table_counts(company) == before


def test_a_good_workbook_still_gets_its_column_mapping(company, open_app):
    at = _uploaded(open_app, "book.xlsx", hf.good_workbook())
    assert not at.error
    assert "book.xlsx: xlsx · Excel workbook · header row · 3 columns" in [
        _shown(c.value) for c in at.caption
    ]


def test_a_file_name_is_shown_as_text_not_as_markdown(company, open_app):
    name = "![x](https://tracker.example) [click](https://evil.example).csv"
    at = _uploaded(open_app, name, hf.GOOD_CSV)
    caption = next(c.value for c in at.caption if "comma-separated" in c.value)
    assert caption.startswith(r"\!\[x\]\(https\:\/\/tracker\.example\) \[click\]")
    assert _shown(caption).startswith(name + ": utf-8")
