"""The /cases page on PostgreSQL beside SQLite, as ratios in one run (issue 18).

The queue benchmark's database (bench/queue_bench.py: one team, one collector leading every
case, N open cases with plans, payments and flags) is copied into a throwaway PostgreSQL 15
cluster on a Unix socket (``qingshou db copy``'s code, tests/pg_cluster.py's cluster), then the
path the /cases handler runs (storage, domain, the template in Chinese) is timed ``requests``
times for the collector and the supervisor on each backend, in this one process.
Prints the median and worst seconds per page and PostgreSQL / SQLite.

    python -m bench.pg_cases_bench [--sizes 1000,10000] [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench.queue_bench import NOW, TODAY, TZ, seed


async def _time(storage: object, requests: int) -> dict[str, tuple[float, float]]:
    from bot.domain import queue as q
    from bot.domain.casefile import sees_others_cases
    from bot.render import Renderer

    renderer = Renderer(TZ)
    out = {}
    for role, telegram_id in (("collector", 9002), ("supervisor", 9001)):
        user = await storage.get_user_by_telegram_id(telegram_id)  # type: ignore[attr-defined]
        assert user is not None

        async def page(user: object = user) -> str:
            stored = await storage.queue_page(user, today=TODAY, tz=TZ, number=0)  # type: ignore[attr-defined]
            shown = q.rank_page(stored, TODAY, TZ)
            return renderer.render(
                "zh_Hans", "cases/queue", page=shown, today=False, staff=sees_others_cases(user)
            )

        await page()
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            await page()
            times.append(time.perf_counter() - started)
        out[role] = (statistics.median(times), max(times))
    return out


async def run(sizes: list[int], requests: int) -> None:
    from bot.storage import open_storage
    from bot.storage.copy import copy_database
    from tests import pg_cluster

    reason = pg_cluster.missing()
    if reason:
        print(f"pg_cases_bench: skipped ({reason})")
        return
    cluster = await asyncio.to_thread(pg_cluster.start_cluster)
    try:
        for n in sizes:
            path, _ = await asyncio.to_thread(seed, n)
            lite = await open_storage(str(path), now=NOW)
            pg = await open_storage(cluster.fresh_url(), now=NOW)
            try:
                started = time.monotonic()
                await copy_database(lite, pg, now=NOW)  # type: ignore[arg-type]
                copy_s = time.monotonic() - started
                await pg._execute("ANALYZE")  # type: ignore[attr-defined]
                a = await _time(lite, requests)
                b = await _time(pg, requests)
            finally:
                await lite.close()
                await pg.close()
            print(f"/cases page, {n:,} visible cases (copied to PostgreSQL in {copy_s:.1f} s):")
            for role in ("collector", "supervisor"):
                (ma, wa), (mb, wb) = a[role], b[role]
                print(
                    f"  {role:<10} SQLite median {ma * 1000:6.1f} ms worst {wa * 1000:6.1f} ms"
                    f" | PostgreSQL median {mb * 1000:6.1f} ms worst {wb * 1000:6.1f} ms"
                    f" | PostgreSQL/SQLite {mb / ma:4.2f}"
                )
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run([int(s) for s in args.sizes.split(",")], args.requests))


if __name__ == "__main__":
    main()
