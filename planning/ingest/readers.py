"""Reading a company's files as they come: sniffing their layout and streaming them in chunks.

A planner's export is rarely tidy. This module works out the encoding (UTF-8, UTF-8 with a
byte-order mark, or Latin-1), the delimiter (comma, semicolon, tab, pipe, or runs of
whitespace), whether the first line is a header, and reads .xlsx workbooks too. It maps the
file's columns onto Continuum's contract (by name, by a known synonym, by an explicit
``--map customer_id=CustID`` or by 1-based position ``--map customer_id=1``) and yields the file
a chunk at a time as text, so memory stays bounded however large the file is. Row numbers are
the line (or spreadsheet row) numbers a person sees when they open the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import mmap
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from planning.core import columns as C
from planning.ingest import uploads

Source = bytes | Path
CHUNK_ROWS = 100_000
WHITESPACE = "whitespace"
_SNIFF_BYTES = 256 * 1024
_CANDIDATE_DELIMITERS = (",", ";", "\t", "|")

# Names a column often goes by in exports, normalised (lower case, letters and digits only).
SYNONYMS: dict[str, tuple[str, ...]] = {
    C.CUSTOMER_ID: (
        "customerid",
        "customer",
        "custid",
        "customerno",
        "customernumber",
        "clientid",
        "client",
        "accountid",
        "account",
        "accountnumber",
    ),
    C.DATE: ("date", "orderdate", "transactiondate", "invoicedate", "purchasedate", "day"),
    C.AMOUNT: (
        "amount",
        "sales",
        "revenue",
        "value",
        "netamount",
        "total",
        "netsales",
        "dollarvalue",
        "salesamount",
    ),
    C.COST: ("cost", "cogs", "costofgoods", "costofgoodssold", "costamount"),
    C.QUANTITY: ("quantity", "qty", "units", "count"),
    C.PRODUCT: ("product", "sku", "item", "productid", "itemid"),
    C.CATEGORY: ("category", "productcategory", "productgroup"),
    C.CHANNEL: ("channel", "saleschannel"),
    C.TRANSACTION_ID: (
        "transactionid",
        "orderid",
        "invoiceid",
        "invoiceno",
        "invoicenumber",
        "orderno",
        "ordernumber",
        "txnid",
    ),
    C.NAME: ("name", "customername", "company", "companyname"),
    C.REGION: ("region", "territory", "area"),
    C.INDUSTRY: ("industry", "sector", "vertical"),
    C.SIZE: ("size", "sizeband", "tier", "customersize"),
    C.ACQUISITION_DATE: (
        "acquisitiondate",
        "firstorderdate",
        "startdate",
        "customersince",
        "signupdate",
    ),
    C.PAYMENT_TERMS_DAYS: ("paymenttermsdays", "paymentterms", "terms", "termsdays"),
    C.ACTIVITY: ("activity", "activitytype", "driver", "costdriver", "type"),
    C.RATE: ("rate", "costperunit", "unitcost", "activityrate"),
    C.EFFECTIVE_FROM: ("effectivefrom", "validfrom", "from"),
    C.MONTH: ("month", "period", "date"),
    C.SEGMENT: ("segment", "customersegment"),
    C.PROGRAM: ("program", "programme", "campaigntype", "lever"),
    C.SPEND: ("spend", "budget", "cost", "amount"),
    C.OUTCOME: ("outcome", "result", "response"),
}


class LayoutError(ValueError):
    """The file is not a table Continuum can read; the message says why."""


@dataclass(frozen=True)
class FileLayout:
    """How a file is laid out, as sniffed from its first few hundred kilobytes."""

    encoding: str
    delimiter: str | None  # None for .xlsx; WHITESPACE for runs of spaces
    has_header: bool
    columns: tuple[str, ...]  # header names, or "1", "2", ... when there is no header
    is_excel: bool = False


@dataclass(frozen=True)
class Chunk:
    """A slice of the file as text, with each row's line number in the file."""

    frame: pd.DataFrame  # contract column names -> str values (missing = NA)
    rows: pd.Series  # int line numbers, aligned with frame
    ragged: tuple[RaggedRow, ...] = ()  # lines skipped for having the wrong number of fields


