"""What the wire promises: a poison update is set aside and the bot carries on; a reply that
outlasts its retries waits in the outbox and arrives in order; a crashed button handler gets
one answer, never two."""

from __future__ import annotations

import asyncio

import pytest

import handlers.notes
from bot.app import rate_limiter_for
from bot.domain.people import Role
from bot.telegram_io import ResilientRateLimiter
from tests.e2e.conftest import eventually
from tests.e2e.seed import ledger, row


async def test_a_poison_update_is_set_aside_once_logged_without_its_content_and_the_bot_goes_on(
    world, bot, client, caplog
):
    alice = await world.member(Role.COLLECTOR, "Alice")
    # A message without a date or a chat: python-telegram-bot cannot parse it.
    poison = await client.raw_update(
        "message", {"message_id": 1, "text": "SECRET 王建国 13800001111"}
    )
    await alice.send("/whoami")
    await alice.expect("Role: collector", timeout=10)
    counts = await world.storage.inbox_counts()
    assert counts["set_aside"] == 1
    assert counts["pending"] == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"update {poison['update_id']} cannot be parsed; set aside" in logged
    assert "SECRET" not in logged
    assert "13800001111" not in logged


async def test_an_update_is_parsed_once_and_the_handler_still_gets_all_of_it(
    world, bot, monkeypatch
):
    """Issue 17: the inbox parsed each update (to set a poison one aside), then
    python-telegram-bot parsed it again. Now PTB parses a stand-in holding only the id, and
    the handler gets the update the inbox parsed."""
    from telegram import Update

    parsed: list[int] = []
    real = Update.de_json.__func__  # type: ignore[attr-defined]

    def counting(cls, data, bot=None):
        if isinstance(data, dict) and "message" in data:
            parsed.append(data["update_id"])
        return real(cls, data, bot)

    monkeypatch.setattr(Update, "de_json", classmethod(counting))
    alice = await world.member(Role.COLLECTOR, "Alice")
    await alice.send("/whoami")
    await alice.expect("Role: collector", timeout=10)
    assert parsed
    assert len(parsed) == len(set(parsed)), f"parsed more than once: {parsed}"
    assert (await world.storage.inbox_counts())["pending"] == 0


@pytest.fixture
def rate_limiter(settings) -> ResilientRateLimiter:
    return rate_limiter_for(
        settings, backoff=0.1, max_backoff=0.4, max_retries=3, max_retry_after=2
    )


async def test_a_reply_that_outlasts_its_retries_waits_in_the_outbox_and_the_chat_keeps_its_order(
    world, bot, client, rate_limiter
):
    alice = await world.member(Role.COLLECTOR, "Alice")
    # Telegram is down for Alice's first reply (4 attempts fail), then back.
    await client.inject_fault("5xx", count=4, method="sendMessage")
    await alice.send("/whoami")
    await alice.send("/help")
    await eventually(lambda: rate_limiter.deferred == 2, timeout=15)
    await world.tick()  # Telegram is back
    first = await alice.expect_next("Role: collector")
    second = await alice.expect_next("/cases")
    assert first.message_id < second.message_id
    assert rate_limiter.deferred == 2  # the failed reply, and the one queued behind it
    for _ in range(40):  # the outbox records the send just after Telegram confirmed it
        if not rate_limiter.deferred_chats:
            break
        await asyncio.sleep(0.05)
    assert rate_limiter.deferred_chats == set()
    assert await world.storage.deferred_chats() == set()
    assert (await world.storage.inbox_counts())["pending"] == 0


async def test_a_long_flood_wait_defers_the_reply_instead_of_dropping_it(
    world, bot, client, rate_limiter
):
    alice = await world.member(Role.COLLECTOR, "Alice")
    await client.inject_fault("429", count=1, method="sendMessage", retry_after=3)
    await alice.send("/whoami")
    await eventually(lambda: rate_limiter.deferred == 1, timeout=15)
    await world.tick()
    await alice.expect_next("Role: collector")
    assert rate_limiter.deferred == 1


