"""XLSX export of a team with 100 000 cases and a year of history: time and peak memory.

    python -m bench.export_bench [--cases 100000] [--days 365] [--csv] [--trace]
    python -m bench.export_bench --writers [--rows 100000] [--repeat 1]

The team is written straight into a fresh SQLite file through the storage engine (batch
statements: cases, and for each case about two meetings, one plan of three instalments — kept,
broken, partial or still open —, three payments and now and then an approval request over the
year). Then the export runs as /export and ``qingshou export`` run it (bot.exports.write_xlsx:
storage batches into cell values in a worker thread, written by xlsxwriter in a child process),
once timed, once under tracemalloc for the peak of Python's own memory; ru_maxrss is the
process's peak as the OS saw it (the seeding included, so it is an upper bound).

``--writers``: the old writer and the new side by side on the same rows — the payments sheet
(12 columns: numbers, CJK names, days, yuan, words, local times) of ``--rows`` payments, read
from the same database through the same storage batches and the same cell values; only the
writer differs: openpyxl's write-only workbook in a worker thread (the export before issue 17,
kept here as :func:`openpyxl_write_xlsx`) against xlsxwriter ``constant_memory`` in a child
process (bot.exports.write_xlsx). Each run is a fresh interpreter (its own peak RSS), with a
coroutine ticking every 5 ms meanwhile: how late it wakes is how long the event loop was held
(what every other chat would wait). Prints seconds, rows/s, CPU and peak memory of the bot's
process and of the writer process, the loop's lag, and new/old ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.casefile import local_date
from bot.domain.people import Role
from bot.exports import (
    SHEETS,
    ExportRequest,
    Sheet,
    _in_thread,
    _Tally,
    _values,
    headers,
    make_period,
    sheet_title,
    write_csv_zip,
    write_xlsx,
)
from bot.imports import defuse_cell
from bot.storage import open_storage
from bot.storage.sqlite import SqliteStorage

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
CHUNK = 20_000
#: How long the loop's lag is sampled with nothing going on, before each --writers run.
QUIET_SECONDS = 5.0


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _insert(storage: SqliteStorage, sql: str, rows: Iterator[tuple[Any, ...]]) -> None:
    for chunk in _chunks(rows):
        async with storage._tx() as db:
            await db.executemany(sql, chunk)


async def bulk_cases(
    storage: Any, team_id: int, n: int, *, leads: tuple[int, ...] = (), now: datetime = NOW
) -> None:
    """``n`` open cases ``BX<i>`` of ``team_id`` (led by ``leads`` in turn), by SQL."""
    assert isinstance(storage, SqliteStorage)
    today = local_date(now, TZ)
    stamp = _ts(now)
    hostile = ('=HYPERLINK("x")', "+1", "-2", "@me")

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            name = hostile[i % 4] if i % 997 == 0 else f"借款人{i}"
            yield (f"BX{i:07d}", team_id, leads[i % len(leads)] if leads else None, name,
                   f"1380000{i % 10000:04d}", 1_900_000 + i, 900_000 + i % 5000,
                   (today - timedelta(days=30 + i % 400)).isoformat(), stamp, stamp)  # fmt: skip

    await _insert(
        storage,
        "INSERT INTO cases (contract_no, team_id, lead_id, borrower_name, borrower_phone, "
        "principal_outstanding, overdue_principal, overdue_since, ledger_hash, created_at, "
        "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'bench', ?, ?)",
        rows(),
    )


async def bulk_history(
    storage: SqliteStorage, team_id: int, leads: tuple[int, ...], *, days: int, now: datetime
) -> dict[str, int]:
    """About a year of meetings, plans, instalments, payments and requests for every case."""
    today = local_date(now, TZ)
    rnd = random.Random(7)
    cases = [r[0] for r in await storage._fetchall(
        "SELECT id FROM cases WHERE team_id = ? ORDER BY id", (team_id,))]  # fmt: skip
    counts = dict.fromkeys(("meetings", "commitments", "instalments", "payments", "approvals"), 0)

    def when(ago: int) -> tuple[date, str]:
        day = today - timedelta(days=ago)
        return day, _ts(datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=16))

    def meetings() -> Iterator[tuple[Any, ...]]:
        for k, case in enumerate(cases):
            for _ in range(2):
                day, at = when(rnd.randrange(days))
                counts["meetings"] += 1
                yield (case, leads[k % len(leads)], at, day.isoformat(), "result", "home",
                       "张伟；借款人", "partly", "答应分期", "neutral", "call_again")  # fmt: skip

    await _insert(storage,
        "INSERT INTO meetings (case_id, author_id, at, held_on, kind, venue, attendees, "
        "step_achieved, moved, stance, next_step) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        meetings())  # fmt: skip

    def commitments() -> Iterator[tuple[Any, ...]]:
        for k, case in enumerate(cases):
            _, at = when(rnd.randrange(60, days))
            counts["commitments"] += 1
            yield (case, leads[k % len(leads)], at, 50_000, 300_000, '{"kind":"dates"}',
                   "agreed", at)  # fmt: skip

    await _insert(storage,
        "INSERT INTO commitments (case_id, created_by, created_at, money_today, total, plan, "
        "status, agreed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", commitments())  # fmt: skip
    made = await storage._fetchall(
        "SELECT k.id, k.case_id, k.created_at, k.created_by FROM commitments k "
        "JOIN cases c ON c.id = k.case_id WHERE c.team_id = ? ORDER BY k.id",
        (team_id,))  # fmt: skip
    statuses = ("kept", "kept", "broken", "partial", "open")

    def instalments() -> Iterator[tuple[Any, ...]]:
        for commitment, _case, created, who in made:
            first = datetime.fromisoformat(created).astimezone(TZ).date()
            for seq in (1, 2, 3):
                due = first + timedelta(days=14 * seq)
                status = "open" if due > today else statuses[rnd.randrange(len(statuses))]
                paid = {"kept": 100_000, "partial": 40_000}.get(status, 0)
                evening = datetime.combine(due, datetime.min.time(), TZ) + timedelta(hours=18)
                settled = _ts(evening) if status in ("kept", "broken") else None
                counts["instalments"] += 1
                yield (commitment, seq, due.isoformat(), 100_000, paid, status, settled,
                       settled, who if settled else None,
                       "no_money" if status == "broken" else None)  # fmt: skip

    await _insert(storage,
        "INSERT INTO instalments (commitment_id, seq, due_on, amount, paid, status, settled_at, "
        "answered_at, answered_by, miss_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        instalments())  # fmt: skip

    def payments() -> Iterator[tuple[Any, ...]]:
        for k, case in enumerate(cases):
            for _ in range(3):
                day, at = when(rnd.randrange(days))
                counts["payments"] += 1
                yield (case, 20_000 + rnd.randrange(100) * 1_000, "cash", day.isoformat(), at,
                       leads[k % len(leads)], "outcome")  # fmt: skip

    await _insert(storage,
        "INSERT INTO payments (case_id, amount, channel, received_on, recorded_at, recorded_by, "
        "source) VALUES (?, ?, ?, ?, ?, ?, ?)", payments())  # fmt: skip

    def approvals() -> Iterator[tuple[Any, ...]]:
        for k, case in enumerate(cases):
            if k % 10:
                continue
            _, at = when(rnd.randrange(days))
            counts["approvals"] += 1
            yield (case, team_id, leads[k % len(leads)], at, "fee_waiver",
                   '{"detail": "=免罚息"}', "pending" if k % 30 == 0 else "approved")  # fmt: skip

    await _insert(storage,
        "INSERT INTO approvals (case_id, team_id, requested_by, requested_at, reasons, proposal, "
        "status) VALUES (?, ?, ?, ?, ?, ?, ?)", approvals())  # fmt: skip
    return counts


async def seed(db: Path, cases: int, days: int) -> str:
    """A fresh database at ``db``: the team, 50 collectors, the cases and their history."""
    storage = await open_storage(str(db), now=NOW)
    assert isinstance(storage, SqliteStorage)
    try:
        team = await storage.ensure_team("东城组", now=NOW)
        await storage.add_user(telegram_id=1, name="李组长", role=Role.SUPERVISOR,
                               team_id=team.id, now=NOW)  # fmt: skip
        leads = tuple([
            (await storage.add_user(telegram_id=100 + i, name=f"清收员{i}",
                                    role=Role.COLLECTOR, team_id=team.id, now=NOW)).id
            for i in range(50)
        ])  # fmt: skip
        t0 = time.perf_counter()
        await bulk_cases(storage, team.id, cases, leads=leads)
        counts = await bulk_history(storage, team.id, leads, days=days, now=NOW)
        seeded = time.perf_counter() - t0
    finally:
        await storage.close()
    total = cases + sum(counts.values())
    return (f"seeded {cases:,} cases and {days} days of history "
            f"({', '.join(f'{v:,} {k}' for k, v in counts.items())}; {total:,} rows) "
            f"in {seeded:.1f} s")  # fmt: skip


async def export(db: Path, days: int, fmt: str, trace: bool) -> str:
    """The supervisor's export of the year, as /export runs it; one line of numbers."""
    storage = await open_storage(str(db), now=NOW)
    try:
        boss = await storage.get_user_by_telegram_id(1)
        assert boss is not None
        today = local_date(NOW, TZ)
        period = make_period(today - timedelta(days=days - 1), today, TZ)
        request = ExportRequest(boss, None, period, TZ, today, "zh_Hans")
        dest = db.with_name("export." + ("xlsx" if fmt == "xlsx" else "zip"))
        if trace:
            tracemalloc.start()
        t0 = time.perf_counter()
        if fmt == "xlsx":
            written = await write_xlsx(storage, request, dest)
        else:
            written = await write_csv_zip(storage, request, dest)
        took = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
    finally:
        await storage.close()
    rows = sum(written.values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    n = len(SHEETS)
    what = f"XLSX ({n} sheets)" if fmt == "xlsx" else f"CSV (ZIP of {n})"
    what += f" [{', '.join(f'{k} {v:,}' for k, v in written.items())}]"
    size = dest.stat().st_size / 2**20
    line = (f"{what}: {rows:,} rows, {size:.1f} MB in {took:.1f} s = {rows / took:,.0f} rows/s "
            f"(CPU {cpu:.0f} s: on a busy machine the wall time is longer); "
            f"peak RSS of the exporting process {rss:.0f} MB")  # fmt: skip
    if trace:
        line += f"; peak Python allocations (tracemalloc, slower) {peak / 2**20:.1f} MB"
    return line


async def openpyxl_write_xlsx(storage: Any, request: ExportRequest, dest: Path) -> dict[str, int]:
    """The export's XLSX writer before issue 17, as it was: openpyxl's write-only workbook fed
    batch by batch in a worker thread, saved in a worker thread (for the side-by-side run)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    counts: dict[str, int] = {}
    tally = _Tally(request.max_rows)
    bold = Font(bold=True)
    formats = {"money": "#,##0.00", "date": "yyyy-mm-dd", "time": "yyyy-mm-dd hh:mm"}
    for sheet in request.chosen():
        ws = wb.create_sheet(sheet_title(sheet, request.locale))
        ws.freeze_panes = "A2"
        for i, column in enumerate(sheet.columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        head = []
        for text in headers(sheet, request.locale):
            cell = WriteOnlyCell(ws, value=defuse_cell(text))
            cell.font = bold
            head.append(cell)
        ws.append(head)
        styled = [(i, formats[c.kind]) for i, c in enumerate(sheet.columns) if c.kind in formats]

        def append(
            batch: list[Any], ws: Any = ws, sheet: Sheet = sheet, styled: Any = styled
        ) -> None:
            for record in batch:
                row = _values(sheet, record, request)
                for i, number_format in styled:
                    if row[i] is not None:
                        cell = WriteOnlyCell(ws, value=row[i])
                        cell.number_format = number_format
                        row[i] = cell
                ws.append(row)

        count = 0
        async for batch in sheet.rows(storage, request):
            tally.add(len(batch))
            await _in_thread(append, batch)
            count += len(batch)
        counts[sheet.key] = count
    await asyncio.to_thread(wb.save, str(dest))
    return counts


async def _ticks(lags: list[float], every: float = 0.005) -> None:
    """Wake every ``every`` seconds; note how late each wake-up came."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(every)
        lags.append(time.perf_counter() - start - every)


async def export_one(db: Path, days: int, writer: str, nice: int | None) -> dict[str, Any]:
    """One writer's run over the payments sheet: the figures, as a dict (printed as JSON)."""
    import logging

    from bot import exports

    usage: dict[str, Any] = {}

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            usage.update(getattr(record, "writer_usage", {}))

    logging.getLogger("bot.exports").addHandler(Grab())
    logging.getLogger("bot.exports").setLevel(logging.INFO)
    storage = await open_storage(str(db), now=NOW)
    try:
        boss = await storage.get_user_by_telegram_id(1)
        assert boss is not None
        today = local_date(NOW, TZ)
        period = make_period(today - timedelta(days=days - 1), today, TZ)
        request = ExportRequest(boss, None, period, TZ, today, "zh_Hans", ("payments",))
        dest = db.with_name(f"export-{writer}.xlsx")
        write = openpyxl_write_xlsx if writer == "old" else write_xlsx
        if nice is not None:
            exports.WRITER_NICENESS = nice
        warm = 0.0
        if writer == "new":
            # The fork server starts once per bot process (the first import or export pays
            # it): started here with an empty workbook, outside the timing, shown on its own.
            from bot.child import Child
            from bot.xlsx_writer import close_message, write_workbook

            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory() as scratch:
                async with Child(write_workbook, (scratch, None, 0), name="warm-up") as child:
                    await child.send(close_message)
                    await child.finish()
            warm = time.perf_counter() - t0
        # As in a bot that has run a while: the catalogs compiled, the writer's modules
        # imported (a first export in a fresh process pays these on the loop).
        import openpyxl  # noqa: F401

        for sheet in request.chosen():
            headers(sheet, request.locale)
        # The floor: the same ticker with nothing else going on, in the same process, just
        # before — on a shared machine the OS's own delays show here too.
        quiet: list[float] = []
        ticker = asyncio.create_task(_ticks(quiet))
        await asyncio.sleep(QUIET_SECONDS)
        ticker.cancel()
        lags: list[float] = []
        ticker = asyncio.create_task(_ticks(lags))
        await asyncio.sleep(0.05)
        before = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        written = await write(storage, request, dest)
        took = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_SELF)
        ticker.cancel()
    finally:
        await storage.close()
    ordered = sorted(lags)
    floor = sorted(quiet)
    return {
        "quiet_max": floor[-1],
        "quiet_p99": floor[int(len(floor) * 0.99)],
        "writer": writer,
        "rows": written["payments"],
        "seconds": took,
        "bot_cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "bot_peak_mib": after.ru_maxrss / 1024,
        "writer_cpu": usage.get("cpu", 0.0),
        "writer_peak_mib": usage.get("peak_mib", 0.0),
        "lag_max": ordered[-1],
        "lag_p99": ordered[int(len(ordered) * 0.99)],
        "ticks": len(ordered),
        "mb": dest.stat().st_size / 2**20,
        "warm": warm,
    }