def file_checksum(source: Source) -> str:
    """SHA-256 of the file's bytes: the same file imported twice is recognised by it."""
    digest = hashlib.sha256()
    if isinstance(source, bytes):
        digest.update(source)
    else:
        with open(source, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _open(source: Source) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def _head(source: Source) -> bytes:
    with _open(source) as fh:
        return fh.read(_SNIFF_BYTES)


def sniff_layout(source: Source, file_name: str) -> FileLayout:
    """Work out encoding, delimiter, header and column names of a CSV/text or .xlsx file.

    Raises
    ------
    LayoutError
        For a file :func:`planning.ingest.uploads.check_source` refuses (an empty file, a type
        Continuum does not read, a renamed binary, a hostile workbook), or text with no
        consistent columns.
    """
    try:
        file_type = uploads.check_source(source, file_name)
    except uploads.UploadRefused as exc:
        raise LayoutError(str(exc)) from exc
    if file_type == "xlsx":
        return _sniff_excel(source, file_name)
    head = _head(source)
    encoding, text = _decode_head(head)
    lines = [line for line in text.splitlines() if line.strip()][:60]
    if len(head) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut mid-way
    try:
        delimiter = _sniff_delimiter(lines)
        rows = _split(lines, delimiter)
    except csv.Error as exc:  # a field over the csv module's 128 KB limit, for one
        raise LayoutError(
            f"This is not a table Continuum can read: {file_name} has a cell "
            f"it cannot split into columns ({exc})."
        ) from exc
    has_header = _looks_like_header(rows)
    width = len(rows[0]) if has_header else _mode([len(r) for r in rows])
    names = _clean_names(rows[0], width) if has_header else tuple(str(i + 1) for i in range(width))
    return FileLayout(encoding=encoding, delimiter=delimiter, has_header=has_header, columns=names)


def _decode_head(head: bytes) -> tuple[str, str]:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", head[3:].decode("utf-8", errors="replace")
    try:
        cut = head if len(head) < _SNIFF_BYTES else head[: head.rfind(b"\n") + 1] or head
        return "utf-8", cut.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1", head.decode("latin-1")


def estimate_rows(source: Source, layout: FileLayout) -> int:
    """Rows in the file, estimated from its size and the sniffed lines' average length."""
    size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    if layout.is_excel:
        return size // 40  # compressed XML: a rough guide only
    head = _head(source)
    lines = max(head.count(b"\n"), 1)
    return int(size / (len(head) / lines))


def _mode(counts: list[int]) -> int:
    return max(sorted(set(counts)), key=counts.count)


def _sniff_delimiter(lines: list[str]) -> str:
    # Most lines must agree on the field count: 90% of a long sample, a majority of a short one.
    needed = 0.9 if len(lines) >= 10 else 0.5 + 1e-9
    best: tuple[float, int, str] | None = None
    for delimiter in _CANDIDATE_DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=delimiter)]
        common = _mode(counts)
        agreement = counts.count(common) / len(counts)
        if common > 1 and agreement >= needed:
            candidate = (agreement, common, delimiter)
            best = candidate if best is None or candidate[:2] > best[:2] else best
    if best is not None:
        return best[2]
    counts = [len(line.split()) for line in lines]
    common = _mode(counts)
    if common > 1 and counts.count(common) / len(counts) >= needed:
        return WHITESPACE
    if common == 1 and all(c == 1 for c in counts):
        return ","  # a single-column file: the mapping will say what is missing
    raise LayoutError(
        "This is not a table: no delimiter (comma, semicolon, tab, pipe or spaces) splits the "
        f"lines into the same number of columns (first lines have {counts[:5]} fields)."
    )


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    if delimiter == WHITESPACE:
        return [line.split() for line in lines]
    return [[cell.strip() for cell in row] for row in csv.reader(lines, delimiter=delimiter)]


_NUMERIC = re.compile(
    r"^[-+]?[$€£]?\s*[\d.,]+(?:[eE][-+]?\d+)?$|^\d{4}-\d{2}-\d{2}.*$|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}$"
)


def _looks_numeric(cell: object) -> bool:
    return isinstance(cell, (int, float)) or bool(_NUMERIC.match(str(cell).strip()))


