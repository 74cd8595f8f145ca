"""The /cases page at 1 k, 10 k, 100 k and 1 M visible cases (issue 17).

For each size a database is seeded by SQL (cached under ``QINGSHOU_BENCH_CACHE``, default
/tmp/qingshou-bench, keyed by the schema): one team, one collector who leads every case, so the
collector and the team's supervisor each see N open cases (a tenth more are settled and must
not show). A third of the cases have an agreed plan (instalments open, due today, passed,
broken, partial), a quarter have payments, one in ten a deterioration flag, one in seven was
never contacted.

Then, in a fresh process per size (so its memory is the page's, not the seeding's), the path
the /cases handler runs is timed 20 times (after one warm request) for the collector and for
the supervisor: storage, domain and the template rendered in Chinese. Where the storage has a
stored sort key (``queue_page``) that is the path; on code without it, the old path
(``list_cases`` → ``rank_queue`` → ``page_of``), so the same command measures before and after.
It prints the median and worst seconds per page, and the resident memory after the first
request and after the twentieth (flat = no growth per request). Goals: ≤ 0.2 s per page at
100 k; the 1 M figure within 2× of the 1 k one; RSS flat across 20 requests.

    python -m bench.queue_bench [--sizes 1000,10000,100000,1000000] [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("QINGSHOU_BENCH_CACHE", "/tmp/qingshou-bench"))
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 12, 1)
SIZES = (1_000, 10_000, 100_000, 1_000_000)


def _schema_key() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "bot" / "storage" / "migrations").glob("*.sql")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def db_path(n: int) -> Path:
    return CACHE / f"queue-{n}-{_schema_key()}.db"


def seed(n: int) -> tuple[Path, float]:
    """The cached database of ``n`` visible cases; (path, seconds spent seeding, 0 if cached)."""
    path = db_path(n)
    if path.exists():
        return path, 0.0
    from bot.storage import SqliteStorage
    from bot.storage.testing import connect_file

    CACHE.mkdir(parents=True, exist_ok=True)
    work = path.with_suffix(".building")
    for leftover in CACHE.glob(work.name + "*"):
        leftover.unlink()
    started = time.monotonic()

    async def migrate() -> None:
        storage = await SqliteStorage.open(work, now=NOW - timedelta(days=400))
        await storage.close()

    asyncio.run(migrate())
    stamp = NOW.isoformat(timespec="microseconds")
    total = n + n // 10  # a tenth more, settled: not in the queue
    with connect_file(work, autocommit=True) as con:
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -400000")
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO teams (id, name, created_at) VALUES (1, '东城组', ?)", (stamp,))
        con.executemany(
            "INSERT INTO users (id, telegram_id, name, staff_name, role, team_id, locale, "
            "created_at) VALUES (?, ?, ?, ?, ?, 1, 'zh_Hans', ?)",
            [
                (1, 9001, "李娜", "李娜", "supervisor", stamp),
                (2, 9002, "王强", "王强", "collector", stamp),
            ],
        )
        p = {"n": total, "open": n, "now": stamp, "today": TODAY.isoformat()}
        con.execute(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) "
            "INSERT INTO cases (id, contract_no, team_id, lead_id, status, borrower_name, "
            "borrower_phone, principal_outstanding, overdue_principal, overdue_interest, "
            "overdue_since, collateral_value, previous_overdue_amount, deterioration, "
            "strong_guarantor, last_contact_at, ledger_hash, created_at, imported_at) "
            "SELECT i, 'HT' || printf('%07d', i), 1, 2, "
            "CASE WHEN i > :open THEN 'settled' WHEN i % 5 = 0 THEN 'negotiating' "
            "ELSE 'open' END, '借款人' || i, '138' || printf('%08d', i), "
            "5000000 + (i * 7919) % 90000000, 1000000 + (i * 104729) % 150000000, "
            "(i * 31) % 500000, date(:today, '-' || ((i * 7919) % 730) || ' days'), "
            "CASE WHEN i % 4 = 0 THEN (i * 15485863) % 200000000 END, "
            "CASE WHEN i % 3 = 0 THEN 1000000 + (i * 104729) % 120000000 END, "
            "CASE i % 10 WHEN 1 THEN 'assets_moving' WHEN 2 THEN 'business_sliding' "
            "WHEN 3 THEN 'unreachable' ELSE '' END, i % 9 = 0, "
            "CASE WHEN i % 7 <> 0 THEN strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', :now, "
            "'-' || ((i * 13) % 60) || ' days') END, 'bench', :now, :now FROM s",
            p,
        )
        con.execute(
            "INSERT INTO commitments (id, case_id, created_by, created_at, money_today, total, "
            "plan, status, agreed_at) SELECT id, id, 2, :now, 0, 600000, '{}', 'agreed', :now "
            "FROM cases WHERE id % 3 = 0",
            p,
        )
        # Four instalments each, 30 days apart around today: some passed (kept, broken,
        # partial, unanswered), some due today, some to come.
        con.execute(
            "WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 4) "
            "INSERT INTO instalments (commitment_id, seq, due_on, amount, paid, status) "
            "SELECT c.id, j, date(:today, printf('%+d days', (j - 2) * 30 + (c.id % 7) - 3)), "
            "150000, 0, CASE WHEN (j - 2) * 30 + (c.id % 7) - 3 >= 0 THEN 'open' "
            "ELSE CASE c.id % 4 WHEN 0 THEN 'kept' WHEN 1 THEN 'broken' "
            "WHEN 2 THEN 'partial' ELSE 'open' END END FROM commitments c, k",
            p,
        )
        con.execute(
            "INSERT INTO payments (case_id, amount, received_on, recorded_at, source) "
            "SELECT id, 50000, date(:today, '-3 days'), :now, 'outcome' FROM cases "
            "WHERE id % 4 = 1",
            p,
        )
        con.execute("COMMIT")
        con.execute("ANALYZE")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def keys() -> None:
        # The stored sort keys, as the import's write and the daily job leave them.
        storage = await SqliteStorage.open(work, now=NOW)
        if hasattr(storage, "refresh_queue"):
            await storage.refresh_queue(today=TODAY, tz=TZ)
        await storage.close()

    asyncio.run(keys())
    work.rename(path)
    return path, time.monotonic() - started


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def measure(path: Path, requests: int) -> dict[str, object]:
    """Time the /cases page for the collector and the supervisor, ``requests`` times each."""
    from bot.domain import queue as q
    from bot.domain.casefile import sees_others_cases
    from bot.domain.people import User
    from bot.render import Renderer
    from bot.storage import SqliteStorage

    storage = await SqliteStorage.open(path, now=NOW)
    renderer = Renderer(TZ)
    indexed = hasattr(storage, "queue_page")
    out: dict[str, object] = {"indexed": indexed}
    for role, telegram_id in (("collector", 9002), ("supervisor", 9001)):
        user = await storage.get_user_by_telegram_id(telegram_id)
        assert user is not None

        async def page(user: User = user) -> str:
            if indexed:
                stored = await storage.queue_page(user, today=TODAY, tz=TZ, number=0)
                shown = q.rank_page(stored, TODAY, TZ)
            else:
                ranked = q.rank_queue(await storage.list_cases(user), TODAY, TZ)
                shown = q.page_of(ranked, 0)
            return renderer.render(
                "zh_Hans", "cases/queue", page=shown, today=False, staff=sees_others_cases(user)
            )

        text = await page()  # warm: templates compiled, caches filled
        rss_first = rss_mb()
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            await page()
            times.append(time.perf_counter() - started)
        out[role] = {
            "median": statistics.median(times),
            "worst": max(times),
            "rss_first": rss_first,
            "rss_last": rss_mb(),
            "chars": len(text),
        }
    await storage.close()
    return out


#: The issue's goal for one page at 100 k visible cases.
GOAL_SECONDS = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(repr(asyncio.run(measure(Path(args.child), args.requests))))
        return
    print(f"load average before: {os.getloadavg()}")
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        path, seeded = seed(n)
        if seeded:
            print(f"seeded {n:,} visible cases in {seeded:.1f} s ({path})")
        done = subprocess.run(
            [sys.executable, "-m", "bench.queue_bench", "--child", str(path),
             "--requests", str(args.requests)],
            check=True, capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        result = eval(done.stdout.strip().splitlines()[-1])  # our own repr of plain data
        results[n] = result
        for role in ("collector", "supervisor"):
            r = result[role]
            first = results[min(results)][role]
            print(
                f"/cases {n:>9,} visible, {role:<10}: median {r['median']:.4f} s "
                f"(x{r['median'] / GOAL_SECONDS:.2f} of the {GOAL_SECONDS} s goal, "
                f"x{r['median'] / first['median']:.2f} of {min(results):,}), "
                f"worst {r['worst']:.4f} s, RSS {r['rss_first']:.0f} → {r['rss_last']:.0f} MiB "
                f"(x{r['rss_last'] / r['rss_first']:.2f}) over {args.requests} requests "
                f"({'sort key' if result['indexed'] else 'ranked'})"
            )
    sizes = sorted(results)
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        for role in ("collector", "supervisor"):
            a = results[small][role]["median"]
            b = results[big][role]["median"]
            print(f"{role}: {big:,} / {small:,} = {b / a:.2f}× (goal ≤ 2×)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
