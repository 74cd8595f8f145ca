"""The outbox grown up, through the emulator over HTTP: photos and documents with captions and
buttons arrive and their message ids are kept; chats are sent to concurrently while each keeps
its order; a collector who blocked the bot has their reminders dead and their supervisor told
once; and a /help during a fan-out of hundreds of outbox rows is answered ahead of the fan-out.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram.ext import ExtBot

from bot.app import rate_limiter_for
from bot.domain.people import Role
from bot.storage import NewOutboxMessage
from bot.storage.testing import connect_file
from bot.telegram_io import ResilientRateLimiter
from tests.e2e.conftest import eventually
from tgemu import Person
from tgemu.media import tiny_png

MARKUP = {"inline_keyboard": [[{"text": "Open case", "callback_data": "x:1"}]]}


async def member(world, role: Role, name: str, *, locale: str = "en") -> tuple[Person, int]:
    """A registered member whose language is set (outbox rows render in it), who opened the
    bot's chat some time ago (so the bot may write to them)."""
    person = await world.stranger(name, locale)
    world.emulator.chat(world.emulator.bot(), person.id).started = True
    team = await world.storage.ensure_team("东城", now=world.clock.now())
    user = await world.storage.add_user(
        telegram_id=person.id,
        name=name,
        role=role,
        team_id=team.id,
        locale=locale,
        now=world.clock.now(),
    )
    return person, user.id


def joined(name: str) -> dict[str, Any]:
    return {"name": name, "team": "东城", "role": "collector"}


async def test_a_photo_and_a_document_arrive_with_caption_and_buttons_and_their_ids_are_kept(
    world, bot
):
    ann, ann_id = await member(world, Role.SUPERVISOR, "Ann")
    now = world.clock.now()
    photo = await world.storage.enqueue(
        NewOutboxMessage(
            ann_id,
            "notify/invite_used",
            joined("Li"),
            media="photo",
            attachment=tiny_png(40, 30),
            filename="chart.png",
            markup=MARKUP,
            priority=1,
        ),
        now=now,
    )
    doc = await world.storage.enqueue(
        NewOutboxMessage(
            ann_id,
            "notify/invite_used",
            joined("Wang"),
            media="document",
            attachment=b"a,b\n1,2\n",
            filename="cases.csv",
        ),
        now=now,
    )
    assert await world.tick() == 2
    first = await ann.expect_next("Li has joined team 东城 as a collector")
    assert first.photo
    assert first.caption is not None
    assert first.buttons == [[("Open case", "x:1")]]
    second = await ann.expect_next("Wang has joined")
    assert second.document is not None
    assert second.document["file_name"] == "cases.csv"
    stored = await world.storage.get_outbox(photo)
    assert stored is not None
    assert stored.message_id == first.message_id
    assert stored.sent_at is not None
    stored_doc = await world.storage.get_outbox(doc)
    assert stored_doc is not None
    assert stored_doc.message_id == second.message_id


