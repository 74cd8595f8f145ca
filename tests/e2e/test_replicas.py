"""Several replicas on one database, seen from one bot: what a replica held before a crash
is its again at once when it restarts (same QINGSHOU_INSTANCE); what another live replica
holds waits for that replica; the send window is shared."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError
from bot.domain.people import Role
from bot.replicas import register_replica
from bot.storage import InboxUpdate, NewOutboxMessage
from bot.telegram_io import ResilientRateLimiter, delivering

NOTICE = {"name": "Wang", "role": "collector", "team": "东城"}


@pytest.fixture
def settings(settings):
    return replace(settings, instance="replica-a")


@pytest.fixture
async def held_before(world, storage, settings):
    """Before the bot starts: two notices, one leased by this replica (killed), one by
    another replica that is still alive."""
    mine = await world.member(Role.COLLECTOR, "Mine")
    theirs = await world.member(Role.COLLECTOR, "Theirs")
    now = world.clock.now()
    for person in (mine, theirs):
        # They opened the bot's chat long ago (no update left of it).
        world.emulator.chat(world.emulator.bot(), person.id).started = True
        user = world.members[person.id]
        await storage.enqueue(NewOutboxMessage(user.id, "notify/invite_used", NOTICE), now=now)
    lease = timedelta(minutes=5)
    [first] = await storage.claim_outbox(now, limit=1, lease=lease, holder="replica-a")
    [second] = await storage.claim_outbox(now, limit=1, lease=lease, holder="replica-b")
    return {first.telegram_id: "mine", second.telegram_id: "theirs"}, mine, theirs


async def test_a_restarted_replica_sends_what_it_held_at_once_and_leaves_the_others(
    world, held_before, bot
):
    held, mine, theirs = held_before
    assert sorted(held.values()) == ["mine", "theirs"]
    # Restarted (the bot fixture started it): its own lease is gone, the other's is not.
    assert await world.tick() == 1
    owner = {v: k for k, v in held.items()}
    person = mine if owner["mine"] == mine.id else theirs
    other = theirs if person is mine else mine
    await person.expect("Wang已通过您的邀请加入“东城”，身份为清收人员。")
    await other.assert_no_unread()
    await other.ignore_unread()


async def test_a_second_live_process_under_the_same_name_is_refused(storage, settings):
    await storage.beat_replica(
        settings.instance,
        host="another-host",
        pid=1,
        now=datetime.now(UTC),
        until=datetime.now(UTC) + timedelta(seconds=15),
    )
    with pytest.raises(ConfigError, match="QINGSHOU_INSTANCE: another process"):
        await register_replica(storage, settings)
    # A name of its own is fine; so is the same name once the other is gone.
    await register_replica(storage, replace(settings, instance="replica-c"))
    await storage.prune_replica_state(
        now=datetime.now(UTC), before=datetime.now(UTC) + timedelta(minutes=1)
    )
    await register_replica(storage, settings)


async def test_two_replicas_share_one_send_window(storage):
    """Two limiters (two replicas) on one database, 5 places: never more than 5 sends in any
    second, though each alone would allow 5."""
    starts: list[float] = []

    async def send() -> dict[str, int]:
        starts.append(time.monotonic())
        await asyncio.sleep(0.01)
        return {"message_id": 1}

    limiters = []
    for name in ("a", "b"):
        limiter = ResilientRateLimiter(
            overall_per_second=5, per_chat_per_second=1000, per_chat_burst=1000
        )
        limiter.storage = lambda: storage
        limiter.holder = name
        limiters.append(limiter)
    await storage.ensure_send_places(5)

    async def burst(limiter: ResilientRateLimiter, chat: int) -> None:
        token = delivering.set(False)
        try:
            for _ in range(6):
                await limiter.process_request(
                    send, (), {}, "sendMessage", {"chat_id": chat, "text": "x"}, None
                )
        finally:
            delivering.reset(token)

    await asyncio.gather(burst(limiters[0], 1), burst(limiters[1], 2))
    assert len(starts) == 12
    starts.sort()
    most = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert most <= 5
    assert starts[-1] - starts[0] > 1.0  # the second half waited for places


async def test_stored_updates_of_a_dead_replica_are_swept_up(world, bot, storage, settings):
    zhao = await world.member(Role.COLLECTOR, "Zhao")
    world.emulator.chat(world.emulator.bot(), zhao.id).started = True
    # Another replica stored Zhao's message, took his chat, and died: its lease runs out.
    raw = (
        '{"update_id": 990001, "message": {"message_id": 50, "date": 1796000000, '
        f'"chat": {{"id": {zhao.id}, "type": "private", "first_name": "Zhao"}}, '
        f'"from": {{"id": {zhao.id}, "is_bot": false, "first_name": "Zhao", '
        '"language_code": "en"}, "text": "/whoami", '
        '"entities": [{"type": "bot_command", "offset": 0, "length": 7}]}}'
    )
    now = datetime.now(UTC)
    await storage.store_updates([InboxUpdate(990001, zhao.id, raw)], now=world.clock.now())
    assert await storage.claim_chat(zhao.id, holder="dead", now=now - timedelta(minutes=1),
                                    lease=timedelta(seconds=15)) is not None  # fmt: skip
    from reminders import SWEEP_JOB

    (job,) = bot.job_queue.get_jobs_by_name(SWEEP_JOB)
    context = bot.context_types.context.from_job(job, bot)
    assert await job.callback(context) == 1
    await zhao.expect("Role: collector")
    await world.settle()
    assert (await storage.inbox_counts())["pending"] == 0
