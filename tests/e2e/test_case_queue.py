"""The queue, the case card, notes, lead changes and access — end to end, as people use them.

Cases are written through the same storage path an import takes (plan → apply); everything
else goes through the emulator over HTTP: /cases, /case, /note, /assign, buttons and forged
buttons.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.cases import PartyRole, RelatedParty
from bot.domain.people import Role
from bot.domain.urgency import Deterioration
from tests.e2e.conftest import START
from tests.e2e.seed import case_id, ledger, row


async def test_a_younger_case_with_growth_collateral_and_a_sliding_business_ranks_first(world, bot):
    """Strategy 11: not just age. Ignore the score and order by days past due, and this fails."""
    zhang = await world.member(Role.COLLECTOR, "张伟")
    old = row(2, "HT-OLD", "老户", dpd=200, overdue_yuan=50_000, collector="张伟",
              guarantees="某某担保")  # fmt: skip
    young = row(3, "HT-NEW", "新户", dpd=20, overdue_yuan=40_000, collector="张伟",
                collateral="商铺", collateral_yuan=80_000)  # fmt: skip
    await ledger(world, "东城", [old, young], at=START - timedelta(days=1))
    grown = row(3, "HT-NEW", "新户", dpd=20, overdue_yuan=48_000, collector="张伟",
                collateral="商铺", collateral_yuan=80_000)  # fmt: skip
    await ledger(world, "东城", [old, grown])
    await world.storage.set_case_flags(
        await case_id(world, "HT-NEW"),
        deterioration=[Deterioration.BUSINESS_SLIDING],
        actor_id=None,
        now=START,
    )

    await zhang.send("/cases")
    queue = await zhang.expect("Cases by urgency")
    labels = [label for r in queue.buttons for label, _ in r]
    assert labels[:2] == ["1. 新户 · HT-NEW", "2. 老户 · HT-OLD"]
    first = queue.text.split("2. 老户")[0]
    assert "business sliding" in first
    assert "overdue up" in first
    # The old case's guarantor is on file but unassessed: no "mostly on credit" claim.
    assert "mostly on credit" not in queue.text


async def test_a_note_counts_as_contact_and_the_rule_says_so(world, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await zhang.send("/today")
    today = await zhang.expect("Today")
    assert "no note or contact recorded yet" in today.text
    await zhang.send("/help")  # the rule is in /help, not repeated on every list
    rules = await zhang.expect("How the lists are made")
    assert "Contact counts from the last note on the case" in rules.text

    await zhang.send("/note HT1 打电话给借款人，答应周三来社里")
    await zhang.expect("Note saved")
    summary = (await world.storage.list_cases(world.members[zhang.id]))[0]
    assert summary.last_contact_at is not None
    assert summary.last_contact_at >= START
    await zhang.send("/case HT1")
    card = await zhang.expect("HT1")
    assert "no note or contact recorded yet" not in card.text


async def test_a_note_to_a_mistyped_contract_gives_the_text_back(world, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await zhang.send("/note HT7 答应周三带五千元来社里")
    reply = await zhang.expect("No case of yours matches")
    assert "Your note was not saved" in reply.text
    assert "答应周三带五千元来社里" in reply.text  # nothing typed is lost
    case_id = (await world.storage.list_cases(world.members[zhang.id]))[0].id
    assert (await world.storage.get_case(world.members[zhang.id], case_id)).note_count == 0


async def test_other_reason_asks_for_the_reason_in_words_and_records_it(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    zhang = await world.member(Role.COLLECTOR, "张伟")
    li = await world.member(Role.COLLECTOR, "李娜")
    for person in (zhang, li):  # open their chats, so the bot may write to them
        await person.send("/start")
        await person.expect()
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip

    await supervisor.send("/assign HT1")
    await supervisor.expect("Who should lead this case instead?")
    await supervisor.press("李娜")
    await supervisor.expect("Change the lead collector?")
    await supervisor.press("Other reason")
    await supervisor.expect("Send the reason in one line")
    state = await world.storage.open_flow(world.members[supervisor.id].id)
    assert state is not None
    assert (state.flow, state.step) == ("assign", "reason_text")
    await supervisor.send("第一行\n第二行")
    await supervisor.expect("one line")  # refused, still waiting, nothing changed
    again = await world.storage.open_flow(world.members[supervisor.id].id)
    assert (again.id, again.step, again.version) == (state.id, "reason_text", state.version)
    await supervisor.send("借款人是张伟的亲戚，需要回避")
    done = await supervisor.expect("李娜 now leads 张三 (HT1)")
    assert "借款人是张伟的亲戚，需要回避" in done.text

    admin = world.members[(await world.member(Role.ADMIN, "主任", team=None)).id]
    history = (await world.storage.get_case(admin, await case_id(world, "HT1"))).leads
    assert (history[0].reason.value, history[0].note) == ("other", "借款人是张伟的亲戚，需要回避")
    await world.tick()
    told = await zhang.expect_next("gave 张三 (HT1) to 李娜")
    assert "借款人是张伟的亲戚，需要回避" in told.text
    await li.expect_next("made you the lead collector of 张三 (HT1)")


async def test_another_team_and_another_collector_are_refused_everywhere(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    zhang = await world.member(Role.COLLECTOR, "张伟")
    li = await world.member(Role.COLLECTOR, "李娜")
    west = await world.member(Role.SUPERVISOR, "西城组长", team="西城")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟", phone="13800001111")])  # fmt: skip
    cid = await case_id(world, "HT1")

    # Zhang finds his case by the borrower's phone.
    await zhang.send("/case 13800001111")
    assert "HT1" in (await zhang.expect("张三")).text

    # The other team's supervisor: not in the queue, not by number, name or phone, not by a
    # forged button, not to assign.
    await west.send("/cases")
    assert "No open cases." in (await west.expect("Cases by urgency")).text
    for query in ("HT1", "张三", "13800001111"):
        await west.send(f"/case {query}")
        assert "No case of yours matches" in (await west.expect()).text
    await west.send("/assign HT1")
    assert "No case of yours matches" in (await west.expect()).text
    await west.send("/cases")
    own = await west.expect("Cases by urgency")
    for data in (f"cs.o:{cid}", f"cn:{cid}", f"ac:{cid}", f"cs.u:{cid}"):
        await west.press_data(own.message_id, data)
        assert "No such case among yours" in (await west.expect_toast())["text"]

    # Another collector of the same team: no note by a forged button, none by /note.
    await li.send("/cases")
    mine = await li.expect("Cases by urgency")
    await li.press_data(mine.message_id, f"cn:{cid}")
    assert "No such case among yours" in (await li.expect_toast())["text"]
    assert await world.storage.open_flow(world.members[li.id].id) is None
    await li.send("/note HT1 我来写一条")
    assert "No case of yours matches" in (await li.expect()).text
    assert await world.storage.count_notes(cid) == 0

    # The case's own supervisor still sees it, led by Zhang.
    await supervisor.send("/case HT1")
    assert "张伟" in (await supervisor.expect("HT1")).text
    await world.assert_silent(zhang)


async def test_at_seven_in_the_morning_in_shanghai_days_count_by_the_local_date(world, bot):
    """07:00 in Shanghai is 23:00 UTC the day before: days past due count from Shanghai's."""
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=10, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    world.clock.set(datetime(2026, 11, 29, 23, 0, tzinfo=UTC))  # 30 Nov 07:00 in Shanghai
    await zhang.send("/case HT1")
    card = await zhang.expect("HT1")
    assert "10 days past due" in card.text  # UTC's date (29 Nov) would say 9


