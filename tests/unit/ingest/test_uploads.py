"""planning.ingest.uploads: a file's name and content must agree, and workbooks are parsed
defused."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from defusedxml import DefusedXmlException
from openpyxl import load_workbook

from planning.ingest import readers, uploads
from planning.ingest.uploads import UploadRefused, check_source, check_upload
from tests import hostile_files as hf

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)


def _refusal(content: bytes, name: str) -> str:
    with pytest.raises(UploadRefused) as refused:
        check_source(content, name)
    return str(refused.value)


@pytest.mark.parametrize("name", ["orders.csv", "orders.TSV", "orders.txt", "upload"])
def test_text_tables_pass_under_every_text_name(name):
    assert check_source(hf.GOOD_CSV, name) == "text"


@pytest.mark.parametrize("name", ["book.xlsx", "BOOK.XLSX", "upload"])
def test_a_real_workbook_passes_as_xlsx(name):
    assert check_source(hf.good_workbook(), name) == "xlsx"


def test_the_same_checks_apply_to_a_file_on_disk(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(hf.PNG)
    assert "photo.csv is a PNG image" in _refusal(path, path.name)


@pytest.mark.parametrize(
    "content, name, words",
    [
        (hf.PNG, "orders.csv", "This is not a table: orders.csv is a PNG image"),
        (hf.PDF, "orders.txt", "orders.txt is a PDF document"),
        (hf.ELF, "orders.tsv", "orders.tsv is a Linux program"),
        (hf.good_workbook(), "orders.csv", "give it its .xlsx name"),
        (bytes(range(1, 9)) * 400, "orders.csv", "control characters"),
        ("customer_id,date\nA,2025-01-01\n".encode("utf-16"), "orders.csv", "UTF-16"),
        (b"customer_id\x00date\n", "orders.csv", "binary (it contains NUL bytes)"),
    ],
    ids=[
        "png-as-csv",
        "pdf-as-txt",
        "program-as-tsv",
        "workbook-as-csv",
        "control-bytes",
        "utf-16",
        "nul-bytes",
    ],
)
def test_a_renamed_binary_is_refused_naming_the_file_and_its_real_content(content, name, words):
    assert words in _refusal(content, name)


@pytest.mark.parametrize(
    "content, words",
    [
        (
            hf.GOOD_CSV,
            "book.xlsx is not an Excel workbook: an .xlsx file is a ZIP archive, and this "
            "file is text (a CSV file renamed .xlsx?)",
        ),
        (hf.PDF, "this file is a PDF document"),
        (hf.zip_without_content_types(), "book.xlsx is a ZIP archive but not an Excel workbook"),
        (hf.word_document(), "book.xlsx is not an .xlsx workbook: it is a Word document"),
        (b"PK\x03\x04" + bytes(100), "book.xlsx is not a readable Excel workbook"),
    ],
    ids=["csv-as-xlsx", "pdf-as-xlsx", "plain-zip", "docx-as-xlsx", "broken-zip"],
)
def test_an_xlsx_that_is_not_a_spreadsheet_workbook_is_refused(content, words):
    assert words in _refusal(content, "book.xlsx")


@pytest.mark.parametrize("name", ["tool.exe", "book.xlsm", "book.xls", "rules.json", "a.csv.gz"])
def test_an_extension_continuum_does_not_read_is_refused_by_name(name):
    message = _refusal(hf.GOOD_CSV, name)
    assert message.startswith(f"{name}: Continuum imports .csv, .tsv, .txt, .xlsx files")


def test_an_empty_file_is_refused():
    assert "The file is empty: blank.csv has no rows" in _refusal(b" \n\n", "blank.csv")


def test_an_upload_over_the_limit_is_refused_with_its_size_and_the_limit():
    with pytest.raises(UploadRefused) as refused:
        check_upload(hf.GOOD_CSV * 1000, "big.csv", max_bytes=10_000)
    message = str(refused.value)
    assert message.startswith("big.csv is 0.1 MB; uploads are limited to 0.0 MB.")
    assert "python -m planning import" in message


def test_an_upload_at_the_limit_passes():
    assert check_upload(hf.GOOD_CSV, "ok.csv", max_bytes=len(hf.GOOD_CSV)) == "text"


def test_the_page_limit_is_200_megabytes():
    assert uploads.MAX_UPLOAD_BYTES == 200 * 1024 * 1024


@pytest.mark.parametrize(
    "build",
    [hf.billion_laughs_workbook, hf.external_entity_workbook],
    ids=["billion-laughs", "external-entity"],
)
def test_a_workbook_declaring_entities_is_refused_before_openpyxl_reads_it(build):
    message = _refusal(build(), "book.xlsx")
    assert message.startswith(
        "book.xlsx is refused: its part xl/worksheets/sheet1.xml declares a DTD or XML entities"
    )


@pytest.mark.parametrize(
    "build",
    [hf.billion_laughs_workbook, hf.external_entity_workbook],
    ids=["billion-laughs", "external-entity"],
)
def test_openpyxl_itself_parses_through_defusedxml(build):
    # Without Continuum's own check, openpyxl 3.1.5 still refuses: it parses with defusedxml,
    # whose refusal it wraps in a ValueError while it reads the worksheets.
    with pytest.raises(ValueError, match="could not read worksheets") as refused:
        load_workbook(io.BytesIO(build()), read_only=True)
    assert isinstance(refused.value.__cause__, DefusedXmlException)


def test_a_hostile_workbook_is_refused_by_the_layout_sniffer_too():
    with pytest.raises(readers.LayoutError, match="declares a DTD or XML entities"):
        readers.sniff_layout(hf.external_entity_workbook(), "book.xlsx")


def test_a_workbook_whose_parts_inflate_past_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_WORKBOOK_XML_BYTES", 1000)
    assert "its parts inflate to" in _refusal(hf.good_workbook(), "bomb.xlsx")


def test_a_part_with_a_doctype_after_a_long_prolog_is_refused():
    padded = b'<?xml version="1.0"?>' + b"<!-- pad -->" * 8000 + b"<!DOCTYPE x []><x/>"
    workbook = hf.replace_part(hf.good_workbook(), "xl/styles.xml", padded)
    assert "has no root element in its first 64 KB" in _refusal(workbook, "book.xlsx")


def test_workbooks_are_refused_when_openpyxl_runs_without_defusedxml():
    script = (
        "from planning.ingest import readers\n"
        "from tests import hostile_files as hf\n"
        "try:\n"
        "    readers.sniff_layout(hf.good_workbook(), 'book.xlsx')\n"
        "except readers.LayoutError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "OPENPYXL_DEFUSEDXML": "false", "PYTHONPATH": REPO_ROOT}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Excel import is switched off on this server" in done.stdout
