"""Several replicas behind the emulator's webhook delivery, one killed again and again.

``replicas`` bot processes (``python -m bot run`` in webhook mode, each its own
QINGSHOU_INSTANCE and port) share one database. The emulator posts every update to a small
load balancer here, which passes each POST to the next replica (and to the one after it when a
replica refuses the connection, as nginx does). ``people`` collectors each send ``messages``
notes, in order (``/note HT<i> m<i>-<k>``); ``reminders`` due-day reminders fall due at once
(one per collector of the fan-out: that many messages); meanwhile a random replica is killed
with SIGKILL ``kills`` times and started again at once. Telegram's limits are on in the
emulator (30 messages a second per bot, about one a second per chat).

Counted from the emulator's side:

- **unanswered**: notes never answered ("Note saved … m<i>-<k>") — goal 0;
- **doubled**: notes stored twice (a case holds more notes than its collector sent) — goal 0;
- **repeated** replies (a note answered twice, a reminder sent twice) against what was **in
  flight** at the kills (the killed replica's claimed inbox updates and outbox rows, read from
  the database just before each kill) — goal: repeated ≤ in flight;
- **order**: in every chat the notes' answers in the order they were sent — goal: all chats;
- **rate**: the most bot messages in any one second (sliding) — goal ≤ 30; and 429 answers.

    python -m bench.replicas [--replicas 3] [--people 20] [--messages 10] [--reminders 2000]
                             [--kills 10] [--seed 7]

On SQLite (one file, the replicas on one machine) by default; with ``--postgresql`` on one
PostgreSQL database (a throwaway cluster started here, as the tests start theirs: the same
seed written to SQLite, then copied over by ``qingshou db copy``'s code). The emulator here
redelivers faster than Telegram (webhook_backoff 0.1: 0.1, 0.2, 0.4 s... instead of 1, 2, 4 s)
to keep the run short.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.fanout_bench import _skip_backfill
from bench.seed import insert_due_reminders, no_digest_now, one_case_each, seed_reminder_burst
from bot.domain.people import Role
from bot.storage import Storage, open_storage
from bot.storage.testing import connect_file
from tests.e2e.process import BotProcess
from tgemu import Emulator, EmulatorClient, EmulatorConfig

TOKEN = "777777777:" + "R" * 35
SECRET = "bench-replicas-secret-0123456789"
NOTE = re.compile(r"\bm(\d+)-(\d+)\b")
LIMIT = 30


class Balancer:
    """A load balancer in front of the replicas: round robin; a refused connection goes to
    the next replica (nothing was sent); a connection dropped mid-request is a 502 (Telegram
    sends the update again)."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = itertools.cycle(ports)
        self._count = len(ports)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""
        self.refused = 0
        self.dropped = 0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_post("/hook", self._pass)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _pass(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")
        }
        for _ in range(self._count):
            port = next(self._ports)
            try:
                async with self._session.post(
                    f"http://127.0.0.1:{port}/hook", data=body, headers=headers
                ) as answer:
                    await answer.read()
                    return web.Response(status=answer.status)
            except aiohttp.ClientConnectorError:
                self.refused += 1
                continue
            except (aiohttp.ClientError, TimeoutError):
                self.dropped += 1
                return web.Response(status=502)
        return web.Response(status=502)


