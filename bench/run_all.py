"""``make bench``: updates per second of qingshou vs. a bare python-telegram-bot echo bot.

Both bots run in their own process against the same in-process emulator (flood limits off, so
the emulator measures the bots, not Telegram's pacing). The driver injects every message at
once from many users and times until every reply has arrived; latency is per message, from
injection to the bot's reply landing in the emulator. Machines here are noisy: read the ratio
of the two runs made back to back, not the absolute numbers.

    python -m bench.run_all [--users 50] [--messages 20]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.seed import cpu_seconds, one_case_each
from bot.domain.people import Role
from bot.storage import open_storage
from tgemu import Emulator, EmulatorConfig

TOKENS = {
    "echo": "111111111:" + "E" * 35,
    "qingshou": "222222222:" + "Q" * 35,
    "qingshou-paced": "333333333:" + "P" * 35,
}


@dataclass
class Result:
    name: str
    updates: int
    seconds: float
    latencies: list[float]
    #: CPU seconds the bot's process used for these updates (mixed runs only).
    cpu: float | None = None

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def line(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000
        p95 = lat[int(len(lat) * 0.95) - 1] * 1000
        cpu = "" if self.cpu is None else f"   CPU {self.cpu / self.updates * 1000:6.2f} ms/update"
        return (
            f"{self.name:<16} {self.updates:>6} updates in {self.seconds:6.2f} s = "
            f"{self.rate:7.1f} updates/s   latency p50 {p50:6.1f} ms  p95 {p95:7.1f} ms{cpu}"
        )


async def start_bot(kind: str, emu: Emulator, db: Path | None) -> asyncio.subprocess.Process:
    args = [
        sys.executable,
        "-m",
        "bench.bots",
        "qingshou" if kind.startswith("qingshou") else kind,
        "--token",
        TOKENS[kind],
        "--api-url",
        emu.api_base_url,
    ]
    if db is not None:
        args += ["--db", str(db)]
    if kind == "qingshou-paced":
        args.append("--pacing")
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    if line.strip() != b"ready":
        raise RuntimeError(f"{kind} bot did not start: {line!r}")
    return proc


#: The mixed workload, one cycle per user: the queue, a case card, a note flow of two messages
#: (the flow asks for the text, the next message answers), a one-message note, and help.
MIXED = (
    "/cases",
    "/case HT{i}",
    "/note HT{i}",
    "对方说下周三来社里 {k}",
    "/note HT{i} 电话未接 {k}",
    "/help",
)


async def drive(
    emu: Emulator, kind: str, users: list[int], messages: int, text: str | tuple[str, ...]
) -> Result:
    bot = emu.bot(TOKENS[kind])
    sent: dict[int, deque[float]] = defaultdict(deque)
    latencies: list[float] = []
    total = len(users) * messages
    done = asyncio.Event()
    queue = emu.subscribe()

    async def collect() -> None:
        while len(latencies) < total:
            event = await queue.get()
            if event is None:
                return
            if (
                event.get("kind") == "message"
                and event.get("bot") == bot.username
                and event["message"]["from"] == "bot"
            ):
                latencies.append(time.perf_counter() - sent[event["chat_id"]].popleft())
        done.set()

    collector = asyncio.create_task(collect())
    start = time.perf_counter()
    texts = (text,) if isinstance(text, str) else text
    for k in range(messages):
        for i, uid in enumerate(users):
            sent[uid].append(time.perf_counter())
            message = texts[k % len(texts)].format(i=i, k=k)
            emu.user_sends_text(uid, message, bot=TOKENS[kind])
        await asyncio.sleep(0)
    await asyncio.wait_for(done.wait(), 300)
    elapsed = time.perf_counter() - start
    collector.cancel()
    emu.unsubscribe(queue)
    return Result(kind, total, elapsed, latencies)


async def main_async(n_users: int, messages: int, paced: bool) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        async with Emulator(EmulatorConfig(port=0, rate_limits=False)) as emu:
            for kind, token in TOKENS.items():
                emu.add_bot(token, username=f"bench_{kind.replace('-', '_')}_bot", first_name=kind)
            users = [emu.add_user(first_name=f"User{i}").id for i in range(n_users)]
            db = Path(tmp) / "bench.db"
            now = datetime.now(UTC)
            storage = await open_storage(str(db), now=now)
            team = await storage.ensure_team("Bench", now=now)
            for uid in users:
                await storage.add_user(
                    telegram_id=uid,
                    name=f"User{uid}",
                    role=Role.COLLECTOR,
                    team_id=team.id,
                    now=now,
                )
            await one_case_each(storage, team.id, [f"User{uid}" for uid in users], now=now)
            await storage.close()
            # Each qingshou bot gets its own copy of the database, as in production (one bot
            # token per database): Telegram numbers updates per bot, so a second bot's updates
            # would carry ids the first one's inbox has marked handled already.
            dbs = {"qingshou": db, "qingshou-paced": Path(tmp) / "paced.db"}
            shutil.copyfile(db, dbs["qingshou-paced"])

            kinds = ["echo", "qingshou"] + (["qingshou-paced"] if paced else [])
            for kind in kinds:
                proc = await start_bot(kind, emu, dbs.get(kind))
                try:
                    # Warm up (imports, connection pools, template compilation), then measure.
                    await drive(emu, kind, users[:5], 2, "/help")
                    n = messages if kind != "qingshou-paced" else max(1, messages // 10)
                    results.append(await drive(emu, kind, users, n, "/help"))
                    if kind != "qingshou-paced":
                        # CPU per update, each process's own user+sys time: with both bots
                        # faster than the emulator, throughput alone measures the emulator.
                        before = cpu_seconds(proc.pid)
                        mixed = await drive(emu, kind, users, len(MIXED) * 2, MIXED)
                        mixed.name = f"{kind} mixed"
                        mixed.cpu = cpu_seconds(proc.pid) - before
                        results.append(mixed)
                finally:
                    proc.terminate()
                    await proc.wait()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per user")
    parser.add_argument(
        "--no-paced",
        action="store_true",
        help="skip the run with Telegram's production send limits",
    )
    args = parser.parse_args()
    results = asyncio.run(main_async(args.users, args.messages, not args.no_paced))
    print(
        f"\n{args.users} users, every message '/help', bots in their own processes, "
        "emulator flood limits off"
    )
    for r in results:
        print(r.line())
    by_name = {r.name: r for r in results}
    echo, ours = by_name["echo"], by_name["qingshou"]
    print(f"\nqingshou / echo throughput ratio: {ours.rate / echo.rate:.2f}")
    echo_mixed, ours_mixed = by_name["echo mixed"], by_name["qingshou mixed"]
    assert echo_mixed.cpu is not None
    assert ours_mixed.cpu is not None
    per_echo = echo_mixed.cpu / echo_mixed.updates
    per_ours = ours_mixed.cpu / ours_mixed.updates
    print(
        f"CPU per update, mixed workload (/cases, /case, note flow, /note, /help): qingshou "
        f"{per_ours * 1000:.2f} ms, echo {per_echo * 1000:.2f} ms, ratio {per_ours / per_echo:.1f}"
    )
    if len(results) > 2:
        print("(qingshou-paced keeps Telegram's limits by design: <= 30 msg/s overall, 1/s a chat)")


if __name__ == "__main__":
    main()
