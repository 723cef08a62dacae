"""The Data page's import form: kind labels, the column-mapping inputs, the report.

The mapping inputs offer, for each column of the kind's contract, the file's columns or
"(not in file)", pre-filled with :func:`planning.ingest.importing.suggest_mapping`. Keys carry the
upload's id and the kind, so a new file or another kind starts from fresh suggestions.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from planning import ingest
from planning.core import columns as c
from planning.ingest import FileLayout, ImportReport, suggest_mapping
from ui import format as fmt

NOT_IN_FILE: Final = "(not in file)"
KIND_LABELS: Final = {
    "transactions": "Transactions: customer, date, amount",
    "customers": "Customers: id and attributes",
    "activities": "Activities: orders, deliveries, tickets…",
    "rates": "Activity rates: cost per activity",
    "spend": "Program spend by month and segment",
}
# Label -> value passed to import_file(date_format=...); None lets the importer detect it.
DATE_FORMATS: Final[dict[str, str | None]] = {
    "Detect from the file": None,
    "2024-03-31 (year first)": "iso",
    "31/03/2024 (day first)": "dayfirst",
    "03/31/2024 (month first)": "monthfirst",
    "20240331 (compact)": "yyyymmdd",
}
FILE_TYPES: Final = [ext.lstrip(".") for ext in ingest.EXTENSIONS]
CHOICE_WIDTH: Final = 420  # px: a choice among short labels needs no full-width box
_TYPE_WORDS: Final = {
    "text": "text",
    "date": "date",
    "number": "number",
    "integer": "whole number",
}
_PER_ROW: Final = 3


def mapping_inputs(kind: str, layout: FileLayout, key: str) -> dict[str, str]:
    """One selectbox per contract column; returns contract column -> chosen file column.

    Columns set to "(not in file)" map to "", which tells the importer not to fill them
    from a suggested column.
    """
    suggested = suggest_mapping(kind, layout)
    options = [NOT_IN_FILE, *layout.columns]
    contract = c.CONTRACT[kind]
    chosen: dict[str, str] = {}
    for start in range(0, len(contract), _PER_ROW):
        row = st.columns(_PER_ROW)
        for slot, (name, type_, required) in zip(
            row, contract[start : start + _PER_ROW], strict=False
        ):
            default = suggested.get(name, NOT_IN_FILE)
            pick = slot.selectbox(
                f"{name}{' *' if required else ''}",
                options,
                index=options.index(default),
                key=f"{key}_{name}",
                help=f"{'Required' if required else 'Optional'}: a {_TYPE_WORDS[type_]} column.",
            )
            chosen[name] = "" if pick == NOT_IN_FILE else pick
    return chosen


def missing_required(kind: str, mapping: dict[str, str]) -> list[str]:
    """Required contract columns that the mapping leaves out."""
    return [name for name, _t, required in c.CONTRACT[kind] if required and not mapping.get(name)]


def preview_columns(kind: str) -> dict[str, object]:
    """Column formats for a parsed preview: dates as dates, numbers with separators."""
    formats = {
        "date": lambda name: st.column_config.DateColumn(name, format="YYYY-MM-DD"),
        "number": lambda name: st.column_config.NumberColumn(name, format="localized"),
        "integer": lambda name: st.column_config.NumberColumn(name, format="%d"),
    }
    return {name: formats[type_](name) for name, type_, _r in c.CONTRACT[kind] if type_ in formats}


def describe_layout(layout: FileLayout) -> str:
    """``UTF-8 · comma-separated · header row · 9 columns`` for a caption."""
    delimiters = {
        ",": "comma",
        ";": "semicolon",
        "\t": "tab",
        "|": "pipe",
        "whitespace": "whitespace",
    }
    if layout.delimiter is None:
        shape = "Excel workbook"
    else:
        shape = f"{delimiters.get(layout.delimiter, repr(layout.delimiter))}-separated"
    header = "header row" if layout.has_header else "no header row"
    return f"{layout.encoding} · {shape} · {header} · {len(layout.columns)} columns"


def show_report(report: ImportReport) -> None:
    """Success with rows added and skipped, or an error table saying nothing was written."""
    if report.already_imported_as is not None:
        st.info(report.summary(), icon=":material/content_copy:")
    elif report.ok:
        st.success(report.summary(), icon=":material/check_circle:")
        read, added, skipped = st.columns(3)
        read.metric("Rows read", fmt.count(report.rows_read))
        added.metric("Rows added", fmt.count(report.rows_added))
        skipped.metric(
            "Rows skipped",
            fmt.count(report.rows_skipped),
            help="Already in the store (same transaction id or customer).",
        )
    else:
        st.error(
            f"{report.summary()} Fix the rows below, or the column mapping or date format "
            "above, and import again.",
            icon=":material/block:",
        )
        st.dataframe(
            report.problems_frame(),
            hide_index=True,
            column_config={
                "row": st.column_config.NumberColumn(
                    "Row", format="%d", help="Line in the file; the header is 1."
                ),
                "column": "Column",
                "value": "Value",
                "reason": st.column_config.TextColumn("Reason", width="large"),
            },
        )


HISTORY_COLUMNS: Final = {
    "id": st.column_config.NumberColumn("Batch", format="%d"),
    "kind": "Kind",
    "file_name": "File",
    "rows_read": st.column_config.NumberColumn("Rows read", format="localized"),
    "rows_added": st.column_config.NumberColumn("Added", format="localized"),
    "rows_skipped": st.column_config.NumberColumn("Skipped", format="localized"),
    "created_at": st.column_config.DatetimeColumn("Imported", format="D MMM YYYY, HH:mm"),
    "created_by": "By",
}
