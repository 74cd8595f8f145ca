"""Seed data for the benchmarks: one overdue case per collector, written the way an import is."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.cases import Borrower, Loan, Security
from bot.domain.importing import plan_import
from bot.domain.ledger import LedgerParseResult, LedgerRow
from bot.storage import Storage
from bot.storage.testing import Connection, connect_file

ROOT = Path(__file__).resolve().parents[1]
#: Where the big benchmark databases are kept between runs.
CACHE = Path(os.environ.get("QINGSHOU_BENCH_CACHE", "/tmp/qingshou-bench"))


async def one_case_each(
    storage: Storage, team_id: int, collectors: list[str], *, now: datetime
) -> None:
    """Case ``HT<i>`` (borrower ``借款人<i>``) led by ``collectors[i]`` (a staff name)."""
    rows = [
        LedgerRow(
            line=i + 2,
            borrower=Borrower(f"借款人{i}"),
            loan=Loan(
                contract_no=f"HT{i}",
                overdue_principal=900_000,
                overdue_since=now.date() - timedelta(days=40 + i % 30),
                principal_outstanding=1_900_000,
            ),
            security=Security("", None, None),
            related_parties=(),
            collector=name,
        )
        for i, name in enumerate(collectors)
    ]
    plan = plan_import(
        LedgerParseResult(rows=rows, errors=[], columns={}),
        team_id=team_id,
        existing=await storage.import_snapshot(),
        collectors=await storage.collector_refs(team_id),
    )
    import_id = await storage.create_import(
        team_id=team_id, created_by=None, file_name="seed.csv", data=None, now=now
    )
    await storage.apply_import(plan, import_id=import_id, actor_id=None, now=now, notify=False)


async def collectors_with_a_case_each(
    db: Path, telegram_ids: Sequence[int], *, now: datetime
) -> None:
    """A fresh database at ``db``: team "Bench", a collector ``User<id>`` per Telegram id, and
    one case each (:func:`one_case_each`) — what the bots of ``bench.run_all`` and
    ``bench.trips_per_command`` answer about."""
    from bot.domain.people import Role
    from bot.storage import open_storage

    storage = await open_storage(str(db), now=now)
    try:
        team = await storage.ensure_team("Bench", now=now)
        for uid in telegram_ids:
            await storage.add_user(
                telegram_id=uid, name=f"User{uid}", role=Role.COLLECTOR, team_id=team.id, now=now
            )
        await one_case_each(storage, team.id, [f"User{uid}" for uid in telegram_ids], now=now)
    finally:
        await storage.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")" that closes the command name: state is field 3, utime 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- reminders (issue 10): seeded by SQL, fast enough for 10,000 cases and for a million ----

#: Teams of this many collectors, each with one supervisor (told when a collector is dead).
TEAM_SIZE = 50


@dataclass
class BurstSeed:
    """What :func:`seed_reminder_burst` wrote: telegram ids and what each collector is owed."""

    collectors: list[int]  # telegram ids, as created in the emulator
    supervisors: list[int]
    #: instalment id -> the telegram id of the collector leading its case
    instalments: dict[int, int] = field(default_factory=dict)
    #: collector -> their team's supervisor (telegram ids)
    supervisor_of: dict[int, int] = field(default_factory=dict)
    reminders: list[int] = field(default_factory=list)


def _ts(value: datetime) -> str:
    # The storage's own format (bot.storage.sqlite.connector.ts): UTC, microseconds.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


async def migrated(db: Path, now: datetime) -> None:
    """Create ``db`` with the current schema (every migration), then close it."""
    from bot.storage import open_storage

    storage = await open_storage(f"sqlite:///{db}", now=now)
    await storage.close()


@contextmanager
def _connect(db: Path) -> Iterator[Connection]:
    with connect_file(db, autocommit=True) as con:
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("PRAGMA foreign_keys = ON")
        yield con


def _people(
    con: Connection, collectors: Sequence[int], supervisors: Sequence[int], now: str
) -> dict[int, int]:
    """Teams of TEAM_SIZE collectors with one supervisor each; telegram id -> users.id."""
    teams = max(1, -(-len(collectors) // TEAM_SIZE))
    if len(supervisors) < teams:
        raise ValueError(f"{len(collectors)} collectors need {teams} supervisors")
    team_ids = []
    for t in range(teams):
        cur = con.execute("INSERT INTO teams (name, created_at) VALUES (?, ?)", (f"组{t}", now))
        team_ids.append(cur.lastrowid)
    users: dict[int, int] = {}
    for t, telegram_id in enumerate(supervisors[:teams]):
        cur = con.execute(
            "INSERT INTO users (telegram_id, name, staff_name, role, team_id, locale, created_at) "
            "VALUES (?, ?, ?, 'supervisor', ?, 'en', ?)",
            (telegram_id, f"主管{t}", f"主管{t}", team_ids[t], now),
        )
        users[telegram_id] = int(cur.lastrowid or 0)
    for c, telegram_id in enumerate(collectors):
        cur = con.execute(
            "INSERT INTO users (telegram_id, name, staff_name, role, team_id, locale, created_at) "
            "VALUES (?, ?, ?, 'collector', ?, 'en', ?)",
            (telegram_id, f"清收员{c}", f"清收员{c}", team_ids[c // TEAM_SIZE], now),
        )
        users[telegram_id] = int(cur.lastrowid or 0)
    return users


async def seed_reminder_burst(
    db: Path,
    *,
    collectors: Sequence[int],
    supervisors: Sequence[int],
    per_collector: int,
    now: datetime,
    due_at: datetime,
    tz: ZoneInfo | None = None,
    reminders: bool = True,
    blocked: Sequence[int] = (),
) -> BurstSeed:
    """A morning's burst: each collector leads ``per_collector`` cases, each with an agreed
    commitment whose one instalment is due today (local date of ``now``), and — unless
    ``reminders`` is False (see :func:`insert_due_reminders`) — its due-day reminder row,
    pending, due at ``due_at`` (the bot reads the real clock: give a time in the past).

    ``blocked``: collectors (telegram ids) the database already knows blocked the bot.
    """
    await migrated(db, now)
    zone = tz or ZoneInfo("Asia/Shanghai")
    today = now.astimezone(zone).date().isoformat()
    stamp = _ts(now)
    seed = BurstSeed(list(collectors), list(supervisors))
    seed.supervisor_of = {c: supervisors[n // TEAM_SIZE] for n, c in enumerate(collectors)}
    with _connect(db) as con:
        con.execute("BEGIN IMMEDIATE")
        users = _people(con, collectors, supervisors, stamp)
        for telegram_id in blocked:
            con.execute(
                "UPDATE users SET blocked_at = ? WHERE telegram_id = ?", (stamp, telegram_id)
            )
        team_of = dict(con.execute("SELECT id, team_id FROM users").fetchall())
        overdue = (now.date() - timedelta(days=60)).isoformat()
        plan = json.dumps({"kind": "dates", "text": "bench", "dues": [[today, False]]})
        n = 0
        for telegram_id in collectors:
            lead = users[telegram_id]
            for _ in range(per_collector):
                amount = 100_000 + (n % 37) * 1_000
                case_id = con.execute(
                    "INSERT INTO cases (contract_no, team_id, lead_id, status, borrower_name, "
                    "principal_outstanding, overdue_principal, overdue_since, ledger_hash, "
                    "created_at, imported_at) VALUES (?, ?, ?, 'under_agreement', ?, ?, ?, ?, "
                    "'bench', ?, ?)",
                    (f"RB{n}", team_of[lead], lead, f"借款人{n}", 1_900_000, 900_000, overdue,
                     stamp, stamp),
                ).lastrowid  # fmt: skip
                commitment_id = con.execute(
                    "INSERT INTO commitments (case_id, created_by, created_at, money_today, "
                    "total, plan, status, agreed_at) VALUES (?, ?, ?, 0, ?, ?, 'agreed', ?)",
                    (case_id, lead, stamp, amount, plan, stamp),
                ).lastrowid
                instalment_id = con.execute(
                    "INSERT INTO instalments (commitment_id, seq, due_on, amount) "
                    "VALUES (?, 1, ?, ?)",
                    (commitment_id, today, amount),
                ).lastrowid
                assert instalment_id is not None
                seed.instalments[instalment_id] = telegram_id
                n += 1
        con.execute("COMMIT")
    if reminders:
        seed.reminders = insert_due_reminders(db, list(seed.instalments), due_at=due_at, now=now)
    return seed


def insert_due_reminders(
    db: Path, instalment_ids: Sequence[int], *, due_at: datetime, now: datetime
) -> list[int]:
    """One pending due-day reminder row per instalment, due at ``due_at``, in one transaction
    (safe while the bot runs: SQLite's busy timeout waits for its writer)."""
    with _connect(db) as con:
        con.execute("BEGIN IMMEDIATE")
        first = con.execute("SELECT COALESCE(MAX(id), 0) FROM reminders").fetchone()[0]
        con.executemany(
            "INSERT INTO reminders (instalment_id, kind, due_at, status, created_at) "
            "VALUES (?, 'due', ?, 'pending', ?)",
            [(i, _ts(due_at), _ts(now)) for i in instalment_ids],
        )
        ids = [r[0] for r in con.execute("SELECT id FROM reminders WHERE id > ?", (first,))]
        con.execute("COMMIT")
    return ids


# -- a million pending instalments ------------------------------------------------------------

#: The first due date of the big database: far enough ahead that a cached copy has nothing
#: due by itself; :func:`make_due_now` brings one morning's rows to the present.
MILLION_START = "2027-09-01"
INSTALMENTS_PER_COMMITMENT = 6


def _schema_key() -> str:
    """Changes whenever a migration does (a cached database must have today's schema)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "bot" / "storage" / "migrations").glob("*.sql")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def million_path(instalments: int, collectors: int) -> Path:
    return CACHE / f"reminders-{instalments}-{collectors}-{_schema_key()}.db"


async def million_db(
    instalments: int, *, collectors: Sequence[int], supervisors: Sequence[int], now: datetime
) -> tuple[Path, float]:
    """A cached database with ``instalments`` open instalments, each with its three pending
    reminder rows (heads-up, due, follow-up at 09:00 Asia/Shanghai = 01:00 UTC), in
    ``instalments / 6`` agreed commitments (one case each) spread over the collectors. Built
    with recursive CTEs; returns (path, seconds spent building, 0 when cached)."""
    path = million_path(instalments, len(collectors))
    work = _fresh_work_file(path)
    if work is None:
        return path, 0.0
    started = time.monotonic()
    await migrated(work, now)
    stamp = _ts(now)
    k = -(-instalments // INSTALMENTS_PER_COMMITMENT)
    with _connect(work) as con:
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -400000")
        con.execute("BEGIN IMMEDIATE")
        users = _people(con, collectors, supervisors, stamp)
        c0 = users[collectors[0]]
        assert [users[t] for t in collectors] == list(range(c0, c0 + len(collectors)))
        team0 = con.execute("SELECT team_id FROM users WHERE id = ?", (c0,)).fetchone()[0]
        params = {"k": k, "c": len(collectors), "c0": c0, "t0": team0, "ts": TEAM_SIZE,
                  "now": stamp, "start": MILLION_START, "per": INSTALMENTS_PER_COMMITMENT,
                  "n": instalments}  # fmt: skip
        con.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :k) "
            "INSERT INTO cases (id, contract_no, team_id, lead_id, status, borrower_name, "
            "principal_outstanding, overdue_principal, overdue_since, ledger_hash, created_at, "
            "imported_at) SELECT i, 'MC' || i, :t0 + ((i - 1) % :c) / :ts, :c0 + (i - 1) % :c, "
            "'under_agreement', '借款人' || i, 1900000, 900000, '2027-06-01', 'bench', :now, :now "
            "FROM n",
            params,
        )
        con.execute(
            "INSERT INTO commitments (id, case_id, created_by, created_at, money_today, total, "
            "plan, status, agreed_at) SELECT id, id, lead_id, :now, 0, :per * 150000, "
            '\'{"kind": "dates", "text": "bench", "dues": []}\', \'agreed\', :now '
            "FROM cases",
            params,
        )
        # Instalment s of commitment i is due on START + (i mod 30) days + (s - 1) months.
        con.execute(
            "WITH RECURSIVE s(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM s WHERE j < :per) "
            "INSERT INTO instalments (id, commitment_id, seq, due_on, amount) "
            "SELECT (c.id - 1) * :per + j, c.id, j, "
            "date(:start, '+' || (c.id % 30) || ' days', '+' || (j - 1) || ' months'), 150000 "
            "FROM commitments c, s WHERE (c.id - 1) * :per + j <= :n ORDER BY c.id, j",
            params,
        )
        for kind, shift in (("heads_up", "-1 day"), ("due", "+0 days"), ("follow_up", "+1 day")):
            con.execute(
                "INSERT INTO reminders (instalment_id, kind, due_at, status, created_at) "
                "SELECT id, ?, strftime('%Y-%m-%dT01:00:00.000000+00:00', due_on, ?), "
                "'pending', ? FROM instalments ORDER BY id",
                (kind, shift, stamp),
            )
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    work.rename(path)
    return path, time.monotonic() - started


def _fresh_work_file(path: Path) -> Path | None:
    """None when ``path`` is cached, else the file to build it in (leftovers removed)."""
    if path.exists():
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    work = path.with_suffix(".building")
    for leftover in CACHE.glob(work.name + "*"):
        leftover.unlink()
    # Copies made for an older schema are of no use any more (about 700 MB each).
    stem = path.name.rsplit("-", 1)[0]
    for stale in CACHE.glob(f"{stem}-*.db"):
        stale.unlink()
    return work


def make_due_now(db: Path, *, now: datetime, due_at: datetime) -> int:
    """One morning of the big database comes due: the due-day reminders of the instalments
    due on its first date are moved to ``due_at``; returns how many."""
    with _connect(db) as con:
        done = con.execute(
            "UPDATE reminders SET due_at = ? WHERE status = 'pending' AND kind = 'due' "
            "AND instalment_id IN (SELECT id FROM instalments WHERE due_on = ?)",
            (_ts(due_at), MILLION_START),
        )
        return done.rowcount


def add_collectors(db: Path, telegram_ids: Sequence[int], *, now: datetime) -> None:
    """Collectors with no cases, in the first team (people who only talk to the bot)."""
    with _connect(db) as con:
        team = con.execute("SELECT MIN(id) FROM teams").fetchone()[0]
        con.executemany(
            "INSERT INTO users (telegram_id, name, staff_name, role, team_id, locale, created_at) "
            "VALUES (?, ?, ?, 'collector', ?, 'en', ?)",
            [(t, f"旁人{n}", f"旁人{n}", team, _ts(now)) for n, t in enumerate(telegram_ids)],
        )


def no_digest_now(now: datetime, tz: ZoneInfo | None = None) -> dict[str, str]:
    """Bot environment that keeps the supervisors' digest (QINGSHOU_DIGEST_TIME) out of a
    reminder benchmark: its time set a couple of hours after the present local time, so it is
    not due while the bench runs (a bench run at the digest hour would measure both)."""
    local = now.astimezone(tz or ZoneInfo("Asia/Shanghai"))
    later = "23:59" if local.hour >= 22 else f"{local.hour + 2:02d}:00"
    return {"QINGSHOU_DIGEST_TIME": later}
