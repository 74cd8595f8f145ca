"""The inbox's hot path through the public storage API: store, claim, finish per update.

    .venv/bin/python -m bench.inbox_bench [N]

Each update is stored on its own (as a getUpdates batch of one, the worst case), claimed and
finished: the three awaited calls the bot makes per update. Prints the time per update.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime

from bot.storage import InboxUpdate, open_storage


async def run(n: int) -> None:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        storage = await open_storage(f"sqlite:///{tmp}/inbox.db", now=now)
        try:
            payload = '{"update_id": %d, "message": {"chat": {"id": 7}, "text": "已还 5,000"}}'
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(1, n + 1):
                await storage.store_updates([InboxUpdate(i, 7, payload % i)], now=now)
                await storage.claim_update(i)
                await storage.finish_update(i, now=now)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            batch = [InboxUpdate(n + i, i % 20, payload % (n + i)) for i in range(1, n + 1)]
            start = time.perf_counter()
            await storage.store_updates(batch, now=now)
            stored = time.perf_counter() - start
            assert (await storage.inbox_counts())["handled"] == n
        finally:
            await storage.close()
    print(f"inbox: {n} updates, store+claim+finish {wall / n * 1e6:.0f} µs per update "
          f"(CPU {cpu / n * 1e6:.0f} µs); one batch of {n} stored in "
          f"{stored * 1e3:.1f} ms ({stored / n * 1e6:.1f} µs per update)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
