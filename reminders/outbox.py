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
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.render import CAPTION_LIMIT, fit_message, visible_len
from bot.telegram_io import ResilientRateLimiter, delivering

if TYPE_CHECKING:
    from bot.context import QingshouContext
    from bot.storage import OutboxMessage

log = logging.getLogger(__name__)

#: Rows claimed at a time. A run claims again whenever fewer than :data:`LOW_WATER` claimed
#: rows wait for their turn, so the lane never idles between claims during a fan-out. Small
#: claims: reading a claim's rows (a reminder's params and 80 buttons each) runs on the event
#: loop, and 200 at once held a reply up for a few tens of milliseconds.
BATCH = 100
LOW_WATER = 50
#: While sends are still on their way, the run looks again for rows queued meanwhile (the
#: reminder poller queues a fan-out a step at a time) at least this often, in seconds.
LOOK_AGAIN = 0.5
#: Chats being sent to at once: enough to keep the outbox lane full while each chat waits for
#: its own pace (about one message a second), few enough that a crash repeats little.
CONCURRENCY = 48
#: How long claimed rows are this process's (a crash gives them back after it); renewed every
#: third of it while they are still being sent (a long flood wait, many rows to one chat).
LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """Back off 30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(30 * 2**attempts, 3600))


class _Turn:
    """One run of the outbox at a time in this process; a wake during a run makes it look
    again once it is done. (Order is not what it guards: the claim never gives a chat's later
    row to one sender while another holds an earlier one, across processes too. It keeps
    wakes from piling runs on the clock's, and a tick's count its own.)"""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.again = False


def _turn(context: QingshouContext) -> _Turn:
    turn = context.bot_data.extra.get("outbox_turn")
    if not isinstance(turn, _Turn):
        turn = context.bot_data.extra["outbox_turn"] = _Turn()
    return turn


async def deliver_due(context: QingshouContext) -> int:
    """Send every due outbox message, a claimed batch at a time; returns how many were sent.

    Runs one at a time: a second caller (the clock's tick while a woken run is on its way)
    waits for the first, then runs."""
    turn = _turn(context)
    sent = 0
    async with turn.lock:
        # A failed send here is retried by the outbox itself, not deferred into it again; and
        # the rate limiter puts these sends in the outbox lane. Tasks started below inherit it.
        token = delivering.set(True)
        try:
            turn.again = True
            while turn.again:
                turn.again = False
                sent += await _deliver_due(context)
        finally:
            delivering.reset(token)
    return sent


def wake(context: QingshouContext) -> None:
    """Deliver now what was just written for someone who is waiting (an approval request, the
    supervisor's answer), instead of at the clock's next tick. The row is already in the
    database: a wake lost to a crash only means it goes out at the next tick after start-up."""
    turn = _turn(context)
    if turn.lock.locked():
        turn.again = True  # the run on its way looks once more before it ends
        return
    if not context.application.running:
        return  # shutting down: a task now would not be awaited; the row waits for start-up
    context.application.create_task(deliver_due(context), name="outbox-wake")


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
    """One run: claim, send, claim again before the claimed rows run out, until nothing is
    due and nothing is on its way (a fan-out goes out in one run, with no gap between
    claims)."""
    run = _Run(context)
    try:
        return await run.go()
    finally:
        await run.stop()


class _Run:
    """Claimed rows waiting per chat (claim order, each chat's in id order), at most
    :data:`CONCURRENCY` chats being sent to, and the leases of what is not done yet."""

    def __init__(self, context: QingshouContext) -> None:
        self.context = context
        now = context.clock.now()
        self.tick = _Tick(context, now.astimezone(context.settings.tz).date())
        self.waiting: dict[int, list[OutboxMessage]] = {}  # chat -> claimed, not started
        self.backlog = 0  # rows in self.waiting
        self.workers: dict[int, asyncio.Task[None]] = {}  # chat -> its sender
        self.leased: set[int] = set()  # claimed row ids not done yet
        self.keeper: asyncio.Task[None] | None = None

    async def go(self) -> int:
        loop = asyncio.get_running_loop()
        more, looked, look = True, loop.time(), True
        while True:
            fresh = False
            if self.backlog < LOW_WATER and (look or more or loop.time() - looked >= LOOK_AGAIN):
                got = await self.claim()
                more, looked, fresh = got == BATCH, loop.time(), True
            look = False
            self.start_workers()
            if not self.workers:
                if fresh and not more:
                    break  # nothing on its way, and nothing more was due just now
                look = True  # rows may have been queued meanwhile: look once more
                continue
            await asyncio.wait(
                self.workers.values(), timeout=LOOK_AGAIN, return_when=asyncio.FIRST_COMPLETED
            )
        if self.tick.calls:
            limiter = self.context.bot.rate_limiter
            if isinstance(limiter, ResilientRateLimiter):
                limiter.deferred_chats = set(await self.context.storage.deferred_chats())
        return self.tick.sent

    async def claim(self) -> int:
        now = self.context.clock.now()
        due = await self.context.storage.claim_outbox(
            now,
            limit=BATCH,
            lease=LEASE,
            today=self.tick.today,
            holder=self.context.settings.instance,
        )
        for item in due:  # highest priority first: chats in the order of their first row
            self.waiting.setdefault(item.telegram_id, []).append(item)
            self.leased.add(item.id)
        self.backlog += len(due)
        if due and self.keeper is None:
            self.keeper = asyncio.create_task(self.keep_leases())
        return len(due)

    def start_workers(self) -> None:
        for chat in list(self.waiting):
            if len(self.workers) >= CONCURRENCY:
                return
            if chat not in self.workers:
                self.workers[chat] = asyncio.create_task(self.one_chat(chat))

    async def one_chat(self, chat: int) -> None:
        try:
            while rows := self.waiting.pop(chat, None):
                self.backlog -= len(rows)
                try:
                    await _deliver_chat(self.tick, sorted(rows, key=lambda r: r.id))
                except Exception:
                    # A storage failure mid-run: the rows not recorded stay leased (no longer
                    # renewed) and come back when the lease runs out.
                    log.exception("outbox delivery to chat %s failed", chat)
                finally:
                    self.leased.difference_update(r.id for r in rows)
        finally:
            del self.workers[chat]

    async def keep_leases(self) -> None:
        """Renew the leases of the rows not done yet until the run is over."""
        while True:
            await asyncio.sleep(LEASE.total_seconds() / 3)
            try:
                until = self.context.clock.now() + LEASE
                await self.context.storage.renew_outbox(sorted(self.leased), until=until)
            except Exception:  # the sends go on; at worst another sender takes a row later
                log.exception("outbox leases not renewed")

    async def stop(self) -> None:
        tasks = [*self.workers.values(), *([self.keeper] if self.keeper else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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


class StoredMarkup(InlineKeyboardMarkup):
    """A queued row's keyboard, sent as it was stored (``InlineKeyboardMarkup.to_dict()``'s
    shape, labels final). A reminder's 80 buttons built as telegram objects and turned back
    into a dict for the request cost a few milliseconds of the event loop per message, part of
    it while the send held its place in the rate limiter's window."""

    __slots__ = ("stored",)

    def __init__(self, stored: dict[str, Any]) -> None:
        super().__init__(())
        with self._unfrozen():
            self.stored = stored

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        return dict(self.stored)


def _prepare(tick: _Tick, item: OutboxMessage) -> tuple[str, InlineKeyboardMarkup | None]:
    context = tick.context
    locale = item.locale or context.settings.default_locale
    text = context.renderer.render(locale, item.template, **item.params)
    markup = None
    if item.markup is not None:
        markup = StoredMarkup(item.markup)
    if item.media != "text" and visible_len(text) > CAPTION_LIMIT:
        # The template should have been a *_caption one (fitted by the renderer): cut here
        # (tags kept whole) rather than have Telegram refuse the photo.
        log.warning("outbox %s: caption cut to %d characters", item.id, CAPTION_LIMIT)
        text = fit_message(text, limit=CAPTION_LIMIT)
    return text, markup


async def _send(
    tick: _Tick, item: OutboxMessage, text: str, markup: InlineKeyboardMarkup | None
) -> int:
    """Send the row; Telegram's message id."""
    bot = tick.context.bot
    chat = item.telegram_id
    if item.media == "text":
        # Bot._post as send_message makes the call (the bot's defaults: parse mode, no link
        # preview), without reading Telegram's answer back into a Message: for a reminder
        # that meant 80 buttons as telegram objects again, and only the id is kept.
        data = {
            "chat_id": chat,
            "text": text,
            "reply_markup": markup,
            "parse_mode": DEFAULT_NONE,
            "link_preview_options": DEFAULT_NONE,
        }
        result = await bot._post("sendMessage", data)
        return int(result["message_id"]) if isinstance(result, dict) else 0
    message: Message
    if item.media == "photo":
        message = await bot.send_photo(
            chat,
            photo=item.attachment or b"",
            caption=text or None,
            filename=item.filename,
            reply_markup=markup,
        )
    else:
        message = await bot.send_document(
            chat,
            document=item.attachment or b"",
            caption=text or None,
            filename=item.filename,
            reply_markup=markup,
        )
    return message.message_id


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
        message_id = await _send(tick, item, text, markup)
    except Exception as exc:  # every failure is recorded, none escapes
        await _failed(tick, item, exc)
        return False
    await storage.mark_sent([(item.id, message_id)], now=tick.now())
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
        if "chat not found" in str(exc).lower():
            # Someone who has not opened the bot's chat yet (a supervisor asked for an
            # approval before their first /start): kept for them, as a message row is.
            await _failed(tick, item, exc)
            return False
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
