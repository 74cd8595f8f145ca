"""Import of a 100 000-row ledger through the real import path into a fresh SQLite file.

    python -m bench.import_bench [--rows 100000] [--format csv|xlsx]

Prints the time to parse and plan (``bot.imports.prepare_import``: the parse runs in a thread,
as in the bot) and to write (``storage.apply_import``: one transaction, batch statements),
separately, for a first import, a re-import of the same file (every row unchanged) and a
re-import where every overdue principal changed (100 000 UPDATEs: tomorrow's export), with peak
memory as Python sees it (tracemalloc) and as the OS does (ru_maxrss).
The rows come from bench/ledger_data.py: 16 columns, one bad amount in a thousand rows and a
few duplicate contracts, collectors 经理0..经理49.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from bench.ledger_data import HEADER, _line
from bot.domain.casefile import local_date
from bot.domain.people import Role
from bot.imports import prepare_import
from bot.storage import open_storage

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def _changed_line(i: int) -> str:
    """The same row with a different overdue principal (bad rows stay bad)."""
    return _line(i).replace(f",{50_000 + i}.5,", f",{50_007 + i}.5,", 1)


def make_ledger(rows: int, fmt: str, *, changed: bool = False) -> bytes:
    line = _changed_line if changed else _line
    lines = [HEADER, *(line(i) for i in range(rows))]
    if fmt == "csv":
        return ("\n".join(lines) + "\n").encode("gb18030")
    import csv

    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    for record in csv.reader(lines):
        ws.append(record)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def _import_thrice(data: bytes, changed: bytes, fmt: str, *, trace: bool) -> list[str]:
    from zoneinfo import ZoneInfo

    report = []
    with tempfile.TemporaryDirectory() as tmp:
        storage = await open_storage(str(Path(tmp) / "bench.db"), now=NOW)
        try:
            team = await storage.ensure_team("东城组", now=NOW)
            for i in range(50):
                await storage.add_user(telegram_id=10_000 + i, name=f"经理{i}",
                                       role=Role.COLLECTOR, team_id=team.id, now=NOW)  # fmt: skip
            today = local_date(NOW, ZoneInfo("Asia/Shanghai"))
            for label, content in (
                ("first import", data),
                ("re-import (unchanged)", data),
                ("re-import (every balance changed)", changed),
            ):
                if trace:
                    tracemalloc.start()
                t0 = time.perf_counter()
                plan = await prepare_import(storage, content, team_id=team.id, today=today)
                t1 = time.perf_counter()
                import_id = await storage.create_import(
                    team_id=team.id, created_by=None, file_name=f"bench.{fmt}", data=None, now=NOW
                )
                summary = await storage.apply_import(
                    plan, import_id=import_id, actor_id=None, now=NOW
                )
                t2 = time.perf_counter()
                line = (f"{label}: parse+plan {t1 - t0:.2f} s, write {t2 - t1:.2f} s, "
                        f"total {t2 - t0:.2f} s; {summary}")  # fmt: skip
                if trace:
                    _, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                    line = f"{label}: tracemalloc peak {peak / 1e6:.0f} MB"
                report.append(line)
                print(line, flush=True)
                del plan
            size = (Path(tmp) / "bench.db").stat().st_size
            if not trace:
                report.append(f"database file {size / 1e6:.0f} MB")
                print(report[-1], flush=True)
        finally:
            await storage.close()
    return report


async def run(rows: int, fmt: str) -> None:
    data = make_ledger(rows, fmt)
    changed = make_ledger(rows, fmt, changed=True)
    print(f"ledger: {rows:,} rows, {fmt}, {len(data) / 1e6:.1f} MB", flush=True)
    print("-- timing (tracemalloc off: it slows allocation-heavy parsing several times)")
    await _import_thrice(data, changed, fmt, trace=False)
    print("-- memory (same imports again, tracemalloc on)")
    await _import_thrice(data, changed, fmt, trace=True)
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process ru_maxrss {maxrss_kb / 1024:.0f} MB (includes the generated file itself)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    args = parser.parse_args(argv)
    asyncio.run(run(args.rows, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
