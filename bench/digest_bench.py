"""``make bench``: the supervisor's digest for a team of 100,000 cases with a year of history.

A database is seeded with plain rows (executemany, no bot): one team, 60 collectors, 100,000
cases, a year of meetings (~300,000), agreed commitments with instalments (~240,000, every
status, settled over the year), payments (~250,000), preps, approvals, lead changes. Then a
fresh process (so its memory is the digest's, not the seeding's) opens the database and
measures, three times each:

- the figures: ``storage.team_digest`` (every figure is an SQL aggregate over an index);
- the whole digest as the clock job makes it: figures + text in Chinese split to Telegram's
  limit + the chart PNG + the legal list (``bot.digests.compose``).

The legal list (issue 19) has work to do: a tenth of the cases are old loans (到期日 900 to 1,300
days ago, so their limitation ends around now unless a payment restarted it), three in ten have
a guarantor (half with the kind in the file, a few with an agreed period), and signed notices
were filed for some guarantors.

It prints wall time and the peak memory: the process' peak RSS (everything: Python,
matplotlib, SQLite's page cache) and the Python heap's peak during the digest (tracemalloc).
Goals: ≤ 2 s and ≤ 200 MB.

    python -m bench.digest_bench [--cases 100000] [--keep DB]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.storage.testing import Connection

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
TODAY = date(2026, 12, 1)
COLLECTORS = 60


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def at_local(day: date, hour: int) -> str:
    return iso(datetime(day.year, day.month, day.day, hour, tzinfo=TZ))


async def migrate(path: Path) -> None:
    from bot.storage import SqliteStorage

    storage = await SqliteStorage.open(path, now=NOW - timedelta(days=400))
    await storage.close()


def seed(path: Path, cases: int) -> dict[str, int]:
    """A year of one team's work as rows; returns how many rows of each table."""
    from bot.storage.testing import connect_file

    with connect_file(path) as con:
        con.execute("PRAGMA synchronous = OFF")
        return _write_year(con, cases)


