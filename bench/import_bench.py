"""Import of a 100 000-row GB18030 ledger through the real import path, beside its floor.

    python -m bench.import_bench [--rows 100000] [--repeat 1] [--mode process|thread|both]

The floor is what no import of this file can avoid: read the file, decode it (GB18030), split
it with ``csv.reader`` and write its rows with one ``executemany`` in one transaction into a
fresh SQLite file (WAL, ``synchronous = NORMAL``, as the bot's). The product is
``bot.imports.import_bytes`` (what ``qingshou import`` runs): a first import into an empty
team, the same file again (every row unchanged), and a file where every overdue principal
changed (tomorrow's export). The reader runs in a child process (``process``, the bot's
way) and, for comparison, in a thread (``thread``).

Each run is its own process started by this one, which samples the resident memory of that
process and all its descendants (the fork server and the reader child included; PSS, so a page
two of them share counts once) every 10 ms and keeps the peak of the sum; floor and product
are measured the same way, side by side in the same run, and the floor's process imports the
same modules first (the same interpreter baseline). Times are wall clock inside the run (its
imports excluded); CPU is the seconds the whole process tree used (interpreter start included,
for floor and product alike), a figure a loaded machine disturbs less than the wall clock.
Every figure is printed as a ratio to the floor run just before it; the load average is
printed at the start and end (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ledger_data import HEADER, _line

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
TEAM = "东城组"


def _changed_line(i: int) -> str:
    """The same row with a different overdue principal (bad rows stay bad)."""
    return _line(i).replace(f",{50_000 + i}.5,", f",{50_007 + i}.5,", 1)


def make_ledger(rows: int, fmt: str, *, changed: bool = False) -> bytes:
    line = _changed_line if changed else _line
    lines = [HEADER, *(line(i) for i in range(rows))]
    if fmt == "csv":
        return ("\n".join(lines) + "\n").encode("gb18030")
    import csv
    import io

    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    for record in csv.reader(lines):
        ws.append(record)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- the runs (each in its own process) ---------------------------------------------------------


def _preload() -> None:
    """What the product's process imports before it starts: the floor imports it too."""
    import bot.imports
    import bot.storage  # noqa: F401


def _floor(file: Path, db: Path) -> dict[str, object]:
    import csv
    import io

    from bot.storage.testing import connect_file

    t0 = time.perf_counter()
    data = file.read_bytes()
    text = data.decode("gb18030")
    del data
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    with connect_file(db, autocommit=True) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        columns = ", ".join(f"c{i} TEXT" for i in range(len(header)))
        conn.execute(f"CREATE TABLE raw (id INTEGER PRIMARY KEY, {columns})")
        conn.execute("BEGIN")
        marks = ", ".join("?" for _ in header)
        conn.executemany(f"INSERT INTO raw VALUES (NULL, {marks})", reader)
        conn.execute("COMMIT")
    return {"seconds": time.perf_counter() - t0}


async def _product(file: Path, db: Path, mode: str) -> dict[str, object]:
    from zoneinfo import ZoneInfo

    from bot.domain.casefile import local_date
    from bot.imports import ImportLimits, import_bytes
    from bot.storage import open_storage

    t0 = time.perf_counter()
    storage = await open_storage(str(db), now=NOW)
    try:
        team = next(t for t in await storage.list_teams() if t.name == TEAM)
        # The same bench measures an older tree (``import_bytes`` taking the bytes, reading
        # in a process only) for the before/after figures.
        streams = "in_process" in inspect.signature(import_bytes).parameters
        extra: dict[str, Any] = {"in_process": mode == "process"} if streams else {}
        outcome = await import_bytes(
            storage,
            file if streams else await asyncio.to_thread(file.read_bytes),
            file_name=file.name,
            team_id=team.id,
            actor_id=None,
            now=NOW,
            today=local_date(NOW, ZoneInfo("Asia/Shanghai")),
            limits=ImportLimits(seconds=3600),  # a loaded machine must not make it give up
            **extra,
        )
    finally:
        await storage.close()
    return {"seconds": time.perf_counter() - t0, "summary": outcome.applied}


