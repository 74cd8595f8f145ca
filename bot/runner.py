"""Run a built application inside an existing event loop (the sandbox, tests, benchmarks).

``Application.run_polling`` owns the loop and signals, which suits production; everything that
runs the bot beside something else (the emulator, a test) uses this instead, with the same
polling as production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.error import TelegramError
from telegram.ext import Application

from bot.webhook import WebhookServer

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
    """Initialise, start receiving updates and yield; stop everything cleanly on exit.

    Long polling, or, when the settings name a webhook URL, the webhook endpoint
    (:mod:`bot.webhook`) and ``setWebhook`` with its secret."""
    settings = getattr(app.bot_data, "settings", None)
    hook_url = getattr(settings, "webhook_url", None)
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        server = None
        if hook_url is not None:
            server = await start_webhook(app)
        else:
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
            if server is not None:
                await server.stop()
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


async def start_webhook(app: Application[Any, Any, Any, Any, Any, Any]) -> WebhookServer:
    """Serve the webhook endpoint, then tell Telegram where it is (with the secret). Every
    replica sets the same public URL (the load balancer's): setting it again changes nothing,
    and pending updates are kept. The webhook is never deleted at a stop: the other replicas
    still serve it, and Telegram keeps what it cannot deliver meanwhile."""
    data = app.bot_data
    settings = data.settings
    host, port = settings.webhook_listen
    server = WebhookServer(
        app,
        host=host,
        port=port,
        path=settings.webhook_path,
        secret=settings.webhook_secret.reveal(),
        storage=lambda: data.storage,
        clock=data.clock.now,
    )
    await server.start()
    await app.bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret.reveal(),
        allowed_updates=ALLOWED_UPDATES,
        max_connections=40,
        drop_pending_updates=False,
    )
    data.extra["webhook_server"] = server
    return server


async def serve(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Run until SIGINT or SIGTERM (production's webhook mode; polling uses PTB's own
    ``run_polling``)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with running(app):
        await stop.wait()
