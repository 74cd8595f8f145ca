"""Contract: the outbox (template messages and deferred Bot API calls)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.people import Role
from tests.contract.conftest import NOW


async def test_outbox_batches_and_retries(storage):
    team = await storage.ensure_team("A", now=NOW)
    u = await storage.add_user(
        telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id, now=NOW
    )
    for i in range(3):
        await storage.enqueue(u.id, "notify/invite_used", {"i": i}, now=NOW)
    await storage.enqueue(u.id, "x", {}, now=NOW, not_before=NOW + timedelta(days=1))
    due = await storage.due_outbox(NOW)
    assert [m.params["i"] for m in due] == [0, 1, 2]
    await storage.mark_sent([(due[0].id, 501), (due[1].id, 502)], now=NOW)
    await storage.mark_failed(due[2].id, "boom", now=NOW, retry_at=NOW + timedelta(minutes=1))
    assert await storage.due_outbox(NOW) == []
    assert [m.id for m in await storage.due_outbox(NOW + timedelta(minutes=1))] == [due[2].id]


async def test_queued_messages_for_switched_off_people_are_dropped(storage):
    team = await storage.ensure_team("A", now=NOW)
    u = await storage.add_user(
        telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id, now=NOW
    )
    await storage.enqueue(u.id, "notify/invite_used", {}, now=NOW)
    await storage.set_active(u.id, False, actor_id=None, now=NOW)
    assert await storage.due_outbox(NOW) == []
    await storage.set_active(u.id, True, actor_id=None, now=NOW)
    assert await storage.due_outbox(NOW) == []  # dropped, not delivered late


async def test_deferred_calls_come_back_in_order_per_chat(storage):
    team = await storage.ensure_team("A", now=NOW)
    u = await storage.add_user(telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id,
                               locale="zh_Hans", now=NOW)  # fmt: skip
    first = await storage.defer_call(7, "sendMessage", {"chat_id": 7, "text": "一"}, now=NOW,
                                     user_id=u.id)  # fmt: skip
    second = await storage.defer_call(7, "sendMessage", {"chat_id": 7, "text": "二"}, now=NOW)
    stranger = await storage.defer_call(555, "sendMessage", {"chat_id": 555, "text": "?"}, now=NOW)
    await storage.enqueue(u.id, "notify/invite_used", {"name": "李"}, now=NOW)
    assert await storage.deferred_chats() == {7, 555}
    due = await storage.due_outbox(NOW)
    assert [(m.kind, m.chat_id, m.telegram_id) for m in due] == [
        ("call", 7, 7), ("call", 7, 7), ("call", 555, 555), ("template", 7, 7),
    ]  # fmt: skip
    call, template = due[0], due[3]
    assert (call.id, call.method, call.payload) == (first, "sendMessage",
                                                    {"chat_id": 7, "text": "一"})  # fmt: skip
    assert (call.user_id, call.template, call.params) == (u.id, "", {})
    assert (template.user_id, template.locale, template.template, template.method,
            template.payload) == (u.id, "zh_Hans", "notify/invite_used", None, None)  # fmt: skip
    # The first call meets another 429: the second must wait behind it, the other chat not.
    retry = NOW + timedelta(seconds=130)
    await storage.mark_failed(first, "429", now=NOW, retry_at=retry)
    assert [m.id for m in await storage.due_outbox(NOW) if m.kind == "call"] == [stranger]
    await storage.mark_sent([(stranger, 901)], now=NOW)
    assert await storage.deferred_chats() == {7}
    later = await storage.due_outbox(retry)
    assert [m.id for m in later if m.kind == "call"] == [first, second]
    assert [m.attempts for m in later if m.kind == "call"] == [1, 0]
    await storage.mark_sent([(first, 902), (second, 903)], now=retry)
    assert await storage.deferred_chats() == set()
    await storage.mark_failed(template.id, "bad", now=retry, retry_at=None)
    assert await storage.due_outbox(retry + timedelta(days=1)) == []


async def test_a_later_call_is_not_sent_before_an_earlier_one_that_waits(storage):
    early = await storage.defer_call(9, "sendMessage", {"n": 1}, now=NOW)
    late = await storage.defer_call(9, "sendMessage", {"n": 2}, now=NOW)
    await storage.mark_failed(early, "429", now=NOW, retry_at=NOW + timedelta(minutes=5))
    await storage.mark_failed(late, "429", now=NOW, retry_at=NOW + timedelta(minutes=1))
    assert await storage.due_outbox(NOW + timedelta(minutes=2)) == []
    due = await storage.due_outbox(NOW + timedelta(minutes=5))
    assert [m.payload["n"] for m in due] == [1, 2]


async def test_calls_to_people_who_blocked_the_bot_are_dropped(storage):
    team = await storage.ensure_team("A", now=NOW)
    u = await storage.add_user(telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id,
                               now=NOW)  # fmt: skip
    await storage.defer_call(7, "sendMessage", {"text": "a"}, now=NOW)  # no user_id given
    await storage.defer_call(7, "editMessageText", {"text": "b"}, now=NOW, user_id=u.id)
    await storage.enqueue(u.id, "x", {}, now=NOW)
    await storage.defer_call(8, "sendMessage", {"text": "c"}, now=NOW)
    assert await storage.set_blocked(7, True, now=NOW)
    assert [m.chat_id for m in await storage.due_outbox(NOW)] == [8]
    assert await storage.deferred_chats() == {8}
    await storage.set_blocked(7, False, now=NOW)
    assert [m.chat_id for m in await storage.due_outbox(NOW)] == [8]  # dropped, not late
