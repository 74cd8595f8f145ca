"""Deliver queued messages (the outbox) to their recipients.

Rows are written in the same transaction as the change that causes them (someone joined with
your invite, a payment is due, the day's digest). Each tick *claims* the due rows under a lease
(so a second bot process never sends the same row, and a crash gives them back when the lease
runs out), highest priority first, and sends them concurrently across chats, each chat's rows
one after the other in id order. A row is rendered in the recipient's language at send time
and sent as text, or as a photo or document with the rendered text as caption, with the reply
markup it was queued with. Each send is recorded (Telegram's message id) as soon as Telegram
confirms it, so a crash repeats at most the sends in flight, never loses one.

The sends go through the rate limiter's outbox lane (:data:`bot.telegram_io.delivering` is set
here): under Telegram's 30 msg/s overall, and never ahead of a reply to a person.

Failures: a 429 is waited out by the limiter (a longer one: the row is tried again after it);
5xx and time-outs are retried by the limiter, then by the outbox with a growing delay, and
given up after :data:`MAX_ATTEMPTS`; nothing is tried forever. A 403 (the person blocked the
bot) or a chat that is still not found after the last attempt gives the row up for good: its
reminders are dead, the person is marked blocked (403), and their supervisor is told once a day.

The outbox also holds *deferred calls*: replies that could not be sent within their retries
(a long 429, an outage; see :mod:`bot.telegram_io`). They are sent here as they were made, in
order per chat: when one fails, the chat's later calls wait for the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.render import CAPTION_LIMIT, fit_message, visible_len
from bot.telegram_io import ResilientRateLimiter, delivering

if TYPE_CHECKING:
    from bot.context import QingshouContext
    from bot.storage import OutboxMessage

log = logging.getLogger(__name__)

#: Rows claimed per tick (a tick sends them all before the next claim).
BATCH = 200
#: Chats being sent to at once: enough to keep the outbox lane full while each chat waits for
#: its own pace (about one message a second), few enough that a crash repeats little.
CONCURRENCY = 48
#: How long claimed rows are this process's (a crash gives them back after it); renewed every
#: third of it while the batch is still being sent (a long flood wait, many rows to one chat).
LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """Back off 30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(30 * 2**attempts, 3600))


async def deliver_due(context: QingshouContext) -> int:
    """Send every due outbox message, a claimed batch at a time; returns how many were sent."""
    # A failed send here is retried by the outbox itself, not deferred into it again; and the
    # rate limiter puts these sends in the outbox lane. Tasks started below inherit it.
    token = delivering.set(True)
    try:
        return await _deliver_due(context)
    finally:
        delivering.reset(token)


class _Tick:
    """One claimed batch on its way: the context, the local date, what was sent."""

    def __init__(self, context: QingshouContext, today: date) -> None:
        self.context = context
        self.storage = context.storage
        self.today = today
        self.sent = 0
        self.calls = False  # a deferred call was made: the limiter's list is read again

    def now(self) -> datetime:
        return self.context.clock.now()


async def _deliver_due(context: QingshouContext) -> int:
    # A full batch means more may be waiting (a fan-out): claim the next at once rather than
    # leave the lane idle until the next tick.
    sent = 0
    while True:
        batch, claimed = await _deliver_batch(context)
        sent += batch
        if claimed < BATCH:
            return sent


async def _deliver_batch(context: QingshouContext) -> tuple[int, int]:
    """Claim and send one batch: (sent, claimed)."""
    now = context.clock.now()
    tick = _Tick(context, now.astimezone(context.settings.tz).date())
    due = await context.storage.claim_outbox(now, limit=BATCH, lease=LEASE, today=tick.today)
    if not due:
        return 0, 0
    # Chats in the order their first row was claimed (highest priority first); each chat's
    # rows in id order.
    chats: dict[int, list[OutboxMessage]] = {}
    for item in due:
        chats.setdefault(item.telegram_id, []).append(item)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one_chat(rows: list[OutboxMessage]) -> None:
        async with gate:
            await _deliver_chat(tick, sorted(rows, key=lambda r: r.id))

    keeper = asyncio.create_task(_keep_leases(context, [item.id for item in due]))
    try:
        results = await asyncio.gather(
            *(one_chat(rows) for rows in chats.values()), return_exceptions=True
        )
    finally:
        keeper.cancel()
    for result in results:
        if isinstance(result, BaseException):
            # A storage failure mid-tick: the rows not recorded stay leased and come back.
            log.error("outbox delivery to a chat failed", exc_info=result)
    if tick.calls:
        limiter = context.bot.rate_limiter
        if isinstance(limiter, ResilientRateLimiter):
            limiter.deferred_chats = set(await context.storage.deferred_chats())
    return tick.sent, len(due)


async def _keep_leases(context: QingshouContext, row_ids: list[int]) -> None:
    """Renew the batch's leases until it is done (the rows already sent are left alone)."""
    while True:
        await asyncio.sleep(LEASE.total_seconds() / 3)
        try:
            await context.storage.renew_outbox(row_ids, until=context.clock.now() + LEASE)
        except Exception:  # the sends go on; at worst another sender takes a row later
            log.exception("outbox leases not renewed")


async def _deliver_chat(tick: _Tick, rows: Sequence[OutboxMessage]) -> None:
    """One chat's rows, one after the other. When a deferred call fails, the chat's later
    calls are given back for the next tick (they must not overtake it)."""
    held = False
    for index, item in enumerate(rows):
        if item.kind == "call":
            if held:
                continue
            tick.calls = True
            if await _deliver_call(tick, item):
                tick.sent += 1
            else:
                held = True
                later = [r.id for r in rows[index + 1 :] if r.kind == "call"]
                await tick.storage.release_outbox(later)
            continue
        if await _deliver_message(tick, item):
            tick.sent += 1