def _looks_like_header(rows: Sequence[Sequence[object]]) -> bool:
    if len(rows) < 2:
        return not all(_looks_numeric(c) for c in rows[0] if str(c).strip())
    first, body = rows[0], rows[1:]
    if all(_looks_numeric(c) for c in first if c not in (None, "")):
        return False
    body_numeric = []
    for j in range(len(first)):
        column = [r[j] for r in body if j < len(r) and r[j] not in (None, "")]
        numeric = sum(_looks_numeric(c) for c in column)
        body_numeric.append(bool(column) and numeric / len(column) >= 0.8)
    first_numeric = [_looks_numeric(c) for c in first]
    if any(b and not f for b, f in zip(body_numeric, first_numeric, strict=True)):
        return True  # a name above a column of numbers
    # The first row with the same shape as the data is data; where every column is text, a
    # header row is by far the likelier reading.
    return not (any(body_numeric) and first_numeric == body_numeric)


def _clean_names(cells: Sequence[object], width: int) -> tuple[str, ...]:
    names: list[str] = []
    for i in range(width):
        raw = str(cells[i]).strip() if i < len(cells) and cells[i] is not None else ""
        name = raw or f"column_{i + 1}"
        while name in names:
            name = f"{name}_{i + 1}"
        names.append(name)
    return tuple(names)


def _sniff_excel(source: Source, file_name: str) -> FileLayout:
    rows = list(_excel_rows(source, file_name, limit=60))
    rows = [r for r in rows if any(c not in (None, "") for c in r)]
    if not rows:
        raise LayoutError("The workbook's first sheet is empty: there are no rows to import.")
    width = max(len(r) for r in rows)
    has_header = _looks_like_header([list(r) for r in rows])
    names = (
        _clean_names(list(rows[0]), width)
        if has_header
        else tuple(str(i + 1) for i in range(width))
    )
    return FileLayout(
        encoding="xlsx", delimiter=None, has_header=has_header, columns=names, is_excel=True
    )


def _excel_rows(
    source: Source, file_name: str, limit: int | None = None
) -> Iterator[tuple[object, ...]]:
    """The first sheet's rows, parsed by openpyxl through defusedxml (checked, not assumed)."""
    try:
        uploads.require_safe_openpyxl()
    except uploads.UploadRefused as exc:
        raise LayoutError(str(exc)) from exc
    from openpyxl import load_workbook

    with _open(source) as fh:
        try:
            workbook = load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken archive
            raise LayoutError(f"{file_name} is not a readable .xlsx workbook: {exc}") from exc
        try:
            if not workbook.worksheets:
                raise LayoutError(f"{file_name} has no worksheet: there are no rows to import.")
            rows = workbook.worksheets[0].iter_rows(values_only=True)
            for i in itertools.count():
                if limit is not None and i >= limit:
                    break
                try:
                    row = next(rows)
                except StopIteration:
                    break
                except Exception as exc:  # defusedxml's refusals, expat's, zipfile's errors
                    raise LayoutError(
                        f"{file_name}: the first sheet cannot be read "
                        f"({type(exc).__name__}: {exc})."
                    ) from exc
                yield row
        finally:
            workbook.close()


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def suggest_mapping(kind: str, layout: FileLayout) -> dict[str, str]:
    """Contract column -> file column, matched by name or a known synonym (no positions)."""
    by_norm = {_normalise(c): c for c in layout.columns}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name, _type, _required in C.CONTRACT[kind]:
        for candidate in (name, *SYNONYMS.get(name, ())):
            column = by_norm.get(_normalise(candidate))
            if column is not None and column not in used:
                mapping[name] = column
                used.add(column)
                break
    return mapping


