"""Deliver queued messages (the outbox) to their recipients.

Rows are written in the same transaction as the change that causes them (someone joined with
your invite, later: a payment is due). This sender renders each in the recipient's language,
sends it through the same rate-limited path as replies, and records Telegram's message id.
Each send is recorded as soon as Telegram confirms it, so a crash between send and record can
repeat one message, never lose one.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram.error import BadRequest, Forbidden, TelegramError

if TYPE_CHECKING:
    from bot.context import QingshouContext

log = logging.getLogger(__name__)

BATCH = 200
MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """Back off 30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(30 * 2**attempts, 3600))


async def deliver_due(context: QingshouContext) -> int:
    """Send every due outbox message; returns how many were sent."""
    storage = context.storage
    now = context.clock.now()
    due = await storage.due_outbox(now, limit=BATCH)
    sent = 0
    for item in due:
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
