"""A million pending instalments: the bot's start-up, its memory, and one poller claim.

The database (built once with recursive CTEs by :func:`bench.seed.million_db` and cached under
/tmp/qingshou-bench, keyed by the migrations) holds ``instalments`` open instalments of agreed
commitments, six per commitment (one case each), over 2,000 collectors in teams of 50, each
with its three pending reminder rows (heads-up, due day, follow-up): 3 million rows. A copy is
used per run; in it one morning comes due (the due-day reminders of the instalments due on the
first date, about 5,500), the rest stays in the future.

Measured:

- **one poller claim** in this process, on the storage the bot uses (``claim_reminders`` as
  ``reminders/due.py`` calls it): the tick's first claim (up to 5,000 rows of the morning's),
  a claim of 500, and the claim of a tick with nothing due; median of ``repeat`` runs, the
  leases given back between runs. Also the first tick's ``backfill_reminders`` (once per
  process: the rows older commitments miss; none here, so it only looks);
- **start-up** of the real bot (``python -m bot run`` against the emulator): from spawning the
  process to its "qingshou is up" line, and to its answer to a ``/help``; the same on an empty
  database for comparison;
- **RSS** of the bot's process after start-up, and its peak (VmHWM) once the first poller tick
  has queued the morning's reminders.

    python -m bench.reminders_bench [--instalments 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.seed import TEAM_SIZE, make_due_now, migrated, million_db
from bot.config import Settings
from bot.domain.reminders import ReminderPolicy
from bot.storage import open_storage
from bot.storage.testing import connect_file
from tests.e2e.process import BotProcess
from tgemu import Emulator, EmulatorConfig

TOKEN = "666666666:" + "M" * 35
COLLECTORS = 2000
FIRST_ID = EmulatorConfig().first_user_id


@dataclass
class Life:
    """One start of the bot's process."""

    up: float  # spawn -> "qingshou is up"
    answered: float  # spawn -> the answer to /help
    rss_mb: float  # VmRSS after the /help answer
    peak_mb: float = 0.0  # VmHWM at the end
    first_tick: float = 0.0  # "up" -> the morning's reminders queued (0: nothing due)


@dataclass
class MillionResult:
    instalments: int
    reminder_rows: int
    db_mb: float
    built: float
    due_now: int
    claim_first: list[float]
    claim_500: list[float]
    claim_empty: list[float]
    claim_idle: list[float]
    backfill: float
    big: Life
    empty: Life

    def lines(self) -> list[str]:
        def ms(samples: list[float]) -> str:
            return f"{statistics.median(samples) * 1000:.1f} ms (max {max(samples) * 1000:.1f})"

        built = f"built in {self.built:.0f} s" if self.built else "cached"
        return [
            f"{self.instalments:,} pending instalments, {self.reminder_rows:,} reminder rows, "
            f"{self.db_mb:.0f} MB database ({built}); {self.due_now:,} due-day reminders due now",
            f"one poller claim: the tick's first (up to 5,000 of those) {ms(self.claim_first)}, "
            f"500 rows {ms(self.claim_500)}, all due rows leased {ms(self.claim_empty)}, "
            f"nothing due at all {ms(self.claim_idle)} (goal <= 50 ms); "
            f"the first tick's backfill check {self.backfill * 1000:.0f} ms",
            f"start-up to 'qingshou is up' {self.big.up:.2f} s, to the first /help answer "
            f"{self.big.answered:.2f} s (empty database: {self.empty.up:.2f} s / "
            f"{self.empty.answered:.2f} s; goal <= 5 s)",
            f"RSS after start-up {self.big.rss_mb:.0f} MB, peak {self.big.peak_mb:.0f} MB once the "
            f"first tick queued the morning ({self.big.first_tick:.1f} s after start-up) "
            f"(empty database: {self.empty.rss_mb:.0f} MB, peak {self.empty.peak_mb:.0f} MB; "
            "goal <= 300 MB)",
        ]


def _status_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _pid(bot: BotProcess) -> int:
    proc = bot._proc
    assert proc is not None
    return proc.pid


def _count(db: Path, sql: str) -> int:
    with connect_file(db) as con:
        return int(con.execute(sql).fetchone()[0])


def _give_back(db: Path) -> None:
    with connect_file(db, autocommit=True) as con:
        con.execute("UPDATE reminders SET claimed_until = NULL WHERE claimed_until IS NOT NULL")


