"""The flow engine as a person meets it (in-process bot, the clock moved by hand)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.people import Role
from tests.e2e.seed import case_id, ledger, row


async def _collector_with_case(world):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    return zhang


async def test_typed_text_at_a_button_question_is_matched_or_the_question_comes_again(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    await world.member(Role.COLLECTOR, "李娜")
    await _collector_with_case(world)
    await supervisor.send("/assign HT1")
    await supervisor.expect("Who should lead this case instead?")
    await supervisor.send("王五")  # nobody of that name
    hint = await supervisor.expect_next("not one of the choices")
    assert hint.buttons == []
    again = await supervisor.expect_next("Who should lead this case instead?")
    assert [label for row_ in again.buttons for label, _ in row_] == ["李娜", "✖ Cancel"]
    await supervisor.send("李娜")  # the label, typed
    await supervisor.expect_next("Change the lead collector?")
    await supervisor.send("1")  # the first option by its number: Workload
    done = await supervisor.expect_next("李娜 now leads 张三 (HT1)")
    assert "Reason: workload" in done.text


async def test_a_note_question_expires_after_an_hour_and_gives_the_text_back(world, bot, clock):
    zhang = await _collector_with_case(world)
    await zhang.send("/note HT1")
    await zhang.expect_next("Send the note for 张三 (HT1)")
    clock.advance(timedelta(hours=1, minutes=1))
    await zhang.send("明天上门")
    expired = await zhang.expect_next("waited too long")
    assert "明天上门" in expired.text
    assert await world.storage.count_notes(await case_id(world, "HT1")) == 0
    await zhang.send("hello")  # nothing waits any more
    await zhang.expect_next("/help")


async def test_cancel_ends_the_flow_and_takes_the_buttons_off_its_question(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    await world.member(Role.COLLECTOR, "李娜")
    await _collector_with_case(world)
    await supervisor.send("/cancel")
    await supervisor.expect_next("Nothing is waiting for an answer.")
    await supervisor.send("/assign HT1")
    question = await supervisor.expect_next("Who should lead this case instead?")
    await supervisor.send("/cancel")
    await supervisor.expect_next("Stopped: Lead collector. Nothing was saved.")
    asked = next(m for m in await supervisor.messages() if m.message_id == question.message_id)
    assert asked.buttons == []  # taken off the question
    await supervisor.press_data(question.message_id, question.buttons[0][0][1])
    await supervisor.expect_toast("This question has moved on")


async def test_the_cancel_button_under_a_question_stops_it(world, bot):
    zhang = await _collector_with_case(world)
    await zhang.send("/note HT1")
    await zhang.expect_next("Send the note for 张三 (HT1)")
    await zhang.press("✖ Cancel")
    stopped = await zhang.expect_next("Stopped: Note. Nothing was saved.")
    assert stopped.buttons == []
    await zhang.send("不是笔记")
    await zhang.expect_next("/help")
    assert await world.storage.count_notes(await case_id(world, "HT1")) == 0


async def test_a_note_by_name_uses_the_shared_case_search(world, bot):
    zhang = await _collector_with_case(world)
    await ledger(world, "东城", [
        row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000, collector="张伟"),
        row(3, "HT2", "张三丰", dpd=10, overdue_yuan=1_000, collector="张伟"),
    ])  # fmt: skip
    await zhang.send("/note 张三丰 电话未接")
    saved = await zhang.expect_next("Note saved on 张三丰 (HT2)")
    assert "电话未接" in saved.text
    # Two match "张三": the typed note waits while he picks the case.
    await zhang.send("/note 张三 上门未遇")
    choose = await zhang.expect_next("Several of your cases match “张三”")
    assert "上门未遇" in choose.text
    await zhang.press("张三 · HT1")
    done = await zhang.expect_next("Note saved on 张三 (HT1)")
    assert done.message_id == choose.message_id  # answered in place
    assert await world.storage.count_notes(await case_id(world, "HT1")) == 1
    assert await world.storage.count_notes(await case_id(world, "HT2")) == 1


async def test_cancelling_an_import_question_closes_the_import_and_drops_its_file(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    await world.member(Role.COLLECTOR, "张伟")
    csv = "合同号,借款人,逾期本金,逾期日期,清收人员\nHT1,张三,9000,2026-10-01,张伟\n"
    await supervisor.send_document("台账.csv", csv.encode(), "text/csv")
    await supervisor.expect_next("Reading")
    await supervisor.expect_next("Dry run", timeout=15)
    await supervisor.expect("now? New cases: 1")
    flow = await world.storage.open_flow(world.members[supervisor.id].id)
    import_id = flow.data["import_id"]
    assert (await world.storage.get_import(import_id)).status == "pending"
    await supervisor.press("✖ Cancel")
    await supervisor.expect("Stopped: Ledger import")
    record = await world.storage.get_import(import_id)
    assert (record.status, record.data) == ("cancelled", None)
