"""A reminder answered in words (issue 16, "What a new user found → Smaller": "'paid' typed
under a reminder is not understood"). With no question open, a collector who replies to a
reminder, or just types, "paid", "paid 700", "partial", "missed" — or 已还, 还了, 部分 700,
没还, 已還, 沒還 whatever language they chose — answers it as its buttons would: a reply answers
that reminder's instalment; without a reply the one payment waiting for an answer, or, when
several wait, a short question lists them with their buttons.
"""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.commitments import NewCommitment, NewInstalment
from bot.domain.people import Role
from bot.labels import answer_rows
from bot.routes import INSTALMENT
from tests.e2e.seed import TODAY, case_id, ledger, row

YUAN = 100
#: Saturday, Sunday and Monday (today, 30 November): all three are due, none answered.
DUES = (date(2026, 11, 28), date(2026, 11, 29), TODAY)


async def _seed(world, *, lang: str):
    """张伟 leads HT1 (张三): an agreed plan of three ¥1,000 instalments, all due by today."""
    zhang = await world.member(Role.COLLECTOR, "张伟", lang=lang)
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    cid = await case_id(world, "HT1")
    commitment = await world.storage.add_commitment(
        world.members[zhang.id], cid,
        NewCommitment(0, None, None, {"kind": "dates"},
                      tuple(NewInstalment(d, 1000 * YUAN) for d in DUES), None),
        needs_approval=frozenset(), proposal={}, flow_id=None, notify=None,
        now=world.clock.now(), today=date(2026, 11, 27),
    )  # fmt: skip
    await zhang.send("/start")
    await zhang.expect()
    return zhang, cid, [i.id for i in commitment.instalments]


async def _remind(bot, person, cid, ids, label=str):
    """A reminder as the poller sends it: numbered answer rows per instalment."""
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for n, i in enumerate(ids, 1)
            for row in answer_rows(label, n, i, cid)
        ]
    )
    await bot.bot.send_message(person.id, f"Reminder {ids}", reply_markup=keyboard)
    return await person.expect(f"Reminder {ids}")


async def _state(world, instalment_id):
    (found,) = await world.storage._fetchall(
        "SELECT status, paid FROM instalments WHERE id = ?", (instalment_id,)
    )
    return tuple(found)


async def _payments(world):
    rows = await world.storage._fetchall(
        "SELECT instalment_id, amount, source FROM payments ORDER BY id"
    )
    return [tuple(r) for r in rows]


def _labels(message) -> list[list[str]]:
    return [[label for label, _ in r] for r in message.buttons]