@dataclass
class ReplicasResult:
    replicas: int
    sent: int
    answered: int
    replies: int
    stored_notes: int
    doubled: int
    reminders: int
    reminder_messages: int
    reminded: int
    in_flight: int
    out_of_order: list[int]
    busiest_second: int
    too_many: int
    kills: int
    seconds: float
    refused: int = 0
    dropped: int = 0
    unanswered_ids: list[str] = field(default_factory=list)
    backend: str = "SQLite file"

    @property
    def unanswered(self) -> int:
        return self.sent - self.answered

    @property
    def repeated(self) -> int:
        return (self.replies - self.answered) + (self.reminder_messages - self.reminded)

    def lines(self) -> list[str]:
        return [
            f"{self.replicas} replicas on one {self.backend} behind the emulator's webhook, "
            f"{self.kills} SIGKILLs (a replica restarted each time), {self.seconds:.0f} s:",
            f"  notes: {self.sent} sent, unanswered {self.unanswered} (goal 0), "
            f"stored {self.stored_notes}, doubled {self.doubled} (goal 0)",
            f"  reminders: {self.reminders} due, {self.reminded} collectors reminded, "
            f"{self.reminder_messages} messages",
            f"  repeated replies {self.repeated} vs {self.in_flight} in flight at the kills "
            f"(goal: repeated <= in flight; ratio "
            f"{self.repeated / max(self.in_flight, 1):.2f})",
            f"  per-chat order: {len(self.out_of_order)} chats out of order (goal 0)",
            f"  busiest second {self.busiest_second} messages = "
            f"{self.busiest_second / LIMIT:.2f}x Telegram's 30 (goal <= 1), "
            f"429 answers {self.too_many}",
            f"  load balancer: {self.refused} connections refused (passed on), "
            f"{self.dropped} dropped mid-request",
        ]

    @property
    def ok(self) -> bool:
        return (
            self.unanswered == 0
            and self.doubled == 0
            and self.repeated <= self.in_flight
            and not self.out_of_order
            and self.busiest_second <= LIMIT
            and self.reminded == self.reminders
        )


async def _seed_notes(storage: Storage, person_ids: list[int], now: datetime) -> None:
    team = await storage.ensure_team("记录组", now=now)
    names = [f"记录员{i}" for i in range(len(person_ids))]
    for telegram_id, name in zip(person_ids, names, strict=True):
        await storage.add_user(
            telegram_id=telegram_id, name=name, role=Role.COLLECTOR, team_id=team.id, now=now
        )
    await one_case_each(storage, team.id, names, now=now)


_IN_FLIGHT_INBOX = (
    "SELECT COUNT(*) FROM inbox WHERE claimed_by = %s AND claimed_until IS NOT NULL "
    "AND handled_at IS NULL AND set_aside_at IS NULL"
)
_IN_FLIGHT_OUTBOX = (
    "SELECT COUNT(*) FROM outbox WHERE claimed_by = %s AND claimed_until IS NOT NULL "
    "AND sent_at IS NULL AND dropped_at IS NULL"
)


