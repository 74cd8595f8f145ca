"""The bot against a misbehaving Telegram: floods, 5xx, time-outs, blocked users, its own bugs."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.people import Role
from tests.e2e.conftest import TOKEN


async def statuses(client, method="sendMessage"):
    return [c["status"] for c in await client.calls(method=method)]


async def test_flood_control_429_is_waited_out_and_the_reply_arrives(
    world, bot, client, rate_limiter
):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    await client.inject_fault(kind="429", count=1, method="sendMessage", retry_after=1)
    await collector.send("/whoami")
    reply = await collector.expect(contains="Role: collector", timeout=8)
    assert reply.text.count("Role: collector") == 1
    assert await statuses(client) == [429, 200]
    assert rate_limiter.retries["429"] == 1


async def test_server_errors_are_retried(world, bot, client, rate_limiter):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    await client.inject_fault(kind="5xx", count=2, method="sendMessage", status=502)
    await collector.send("/whoami")
    await collector.expect(contains="Role: collector", timeout=8)
    assert await statuses(client) == [502, 502, 200]
    assert rate_limiter.retries["network"] == 2


async def test_a_timed_out_call_is_retried_and_nothing_is_duplicated(
    world, bot, client, rate_limiter
):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    # The emulator holds the request longer than the bot waits (1.5 s), then drops it.
    await client.inject_fault(kind="timeout", count=1, method="sendMessage", delay=2.5)
    await collector.send("/whoami")
    await collector.expect(contains="Role: collector", timeout=10)
    assert rate_limiter.retries["timeout"] == 1
    messages = [m for m in await collector.messages() if "Role: collector" in m.text]
    assert len(messages) == 1


async def test_polling_survives_get_updates_failures(world, bot, client):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    await client.inject_fault(kind="5xx", count=2, method="getUpdates", status=500)
    await collector.send("/whoami")
    await collector.expect(contains="Role: collector", timeout=10)
    assert 500 in await statuses(client, "getUpdates")


@pytest.mark.real_pace
async def test_bursts_to_one_chat_are_paced_not_refused(world, bot, client):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    for _ in range(6):
        await collector.send("/whoami")
    for _ in range(6):
        await collector.expect_next("Role: collector", timeout=10)
    # The bot kept under Telegram's per-chat pace itself: the emulator never had to say 429.
    assert 429 not in await statuses(client)


async def test_a_user_who_blocked_the_bot_is_recorded_once_without_a_retry_loop(
    world, bot, client, storage
):
    supervisor = await world.member(Role.SUPERVISOR, "Li")
    await supervisor.send("/whoami")  # they have talked to the bot before...
    await supervisor.expect(contains="Role: supervisor")
    await supervisor.block()  # ...and then blocked it
    invite = await storage.create_invite(
        role=Role.COLLECTOR,
        team_id=world.members[supervisor.id].team_id,
        created_by=world.members[supervisor.id].id,
        now=world.clock.now(),
    )
    newcomer = await world.stranger("Zhang")
    await newcomer.send(f"/start {invite.code}")
    await newcomer.expect(contains="Welcome")
    # The outbox tries to tell the supervisor, gets 403, records it, and stops trying.
    assert await world.tick() == 0
    assert (await storage.get_user_by_telegram_id(supervisor.id)).blocked_at is not None
    await world.tick()  # two more outbox ticks
    await world.tick()
    assert (await statuses(client)).count(403) == 1
    latest = await storage.audit_log(entity="user", limit=1)
    assert latest[0].action == "blocked"

    # Writing to the bot again means they unblocked it.
    await supervisor.block(False)
    await supervisor.send("/whoami")
    await supervisor.expect(contains="Role: supervisor")
    assert (await storage.get_user_by_telegram_id(supervisor.id)).blocked_at is None


async def test_a_reply_to_a_user_who_blocked_mid_conversation_is_not_retried(
    world, bot, client, storage, emulator
):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    # Flood control holds the reply for a second; meanwhile the person blocks the bot.
    await client.inject_fault(kind="429", count=1, method="sendMessage", retry_after=1)
    await collector.send("/whoami")
    for _ in range(50):
        if await statuses(client):
            break
        await asyncio.sleep(0.05)
    emulator.set_blocked(collector.id, True)
    for _ in range(50):
        if (await storage.get_user_by_telegram_id(collector.id)).blocked_at is not None:
            break
        await asyncio.sleep(0.1)
    assert (await storage.get_user_by_telegram_id(collector.id)).blocked_at is not None
    await asyncio.sleep(1.5)
    assert await statuses(client) == [429, 403]


async def test_a_bug_gets_a_plain_apology_and_leaks_nothing(
    world, bot, storage, monkeypatch, caplog
):
    supervisor = await world.member(Role.SUPERVISOR, "Li", lang="zh_Hant")

    async def broken(**kwargs):
        raise RuntimeError(f"database exploded near token {TOKEN}")

    monkeypatch.setattr(storage, "list_users", broken)
    await supervisor.send("/users")
    apology = await supervisor.expect(contains="抱歉")
    assert "請稍後再試" in apology.text
    assert TOKEN not in apology.text
    assert "Traceback" not in apology.text
    assert "RuntimeError" not in apology.text
    # Logged, but the token is never written to the log, whoever logs it.
    assert any("details withheld" in r.getMessage() for r in caplog.records)
    assert TOKEN not in caplog.text
    # The bot carries on.
    monkeypatch.undo()
    await supervisor.send("/whoami")
    await supervisor.expect(contains="角色：主管")
    await world.assert_silent(supervisor)
