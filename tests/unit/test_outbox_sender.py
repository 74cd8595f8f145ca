"""The outbox sender's decisions, against a real database and a scripted Telegram: what is retried
and when, what is given up (never looped), captions, held deferred calls, the bounded concurrency
with one send at a time per chat; and the rate limiter's two lanes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot import telegram_io
from bot.app import build_application
from bot.clock import ManualClock
from bot.config import Secret, Settings
from bot.domain.people import Role
from bot.render import Renderer, visible_len
from bot.storage import NewOutboxMessage, SqliteStorage
from bot.telegram_io import ResilientRateLimiter, delivering
from reminders import outbox

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
JOINED = {"name": "Li", "team": "A", "role": "collector"}


class FakeBot:
    """Telegram as a script: ``fail(chat_id, attempt)`` returns an exception to raise or None."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, dict[str, Any]]] = []
        self.fail: Callable[[int, int], Exception | None] = lambda chat, n: None
        self.tries: dict[int, int] = {}
        self.in_flight: dict[int, int] = {}
        self.most_at_once = 0
        self.rate_limiter = None
        self.delay = 0.0

    async def _send(self, kind: str, chat: int, **kwargs: Any) -> Any:
        chat_id = chat
        n = self.tries[chat_id] = self.tries.get(chat_id, 0) + 1
        assert not self.in_flight.get(chat_id), "two sends to one chat at once"
        self.in_flight[chat_id] = 1
        self.most_at_once = max(self.most_at_once, sum(self.in_flight.values()))
        try:
            await asyncio.sleep(self.delay)
            error = self.fail(chat_id, n)
            if error is not None:
                raise error
            self.sent.append((kind, chat_id, kwargs))
            return SimpleNamespace(message_id=1000 + len(self.sent))
        finally:
            self.in_flight[chat_id] = 0

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Any:
        return await self._send("text", chat_id, text=text, **kwargs)

    async def send_photo(self, chat_id: int, **kwargs: Any) -> Any:
        return await self._send("photo", chat_id, **kwargs)

    async def send_document(self, chat_id: int, **kwargs: Any) -> Any:
        return await self._send("document", chat_id, **kwargs)

    async def _post(self, method: str, payload: dict[str, Any]) -> Any:
        chat = int(payload["chat_id"])
        message = await self._send(
            method, chat, **{k: v for k, v in payload.items() if k != "chat_id"}
        )
        return {"message_id": message.message_id}


@pytest.fixture
async def storage(tmp_path) -> AsyncIterator[SqliteStorage]:
    s = await SqliteStorage.open(tmp_path / "o.db", now=NOW)
    yield s
    await s.close()


@pytest.fixture
def context(storage) -> SimpleNamespace:
    return SimpleNamespace(
        storage=storage,
        clock=ManualClock(NOW, frozen=True),
        settings=SimpleNamespace(tz=TZ, default_locale="en", instance="test"),
        renderer=Renderer(TZ),
        bot=FakeBot(),
        bot_data=SimpleNamespace(extra={}),
    )


async def people(storage: SqliteStorage, n: int) -> list[int]:
    team = await storage.ensure_team("A", now=NOW)
    users = [
        await storage.add_user(
            telegram_id=100 + i,
            name=f"c{i}",
            role=Role.COLLECTOR,
            team_id=team.id,
            locale="en",
            now=NOW,
        )
        for i in range(n)
    ]
    return [u.id for u in users]


async def test_5xx_is_retried_later_with_growing_delays_and_given_up_in_the_end(context):
    [uid] = await people(context.storage, 1)
    row = await context.storage.enqueue(
        NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW
    )
    context.bot.fail = lambda chat, n: NetworkError("Bad Gateway")
    waits = []
    for _ in range(outbox.MAX_ATTEMPTS + 3):
        before = context.clock.now()
        assert await outbox.deliver_due(context) == 0
        item = await context.storage.get_outbox(row)
        assert item is not None
        if item.dropped_at is not None:
            break
        waits.append(item.not_before - before)
        context.clock.set(item.not_before)
    assert context.bot.tries[100] == outbox.MAX_ATTEMPTS  # not one more: nothing loops
    assert waits == [outbox.retry_delay(n) for n in range(outbox.MAX_ATTEMPTS - 1)]
    assert waits == sorted(waits)


async def test_a_long_flood_wait_is_honoured_by_the_row(context):
    [uid] = await people(context.storage, 1)
    row = await context.storage.enqueue(
        NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW
    )
    context.bot.fail = lambda chat, n: RetryAfter(600) if n == 1 else None
    assert await outbox.deliver_due(context) == 0
    item = await context.storage.get_outbox(row)
    assert item is not None
    assert item.not_before == NOW + timedelta(seconds=601)
    context.clock.set(item.not_before)
    assert await outbox.deliver_due(context) == 1


