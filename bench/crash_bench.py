"""Kill the bot with SIGKILL during a burst of messages, restart it, and count what was lost.

Each of ``people`` collectors sends ``messages`` notes (``/note HT<i> m<i>-<k>``) at once, as
fast as the control API takes them; while the bot works through them (Telegram's pacing is on,
so replies trickle out at under one per second per chat) it is killed ``kills`` times at random
moments and started again each time. At the end every message must have been answered at least
once ("Note saved … m<i>-<k>") — **0 lost** — and every note must be stored exactly once (the
note is keyed by its update, so a replayed update cannot store it twice).

    python -m bench.crash_bench [--people 20] [--messages 10] [--kills 10] [--seed 7]

The test suite runs it smaller (tests/e2e/test_crash.py).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.seed import one_case_each
from bot.domain.people import Role
from bot.storage import Storage, open_storage
from tests.e2e.process import BotProcess
from tgemu import Emulator, EmulatorClient, EmulatorConfig

TOKEN = "444444444:" + "K" * 35
NOTE = re.compile(r"\bm(\d+)-(\d+)\b")


@dataclass
class CrashResult:
    sent: int
    kills: int
    answered: int
    lost: int
    replies: int
    stored_notes: int
    doubled_notes: int
    seconds: float
    replayed: int
    pending_after: int = 0
    set_aside: int = 0
    lost_ids: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.sent} messages, {self.kills} SIGKILLs: answered {self.answered}, "
            f"lost {self.lost}, replies {self.replies} ({self.replies - self.answered} repeated), "
            f"notes stored {self.stored_notes}, doubled {self.doubled_notes}, "
            f"restarts that replayed stored updates {self.replayed}, "
            f"inbox pending at the end {self.pending_after}, set aside {self.set_aside}, "
            f"{self.seconds:.1f} s; answered {self.answered / max(self.sent, 1):.3f} of those "
            f"sent (goal 1: lost 0), notes stored {self.stored_notes / max(self.sent, 1):.3f} "
            f"of them (goal 1: doubled 0)"
        )


async def _seed(storage: Storage, person_ids: list[int], now: datetime) -> None:
    team = await storage.ensure_team("东城", now=now)
    names = [f"清收员{i}" for i in range(len(person_ids))]
    for telegram_id, name in zip(person_ids, names, strict=True):
        await storage.add_user(
            telegram_id=telegram_id, name=name, role=Role.COLLECTOR, team_id=team.id, now=now
        )
    await one_case_each(storage, team.id, names, now=now)


async def run_crash(
    *,
    people: int,
    messages: int,
    kills: int,
    seed: int = 7,
    settle: float = 90.0,
    workdir: Path | None = None,
) -> CrashResult:
    """Send ``people × messages`` notes, SIGKILL the bot ``kills`` times, count the answers."""
    rng = random.Random(seed)
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    root = workdir or Path(tmp.name)  # type: ignore[union-attr]
    db = root / "crash.db"
    started = time.monotonic()
    try:
        async with Emulator(EmulatorConfig(port=0)) as emu:
            emu.add_bot(TOKEN, username="qingshou_crash_bot", first_name="清收")
            async with EmulatorClient(emu.url) as client:
                ids = [
                    int((await client.create_user(f"清收员{i}", language_code="en"))["id"])
                    for i in range(people)
                ]
                storage = await open_storage(f"sqlite:///{db}", now=datetime.now(UTC))
                try:
                    await _seed(storage, ids, datetime.now(UTC))
                    bot = BotProcess(emu, TOKEN, db)
                    await bot.start()
                    texts = [f"m{i}-{k}" for k in range(messages) for i in range(people)]
                    sends = asyncio.gather(
                        *(
                            client.send_message(ids[int(t[1:].split("-")[0])],
                                                f"/note HT{t[1:].split('-')[0]} {t}")
                            for t in texts
                        )
                    )  # fmt: skip
                    await sends
                    for _ in range(kills):
                        await asyncio.sleep(rng.uniform(0.3, 1.5))
                        await bot.kill()
                        await bot.start()
                    answered, replies = await _wait_for_answers(client, ids, set(texts), settle)
                    await bot.stop()
                    counts = await _note_counts(storage, ids)
                    inbox = await storage.inbox_counts()
                finally:
                    await storage.close()
        replayed = sum(1 for line in bot.log if "replaying" in line)
        lost = sorted(set(texts) - answered)
        return CrashResult(
            sent=len(texts),
            kills=kills,
            answered=len(answered),
            lost=len(lost),
            replies=replies,
            stored_notes=sum(counts.values()),
            # Every answer says its note was saved, so a case holds exactly ``messages`` notes
            # unless one was stored twice.
            doubled_notes=sum(max(0, n - messages) for n in counts.values()),
            seconds=time.monotonic() - started,
            replayed=replayed,
            pending_after=inbox.get("pending", 0),
            set_aside=inbox.get("set_aside", 0),
            lost_ids=lost[:20],
        )
    finally:
        if tmp is not None:
            tmp.cleanup()


async def _wait_for_answers(
    client: EmulatorClient, ids: list[int], wanted: set[str], settle: float
) -> tuple[set[str], int]:
    deadline = time.monotonic() + settle
    while True:
        answered: set[str] = set()
        replies = 0
        for chat_id in ids:
            transcript = await client.transcript(chat_id)
            for message in transcript["messages"]:
                if message.get("from") != "bot" or "Note saved" not in (message.get("text") or ""):
                    continue
                found = NOTE.search(message["text"])
                if found:
                    answered.add(found[0])
                    replies += 1
        if wanted <= answered or time.monotonic() > deadline:
            return answered, replies
        await asyncio.sleep(0.5)


async def _note_counts(storage: Storage, ids: list[int]) -> dict[int, int]:
    """Notes stored per case (each person has one case)."""
    counts: dict[int, int] = {}
    for telegram_id in ids:
        viewer = await storage.get_user_by_telegram_id(telegram_id)
        assert viewer is not None
        for case in await storage.list_cases(viewer):
            counts[case.id] = await storage.count_notes(case.id)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(
        run_crash(people=args.people, messages=args.messages, kills=args.kills, seed=args.seed)
    )
    print(result.line())
    if result.lost or result.doubled_notes:
        print(f"LOST: {result.lost_ids}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