def _writers_run(db: Path, days: int, writer: str, nice: int | None) -> dict[str, Any]:
    import json
    import subprocess

    args = [sys.executable, "-m", "bench.export_bench", "--export", str(db), "--days", str(days),
            "--writer", writer] + ([] if nice is None else ["--nice", str(nice)])  # fmt: skip
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _writers_table(old: dict[str, Any], new: dict[str, Any]) -> str:
    def line(r: dict[str, Any]) -> str:
        name = ("openpyxl write-only, thread" if r["writer"] == "old"
                else "xlsxwriter constant_memory, child")  # fmt: skip
        return (f"  {name:<34} {r['seconds']:6.1f} s {r['rows'] / r['seconds']:8,.0f} rows/s  "
                f"bot CPU {r['bot_cpu']:5.1f} s, peak {r['bot_peak_mib']:4.0f} MiB  "
                f"writer CPU {r['writer_cpu']:5.1f} s, peak {r['writer_peak_mib']:4.0f} MiB  "
                f"loop lag max {r['lag_max'] * 1000:6.1f} ms, p99 {r['lag_p99'] * 1000:5.1f} ms "
                f"(quiet: {r['quiet_max'] * 1000:.1f}, {r['quiet_p99'] * 1000:.1f})  "
                f"{r['mb']:.1f} MB"
                + (f" (+{r['warm']:.1f} s: fork server)" if r["warm"] else ""))  # fmt: skip

    peak_old = old["bot_peak_mib"]
    peak_new = max(new["bot_peak_mib"], new["writer_peak_mib"])
    return "\n".join([
        line(old),
        line(new),
        f"  new/old: time x{new['seconds'] / old['seconds']:.2f} "
        f"(CPU of both processes x{(new['bot_cpu'] + new['writer_cpu']) / old['bot_cpu']:.2f}: "
        f"wall time on a busy machine is mostly waiting) "
        f"(speed x{old['seconds'] / new['seconds']:.2f}); CPU in the bot's process "
        f"x{new['bot_cpu'] / old['bot_cpu']:.2f}; peak memory of the largest process "
        f"x{peak_new / peak_old:.2f}; loop lag max x{new['lag_max'] / old['lag_max']:.2f}, "
        f"p99 x{new['lag_p99'] / old['lag_p99']:.2f}",
    ])  # fmt: skip