async def test_a_chat_never_opened_waits_then_its_supervisor_is_told(context):
    [uid] = await people(context.storage, 1)
    team = await context.storage.ensure_team("A", now=NOW)
    boss = await context.storage.add_user(
        telegram_id=9, name="boss", role=Role.SUPERVISOR, team_id=team.id, now=NOW
    )
    row = await context.storage.enqueue(
        NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW
    )
    context.bot.fail = lambda chat, n: BadRequest("Chat not found") if chat == 100 else None
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        assert await outbox.deliver_due(context) == 0
        item = await context.storage.get_outbox(row)
        assert item is not None
        assert item.dropped_at is None
        assert item.not_before == context.clock.now() + timedelta(hours=6)
        context.clock.advance(timedelta(hours=6))
    # The last attempt: given up, and the supervisor's notice it queued goes out in the same
    # run (the run looks again before it ends).
    assert await outbox.deliver_due(context) == 1
    item = await context.storage.get_outbox(row)
    assert item is not None
    assert item.dropped_at is not None
    assert await outbox.deliver_due(context) == 0
    [(_, chat, sent)] = context.bot.sent
    assert chat == 9
    assert "cannot reach c0" in sent["text"]
    assert (await context.storage.get_user(uid)).blocked_at is None  # type: ignore[union-attr]
    assert boss.id


async def test_a_403_is_given_up_at_once(context):
    [uid] = await people(context.storage, 1)
    row = await context.storage.enqueue(
        NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW
    )
    context.bot.fail = lambda chat, n: Forbidden("Forbidden: bot was blocked by the user")
    assert await outbox.deliver_due(context) == 0
    item = await context.storage.get_outbox(row)
    assert item is not None
    assert item.dropped_at is not None
    assert context.bot.tries == {100: 1}
    assert (await context.storage.get_user(uid)).blocked_at == NOW  # type: ignore[union-attr]


async def test_a_caption_is_cut_to_telegrams_limit_and_markup_goes_along(context, monkeypatch):
    [uid] = await people(context.storage, 1)
    monkeypatch.setattr(context.renderer, "render", lambda locale, name, **kw: "<b>字</b>" * 2000)
    markup = {"inline_keyboard": [[{"text": "Open", "callback_data": "x:1"}]]}
    await context.storage.enqueue(
        NewOutboxMessage(
            uid, "any", {}, media="photo", attachment=b"png", filename="c.png", markup=markup
        ),
        now=NOW,
    )
    assert await outbox.deliver_due(context) == 1
    [(kind, _, sent)] = context.bot.sent
    assert kind == "photo"
    assert visible_len(sent["caption"]) <= outbox.CAPTION_LIMIT
    assert sent["caption"].startswith("<b>字</b><b>字</b>")
    assert sent["caption"].endswith("…")
    assert sent["caption"].count("<b>") == sent["caption"].count("</b>")  # tags kept whole
    assert (sent["photo"], sent["filename"]) == (b"png", "c.png")
    assert sent["reply_markup"].to_dict() == markup


async def test_a_row_that_cannot_be_rendered_is_dropped_and_the_rest_go(context):
    [uid] = await people(context.storage, 1)
    bad = await context.storage.enqueue(NewOutboxMessage(uid, "no/such_template", {}), now=NOW)
    await context.storage.enqueue(NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW)
    assert await outbox.deliver_due(context) == 1
    item = await context.storage.get_outbox(bad)
    assert item is not None
    assert item.dropped_at is not None


async def test_a_failed_deferred_call_holds_its_chats_later_calls_for_the_next_tick(context):
    storage = context.storage
    first = await storage.defer_call(7, "sendMessage", {"chat_id": 7, "text": "1"}, now=NOW)
    second = await storage.defer_call(7, "sendMessage", {"chat_id": 7, "text": "2"}, now=NOW)
    context.bot.fail = lambda chat, n: NetworkError("down") if n == 1 else None
    assert await outbox.deliver_due(context) == 0
    assert context.bot.tries == {7: 1}
    item = await storage.get_outbox(first)
    assert item is not None
    context.clock.set(item.not_before)
    # The second call was given back, not left leased: both go, in order, at the next tick.
    assert await outbox.deliver_due(context) == 2
    assert [s[2]["text"] for s in context.bot.sent] == ["1", "2"]
    done = await storage.get_outbox(second)
    assert done is not None
    assert done.message_id == 1002