async def test_a_button_handler_that_fails_after_answering_is_not_answered_twice(
    world, bot, client, monkeypatch
):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await zhang.send("/case HT1")
    await zhang.expect("HT1")

    async def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    # The note button answers its press, then starting the flow fails.
    monkeypatch.setattr(handlers.notes.ENGINE, "start", broken)
    await zhang.press("📝 Note")
    apology = await zhang.expect("Sorry", timeout=10)
    assert apology.buttons == []
    answers = await client.calls("answerCallbackQuery")
    assert len(answers) == 1  # the handler's own; the error handler wrote a message instead


async def test_a_notice_for_someone_who_never_opened_the_chat_waits_for_their_first_start(
    world, bot
):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    zhang = await world.member(Role.COLLECTOR, "张伟")
    li = await world.member(Role.COLLECTOR, "李娜")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await li.send("/start")
    await li.expect("Welcome")
    await supervisor.send("/assign HT1")
    await supervisor.expect("Who should lead this case instead?")
    await supervisor.press("李娜")
    await supervisor.expect("Change the lead collector?")
    await supervisor.press("Workload")
    await supervisor.expect("李娜 now leads 张三 (HT1)")
    assert await world.tick() == 1  # 李娜 is told; 张伟 has never opened the chat
    await li.expect("made you the lead collector of 张三")
    await zhang.send("/start")
    await zhang.expect("Welcome")
    assert await world.tick() == 1  # his notice was kept, not dropped
    await zhang.expect("gave 张三 (HT1) to 李娜")


async def test_after_a_quiet_week_updates_numbered_anew_are_handled_not_taken_for_old_ones(
    world, bot, clock
):
    """Telegram numbers the next update at random after a week without updates. A lower id
    than one handled before is a new message: the note is saved, nothing is dropped."""
    from datetime import timedelta

    from reminders import INBOX_JOB

    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    for text in ("第一次：电话未接", "第二次：约了周三"):
        await zhang.send("/note HT1")
        await zhang.expect("Send the note")
        await zhang.send(text)
        await zhang.expect("Note saved")
    cid = (await world.storage.import_snapshot())["HT1"].case_id
    assert await world.storage.count_notes(cid) == 2
    handled = (await world.storage.inbox_counts())["handled"]
    assert handled >= 4

    clock.advance(timedelta(days=8))  # a quiet week: the inbox job lets the old ones go
    (job,) = bot.job_queue.get_jobs_by_name(INBOX_JOB)
    assert await job.callback(bot.context_types.context.from_job(job, bot)) == handled
    world.emulator.bot().restart_update_ids(2)  # below the ids the note flows acted on
    await zhang.send("/note HT1")
    await zhang.expect("Send the note")
    await zhang.send("第三次：上门，答应月底前还")
    saved = await zhang.expect("Note saved")
    assert "第三次" in saved.text
    assert await world.storage.count_notes(cid) == 3


async def test_a_database_moved_to_another_bot_answers_that_bots_updates(world, emulator, settings):
    """A test bot first, then the real one on the same database: Telegram numbers each bot's
    updates from its own start, so the new bot's first updates carry ids the inbox has seen.
    They are answered, not skipped as handled."""
    from tests.e2e.conftest import TOKEN
    from tests.e2e.process import BotProcess
    from tgemu import Person

    zhang = await world.member(Role.COLLECTOR, "张伟")
    first = BotProcess(emulator, TOKEN, settings.db_path)
    await first.start()
    try:
        for _ in range(3):
            await zhang.send("/whoami")
            await zhang.expect("Role", timeout=10)
    finally:
        await first.stop()

    token = "444444444:" + "N" * 35
    emulator.add_bot(token, username="qingshou_real_bot", first_name="qingshou")
    second = BotProcess(emulator, token, settings.db_path)
    await second.start()
    try:
        again = Person(world.client, zhang.id, bot=token)
        for _ in range(3):
            await again.send("/whoami")
            await again.expect("Role", timeout=10)
    finally:
        await second.stop()
    assert "another bot's updates: 3 deleted" in "".join(second.log)
    assert first.tracebacks() == second.tracebacks() == []