async def _setup(db: Path) -> None:
    from bot.domain.people import Role
    from bot.storage import open_storage

    storage = await open_storage(str(db), now=NOW)
    try:
        team = await storage.ensure_team(TEAM, now=NOW)
        for i in range(50):
            await storage.add_user(telegram_id=10_000 + i, name=f"经理{i}",
                                   role=Role.COLLECTOR, team_id=team.id, now=NOW)  # fmt: skip
    finally:
        await storage.close()


def _job(kind: str, file: Path, db: Path, mode: str) -> None:
    _preload()
    if kind == "floor":
        result = _floor(file, db)
    elif kind == "setup":
        asyncio.run(_setup(db))
        result = {}
    else:
        result = asyncio.run(_product(file, db, mode))
    print(json.dumps(result, ensure_ascii=False), flush=True)


# -- the conductor ------------------------------------------------------------------------------


_TICKS = os.sysconf("SC_CLK_TCK")


def _tree(pid: int, cpu: dict[int, float]) -> int:
    """Resident bytes of ``pid`` and every descendant, each page shared between them counted
    once (PSS: the reader forked from the fork server shares most of its interpreter); the CPU
    seconds each has used so far go into ``cpu`` (by pid)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu[p] = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def _run(kind: str, file: Path, db: Path, mode: str = "process") -> dict[str, Any]:
    """One run in its own process; its result with the peak resident memory of its tree."""
    cmd = [sys.executable, "-m", "bench.import_bench", "--job", kind, "--file", str(file)]
    cmd += ["--db", str(db), "--mode", mode]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = 0
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree(proc.pid, cpu))
            stop.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed ({proc.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak"] = peak
    result["cpu"] = sum(cpu.values())
    return result


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def _ratio_line(label: str, run: dict[str, Any], floor: dict[str, Any]) -> str:
    seconds, peak, cpu = float(run["seconds"]), int(run["peak"]), float(run["cpu"])
    f_seconds, f_peak, f_cpu = float(floor["seconds"]), int(floor["peak"]), float(floor["cpu"])
    return (
        f"  {label:<34} {seconds:6.2f} s = {seconds / f_seconds:4.1f}x floor ({f_seconds:.2f} s); "
        f"CPU {cpu:6.2f} s = {cpu / f_cpu:4.1f}x floor ({f_cpu:.2f} s); "
        f"peak {peak / 2**20:4.0f} MiB = {peak / f_peak:4.2f}x floor ({f_peak / 2**20:.0f} MiB)"
        + (f"; {run['summary']}" if run.get("summary") else "")
    )


def run(rows: int, fmt: str, repeat: int, modes: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        file = tmp_path / f"ledger.{fmt}"
        changed = tmp_path / f"ledger-changed.{fmt}"
        file.write_bytes(make_ledger(rows, fmt))
        changed.write_bytes(make_ledger(rows, fmt, changed=True))
        print(f"ledger: {rows:,} rows, {fmt} (GB18030), {file.stat().st_size / 1e6:.1f} MB")
        print(_load(), flush=True)
        for attempt in range(1, repeat + 1):
            for mode in modes:
                db = tmp_path / f"product-{mode}-{attempt}.db"
                _run("setup", file, db)
                print(f"-- run {attempt}, reader in a {mode}:", flush=True)
                for label, content in (
                    ("first import", file),
                    ("re-import (unchanged)", file),
                    ("re-import (every balance changed)", changed),
                ):
                    floor_db = tmp_path / f"floor-{mode}-{attempt}-{label[:5]}.db"
                    floor = _run("floor", content, floor_db)
                    product = _run(label, content, db, mode)
                    print(_ratio_line(label, product, floor), flush=True)
                    floor_db.unlink()
        print(_load(), flush=True)
        print(
            "goals: first import <= 3x floor in time and <= 1.5x in peak memory; "
            "unchanged re-import <= 2x floor in time"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="run everything this many times")
    parser.add_argument(
        "--mode",
        choices=("process", "thread", "both"),
        default="both",
        help="where the reader runs",
    )
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job:
        _job(args.job, Path(args.file), Path(args.db), args.mode)
        return 0
    modes = ["process", "thread"] if args.mode == "both" else [args.mode]
    run(args.rows, "csv", args.repeat, modes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
