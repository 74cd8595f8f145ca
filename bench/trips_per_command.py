"""Storage round trips and Bot API calls per update, per command of the closed loop.

    .venv/bin/python -m bench.trips_per_command [--users 5] [--rounds 4]

The bot runs in this process against the in-process emulator; every hop to aiosqlite's thread
(``Connection._execute``, which every storage call takes) and every Bot API call the bot makes is
counted while each user sends the closed loop's commands, one message at a time, waiting for
the reply (issue 17: "a few storage hops per update"). Also the bot's CPU per update (this
process, emulator included, so read it as a comparison between runs, not against the echo bot).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram.request import HTTPXRequest

from bench.run_all import CLOSED, TOKENS
from bench.seed import collectors_with_a_case_each
from bot.app import build_application
from bot.config import Secret, Settings
from bot.runner import running
from bot.telegram_io import ResilientRateLimiter
from tgemu import Emulator, EmulatorConfig

trips = 0
calls: collections.Counter[str] = collections.Counter()


def _count_trips(conn: Any) -> None:
    """Count the trips to the thread of the storage's connection (``conn``: aiosqlite's)."""
    cls = type(conn)
    execute = cls._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        global trips
        trips += 1
        return await execute(self, fn, *args, **kwargs)

    cls._execute = counted


def _count() -> None:
    do_request = HTTPXRequest.do_request

    async def counted_request(self: HTTPXRequest, url: str, *args: Any, **kwargs: Any) -> Any:
        calls[url.rsplit("/", 1)[-1]] += 1
        return await do_request(self, url, *args, **kwargs)

    HTTPXRequest.do_request = counted_request  # type: ignore[method-assign]


async def main_async(n_users: int, rounds: int) -> None:
    _count()
    token = TOKENS["qingshou"]
    with tempfile.TemporaryDirectory() as tmp:
        async with Emulator(EmulatorConfig(port=0, rate_limits=False)) as emu:
            emu.add_bot(token, username="bench_qingshou_bot", first_name="qingshou")
            users = [emu.add_user(first_name=f"User{i}").id for i in range(n_users)]
            db = Path(tmp) / "bench.db"
            now = datetime.now(UTC)
            await collectors_with_a_case_each(db, users, now=now)
            settings = Settings(token=Secret(token), api_url=emu.api_base_url, db_path=db)
            limiter = ResilientRateLimiter(
                overall_per_second=1e6, per_chat_per_second=1e6, per_chat_burst=10**6
            )
            app = build_application(settings, rate_limiter=limiter)
            replies: dict[int, asyncio.Queue[None]] = {uid: asyncio.Queue() for uid in users}
            queue = emu.subscribe()
            bot = emu.bot(token)

            async def collect() -> None:
                while (event := await queue.get()) is not None:
                    if (
                        event.get("kind") == "message"
                        and event.get("bot") == bot.username
                        and event["message"]["from"] == "bot"
                        and event["chat_id"] in replies
                    ):
                        replies[event["chat_id"]].put_nowait(None)

            collector = asyncio.create_task(collect())
            async with running(app, poll_timeout=1):
                _count_trips(app.bot_data.storage._conn)
                print(f"{'command':<26} {'trips/update':>12}  {'CPU ms/update':>13}  Bot API calls")
                for warm in (True, False):
                    for name, texts in CLOSED.items():
                        global trips
                        trips = 0
                        calls.clear()
                        n = 0
                        cpu = time.process_time()
                        for k in range(1 if warm else rounds):
                            for i, uid in enumerate(users):
                                for text in texts:
                                    emu.user_sends_text(uid, text.format(i=i, k=k), bot=token)
                                    await asyncio.wait_for(replies[uid].get(), 30)
                                    n += 1
                        await asyncio.sleep(0.05)
                        cpu = time.process_time() - cpu
                        if not warm:
                            per = {m: round(c / n, 2) for m, c in sorted(calls.items())}
                            print(f"{name:<26} {trips / n:12.1f}  {cpu / n * 1000:13.2f}  {per}")
            collector.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main_async(args.users, args.rounds))


if __name__ == "__main__":
    main()
