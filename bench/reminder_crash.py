"""Kill the bot with SIGKILL during a burst of due reminders, restart it, count what arrived.

``reminders`` instalments are due now across ``collectors`` collectors (teams of 50, each with
a supervisor), seeded by SQL: cases led by the collectors, an agreed commitment each, its
instalment due today and its due-day reminder row pending, due a few minutes ago (the bot's
process reads the real clock). A few collectors blocked the bot: some so that only the send
finds out (403), some already known as blocked in the database; their reminders must end
'dead'. The real bot (``python -m bot run``) works through the burst against the emulator with
Telegram's limits on, and is killed with SIGKILL ``kills`` times at random moments, started
again each time: while reminder rows wait to be claimed, somewhere in the few seconds around
the poller's tick (its first comes one poll interval after start-up: before the claim, between
the claim and the queueing, or during the queueing); otherwise 1–4 s after start-up, in the
sending. A dead process's leases are waited out (the reminder claim's 2 minutes, the outbox
sender's 30 s), unless ``expire_leases`` compresses that time.

Counted from the emulator's side: what each chat actually received. A reminder message lists
its instalments in its buttons (``ri:<instalment>:<answer>``), so an instalment is *delivered*
when a message to its collector carried it; *dead* when its reminder row says so; *lost* when
neither. A *duplicate message* repeats only instalments its chat already had. After each kill
the messages *in flight* are counted: outbox rows under a live lease, unsent, and messages
Telegram accepted that the database does not record as sent (the ones a restart sends again);
duplicates must not exceed their sum.

    python -m bench.reminder_crash [--reminders 10000] [--collectors 500] [--kills 20]

The test suite runs it smaller (tests/e2e/test_reminder_crash.py).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.seed import TEAM_SIZE, BurstSeed, no_digest_now, seed_reminder_burst
from bot.config import Settings
from bot.storage.testing import connect_file
from tests.e2e.process import BotProcess
from tgemu import Emulator, EmulatorConfig

TOKEN = "555555555:" + "R" * 35
#: The instalment a reminder's button row is about (bot/routes.py INSTALMENT).
INSTALMENT_BUTTON = re.compile(r"^ri:(\d+):")


@dataclass
class Kill:
    """What was in flight when one SIGKILL landed."""

    at: float  # seconds since the first start
    leased: int  # outbox rows under a live lease, not sent (each lease counted once)
    unrecorded: int  # messages Telegram accepted that the database does not record as sent
    delivered: int  # instalments delivered so far
    claiming: bool = False  # reminder rows were waiting to be claimed: killed around the tick

    @property
    def in_flight(self) -> int:
        return self.leased + self.unrecorded


@dataclass
class ReminderCrashResult:
    reminders: int
    collectors: int
    kills: list[Kill]
    delivered: int
    dead: int
    lost: int
    #: messages that repeated only instalments their chat already had
    duplicate_messages: int
    #: instalments shown again (a message may repeat some and bring others)
    repeated_instalments: int
    #: instalments that reached a chat other than their collector's (or their supervisor's)
    misdelivered: int
    #: delivered to the supervisor: the lead was known to have blocked the bot
    rerouted: int
    reminder_messages: int
    supervisor_messages: int
    statuses: dict[str, int]
    outbox_live: int
    seconds: float
    settle_seconds: float
    tracebacks: int
    lost_ids: list[int] = field(default_factory=list)

    @property
    def in_flight(self) -> int:
        return sum(k.in_flight for k in self.kills)

    def line(self) -> str:
        return (
            f"{self.reminders} reminders over {self.collectors} collectors, "
            f"{len(self.kills)} SIGKILLs: delivered {self.delivered}, dead {self.dead}, "
            f"lost {self.lost}; {self.reminder_messages} reminder messages, duplicate messages "
            f"{self.duplicate_messages} (instalments repeated {self.repeated_instalments}), "
            f"in flight at the kills {self.in_flight} "
            f"(leased {sum(k.leased for k in self.kills)}, "
            f"sent unrecorded {sum(k.unrecorded for k in self.kills)}), "
            f"to the supervisor instead {self.rerouted}, "
            f"misdelivered {self.misdelivered}, supervisor messages {self.supervisor_messages}; "
            f"reminder rows {dict(sorted(self.statuses.items()))}, "
            f"outbox unsent {self.outbox_live}; "
            f"{self.seconds:.1f} s ({self.settle_seconds:.1f} s after the last start), "
            f"tracebacks in the bot's log {self.tracebacks}; "
            f"delivered {self.delivered / max(self.reminders - self.dead, 1):.3f} of the "
            f"deliverable (goal 1, lost 0), duplicate messages "
            f"{self.duplicate_messages / max(self.in_flight, 1):.2f}x those in flight (goal <= 1)"
        )


def instalments_of(message: object) -> list[int]:
    """The instalment ids a bot message's buttons are about, in order, each once."""
    markup = getattr(message, "reply_markup", None) or {}
    seen: list[int] = []
    for row in markup.get("inline_keyboard", []):
        for button in row:
            found = INSTALMENT_BUTTON.match(button.get("callback_data") or "")
            if found and int(found[1]) not in seen:
                seen.append(int(found[1]))
    return seen


