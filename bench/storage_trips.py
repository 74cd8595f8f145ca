"""One storage statement: one trip to aiosqlite's thread, against aiosqlite's own three.

    .venv/bin/python -m bench.storage_trips [N]

The same indexed read, N times each way, side by side in one run: aiosqlite's public path
(``execute`` → ``fetchone`` → cursor ``close``: three trips to its thread and back) and the
engine's (one trip). Prints wall and CPU time per read and their ratio (issue 17: an update
makes ~30 storage calls; each trip wakes the event loop).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bot.storage import open_storage
from bot.storage.sqlite.connector import _ONE, _in_thread

SQL = "SELECT id, name FROM teams WHERE id = ?"


async def _time(n: int, read: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await read()
    return (time.perf_counter() - start) / n, (time.process_time() - cpu) / n


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        storage = await open_storage(f"sqlite:///{tmp}/trips.db", now=datetime.now(UTC))
        conn = storage._conn  # type: ignore[attr-defined]
        try:

            async def three_trips() -> Any:
                async with conn.execute(SQL, (1,)) as cur:
                    return await cur.fetchone()

            async def one_trip() -> Any:
                return await _in_thread(conn, SQL, (1,), _ONE)

            results: dict[str, list[tuple[float, float]]] = {"three": [], "one": []}
            for _ in range(3):  # interleaved rounds: the machine's load falls on both
                results["three"].append(await _time(n, three_trips))
                results["one"].append(await _time(n, one_trip))
        finally:
            await storage.close()
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in results.items()}
    for name, label in (("three", "aiosqlite execute+fetchone+close"), ("one", "engine, one trip")):
        wall, cpu = best[name]
        print(f"{label:34} {wall * 1e6:7.0f} µs wall  {cpu * 1e6:6.0f} µs CPU per read")
    print(
        f"ratio one/three: wall {best['one'][0] / best['three'][0]:.2f}, "
        f"CPU {best['one'][1] / best['three'][1]:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
