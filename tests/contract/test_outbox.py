"""Contract: the outbox (template messages and deferred Bot API calls)."""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain.people import Role
from bot.storage import NewOutboxMessage, open_storage
from tests.contract.conftest import NOW, team_and_collector


async def test_outbox_batches_and_retries(storage):
    team = await storage.ensure_team("A", now=NOW)
    u = await storage.add_user(
        telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id, now=NOW
    )
    for i in range(3):
        await storage.enqueue(NewOutboxMessage(u.id, "notify/invite_used", {"i": i}), now=NOW)
    await storage.enqueue(
        NewOutboxMessage(u.id, "x", {}, not_before=NOW + timedelta(days=1)), now=NOW
    )
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
    await storage.enqueue(NewOutboxMessage(u.id, "notify/invite_used", {}), now=NOW)
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
    await storage.enqueue(NewOutboxMessage(u.id, "notify/invite_used", {"name": "李"}), now=NOW)
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
    await storage.enqueue(NewOutboxMessage(u.id, "x", {}), now=NOW)
    await storage.defer_call(8, "sendMessage", {"text": "c"}, now=NOW)
    assert await storage.set_blocked(7, True, now=NOW)
    assert [m.chat_id for m in await storage.due_outbox(NOW)] == [8]
    assert await storage.deferred_chats() == {8}
    await storage.set_blocked(7, False, now=NOW)
    assert [m.chat_id for m in await storage.due_outbox(NOW)] == [8]  # dropped, not late


# -- the outbox grows up (issue 10) ------------------------------------------------------------


async def test_enqueue_returns_the_row_id_and_get_outbox_reads_it_back(storage):
    _, u = await team_and_collector(storage)
    first = await storage.enqueue(
        NewOutboxMessage(u.id, "notify/invite_used", {"name": "李"}), now=NOW
    )
    second = await storage.enqueue(
        NewOutboxMessage(u.id, "notify/invite_used", {"name": "王"}), now=NOW
    )
    assert isinstance(first, int)
    assert second > first
    row = await storage.get_outbox(first)
    assert row is not None
    assert (row.id, row.user_id, row.chat_id, row.template, row.params) == (
        first, u.id, 7, "notify/invite_used", {"name": "李"},
    )  # fmt: skip
    assert (row.media, row.markup, row.attachment, row.priority) == ("text", None, None, 1)
    assert (row.message_id, row.sent_at, row.dropped_at) == (None, None, None)
    await storage.mark_sent([(first, 4242)], now=NOW)
    await storage.mark_failed(second, "refused", now=NOW, retry_at=None)
    sent, dropped = await storage.get_outbox(first), await storage.get_outbox(second)
    assert sent is not None
    assert (sent.message_id, sent.sent_at) == (4242, NOW)
    assert dropped is not None
    assert dropped.dropped_at == NOW
    assert dropped.last_error == "refused"
    assert await storage.get_outbox(second + 100) is None


async def test_a_dedupe_key_makes_the_second_enqueue_a_no_op(storage):
    _, u = await team_and_collector(storage)
    first = await storage.enqueue(
        NewOutboxMessage(u.id, "a", {"n": 1}, dedupe_key="once:1"), now=NOW
    )
    again = await storage.enqueue(
        NewOutboxMessage(u.id, "b", {"n": 2}, dedupe_key="once:1", priority=0), now=NOW
    )
    other = await storage.enqueue(
        NewOutboxMessage(u.id, "a", {"n": 3}, dedupe_key="once:2"), now=NOW
    )
    assert again == first
    assert other != first
    due = await storage.due_outbox(NOW)
    assert [(m.template, m.params, m.dedupe_key) for m in due] == [
        ("a", {"n": 1}, "once:1"), ("a", {"n": 3}, "once:2"),
    ]  # fmt: skip
    # Still a no-op once the first was sent: "once" means once.
    await storage.mark_sent([(first, 1)], now=NOW)
    assert (
        await storage.enqueue(NewOutboxMessage(u.id, "a", {}, dedupe_key="once:1"), now=NOW)
        == first
    )
    assert [m.id for m in await storage.due_outbox(NOW)] == [other]