async def test_chats_are_sent_to_concurrently_within_a_bound_one_send_per_chat_at_a_time(
    context, monkeypatch
):
    monkeypatch.setattr(outbox, "CONCURRENCY", 5)
    ids = await people(context.storage, 12)
    for n in range(3):
        for uid in ids:
            await context.storage.enqueue(
                NewOutboxMessage(uid, "notify/invite_used", {**JOINED, "name": f"n{n}"}), now=NOW
            )
    context.bot.delay = 0.01
    assert await outbox.deliver_due(context) == 36
    assert context.bot.most_at_once == 5
    for chat in range(100, 112):
        mine = [s[2]["text"].split()[0] for s in context.bot.sent if s[1] == chat]
        assert mine == ["n0", "n1", "n2"]


async def test_the_delivering_mark_is_set_while_sending_and_reset_after(context):
    [uid] = await people(context.storage, 1)
    await context.storage.enqueue(NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW)
    seen = []
    context.bot.fail = lambda chat, n: seen.append(delivering.get())
    await outbox.deliver_due(context)
    assert seen == [True]
    assert delivering.get() is False


# -- the rate limiter's lanes ------------------------------------------------------------------


async def _send_through(
    limiter: ResilientRateLimiter, log: list[tuple[str, float]], lane: str, chat: int
) -> None:
    async def call() -> dict[str, Any]:
        log.append((lane, time.monotonic()))
        return {"message_id": 1}

    token = delivering.set(lane == "bulk")
    try:
        await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": chat}, None)
    finally:
        delivering.reset(token)


async def test_a_reply_takes_the_next_slot_ahead_of_every_waiting_outbox_send():
    limiter = ResilientRateLimiter(overall_per_second=100, bulk_per_second=90)
    log: list[tuple[str, float]] = []
    bulk = [asyncio.create_task(_send_through(limiter, log, "bulk", 1000 + i)) for i in range(60)]
    while len(log) < 10:  # noqa: ASYNC110 - the outbox lane is busy
        await asyncio.sleep(0.005)
    asked = len(log)
    await _send_through(limiter, log, "interactive", 7)
    answered = [lane for lane, _ in log].index("interactive")
    assert answered - asked <= 2  # one slot, not behind the 50 outbox sends still waiting
    await asyncio.gather(*bulk)
    assert limiter.sent == {"interactive": 1, "bulk": 60}


async def test_the_bulk_lane_keeps_its_own_pace_under_the_overall_one():
    limiter = ResilientRateLimiter(overall_per_second=200, bulk_per_second=50)
    log: list[tuple[str, float]] = []
    start = time.monotonic()
    await asyncio.gather(*(_send_through(limiter, log, "bulk", 1000 + i) for i in range(26)))
    took = time.monotonic() - start
    # 26 sends at 50/s: 25 gaps of 20 ms (a late wake-up lets the lane catch up half a gap).
    assert took >= 25 * 0.02 - 0.011


async def test_no_second_holds_more_sends_than_the_pace_whatever_the_lanes_do():
    limiter = ResilientRateLimiter(overall_per_second=20, bulk_per_second=20)
    log: list[tuple[str, float]] = []
    bulk = [asyncio.create_task(_send_through(limiter, log, "bulk", 1000 + i)) for i in range(30)]
    for n in range(6):  # replies arrive meanwhile
        await asyncio.sleep(0.12)
        await _send_through(limiter, log, "interactive", 10 + n)
    await asyncio.gather(*bulk)
    times = sorted(t for _, t in log)
    most = max(sum(1 for t in times if first <= t < first + 1.0) for first in times)
    assert most <= 20
    assert len(times) == 36


async def test_a_fan_out_larger_than_a_batch_goes_out_in_one_tick_highest_priority_first(
    context, monkeypatch
):
    monkeypatch.setattr(outbox, "BATCH", 5)
    ids = await people(context.storage, 12)
    for uid in ids:
        await context.storage.enqueue(
            NewOutboxMessage(uid, "notify/invite_used", JOINED, priority=2), now=NOW
        )
    await context.storage.enqueue(
        NewOutboxMessage(ids[-1], "notify/invite_used", {**JOINED, "name": "first"}, priority=0),
        now=NOW + timedelta(seconds=1),
    )
    context.clock.set(NOW + timedelta(seconds=1))
    assert await outbox.deliver_due(context) == 13
    assert context.bot.sent[0][2]["text"].startswith("first")


async def test_a_long_batch_renews_its_leases_until_it_is_done(context, monkeypatch):
    monkeypatch.setattr(outbox, "LEASE", timedelta(seconds=0.3))
    [uid] = await people(context.storage, 1)
    rows = [
        await context.storage.enqueue(NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW)
        for _ in range(2)
    ]
    clock = ManualClock(NOW)  # running: the lease would run out during the slow sends
    context.clock = clock
    context.bot.delay = 0.4
    seen: list[list[int]] = []

    async def look() -> None:  # another sender, looking while the first is at work
        await asyncio.sleep(0.5)
        seen.append([m.id for m in await context.storage.due_outbox(clock.now())])

    sent, _ = await asyncio.gather(outbox.deliver_due(context), look())
    assert sent == 2
    assert seen == [[]]  # the second row was still this sender's
    for row in rows:
        item = await context.storage.get_outbox(row)
        assert item is not None
        assert item.message_id is not None


