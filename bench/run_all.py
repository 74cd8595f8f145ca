"""``make bench``: updates per second of qingshou vs. a bare python-telegram-bot echo bot.

Both bots run in their own process against the same in-process emulator (flood limits off, so
the emulator measures the bots, not Telegram's pacing). The driver injects every message at
once from many users and times until every reply has arrived; latency is per message, from
injection to the bot's reply landing in the emulator. Machines here are noisy: read the ratio
of the two runs made back to back, not the absolute numbers.

    python -m bench.run_all [--users 50] [--messages 20] [--closed-only]

Then the closed loop (issue 17): each simulated user sends its next message only once the
reply to the previous one has come, as a person does, so neither bot's queue inflates the
other's numbers. It reports CPU per update of each bot's process per command and mixed, and
qingshou's ratio to the echo bot.
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
from typing import Any

from bench.seed import collectors_with_a_case_each, cpu_seconds
from tgemu import Emulator, EmulatorConfig

TOKENS = {
    "echo": "111111111:" + "E" * 35,
    "qingshou": "222222222:" + "Q" * 35,
    "qingshou-paced": "333333333:" + "P" * 35,
    "qingshou-pg": "444444444:" + "G" * 35,
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

    def line(self, peer: Result | None = None) -> str:
        """One row of the table; with ``peer``, this run's rate and p50 as ratios to the peer's."""
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000
        p95 = lat[int(len(lat) * 0.95) - 1] * 1000
        cpu = "" if self.cpu is None else f"   CPU {self.cpu / self.updates * 1000:6.2f} ms/update"
        vs = ""
        if peer is not None and peer is not self:
            peer_p50 = statistics.median(peer.latencies) * 1000
            vs = f"   x{self.rate / peer.rate:.2f} rate, x{p50 / peer_p50:.2f} p50 of {peer.name}"
        return (
            f"{self.name:<16} {self.updates:>6} updates in {self.seconds:6.2f} s = "
            f"{self.rate:7.1f} updates/s   latency p50 {p50:6.1f} ms  p95 {p95:7.1f} ms{cpu}{vs}"
        )


async def start_bot(kind: str, emu: Emulator, db: Path | str | None) -> asyncio.subprocess.Process:
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


#: The closed loop's commands, each measured on its own (a cycle of one or two messages; the
#: note flow is two: the flow asks for the text, the next message answers), then mixed.
CLOSED: dict[str, tuple[str, ...]] = {
    "/help": ("/help",),
    "/cases": ("/cases",),
    "/case": ("/case HT{i}",),
    "/note (one message)": ("/note HT{i} 电话未接 {k}",),
    "note flow (two messages)": ("/note HT{i}", "对方说下周三来社里 {k}"),
    "mixed": MIXED,
}


async def drive_closed(
    emu: Emulator, kind: str, users: list[int], rounds: int, texts: tuple[str, ...]
) -> Result:
    """Every user sends ``rounds`` cycles of ``texts``, each message only after the reply to
    the one before it (a closed loop): the bot never has more than one update per user."""
    bot = emu.bot(TOKENS[kind])
    replies: dict[int, asyncio.Queue[float]] = {uid: asyncio.Queue() for uid in users}
    queue = emu.subscribe()

    async def collect() -> None:
        while True:
            event = await queue.get()
            if event is None:
                return
            if (
                event.get("kind") == "message"
                and event.get("bot") == bot.username
                and event["message"]["from"] == "bot"
                and event["chat_id"] in replies
            ):
                replies[event["chat_id"]].put_nowait(time.perf_counter())

    latencies: list[float] = []

    async def person(i: int, uid: int) -> None:
        for k in range(rounds):
            for text in texts:
                sent = time.perf_counter()
                emu.user_sends_text(uid, text.format(i=i, k=k), bot=TOKENS[kind])
                got = await asyncio.wait_for(replies[uid].get(), 60)
                latencies.append(got - sent)

    collector = asyncio.create_task(collect())
    start = time.perf_counter()
    await asyncio.gather(*(person(i, uid) for i, uid in enumerate(users)))
    elapsed = time.perf_counter() - start
    await asyncio.sleep(0.2)  # a late second reply to the last message: not the next run's
    collector.cancel()
    emu.unsubscribe(queue)
    return Result(kind, len(latencies), elapsed, latencies)


async def closed_loop(
    emu: Emulator, kind: str, pid: int, users: list[int], rounds: int
) -> dict[str, Result]:
    """CPU per update of the bot's process, per command and mixed, in the closed loop."""
    out = {}
    for name, texts in CLOSED.items():
        n = rounds if name != "mixed" else max(1, rounds // 2)
        before = cpu_seconds(pid)
        result = await drive_closed(emu, kind, users, n, texts)
        result.cpu = cpu_seconds(pid) - before
        result.name = f"{kind} {name}"
        out[name] = result
    return out


async def main_async(
    n_users: int,
    messages: int,
    paced: bool,
    *,
    open_loop: bool = True,
    rounds: int = 6,
    postgresql: bool = False,
) -> tuple[list[Result], dict[str, dict[str, Result]]]:
    results = []
    closed: dict[str, dict[str, Result]] = {}
    cluster = None
    if postgresql:
        from tests import pg_cluster

        reason = pg_cluster.missing()
        if reason:
            raise SystemExit(f"--postgresql: {reason}")
        cluster = await asyncio.to_thread(pg_cluster.start_cluster)
    try:
        return await _main(n_users, messages, paced, open_loop, rounds, cluster, results, closed)
    finally:
        if cluster is not None:
            cluster.stop()


async def _main(
    n_users: int,
    messages: int,
    paced: bool,
    open_loop: bool,
    rounds: int,
    cluster: Any,
    results: list[Result],
    closed: dict[str, dict[str, Result]],
) -> tuple[list[Result], dict[str, dict[str, Result]]]:
    with tempfile.TemporaryDirectory() as tmp:
        async with Emulator(EmulatorConfig(port=0, rate_limits=False)) as emu:
            for kind, token in TOKENS.items():
                emu.add_bot(token, username=f"bench_{kind.replace('-', '_')}_bot", first_name=kind)
            users = [emu.add_user(first_name=f"User{i}").id for i in range(n_users)]
            db = Path(tmp) / "bench.db"
            now = datetime.now(UTC)
            await collectors_with_a_case_each(db, users, now=now)
            # Each qingshou bot gets its own copy of the database, as in production (one bot
            # token per database): Telegram numbers updates per bot, so a second bot's updates
            # would carry ids the first one's inbox has marked handled already.
            dbs: dict[str, Path | str] = {"qingshou": db, "qingshou-paced": Path(tmp) / "paced.db"}
            shutil.copyfile(db, dbs["qingshou-paced"])
            if cluster is not None:  # the same bot and seed on PostgreSQL (issue 18)
                dbs["qingshou-pg"] = cluster.fresh_url()
                await collectors_with_a_case_each(dbs["qingshou-pg"], users, now=now)

            kinds = ["echo", "qingshou"] + (["qingshou-paced"] if paced and open_loop else [])
            if cluster is not None:
                kinds.append("qingshou-pg")
            for kind in kinds:
                proc = await start_bot(kind, emu, dbs.get(kind))
                try:
                    # Warm up (imports, connection pools, template compilation), then measure.
                    await drive(emu, kind, users[:5], 2, "/help")
                    if kind != "qingshou-paced":
                        # Every command once first: a long-running bot has compiled its
                        # templates and warmed its caches; the first use is not what it costs.
                        await closed_loop(emu, kind, proc.pid, users[:3], 1)
                        closed[kind] = await closed_loop(emu, kind, proc.pid, users, rounds)
                    if not open_loop or kind == "qingshou-pg":
                        continue
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
    return results, closed


def report_closed(closed: dict[str, dict[str, Result]], n_users: int) -> None:
    print(f"\nClosed loop: {n_users} users, each waiting for the reply before the next message")
    print(f"{'command':<26} {'qingshou':>12} {'echo':>12} {'ratio':>6}   p50 latency q / e")
    for name in CLOSED:
        ours, echo = closed["qingshou"][name], closed["echo"][name]
        assert ours.cpu is not None
        assert echo.cpu is not None
        per_ours, per_echo = ours.cpu / ours.updates, echo.cpu / echo.updates
        p50o = statistics.median(ours.latencies) * 1000
        p50e = statistics.median(echo.latencies) * 1000
        print(
            f"{name:<26} {per_ours * 1000:9.2f} ms {per_echo * 1000:9.2f} ms "
            f"{per_ours / per_echo:6.2f}   {p50o:6.1f} / {p50e:5.1f} ms"
        )
    print("(CPU per update: each bot process's user+sys time / updates; goal ratio <= 1.5)")
    if "qingshou-pg" in closed:
        print("\nThe same on PostgreSQL (issue 18): CPU per update beside SQLite's and echo's")
        for name in CLOSED:
            pg, lite, echo = (closed[k][name] for k in ("qingshou-pg", "qingshou", "echo"))
            per = {k: r.cpu / r.updates for k, r in (("pg", pg), ("lite", lite), ("echo", echo))
                   if r.cpu is not None}  # fmt: skip
            print(
                f"{name:<26} {per['pg'] * 1000:9.2f} ms = x{per['pg'] / per['lite']:.2f} "
                f"SQLite's, x{per['pg'] / per['echo']:.2f} echo's"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per user")
    parser.add_argument(
        "--no-paced",
        action="store_true",
        help="skip the run with Telegram's production send limits",
    )
    parser.add_argument(
        "--closed-only", action="store_true", help="only the closed loop (CPU per update)"
    )
    parser.add_argument("--rounds", type=int, default=6, help="closed-loop cycles per user")
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="the closed loop on PostgreSQL too (a throwaway cluster)",
    )
    args = parser.parse_args()
    results, closed = asyncio.run(
        main_async(
            args.users,
            args.messages,
            not args.no_paced,
            open_loop=not args.closed_only,
            rounds=args.rounds,
            postgresql=args.postgresql,
        )
    )
    report_closed(closed, args.users)
    if args.closed_only:
        return
    print(
        f"\n{args.users} users, every message '/help', bots in their own processes, "
        "emulator flood limits off"
    )
    by_name = {r.name: r for r in results}
    for r in results:
        # Each row beside its echo peer: the same load (mixed beside mixed).
        print(r.line(by_name["echo mixed" if "mixed" in r.name else "echo"]))
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
