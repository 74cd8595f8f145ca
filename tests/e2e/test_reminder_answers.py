"""A reminder's answers end to end, through the emulator over HTTP: ✅ Paid in full, Partial,
Missed change the stored state and what the supervisor is told; a double tap and a replayed
button record once; money recorded by /outcome settles the oldest instalment first.

The reminder message itself is built here with the INSTALMENT route (the poller writes the
same buttons); its instalment rows are edited in place to show the state.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.app import build_application
from bot.domain.commitments import NewCommitment, NewInstalment
from bot.domain.people import Role
from bot.routes import INSTALMENT, OPEN_CASE
from bot.runner import running
from tests.e2e.seed import TODAY, case_id, ledger, row

YUAN = 100
DUES = (date(2026, 12, 1), date(2026, 12, 8))


async def _rows(world, sql, *params):
    return await world.storage._fetchall(sql, params)


async def _seed(world, *, lang: str = "en"):
    """张伟 leads HT1 (张三): an agreed commitment of two ¥1,000 instalments with pending
    reminders; 组长 supervises the team (and reads Chinese)."""
    zhang = await world.member(Role.COLLECTOR, "张伟", lang=lang)
    boss = await world.member(Role.SUPERVISOR, "组长", lang="zh_Hans")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    cid = await case_id(world, "HT1")
    commitment = await world.storage.add_commitment(
        world.members[zhang.id], cid,
        NewCommitment(0, None, None, {"kind": "dates"},
                      tuple(NewInstalment(d, 1000 * YUAN) for d in DUES), None),
        needs_approval=frozenset(), proposal={}, flow_id=None, notify=None,
        now=world.clock.now(), today=TODAY,
    )  # fmt: skip
    ids = [i.id for i in commitment.instalments]
    for instalment_id in ids:
        for kind in ("due", "follow_up"):
            await world.storage._execute(
                "INSERT OR IGNORE INTO reminders (instalment_id, kind, due_at, status, "
                "created_at) VALUES (?, ?, '2026-12-01T01:00:00+00:00', 'pending', "
                "'2026-11-30T01:00:00+00:00')",
                (instalment_id, kind),
            )
    for person in (zhang, boss):
        await person.send("/start")
        await person.expect()
    return zhang, boss, cid, ids


async def _remind(world, bot, person, cid, ids):
    """The reminder as the poller sends it: a row of buttons per instalment."""
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("✅ Paid in full", callback_data=INSTALMENT.data(i, "paid")),
          InlineKeyboardButton("Partial", callback_data=INSTALMENT.data(i, "partial")),
          InlineKeyboardButton("Missed", callback_data=INSTALMENT.data(i, "missed")),
          InlineKeyboardButton("Open case", callback_data=OPEN_CASE.data(cid))] for i in ids]
    )  # fmt: skip
    await bot.bot.send_message(person.id, "Today: 2 payments due", reply_markup=keyboard)
    return await person.expect("payments due")


def _labels(message) -> list[list[str]]:
    return [[label for label, _ in r] for r in message.buttons]


async def _state(world, instalment_id):
    (found,) = await _rows(world, "SELECT status, paid, answered_by, miss_reason, miss_note "
                                  "FROM instalments WHERE id = ?", instalment_id)  # fmt: skip
    return tuple(found)


async def _payments(world, instalment_id=None):
    if instalment_id is None:
        return await _rows(world, "SELECT amount, source, instalment_id, received_on FROM "
                                  "payments ORDER BY id")  # fmt: skip
    return await _rows(world, "SELECT amount, source, instalment_id, received_on FROM payments "
                              "WHERE instalment_id = ?", instalment_id)  # fmt: skip


async def _reminders(world, instalment_id):
    rows = await _rows(world, "SELECT kind, status FROM reminders WHERE instalment_id = ? "
                              "ORDER BY kind", instalment_id)  # fmt: skip
    return [tuple(r) for r in rows]


async def test_paid_in_full_records_once_through_a_double_tap_and_a_replayed_button(world, bot):
    zhang, boss, cid, (first, second) = await _seed(world)
    reminder = await _remind(world, bot, zhang, cid, [first, second])
    paid = INSTALMENT.data(first, "paid")
    # A double tap: both presses reach the bot.
    await asyncio.gather(zhang.press_data(reminder.message_id, paid),
                         zhang.press_data(reminder.message_id, paid))  # fmt: skip
    toasts = sorted([str((await zhang.expect_toast())["text"]) for _ in range(2)])
    assert toasts[0].startswith("Already recorded: 张三 paid CN¥1,000.00"), toasts
    assert toasts[1] == "✓ Recorded: 张三 paid CN¥1,000.00.", toasts
    edited = await zhang.expect("payments due")
    assert _labels(edited) == [["✓ 张三 · paid CN¥1,000.00"],
                               ["✅ Paid in full", "Partial", "Missed", "Open case"]]  # fmt: skip
    # The state's label opens the case.
    assert edited.buttons[0][0][1] == OPEN_CASE.data(cid)
    # A replayed old button, later: nothing more.
    world.clock.advance(timedelta(hours=3))
    await zhang.press_data(reminder.message_id, paid)
    await zhang.expect_toast("Already recorded")
    await zhang.press_data(reminder.message_id, INSTALMENT.data(first, "missed"))
    await zhang.expect_toast("Already recorded")

    assert await _payments(world) == [(100_000, "reminder", first, "2026-11-30")]
    me = world.members[zhang.id].id
    assert await _state(world, first) == ("kept", 100_000, me, None, None)
    assert await _reminders(world, first) == [("due", "retired"), ("follow_up", "retired")]
    assert await _reminders(world, second) == [("due", "pending"), ("follow_up", "pending")]
    await world.tick()
    await world.assert_silent(boss)  # a kept promise is nobody's alarm


async def test_partial_asks_the_amount_in_the_collector_s_language_and_keeps_the_rest_open(
    world, bot
):
    zhang, boss, cid, (first, second) = await _seed(world, lang="zh_Hans")
    reminder = await _remind(world, bot, zhang, cid, [first, second])
    await zhang.press_data(reminder.message_id, INSTALMENT.data(first, "partial"))
    await zhang.expect("张三")
    await zhang.send("一些")
    await zhang.expect("“一些”不是金额。")
    await zhang.send("1200")
    await zhang.expect("¥1,200.00")  # more than is open: said, the question stays
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert (state.flow, state.step) == ("instalment_partial", "amount")
    await zhang.send("3百")
    # The reminder shows the state first, then the answer is confirmed.
    edited = await zhang.expect("payments due")
    assert _labels(edited)[0] == ["◐ 张三 · 已还¥300.00，未还¥700.00"]
    assert _labels(edited)[1][0] == "✅ Paid in full"
    done = await zhang.expect("已记录：收到张三¥300.00。")
    assert "还有¥700.00未还" in done.text
    assert await _payments(world) == [(30_000, "reminder", first, "2026-11-30")]
    assert (await _state(world, first))[:2] == ("partial", 30_000)
    # The rest is open: it is asked again at the follow-up.
    assert await _reminders(world, first) == [("due", "pending"), ("follow_up", "pending")]
    await world.tick()
    await world.assert_silent(boss)


async def test_missed_on_the_due_day_is_broken_asks_why_and_tells_the_supervisor(world, bot):
    zhang, boss, cid, (first, second) = await _seed(world)
    # Tuesday 1 December, the due day: with no grace days (the default) a miss is a broken
    # promise at once, and the supervisor hears of it the same morning.
    world.clock.advance(timedelta(days=1))
    reminder = await _remind(world, bot, zhang, cid, [first, second])
    await zhang.press_data(reminder.message_id, INSTALMENT.data(first, "missed"))
    await zhang.expect("Why did 张三 miss instalment 1")
    await zhang.press("No money now")
    await zhang.expect("Why did 张三 miss")
    await zhang.send("工资下周才发")
    await zhang.expect("工资下周才发")  # kept beside the reasons, the question stays
    await zhang.press("✔ Done")
    edited = await zhang.expect("payments due")
    assert _labels(edited)[0] == ["✗ 张三 · missed CN¥1,000.00"]
    done = await zhang.expect("recorded as missed")
    assert "Your supervisor has been told." in done.text
    assert _labels(done) == [["✍ Outcome", "🧭 Prepare a new meeting"]]

    me = world.members[zhang.id].id
    assert await _state(world, first) == ("broken", 0, me, "no_money", "工资下周才发")
    assert await _reminders(world, first) == [("due", "retired"), ("follow_up", "retired")]
    assert await _payments(world) == []
    # The supervisor, at once (the outbox's next tick), in their language.
    await world.tick()
    told = await boss.expect("张三")
    assert "HT1" in told.text
    assert "张伟" in told.text
    assert "工资下周才发" in told.text
    assert "¥1,000.00" in told.text
    # A second answer of the same kind tells nobody again.
    await zhang.press_data(reminder.message_id, INSTALMENT.data(first, "missed"))
    await zhang.expect_toast("Already recorded as missed")
    await world.tick()
    await world.assert_silent(boss)
    # The offered next steps work.
    await zhang.press("✍ Outcome", done)
    await zhang.expect("What kind of meeting was it?")
    await zhang.send("/cancel")
    await zhang.expect("Stopped: Meeting outcome.")


async def test_missed_within_the_grace_days_stays_open_as_late_and_no_one_is_alarmed(
    world, settings, clock, storage
):
    # QINGSHOU_GRACE_DAYS=1: the due day itself is a day of grace.
    graced = build_application(replace(settings, grace_days=1), clock=clock, storage=storage)
    async with running(graced, poll_timeout=1):
        world.app = graced
        try:
            zhang, boss, cid, (first, second) = await _seed(world)
            world.clock.advance(timedelta(days=1))  # Tuesday 1 December: the due day
            await _missed_on_a_day_of_grace(world, graced, zhang, boss, cid, first, second)
        finally:
            world.app = None


async def _missed_on_a_day_of_grace(world, bot, zhang, boss, cid, first, second):
    reminder = await _remind(world, bot, zhang, cid, [first, second])
    await zhang.press_data(reminder.message_id, INSTALMENT.data(first, "missed"))
    await zhang.expect("Why did 张三 miss")
    await zhang.press("⏭ Later")
    late = await zhang.expect("has not paid yet")
    assert "you will be asked again" in late.text
    assert (await _state(world, first))[0] == "open"
    assert await _reminders(world, first) == [("due", "pending"), ("follow_up", "pending")]
    await world.tick()
    await world.assert_silent(boss, zhang)


async def test_a_payment_via_outcome_settles_the_oldest_instalment_and_its_buttons_say_so(
    world, bot
):
    zhang, _boss, cid, (first, second) = await _seed(world)
    reminder = await _remind(world, bot, zhang, cid, [first, second])
    await zhang.send("/outcome HT1")
    await zhang.expect("What kind of meeting was it?")
    for question in (
        "Where was it held?",
        "Who attended",
        "Did the meeting achieve its step?",
        "What moved?",
        "How did the counterpart stand",
        "Money received today",
    ):
        await zhang.press("⏭ Later")
        await zhang.expect(question)
    await zhang.send("1500")
    await zhang.expect("How was it paid?")
    await zhang.press("Cash")
    await zhang.expect("A photo of the receipt")
    for question in ("The next step?", "When? Tap a day"):
        await zhang.press("⏭ Later")
        await zhang.expect(question)
    await zhang.press("⏭ Later")
    saved = await zhang.expect("recorded")
    assert "CN¥1,500.00" in saved.text

    assert (await _state(world, first))[:2] == ("kept", 100_000)
    assert (await _state(world, second))[:2] == ("partial", 50_000)
    assert await _reminders(world, first) == [("due", "retired"), ("follow_up", "retired")]
    assert await _reminders(world, second) == [("due", "pending"), ("follow_up", "pending")]
    # The reminder's Paid, pressed afterwards: nothing doubled, the message shows the state.
    await zhang.press_data(reminder.message_id, INSTALMENT.data(first, "paid"))
    await zhang.expect_toast("Already recorded: 张三 paid CN¥1,000.00")
    edited = await zhang.expect("payments due")
    assert _labels(edited) == [["✓ 张三 · paid CN¥1,000.00"],
                               ["◐ 张三 · CN¥500.00 paid, CN¥500.00 open"]]  # fmt: skip
    assert [(a, s) for a, s, _i, _d in await _payments(world)] == [(150_000, "outcome")]


async def test_a_forged_button_from_another_collector_gets_nothing(world, bot):
    _zhang, boss, cid, (first, _second) = await _seed(world)
    chen = await world.member(Role.COLLECTOR, "陈静")
    west = await world.member(Role.SUPERVISOR, "西城组长", team="西城")
    for person in (chen, west):
        await person.send("/whoami")
        msg = await person.expect("Role")
        await person.press_data(msg.message_id, INSTALMENT.data(first, "paid"))
        await person.expect_toast("No such case among yours.")
        await person.press_data(msg.message_id, INSTALMENT.data(first, "missed"))
        await person.expect_toast("No such case among yours.")
    assert await _payments(world) == []
    assert (await _state(world, first))[0] == "open"
    # The team's supervisor may answer for the team.
    reminder = await _remind(world, bot, boss, cid, [first])
    await boss.press("✅ Paid in full", reminder)
    await boss.expect_toast("张三")
    await boss.expect("payments due")
    assert await _payments(world) == [(100_000, "reminder", first, "2026-11-30")]


async def test_the_poller_s_follow_up_of_an_unconfirmed_instalment_can_still_be_answered(
    world, bot, settings
):
    from bot.domain.reminders import ReminderPolicy
    from tests.e2e.test_reminders import TUESDAY, WEDNESDAY, local

    zhang = await world.member(Role.COLLECTOR, "张伟")
    await zhang.send("/start")
    await zhang.expect()
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    cid = await case_id(world, "HT1")
    commitment = await world.storage.add_commitment(
        world.members[zhang.id], cid,
        NewCommitment(0, None, None, {"kind": "dates"}, (NewInstalment(TUESDAY, 1500 * YUAN),),
                      None),
        needs_approval=frozenset(), proposal={}, flow_id=None, notify=None,
        now=world.clock.now(), today=TODAY, reminders=ReminderPolicy.from_settings(settings),
    )  # fmt: skip
    (instalment,) = commitment.instalments
    world.clock.set(local(TUESDAY, 9))
    assert await world.tick_reminders() >= 1
    due = await zhang.expect("Today: 1 payment due")
    world.clock.set(local(WEDNESDAY, 9))
    assert await world.tick_reminders() == 1
    follow_up = await zhang.expect("No answer yet: 1 payment")
    assert (await _state(world, instalment.id))[0] == "unconfirmed"

    await zhang.press("1 ✅ Paid in full", follow_up)
    await zhang.expect_toast("Recorded: 张三 paid CN¥1,500.00")
    edited = await zhang.expect("No answer yet")
    assert _labels(edited) == [["1 ✓ 张三 · paid CN¥1,500.00"]]
    # The older due-day message's button, pressed afterwards: one payment, and it says so.
    await zhang.press("1 ✅ Paid in full", due)
    await zhang.expect_toast("Already recorded")
    edited_due = await zhang.expect("Today: 1 payment due")
    assert _labels(edited_due) == [["1 ✓ 张三 · paid CN¥1,500.00"]]
    assert await _payments(world) == [(150_000, "reminder", instalment.id, "2026-12-02")]
    assert (await _state(world, instalment.id))[0] == "kept"
    rows = await world.storage.reminders_of(instalment_ids=[instalment.id])
    assert {r.status for r in rows} <= {"queued", "retired"}


async def test_a_missed_instalment_reaches_today_and_the_card(world, bot):
    """Issue 16: the promise hook was never connected — a missed instalment left /today and
    the card as if nothing had been promised, and the card's 'next' was the missed one."""
    zhang, boss, cid, (first, second) = await _seed(world)
    world.clock.advance(timedelta(days=1))  # Tuesday 1 December, the first due day
    await zhang.send("/today")
    due = await zhang.expect("Today")
    assert "a promised payment is due today" in due.text
    reminder = await _remind(world, bot, zhang, cid, [first, second])
    await zhang.press_data(reminder.message_id, INSTALMENT.data(first, "missed"))
    await zhang.expect("Why did 张三 miss")
    await zhang.press("⏭ Later")
    await zhang.expect("payments due")  # the reminder's row, edited in place
    await zhang.expect("recorded as missed")
    await world.tick()
    await boss.expect("违约：张三")
    await zhang.send("/today")
    today = await zhang.expect("Today")
    assert "张三" in today.text
    assert "broken promises" in today.text
    # At the top: the broken promise itself, with what to do (prepare the next meeting).
    assert today.text.index("Broken promises — prepare the next meeting") < today.text.index(
        "Cases"
    )
    assert "张三 · HT1 · instalment 1 · CN¥1,000.00 · due Tue, Dec 1" in today.text
    assert ["🧭 Prepare again · 张三"] in [[t for t, _ in row] for row in today.buttons]
    await zhang.send("/case HT1")
    card = await zhang.expect("HT1")
    assert "⚠️ Broken promises: 1" in card.text
    # The next instalment is the second one, not the one that was missed.
    assert "📅 Next instalment: Tue, Dec 8, 2026" in card.text
    assert "next Tue, Dec 8, 2026" in card.text
    # The supervisor, in Chinese: the case at the top of the team's list, with the reason.
    await boss.send("/cases")
    cases = await boss.expect("张三")
    assert "有未兑现的还款承诺" in cases.text
    await boss.send("/case HT1")
    card_zh = await boss.expect("HT1")
    assert "⚠️ 未兑现的承诺：1" in card_zh.text
    assert "📅 下一期：2026年12月8日周二" in card_zh.text