async def test_media_markup_group_and_chat_are_kept(storage):
    _, u = await team_and_collector(storage)
    markup = {"inline_keyboard": [[{"text": "已还清", "callback_data": "ri:1:paid"}]]}
    photo = await storage.enqueue(
        NewOutboxMessage(
            u.id,
            "digest/chart",
            {"d": "2026-11-30"},
            media="photo",
            attachment=b"\x89PNG...",
            filename="chart.png",
            markup=markup,
            group_key="digest:1",
            priority=2,
        ),
        now=NOW,
    )
    doc = await storage.enqueue(
        NewOutboxMessage(
            None,
            "export/file",
            {},
            chat_id=555,
            media="document",
            attachment=b"a,b\n1,2\n",
            filename="cases.csv",
            group_key="digest:1",
        ),
        now=NOW,
    )
    p, d = await storage.get_outbox(photo), await storage.get_outbox(doc)
    assert p is not None
    assert d is not None
    assert (p.media, p.attachment, p.filename, p.markup, p.group_key, p.priority) == (
        "photo", b"\x89PNG...", "chart.png", markup, "digest:1", 2,
    )  # fmt: skip
    assert (d.media, d.attachment, d.filename, d.user_id, d.chat_id, d.markup) == (
        "document", b"a,b\n1,2\n", "cases.csv", None, 555, None,
    )  # fmt: skip
    claimed = await storage.claim_outbox(NOW)
    assert [(m.id, m.media) for m in claimed] == [(doc, "document"), (photo, "photo")]
    assert claimed[1].markup == markup
    assert claimed[1].locale is None


async def test_the_claim_takes_higher_priority_first(storage):
    _, u = await team_and_collector(storage)
    _, v = await team_and_collector(storage, telegram_id=8)
    bulk = [
        await storage.enqueue(NewOutboxMessage(u.id, "b", {}, priority=2), now=NOW)
        for _ in range(3)
    ]
    note = await storage.enqueue(
        NewOutboxMessage(v.id, "n", {}, priority=1), now=NOW + timedelta(seconds=1)
    )
    reply = await storage.enqueue(
        NewOutboxMessage(v.id, "r", {}, priority=0), now=NOW + timedelta(seconds=2)
    )
    later = NOW + timedelta(seconds=5)
    assert [m.id for m in await storage.claim_outbox(later, limit=2)] == [reply, note]
    assert [m.id for m in await storage.claim_outbox(later, limit=10)] == bulk


async def test_a_claimed_row_is_nobody_elses_until_its_lease_ends(storage):
    _, u = await team_and_collector(storage)
    _, v = await team_and_collector(storage, telegram_id=8)
    a = await storage.enqueue(NewOutboxMessage(u.id, "a", {}), now=NOW)
    await storage.enqueue(NewOutboxMessage(u.id, "a2", {}), now=NOW)
    b = await storage.enqueue(NewOutboxMessage(v.id, "b", {}), now=NOW)
    lease = timedelta(minutes=5)
    first = await storage.claim_outbox(NOW, limit=1, lease=lease)
    assert [m.id for m in first] == [a]
    # u's second row waits behind the leased first one (its chat's order); v's is free.
    assert [m.id for m in await storage.claim_outbox(NOW, lease=lease)] == [b]
    assert await storage.claim_outbox(NOW + timedelta(minutes=4), lease=lease) == []
    assert await storage.due_outbox(NOW) == []  # the look leaves leased rows out too
    # The sender crashed: the lease runs out, and the rows are taken again, in order.
    again = await storage.claim_outbox(NOW + lease, lease=lease)
    assert [m.template for m in again] == ["a", "a2", "b"]


async def test_a_sent_or_retried_row_leaves_its_lease(storage):
    _, u = await team_and_collector(storage)
    a = await storage.enqueue(NewOutboxMessage(u.id, "a", {}), now=NOW)
    b = await storage.enqueue(NewOutboxMessage(u.id, "b", {}), now=NOW)
    assert [m.id for m in await storage.claim_outbox(NOW)] == [a, b]
    await storage.mark_sent([(a, 10)], now=NOW)
    await storage.mark_failed(b, "502", now=NOW, retry_at=NOW + timedelta(seconds=30))
    assert await storage.claim_outbox(NOW + timedelta(seconds=29)) == []
    [retry] = await storage.claim_outbox(NOW + timedelta(seconds=30))
    assert (retry.id, retry.attempts) == (b, 1)