async def test_a_card_with_twelve_guarantors_and_forty_notes_fits_in_traditional_chinese(
    world, bot
):
    zhang = await world.member(Role.COLLECTOR, "张伟", lang="zh_Hant")
    guarantors = tuple(RelatedParty(PartyRole.GUARANTOR, f"保人{i:02d}") for i in range(12))
    names = "、".join(g.name for g in guarantors)
    loan = row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000, collector="张伟",
               parties=guarantors, guarantees=names)  # fmt: skip
    await ledger(world, "东城", [loan])
    cid = await case_id(world, "HT1")
    user = world.members[zhang.id]
    for i in range(40):
        await world.storage.add_note(user, cid, f"第{i}次：" + "借款人說下週還款。" * 30,
                                     now=START + timedelta(minutes=i))  # fmt: skip
    await zhang.send("/case HT1")
    card = await zhang.expect("HT1")
    assert len(card.text) <= 4096
    await zhang.press("❓", card)
    assert "擔保人（12人）" in (await zhang.expect("尚不清楚")).text
    assert "40" in card.text  # the latest three of forty notes
    assert "第39次" in card.text
    assert "第0次" not in card.text


async def test_overnight_a_case_crossing_thirty_days_past_due_rises_with_nothing_written(
    world, bot
):
    """The queue reads stored sort keys (issue 17); a key whose day came is worked out again
    before the page is read, so the date alone reorders the queue, as the rule says."""
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [
        row(2, "HT-30", "将满月", dpd=30, overdue_yuan=9_000, collector="张伟"),
        row(3, "HT-BIG", "大额户", dpd=10, overdue_yuan=150_000, collector="张伟"),
    ])  # fmt: skip
    await zhang.send("/cases")
    queue = await zhang.expect("Cases by urgency")
    labels = [label for r in queue.buttons for label, _ in r]
    assert labels == ["1. 大额户 · HT-BIG", "2. 将满月 · HT-30"]
    world.clock.set(world.clock.now() + timedelta(days=1))
    await zhang.send("/cases")
    queue = await zhang.expect("Cases by urgency")
    labels = [label for r in queue.buttons for label, _ in r]
    # 31 days past due now: the same score as the larger debt, and older, so first.
    assert labels == ["1. 将满月 · HT-30", "2. 大额户 · HT-BIG"]
    assert "31 days" in queue.text.split("2. 大额户")[0]