class Received:
    """What the collectors' chats hold, read from the in-process emulator."""

    def __init__(self, emu: Emulator, seed: BurstSeed, token: str = TOKEN) -> None:
        self.bot = emu.bot(token)
        self.seed = seed

    def bot_messages(self) -> set[tuple[int, int]]:
        return {
            (chat_id, m.message_id)
            for chat_id, chat in self.bot.chats.items()
            for m in chat.messages.values()
            if m.sender == "bot"
        }

    def count(self) -> Tally:
        """What the chats received so far."""
        tally = Tally()
        for chat_id, chat in self.bot.chats.items():
            had: set[int] = set()
            for m in sorted(chat.messages.values(), key=lambda m: m.message_id):
                if m.sender != "bot":
                    continue
                listed = instalments_of(m)
                if not listed:
                    continue
                tally.messages += 1
                again = [i for i in listed if i in had]
                tally.repeated += len(again)
                if len(again) == len(listed):
                    tally.duplicates += 1
                for i in listed:
                    lead = self.seed.instalments.get(i)
                    if lead == chat_id:
                        tally.delivered.add(i)
                    elif lead is not None and self.seed.supervisor_of.get(lead) == chat_id:
                        # The lead is known to have blocked the bot: their supervisor is asked.
                        tally.delivered.add(i)
                        tally.rerouted.add(i)
                    else:
                        tally.misdelivered += 1
                had.update(listed)
        return tally


@dataclass
class Tally:
    delivered: set[int] = field(default_factory=set)
    rerouted: set[int] = field(default_factory=set)  # to the supervisor instead of the lead
    messages: int = 0
    duplicates: int = 0  # messages that repeated only instalments the chat already had
    repeated: int = 0  # instalments shown again
    misdelivered: int = 0


def _db_state(
    db: Path, now: datetime
) -> tuple[set[tuple[int, int]], set[tuple[int, str]], int, set[int]]:
    """(recorded sends as (chat, message id), leased unsent rows as (id, lease), live rows,
    dead instalments)."""
    with connect_file(db) as con:
        con.execute("PRAGMA busy_timeout = 30000")
        recorded = {
            (int(r[0]), int(r[1]))
            for r in con.execute(
                "SELECT COALESCE(o.chat_id, u.telegram_id), o.message_id FROM outbox o "
                "LEFT JOIN users u ON u.id = o.user_id "
                "WHERE o.sent_at IS NOT NULL AND o.message_id IS NOT NULL"
            )
        }
        stamp = now.isoformat(timespec="microseconds")
        leased = set(
            con.execute(
                "SELECT id, claimed_until FROM outbox WHERE sent_at IS NULL "
                "AND dropped_at IS NULL AND claimed_until > ?",
                (stamp,),
            ).fetchall()
        )
        live = con.execute(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND dropped_at IS NULL"
        ).fetchone()[0]
        dead = {
            int(r[0])
            for r in con.execute("SELECT instalment_id FROM reminders WHERE status = 'dead'")
        }
    return recorded, leased, int(live), dead


