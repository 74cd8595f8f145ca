"""/prep end to end: the interview a collector goes through minutes before a meeting, the
figures refused and corrected, and the brief they read before walking in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.domain.cases import Attitude, PartyRole, RelatedParty
from bot.domain.people import Role
from tests.e2e.seed import case_id, ledger, row
from tgemu import BotMessage, Person

#: Telegram shows about this many lines of a message on a 375 px phone screen.
SCREEN_LINES = 25


@dataclass
class Counted:
    """A collector whose taps and typed answers are counted."""

    person: Person
    taps: int = 0
    typed: int = 0
    log: list[str] = field(default_factory=list)

    async def tap(self, label: str) -> None:
        self.taps += 1
        self.log.append(f"tap {label}")
        await self.person.press(label)

    async def type(self, text: str) -> None:
        self.typed += 1
        self.log.append(f"type {text}")
        await self.person.send(text)

    async def question(self, contains: str) -> BotMessage:
        return await self.person.expect(contains)


async def _case_with_guarantor(world):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    guarantor = RelatedParty(PartyRole.GUARANTOR, "李四", "13900001111", "兄弟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟", parties=(guarantor,))])  # fmt: skip
    return zhang


async def test_a_collector_prepares_a_meeting_in_few_taps_and_gets_a_one_screen_brief(world, bot):
    zhang = Counted(await _case_with_guarantor(world))
    await zhang.person.send("/prep HT1")
    await zhang.question("Can they repay?")
    # 1 Know them
    await zhang.tap("can repay part")
    await zhang.question("How is their business doing?")
    await zhang.tap("business declining")
    await zhang.question("What kind of counterpart")
    await zhang.tap("novice or weak")
    await zhang.question("Where can we press?")
    await zhang.tap("reputation")
    await zhang.question("Where can we press?")  # the same question, ✓ reputation
    await zhang.tap("✔ Done")
    await zhang.question("How good is the loan file")
    await zhang.tap("⏩ Rest of this part later")
    # 2 Our lines: typed, the order of 策略10 checked as they come
    await zhang.question("Our bottom line")
    await zhang.type("6000")
    await zhang.question("Our target")
    await zhang.type("8千")
    await zhang.question("Our opening ask")
    await zhang.type("九千")
    await zhang.question("Which concessions need the supervisor?")
    await zhang.tap("✔ Done")
    # 3 This meeting
    await zhang.question("What kind of meeting is this?")
    await zhang.tap("result meeting")
    await zhang.question("Where?")
    await zhang.tap("home")
    await zhang.question("The one step this meeting must achieve?")
    await zhang.tap("collect part of the debt today")
    await zhang.question("Who attends")
    await zhang.tap("⏩ Rest of this part later")
    # 4 Approach: the document's approach for a novice is pressure
    approach = await zhang.question("the document's approach is: Pressure")
    assert "precedent" in approach.text  # 策略8's line, ready for concession requests
    await zhang.tap("★ Pressure")
    await zhang.question("Open questions to ask first")
    await zhang.tap("⏩ Rest of this part later")
    # 5 Money today: may not be skipped for a result meeting
    money = await zhang.question("How much will you ask for on the spot")
    assert "⏭ Later" not in [label for r in money.buttons for label, _ in r]
    await zhang.type("2000")

    brief = await zhang.question("💵")
    assert zhang.taps <= 15, zhang.log
    assert zhang.typed <= 4, zhang.log
    text = brief.text
    figures = next(line for line in text.splitlines() if "≥" in line)
    assert re.search(r"9,000\.00 ≥ \w+ \D*8,000\.00 ≥ \w+ \D*6,000\.00", figures), figures
    assert re.search(r"Money today: \D*2,000\.00", text)
    assert "collect part of the debt today" in text
    assert "Pressure" in text
    assert "strategy 3" in text  # a result meeting at the borrower's home: 主场作战
    assert len(text.splitlines()) <= SCREEN_LINES
    assert len(text) < 1500
    print(f"/prep: {zhang.taps} taps, {zhang.typed} typed; brief {len(text.splitlines())} lines")

    # Stored: the figures, the approach, the urgency input (business sliding); the guarantor's
    # stance was left for later (the part was skipped), so it is still unknown.
    admin = world.members[(await world.member(Role.ADMIN, "主任", team=None)).id]
    case_file = await world.storage.get_case(admin, await case_id(world, "HT1"))
    prep = case_file.latest_prep
    assert prep is not None
    assert (prep.answers.figures.opening, prep.answers.figures.target,
            prep.answers.figures.bottom) == (900_000, 800_000, 600_000)  # fmt: skip
    assert prep.approach.value == "pressure"
    assert "business_sliding" in {d.value for d in case_file.summary.deterioration}
    assert case_file.parties[0].party.attitude is Attitude.UNKNOWN
    # /brief sends the same plan again.
    await zhang.person.send("/brief HT1")
    again = await zhang.person.expect("💵")
    assert again.text == text


async def test_figures_out_of_order_are_refused_and_only_the_wrong_one_is_asked_again(world, bot):
    """Typing 5000 / 8000 / 6000 (opening / target / bottom line) breaks 取上求中."""
    zhang = await _case_with_guarantor(world)
    await zhang.send("/prep HT1")
    await zhang.expect("Can they repay?")
    await zhang.press("⏩ Rest of this part later")
    await zhang.expect("Our bottom line")
    await zhang.send("6000")
    await zhang.expect("Our target")
    await zhang.send("8000")
    await zhang.expect("Our opening ask")
    await zhang.send("5000")
    refusal = await zhang.expect("cannot be below the target")
    assert "open above it, then concede reluctantly" in refusal.text
    assert "the other figures are kept" in refusal.text
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert (state.step, state.data["bottom"], state.data["target"]) == ("opening", 600_000, 800_000)
    await zhang.send("0.9万")
    await zhang.expect("Which concessions need the supervisor?")
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert (state.data["bottom"], state.data["target"], state.data["opening"]) == (
        600_000, 800_000, 900_000,
    )  # fmt: skip
    # A zero is refused, and so is a figure above what they owe (¥9,000 overdue).
    await zhang.send("/cancel")
    await zhang.expect("Stopped: Meeting preparation")
    await zhang.send("/prep HT1")
    await zhang.expect("Can they repay?")
    await zhang.press("⏩ Rest of this part later")
    await zhang.expect("Our bottom line")
    await zhang.send("0")
    await zhang.expect("must be more than zero")
    await zhang.send("十万")
    await zhang.expect("cannot be more than the borrower owes")
    await zhang.send("5000")
    await zhang.expect("Our target")


async def test_preparing_again_with_another_approach_asks_why_and_the_card_shows_it(world, bot):
    zhang = await _case_with_guarantor(world)
    cid = await case_id(world, "HT1")
    for character, approach in (("novice or weak", "★ Pressure"), ("vain, cares", "★ Flattery")):
        await zhang.send("/prep HT1")
        first = await zhang.expect("Can they repay?")
        assert ("Last time" in first.text) == (approach == "★ Flattery")
        await zhang.press("⏩ Rest of this part later")
        await zhang.expect("Our bottom line")
        await zhang.press("⏩ Rest of this part later")
        await zhang.expect("What kind of meeting")
        await zhang.press("⏩ Rest of this part later")
        await zhang.expect("Which approach?")
        if approach == "★ Flattery":
            # No character this time: set the approach by hand.
            await zhang.press("Flattery")
        else:
            await zhang.press("Pressure")
        await zhang.expect("Open questions")
        await zhang.press("⏩ Rest of this part later")
        await zhang.expect("How much will you ask for on the spot")
        await zhang.press("⏭ Later")
        if approach == "★ Flattery":
            why = await zhang.expect("Why the change?")
            assert "Pressure" in why.text
            assert "releases the pressure" in why.text
            await zhang.send("他很在意面子，施压没有用")
        await zhang.expect("💵")
        del character
    admin = world.members[(await world.member(Role.ADMIN, "主任", team=None)).id]
    case_file = await world.storage.get_case(admin, cid)
    change = case_file.approach_changes[0]
    assert (change.previous_approach.value, change.approach.value) == ("pressure", "flattery")
    assert change.approach_reason == "他很在意面子，施压没有用"
    audit = await world.storage.audit_log(entity="case")
    assert any(e.action == "approach_change" for e in audit)
    # The card shows the plan and the change, beside the lead collector's history (策略12).
    await zhang.send("/case HT1")
    card = await zhang.expect("HT1")
    assert "Prepared" in card.text
    assert next(label for r in card.buttons for label, _ in r) == "🧭 Prepare"
    # The history is one tap from the card (issue 16: the card fits one phone screen).
    await zhang.press("📄 Full file", card)
    await zhang.expect("Related parties")
    history = await zhang.expect("Approach changes")
    assert "他很在意面子，施压没有用" in history.text


async def test_only_the_lead_or_their_supervisor_prepares(world, bot):
    await _case_with_guarantor(world)
    li = await world.member(Role.COLLECTOR, "李娜")
    west = await world.member(Role.SUPERVISOR, "西城组长", team="西城")
    cid = await case_id(world, "HT1")
    for person in (li, west):
        await person.send("/prep HT1")
        assert "No case of yours matches" in (await person.expect()).text
        await person.send("/whoami")
        msg = await person.expect("Role")
        await person.press_data(msg.message_id, f"pp:{cid}")
        assert "No such case among yours" in (await person.expect_toast())["text"]
    boss = await world.member(Role.SUPERVISOR, "组长")
    await boss.send("/prep HT1")
    await boss.expect("Can they repay?")


async def test_the_brief_warns_after_two_meetings_without_agreement_and_leads_to_the_outcome(
    world, bot
):
    from datetime import date

    from bot.domain.commitments import Achieved, NewMeeting, NewPayment
    from bot.domain.prep import Figures, PrepAnswers, UrgencyFromPrep

    zhang = await _case_with_guarantor(world)
    cid = await case_id(world, "HT1")
    user = world.members[zhang.id]
    answers = PrepAnswers(figures=Figures(bottom=600_000, target=800_000, opening=900_000))
    await world.storage.add_prep(user, cid, answers, approach_reason=None,
                                 urgency=UrgencyFromPrep(), now=world.clock.now())  # fmt: skip
    for _ in range(2):
        meeting = NewMeeting(date(2026, 11, 30), "investigative", "home", None, Achieved.NO,
                             None, None, None, None, None)  # fmt: skip
        await world.storage.add_meeting(user, cid, meeting, NewPayment(0, None, date(2026, 11, 30)),
                                        now=world.clock.now())  # fmt: skip
    await zhang.send("/brief HT1")
    brief = await zhang.expect("💵")
    assert "strategy 2" in brief.text  # two meetings and no agreement: settle it this time
    await zhang.press("✍ Outcome", brief)
    await zhang.expect("What kind of meeting was it?")


async def test_a_button_label_typed_in_the_other_chinese_is_taken(world, bot):
    """Issue 16: with 繁體 chosen, typing a button's 简体 label ("经营下滑") was refused."""
    zhang = await world.member(Role.COLLECTOR, "张伟", lang="zh_Hant")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await zhang.send("/prep HT1")
    await zhang.expect("對方有還款能力嗎？")
    await zhang.send("有部分还款能力")  # the 简体 words of the 繁體 button 有部分還款能力
    await zhang.expect("經營")  # the next question: how their business is doing
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert state.data["capacity"] == "partial"