def resolve_mapping(
    kind: str, layout: FileLayout, mapping: dict[str, str] | None
) -> tuple[dict[str, str], list[str]]:
    """Combine an explicit mapping with suggestions; return (mapping, problems in words).

    Explicit entries may name a file column or give its 1-based position; an empty value
    says the column is not in the file (no suggestion fills it).
    """
    known = {name for name, _t, _r in C.CONTRACT[kind]}
    problems: list[str] = []
    resolved: dict[str, str] = {}
    for target, column in (mapping or {}).items():
        if target in known and column == "":
            continue
        if target not in known:
            problems.append(
                f"Mapping '{target}={column}': '{target}' is not a {kind} column "
                f"(expected one of: {', '.join(sorted(known))})."
            )
            continue
        if column in layout.columns:
            resolved[target] = column
        elif column.isdigit() and 1 <= int(column) <= len(layout.columns):
            resolved[target] = layout.columns[int(column) - 1]
        else:
            problems.append(
                f"Mapping '{target}={column}': the file has no column '{column}' "
                f"(its columns are: {', '.join(layout.columns)})."
            )
    taken = set(resolved.values())
    for target, column in suggest_mapping(kind, layout).items():
        if target not in resolved and column not in taken and target not in (mapping or {}):
            resolved[target] = column
            taken.add(column)
    for name, _type, required in C.CONTRACT[kind]:
        if required and name not in resolved:
            problems.append(
                f"Required column '{name}' missing: the file has columns "
                f"{', '.join(layout.columns)}; map one with --map {name}=COLUMN "
                "(a name, or a position such as 1)."
            )
    return resolved, problems


def read_chunks(
    source: Source, layout: FileLayout, mapping: dict[str, str], chunk_rows: int = CHUNK_ROWS
) -> Iterator[Chunk]:
    """Yield the mapped columns as text, ``chunk_rows`` rows at a time; blank lines skipped."""
    positions = {target: layout.columns.index(col) for target, col in mapping.items()}
    first_line = 2 if layout.has_header else 1
    if layout.is_excel:
        yield from _excel_chunks(source, positions, first_line, chunk_rows)
        return
    if layout.delimiter != WHITESPACE and not _has_blank_lines(source):
        yield from _arrow_chunks(source, layout, positions, first_line, chunk_rows)
        return
    with _open(source) as fh:
        yield from _pandas_chunks(fh, layout, positions, first_line, chunk_rows)


def _pandas_chunks(
    fh: BinaryIO, layout: FileLayout, positions: dict[str, int], first_line: int, chunk_rows: int
) -> Iterator[Chunk]:
    reader = pd.read_csv(
        fh,
        sep=r"\s+" if layout.delimiter == WHITESPACE else layout.delimiter,
        header=None,
        skiprows=1 if layout.has_header else 0,
        usecols=sorted(set(positions.values())),
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
        skipinitialspace=True,
        encoding=layout.encoding,
        chunksize=chunk_rows,
        engine="c",
    )
    for raw in _checked(reader):
        frame = pd.DataFrame({target: raw[pos] for target, pos in positions.items()})
        keep = frame.notna().any(axis=1)
        rows = pd.Series(raw.index.to_numpy() + first_line, index=frame.index)
        if not keep.all():
            frame, rows = frame[keep], rows[keep]
        yield Chunk(frame=frame, rows=rows)


def _checked(reader) -> Iterator[pd.DataFrame]:
    """pandas stops at a line with too many fields; turn that into a RaggedRow with its line."""
    try:
        yield from reader
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if not found:
            raise RaggedRow(None, 0, 0, str(exc)) from exc
        expected, line, fields = map(int, found.groups())
        raise RaggedRow(line, fields, expected, "") from exc


class RaggedRow(ValueError):
    """A line with more or fewer fields than the header."""

    def __init__(self, line: int | None, fields: int, expected: int, text: str) -> None:
        super().__init__(f"line has {fields} fields, expected {expected}")
        self.line, self.fields, self.expected, self.text = line, fields, expected, text


def _has_blank_lines(source: Source) -> bool:
    """True if any line is empty; such files go through pandas, which keeps line numbers.

    Scans for two line ends in a row (or with only a carriage return between them) among the
    positions of the line ends, with numpy over a memory map: a few times faster than a byte
    search, because every line has one.
    """
    if isinstance(source, bytes):
        return _blank_line_in(np.frombuffer(source, dtype=np.uint8))
    with open(source, "rb") as fh:
        if fh.seek(0, io.SEEK_END) == 0:
            return False
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = np.frombuffer(mapped, dtype=np.uint8)
            try:
                return any(
                    _blank_line_in(view[start : start + _SCAN_BYTES + 2])
                    for start in range(0, len(view), _SCAN_BYTES)
                )
            finally:
                del view  # the map cannot close while an array still points into it