async def test_paid_partial_and_missed_typed_in_english(world, bot):
    zhang, cid, (first, second, third) = await _seed(world, lang="en")
    both = await _remind(bot, zhang, cid, [first, second])

    # Typed with no reply, three payments wait: which one? Each with its buttons.
    await zhang.send("paid")
    which = await zhang.expect("Several payments wait for your answer")
    assert "1. 张三 · HT1 · instalment 1 of 3 · CN¥1,000.00" in which.text
    assert "3. 张三 · HT1 · instalment 3 of 3" in which.text
    assert [r[0] for r in which.buttons][::2] == [
        ("1 ✅ Paid in full", INSTALMENT.data(first, "paid")),
        ("2 ✅ Paid in full", INSTALMENT.data(second, "paid")),
        ("3 ✅ Paid in full", INSTALMENT.data(third, "paid")),
    ]
    assert await _payments(world) == []

    # A reply to a reminder of one instalment answers it: "paid 700" is 700 of it.
    only_first = await _remind(bot, zhang, cid, [first])
    await zhang.send("paid 700", reply_to=only_first.message_id)
    edited = await zhang.expect(f"Reminder {[first]}")
    assert _labels(edited) == [["1 ◐ 张三 · CN¥700.00 paid, CN¥300.00 open"]]
    done = await zhang.expect("Recorded: CN¥700.00 from 张三.")
    assert "CN¥300.00 of instalment 1" in done.text
    assert await _payments(world) == [(first, 70_000, "reminder")]

    # A reply to the reminder of two, both still open (¥300 of the first): which one? Its
    # buttons answer as the reminder's do, and the reminder's row shows it.
    await zhang.send("Paid.", reply_to=both.message_id)
    which = await zhang.expect("Several payments wait for your answer")
    assert "1. 张三 · HT1 · instalment 1 of 3 · CN¥300.00" in which.text
    assert "2. 张三 · HT1 · instalment 2 of 3 · CN¥1,000.00" in which.text
    await zhang.press("2 ✅ Paid in full", which)
    await zhang.expect_toast("✓ Recorded: 张三 paid CN¥1,000.00.")
    edited = await zhang.expect("Several payments wait for your answer")
    assert _labels(edited)[1] == ["2 ✓ 张三 · paid CN¥1,000.00"]
    assert await _state(world, second) == ("kept", 100_000)
    # The first, paid in part, still waits for its answer (as /today and the reminder say):
    # "paid" lists it beside the third, and its row pays the rest.
    await zhang.send("paid")
    which = await zhang.expect("Several payments wait for your answer")
    assert "1. 张三 · HT1 · instalment 1 of 3 · CN¥300.00" in which.text
    assert "2. 张三 · HT1 · instalment 3 of 3 · CN¥1,000.00" in which.text
    await zhang.press("1 ✅ Paid in full", which)
    await zhang.expect_toast("✓ Recorded: 张三 paid CN¥300.00.")
    await zhang.expect("Several payments wait for your answer")
    assert await _state(world, first) == ("kept", 100_000)

    # No reply, one payment waits: "missed" is its answer (why? as the button asks).
    await zhang.send("missed")
    await zhang.expect("Why did 张三 miss instalment 3")
    await zhang.press("No money now")
    await zhang.expect("Why did 张三 miss")
    await zhang.press("✔ Done")
    await zhang.expect("recorded as missed")
    assert (await _state(world, third))[0] == "broken"

    # Nothing waits now; words that are no answer go where they went before.
    await zhang.send("paid")
    await zhang.expect("No payment is waiting for your answer. /today lists what is due.")
    await zhang.send("hello")
    await zhang.expect("/help")
    assert await _payments(world) == [
        (first, 70_000, "reminder"), (second, 100_000, "reminder"), (first, 30_000, "reminder"),
    ]  # fmt: skip


async def test_paid_partial_and_missed_typed_in_simplified_and_traditional_chinese(world, bot):
    zhang, cid, (first, second, third) = await _seed(world, lang="zh_Hans")
    await _remind(bot, zhang, cid, [first, second, third])
    reminder_of_first = await _remind(bot, zhang, cid, [first])
    await zhang.send("已还", reply_to=reminder_of_first.message_id)
    await zhang.expect(f"Reminder {[first]}")  # its row shows the state
    await zhang.expect("已记录：张三已还¥1,000.00。")
    assert await _state(world, first) == ("kept", 100_000)
    # Its row is a label now: "paid" in reply to it again is no payment's answer (none is
    # guessed for it), and nothing is recorded twice.
    await zhang.send("已还", reply_to=reminder_of_first.message_id)
    await zhang.expect("这条消息里没有等您回答的还款。")

    # 繁體 words under a 简体 collector's reminder: the same answer (why? as the button asks).
    reminder_of_second = await _remind(bot, zhang, cid, [second])
    await zhang.send("沒還", reply_to=reminder_of_second.message_id)
    await zhang.expect("张三为什么没有还第2期")
    await zhang.send("/cancel")
    await zhang.expect("已停止：未还款。")
    assert (await _state(world, second))[0] == "open"
    await zhang.send("没还", reply_to=reminder_of_second.message_id)
    asked = await zhang.expect("张三为什么没有还第2期")
    await zhang.press("✔ 完成", asked)
    edited = await zhang.expect(f"Reminder {[second]}")
    assert _labels(edited) == [["1 ✗ 张三 · 未还¥1,000.00"]]
    await zhang.expect("已记录为未还款")
    assert (await _state(world, second))[0] == "broken"

    # No reply: one payment waits (the third); "部分 700" records ¥700 of it.
    await zhang.send("部分 700")
    done = await zhang.expect("已记录：收到张三¥700.00。")
    assert "还有¥300.00未还" in done.text
    assert await _state(world, third) == ("partial", 70_000)
    # Part-paid, it still waits for its answer (as /today lists it): "还了300" pays the rest.
    await zhang.send("还了300")
    done = await zhang.expect("已记录：收到张三¥300.00。")
    assert "第3期已全部还清。" in done.text
    assert await _state(world, third) == ("kept", 100_000)
    assert await _payments(world) == [
        (first, 100_000, "reminder"), (third, 70_000, "reminder"), (third, 30_000, "reminder"),
    ]  # fmt: skip