async def test_today_opens_with_the_payments_to_answer_and_answers_them_in_place(world, bot):
    """Issue 16: /today is the collector's to-do list — an instalment due today, or one from
    before nobody answered, is at the top with the reminder's own answer buttons."""
    zhang, boss, _cid, (first, _second) = await _seed(world)
    world.clock.advance(timedelta(days=1))  # Tuesday 1 December, the first due day
    await zhang.send("/today")
    today = await zhang.expect("Payments to answer")
    assert "张三 · HT1 · instalment 1 · CN¥1,000.00 · due today" in today.text
    # Two a row (four in one were cut on a phone): paid / partial, then missed / the case.
    assert _labels(today)[:2] == [["1 ✅ Paid in full", "◐ Partial"], ["✖ Missed", "📂 Open case"]]
    await zhang.press("1 ✅ Paid in full", today)
    await zhang.expect_toast("Recorded")
    edited = await zhang.expect("Payments to answer")
    assert _labels(edited)[0] == ["1 ✓ 张三 · paid CN¥1,000.00"]  # numbered as the line
    assert (await _state(world, first))[0] == "kept"
    # A week later nobody answered the second: it is still there.
    world.clock.advance(timedelta(days=8))
    await zhang.send("/today")
    later = await zhang.expect("Payments to answer")
    # Not "no answer yet" after the date: the heading says so.
    assert "instalment 2 · CN¥1,000.00 · due Tue, Dec 8\n" in later.text
    assert "instalment 1 ·" not in later.text
    await world.tick()
    await world.assert_silent(boss)