def _prepare(tick: _Tick, item: OutboxMessage) -> tuple[str, InlineKeyboardMarkup | None]:
    context = tick.context
    locale = item.locale or context.settings.default_locale
    text = context.renderer.render(locale, item.template, **item.params)
    markup = None
    if item.markup is not None:
        markup = InlineKeyboardMarkup.de_json(item.markup, context.bot)
    if item.media != "text" and visible_len(text) > CAPTION_LIMIT:
        # The template should have been a *_caption one (fitted by the renderer): cut here
        # (tags kept whole) rather than have Telegram refuse the photo.
        log.warning("outbox %s: caption cut to %d characters", item.id, CAPTION_LIMIT)
        text = fit_message(text, limit=CAPTION_LIMIT)
    return text, markup


async def _send(
    tick: _Tick, item: OutboxMessage, text: str, markup: InlineKeyboardMarkup | None
) -> Message:
    bot = tick.context.bot
    chat = item.telegram_id
    if item.media == "photo":
        return await bot.send_photo(
            chat,
            photo=item.attachment or b"",
            caption=text or None,
            filename=item.filename,
            reply_markup=markup,
        )
    if item.media == "document":
        return await bot.send_document(
            chat,
            document=item.attachment or b"",
            caption=text or None,
            filename=item.filename,
            reply_markup=markup,
        )
    return await bot.send_message(chat, text, reply_markup=markup)


async def _deliver_message(tick: _Tick, item: OutboxMessage) -> bool:
    """Render and send one template row; record what came of it. True when sent."""
    storage = tick.storage
    try:
        text, markup = _prepare(tick, item)
    except Exception:  # a bad row must not block the queue behind it
        log.exception("outbox %s cannot be rendered; dropped", item.id)
        await storage.mark_failed(item.id, "render failed", now=tick.now(), retry_at=None)
        return False
    try:
        message = await _send(tick, item, text, markup)
    except Exception as exc:  # every failure is recorded, none escapes
        await _failed(tick, item, exc)
        return False
    await storage.mark_sent([(item.id, message.message_id)], now=tick.now())
    return True


async def _failed(tick: _Tick, item: OutboxMessage, exc: Exception) -> None:
    """Record a failed send: given up for good, or tried again later (never forever)."""
    storage = tick.storage
    now = tick.now()
    last = item.attempts + 1 >= MAX_ATTEMPTS
    if isinstance(exc, Forbidden):
        log.info("outbox %s: chat %s blocked the bot", item.id, item.telegram_id)
        await storage.give_up_unreachable(
            item.id, str(exc), now=now, today=tick.today, blocked=True
        )
    elif isinstance(exc, BadRequest) and "chat not found" in str(exc).lower():
        if last:
            log.warning("outbox %s: chat %s still not found; given up", item.id, item.telegram_id)
            await storage.give_up_unreachable(
                item.id, str(exc), now=now, today=tick.today, blocked=False
            )
        else:
            # They have not opened the bot's chat yet (a collector whose cases came before
            # their first /start): keep it; /start releases it, or it is tried again later.
            log.info("outbox %s waits for %s to open the chat", item.id, item.user_id)
            await storage.mark_failed(item.id, str(exc), now=now, retry_at=now + timedelta(hours=6))
    elif isinstance(exc, BadRequest):
        log.error("outbox %s refused by Telegram: %s", item.id, exc)
        await storage.mark_failed(item.id, str(exc), now=now, retry_at=None)
    else:
        # A 429 longer than the limiter waits, 5xx or time-outs past its retries, or a failure
        # on our side: later, with a growing delay, and not forever.
        retry_at = None if last else now + _later(exc, item.attempts)
        log.warning(
            "outbox %s not sent (%s); %s",
            item.id,
            exc,
            "given up" if retry_at is None else f"again at {retry_at:%H:%M:%S}",
        )
        await storage.mark_failed(
            item.id, str(exc) or type(exc).__name__, now=now, retry_at=retry_at
        )


def _later(exc: Exception, attempts: int) -> timedelta:
    if isinstance(exc, RetryAfter):
        wait: Any = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return max(timedelta(seconds=seconds + 1), timedelta(seconds=5))
    return retry_delay(attempts)


async def _deliver_call(tick: _Tick, item: OutboxMessage) -> bool:
    """Make a deferred Bot API call; True when it went through (or can never go through)."""
    storage = tick.storage
    context = tick.context
    assert item.method is not None
    try:
        # Bot._post: the call exactly as it was made (its parameters are stored as JSON).
        result = await context.bot._post(item.method, dict(item.payload or {}))
    except Forbidden as exc:
        await storage.give_up_unreachable(
            item.id, str(exc), now=tick.now(), today=tick.today, blocked=True
        )
    except BadRequest as exc:
        # "message is not modified", a message too old to edit: it will never succeed.
        log.warning("deferred %s %s refused by Telegram: %s", item.method, item.id, exc)
        await storage.mark_failed(item.id, str(exc), now=tick.now(), retry_at=None)
    except Exception as exc:  # 5xx, time-outs, a long 429, our side: later, not forever
        now = tick.now()
        give_up = item.attempts + 1 >= MAX_ATTEMPTS * 4
        retry_at = None if give_up else now + timedelta(seconds=min(5 * 2**item.attempts, 300))
        await storage.mark_failed(
            item.id, str(exc) or type(exc).__name__, now=now, retry_at=retry_at
        )
        return False
    else:
        message_id = result.get("message_id", 0) if isinstance(result, dict) else 0
        await storage.mark_sent([(item.id, int(message_id))], now=tick.now())
    return True
