"""Webhook delivery, the way Telegram's Bot API server does it (``WebhookActor`` in
tdlib/telegram-bot-api).

While a webhook is set, each pending update of the bot is POSTed to its URL as JSON, one update
per request, with the header ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set:

- **Per chat, one at a time, in order.** Updates are queued per chat (Telegram's ``queue_id``):
  the next update of a chat is sent only once the previous one was answered 2xx; updates of
  different chats go in parallel, at most ``max_connections`` requests in flight.
- **Answered 2xx: delivered**, forgotten (``pending_update_count`` goes down). Any other
  status, a connection refused or dropped, or no answer within ``webhook_timeout``: the update
  is tried again, the first time at once (or after the answer's ``Retry-After``), then after
  2, 4, 8... seconds up to ``webhook_max_delay`` (all scaled by ``webhook_backoff`` for
  tests), and dropped once older than Telegram's 24 hours. Its chat waits meanwhile.
- ``getWebhookInfo`` reports ``last_error_date`` / ``last_error_message`` in Telegram's words
  ("Wrong response from the webhook: 500 Internal Server Error").

Only this machine is reached: an URL whose host is not a loopback address is accepted (HTTPS,
as Telegram requires) but never called, so a test that sets ``https://example.com/hook`` does
not go out to the network. Plain HTTP is accepted for a loopback host, as Telegram's local Bot
API server (``--local``) accepts it, so a bot under test can listen without TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

if TYPE_CHECKING:
    from tgemu.state import JSON, BotState

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram keeps an update at most this long (then it is dropped, delivered or not).
UPDATE_LIFETIME = 24 * 3600.0


def queue_key(update: JSON) -> object:
    """The queue an update waits in: its chat (private chats: the person), else its own."""
    for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
        part = update.get(key)
        if isinstance(part, dict) and isinstance(part.get("chat"), dict):
            return part["chat"].get("id")
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return message["chat"].get("id")
        sender = query.get("from")
        if isinstance(sender, dict):
            return sender.get("id")
    return ("update", update.get("update_id"))


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (the only place the emulator delivers to)."""
    host = (urlsplit(url).hostname or "").lower()
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


@dataclass(slots=True)
class _Attempt:
    """Delivery state of one update: failures so far, next delay, when it may go again."""

    fails: int = 0
    delay: float = 1.0
    not_before: float = 0.0
    created: float = field(default_factory=time.monotonic)


class WebhookDelivery:
    """The delivery loop of one bot's webhook (started by setWebhook, stopped by
    deleteWebhook or a new setWebhook)."""

    def __init__(
        self,
        bot: BotState,
        *,
        url: str,
        secret: str | None,
        max_connections: int,
        timeout: float,
        backoff: float,
        max_delay: float,
    ) -> None:
        self.bot = bot
        self.url = url
        self.secret = secret
        self.max_connections = max_connections
        self.timeout = timeout
        self.backoff = backoff
        self.max_delay = max_delay
        self.in_flight: set[int] = set()
        self.attempts: dict[int, _Attempt] = {}
        #: Deliveries made (every POST, answered or not): tests and the bench read them.
        self.posts = 0
        self.most_in_flight = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopped = False
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        """Begin delivering (from a running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook")

    async def stop(self) -> None:
        """Stop at once; requests in flight are abandoned (their updates stay pending)."""
        self._stopped = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    def poke(self) -> None:
        """Look at the queue again (a new update came)."""
        self._wake.set()

    async def _run(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.max_connections, force_close=False)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout)
        )
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not self._stopped:
                self._wake.clear()
                wait = self._send_ready(tasks)
                if not is_loopback_url(self.url):
                    wait = None  # never leaves this machine: updates stay pending
                # Woken by a new update (BotState.push_update pokes), an answer, or a retry due.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _send_ready(self, tasks: set[asyncio.Task[None]]) -> float | None:
        """Start every update that may go now; seconds until the next retry is due."""
        if not is_loopback_url(self.url):
            return None
        now = time.monotonic()
        seen: set[object] = set()
        next_at: float | None = None
        for update_id, update in list(self.bot.updates):
            key = queue_key(update)
            if key in seen:
                continue  # a chat's later update waits for the earlier one
            seen.add(key)
            if update_id in self.in_flight:
                continue
            attempt = self.attempts.setdefault(update_id, _Attempt())
            if now - attempt.created > UPDATE_LIFETIME:
                self._forget(update_id)
                continue
            if attempt.not_before > now:
                next_at = min(next_at or attempt.not_before, attempt.not_before)
                continue
            if len(self.in_flight) >= self.max_connections:
                return 0.05 if next_at is None else min(0.05, next_at - now)
            self.in_flight.add(update_id)
            self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
            task = asyncio.get_running_loop().create_task(self._post(update_id, update))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return None if next_at is None else max(next_at - now, 0.0)

    async def _post(self, update_id: int, update: JSON) -> None:
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SECRET_HEADER] = self.secret
        error: str | None = None
        retry_after = 0.0
        self.posts += 1
        self.bot.webhook_posts += 1
        try:
            async with self._session.post(
                self.url, data=json.dumps(update, ensure_ascii=False).encode(), headers=headers
            ) as response:
                await response.read()
                if not 200 <= response.status <= 299:
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
                    with contextlib.suppress(ValueError):
                        retry_after = float(response.headers.get("Retry-After", "0"))
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientConnectorError:
            error = "Connection refused"
        except (aiohttp.ClientError, OSError) as exc:
            error = f"Webhook connection closed: {type(exc).__name__}"
        finally:
            self.in_flight.discard(update_id)
        if error is None:
            self._forget(update_id)
        else:
            self._failed(update_id, error, retry_after)
        self._wake.set()

    def _forget(self, update_id: int) -> None:
        self.attempts.pop(update_id, None)
        self.bot.updates = [(uid, upd) for uid, upd in self.bot.updates if uid != update_id]

    def _failed(self, update_id: int, error: str, retry_after: float) -> None:
        hook = self.bot.webhook
        hook["last_error_date"] = int(time.time())
        hook["last_error_message"] = error
        attempt = self.attempts.setdefault(update_id, _Attempt())
        # Telegram's rule: the first failure is tried again at once (or after Retry-After),
        # later ones after a doubling delay, capped.
        delay = min(retry_after, 3600.0)
        if retry_after == 0 and attempt.fails > 0:
            attempt.delay = min(attempt.delay * 2, self.max_delay)
            delay = attempt.delay
        attempt.fails += 1
        attempt.not_before = time.monotonic() + delay * self.backoff
        log.info("webhook: update %s not delivered (%s); again in %.2fs", update_id, error, delay)


def describe(bot: BotState) -> dict[str, Any]:
    """The webhook part of ``getWebhookInfo``."""
    hook = bot.webhook
    info: dict[str, Any] = {
        "url": hook["url"],
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if hook["url"]:
        info["max_connections"] = hook["max_connections"]
        if is_loopback_url(hook["url"]):
            info["ip_address"] = "127.0.0.1"
        if hook.get("allowed_updates"):
            info["allowed_updates"] = hook["allowed_updates"]
        for key in ("last_error_date", "last_error_message"):
            if hook.get(key) is not None:
                info[key] = hook[key]
    return info