def _expire_leases(db: Path) -> None:
    """The killed process held these leases; it can never renew them: let them run out now."""
    with connect_file(db, autocommit=True) as con:
        con.execute("PRAGMA busy_timeout = 30000")
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")
        con.execute("BEGIN IMMEDIATE")
        for table in ("outbox", "reminders"):
            con.execute(
                f"UPDATE {table} SET claimed_until = ? WHERE claimed_until > ?", (stamp, stamp)
            )
        con.execute("COMMIT")


def _claimable(db: Path) -> int:
    """Pending reminder rows the next tick can claim (not under a lease)."""
    with connect_file(db) as con:
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")
        return int(
            con.execute(
                "SELECT COUNT(*) FROM reminders WHERE status = 'pending' "
                "AND (claimed_until IS NULL OR claimed_until <= ?)",
                (stamp,),
            ).fetchone()[0]
        )


def _statuses(db: Path) -> dict[str, int]:
    with connect_file(db) as con:
        return dict(con.execute("SELECT status, COUNT(*) FROM reminders GROUP BY status"))


async def run_reminder_crash(
    *,
    reminders: int = 10_000,
    collectors: int = 500,
    kills: int = 20,
    blocked: int = 5,
    known_blocked: int = 5,
    seed: int = 7,
    gap: tuple[float, float] = (1.0, 4.0),
    poll: float = min(Settings().poll_interval, Settings().poll_first),
    settle: float = 600.0,
    workdir: Path | None = None,
    env: dict[str, str] | None = None,
    expire_leases: bool = False,
) -> ReminderCrashResult:
    """Seed the burst, SIGKILL the bot ``kills`` times ``gap`` seconds apart (uniform random
    after each start), let it finish, count. ``blocked``: collectors whose chat refuses the
    bot (403) without the database knowing; ``known_blocked``: ones it already knows.

    ``expire_leases``: after each kill, the dead process's leases (outbox rows and reminder
    rows it had claimed) are made to run out at once, as they would after their full time
    (30 s and 2 minutes today): the test suite's time-compressed run. Off, the restarted bot
    waits them out."""
    if reminders % collectors:
        raise ValueError("reminders must be a multiple of collectors")
    rng = random.Random(seed)
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    root = workdir or Path(tmp.name)  # type: ignore[union-attr]
    db = root / "reminder-crash.db"
    try:
        async with Emulator(EmulatorConfig(port=0)) as emu:
            emu.add_bot(TOKEN, username="qingshou_remind_bot", first_name="清收")
            teams = -(-collectors // TEAM_SIZE)
            sups = [emu.add_user(f"主管{t}").id for t in range(teams)]
            cols = [emu.add_user(f"清收员{c}").id for c in range(collectors)]
            for uid in sups + cols:
                emu.chat(emu.bot(TOKEN), uid).started = True  # they opened the bot's chat before
            refusing = rng.sample(cols, blocked + known_blocked)
            for uid in refusing:
                emu.chat(emu.bot(TOKEN), uid).blocked = True
            now = datetime.now(UTC)
            burst = await seed_reminder_burst(
                db,
                collectors=cols,
                supervisors=sups,
                per_collector=reminders // collectors,
                now=now,
                due_at=now - timedelta(minutes=5),
                blocked=refusing[blocked:],
            )
            received = Received(emu, burst)
            bot = BotProcess(emu, TOKEN, db, env={**no_digest_now(now), **(env or {})})
            started = time.monotonic()
            await bot.start()
            history: list[Kill] = []
            unrecorded_before: set[tuple[int, int]] = set()
            leased_before: set[tuple[int, str]] = set()
            for _ in range(kills):
                # While reminder rows wait to be claimed, kill around the poller's first tick
                # after start-up (``poll`` seconds: the catch-up of what came due while the bot
                # was down): before, in or just after the claim; otherwise (all queued, or the
                # rest under a dead process's lease) anywhere in the sending.
                waiting = _claimable(db)
                window = (max(0.2, poll - 1.0), poll + 2.0) if waiting else gap
                await asyncio.sleep(rng.uniform(*window))
                await bot.kill()
                await asyncio.sleep(0.3)  # a request the dead process had sent may still land
                recorded, leased, _, _ = _db_state(db, datetime.now(UTC))
                unrecorded = received.bot_messages() - recorded
                history.append(
                    Kill(
                        at=time.monotonic() - started,
                        # a lease still live from an earlier life was counted at its kill
                        leased=len(leased - leased_before),
                        unrecorded=len(unrecorded - unrecorded_before),
                        delivered=len(received.count().delivered),
                        claiming=bool(waiting),
                    )
                )
                unrecorded_before |= unrecorded
                leased_before |= leased
                if expire_leases:
                    _expire_leases(db)
                await bot.start()
            last_start = time.monotonic()
            wanted = set(burst.instalments)
            deadline = last_start + settle
            while True:
                delivered = received.count().delivered
                _, _, live, dead = _db_state(db, datetime.now(UTC))
                if (wanted <= delivered | dead and live == 0) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(1.0)
            settled = time.monotonic() - last_start
            await asyncio.sleep(3.0)  # anything sent twice at the very end is counted too
            await bot.stop()
            tally = received.count()
            delivered = tally.delivered
            _, _, live, dead = _db_state(db, datetime.now(UTC))
            sup_set = set(sups)
            supervisor_messages = sum(
                1
                for chat_id, chat in emu.bot(TOKEN).chats.items()
                if chat_id in sup_set
                for m in chat.messages.values()
                if m.sender == "bot"
            )
        dead_only = (dead & wanted) - delivered
        lost = sorted(wanted - delivered - dead)
        return ReminderCrashResult(
            reminders=len(wanted),
            collectors=collectors,
            kills=history,
            delivered=len(delivered),
            dead=len(dead_only),
            lost=len(lost),
            duplicate_messages=tally.duplicates,
            repeated_instalments=tally.repeated,
            misdelivered=tally.misdelivered,
            rerouted=len(tally.rerouted),
            reminder_messages=tally.messages,
            supervisor_messages=supervisor_messages,
            statuses=_statuses(db),
            outbox_live=live,
            seconds=time.monotonic() - started,
            settle_seconds=settled,
            tracebacks=len(bot.tracebacks()),
            lost_ids=lost[:20],
        )
    finally:
        if tmp is not None:
            tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--collectors", type=int, default=500)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--blocked", type=int, default=5, help="chats that answer 403")
    parser.add_argument("--known-blocked", type=int, default=5, help="blocked, known in the db")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--settle", type=float, default=600.0, help="seconds after the last start")
    parser.add_argument(
        "--expire-leases",
        action="store_true",
        help="after each kill let the dead process's leases run out at once (time-compressed)",
    )
    args = parser.parse_args()
    result = asyncio.run(
        run_reminder_crash(
            reminders=args.reminders,
            collectors=args.collectors,
            kills=args.kills,
            blocked=args.blocked,
            known_blocked=args.known_blocked,
            seed=args.seed,
            settle=args.settle,
            expire_leases=args.expire_leases,
        )
    )
    print(result.line())
    for n, k in enumerate(result.kills, 1):
        print(
            f"  kill {n:>2} at {k.at:6.1f} s{' (claiming)' if k.claiming else ''}: delivered "
            f"so far {k.delivered}, in flight {k.in_flight} (leased {k.leased}, "
            f"sent unrecorded {k.unrecorded})"
        )
    verdict = Counter(
        lost=result.lost,
        over=max(0, result.duplicate_messages - result.in_flight),
        misdelivered=result.misdelivered,
    )
    if any(verdict.values()):
        print(f"FAILED: {dict(verdict)}; lost ids {result.lost_ids}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