async def _claims(db: Path, repeat: int) -> tuple[list[float], list[float], list[float], float]:
    """Time ``claim_reminders`` as the poller calls it (first claim, 500, nothing due)."""
    settings = Settings()
    now = datetime.now(UTC)
    storage = await open_storage(f"sqlite:///{db}", now=now)
    try:
        started = time.perf_counter()
        await storage.backfill_reminders(ReminderPolicy.from_settings(settings), now=now)
        backfill = time.perf_counter() - started
        runs: dict[str, list[float]] = {"first": [], "500": [], "empty": []}
        for _ in range(repeat):
            for name, limit in (("first", 5000), ("500", 500)):
                now = datetime.now(UTC)
                started = time.perf_counter()
                got = await storage.claim_reminders(
                    now=now,
                    lease_until=now + timedelta(minutes=2),
                    late_before=now - timedelta(hours=settings.catchup_hours),
                    limit=limit,
                )
                runs[name].append(time.perf_counter() - started)
                assert got, "nothing was due"
                await asyncio.to_thread(_give_back, db)
            # A tick that finds the morning's rows all leased (claimed by a tick still sending).
            now = datetime.now(UTC)
            args = {
                "now": now,
                "lease_until": now + timedelta(minutes=2),
                "late_before": now - timedelta(hours=settings.catchup_hours),
            }
            while len(await storage.claim_reminders(**args, limit=5000)) == 5000:
                pass
            started = time.perf_counter()
            got = await storage.claim_reminders(**args, limit=5000)
            runs["empty"].append(time.perf_counter() - started)
            assert not got
            await asyncio.to_thread(_give_back, db)
    finally:
        await storage.close()
    return runs["first"], runs["500"], runs["empty"], backfill


async def _idle_claims(db: Path, repeat: int) -> list[float]:
    """The claim of a tick with nothing due (the steady state between mornings)."""
    now = datetime.now(UTC)
    storage = await open_storage(f"sqlite:///{db}", now=now)
    runs = []
    try:
        for _ in range(repeat):
            now = datetime.now(UTC)
            started = time.perf_counter()
            got = await storage.claim_reminders(
                now=now,
                lease_until=now + timedelta(minutes=2),
                late_before=now - timedelta(hours=48),
                limit=5000,
            )
            runs.append(time.perf_counter() - started)
            assert not got
    finally:
        await storage.close()
    return runs


async def _life(emu: Emulator, db: Path, asker: int, *, due: int, wait: float) -> Life:
    """Start the bot on ``db``, time it up and answering, read its memory, stop it."""
    bot = BotProcess(emu, TOKEN, db)
    chat = emu.chat(emu.bot(TOKEN), asker)
    spawned = time.monotonic()
    await bot.start(timeout=120)
    up = time.monotonic() - spawned
    try:
        seen = sum(1 for m in chat.messages.values() if m.sender == "bot")
        emu.user_sends_text(asker, "/help", bot=TOKEN)
        while True:
            if sum(1 for m in chat.messages.values() if m.sender == "bot") > seen:
                break
            await asyncio.sleep(0.01)
        answered = time.monotonic() - spawned
        life = Life(up=up, answered=answered, rss_mb=_status_mb(_pid(bot), "VmRSS"))
        deadline = time.monotonic() + wait
        sql = "SELECT COUNT(*) FROM reminders WHERE status = 'queued'"
        while due and time.monotonic() < deadline:
            if await asyncio.to_thread(_count, db, sql) >= due:
                life.first_tick = time.monotonic() - spawned - up
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)  # the first outbox ticks of the fan-out
        life.peak_mb = _status_mb(_pid(bot), "VmHWM")
    finally:
        await bot.stop()
    return life


async def run_million(*, instalments: int = 1_000_000, repeat: int = 5) -> MillionResult:
    teams = -(-COLLECTORS // TEAM_SIZE)
    supervisors = list(range(FIRST_ID, FIRST_ID + teams))
    collectors = list(range(FIRST_ID + teams, FIRST_ID + teams + COLLECTORS))
    cached, built = await million_db(
        instalments, collectors=collectors, supervisors=supervisors, now=datetime.now(UTC)
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "million.db"
        await asyncio.to_thread(shutil.copyfile, cached, db)
        claim_idle = await _idle_claims(db, repeat)
        now = datetime.now(UTC)
        due = await asyncio.to_thread(make_due_now, db, now=now, due_at=now - timedelta(minutes=1))
        rows = await asyncio.to_thread(_count, db, "SELECT COUNT(*) FROM reminders")
        claim_first, claim_500, claim_empty, backfill = await _claims(db, repeat)
        empty_db = Path(tmp) / "empty.db"
        await migrated(empty_db, now)
        async with Emulator(EmulatorConfig(port=0)) as emu:
            emu.add_bot(TOKEN, username="qingshou_million_bot", first_name="清收")
            users = [emu.add_user(f"主管{t}").id for t in range(teams)]
            users += [emu.add_user(f"清收员{c}").id for c in range(COLLECTORS)]
            assert users == supervisors + collectors, "emulator ids differ from the seeded ones"
            for uid in users:
                emu.chat(emu.bot(TOKEN), uid).started = True
            # The asker: an admin of the empty database, a supervisor of the big one.
            empty = await _life(emu, empty_db, supervisors[0], due=0, wait=0)
            big = await _life(emu, db, supervisors[0], due=due, wait=120)
        return MillionResult(
            instalments=instalments,
            reminder_rows=rows,
            db_mb=cached.stat().st_size / 2**20,
            built=built,
            due_now=due,
            claim_first=claim_first,
            claim_500=claim_500,
            claim_empty=claim_empty,
            claim_idle=claim_idle,
            backfill=backfill,
            big=big,
            empty=empty,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instalments", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(run_million(instalments=args.instalments, repeat=args.repeat))
    print("\n".join(result.lines()))


if __name__ == "__main__":
    main()
