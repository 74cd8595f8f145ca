"""Ledger files a fuzzer (or an attacker) sends: each must be refused with a reason, quickly.

Built by taking a real workbook (openpyxl) and replacing the sheet inside the zip, so each file
is valid everywhere except where it is meant to be broken. Shared by the domain, end-to-end and
benchmark code.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _template() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append(["placeholder"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_sheet(
    sheet_xml: bytes | Iterable[bytes], *, extra: dict[str, bytes] | None = None
) -> bytes:
    """A workbook whose first sheet is ``sheet_xml`` (bytes, or chunks streamed into the zip)."""
    source = zipfile.ZipFile(io.BytesIO(_template()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == SHEET:
                with target.open(SHEET, "w") as fh:
                    for chunk in [sheet_xml] if isinstance(sheet_xml, bytes) else sheet_xml:
                        fh.write(chunk)
            else:
                target.writestr(info, source.read(info.filename))
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def sheet(rows_xml: bytes, *, dimension: str | None = None) -> bytes:
    dim = f'<dimension ref="{dimension}"/>'.encode() if dimension else b""
    return (
        b"<worksheet "
        + _NS.encode()
        + b">"
        + dim
        + b"<sheetData>"
        + rows_xml
        + b"</sheetData></worksheet>"
    )


def bad_zip() -> bytes:
    """Starts like an XLSX, is not a zip."""
    return b"PK\x03\x04" + b"\x00" * 64 + b"not really a zip"


def truncated_zip() -> bytes:
    """A real XLSX cut in half (a download that broke off)."""
    data = with_sheet(sheet(b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'))
    return data[: len(data) // 2]


def bad_xml() -> bytes:
    """The sheet's XML is broken (a tag never closed)."""
    return with_sheet(b"<worksheet " + _NS.encode() + b"><sheetData><row r='1'><c r='A1'>")


def entity_bomb() -> bytes:
    """The "billion laughs": ten levels of ten entities, a gigabyte once expanded."""
    levels = [b'<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        ref = f"&lol{i - 1};".encode() * 10
        levels.append(f'<!ENTITY lol{i} "'.encode() + ref + b'">')
    doctype = b"<!DOCTYPE worksheet [" + b"".join(levels) + b"]>"
    body = sheet(b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>')
    return with_sheet(b'<?xml version="1.0"?>' + doctype + body)


def wide(columns: int = 10_000) -> bytes:
    """A header row of ``columns`` filled cells."""
    cells = b"".join(
        f'<c r="{_col(i)}1" t="inlineStr"><is><t>列{i}</t></is></c>'.encode()
        for i in range(columns)
    )
    return with_sheet(sheet(b'<row r="1">' + cells + b"</row>"))


def _col(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def headerless(rows: int = 1_000_000, *, dimension: bool = False) -> bytes:
    """``rows`` rows of numbers and no header (about 3 MB for a million), with no
    ``<dimension>`` unless asked: as openpyxl's write-only mode writes it."""

    def chunks() -> Iterable[bytes]:
        dim = f'<dimension ref="A1:C{rows}"/>' if dimension else ""
        yield f"<worksheet {_NS}>{dim}<sheetData>".encode()
        batch: list[str] = []
        for r in range(1, rows + 1):
            batch.append(f"<row><c><v>{r}</v></c><c><v>7</v></c></row>")
            if len(batch) == 10_000:
                yield "".join(batch).encode()
                batch = []
        yield "".join(batch).encode()
        yield b"</sheetData></worksheet>"

    return with_sheet(chunks())
