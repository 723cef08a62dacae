"""Files built to attack an importer: renamed binaries, hostile workbooks, ZIP oddities.

Each builder returns the file's bytes. The workbooks start from a real openpyxl workbook and
swap one XML part for a hostile one, so everything else about them is what Excel expects.
"""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook

SHEET_PART = "xl/worksheets/sheet1.xml"
_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

GOOD_CSV = b"customer_id,date,amount\nA1,2025-01-02,10.50\nA2,2025-01-03,1200\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(200)


def good_workbook(rows: list[list[object]] | None = None) -> bytes:
    """A small transactions workbook saved by openpyxl."""
    book = Workbook()
    sheet = book.active
    for row in rows or [
        ["customer_id", "date", "amount"],
        ["A1", "2025-01-02", 10.5],
        ["A2", "2025-01-03", 1200],
    ]:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def replace_part(workbook: bytes, part: str, content: bytes) -> bytes:
    """``workbook`` with one archive member's bytes replaced (or added)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename != part:
                dst.writestr(info, src.read(info))
        dst.writestr(part, content)
    return out.getvalue()


def billion_laughs_workbook() -> bytes:
    """A workbook whose sheet declares nested entities that expand to 10^9 'lol's."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    return _workbook_with_doctype("".join(entities), "&lol9;")


def external_entity_workbook(target: str = "file:///etc/passwd") -> bytes:
    """A workbook whose sheet pulls ``target`` into a cell through an external entity (XXE)."""
    return _workbook_with_doctype(f'<!ENTITY xxe SYSTEM "{target}">', "&xxe;")


def _workbook_with_doctype(declarations: str, cell: str) -> bytes:
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!DOCTYPE worksheet [{declarations}]>\n"
        f'<worksheet xmlns="{_SHEET_NS}"><sheetData><row r="1">'
        f'<c r="A1" t="inlineStr"><is><t>{cell}</t></is></c></row></sheetData></worksheet>'
    )
    return replace_part(good_workbook(), SHEET_PART, sheet.encode())


def zip_without_content_types() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("data.csv", GOOD_CSV)
    return out.getvalue()


def word_document() -> bytes:
    """A ZIP that declares itself a Word document (what a renamed .docx looks like)."""
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()