@pytest.mark.real_pace
async def test_chats_are_sent_to_together_and_each_keeps_its_order(world, bot, monkeypatch):
    people = [await member(world, Role.COLLECTOR, f"C{i}") for i in range(5)]
    now = world.clock.now()
    for n in range(4):  # interleaved: row ids alternate between the chats
        for i, (_, user_id) in enumerate(people):
            await world.storage.enqueue(
                NewOutboxMessage(user_id, "notify/invite_used", joined(f"m{i}-{n}"), priority=2),
                now=now,
            )
    confirmed: list[tuple[int, str]] = []
    post = ExtBot._post

    async def recording(self: ExtBot, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        result = await post(self, endpoint, data, **kwargs)
        if endpoint == "sendMessage":  # the outbox sends text through Bot._post
            confirmed.append((int(data["chat_id"]), data["text"].split(" ")[0]))
        return result

    monkeypatch.setattr(ExtBot, "_post", recording)
    assert await world.tick() == 20
    for i, (person, _) in enumerate(people):
        for n in range(4):
            await person.expect_next(f"m{i}-{n} has joined")
    # Per chat in id order ...
    for person, _ in people:
        mine = [text for chat, text in confirmed if chat == person.id]
        assert mine == sorted(mine)
    # ... and not one chat after the other: every chat had its first message before the first
    # chat had its fourth (each chat is paced at about one message a second after a burst).
    firsts = {text for _, text in confirmed[: confirmed.index((people[0][0].id, "m0-3"))]}
    assert {f"m{i}-0" for i in range(5)} <= firsts


def _reminder_for(path, outbox_id: int) -> int:
    """A queued reminder row carrying ``outbox_id`` (its instalment left out: only the outbox's
    handling of it is tested here)."""
    with connect_file(path) as db:  # foreign keys are off on this connection
        cur = db.execute(
            "INSERT INTO reminders (instalment_id, kind, due_at, status, outbox_id, created_at) "
            "VALUES (?, 'due', '2026-11-30T01:00:00.000000+00:00', 'queued', ?, "
            "'2026-11-30T01:00:00.000000+00:00')",
            (900_000 + outbox_id, outbox_id),
        )
        return int(cur.lastrowid or 0)


def _reminder_status(path, reminder_id: int) -> str:
    with connect_file(path) as db:
        return str(
            db.execute("SELECT status FROM reminders WHERE id = ?", (reminder_id,)).fetchone()[0]
        )


async def test_a_collector_who_blocked_the_bot_has_reminders_dead_and_the_supervisor_told_once(
    world, bot, settings
):
    boss, _ = await member(world, Role.SUPERVISOR, "Boss")
    boss_zh, _ = await member(world, Role.SUPERVISOR, "老板", locale="zh_Hans")
    zhang, zhang_id = await member(world, Role.COLLECTOR, "张伟")
    await zhang.block()
    now = world.clock.now()
    first = await world.storage.enqueue(
        NewOutboxMessage(zhang_id, "notify/invite_used", joined("x"), markup=MARKUP, priority=2),
        now=now,
    )
    second = await world.storage.enqueue(
        NewOutboxMessage(zhang_id, "notify/invite_used", joined("y"), priority=2), now=now
    )
    reminders = [_reminder_for(settings.db_path, first), _reminder_for(settings.db_path, second)]
    # 403: both given up, and the two supervisors' notices go out in the same run.
    assert await world.tick() == 2
    assert [_reminder_status(settings.db_path, r) for r in reminders] == ["dead", "dead"]
    user = await world.storage.get_user(zhang_id)
    assert user is not None
    assert user.blocked_at is not None
    for row in (first, second):
        gone = await world.storage.get_outbox(row)
        assert gone is not None
        assert gone.dropped_at is not None
    told = await boss.expect_next("张伟 has blocked the bot")
    assert "Payment reminders not delivered: 1." in told.text
    await boss_zh.expect_next("张伟已屏蔽本机器人")
    # Later that day another reminder for him: dropped at once, dead, nobody told again.
    third = await world.storage.enqueue(
        NewOutboxMessage(zhang_id, "notify/invite_used", joined("z"), priority=2), now=now
    )
    late = _reminder_for(settings.db_path, third)
    assert await world.tick() == 0
    assert _reminder_status(settings.db_path, late) == "dead"
    await world.assert_silent(boss, boss_zh)


@pytest.fixture
def rate_limiter(settings) -> ResilientRateLimiter:
    return rate_limiter_for(settings, backoff=0.2)


@pytest.mark.real_pace
async def test_help_during_a_fan_out_is_answered_ahead_of_it(world, bot, client, rate_limiter):
    alice = await world.member(Role.COLLECTOR, "Alice")
    collectors = [await member(world, Role.COLLECTOR, f"K{i}") for i in range(100)]
    now = world.clock.now()
    for n in range(2):
        for i, (_, user_id) in enumerate(collectors):
            await world.storage.enqueue(
                NewOutboxMessage(user_id, "notify/invite_used", joined(f"k{i}-{n}"), priority=2),
                now=now,
            )
    # How many outbox sends go out while the reply waits for its turn in the rate limiter.
    overtaken: list[int] = []
    take_slot = rate_limiter._interactive_slot

    async def watched() -> list[float]:
        before = rate_limiter.sent["bulk"]
        place = await take_slot()
        overtaken.append(rate_limiter.sent["bulk"] - before)
        return place

    rate_limiter._interactive_slot = watched  # type: ignore[method-assign]
    fan_out = asyncio.create_task(world.tick())
    await eventually(lambda: rate_limiter.sent["bulk"] >= 30, timeout=20)
    await alice.send("/help")
    await alice.expect("/cases", timeout=20)
    assert not fan_out.done()  # the answer came while the fan-out was still going
    # It took the next free slot: at most the one outbox send already waiting for it went
    # first, not the fan-out's queue (the old single lane put it behind ~50 waiting sends).
    assert overtaken == [overtaken[0]]
    assert overtaken[0] <= 1
    assert await fan_out == 200
    for person, _ in collectors:
        await person.ignore_unread()