async def test_two_storages_on_one_file_never_claim_the_same_row(backend):
    import asyncio

    one = await open_storage(backend("shared"), now=NOW)
    two = await open_storage(backend("shared"), now=NOW)
    try:
        team = await one.ensure_team("A", now=NOW)
        for chat in range(40):
            user = await one.add_user(telegram_id=1000 + chat, name=f"c{chat}",
                                      role=Role.COLLECTOR, team_id=team.id, now=NOW)  # fmt: skip
            for n in range(5):
                await one.enqueue(NewOutboxMessage(user.id, "x", {"n": n}), now=NOW)

        async def drain(s) -> list[int]:
            got: list[int] = []
            while batch := await s.claim_outbox(NOW, limit=7):
                got += [m.id for m in batch]
                await asyncio.sleep(0)
                await s.mark_sent([(m.id, m.id) for m in batch], now=NOW)
            return got

        a, b = await asyncio.gather(drain(one), drain(two))
        assert not set(a) & set(b)
        assert len(a) + len(b) == 200
    finally:
        await one.close()
        await two.close()


async def test_an_unreachable_chat_is_given_up_and_the_supervisor_told_once_a_day(storage):
    team, u = await team_and_collector(storage)
    boss = await storage.add_user(telegram_id=70, name="boss", role=Role.SUPERVISOR,
                                  team_id=team.id, locale="zh_Hans", now=NOW)  # fmt: skip
    rows = [
        await storage.enqueue(NewOutboxMessage(u.id, "r", {"n": n}, priority=2), now=NOW)
        for n in range(3)
    ]
    claimed = await storage.claim_outbox(NOW, limit=1)
    assert [m.id for m in claimed] == rows[:1]
    today = date(2026, 11, 30)
    await storage.give_up_unreachable(rows[0], "Forbidden: bot was blocked by the user",
                                      now=NOW, today=today, blocked=True)  # fmt: skip
    gone = await storage.get_outbox(rows[0])
    assert gone is not None
    assert gone.dropped_at == NOW
    assert gone.sent_at is None
    assert (await storage.get_user(u.id)).blocked_at == NOW  # type: ignore[union-attr]
    # The collector's other rows are dropped at the next claim; the supervisor is told once.
    due = await storage.claim_outbox(NOW + timedelta(seconds=1), today=today)
    assert [(m.user_id, m.template, m.params["reason"]) for m in due] == [
        (boss.id, "notify/collector_unreachable", "blocked"),
    ]  # fmt: skip
    assert due[0].params["name"] == "c7"
    assert due[0].locale == "zh_Hans"
    await storage.mark_sent([(due[0].id, 99)], now=NOW)
    await storage.give_up_unreachable(rows[1], "Forbidden", now=NOW, today=today, blocked=True)
    assert await storage.claim_outbox(NOW + timedelta(minutes=10), today=today) == []
    # Next local day, a new failure tells them again.
    late = await storage.enqueue(NewOutboxMessage(u.id, "r", {}), now=NOW)
    tomorrow = today + timedelta(days=1)
    await storage.give_up_unreachable(late, "Forbidden", now=NOW, today=tomorrow, blocked=True)
    told = await storage.claim_outbox(NOW + timedelta(minutes=10))
    assert [m.user_id for m in told] == [boss.id]


async def test_a_chat_not_found_for_good_tells_the_supervisor_without_blocking(storage):
    team, u = await team_and_collector(storage)
    boss = await storage.add_user(telegram_id=70, name="boss", role=Role.SUPERVISOR,
                                  team_id=team.id, now=NOW)  # fmt: skip
    row = await storage.enqueue(NewOutboxMessage(u.id, "r", {}), now=NOW)
    await storage.give_up_unreachable(row, "Bad Request: chat not found", now=NOW,
                                      today=date(2026, 11, 30), blocked=False)  # fmt: skip
    assert (await storage.get_user(u.id)).blocked_at is None  # type: ignore[union-attr]
    [told] = await storage.due_outbox(NOW)
    assert (told.user_id, told.params["reason"]) == (boss.id, "not_found")


async def test_a_claim_cut_short_never_takes_a_chats_later_call_without_the_earlier(storage):
    early = await storage.defer_call(9, "sendMessage", {"n": 1}, now=NOW)
    late = await storage.defer_call(9, "sendMessage", {"n": 2}, now=NOW)
    await storage.mark_failed(early, "429", now=NOW, retry_at=NOW + timedelta(minutes=5))
    await storage.mark_failed(late, "429", now=NOW, retry_at=NOW + timedelta(minutes=1))
    assert await storage.claim_outbox(NOW + timedelta(minutes=2)) == []
    at = NOW + timedelta(minutes=5)
    assert [m.id for m in await storage.claim_outbox(at, limit=1)] == [early]
    assert await storage.claim_outbox(at, limit=1) == []  # behind the leased one
