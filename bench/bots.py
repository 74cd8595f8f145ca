"""The two bots the throughput benchmark compares, each run in its own process.

``echo``: a bare python-telegram-bot application that answers every text with the same text
(the floor: what PTB and the emulator cost). ``qingshou``: the real application answering the
same messages (``/help``), with storage, access check, templates and the resilient rate limiter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot.runner import running


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    assert update.message.text is not None
    await update.message.reply_text(update.message.text)


def build_echo(token: str, api_url: str) -> Application:
    app = (
        Application.builder()
        .token(token)
        .base_url(api_url)
        .request(HTTPXRequest(connection_pool_size=16))
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    return app


def build_qingshou(token: str, api_url: str, db: str, pacing: bool):
    from bot.app import build_application
    from bot.config import Secret, Settings
    from bot.telegram_io import ResilientRateLimiter

    # A SQLite file, or a PostgreSQL URL (``bench.run_all --postgresql``).
    settings = Settings(token=Secret(token), api_url=api_url, db_path=Path(db), db_url=db)
    limiter = (
        ResilientRateLimiter()
        if pacing
        else ResilientRateLimiter(
            overall_per_second=1e6, per_chat_per_second=1e6, per_chat_burst=10**6
        )
    )
    return build_application(settings, rate_limiter=limiter)


async def serve(
    kind: str, token: str, api_url: str, db: str | None, pacing: bool, profiler: Any = None
) -> None:
    app = (
        build_echo(token, api_url)
        if kind == "echo"
        else build_qingshou(token, api_url, db or "qingshou.db", pacing)
    )
    async with running(app, poll_timeout=1):
        if profiler is not None:
            profiler.enable()  # the updates, not the start-up (imports, opening the database)
        print("ready", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["echo", "qingshou"])
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--db", help="a SQLite file or a PostgreSQL URL")
    parser.add_argument("--pacing", action="store_true", help="keep Telegram's send limits")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # BENCH_PROFILE=DIR: profile the bot's main thread once it is up (cProfile), written to
    # DIR/<kind>.prof when the bench stops the process (read with python -m pstats).
    profile_dir = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile(time.process_time) if profile_dir else None  # CPU, not wall
    if profiler is not None:

        def dump(*_: object) -> None:
            profiler.disable()
            profiler.dump_stats(str(Path(profile_dir or ".") / f"{args.kind}.prof"))
            sys.exit(0)

        signal.signal(signal.SIGTERM, dump)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.kind, args.token, args.api_url, args.db, args.pacing, profiler))


if __name__ == "__main__":
    main()