async def test_a_send_counts_until_a_second_after_its_answer_whenever_it_reaches_telegram():
    # A slow answer (or a busy loop between the slot and the call) must not let the next
    # second's sends reach Telegram together with it: the window closes on the answer.
    limiter = ResilientRateLimiter(overall_per_second=5)
    started: list[float] = []

    async def slow() -> dict[str, Any]:
        started.append(time.monotonic())
        await asyncio.sleep(0.5)
        return {"message_id": 1}

    async def send(chat: int) -> None:
        await limiter.process_request(slow, (), {}, "sendMessage", {"chat_id": chat}, None)

    await asyncio.gather(*(send(10 + i) for i in range(6)))
    first, sixth = started[0], sorted(started)[5]
    assert sixth - first >= 1.5 - 0.01  # the first answered at 0.5 s, counted one more second


async def test_rows_queued_while_a_run_sends_go_out_in_that_run(context, monkeypatch):
    # A fan-out is queued a step at a time (the reminder poller): the run claims again before
    # its rows run out and looks again before it ends, so the lane never waits for a tick.
    monkeypatch.setattr(outbox, "BATCH", 4)
    monkeypatch.setattr(outbox, "LOW_WATER", 2)
    ids = await people(context.storage, 9)
    for uid in ids[:4]:
        await context.storage.enqueue(
            NewOutboxMessage(uid, "notify/invite_used", JOINED, priority=2), now=NOW
        )
    context.bot.delay = 0.3  # the first four are still on their way when the others come

    async def later() -> None:
        await asyncio.sleep(0.15)
        for uid in ids[4:]:
            await context.storage.enqueue(
                NewOutboxMessage(uid, "notify/invite_used", JOINED, priority=2), now=NOW
            )

    sent, _ = await asyncio.gather(outbox.deliver_due(context), later())
    assert sent == 9
    assert sorted(chat for _, chat, _ in context.bot.sent) == sorted(100 + i for i in range(9))


async def test_runs_take_turns_and_a_wake_during_a_run_makes_it_look_again(storage, context):
    """A second run waits for the first (wakes do not pile runs up), and a row queued while a
    run is on its way is sent by that run before it ends."""
    (uid,) = await people(storage, 1)
    await storage.enqueue(NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW)
    first = asyncio.create_task(outbox.deliver_due(context))
    await asyncio.sleep(0)
    assert outbox._turn(context).lock.locked()
    second = asyncio.create_task(outbox.deliver_due(context))
    await storage.enqueue(NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW)
    outbox.wake(context)  # a run is on its way: no new task, it looks once more
    assert await first == 2
    assert await second == 0
    assert len(context.bot.sent) == 2


class _App:
    """What wake needs of the application: whether it runs, and its task starter."""

    def __init__(self, running: bool) -> None:
        self.running = running
        self.tasks: list[asyncio.Task] = []

    def create_task(self, coroutine, name=None):
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self.tasks.append(task)
        return task


async def test_a_wake_delivers_at_once_and_never_while_the_bot_stops(storage, context):
    (uid,) = await people(storage, 1)
    await storage.enqueue(NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW)
    context.application = _App(running=False)
    outbox.wake(context)  # stopping: nothing started, the row waits for start-up
    assert context.application.tasks == []
    assert context.bot.sent == []
    context.application = _App(running=True)
    outbox.wake(context)
    (task,) = context.application.tasks
    assert await task == 1
    assert len(context.bot.sent) == 1


async def test_a_handler_wakes_the_outbox_through_the_sender_the_app_hands_over(storage, context):
    """Handlers do not import reminders: ``bot.telegram_io.wake`` starts the sender's own wake,
    which the composition root puts in ``bot_data``; without one the row waits for the tick."""
    (uid,) = await people(storage, 1)
    await storage.enqueue(NewOutboxMessage(uid, "notify/invite_used", JOINED), now=NOW)
    context.application = _App(running=True)
    context.bot_data.outbox_wake = None
    telegram_io.wake(context)
    assert context.application.tasks == []
    context.bot_data.outbox_wake = outbox.wake
    telegram_io.wake(context)
    (task,) = context.application.tasks
    assert await task == 1
    app = build_application(Settings(token=Secret("123:abc")))
    assert app.bot_data.outbox_wake is outbox.wake
