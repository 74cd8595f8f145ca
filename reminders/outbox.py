"""Deliver queued messages (the outbox) to their recipients.

Rows are written in the same transaction as the change that causes them (someone joined with
your invite, later: a payment is due). This sender renders each in the recipient's language,
sends it through the same rate-limited path as replies, and records Telegram's message id.
Each send is recorded as soon as Telegram confirms it, so a crash between send and record can
repeat one message, never lose one.

The outbox also holds *deferred calls*: replies that could not be sent within their retries
(a long 429, an outage; see :mod:`bot.telegram_io`). They are sent here as they were made, in
order per chat: when one fails, the chat's later calls wait for the next tick.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram.error import BadRequest, Forbidden, TelegramError

from bot.telegram_io import ResilientRateLimiter, delivering

if TYPE_CHECKING:
    from bot.context import QingshouContext
    from bot.storage import OutboxMessage

log = logging.getLogger(__name__)

BATCH = 200
MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """Back off 30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(30 * 2**attempts, 3600))


async def deliver_due(context: QingshouContext) -> int:
    """Send every due outbox message; returns how many were sent."""
    # A failed send here is retried by the outbox itself, not deferred into it again.
    token = delivering.set(True)
    try:
        return await _deliver_due(context)
    finally:
        delivering.reset(token)


async def _deliver_due(context: QingshouContext) -> int:
    storage = context.storage
    now = context.clock.now()
    due = await storage.due_outbox(now, limit=BATCH)
    sent = 0
    held: set[int] = set()  # chats whose earlier deferred call failed in this tick
    for item in due:
        if item.kind == "call":
            if item.chat_id in held:
                continue
            if await _deliver_call(context, item):
                sent += 1
            else:
                held.add(item.chat_id)
            continue
        locale = item.locale or context.settings.default_locale
        try:
            text = context.renderer.render(locale, item.template, **item.params)
        except Exception:  # a bad row must not block the queue behind it
            log.exception("outbox %s cannot be rendered; dropped", item.id)
            await storage.mark_failed(item.id, "render failed", now=now, retry_at=None)
            continue
        try:
            message = await context.bot.send_message(item.telegram_id, text)
        except Forbidden as exc:
            await storage.set_blocked(item.telegram_id, True, now=now)
            await storage.mark_failed(item.id, str(exc), now=now, retry_at=None)
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                # They have not opened the bot's chat yet (a collector whose cases came before
                # their first /start): keep it; /start releases it, or it is tried again later.
                log.info("outbox %s waits for %s to open the chat", item.id, item.user_id)
                give_up = item.attempts + 1 >= MAX_ATTEMPTS
                retry_at = None if give_up else now + timedelta(hours=6)
                await storage.mark_failed(item.id, str(exc), now=now, retry_at=retry_at)
                continue
            log.error("outbox %s refused by Telegram: %s", item.id, exc)
            await storage.mark_failed(item.id, str(exc), now=now, retry_at=None)
        except TelegramError as exc:
            give_up = item.attempts + 1 >= MAX_ATTEMPTS
            retry_at = None if give_up else now + retry_delay(item.attempts)
            await storage.mark_failed(item.id, str(exc), now=now, retry_at=retry_at)
        else:
            await storage.mark_sent([(item.id, message.message_id)], now=now)
            sent += 1
    return sent


async def _deliver_call(context: QingshouContext, item: OutboxMessage) -> bool:
    """Make a deferred Bot API call; True when it went through (or can never go through)."""
    storage = context.storage
    now = context.clock.now()
    assert item.method is not None
    try:
        # Bot._post: the call exactly as it was made (its parameters are stored as JSON).
        result = await context.bot._post(item.method, dict(item.payload or {}))
    except Forbidden as exc:
        await storage.set_blocked(item.chat_id, True, now=now)
        await storage.mark_failed(item.id, str(exc), now=now, retry_at=None)
    except BadRequest as exc:
        # "message is not modified", a message too old to edit: it will never succeed.
        log.warning("deferred %s %s refused by Telegram: %s", item.method, item.id, exc)
        await storage.mark_failed(item.id, str(exc), now=now, retry_at=None)
    except TelegramError as exc:
        give_up = item.attempts + 1 >= MAX_ATTEMPTS * 4
        retry_at = None if give_up else now + timedelta(seconds=min(5 * 2**item.attempts, 300))
        await storage.mark_failed(item.id, str(exc), now=now, retry_at=retry_at)
        return False
    else:
        message_id = result.get("message_id", 0) if isinstance(result, dict) else 0
        await storage.mark_sent([(item.id, int(message_id))], now=now)
    limiter = context.bot.rate_limiter
    if isinstance(limiter, ResilientRateLimiter):
        limiter.deferred_chats = set(await storage.deferred_chats())
    return True
