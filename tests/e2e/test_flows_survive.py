"""Conversations that survive: the bot *process* is stopped and started again between every two
steps of the note and assign flows, and each continues where it was.

Also the flow engine's promises as a person meets them: a second flow never overwrites the
first ("continue / drop"), a button after /cancel or after its question moved on changes
nothing and says so, a double tap changes once.
"""

from __future__ import annotations

from bot.domain.people import Role
from tests.e2e.conftest import World
from tests.e2e.seed import case_id, ledger, row


async def _team(world: World):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    zhang = await world.member(Role.COLLECTOR, "张伟")
    li = await world.member(Role.COLLECTOR, "李娜")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    return supervisor, zhang, li


async def test_the_note_flow_continues_across_restarts(world, bot_process):
    _supervisor, zhang, _li = await _team(world)
    await zhang.send("/case HT1")
    await zhang.expect("HT1", timeout=10)
    await bot_process.restart()

    await zhang.press("📝 Note")
    await zhang.expect("Send the note for 张三 (HT1)", timeout=10)
    await bot_process.restart()

    await zhang.send("电话未接，明天上门")
    saved = await zhang.expect("Note saved", timeout=10)
    assert "电话未接，明天上门" in saved.text
    cid = await case_id(world, "HT1")
    assert await world.storage.count_notes(cid) == 1
    await bot_process.restart()

    # Nothing waits any more: the next text is not a note.
    await zhang.send("hello")
    await zhang.expect("/help", timeout=10)
    assert await world.storage.count_notes(cid) == 1


async def test_the_assign_flow_continues_across_restarts_with_the_reason_in_words(
    world, bot_process
):
    supervisor, zhang, li = await _team(world)
    for person in (zhang, li):  # open their chats, so the bot may write to them
        await person.send("/start")
        await person.expect(timeout=10)

    await supervisor.send("/assign HT1")
    await supervisor.expect("Who should lead this case instead?", timeout=10)
    await bot_process.restart()
    await supervisor.press("李娜")
    await supervisor.expect("Change the lead collector?", timeout=10)
    await bot_process.restart()
    await supervisor.press("Other reason")
    await supervisor.expect("Send the reason in one line", timeout=10)
    await bot_process.restart()
    await supervisor.send("借款人是张伟的亲戚，需要回避")
    done = await supervisor.expect("李娜 now leads 张三 (HT1)", timeout=10)
    assert "借款人是张伟的亲戚，需要回避" in done.text

    admin = world.members[(await world.member(Role.ADMIN, "主任", team=None)).id]
    history = (await world.storage.get_case(admin, await case_id(world, "HT1"))).leads
    assert [(h.to_name, h.reason.value, h.note) for h in history[:1]] == [
        ("李娜", "other", "借款人是张伟的亲戚，需要回避")
    ]
    await zhang.expect("gave 张三 (HT1) to 李娜", timeout=10)
    await li.expect("made you the lead collector of 张三", timeout=10)


async def test_a_second_flow_asks_continue_or_drop_and_never_overwrites(world, bot_process):
    await _team(world)
    admin = await world.member(Role.ADMIN, "主任", team=None)
    await admin.send("/invite 王五")
    role_question = await admin.expect("Whom do you want to invite?", timeout=10)
    await admin.send("/case HT1")
    await admin.expect("HT1", timeout=10)
    await admin.press("📝 Note")
    conflict = await admin.expect("You are in the middle of: Invite", timeout=10)
    assert "Note" in conflict.text
    await bot_process.restart()
    await admin.press("Continue", conflict)
    # The invite's question is asked again; the old one's buttons are gone.
    await admin.expect("Whom do you want to invite?", timeout=10)
    await admin.press("A collector")
    await admin.expect("Which team will they join?", timeout=10)
    await admin.press("东城")
    created = await admin.expect("/start", timeout=10)
    invites = [e for e in await world.storage.audit_log(entity="invite") if e.action == "create"]
    assert len(invites) == 1
    code = created.text.split("/start ")[1].split()[0]
    invite = await world.storage.get_invite(code)
    assert (invite.staff_name, invite.role.value) == ("王五", "collector")
    # The first question's buttons no longer act.
    await admin.press_data(role_question.message_id, role_question.buttons[0][0][1])
    await admin.expect_toast("This question has moved on")
    assert len([e for e in await world.storage.audit_log(entity="invite")
                if e.action == "create"]) == 1  # fmt: skip

    # Dropping instead: the open flow ends, the new one starts.
    await admin.send("/invite 赵六")
    await admin.expect("Whom do you want to invite?", timeout=10)
    await admin.send("/note HT1")
    await admin.expect("You are in the middle of: Invite", timeout=10)
    await admin.press("Drop it")
    await admin.expect("Send the note for 张三 (HT1)", timeout=10)
    await admin.send("担保人愿意配合")
    await admin.expect("Note saved", timeout=10)


async def test_buttons_after_cancel_or_moved_on_change_nothing_and_a_double_tap_counts_once(
    world, bot_process
):
    supervisor, zhang, li = await _team(world)
    for person in (zhang, li):
        await person.send("/start")
        await person.expect(timeout=10)
    await supervisor.send("/assign HT1")
    choose = await supervisor.expect("Who should lead this case instead?", timeout=10)
    await supervisor.send("/cancel")
    await supervisor.expect("Stopped: Lead collector", timeout=10)
    await supervisor.press_data(choose.message_id, choose.buttons[0][0][1])
    await supervisor.expect_toast("This question has moved on")
    cid = await case_id(world, "HT1")
    admin = world.members[(await world.member(Role.ADMIN, "主任", team=None)).id]
    assert (await world.storage.get_case(admin, cid)).summary.lead_name == "张伟"

    # A double tap on "Workload": one change, one notice to each collector.
    await supervisor.send("/assign HT1")
    await supervisor.expect("Who should lead this case instead?", timeout=10)
    await supervisor.press("李娜")
    warning = await supervisor.expect("Change the lead collector?", timeout=10)
    data = next(d for row_ in warning.buttons for label, d in row_ if label == "Workload")
    await supervisor.press_data(warning.message_id, data)
    await supervisor.press_data(warning.message_id, data)
    await supervisor.expect("李娜 now leads 张三 (HT1)", timeout=10)
    await supervisor.expect_toast("This question has moved on")
    leads = (await world.storage.get_case(admin, cid)).leads
    assert [h.to_name for h in leads].count("李娜") == 1
    await li.expect("made you the lead collector of 张三", timeout=10)
    await zhang.expect("gave 张三 (HT1) to 李娜", timeout=10)
    assert [m for m in await li.unread(wait=1.0) if "lead collector" in m.text] == []
