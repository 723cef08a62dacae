"""Exports a planner can open safely: formatted Excel workbooks and CSV files.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or
carriage return) as a formula, so a customer named ``=HYPERLINK(...)`` in an export could run
code on the reader's machine (CSV injection, OWASP). Every text cell (and column name) that
starts with one of those characters, or their full-width forms, is written with a leading
apostrophe, which spreadsheets show as text; numbers stay numbers, negative ones included.
Every CSV and workbook Continuum writes goes through :func:`write_csv`/:func:`csv_bytes` or
:func:`write_workbook`/:func:`workbook_bytes`: the command line's ``--out`` files and the
dashboard's download buttons alike. Workbooks get one sheet per view, a bold frozen header,
money and percentage formats, and columns wide enough to read.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Final

import numpy as np
import pandas as pd

# Full-width = + - @ are read as formulas by East Asian versions of Excel.
DANGEROUS_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
MONEY_FORMAT: Final = '"$"#,##0;[Red]-"$"#,##0'
COUNT_FORMAT: Final = "#,##0"
SHARE_FORMAT: Final = "0.0%"
DATE_FORMAT: Final = "yyyy-mm-dd"


def neutralise(value: object) -> object:
    """``value`` with a leading apostrophe if it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every dangerous text cell (and column name) neutralised.

    Text, object and categorical columns are checked cell by cell; numeric, boolean and date
    columns are left as they are, so numbers stay numbers.
    """
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            out[col] = series.map(neutralise, na_action="ignore")
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_csv(
    frame: pd.DataFrame,
    path: Path | IO[str],
    *,
    float_format: str | None = None,
    date_format: str | None = None,
) -> Path | IO[str]:
    """Write ``frame`` (without its index) as UTF-8 CSV with dangerous text neutralised.

    Lines end in CRLF (RFC 4180), which makes the writer quote a cell holding a bare carriage
    return: unquoted, a spreadsheet would start a new row there, and text after it (say
    ``=cmd``) would land at the start of a cell unneutralised.
    """
    neutralise_frame(frame).to_csv(
        path, index=False, float_format=float_format, date_format=date_format, lineterminator="\r\n"
    )
    return path


def csv_bytes(
    frame: pd.DataFrame, *, float_format: str | None = None, date_format: str | None = None
) -> bytes:
    """:func:`write_csv` into memory, for a download button."""
    buffer = io.StringIO()
    write_csv(frame, buffer, float_format=float_format, date_format=date_format)
    return buffer.getvalue().encode("utf-8")


def workbook_bytes(sheets: Mapping[str, pd.DataFrame], **formats: Sequence[str]) -> bytes:
    """:func:`write_workbook` into memory, for a download button."""
    buffer = io.BytesIO()
    write_workbook(sheets, buffer, **formats)
    return buffer.getvalue()


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    path: Path | IO[bytes],
    *,
    money: Sequence[str] = (),
    counts: Sequence[str] = (),
    shares: Sequence[str] = (),
) -> Path | IO[bytes]:
    """Write one sheet per frame to an .xlsx workbook a planner can read at once.

    Parameters
    ----------
    sheets
        Sheet name -> frame, in order (names are cut to Excel's 31 characters).
    path
        A file path, or a binary buffer to write into.
    money, counts, shares
        Column names formatted as whole currency, counts with separators, and percentages
        (shares given as fractions), wherever they appear.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    default = book.active  # a new workbook starts with one empty sheet
    if default is not None:
        book.remove(default)
    header_fill = PatternFill("solid", fgColor="E8EDF3")
    formats = {
        **dict.fromkeys(money, MONEY_FORMAT),
        **dict.fromkeys(counts, COUNT_FORMAT),
        **dict.fromkeys(shares, SHARE_FORMAT),
    }
    for name, frame in sheets.items():
        sheet = book.create_sheet(_sheet_name(name, book.sheetnames))
        safe = neutralise_frame(frame)
        sheet.append(list(safe.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in safe.itertuples(index=False):
            sheet.append([_cell(v) for v in row])
        for j, col in enumerate(frame.columns, start=1):
            letter = get_column_letter(j)
            fmt = formats.get(col)
            if fmt is None and pd.api.types.is_datetime64_any_dtype(frame[col]):
                fmt = DATE_FORMAT
            if fmt is not None:
                for cell in sheet[letter][1:]:
                    cell.number_format = fmt
            width = max([len(str(col))] + [len(_shown(v, fmt)) for v in frame[col].head(200)])
            sheet.column_dimensions[letter].width = min(max(10, width + 2), 60)
        sheet.freeze_panes = "A2"
        if len(frame.columns):
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
    if not book.sheetnames:
        book.create_sheet("Empty")
    book.save(path)
    return path


def _sheet_name(name: str, taken: Sequence[str]) -> str:
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    candidate, n = cleaned, 2
    while candidate in taken:
        suffix = f" ({n})"
        candidate, n = cleaned[: 31 - len(suffix)] + suffix, n + 1
    return candidate


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _shown(value: object, fmt: str | None) -> str:
    if fmt == MONEY_FORMAT and isinstance(value, (int, float, np.number)):
        return f"${value:,.0f}"
    if isinstance(value, (pd.Timestamp, dt.date)):
        return "2026-01-01"
    return str(value)
