"""Webhook delivery as Telegram does it: one POST per update with the secret header, one update
of a chat at a time, at most max_connections in flight, retries with back-off, getUpdates
refused meanwhile, and getWebhookInfo telling the last error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from tgemu import Emulator, EmulatorConfig

Answer = Callable[[dict[str, Any]], Awaitable[web.StreamResponse]]


class Receiver:
    """A webhook endpoint on loopback that records every POST and answers as told."""

    def __init__(self) -> None:
        self.posts: list[tuple[float, dict[str, Any], dict[str, str]]] = []
        self.answer: Answer = self._ok
        self.in_flight = 0
        self.most_in_flight = 0
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    @staticmethod
    async def _ok(update: dict[str, Any]) -> web.StreamResponse:
        return web.Response(text="ok")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        update = await request.json()
        self.posts.append((time.monotonic(), update, dict(request.headers)))
        self.arrived.set()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self.answer(update)
        finally:
            self.in_flight -= 1

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def texts(self) -> list[str]:
        return [u["message"]["text"] for _t, u, _h in self.posts if "message" in u]

    async def wait_for(self, count: int, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while len(self.posts) < count:
            assert time.monotonic() < deadline, f"only {len(self.posts)} of {count} POSTs came"
            await asyncio.sleep(0.01)


@pytest.fixture
def config() -> EmulatorConfig:
    # Quick retries and a short time-out, so that the tests wait tenths of seconds, not minutes.
    return EmulatorConfig(
        rate_limits=False, webhook_timeout=0.5, webhook_backoff=0.02, webhook_max_delay=60
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    try:
        yield hook
    finally:
        await hook.stop()


async def _pending(bot: Bot) -> int:
    return (await bot.get_webhook_info()).pending_update_count


async def test_each_update_is_posted_with_the_secret_and_forgotten_once_answered(
    emu: Emulator, bot: Bot, receiver: Receiver
) -> None:
    alice = emu.add_user("Alice")
    assert await bot.set_webhook(receiver.url, secret_token="s3cret-Token_1")
    emu.user_sends_text(alice.id, "hello")
    await receiver.wait_for(1)
    _at, update, headers = receiver.posts[0]
    assert update["message"]["text"] == "hello"
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret-Token_1"
    assert headers["Content-Type"].startswith("application/json")
    for _ in range(100):
        if await _pending(bot) == 0:
            break
        await asyncio.sleep(0.01)
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    assert info.pending_update_count == 0
    assert info.max_connections == 40
    assert info.last_error_date is None
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates(timeout=0)
    # The control API never shows the secret.
    state = emu.bots[next(iter(emu.bots))].webhook
    assert state["secret_token"] == "s3cret-Token_1"


async def test_a_non_2xx_answer_is_retried_with_backoff_and_reported(
    emu: Emulator, bot: Bot, receiver: Receiver
) -> None:
    alice = emu.add_user("Alice")
    failures = 3

    async def flaky(update: dict[str, Any]) -> web.StreamResponse:
        if len(receiver.posts) <= failures:
            return web.Response(status=500, text="down")
        return web.Response(text="ok")

    receiver.answer = flaky
    await bot.set_webhook(receiver.url)
    emu.user_sends_text(alice.id, "once")
    await receiver.wait_for(1)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None
    await receiver.wait_for(failures + 1)
    await asyncio.sleep(0.2)
    assert receiver.texts() == ["once"] * (failures + 1)  # the same update, nothing more
    assert await _pending(bot) == 0
    gaps = [b[0] - a[0] for a, b in zip(receiver.posts, receiver.posts[1:], strict=False)]
    # The first retry at once, then doubling delays (2, 4 seconds x 0.02 here).
    assert gaps[1] > gaps[0]
    assert gaps[2] > gaps[1] * 1.5


async def test_a_chat_gets_its_next_update_only_after_the_previous_was_answered(
    emu: Emulator, bot: Bot, receiver: Receiver
) -> None:
    alice, bob = emu.add_user("Alice"), emu.add_user("Bob")
    release = asyncio.Event()

    async def slow_for_alice(update: dict[str, Any]) -> web.StreamResponse:
        if update["message"]["chat"]["id"] == alice.id:
            await release.wait()
        return web.Response(text="ok")

    receiver.answer = slow_for_alice
    await bot.set_webhook(receiver.url)
    emu.user_sends_text(alice.id, "a1")
    emu.user_sends_text(alice.id, "a2")
    emu.user_sends_text(bob.id, "b1")
    await receiver.wait_for(2)
    await asyncio.sleep(0.2)
    # Bob's update went beside Alice's first; Alice's second waits for her first's answer.
    assert sorted(receiver.texts()) == ["a1", "b1"]
    release.set()
    await receiver.wait_for(3)
    assert receiver.texts()[-1] == "a2"


async def test_no_more_than_max_connections_in_flight(
    emu: Emulator, bot: Bot, receiver: Receiver
) -> None:
    people = [emu.add_user(f"P{i}") for i in range(8)]

    async def slow(update: dict[str, Any]) -> web.StreamResponse:
        await asyncio.sleep(0.1)
        return web.Response(text="ok")

    receiver.answer = slow
    await bot.set_webhook(receiver.url, max_connections=3)
    assert (await bot.get_webhook_info()).max_connections == 3
    for person in people:
        emu.user_sends_text(person.id, "hi")
    await receiver.wait_for(8)
    assert receiver.most_in_flight == 3


async def test_an_endpoint_that_does_not_answer_in_time_gets_the_update_again(
    emu: Emulator, bot: Bot, receiver: Receiver
) -> None:
    alice = emu.add_user("Alice")

    async def hangs_once(update: dict[str, Any]) -> web.StreamResponse:
        if len(receiver.posts) == 1:
            await asyncio.sleep(2)  # longer than webhook_timeout (0.5 s)
        return web.Response(text="ok")

    receiver.answer = hangs_once
    await bot.set_webhook(receiver.url)
    emu.user_sends_text(alice.id, "are you there")
    await receiver.wait_for(2, within=5)
    assert receiver.texts() == ["are you there"] * 2
    assert (await bot.get_webhook_info()).last_error_message == "Read timeout expired"


async def test_delete_webhook_stops_delivery_and_polling_takes_over(
    emu: Emulator, bot: Bot, receiver: Receiver
) -> None:
    alice = emu.add_user("Alice")

    async def refuses(update: dict[str, Any]) -> web.StreamResponse:
        return web.Response(status=503)

    receiver.answer = refuses
    await bot.set_webhook(receiver.url)
    emu.user_sends_text(alice.id, "kept")
    await receiver.wait_for(1)
    assert await bot.delete_webhook()
    posts = len(receiver.posts)
    await asyncio.sleep(0.2)
    assert len(receiver.posts) == posts  # no delivery once deleted
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["kept"]
    # drop_pending_updates forgets what waits.
    emu.user_sends_text(alice.id, "dropped")
    await bot.set_webhook("https://example.com/hook", drop_pending_updates=False)
    assert await _pending(bot) >= 1
    await bot.delete_webhook(drop_pending_updates=True)
    assert await _pending(bot) == 0


async def test_set_webhook_rules(emu: Emulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)an https url must be provided"):
        await bot.set_webhook("http://example.com/hook")
    with pytest.raises(BadRequest, match="max_connections"):
        await bot.set_webhook("https://example.com/hook", max_connections=101)
    with pytest.raises(BadRequest, match="unallowed characters"):
        await bot.set_webhook("https://example.com/hook", secret_token="no spaces")
    # A host beyond this machine is accepted but never called: updates wait.
    alice = emu.add_user("Alice")
    await bot.set_webhook("https://example.com/hook", allowed_updates=["message"])
    emu.user_sends_text(alice.id, "waits")
    await asyncio.sleep(0.1)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.allowed_updates == ("message",)
    assert emu.bot().allowed_updates == ["message"]
