"""The export's XLSX writer: xlsxwriter in ``constant_memory`` mode, in a child process.

Why a child. Writing a 100 000-row workbook is seconds of CPU (the XML of every cell, then
zipping it); in a thread it held the GIL against the event loop. In a child (:mod:`bot.child`)
it runs on the other core, behind the bot (``nice``), and the loop only hands rows over.

Why xlsxwriter. Well kept (releases every few months, tested against files Excel itself
wrote), and 2-3 times faster than openpyxl's write-only mode for the same rows
(``python -m bench.export_bench --writers``); ``constant_memory`` writes each row to the
sheet's temporary file as soon as the next one starts, so memory stays flat at any size.

The conversation, parent to child, one message per call: ``("sheet", title, headers, widths,
kinds)`` opens a sheet; ``("rows", rows)`` appends a batch of rows (lists of Python values:
``str``, numbers, ``date``, naive ``datetime``, ``None`` for an empty cell); ``("close",)``
writes the file. The child answers once: ``("ok", usage)`` when the file is complete (rows,
its CPU seconds and peak memory, which the parent logs), or
``("crash", traceback)``. Everything it writes lives in ``workdir`` (the parent's to remove),
and the finished workbook is ``workdir/out.xlsx``; the parent moves it into place, so a
killed writer never leaves a half file where the reader looks.
"""

from __future__ import annotations

import datetime as dt
import gc
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

#: Number formats by column kind: money as a number with two decimals, days and local times.
FORMATS: dict[str, str] = {
    "money": "#,##0.00",
    "date": "yyyy-mm-dd",
    "time": "yyyy-mm-dd hh:mm",
}

#: The finished workbook's name inside the work directory.
OUT_NAME = "out.xlsx"

#: Excel's last row (1 048 576), the header not counted.
_MAX_ROW = 1_048_575

#: Pixels per character of column width (Calibri 11's digit). A width set as ``width * 7``
#: pixels is stored as exactly ``width`` characters: the widths openpyxl wrote before.
_PIXELS_PER_CHAR = 7


def write_workbook(conn: Connection, workdir: str, memory_bytes: int | None, niceness: int) -> None:
    """The child: read the conversation from ``conn``, write ``workdir/out.xlsx``, answer."""
    from bot.child import calm_child

    calm_child(memory_bytes, niceness)
    # Nothing it builds has cycles (a row's cells are dropped once written): the cyclic
    # collector would only walk the heap again and again.
    gc.disable()
    try:
        rows = _converse(conn, workdir)
        answer: tuple[str, Any] = ("ok", _usage(rows))
    except EOFError:  # the parent went away: nothing to answer
        return
    except BaseException:
        answer = ("crash", traceback.format_exc())
    try:
        conn.send(answer)
    except OSError:
        pass
    finally:
        conn.close()


def _usage(rows: int) -> dict[str, float]:
    """What writing took, for the log and the benchmark: rows, CPU seconds, peak RSS (MiB)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return {"rows": rows}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "rows": rows,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
    }


def _converse(conn: Connection, workdir: str) -> int:
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(Path(workdir) / OUT_NAME),
        {
            "constant_memory": True,
            "tmpdir": workdir,
            # Text is text: nothing the export writes may become a formula or a link.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = book.add_format({"bold": True})
    formats = {kind: book.add_format({"num_format": f}) for kind, f in FORMATS.items()}
    sheet: Any = None
    cells: list[Callable[[int, int, Any], Any]] = []
    row = 0
    total = 0
    while True:
        message = conn.recv()
        what = message[0]
        if what == "rows":
            total += len(message[1])
            if row + len(message[1]) > _MAX_ROW:
                # xlsxwriter would drop the rows past the end without a word.
                raise ValueError(f"a sheet holds at most {_MAX_ROW:,} rows after its header")
            for values in message[1]:
                row += 1
                for col, value in enumerate(values):
                    if value is not None:
                        cells[col](row, col, value)
        elif what == "sheet":
            _, title, headers, widths, kinds = message
            sheet = book.add_worksheet(title)
            sheet.freeze_panes(1, 0)
            for col, (text, width) in enumerate(zip(headers, widths, strict=True)):
                sheet.set_column_pixels(col, col, width * _PIXELS_PER_CHAR)
                sheet.write_string(0, col, text, bold)
            cells = [_cell_writer(sheet, formats.get(kind)) for kind in kinds]
            row = 0
        elif what == "close":
            break
        else:
            raise ValueError(f"unknown message {what!r}")
        del message
    # Written only when asked: a writer stopped half-way leaves its temporary files in the
    # work directory, which the parent removes.
    book.close()
    return total


def _cell_writer(sheet: Any, number_format: Any) -> Callable[[int, int, Any], Any]:
    """A column's writer: by the value's type, with the column's number format if any."""
    write_string = sheet.write_string
    write_number = sheet.write_number
    write_datetime = sheet.write_datetime
    write_boolean = sheet.write_boolean

    def write(row: int, col: int, value: Any) -> Any:
        if isinstance(value, str):
            return write_string(row, col, value, number_format)
        if isinstance(value, bool):
            return write_boolean(row, col, value, number_format)
        if isinstance(value, int | float):
            return write_number(row, col, value, number_format)
        if isinstance(value, dt.date):  # a datetime is a date too
            return write_datetime(row, col, value, number_format)
        return write_string(row, col, str(value), number_format)

    return write


def sheet_message(
    title: str, headers: Sequence[str], widths: Sequence[int], kinds: Sequence[str]
) -> tuple[Any, ...]:
    return ("sheet", title, list(headers), list(widths), list(kinds))


def close_message() -> tuple[Any, ...]:
    return ("close",)
