"""The composition root: ``build_application(settings)`` wires everything once.

Storage is opened in ``post_init`` (it is async) unless the caller hands one in, e.g. a test that
wants to look at rows the bot wrote.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, cast

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

import handlers
import reminders
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings
from bot.context import BotData, QingshouContext
from bot.json_request import JsonHTTPXRequest
from bot.menu import set_default_menu
from bot.render import Renderer
from bot.replicas import register_replica
from bot.storage import Storage, open_storage
from bot.telegram_io import (
    InboxQueue,
    InboxRequest,
    PerChatUpdateProcessor,
    ResilientRateLimiter,
    replay_inbox,
)

log = logging.getLogger(__name__)

QingshouApp = Application[Any, QingshouContext, dict[Any, Any], dict[Any, Any], BotData, Any]

_redacted_tokens: set[str] = set()


def install_token_filter(token: str) -> None:
    """Redact ``token`` from every log record, made by any library for any handler.

    httpx logs request URLs, and python-telegram-bot puts the token in every URL. Wrapping the
    record factory catches records before any handler (ours, pytest's, an operator's) sees them.
    """
    if not token or token in _redacted_tokens:
        return
    _redacted_tokens.add(token)
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        message = record.getMessage()
        if token in message:
            record.msg, record.args = message.replace(token, "<token>"), None
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and token in str(exc):
            record.msg = (
                f"{record.msg} ({type(exc).__name__}; details withheld: they hold the token)"
            )
            record.exc_info, record.exc_text = None, None
        return record

    logging.setLogRecordFactory(factory)


def _factory(data: BotData) -> type[BotData]:
    # PTB makes bot_data by calling what it is given; ours is built beforehand from settings.
    return cast(type[BotData], lambda: data)


def rate_limiter_for(settings: Settings, **options: Any) -> ResilientRateLimiter:
    """The bot's rate limiter at the pace in ``settings``; ``options`` are the limiter's others
    (retries, back-off)."""
    return ResilientRateLimiter(
        overall_per_second=settings.overall_per_second,
        per_chat_per_second=settings.per_chat_per_second,
        per_chat_burst=settings.per_chat_burst,
        **options,
    )


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    storage: Storage | None = None,
    rate_limiter: ResilientRateLimiter | None = None,
) -> QingshouApp:
    """Build the bot: typed context, storage, handlers, error handler, clock jobs."""
    if not settings.token:
        raise ConfigError("QINGSHOU_BOT_TOKEN: needed to build the bot (the sandbox makes one)")

    install_token_filter(settings.token.reveal())
    bot_data = BotData(
        settings=settings,
        clock=clock or SystemClock(),
        renderer=Renderer(settings.tz),
        storage=storage,
        outbox_wake=reminders.outbox.wake,
    )
    timeout = settings.request_timeout
    limiter = rate_limiter or rate_limiter_for(settings)
    # The wire reaches storage through bot_data: it is opened later, in post_init.
    limiter.storage = lambda: bot_data.storage
    limiter.clock = bot_data.clock.now
    limiter.holder = settings.instance
    processor = PerChatUpdateProcessor(
        storage=lambda: bot_data.storage, clock=bot_data.clock.now, holder=settings.instance
    )
    inbox = InboxRequest(
        lambda: bot_data.storage,
        bot_data.clock.now,
        read_timeout=timeout,
        connect_timeout=timeout,
    )
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.token.reveal())
        .base_url(settings.api_url)
        .base_file_url(settings.file_url)
        .context_types(ContextTypes(context=QingshouContext, bot_data=_factory(bot_data)))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                tzinfo=settings.tz,
                # Invite links would unfurl into a t.me preview card; nothing we send needs one.
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .request(
            JsonHTTPXRequest(
                connection_pool_size=16,
                read_timeout=timeout,
                write_timeout=timeout,
                connect_timeout=timeout,
                pool_timeout=timeout,
            )
        )
        .get_updates_request(inbox)
        .update_queue(InboxQueue(inbox))
        .rate_limiter(limiter)
        .concurrent_updates(processor)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    app: QingshouApp = builder.build()
    inbox.bot = app.bot  # updates are parsed once, by the inbox, for this bot
    processor.app = app  # the updates it claims from the inbox run through the handlers
    handlers.register(app)
    reminders.schedule(app)
    return app


async def _post_init(app: QingshouApp) -> None:
    data = app.bot_data
    now = data.clock.now()
    if data.storage is None:
        data.storage = await open_storage(data.settings.database, now=now)
        data.extra["owns_storage"] = True
    await data.storage.ensure_admins(data.settings.admins, now=now)
    data.bot_username = app.bot.username
    await data.storage.set_meta("bot_username", app.bot.username)
    await set_default_menu(app.bot, data.renderer)
    # The inbox holds this bot's update ids: another bot's (the database moved from a test
    # bot to the real one) would be taken for updates seen before.
    dropped = await data.storage.bind_inbox(app.bot.id, now=now)
    if dropped:
        log.warning("this database held another bot's updates: %d deleted", dropped)
    # Several replicas may share the database: this one under its own name, taking back at
    # once whatever it held before a crash (chat leases, inbox, outbox and reminder claims).
    await register_replica(data.storage, data.settings)
    taken = await data.storage.take_back_leases(data.settings.instance, now=datetime.now(UTC))
    if any(taken.values()):
        log.warning("took back what this replica held before it stopped: %s", taken)
    limiter = app.bot.rate_limiter
    if isinstance(limiter, ResilientRateLimiter):
        await limiter.load_deferred()
        await data.storage.ensure_send_places(limiter.places)
    # What was received but not handled (a crash, here or on a replica that is gone): one cue
    # per chat, claimed with the chat's lease when its turn comes, in order per chat.
    replayed = await replay_inbox(app, data.storage, holder=data.settings.instance)
    if replayed:
        log.warning("%d chats have updates received but not handled: handling them", replayed)
    log.info("qingshou is up as @%s", app.bot.username)


async def _post_shutdown(app: QingshouApp) -> None:
    data = app.bot_data
    if data.storage is not None and data.extra.pop("owns_storage", False):
        await data.storage.close()
        data.storage = None
