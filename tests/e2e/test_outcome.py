"""/outcome end to end, and what the card makes of meetings and commitments (策略2, 策略12)."""

from __future__ import annotations

from datetime import date

from bot.domain.commitments import Achieved, Channel, CommitmentStatus, NewMeeting, NewPayment
from bot.domain.people import Role
from tests.e2e.conftest import expect_paper
from tests.e2e.seed import case_id, ledger, row
from tgemu import tiny_png


async def _case(world):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    return zhang


async def test_an_outcome_records_the_meeting_the_money_and_the_next_date_on_the_calendar(
    world, bot
):
    zhang = await _case(world)
    cid = await case_id(world, "HT1")
    await zhang.send("/outcome HT1")
    await zhang.expect("What kind of meeting was it?")
    await zhang.press("result meeting")
    await zhang.expect("Where was it held?")
    await zhang.press("our office")
    await zhang.expect("Who attended")
    await zhang.press("⏭ Later")
    await zhang.expect("Did the meeting achieve its step?")
    await zhang.press("Partly")
    await zhang.expect("What moved?")
    await zhang.send("承认欠款，答应下周带担保人来")
    await zhang.expect("How did the counterpart stand")
    await zhang.press("Evasive, stalling")
    await zhang.expect("Money received today")
    await zhang.send("1500")
    await zhang.expect("How was it paid?")
    await zhang.press("Cash")
    await zhang.expect("A photo of the receipt")
    await zhang.send_document("收据.png", tiny_png(), "image/png")
    await zhang.expect("The next step?")
    await zhang.press("meet the guarantor")
    calendar = await zhang.expect("When? Tap a day")
    labels = [label for r in calendar.buttons for label, _ in r]
    assert "[30]" in labels  # today, Monday 30 November, marked
    assert "29" not in labels  # past days are blank
    await zhang.press("▶")
    december = await zhang.expect("When? Tap a day")
    assert "December 2026" in [label for r in december.buttons for label, _ in r]
    await zhang.press("9")
    saved = await zhang.expect("recorded")
    assert "Received today" in saved.text
    assert "1,500.00" in saved.text
    assert "Dec 9, 2026" in saved.text
    # Money received restarts the limitation (issue 19): no warning that a meeting does not,
    # nor that it needs signed paper to be a demand (tests/e2e/test_papers.py: without money).
    assert "does not restart the limitation" not in saved.text
    assert "signed paper" not in saved.text
    assert [label for r in saved.buttons for label, _ in r] == ["🤝 Record the commitment"]

    (meeting,) = await world.storage.meetings_of(cid)
    assert (meeting.kind, meeting.venue, meeting.step_achieved, meeting.paid_today) == (
        "result", "office", Achieved.PARTLY, 150_000,
    )  # fmt: skip
    assert meeting.next_on == date(2026, 12, 9)
    assert meeting.moved == "承认欠款，答应下周带担保人来"
    # The commitment then starts from the money recorded at the meeting.
    await zhang.press("🤝 Record the commitment")
    money = await zhang.expect("First, money today")
    assert "The meeting recorded" in money.text


async def test_three_meetings_without_agreement_are_flagged_on_the_card(world, bot):
    zhang = await _case(world)
    cid = await case_id(world, "HT1")
    user = world.members[zhang.id]
    for _ in range(3):
        meeting = NewMeeting(date(2026, 11, 30), "investigative", "home", None, Achieved.NO,
                             None, "hostile", None, None, None)  # fmt: skip
        await world.storage.add_meeting(user, cid, meeting, NewPayment(0, None, date(2026, 11, 30)),
                                        now=world.clock.now())  # fmt: skip
    await zhang.send("/case HT1")
    card = await zhang.expect("HT1")
    assert "3 meetings without an agreement" in card.text


async def test_a_commitment_is_cancelled_with_a_reason_and_stays_in_the_history(world, bot):
    zhang = await _case(world)
    cid = await case_id(world, "HT1")
    await zhang.send("/commit HT1")
    await zhang.expect("First, money today")
    await zhang.send("0")
    await zhang.expect("Then the plan")
    await zhang.send("12月25日")
    await zhang.expect("How much in all")
    await zhang.press("the rest of the debt")
    await zhang.expect("Commitment of 张三")
    await zhang.press("✅ Confirm")
    await zhang.expect("stored")
    await expect_paper(zhang, "Repayment agreement of 张三")
    await zhang.send("/case HT1")
    card = await zhang.expect("Commitment: agreed")
    await zhang.press("✖ Cancel commitment", card)
    await zhang.expect("Why is the commitment of 张三 cancelled?")
    await zhang.send("借款人去世，转法务处理")
    await zhang.expect("is cancelled")
    (cancelled,) = await world.storage.commitments_of(cid)
    assert (cancelled.status, cancelled.end_reason) == (
        CommitmentStatus.CANCELLED, "借款人去世，转法务处理",
    )  # fmt: skip
    await zhang.send("/case HT1")
    again = await zhang.expect("HT1")
    assert "Commitment: none open." in again.text
    assert "cancelled (借款人去世，转法务处理)" in again.text
    assert Channel.CASH.value == "cash"


async def test_the_demo_cooperative_shows_a_meeting_a_commitment_and_a_prepared_case(world, bot):
    from bot.sandbox.demo import seed_demo_cases

    zhang = await world.member(Role.COLLECTOR, "张伟")
    chen = await world.member(Role.COLLECTOR, "陈卫东")
    team = await world.storage.ensure_team("东城", now=world.clock.now())
    await seed_demo_cases(world.storage, team_id=team.id, now=world.clock.now(),
                          collectors=[world.members[zhang.id], world.members[chen.id]])  # fmt: skip
    await chen.send("/case 陈秀英")
    card = await chen.expect("陈秀英")
    assert "Commitment: agreed" in card.text
    assert "3 instalments" in card.text
    assert "paid" in card.text  # yesterday's meeting brought money
    await zhang.send("/brief 王建国")
    brief = await zhang.expect("💵")
    assert "≥" in brief.text


async def test_the_next_step_a_meeting_set_is_on_today_when_it_falls_due(world, bot):
    """Issue 16: /today did not list the next steps recorded with /outcome."""
    from datetime import timedelta

    zhang = await _case(world)
    cid = await case_id(world, "HT1")
    held = date(2026, 11, 30)
    meeting = NewMeeting(held, "result", "office", None, Achieved.PARTLY, None, "neutral",
                         "sign_agreement", held + timedelta(days=1), None)  # fmt: skip
    assert await world.storage.add_meeting(
        world.members[zhang.id], cid, meeting, None, now=world.clock.now()
    )
    await zhang.send("/today")
    before = await zhang.expect("Today")
    assert "Next steps" not in before.text  # tomorrow's step is not today's work
    world.clock.advance(timedelta(days=1))
    await zhang.send("/today")
    today = await zhang.expect("Next steps")
    assert "张三 · sign a repayment agreement · today" in today.text