def _in_flight(db: Path | str, instance: str) -> int:
    """What the replica holds now: claimed pending updates and claimed unsent outbox rows."""
    if isinstance(db, str):  # a PostgreSQL URL
        import psycopg

        with psycopg.connect(db) as pg:
            inbox = pg.execute(_IN_FLIGHT_INBOX, (instance,)).fetchone()
            outbox = pg.execute(_IN_FLIGHT_OUTBOX, (instance,)).fetchone()
            return int(inbox[0] if inbox else 0) + int(outbox[0] if outbox else 0)
    with connect_file(db) as con:
        inbox = con.execute(
            "SELECT COUNT(*) FROM inbox WHERE claimed_by = ? AND claimed_until IS NOT NULL "
            "AND handled_at IS NULL AND set_aside_at IS NULL",
            (instance,),
        ).fetchone()[0]
        outbox = con.execute(
            "SELECT COUNT(*) FROM outbox WHERE claimed_by = ? AND claimed_until IS NOT NULL "
            "AND sent_at IS NULL AND dropped_at IS NULL",
            (instance,),
        ).fetchone()[0]
    return int(inbox) + int(outbox)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bot_messages(emu: Emulator, chat_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    bot = emu.bot(TOKEN)
    out: dict[int, list[dict[str, Any]]] = {}
    for chat_id in chat_ids:
        chat = bot.chats.get(chat_id)
        events = chat.events if chat is not None else []
        out[chat_id] = [
            e for e in events if e["kind"] == "message" and e["message"].get("from") == "bot"
        ]
    return out


async def run_replicas(
    *,
    replicas: int = 3,
    people: int = 20,
    messages: int = 10,
    reminders: int = 2000,
    kills: int = 10,
    seed: int = 7,
    settle: float = 600.0,
    workdir: Path | None = None,
    postgresql: bool = False,
) -> ReplicasResult:
    rng = random.Random(seed)
    cluster = None
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    root = workdir or Path(tmp.name)  # type: ignore[union-attr]
    db = root / "replicas.db"
    started = time.monotonic()
    config = EmulatorConfig(port=0, webhook_timeout=10.0, webhook_backoff=0.1)
    try:
        async with Emulator(config) as emu:
            emu.faults._log_limit = 10**7  # count every 429
            emu.add_bot(TOKEN, username="qingshou_replicas_bot", first_name="清收")
            state = emu.bot(TOKEN)
            note_ids = [emu.add_user(f"记录员{i}", language_code="en").id for i in range(people)]
            sups = [emu.add_user(f"主管{t}").id for t in range(-(-reminders // 50))]
            cols = [emu.add_user(f"清收员{c}").id for c in range(reminders)]
            for uid in note_ids + sups + cols:
                state.chats.setdefault(uid, emu.chat(state, uid))
                emu.chat(state, uid).started = True
            now = datetime.now(UTC)
            burst = await seed_reminder_burst(
                db,
                collectors=cols,
                supervisors=sups,
                per_collector=1,
                now=now,
                due_at=now,
                reminders=False,
            )
            _skip_backfill(db)
            storage = await open_storage(f"sqlite:///{db}", now=now)
            try:
                await _seed_notes(storage, note_ids, now)
            finally:
                await storage.close()
            # Due a minute ago: the replicas' first poller tick (3 s after start) fans out.
            await asyncio.to_thread(
                insert_due_reminders,
                db,
                list(burst.instalments),
                due_at=now - timedelta(minutes=1),
                now=now,
            )
            target: Path | str = db
            if postgresql:
                cluster, target = await _to_postgresql(db, now)
            ports = [_free_port() for _ in range(replicas)]
            balancer = Balancer(ports)
            await balancer.start()
            bots = [
                BotProcess(
                    emu,
                    TOKEN,
                    target,  # type: ignore[arg-type]  # QINGSHOU_DB: a file or a URL
                    env={
                        "QINGSHOU_WEBHOOK_URL": balancer.url,
                        "QINGSHOU_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
                        "QINGSHOU_WEBHOOK_SECRET": SECRET,
                        "QINGSHOU_INSTANCE": f"replica-{n}",
                        **no_digest_now(now),
                    },
                )
                for n, port in enumerate(ports)
            ]
            in_flight = 0
            try:
                for bot in bots:
                    await bot.start()
                texts = [f"m{i}-{k}" for i in range(people) for k in range(messages)]
                async with EmulatorClient(emu.url) as client:

                    async def person(i: int) -> None:
                        for k in range(messages):
                            await client.send_message(note_ids[i], f"/note HT{i} m{i}-{k}")
                            await asyncio.sleep(rng.uniform(0.0, 0.4))

                    senders = asyncio.gather(*(person(i) for i in range(people)))
                    for _ in range(kills):
                        await asyncio.sleep(rng.uniform(1.0, 3.0))
                        n = rng.randrange(replicas)
                        in_flight += await asyncio.to_thread(_in_flight, target, f"replica-{n}")
                        await bots[n].kill()
                        await bots[n].start()
                    await senders
                    wanted = set(texts)
                    deadline = time.monotonic() + settle
                    while time.monotonic() < deadline:
                        got = _bot_messages(emu, note_ids)
                        answered = {
                            m[0]
                            for events in got.values()
                            for e in events
                            if (m := NOTE.search(e["message"].get("text") or ""))
                        }
                        reminded = sum(1 for v in _bot_messages(emu, cols).values() if v)
                        if wanted <= answered and reminded >= len(cols):
                            break
                        await asyncio.sleep(1.0)
                    await asyncio.sleep(2.0)  # anything repeated late
            finally:
                for bot in bots:
                    await bot.stop()
                await balancer.stop()
            notes = _bot_messages(emu, note_ids)
            answered_set: set[str] = set()
            replies = 0
            out_of_order: list[int] = []
            for chat_id, events in notes.items():
                ks: list[int] = []
                for e in events:
                    found = NOTE.search(e["message"].get("text") or "")
                    if found and "Note saved" in (e["message"].get("text") or ""):
                        answered_set.add(found[0])
                        replies += 1
                        ks.append(int(found[2]))
                if ks != sorted(ks):
                    out_of_order.append(chat_id)
            reminder_events = _bot_messages(emu, cols)
            times = sorted(
                e["time"] for events in [*notes.values(), *reminder_events.values()] for e in events
            )
            busiest = 0
            start = 0
            for end, t in enumerate(times):
                while times[start] <= t - 1.0:
                    start += 1
                busiest = max(busiest, end - start + 1)
            too_many = sum(1 for c in emu.faults.calls if c.status == 429)
            where = target if isinstance(target, str) else f"sqlite:///{db}"
            storage = await open_storage(where, now=datetime.now(UTC))
            try:
                counts: dict[int, int] = {}
                for telegram_id in note_ids:
                    viewer = await storage.get_user_by_telegram_id(telegram_id)
                    assert viewer is not None
                    for case in await storage.list_cases(viewer):
                        counts[case.id] = await storage.count_notes(case.id)
            finally:
                await storage.close()
        return ReplicasResult(
            replicas=replicas,
            sent=len(texts),
            answered=len(answered_set),
            replies=replies,
            stored_notes=sum(counts.values()),
            doubled=sum(max(0, n - messages) for n in counts.values()),
            reminders=len(cols),
            reminder_messages=sum(len(v) for v in reminder_events.values()),
            reminded=sum(1 for v in reminder_events.values() if v),
            in_flight=in_flight,
            out_of_order=out_of_order,
            busiest_second=busiest,
            too_many=too_many,
            kills=kills,
            seconds=time.monotonic() - started,
            refused=balancer.refused,
            dropped=balancer.dropped,
            unanswered_ids=sorted(set(texts) - answered_set)[:20],
            backend="PostgreSQL database" if postgresql else "SQLite file",
        )
    finally:
        if cluster is not None:
            cluster.stop()
        if tmp is not None:
            tmp.cleanup()


async def _to_postgresql(db: Path, now: datetime) -> tuple[Any, str]:
    """A throwaway PostgreSQL cluster holding a copy of the seeded SQLite file, and its URL."""
    from bot.storage.copy import copy_database
    from tests import pg_cluster

    reason = pg_cluster.missing()
    if reason:
        raise SystemExit(f"--postgresql: {reason}")
    cluster = await asyncio.to_thread(pg_cluster.start_cluster)
    url = cluster.fresh_url()
    source = await open_storage(f"sqlite:///{db}", now=now)
    target = await open_storage(url, now=now)
    try:
        await copy_database(source, target, now=now)  # type: ignore[arg-type]
    finally:
        await source.close()
        await target.close()
    return cluster, url


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--reminders", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgresql", action="store_true", help="one PostgreSQL database instead of SQLite"
    )
    args = parser.parse_args()
    result = asyncio.run(
        run_replicas(
            replicas=args.replicas,
            people=args.people,
            messages=args.messages,
            reminders=args.reminders,
            kills=args.kills,
            seed=args.seed,
            postgresql=args.postgresql,
        )
    )
    for line in result.lines():
        print(line)
    if not result.ok:
        print(f"NOT MET; unanswered: {result.unanswered_ids}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