def _write_year(con: Connection, cases: int) -> dict[str, int]:
    rng = random.Random(2026)
    created = iso(NOW - timedelta(days=400))
    con.execute("INSERT INTO teams (id, name, created_at) VALUES (1, '东城组', ?)", (created,))
    users = [(1, 10_000, "李娜", "supervisor", 1, "zh_Hans", created)]
    users += [
        (i + 2, 10_001 + i, f"清收员{i:02d}", "collector", 1, "zh_Hans", created)
        for i in range(COLLECTORS)
    ]
    con.executemany(
        "INSERT INTO users (id, telegram_id, name, role, team_id, locale, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        users,
    )
    leads = [u[0] for u in users[1:]]
    statuses = ["open"] * 6 + ["negotiating", "under_agreement", "settled", "legal"]
    flags = [""] * 8 + ["assets_moving", "business_sliding"]
    con.executemany(
        "INSERT INTO cases (id, contract_no, team_id, lead_id, status, borrower_name, "
        "principal_outstanding, overdue_principal, overdue_since, deterioration, "
        "last_contact_at, ledger_hash, created_at, imported_at) "
        "VALUES (?, ?, 1, ?, ?, ?, 5000000, 1000000, ?, ?, ?, 'h', ?, ?)",
        (
            (n, f"HT{n:07d}", leads[n % COLLECTORS], rng.choice(statuses), f"借款人{n}",
             (TODAY - timedelta(days=rng.randint(1, 700))).isoformat(), rng.choice(flags),
             None if n % 7 == 0 else iso(NOW - timedelta(days=rng.randint(0, 60))),
             created, created)
            for n in range(1, cases + 1)
        ),
    )  # fmt: skip
    counts = {"cases": cases, "users": len(users)}
    _write_legal(con, rng, cases, created)

    def meetings():
        mid = 0
        for case in range(1, cases + 1):
            for _ in range(rng.choice((0, 1, 2, 3, 4, 5, 6))):
                mid += 1
                day = TODAY - timedelta(days=rng.randint(1, 365))
                yield (mid, case, leads[case % COLLECTORS], at_local(day, 15), day.isoformat(),
                       int(rng.random() < 0.15))  # fmt: skip
        counts["meetings"] = mid

    con.executemany(
        "INSERT INTO meetings (id, case_id, author_id, at, held_on, agreement) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        meetings(),
    )
    commitments, instalments, payments = [], [], []
    kid = iid = 0
    for case in range(1, cases + 1):
        if rng.random() < 0.6:
            kid += 1
            agreed = NOW - timedelta(days=rng.randint(1, 365))
            commitments.append((kid, case, leads[case % COLLECTORS], iso(agreed), iso(agreed)))
            for seq in range(1, 5):
                iid += 1
                due = agreed.date() + timedelta(days=30 * seq)
                status = (
                    rng.choice(["kept", "kept", "broken", "unconfirmed", "partial", "cancelled"])
                    if due < TODAY
                    else "open"
                )
                settled = at_local(due, 20) if status not in ("open",) else None
                reason = "no_money" if status == "broken" else None
                amount = rng.randint(1, 50) * 10_000
                paid = amount if status == "kept" else 0
                instalments.append(
                    (iid, kid, seq, due.isoformat(), amount, paid, status, settled, reason)
                )
    for _n in range(int(cases * 2.5)):
        case = rng.randint(1, cases)
        day = TODAY - timedelta(days=rng.randint(0, 365))
        payments.append((case, rng.randint(0, 80) * 5_000, day.isoformat(), at_local(day, 17),
                         rng.choice(["outcome", "commit", "reminder"])))  # fmt: skip
    con.executemany(
        "INSERT INTO commitments (id, case_id, created_by, created_at, money_today, total, plan, "
        "status, agreed_at) VALUES (?, ?, ?, ?, 0, 0, '{}', 'agreed', ?)",
        commitments,
    )
    con.executemany(
        "INSERT INTO instalments (id, commitment_id, seq, due_on, amount, paid, status, "
        "settled_at, miss_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        instalments,
    )
    con.executemany(
        "INSERT INTO payments (case_id, amount, received_on, recorded_at, source) "
        "VALUES (?, ?, ?, ?, ?)",
        payments,
    )
    approaches = ["pressure", "sympathy", "flattery", "firm_bottom_line", "read_first"]
    preps = [
        (rng.randint(1, cases), 1, iso(NOW - timedelta(days=rng.randint(0, 365), hours=3)),
         rng.choice(approaches), rng.choice([None, *approaches]))
        for _ in range(cases // 2)
    ]  # fmt: skip
    con.executemany(
        "INSERT INTO preps (case_id, author_id, at, answers, approach, previous_approach) "
        "VALUES (?, ?, ?, '{}', ?, ?)",
        preps,
    )
    con.executemany(
        "INSERT INTO approvals (case_id, team_id, requested_by, requested_at, status) "
        "VALUES (?, 1, ?, ?, ?)",
        (
            (rng.randint(1, cases), leads[n % COLLECTORS],
             iso(NOW - timedelta(hours=rng.randint(1, 2000))),
             "pending" if n % 10 == 0 else "approved")
            for n in range(2_000)
        ),
    )  # fmt: skip
    con.executemany(
        "INSERT INTO case_leads (case_id, from_id, to_id, by_id, at, reason) "
        "VALUES (?, ?, ?, 1, ?, 'workload')",
        (
            (rng.randint(1, cases), rng.choice(leads), rng.choice(leads),
             iso(NOW - timedelta(days=rng.randint(0, 365), hours=2)))
            for _ in range(5_000)
        ),
    )  # fmt: skip
    con.commit()
    con.execute("ANALYZE")
    counts.update(commitments=len(commitments), instalments=len(instalments),
                  payments=len(payments), preps=len(preps))  # fmt: skip
    return counts


def _write_legal(con: Connection, rng: random.Random, cases: int, created: str) -> None:
    """Old loans' due dates, guarantors with what the file says of them, signed notices."""
    con.executemany(
        "UPDATE cases SET maturity = ? WHERE id = ?",
        (
            ((TODAY - timedelta(days=rng.randint(900, 1300))).isoformat(), n)
            for n in range(1, cases + 1)
            if n % 10 == 3
        ),
    )
    guarantors = [n for n in range(1, cases + 1) if rng.random() < 0.3]
    con.executemany(
        "INSERT INTO case_parties (id, case_id, role, name, created_at) "
        "VALUES (?, ?, 'guarantor', ?, ?)",
        ((n, n, f"保证人{n}", created) for n in guarantors),
    )
    facts = []
    for n in guarantors:
        if rng.random() < 0.5:
            end = (TODAY + timedelta(days=rng.randint(-200, 400))).isoformat()
            facts.append((n, n, rng.choice(["joint", "general"]),
                          end if rng.random() < 0.1 else None, created))  # fmt: skip
    con.executemany(
        "INSERT INTO guarantee_facts (party_id, case_id, kind, agreed_end, source, set_at) "
        "VALUES (?, ?, ?, ?, 'import', ?)",
        facts,
    )
    con.executemany(
        "INSERT INTO legal_documents (case_id, kind, party_id, issued_at, signed_on, "
        "evidence_file_id, filed_at) VALUES (?, 'collection_notice', ?, ?, ?, 'photo', ?)",
        (
            (n, n, created, (TODAY - timedelta(days=rng.randint(1, 300))).isoformat(), created)
            for n in guarantors
            if rng.random() < 0.2
        ),
    )


def peak_rss_mb() -> float:
    """This process' peak resident memory (VmHWM). Not getrusage's ru_maxrss: on Linux that
    survives fork and exec, so it would report the seeding parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(path: Path) -> None:
    """Run in a fresh process: open, then time the figures and the whole digest."""
    from bot.config import Settings
    from bot.digests import compose
    from bot.domain.digest import DigestDay
    from bot.domain.people import Role
    from bot.render import Renderer
    from bot.storage import SqliteStorage

    storage = await SqliteStorage.open(path, now=NOW)
    settings = Settings(tz=TZ)
    renderer = Renderer(TZ)
    boss = await storage.get_user(1)
    assert boss is not None
    assert boss.role is Role.SUPERVISOR
    day = DigestDay.of(NOW, TZ)
    from bot.charts import cjk_font

    cjk_font()  # matplotlib's import and font registration: once per process, not per digest
    t = time.perf_counter()
    await compose(storage, renderer, settings, boss, now=NOW)  # warm: lazy imports, first draw
    first = time.perf_counter() - t
    figures, whole = [], []
    for _ in range(3):
        t = time.perf_counter()
        digest = await storage.team_digest(1, day, now=NOW, untouched_days=14)
        figures.append(time.perf_counter() - t)
        t = time.perf_counter()
        messages = await compose(storage, renderer, settings, boss, now=NOW)
        whole.append(time.perf_counter() - t)
    rss = peak_rss_mb()
    # The Python heap's own peak, in a run of its own (tracemalloc's bookkeeping would swell
    # the RSS measured above).
    tracemalloc.start()
    await compose(storage, renderer, settings, boss, now=NOW)
    _, heap = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await storage.close()
    assert digest is not None
    print(f"  first digest of the process {first:.3f} s (imports matplotlib's drawing and the "
          "handlers once); then, three times:")  # fmt: skip
    print(f"  figures (team_digest)      best {min(figures):.3f} s  worst {max(figures):.3f} s")
    print(f"  whole digest (+text+chart) best {min(whole):.3f} s  worst {max(whole):.3f} s"
          f"  ({len(messages)} messages: {sum(m.media == 'photo' for m in messages)} chart, "
          f"{sum(m.template == 'digest/part' for m in messages)} text)")  # fmt: skip
    print(f"  peak memory: process RSS {rss:.0f} MB, Python heap during the digest "
          f"{heap / 2**20:.1f} MB")  # fmt: skip
    print(f"  figures: collected {digest.collected / 100:,.0f} yuan in {digest.payments} payments,"
          f" {digest.stalled.total} stalled, {digest.untouched.total} untouched, "
          f"{digest.unprepared.total} urgent unprepared, "
          f"{len(digest.collectors)} collectors; legal clocks: {digest.legal.soon.total} within "
          f"90 days ({digest.legal.urgent} within 30), {digest.legal.lapsed.total} lapsed this "
          "week")  # fmt: skip
    goal = max(whole) <= 2.0 and rss <= 200
    print(f"  goal (≤ 2 s, ≤ 200 MB): {'met' if goal else 'NOT met'}: worst whole digest "
          f"{max(whole) / 2.0:.2f}x the goal, RSS {rss / 200:.2f}x the goal")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the database here and keep it")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        asyncio.run(measure(args.measure))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "digest.db"
        path.unlink(missing_ok=True)
        asyncio.run(migrate(path))
        t = time.perf_counter()
        counts = seed(path, args.cases)
        print(f"digest: seeded {', '.join(f'{v:,} {k}' for k, v in counts.items())} "
              f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
        subprocess.run([sys.executable, "-m", "bench.digest_bench", "--measure", str(path)],
                       check=True)  # fmt: skip


if __name__ == "__main__":
    main()
