"""A ledger sent while another question is open (issue 16, "What a new user found → Smaller"):
before, a CSV sent during /assign's choice got "That is not one of the choices" and was
dropped without a word. Now it is kept (in the database: a restart loses nothing), the person
is told so in a line and asked the open question again, and once that question is answered
or dropped they are offered "Import the ledger you sent?" — Import runs the import.
"""

from __future__ import annotations

from bot.domain.people import Role
from tests.e2e.conftest import World
from tests.e2e.seed import case_id, ledger, row
from tests.e2e.test_cases import as_csv

ROWS = [
    ["HT90001", "赵一", "13800000001", "60,000.00", "10000", "1.50", "2026-10-01", "", "",
     "张伟", "王经理"],
    ["HT90002", "钱二", "13800000002", "70,000.00", "20000", "2.50", "2026-09-01", "", "",
     "李娜", "王经理"],
]  # fmt: skip


async def _team(world: World):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    zhang = await world.member(Role.COLLECTOR, "张伟")
    li = await world.member(Role.COLLECTOR, "李娜")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    for person in (zhang, li):  # open their chats, so the bot may write to them
        await person.send("/start")
        await person.expect(timeout=10)
    return supervisor, zhang, li


async def _held(world: World) -> list[tuple[str, str]]:
    rows = await world.storage._fetchall("SELECT file_name, status FROM held_files ORDER BY id")
    return [tuple(r) for r in rows]


async def test_a_ledger_sent_during_assign_is_kept_offered_after_the_choice_and_imported(
    world, bot
):
    supervisor, zhang, li = await _team(world)
    boss = world.members[supervisor.id]
    await supervisor.send("/assign HT1")
    await supervisor.expect("Who should lead this case instead?")

    await supervisor.send_document("台账.csv", as_csv(ROWS), "text/csv")
    kept = await supervisor.expect("台账.csv")
    assert "not one of the choices" not in kept.text
    assert (
        kept.text == "📎 I keep “台账.csv” and will offer to import it once this question is done."
    )
    # The open question is asked again, with its buttons.
    again = await supervisor.expect("Who should lead this case instead?")
    assert "李娜" in [t for r in again.buttons for t, _ in r]
    assert await _held(world) == [("台账.csv", "held")]
    assert await world.storage.list_cases(boss) != []  # only HT1 so far
    assert {c.contract_no for c in await world.storage.list_cases(boss)} == {"HT1"}

    # The choice is answered; the flow goes on (a reason), and only once it is done is the
    # file offered.
    await supervisor.press("李娜", again)
    await supervisor.expect("Change the lead collector?")
    await supervisor.press("Workload")
    await supervisor.expect("李娜 now leads 张三 (HT1)")
    offer = await supervisor.expect("Import the ledger you sent")
    assert offer.text == "📎 Import the ledger you sent, “台账.csv”?"
    assert [[t for t, _ in r] for r in offer.buttons] == [["Import", "Discard"]]
    assert await _held(world) == [("台账.csv", "offered")]

    await supervisor.press("Import", offer)
    await supervisor.expect("Reading “台账.csv”")
    await supervisor.expect("Dry run", timeout=15)
    await supervisor.expect("into team 东城 now? New cases: 2")
    await supervisor.press("Import")
    await supervisor.expect("Imported", timeout=15)
    assert {c.contract_no for c in await world.storage.list_cases(boss)} == {
        "HT1", "HT90001", "HT90002"}  # fmt: skip
    assert await _held(world) == [("台账.csv", "imported")]
    # A second tap on the old offer (its buttons are gone; a replayed press) imports nothing.
    await supervisor.press_data(offer.message_id, offer.buttons[0][0][1])
    await supervisor.expect_toast("imported or discarded already")
    await world.tick()  # the collectors are told of the new lead and the new cases
    await zhang.expect("gave 张三 (HT1) to 李娜")
    await li.expect("made you the lead collector of 张三")
    for person in (zhang, li):
        await person.expect("new cases to lead: 1")


async def test_a_collector_who_cannot_import_is_told_and_asked_the_question_again(world, bot):
    _supervisor, zhang, _li = await _team(world)
    await zhang.send("/case HT1")
    await zhang.expect("HT1")
    await zhang.press("📝 Note")
    await zhang.expect("Send the note for 张三 (HT1)")
    await zhang.send_document("台账.xlsx", b"PK\x03\x04 not really", "application/vnd.ms-excel")
    await zhang.expect("Only supervisors and admins import the ledger")
    await zhang.expect("Send the note for 张三 (HT1)")
    assert await _held(world) == []
    await zhang.send("电话未接")
    await zhang.expect("Note saved")
    await world.assert_silent(zhang)  # nothing offered


async def test_a_kept_ledger_survives_a_restart_and_is_offered_after_cancel(world, bot_process):
    supervisor, _zhang, _li = await _team(world)
    await supervisor.send("/assign HT1")
    await supervisor.expect("Who should lead this case instead?", timeout=10)
    await supervisor.send_document("ledger.csv", as_csv(ROWS), "text/csv")
    await supervisor.expect("I keep “ledger.csv”", timeout=10)
    await supervisor.expect("Who should lead this case instead?", timeout=10)
    await bot_process.restart()

    await supervisor.send("/cancel")
    await supervisor.expect("Stopped: Lead collector", timeout=10)
    offer = await supervisor.expect("Import the ledger you sent, “ledger.csv”?", timeout=10)
    await bot_process.restart()
    await supervisor.press("Discard", offer)
    await supervisor.expect("“ledger.csv” discarded: nothing was imported.", timeout=10)
    assert await _held(world) == [("ledger.csv", "discarded")]
    cid = await case_id(world, "HT1")
    assert cid  # the case is as it was; nothing imported
