"""The legal clocks' reads for one collector leading N cases (issue 19), as ratios in one run.

The database is queue_bench's (cached, N open cases led by one collector: plans, payments),
copied, with a guarantor on every third case (a third of those with the kind from the file)
and a signed notice on every ninth. Timed, after one warm request, ``requests`` times each:

- ``today``: what /today adds — ``legal_facts_ending(collector, the window)`` and
  ``legal_alerts`` over what it returns — against ``queue``: the first page of /cases
  (``queue_page``), the read every collector already makes. Ratio today / queue.
- ``card``: ``legal_facts`` of one case and its clocks (what the card adds).
- ``refresh``: every key and every clock end worked out again from scratch (the first read
  after the upgrade, or after an import touching every case), in seconds per 1 000 cases.

    python -m bench.legal_bench [--sizes 1000,10000] [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.queue_bench import NOW, TODAY, TZ, seed


def _add_guarantors(path: Path) -> None:
    from bot.storage.testing import connect_file

    stamp = NOW.isoformat(timespec="microseconds")
    with connect_file(path, autocommit=True) as con:
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "INSERT INTO case_parties (case_id, role, name, created_at) "
            "SELECT id, 'guarantor', '保证人' || id, ? FROM cases WHERE id % 3 = 1",
            (stamp,),
        )
        con.execute(
            "INSERT INTO guarantee_facts (party_id, case_id, kind, source, set_at) "
            "SELECT id, case_id, 'joint', 'import', ? FROM case_parties WHERE case_id % 9 = 1",
            (stamp,),
        )
        con.execute(
            "INSERT INTO legal_documents (case_id, kind, party_id, issued_at, signed_on, "
            "evidence_file_id, filed_at) SELECT case_id, 'collection_notice', id, ?, ?, 'f', ? "
            "FROM case_parties WHERE case_id % 9 = 1",
            (stamp, (TODAY - timedelta(days=30)).isoformat(), stamp),
        )
        con.execute("COMMIT")


async def _timed(fn, requests: int) -> float:  # type: ignore[no-untyped-def]
    await fn()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(path: Path, n: int, requests: int) -> dict[str, float]:
    from bot.domain.legal import alert_window, legal_alerts, legal_clocks
    from bot.storage import SqliteStorage
    from bot.storage.testing import execute_file

    execute_file(path, "UPDATE cases SET q_until = '', legal_fresh = 0")
    storage = await SqliteStorage.open(path, now=NOW)
    started = time.perf_counter()
    await storage.refresh_queue(today=TODAY, tz=TZ)
    refresh = time.perf_counter() - started
    user = await storage.get_user_by_telegram_id(9002)
    assert user is not None

    async def queue() -> None:
        await storage.queue_page(user, today=TODAY, tz=TZ, number=0)

    async def today() -> None:
        first, last = alert_window(TODAY, 30)
        near = await storage.legal_facts_ending(user, first=first, last=last, tz=TZ)
        legal_alerts((legal_clocks(f, TODAY) for f in near), TODAY, 30)

    async def card() -> None:
        facts = await storage.legal_facts(n // 2 + 1)
        assert facts is not None
        legal_clocks(facts, TODAY)

    out = {
        "queue": await _timed(queue, requests),
        "today": await _timed(today, requests),
        "card": await _timed(card, requests),
        "refresh_per_1000": refresh / n * 1000,
    }
    first, last = alert_window(TODAY, 30)
    near = await storage.legal_facts_ending(user, first=first, last=last, tz=TZ)
    out["cases_in_window"] = float(len(near))
    await storage.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    for n in (int(s) for s in args.sizes.split(",")):
        cached, _ = seed(n)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "legal.db"
            shutil.copy(cached, path)
            _add_guarantors(path)
            r = asyncio.run(measure(path, n, args.requests))
        print(
            f"{n:>8} cases: /today legal {r['today'] * 1000:7.1f} ms "
            f"({r['cases_in_window']:.0f} cases in the window) · /cases page "
            f"{r['queue'] * 1000:6.1f} ms · ratio {r['today'] / r['queue']:5.2f} · card "
            f"{r['card'] * 1000:5.2f} ms · full refresh {r['refresh_per_1000']:.3f} s / 1000 cases"
        )


if __name__ == "__main__":
    main()
