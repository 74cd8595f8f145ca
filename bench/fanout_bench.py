"""A morning's reminder fan-out against Telegram's 30 messages/s, and /help meanwhile.

``instalments`` instalments are due over ``collectors`` collectors (seeded by SQL as in
bench/reminder_crash.py). The real bot (``python -m bot run``) runs against the emulator with
Telegram's limits on (30 messages/s per bot overall, about 1/s per chat, EmulatorConfig's
defaults). First, with nothing due, the latency of an interactive ``/help`` is sampled (from
a few supervisors, one request at a time); then the due-day reminder rows are written (due a
minute ago) and the poller's next tick starts the fan-out, during which ``/help`` is sampled
the same way. Measured, from the emulator's side:

- achieved messages/s during the fan-out (first to last reminder message) as a fraction of 30,
  counting the reminder messages alone and every message the bot sent in that window;
- the count of 429 answers (any method) while it ran;
- /help latency during the fan-out against the same without it (median and p95 ratios).

    python -m bench.fanout_bench [--instalments 10000] [--collectors 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.reminder_crash import INSTALMENT_BUTTON, Received
from bench.seed import (
    TEAM_SIZE,
    add_collectors,
    cpu_seconds,
    insert_due_reminders,
    no_digest_now,
    seed_reminder_burst,
)
from bot.storage.stores.reminders import BACKFILL_MARK
from bot.storage.testing import connect_file
from tests.e2e.process import BotProcess
from tgemu import Emulator, EmulatorConfig

TOKEN = "555555555:" + "F" * 35
LIMIT = 30
ASKERS = 3


@dataclass
class FanoutResult:
    instalments: int
    collectors: int
    delivered: int
    reminder_messages: int
    fanout_seconds: float
    #: bot messages of any kind sent between the first and the last reminder message
    all_messages: int
    too_many: int
    too_many_total: int
    wait_first: float  # from writing the rows to the first reminder message
    idle: list[float]
    busy: list[float]
    #: the same split at the moment the poller had queued every reminder row
    busy_queueing: list[float]
    queued_after: float  # from the first reminder message to every row queued
    rate_queueing: float
    rate_after: float
    bot_cpu: float  # the bot's CPU seconds per second of the fan-out (2 cores here)
    bench_cpu: float  # this process's (the emulator's)
    #: seconds from the first reminder message: each 429, and each /help (sent, latency)
    too_many_at: list[float] = field(default_factory=list)
    help_at: list[tuple[float, float]] = field(default_factory=list)
    #: reminder messages per second of the fan-out, for --timeline
    per_second: list[int] = field(default_factory=list)
    #: the bot's log lines during the run, for --timeline
    log: list[str] = field(default_factory=list)

    def timeline(self) -> list[str]:
        events = [(t, f"429 at {t:6.2f} s") for t in self.too_many_at]
        events += [(t, f"/help at {t:6.2f} s took {lat * 1000:5.0f} ms") for t, lat in self.help_at]
        return [
            "reminder messages in each second of the fan-out: "
            + " ".join(str(n) for n in self.per_second),
            *(text for _, text in sorted(events)),
        ]

    @property
    def reminder_rate(self) -> float:
        return (self.reminder_messages - 1) / self.fanout_seconds if self.fanout_seconds else 0.0

    @property
    def overall_rate(self) -> float:
        return (self.all_messages - 1) / self.fanout_seconds if self.fanout_seconds else 0.0

    def lines(self) -> list[str]:
        idle, busy = _stats(self.idle), _stats(self.busy)
        return [
            f"{self.instalments} instalments over {self.collectors} collectors: delivered "
            f"{self.delivered} in {self.reminder_messages} reminder messages over "
            f"{self.fanout_seconds:.1f} s (first one {self.wait_first:.1f} s after the rows "
            "were written)",
            f"reminder messages {self.reminder_rate:.2f}/s = {self.reminder_rate / LIMIT:.3f} "
            f"of {LIMIT}/s; every bot message in that window {self.overall_rate:.2f}/s = "
            f"{self.overall_rate / LIMIT:.3f} of {LIMIT}/s (goal >= 0.95)",
            f"429 answers during the fan-out {self.too_many}, in the whole run "
            f"{self.too_many_total} (goal 0)",
            f"/help latency without the fan-out: median {idle[0] * 1000:.0f} ms, p95 "
            f"{idle[1] * 1000:.0f} ms ({len(self.idle)} samples); during it: median "
            f"{busy[0] * 1000:.0f} ms, p95 {busy[1] * 1000:.0f} ms ({len(self.busy)} samples); "
            f"ratio median {busy[0] / idle[0]:.2f}, p95 {busy[1] / idle[1]:.2f} (goal <= 2)",
            (
                f"split where the poller had queued every row ({self.queued_after:.1f} s into "
                f"the fan-out): reminder messages {self.rate_queueing:.2f}/s before, "
                f"{self.rate_after:.2f}/s after; /help median "
                f"{_stats(self.busy_queueing)[0] * 1000:.0f} ms ({len(self.busy_queueing)}) "
                f"before, {_stats(self.busy)[0] * 1000:.0f} ms overall"
                if self.queued_after > 0
                else "the poller had queued every row before the first reminder message went out"
            ),
            f"CPU during the fan-out: the bot {self.bot_cpu:.2f} s/s, the emulator (this "
            f"process) {self.bench_cpu:.2f} s/s",
        ]


def _stats(samples: list[float]) -> tuple[float, float]:
    if not samples:
        return float("nan"), float("nan")
    ordered = sorted(samples)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered), p95


class Replies:
    """Waits for the bot's next message in a chat (from the emulator's event stream)."""

    def __init__(self, emu: Emulator, watched: set[int]) -> None:
        self.watched = watched
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self._source = emu.subscribe()
        self._emu = emu
        self._task = asyncio.create_task(self._route())

    async def _route(self) -> None:
        while (event := await self._source.get()) is not None:
            chat = event.get("chat_id")
            if (
                event.get("kind") == "message"
                and chat in self.watched
                and event["message"]["from"] == "bot"
                and chat in self.waiting
                and not self.waiting[chat].done()
            ):
                self.waiting[chat].set_result(time.perf_counter())

    async def ask(self, chat_id: int, text: str) -> float:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = future
        sent = time.perf_counter()
        self._emu.user_sends_text(chat_id, text, bot=TOKEN)
        return await asyncio.wait_for(future, 120) - sent

    def close(self) -> None:
        self._task.cancel()
        self._emu.unsubscribe(self._source)


class Tally:
    """The instalments the leads' chats received so far, counted as each message arrives.

    The emulator runs in this process: recounting every chat's messages (Received.count) a few
    times a second held its event loop for tens of milliseconds near the end of the fan-out,
    and the bot's sends waited for the measurement. Received counts once, after the run.
    """

    def __init__(self, emu: Emulator, leads: dict[int, int]) -> None:
        self.leads = leads
        self.messages = 0
        self.delivered: set[int] = set()
        self._source = emu.subscribe()
        self._emu = emu
        self._task = asyncio.create_task(self._route())

    async def _route(self) -> None:
        while (event := await self._source.get()) is not None:
            if event.get("kind") != "message" or event["message"]["from"] != "bot":
                continue
            listed = [
                int(found[1])
                for data in _listed(event)
                if (found := INSTALMENT_BUTTON.match(data)) is not None
            ]
            if listed:
                self.messages += 1
                chat = event.get("chat_id")
                self.delivered.update(i for i in listed if self.leads.get(i) == chat)

    def close(self) -> None:
        self._task.cancel()
        self._emu.unsubscribe(self._source)


async def _sample(
    replies: Replies, askers: list[int], until: Any, least: int
) -> list[tuple[float, float]]:
    """/help from each asker in turn, one at a time, until ``until()`` and ``least`` samples:
    (wall time sent, latency)."""
    samples: list[tuple[float, float]] = []
    n = 0
    while len(samples) < least or not until():
        at = time.time()
        samples.append((at, await replies.ask(askers[n % len(askers)], "/help")))
        n += 1
        await asyncio.sleep(0.4)
        if len(samples) >= 400:
            break
    return samples


async def run_fanout(
    *,
    instalments: int = 10_000,
    collectors: int = 500,
    idle_samples: int = 20,
    limit: float = 900.0,
    workdir: Path | None = None,
    env: dict[str, str] | None = None,
) -> FanoutResult:
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    root = workdir or Path(tmp.name)  # type: ignore[union-attr]
    db = root / "fanout.db"
    try:
        async with Emulator(EmulatorConfig(port=0)) as emu:
            emu.faults._log_limit = 10**7  # count every 429, not the last 10,000 calls
            emu.add_bot(TOKEN, username="qingshou_fanout_bot", first_name="清收")
            bot_state = emu.bot(TOKEN)
            teams = -(-collectors // TEAM_SIZE)
            sups = [emu.add_user(f"主管{t}").id for t in range(teams)]
            cols = [emu.add_user(f"清收员{c}").id for c in range(collectors)]
            # Who asks /help: collectors with no cases (nothing else is ever sent to them).
            askers = [emu.add_user(f"旁人{n}").id for n in range(ASKERS)]
            for uid in sups + cols + askers:
                emu.chat(bot_state, uid).started = True
            now = datetime.now(UTC)
            burst = await seed_reminder_burst(
                db,
                collectors=cols,
                supervisors=sups,
                per_collector=instalments // collectors,
                now=now,
                due_at=now,
                reminders=False,
            )
            add_collectors(db, askers, now=now)
            _skip_backfill(db)
            received = Received(emu, burst, TOKEN)
            replies = Replies(emu, set(askers))
            tally = Tally(emu, dict(burst.instalments))
            bot = BotProcess(emu, TOKEN, db, env={**no_digest_now(now), **(env or {})})
            await bot.start()
            try:
                for uid in askers:  # warm up: imports, templates, the first connection
                    await replies.ask(uid, "/help")
                idle = await _sample(replies, askers, lambda: True, idle_samples)
                written = time.time()
                await asyncio.to_thread(
                    insert_due_reminders,
                    db,
                    list(burst.instalments),
                    due_at=datetime.now(UTC) - timedelta(minutes=1),
                    now=datetime.now(UTC),
                )
                queued_at: list[float] = []
                watcher = asyncio.create_task(_watch_queued(db, queued_at))
                wanted = set(burst.instalments)
                deadline = time.monotonic() + limit
                while True:  # the poller's next tick
                    if tally.messages or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)

                def finished() -> bool:
                    return wanted <= tally.delivered or time.monotonic() > deadline

                cpu_bot, cpu_me, wall = cpu_seconds(_pid(bot)), _own_cpu(), time.monotonic()
                busy_task = asyncio.create_task(_sample(replies, askers, finished, 5))
                while True:
                    if finished():
                        break
                    await asyncio.sleep(1.0)
                busy = await busy_task
                wall = time.monotonic() - wall
                cpu_bot = (cpu_seconds(_pid(bot)) - cpu_bot) / wall
                cpu_me = (_own_cpu() - cpu_me) / wall
                watcher.cancel()
            finally:
                replies.close()
                tally.close()
                await bot.stop()
            delivered = received.count().delivered
            times = sorted(
                (event["time"], bool(_listed(event)))
                for chat in bot_state.chats.values()
                for event in chat.events
                if event.get("kind") == "message" and event["message"]["from"] == "bot"
            )
            reminder_times = [t for t, is_reminder in times if is_reminder]
            first, last = (reminder_times[0], reminder_times[-1]) if reminder_times else (0, 0)
            window = [t for t, _ in times if first <= t <= last]
            calls = emu.faults.calls
            too_many = sum(1 for c in calls if c.status == 429 and first <= c.time <= last + 1)
            done = queued_at[0] if queued_at else last
            before = [t for t in reminder_times if t <= done]
            after = [t for t in reminder_times if t > done]
            return FanoutResult(
                instalments=len(wanted),
                collectors=collectors,
                delivered=len(delivered),
                reminder_messages=len(reminder_times),
                fanout_seconds=last - first,
                all_messages=len(window),
                too_many=too_many,
                too_many_total=sum(1 for c in calls if c.status == 429),
                wait_first=first - written if reminder_times else float("nan"),
                idle=[lat for _, lat in idle],
                busy=[lat for _, lat in busy],
                busy_queueing=[lat for at, lat in busy if at <= done],
                queued_after=done - first,
                rate_queueing=len(before) / (done - first) if done > first else 0.0,
                rate_after=len(after) / (last - done) if last > done else 0.0,
                bot_cpu=cpu_bot,
                bench_cpu=cpu_me,
                too_many_at=[c.time - first for c in calls if c.status == 429],
                help_at=[(at - first, lat) for at, lat in busy],
                log=list(bot.log),
                per_second=[
                    sum(1 for t in reminder_times if first + k <= t < first + k + 1)
                    for k in range(int(last - first) + 1)
                ],
            )
    finally:
        if tmp is not None:
            tmp.cleanup()


def _skip_backfill(db: Path) -> None:
    """The bench writes the instalments' reminder rows itself, after the idle samples: the
    poller's first tick (3 s after start-up) must not write them first (its backfill of rows
    missing for older commitments), or the fan-out would start during the idle samples."""
    with connect_file(db) as con:
        top = con.execute("SELECT COALESCE(MAX(id), 0) FROM instalments").fetchone()[0]
        con.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (BACKFILL_MARK, str(top)),
        )
        con.commit()


def _pid(bot: BotProcess) -> int:
    assert bot._proc is not None
    return bot._proc.pid


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _pending(db: Path) -> int:
    with connect_file(db) as con:
        sql = "SELECT COUNT(*) FROM reminders WHERE status = 'pending'"
        return int(con.execute(sql).fetchone()[0])


async def _watch_queued(db: Path, queued_at: list[float]) -> None:
    """Note the wall time when no reminder row is pending any more (the poller is done)."""
    while True:
        if not await asyncio.to_thread(_pending, db):
            queued_at.append(time.time())
            return
        await asyncio.sleep(0.25)


def _listed(event: dict[str, Any]) -> list[str]:
    markup = event["message"].get("reply_markup") or {}
    return [
        b.get("callback_data")
        for row in markup.get("inline_keyboard", [])
        for b in row
        if (b.get("callback_data") or "").startswith("ri:")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instalments", type=int, default=10_000)
    parser.add_argument("--collectors", type=int, default=500)
    parser.add_argument("--idle-samples", type=int, default=20)
    parser.add_argument("--timeline", action="store_true", help="each 429 and /help, in order")
    parser.add_argument(
        "--asyncio-debug",
        action="store_true",
        help="run the bot with PYTHONASYNCIODEBUG=1: its log names callbacks that block the loop",
    )
    args = parser.parse_args()
    result = asyncio.run(
        run_fanout(
            instalments=args.instalments,
            collectors=args.collectors,
            idle_samples=args.idle_samples,
            env={"PYTHONASYNCIODEBUG": "1"} if args.asyncio_debug else None,
        )
    )
    print("\n".join(result.lines()))
    if args.timeline:
        print("\n".join(result.timeline()))
        print("the bot's log:")
        print("".join(line for line in result.log if "apscheduler" not in line))


if __name__ == "__main__":
    main()
