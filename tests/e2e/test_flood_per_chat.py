"""Flood control is per chat: a 429 on a send to one chat holds that chat only (every replica
learns it through the database); the overall budget is a separate limit. A getUpdates that
fails (500) is polled again with a warning, never an ERROR traceback."""

from __future__ import annotations

import asyncio
import logging
import time

from bot.domain.people import Role


async def test_a_429_for_one_chat_holds_that_chat_and_no_one_else(
    world, bot, client, rate_limiter, storage, caplog
):
    caplog.set_level(logging.WARNING)
    zhao = await world.member(Role.COLLECTOR, "Zhao")
    qian = await world.member(Role.COLLECTOR, "Qian")
    await client.inject_fault(kind="429", count=1, method="sendMessage", retry_after=3)
    await zhao.send("/whoami")
    # The 429 came for Zhao's reply: his chat waits three seconds...
    for _ in range(100):
        if [c for c in await client.calls(method="sendMessage") if c["status"] == 429]:
            break
        await asyncio.sleep(0.02)
    started = time.monotonic()
    await qian.send("/whoami")
    await qian.expect(contains="Role: collector", timeout=2)
    qian_waited = time.monotonic() - started
    await zhao.expect(contains="Role: collector", timeout=8)
    zhao_waited = time.monotonic() - started
    # ... while Qian, another chat, was answered at once.
    assert qian_waited < 1.5 < zhao_waited
    assert rate_limiter.retries["429"] == 1
    said = [r.getMessage() for r in caplog.records if r.name == "bot.telegram_io"]
    assert any(f"flood control for chat {zhao.id}" in line for line in said), said
    assert not any("all sends wait" in line for line in said)


async def test_a_long_flood_wait_for_one_chat_defers_it_and_others_go_on(
    world, bot, client, rate_limiter, storage
):
    zhao = await world.member(Role.COLLECTOR, "Zhao")
    qian = await world.member(Role.COLLECTOR, "Qian")
    # Longer than the limiter waits (120 s): Zhao's reply goes to the outbox.
    await client.inject_fault(kind="429", count=1, method="sendMessage", retry_after=130)
    await zhao.send("/whoami")
    await world.settle()
    assert rate_limiter.deferred == 1
    started = time.monotonic()
    await qian.send("/whoami")
    await qian.expect(contains="Role: collector", timeout=3)
    assert time.monotonic() - started < 2
    # Every replica knows Zhao's chat is held: the outbox does not try it before its time.
    assert await world.tick() == 0
    calls = [c["status"] for c in await client.calls(method="sendMessage")]
    assert calls.count(429) == 1


async def test_get_updates_failing_is_a_warning_not_a_traceback(world, bot, client, caplog):
    caplog.set_level(logging.INFO)
    collector = await world.member(Role.COLLECTOR, "Zhao")
    await client.inject_fault(kind="5xx", count=3, method="getUpdates", status=500)
    await collector.send("/whoami")
    await collector.expect(contains="Role: collector", timeout=15)
    warned = [r for r in caplog.records if "did not answer getUpdates" in r.getMessage()]
    assert warned
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in warned)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