_SCAN_BYTES = 1 << 26


def _blank_line_in(data: np.ndarray) -> bool:
    ends = np.flatnonzero(data == 10)
    gaps = np.diff(ends)
    if (gaps == 1).any():
        return True
    crlf = ends[:-1][gaps == 2] + 1
    return bool((data[crlf] == 13).any())


def _arrow_chunks(
    source: Source,
    layout: FileLayout,
    positions: dict[str, int],
    first_line: int,
    chunk_rows: int,
) -> Iterator[Chunk]:
    """Stream a delimited file with Arrow's CSV reader (several times faster than pandas).

    Lines with the wrong number of fields are skipped by the reader and reported as
    :class:`Chunk.ragged`; later rows' line numbers are shifted past them, so every row
    number stays the file's own line number.
    """

    names = [f"c{i}" for i in range(len(layout.columns))]
    ragged: list[RaggedRow] = []

    def on_invalid(row) -> str:
        ragged.append(RaggedRow(row.number, row.actual_columns, row.expected_columns, row.text))
        return "skip"

    used = sorted(set(positions.values()))
    with _open(source) as fh:
        yield from _arrow_batches(
            fh, names, on_invalid, ragged, layout, positions, used, first_line, chunk_rows
        )


def _arrow_batches(
    fh, names, on_invalid, ragged, layout, positions, used, first_line, chunk_rows
) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    reader = pacsv.open_csv(
        fh,
        read_options=pacsv.ReadOptions(
            column_names=names,
            skip_rows=1 if layout.has_header else 0,
            block_size=max(1 << 20, min(chunk_rows * 64, 1 << 25)),
            use_threads=False,
            encoding="utf8" if layout.encoding in ("utf-8", "utf-8-sig") else layout.encoding,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=layout.delimiter, invalid_row_handler=on_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            include_columns=[names[i] for i in used],
            column_types={names[i]: pa.string() for i in used},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        ),
    )
    record = 0
    reported = 0
    for batch in reader:
        table = pa.Table.from_batches([batch])
        frame = pd.DataFrame({t: table.column(names[p]).to_pandas() for t, p in positions.items()})
        lines = np.arange(record, record + len(frame)) + first_line
        skipped = sorted(r.line for r in ragged if r.line is not None)
        for line in skipped:  # shift each row past the skipped lines before it
            lines = lines + (lines >= line)
        record += len(frame)
        new_ragged, reported = ragged[reported:], len(ragged)
        yield Chunk(frame=frame, rows=pd.Series(lines, index=frame.index), ragged=tuple(new_ragged))


def _excel_chunks(
    source: Source, positions: dict[str, int], first_line: int, chunk_rows: int
) -> Iterator[Chunk]:
    buffer: list[tuple[object, ...]] = []
    numbers: list[int] = []
    rows = _excel_rows(source, "the workbook")
    if first_line == 2:
        next(rows, None)
    for line, row in enumerate(rows, start=first_line):
        if not any(c not in (None, "") for c in row):
            continue
        buffer.append(row)
        numbers.append(line)
        if len(buffer) >= chunk_rows:
            yield _excel_frame(buffer, numbers, positions)
            buffer, numbers = [], []
    if buffer:
        yield _excel_frame(buffer, numbers, positions)


def _excel_cell(value: object) -> object:
    if value is None or value == "":
        return pd.NA
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _excel_frame(
    buffer: list[tuple[object, ...]], numbers: list[int], positions: dict[str, int]
) -> Chunk:
    data = {
        target: [_excel_cell(r[pos]) if pos < len(r) else pd.NA for r in buffer]
        for target, pos in positions.items()
    }
    frame = pd.DataFrame(data, dtype="str")
    return Chunk(frame=frame, rows=pd.Series(numbers, index=frame.index))


def parse_mapping(text: str | None) -> dict[str, str]:
    """Parse ``customer_id=CustID,date=3`` into a dict; raises ValueError on a bad pair."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        target, sep, column = pair.partition("=")
        if not sep or not target.strip() or not column.strip():
            raise ValueError(
                f"Bad --map entry '{pair}': write it as contract_column=FileColumn, "
                "for example customer_id=CustID or customer_id=1."
            )
        mapping[target.strip()] = column.strip()
    return mapping