def _child(db: Path, days: int, fmt: str, trace: bool) -> str:
    """Run the export in a fresh interpreter, so its peak RSS is the export's own."""
    import subprocess

    args = [sys.executable, "-m", "bench.export_bench", "--export", str(db), "--days", str(days),
            "--format", fmt] + (["--trace"] if trace else [])  # fmt: skip
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--csv", action="store_true", help="time the CSV (ZIP) export too")
    parser.add_argument("--trace", action="store_true", help="also a run under tracemalloc")
    parser.add_argument("--export", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--format", default="xlsx", help=argparse.SUPPRESS)
    parser.add_argument("--writer", choices=("old", "new"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--writers",
        action="store_true",
        help="the old and the new XLSX writer side by side on the same rows",
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows for --writers")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of --writers")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="the new writer's niceness for --writers: 0 (default) runs it at the "
        "old writer's priority; the bot runs it at 10",
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.export and args.writer:
        import json

        result = asyncio.run(export_one(Path(args.export), args.days, args.writer, args.nice))
        print(json.dumps(result))
        return 0
    if args.export:
        print(asyncio.run(export(Path(args.export), args.days, args.format, args.trace)))
        return 0
    if args.writers:
        with tempfile.TemporaryDirectory(prefix="qingshou-export-bench-") as tmp:
            db = Path(tmp) / "bench.db"
            print(asyncio.run(seed(db, -(-args.rows // 3), args.days)), flush=True)
            for n in range(args.repeat):
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"round {n + 1}: the payments sheet, same rows, one writer at a time "
                      f"(load average {load}, {os.cpu_count()} CPUs; "
                      f"new writer at nice {args.nice})", flush=True)  # fmt: skip
                old = _writers_run(db, args.days, "old", None)
                new = _writers_run(db, args.days, "new", args.nice)
                print(_writers_table(old, new), flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="qingshou-export-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        print(asyncio.run(seed(db, args.cases, args.days)), flush=True)
        print(_child(db, args.days, "xlsx", False), flush=True)
        if args.csv:
            print(_child(db, args.days, "csv", False), flush=True)
        if args.trace:
            print(_child(db, args.days, "xlsx", True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
