"""Reminders end to end (issue 10): the database is the truth, the poller only asks it.

Through the emulator with the real bot. Time does not pass by itself: the ManualClock is moved
and the reminder job ticked by hand (``world.tick_reminders()`` runs it, then the outbox), so
"exactly one message at 09:00" is checked one second before and at 09:00, with no sleeps.
START is Monday 30 November 2026, 09:00 in Shanghai; the reminder hour is 09:00 local.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from bot.app import build_application
from bot.config import load_settings
from bot.domain.commitments import InstalmentStatus, NewCommitment, NewInstalment
from bot.domain.people import Role
from bot.domain.reminders import ReminderPolicy
from bot.runner import running
from bot.sandbox import BOT_USERNAME, start_sandbox
from reminders import REMINDERS_JOB
from tests.e2e.conftest import expect_paper
from tests.e2e.seed import TODAY, case_id, ledger, row
from tgemu import EmulatorClient, EmulatorConfig, Person

SHANGHAI = ZoneInfo("Asia/Shanghai")
YUAN = 100


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second,
                    tzinfo=SHANGHAI).astimezone(UTC)  # fmt: skip


MONDAY, TUESDAY, WEDNESDAY = TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=2)


def _buttons(message) -> list[list[str]]:
    return [[text for text, _ in row] for row in message.buttons]


async def _agreed_for_tomorrow(world):
    """张伟 leads HT1 (张三, ¥2,000 owed) and on Monday 07:30 agrees ¥1,500 for Tuesday through
    /commit: a quarter left unpaid, which an unprepared case may agree without the supervisor
    (QINGSHOU_UNPREPARED_GAP_PERCENT, 50 %)."""
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await zhang.send("/start")
    await zhang.expect()
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=2_000,
                                      collector="张伟")])  # fmt: skip
    world.clock.set(local(MONDAY, 7, 30))
    await zhang.send("/commit HT1")
    await zhang.expect("First, money today")
    await zhang.send("0")
    await zhang.expect("Then the plan")
    await zhang.send("12月1日")
    await zhang.expect("How much in all")
    await zhang.send("1500")
    await zhang.press("✅ Confirm", await zhang.expect("Commitment of 张三"))
    await zhang.expect("You will be reminded on each date.")
    await expect_paper(zhang, "Repayment agreement of 张三")  # the PDF to sign (issue 19)
    return zhang


async def test_a_commitment_made_today_for_tomorrow_gets_one_heads_up_and_one_due_day_message(
    world, bot
):
    zhang = await _agreed_for_tomorrow(world)
    (commitment,) = await world.storage.commitments_of(await case_id(world, "HT1"))
    (instalment,) = commitment.instalments
    assert instalment.due_on == TUESDAY

    # The heads-up: nothing a second before Monday 09:00, one message at 09:00, never again.
    world.clock.set(local(MONDAY, 8, 59, 59))
    assert await world.tick_reminders() == 0
    world.clock.set(local(MONDAY, 9))
    assert await world.tick_reminders() == 1
    heads_up = await zhang.expect("Tomorrow: 1 payment due")
    assert "张三" in heads_up.text
    assert "HT1" in heads_up.text
    assert "CN¥1,500.00" in heads_up.text
    assert "Tue, Dec 1, 2026" in heads_up.text
    assert _buttons(heads_up) == [["1 ✅ Paid in full", "◐ Partial"], ["✖ Missed", "📂 Open case"]]
    world.clock.set(local(MONDAY, 15))
    assert await world.tick_reminders() == 0
    await world.assert_silent(zhang)

    # The due day: nothing at 08:59:59 on Tuesday, one message at 09:00, never again.
    world.clock.set(local(TUESDAY, 8, 59, 59))
    assert await world.tick_reminders() == 0
    world.clock.set(local(TUESDAY, 9))
    assert await world.tick_reminders() == 1
    due = await zhang.expect("Today: 1 payment due")
    assert "张三" in due.text
    assert len(due.buttons) == 2  # one instalment: its two rows of answers
    world.clock.set(local(TUESDAY, 9, 30))
    assert await world.tick_reminders() == 0
    await world.assert_silent(zhang)

    rows = await world.storage.reminders_of(instalment_ids=[instalment.id])
    assert [(r.kind, r.due_at, r.status) for r in rows] == [
        ("heads_up", local(MONDAY, 9), "queued"),
        ("due", local(TUESDAY, 9), "queued"),
        ("follow_up", local(WEDNESDAY, 9), "pending"),
    ]
    for r in rows[:2]:
        assert (await world.storage.get_outbox(r.outbox_id)).message_id is not None

    # "Open case" is the case card's own button.
    await zhang.press("📂 Open case", due)
    card = await zhang.expect("张三")
    assert "HT1" in card.text

    # No answer by Wednesday 09:00: the follow-up asks once more and the instalment is
    # unconfirmed, never silently kept.
    world.clock.set(local(WEDNESDAY, 9))
    assert await world.tick_reminders() == 1
    await zhang.expect("No answer yet: 1 payment")
    (instalment,) = (await world.storage.get_commitment(commitment.id)).instalments
    assert instalment.status is InstalmentStatus.UNCONFIRMED


async def test_one_message_per_collector_per_tick_in_their_language(world, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟", lang="zh_Hans")
    chen = await world.member(Role.COLLECTOR, "Chen Jing")
    for person in (zhang, chen):
        await person.send("/start")
        await person.expect()
    await ledger(world, "东城", [
        row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000, collector="张伟"),
        row(3, "HT2", "李四", dpd=30, overdue_yuan=5_000, collector="张伟"),
        row(4, "HT3", "王五", dpd=20, overdue_yuan=3_000, collector="Chen Jing"),
    ])  # fmt: skip
    world.clock.set(local(MONDAY, 8))
    for contract, person in (("HT1", zhang), ("HT2", zhang), ("HT3", chen)):
        await _commit(world, person, contract, TUESDAY)

    world.clock.set(local(TUESDAY, 9))
    # Monday's heads-ups were never sent (no tick on Monday): with the due-day reminders
    # they are one item each, in one catch-up summary per collector.
    assert await world.tick_reminders() == 2
    summary = await zhang.expect("离线期间")
    assert "张三" in summary.text
    assert "李四" in summary.text
    assert len(summary.buttons) == 4  # two rows an instalment
    other = await chen.expect("While the bot was offline: 1 payment reminder")
    assert "王五" in other.text
    await world.assert_silent(zhang, chen)


async def _commit(world, person: Person, contract: str, *dues: date, amount: int = 1_000 * YUAN):
    user = world.members[person.id]
    c = await world.storage.add_commitment(
        user, await case_id(world, contract),
        NewCommitment(money_today=0, money_channel=None, promised_by_party=None,
                      plan={"kind": "dates", "dues": [[d.isoformat(), False] for d in dues]},
                      instalments=tuple(NewInstalment(d, amount) for d in dues), meeting_id=None),
        needs_approval=frozenset(), proposal={}, flow_id=None, notify=None,
        now=world.clock.now(), reminders=ReminderPolicy(SHANGHAI),
    )  # fmt: skip
    assert c is not None
    return c


async def test_a_long_list_is_split_at_telegrams_limits_never_inside_an_item(world, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await zhang.send("/start")
    await zhang.expect()
    rows = [row(i + 2, f"HT{i:03}", f"借款人{i:03}", dpd=40, overdue_yuan=9_000, collector="张伟")
            for i in range(60)]  # fmt: skip
    await ledger(world, "东城", rows)
    world.clock.set(local(MONDAY, 10))  # too late for Monday's heads-up
    for i in range(60):
        await _commit(world, zhang, f"HT{i:03}", TUESDAY)
    world.clock.set(local(TUESDAY, 9))
    queued = await world.tick_reminders()
    assert queued == 3  # 25 + 25 + 10 items: at most 100 buttons per message
    seen: list[str] = []
    for part in (1, 2, 3):
        message = await zhang.expect(f"Part {part} of 3")
        assert "Today: 60 payments due" in message.text
        assert len(message.text) <= 4096
        assert sum(len(r) for r in message.buttons) <= 100
        seen += [line.split(". ", 1)[1].split(" ·")[0] for line in message.text.split("\n")
                 if line[:1].isdigit() and ". " in line]  # fmt: skip
    assert seen == [f"借款人{i:03}" for i in range(60)]
    await world.assert_silent(zhang)


async def test_after_downtime_each_collector_gets_one_catch_up_summary(
    world, settings, clock, storage, rate_limiter
):
    """The bot is stopped on Monday at 08:30, across Monday's 09:00 reminders, and started
    again 24 hours later: one summary per collector, oldest first; nothing twice."""
    zhang = await world.member(Role.COLLECTOR, "张伟")
    chen = await world.member(Role.COLLECTOR, "Chen Jing")
    await ledger(world, "东城", [
        row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000, collector="张伟"),
        row(3, "HT2", "李四", dpd=30, overdue_yuan=5_000, collector="张伟"),
        row(4, "HT3", "王五", dpd=20, overdue_yuan=3_000, collector="Chen Jing"),
    ])  # fmt: skip
    clock.set(local(MONDAY, 8))
    first = build_application(settings, clock=clock, storage=storage, rate_limiter=rate_limiter)
    async with running(first, poll_timeout=1):
        world.app = first
        for person in (zhang, chen):
            await person.send("/start")
            await person.expect()
        await _commit(world, zhang, "HT1", MONDAY)  # due today 09:00
        await _commit(world, zhang, "HT2", TUESDAY)  # heads-up today 09:00
        await _commit(world, chen, "HT3", TUESDAY, date(2026, 12, 25))
        clock.set(local(MONDAY, 8, 30))
        assert await world.tick_reminders() == 0
    world.app = None

    clock.set(local(TUESDAY, 8, 30))  # 24 hours later
    again = build_application(settings, clock=clock, storage=storage, rate_limiter=rate_limiter)
    async with running(again, poll_timeout=1):
        world.app = again
        assert await world.tick_reminders() == 2
        summary = await zhang.expect("While the bot was offline: 2 payment reminders")
        text = summary.text
        assert text.index("张三") < text.index("李四")  # oldest first
        assert "was due Mon, Nov 30, 2026" in text
        assert [r[0] for r in _buttons(summary)][::2] == ["1 ✅ Paid in full", "2 ✅ Paid in full"]
        other = await chen.expect("While the bot was offline: 1 payment reminder")
        assert "王五" in other.text
        assert "Dec 25" not in other.text  # the later instalment is not due yet
        # The next tick sends nothing again; Tuesday's 09:00 reminders come as usual.
        clock.set(local(TUESDAY, 8, 31))
        assert await world.tick_reminders() == 0
        clock.set(local(TUESDAY, 9))
        assert await world.tick_reminders() == 2
        await zhang.expect("Today: 1 payment due")  # HT2; HT1's follow-up too
        await chen.expect("Today: 1 payment due")
        await world.settle()
        await world.tick()
        await zhang.ignore_unread()
        await chen.ignore_unread()
    world.app = None


async def test_the_sandbox_shows_the_demo_reminder_after_tomorrow_0900(tmp_path, pace):
    """The demo: 陈秀英's first instalment is due tomorrow. Press "Tomorrow 09:00" in the
    emulator's clock control: within a couple of seconds (the sandbox's poller ticks every 2 s,
    its outbox too) her lead collector has the reminder, nothing ticked by hand."""
    async with start_sandbox(
        replace(load_settings({}), **pace.settings()),
        emulator_config=EmulatorConfig(port=0, **pace.emulator_config()),
        db_path=tmp_path / "s.db",
    ) as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.emulator.url) as http:
            jumped = await http.post("/control/clock", json={"preset": "tomorrow_0900"})
            assert jumped.status_code == 200
        assert sandbox.clock.now().astimezone(SHANGHAI).hour == 9
        assert sandbox.app.job_queue is not None
        (job,) = sandbox.app.job_queue.get_jobs_by_name(REMINDERS_JOB)
        assert job.job.trigger.interval == timedelta(seconds=2)
        async with EmulatorClient(sandbox.emulator.url) as client:
            chen = Person(client, sandbox.people["collector2"].id, BOT_USERNAME, name="Chen")
            # One message for her, the day's: no catch-up of the demo's past (its answered
            # instalments had their reminders then), 陈秀英's line and its buttons.
            reminder = await chen.expect("陈秀英", timeout=10)
            assert reminder.text.startswith("📅 Today: 1 payment due"), reminder.text
            assert "offline" not in reminder.text
            assert "DC2024-0318" in reminder.text
            assert "CN¥1,500.00" in reminder.text
            labels = _buttons(reminder)
            assert all(
                a[1:] == ["◐ Partial"] and b == ["✖ Missed", "📂 Open case"]
                for a, b in zip(labels[::2], labels[1::2], strict=True)
            )


async def test_one_clock_job_not_one_per_instalment_and_a_missed_tick_runs_once(world, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    jobs = len(bot.job_queue.jobs())
    await _commit(world, zhang, "HT1", TUESDAY, WEDNESDAY, date(2026, 12, 25))
    assert len(bot.job_queue.jobs()) == jobs  # the rows are the truth, not the JobQueue
    (job,) = bot.job_queue.get_jobs_by_name(REMINDERS_JOB)
    assert job.job.coalesce is True  # ticks missed while the loop was busy run once...
    assert job.job.misfire_grace_time is None  # ...however late, never dropped
    assert job.job.trigger.interval == timedelta(seconds=bot.bot_data.settings.poll_interval)


async def test_the_pollers_message_is_answered_with_its_own_buttons(world, bot):
    """The whole way: the poller's due-day message, Paid in full pressed on it — the instalment
    is kept, its row on the message shows the state, and its follow-up never goes out."""
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await zhang.send("/start")
    await zhang.expect()
    await ledger(world, "东城", [
        row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000, collector="张伟"),
        row(3, "HT2", "李四", dpd=30, overdue_yuan=5_000, collector="张伟"),
    ])  # fmt: skip
    world.clock.set(local(MONDAY, 10))
    first = await _commit(world, zhang, "HT1", TUESDAY)
    second = await _commit(world, zhang, "HT2", TUESDAY)
    world.clock.set(local(TUESDAY, 9))
    assert await world.tick_reminders() == 1
    due = await zhang.expect("Today: 2 payments due")
    await zhang.press("1 ✅ Paid in full", due)
    await zhang.expect_toast("张三")
    edited = await zhang.expect("Today: 2 payments due")
    labels = _buttons(edited)
    assert len(labels[0]) == 1  # 张三's two rows became one line of state
    assert labels[0][0].startswith("1 ")
    assert labels[1:] == [["2 ✅ Paid in full", "◐ Partial"], ["✖ Missed", "📂 Open case"]]
    (kept,) = (await world.storage.get_commitment(first.id)).instalments
    assert kept.status is InstalmentStatus.KEPT
    # Wednesday: only 李四's instalment is asked about again (and becomes unconfirmed).
    world.clock.set(local(WEDNESDAY, 9))
    assert await world.tick_reminders() == 1
    again = await zhang.expect("No answer yet: 1 payment")
    assert "李四" in again.text
    assert "张三" not in again.text
    (open_one,) = (await world.storage.get_commitment(second.id)).instalments
    assert open_one.status is InstalmentStatus.UNCONFIRMED
    assert [r.status for r in await world.storage.reminders_of(commitment_id=first.id)] == [
        "queued", "retired"
    ]  # fmt: skip


async def test_a_clock_moved_forward_while_the_bot_polls_is_not_downtime(world, bot):
    """Issue 16: the sandbox's clock moved a week on while the bot ran and polled. The
    reminders that came due in that week were not missed while the bot was offline: they go
    out as an ordinary message (no "While the bot was offline" summary), none is left 'late'
    to the digest — which had said "1 reminders were due while the bot was offline"."""
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await zhang.send("/start")
    await zhang.expect()
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    world.clock.set(local(MONDAY, 8))
    c = await _commit(world, zhang, "HT1", WEDNESDAY)
    assert await world.tick_reminders() == 0  # the bot is polling from Monday 08:00
    world.clock.set(local(MONDAY + timedelta(days=7), 10))  # a week on, by the clock control
    assert await world.tick_reminders() == 1
    message = await zhang.expect("张三")
    assert "offline" not in message.text
    assert "No answer yet: 1 payment" in message.text
    rows = await world.storage.reminders_of(commitment_id=c.id)
    assert "late" not in {r.status for r in rows}
    assert {r.status for r in rows} == {"queued"}
    await world.assert_silent(zhang)


async def test_a_reminder_goes_out_at_once_not_at_the_outboxs_next_tick(world, bot):
    """Issue 16: reminders came ~4 s after the sandbox clock moved (the poller's tick, then the
    outbox's): the poller now wakes the outbox for what it queued."""
    zhang = await _agreed_for_tomorrow(world)
    world.clock.set(local(MONDAY, 9))
    assert await world.tick_reminders(deliver=False) == 1  # no outbox tick after it
    await zhang.expect("Tomorrow: 1 payment due", timeout=5)
