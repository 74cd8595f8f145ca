"""Run a built application inside an existing event loop (the sandbox, tests, benchmarks).

``Application.run_polling`` owns the loop and signals, which suits production; everything that
runs the bot beside something else (the emulator, a test) uses this instead, with the same
polling as production.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.error import TelegramError
from telegram.ext import Application

ALLOWED_UPDATES = ["message", "callback_query"]
log = logging.getLogger(__name__)


def polling_trouble(error: TelegramError) -> None:
    """getUpdates failed (Telegram's 5xx, a time-out): PTB polls again with a growing pause,
    and the offset has not moved, so nothing is lost: a warning, never a traceback."""
    log.warning("Telegram did not answer getUpdates (%s); polling again", error)


@asynccontextmanager
async def running(
    app: Application[Any, Any, Any, Any, Any, Any], *, poll_timeout: int = 10
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Initialise, start polling and yield; stop everything cleanly on exit."""
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(
            timeout=poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
            error_callback=polling_trouble,
        )
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
