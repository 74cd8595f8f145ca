"""What a new user tripped over in the sandbox, as they saw it (issue 7, item 6): through the
bot and the emulator, as a person would. The rendered-message checks are in
tests/unit/test_messages_read_well.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.domain.cases import CaseStatus
from bot.domain.people import Role
from bot.sandbox import BOT_USERNAME, DEMO_PEOPLE, seed_demo
from bot.storage import NewOutboxMessage, SqliteStorage
from tests.e2e.conftest import START, TOKEN, World
from tests.e2e.seed import case_id, ledger, row
from tgemu import Emulator, EmulatorConfig


async def test_users_header_and_people_are_on_separate_lines(world: World, bot):
    admin = await world.member(Role.ADMIN, "王主任", team=None)
    await world.member(Role.SUPERVISOR, "李组长")
    await admin.send("/users")
    listing = await admin.expect("Everyone")
    lines = listing.text.splitlines()
    assert lines[0] == "Everyone (2)"
    assert "◆ 李组长 · 东城" in lines


# -- a first message in the person's Telegram language ------------------------------------


async def test_demo_people_get_their_first_message_in_their_telegram_language(tmp_path):
    clock = ManualClock(START)
    storage = await SqliteStorage.open(tmp_path / "demo.db", now=START)
    try:
        async with Emulator(EmulatorConfig(port=0)) as emulator:
            emulator.add_bot(TOKEN, username=BOT_USERNAME, first_name="清收")
            people = await seed_demo(storage, emulator, clock)
        chen = await storage.get_user_by_telegram_id(people["collector2"].id)
        zhang = await storage.get_user_by_telegram_id(people["collector"].id)
        assert chen is not None
        assert zhang is not None
        assert chen.effective_locale("zh_Hant") == "en"
        assert zhang.effective_locale("en") == "zh_Hans"
        # The outbox (an assignment notice before their first /start) renders in it.
        await storage.enqueue(NewOutboxMessage(chen.id, "notify/invite_used", {}), now=START)
        (item,) = await storage.due_outbox(START + timedelta(seconds=1))
        assert item.locale == "en"
    finally:
        await storage.close()
    assert {p.language_code for p in DEMO_PEOPLE} >= {"en", "zh-hans"}


# -- what a mistyped command probably meant -----------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("/case王建国", "Did you mean /case 王建国?"),
        ("/caes", "Did you mean /cases?"),
        ("/todya", "Did you mean /today?"),
        ("/note王建国 电话未接", "Did you mean /note 王建国 电话未接?"),
    ],
)
async def test_a_mistyped_command_gets_what_was_probably_meant(world: World, bot, typed, meant):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await zhang.send(typed)
    reply = await zhang.expect_next()
    assert reply.text.splitlines() == [meant, "Send /help to see what I can do."]


async def test_a_collector_is_not_offered_a_supervisors_command(world: World, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await zhang.send("/assing HT1")  # close to /assign, which collectors cannot use
    reply = await zhang.expect_next()
    assert reply.text == "I did not understand that. Send /help to see what I can do."


# -- the card on one screen, /today without gaps ------------------------------------------


async def test_card_shows_the_unknowns_as_a_count_and_a_button_that_lists_them(world, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "王建国", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await zhang.send("/case 王建国")
    card = await zhang.expect("HT1")
    assert "Still unknown before the meeting: " in card.text
    assert "how the business is doing" not in card.text
    (label,) = [label for r in card.buttons for label, _ in r if label.startswith("❓")]
    count = int(re.search(r"\((\d+)\)", label)[1])
    assert f"Still unknown before the meeting: {count} items" in card.text
    assert (f"❓ Still unknown ({count})", f"cs.u:{await case_id(world, 'HT1')}") in [
        b for r in card.buttons for b in r
    ]
    await zhang.press(label, card)
    checklist = await zhang.expect("Still unknown: find out before the meeting")
    assert "how the business is doing" in checklist.text
    assert len([line for line in checklist.text.splitlines() if line.startswith("• ")]) == count


async def test_today_does_not_repeat_the_long_explanation(world: World, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await zhang.send("/today")
    today = await zhang.expect("Today")
    assert "then the most urgent others up to five" not in today.text
    assert "Contact counts from the last note" not in today.text
    assert today.text.splitlines()[2].startswith("1. 张三")
    await zhang.send("/help")
    help_text = (await zhang.expect("How the lists are made")).text
    assert "then the most urgent others up to five" in help_text
    assert "Contact counts from the last note" in help_text


# -- switching a person off ---------------------------------------------------------------


async def test_switching_off_asks_first_warns_of_their_open_cases_and_leads_back(world, bot):
    admin = await world.member(Role.ADMIN, "王主任", team=None)
    await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [
        row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000, collector="张伟"),
        row(3, "HT2", "李四", dpd=20, overdue_yuan=5_000, collector="张伟"),
    ])  # fmt: skip
    admin_user = world.members[admin.id]
    settled = await case_id(world, "HT2")
    await world.storage.set_case_flags(
        settled, status=CaseStatus.SETTLED, actor_id=admin_user.id, now=START
    )
    await admin.send("/users")
    listing = await admin.expect("Everyone")
    await admin.press("张伟", listing)
    card = await admin.expect("Access: on")
    assert ["◀ Back to the list"] in [[label for label, _ in r] for r in card.buttons]

    await admin.press("Switch access off", card)
    confirm = await admin.expect("Switch off access for 张伟?")
    assert "Open cases with 张伟 as lead collector: 1." in confirm.text  # HT2 is settled
    assert (await world.storage.get_user_by_telegram_id(_telegram_id(world, "张伟"))).active

    await admin.press("No, keep their access", confirm)
    kept = await admin.expect("Access: on")
    assert (await world.storage.get_user_by_telegram_id(_telegram_id(world, "张伟"))).active

    await admin.press("Switch access off", kept)
    await admin.expect("Switch off access for 张伟?")
    await admin.press("Yes, switch access off")
    done = await admin.expect("Access switched off")
    assert "Open cases that still name 张伟 as lead collector: 1." in done.text
    assert not (await world.storage.get_user_by_telegram_id(_telegram_id(world, "张伟"))).active

    await admin.press("◀ Back to the list", done)
    back = await admin.expect("Everyone")
    assert "张伟 · 东城 · switched off" in back.text


def _telegram_id(world: World, name: str) -> int:
    return next(u.telegram_id for u in world.members.values() if u.name == name)


async def test_a_literal_closing_tag_in_a_note_is_not_a_tappable_command(world: World, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "王建国", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await world.storage.add_note(world.members[zhang.id], await case_id(world, "HT1"),
                                 "他说 </b> 是什么意思", now=START)  # fmt: skip
    await zhang.send("/case HT1")
    card = await zhang.expect("HT1")
    assert "他说 </b> 是什么意思" in card.text
    assert [e for e in card.entities if e["type"] == "bot_command"] == []


async def test_a_ledger_without_balance_and_security_columns_shows_not_in_the_file(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    await supervisor.send("/start")
    await supervisor.expect()
    csv = "合同号,借款人,逾期本金,逾期日期\nHT1,王建国,9000,2026-10-01\n".encode()
    await supervisor.send_document("ledger.csv", csv, "text/csv")
    await supervisor.expect("Reading")  # its own message, before the dry run
    await supervisor.expect("Dry run", timeout=15)
    await supervisor.expect("now? New cases")  # the question, under the file of refused rows
    await supervisor.press("Import")
    await supervisor.expect("Imported", timeout=15)
    await supervisor.send("/case HT1")
    card = await supervisor.expect("HT1")
    assert "mostly on credit" not in card.text
    # The loan and the security are in the file, one tap from the card (issue 16).
    await supervisor.press("📄 Full file", card)
    details = await supervisor.expect("Principal outstanding")
    assert "Principal outstanding: not in the file" in details.text
    assert "Collateral: not in the file" in details.text
    assert "mostly on credit" not in (await supervisor.expect("Why now")).text
