"""The bot's side of the wire: throttling and retries around every Bot API call.

Telegram answers floods with 429 and ``retry_after``, has 5xx hiccups, and sometimes does not
answer in time. python-telegram-bot raises on all three; this rate limiter (which PTB routes
every call except ``getUpdates`` through) keeps under the limits before sending and retries
after a failure, so a reply is delayed, not lost. What retrying cannot fix is raised: 400 (our
bug: it would fail again) and 403 (the user blocked the bot; the error handler records it).

Delivery is at least once: when Telegram performed a send but its answer was lost (a read
time-out), the retry shows the message twice. A lost reply is worse for a collector than a
repeated one, so time-outs are retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
_SENDING_PREFIXES = ("send", "edit", "copy", "forward")


class ResilientRateLimiter(BaseRateLimiter[int]):
    """Throttle sends (per chat, then overall) and retry 429, 5xx and time-outs.

    ``rate_limit_args`` (an int) overrides the number of retries for one call. A 429 pauses
    every send until its ``retry_after`` has passed (Telegram counts the whole bot), and a
    ``retry_after`` longer than ``max_retry_after`` is raised instead of waited out.
    """

    def __init__(
        self,
        *,
        overall_per_second: float = 25.0,
        per_chat_per_second: float = 1.0,
        per_chat_burst: int = 3,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 120.0,
    ) -> None:
        # One slot every 1/rate seconds: a bucket of N would let 2N through in the first second.
        self._overall = AsyncLimiter(1, 1.0 / overall_per_second)
        self._per_chat_rate = per_chat_per_second
        self._per_chat_burst = per_chat_burst
        self._chats: dict[Any, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._max_retry_after = max_retry_after
        self._paused_until = 0.0
        #: Retries made since start, by cause; read by tests and the bench.
        self.retries: dict[str, int] = {"429": 0, "network": 0, "timeout": 0}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    def _chat_limiter(self, chat_id: Any) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if len(self._chats) > 10_000:
                # Forget chats whose bucket is full again: they would start fresh anyway.
                self._chats = {
                    k: v for k, v in self._chats.items() if not v.has_capacity(self._per_chat_burst)
                }
            # 10 % under Telegram's pace: clocks differ and a request is counted on arrival.
            period = self._per_chat_burst / (self._per_chat_rate * 0.9)
            limiter = AsyncLimiter(self._per_chat_burst, period)
            self._chats[chat_id] = limiter
        return limiter

    async def _wait_turn(self, chat_id: Any) -> None:
        # The chat's own pace first, so that one busy chat queues behind itself, not in front
        # of everyone; the overall slot is taken last, just before the call.
        if chat_id is not None:
            await self._chat_limiter(chat_id).acquire()
        # A 429 may extend the pause while we sleep, so look again after each sleep.
        while (pause := self._paused_until - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(pause)
        await self._overall.acquire()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        max_retries = self._max_retries if rate_limit_args is None else rate_limit_args
        sending = endpoint.startswith(_SENDING_PREFIXES)
        chat_id = data.get("chat_id")
        delay = self._backoff
        for attempt in range(max_retries + 1):
            if sending:
                await self._wait_turn(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                if attempt == max_retries or seconds > self._max_retry_after:
                    raise
                self.retries["429"] += 1
                log.warning("%s: flood control, all sends wait %.1fs", endpoint, seconds)
                self._paused_until = max(self._paused_until, time.monotonic() + seconds + 0.05)
                await asyncio.sleep(seconds + 0.05)
            except BadRequest:
                raise
            except (TimedOut, NetworkError) as exc:
                if attempt == max_retries:
                    raise
                self.retries["timeout" if isinstance(exc, TimedOut) else "network"] += 1
                log.warning("%s: %s, retry %d in %.1fs", endpoint, exc, attempt + 1, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover


class _ChatQueue:
    """One chat's turn-taking: the lock, and how many updates hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run in parallel; one chat's updates run in arrival order.

    A collector who double-taps a button or sends two messages quickly must see them handled
    one after the other (the second sees what the first wrote), while a slow import for one
    supervisor never holds up anyone else.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, _ChatQueue] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        entry = self._chats.get(chat.id)
        if entry is None:
            entry = self._chats[chat.id] = _ChatQueue()
        entry.users += 1
        try:
            async with entry.lock:
                await coroutine
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._chats[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
