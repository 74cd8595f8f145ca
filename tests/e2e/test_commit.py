"""/commit and the supervisor's approval, end to end: money today first, a plan on exact dates,
vague dates refused without losing anything, and concessions put to the supervisor at once."""

from __future__ import annotations

from datetime import date

from bot.domain.commitments import ApprovalStatus, CommitmentStatus
from bot.domain.people import Role
from bot.domain.prep import Figures, PrepAnswers, UrgencyFromPrep
from tests.e2e.conftest import eventually, expect_paper
from tests.e2e.seed import case_id, ledger, row
from tests.e2e.test_prep import Counted


async def _case(world):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    return zhang


async def _commitments(world, cid):
    return await world.storage.commitments_of(cid)


async def test_money_today_and_six_monthly_instalments_in_few_taps(world, bot):
    zhang = Counted(await _case(world))
    await zhang.person.send("/commit HT1")
    await zhang.question("First, money today")
    await zhang.type("2000")
    await zhang.question("How was it paid?")
    await zhang.tap("Cash")
    await zhang.question("Then the plan, on exact days")
    await zhang.type("每月25号 共6期")
    await zhang.question("6 instalments. Equal amounts")
    await zhang.tap("Equal amounts")
    total = await zhang.question("How much in all")
    # One suggested amount a row: two side by side were cut on a phone ("¥27,400.00 · 剩…").
    assert len(total.buttons) >= 2
    assert all(len(row) == 1 for row in total.buttons), total.buttons
    await zhang.tap("the rest of the debt")
    summary = await zhang.question("Commitment of 张三")
    # The summary shows each date with its weekday, in order, and what it covers.
    assert "Fri, Dec 25, 2026" in summary.text
    assert "Tue, May 25, 2027" in summary.text
    assert "The whole debt is covered." in summary.text
    await zhang.tap("✅ Confirm")
    stored = await zhang.question("stored")
    # The agreement to sign follows as a PDF (issue 19; tests/e2e/test_papers.py).
    await expect_paper(zhang.person, "Repayment agreement of 张三")
    assert "You will be reminded on each date." in stored.text
    assert zhang.taps <= 8, zhang.log
    assert zhang.typed <= 2, zhang.log
    print(f"/commit: {zhang.taps} taps, {zhang.typed} typed")

    (commitment,) = await _commitments(world, await case_id(world, "HT1"))
    assert commitment.status is CommitmentStatus.AGREED
    assert commitment.money_today == 200_000
    assert [i.due_on for i in commitment.instalments] == [
        date(2026, 12, 25), date(2027, 1, 25), date(2027, 2, 25),
        date(2027, 3, 25), date(2027, 4, 25), date(2027, 5, 25),
    ]  # fmt: skip
    assert [i.amount for i in commitment.instalments] == [116_600] * 5 + [117_000]
    assert commitment.total == 700_000


async def test_end_of_month_is_refused_with_the_reason_and_nothing_else_is_retyped(world, bot):
    zhang = await _case(world)
    await zhang.send("/commit HT1")
    await zhang.expect("First, money today")
    await zhang.send("0")
    await zhang.expect("Then the plan")
    await zhang.send("月底")
    refusal = await zhang.expect("end of a period, not a day")
    assert "fixed weekday or day of the month" in refusal.text
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert (state.step, state.data["money"]) == ("plan", 0)
    await zhang.send("12月25日")
    await zhang.expect("How much in all")  # one date: no split question
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert state.data["money"] == 0
    assert state.data["plan"]["dues"] == [["2026-12-25", False]]


async def _prepared_case(world):
    zhang = await _case(world)
    cid = await case_id(world, "HT1")
    user = world.members[zhang.id]
    answers = PrepAnswers(figures=Figures(bottom=600_000, target=800_000, opening=900_000))
    await world.storage.add_prep(user, cid, answers, approach_reason=None,
                                 urgency=UrgencyFromPrep(), now=world.clock.now())  # fmt: skip
    return zhang, cid


async def _one_date_plan(zhang, total: str):
    """/commit HT1 with nothing today, one payment on 12月25日 of ``total``: the plan typed as
    far as the total (the next question is the summary, or who promised)."""
    await zhang.send("/commit HT1")
    await zhang.expect("First, money today")
    await zhang.send("0")
    await zhang.expect("Then the plan")
    await zhang.send("12月25日")
    await zhang.expect("How much in all")
    await zhang.send(total)


async def _ask_for_approval(zhang):
    await _one_date_plan(zhang, "3000")
    summary = await zhang.expect("Commitment of 张三")
    assert "below the bottom line" in summary.text
    await zhang.press("🔒 Ask the supervisor")
    await zhang.expect("Asked 组长 for approval")


async def _asked(world):
    """A collector's plan below the bottom line, put to 组长, who has it in their chat."""
    zhang, cid = await _prepared_case(world)
    boss = await world.member(Role.SUPERVISOR, "组长")
    await boss.send("/start")
    await boss.expect()
    await _ask_for_approval(zhang)
    request = await boss.expect("Approval asked by 张伟", timeout=10)
    return zhang, cid, boss, request


async def test_a_concession_goes_to_the_supervisor_who_approves_and_the_collector_goes_on(
    world, bot
):
    zhang, cid, boss, request = await _asked(world)
    assert "below the bottom line" in request.text
    (pending,) = await _commitments(world, cid)
    assert pending.status is CommitmentStatus.PENDING_APPROVAL
    await boss.press("✅ Approve")
    answered = await boss.expect("You approved this request.")
    told = await zhang.expect("approved your commitment request", timeout=10)
    # Issue 16: both sides name the case and the request (with two open, nobody could tell).
    for message in (answered, told):
        assert "张三 · HT1" in message.text
        assert "Money today" in message.text
    # The collector's "⏳ Waiting for the answer" lost its button with the answer, as the
    # supervisor's request lost Approve / Reject: only the answer's buttons go on.
    (waiting,) = [m for m in await zhang.messages() if "Asked 组长 for approval" in m.text]
    assert waiting.buttons == []
    assert answered.buttons == []
    await zhang.press("✅ Done: show the commitment", told)
    await zhang.expect("stored")
    await expect_paper(zhang, "Repayment agreement of 张三")
    (agreed,) = await _commitments(world, cid)
    assert agreed.status is CommitmentStatus.AGREED
    approval = await world.storage.get_approval(agreed.approval_id)
    assert (approval.status, approval.answered_by_name) == (ApprovalStatus.APPROVED, "组长")
    # An answered request cannot be answered twice.
    await boss.press_data(request.message_id, request.buttons[0][1][1])
    await boss.expect_toast("already answered")


async def test_a_collector_who_blocked_the_bot_meanwhile_does_not_break_the_supervisors_answer(
    world, bot
):
    zhang, cid, boss, _request = await _asked(world)
    await zhang.block()
    await boss.press("✅ Approve")
    await boss.expect("You approved this request.")
    (agreed,) = await _commitments(world, cid)
    assert agreed.status is CommitmentStatus.AGREED

    async def marked_blocked() -> bool:
        stored = await world.storage.get_user_by_telegram_id(zhang.id)
        return stored is not None and stored.blocked_at is not None

    await eventually(marked_blocked)
    # The answer went out through the outbox, which tells the supervisor the collector is out
    # of reach (and to call them): the answer stands on the card.
    await boss.expect("张伟 has blocked the bot", timeout=10)


async def test_a_counter_offer_is_typed_by_the_supervisor_and_accepted_by_the_collector(world, bot):
    zhang, cid, boss, _request = await _asked(world)
    await boss.press("↩️ Counter-offer")
    await boss.expect("Your counter-offer for 张三")
    await boss.send("月底")  # the same parser: a vague date is refused here too
    await boss.expect("neither an amount nor a date")
    await boss.send("6000")
    await boss.expect("You made a counter-offer.")
    told = await zhang.expect("makes a counter-offer", timeout=10)
    assert "6,000.00" in told.text
    await zhang.press("🤝 Accept the counter-offer", told)
    await zhang.expect("stored")
    await expect_paper(zhang, "Repayment agreement of 张三")
    commitments = await _commitments(world, cid)
    assert [(c.status, c.total) for c in commitments] == [
        (CommitmentStatus.AGREED, 600_000), (CommitmentStatus.REJECTED, 300_000),
    ]  # fmt: skip


async def test_another_teams_supervisor_pressing_a_forged_approve_gets_nothing(world, bot):
    _zhang, cid, _boss, _request = await _asked(world)
    west = await world.member(Role.SUPERVISOR, "西城组长", team="西城")
    (pending,) = await _commitments(world, cid)
    await west.send("/whoami")
    msg = await west.expect("Role")
    await west.press_data(msg.message_id, f"ap:{pending.approval_id}:ok")
    await west.expect_toast("You may not do that")
    approval = await world.storage.get_approval(pending.approval_id)
    assert approval.status is ApprovalStatus.PENDING
    (still,) = await _commitments(world, cid)
    assert still.status is CommitmentStatus.PENDING_APPROVAL


async def test_an_unanswered_request_is_sent_to_the_supervisor_once_more(world, bot, clock):
    from datetime import timedelta

    from reminders import APPROVALS_JOB

    _zhang, _cid, boss, _request = await _asked(world)
    (job,) = bot.job_queue.get_jobs_by_name(APPROVALS_JOB)

    async def run_job() -> int:
        return await job.callback(bot.context_types.context.from_job(job, bot))

    assert await run_job() == 0  # not yet: the supervisor may be in a meeting
    clock.advance(timedelta(minutes=31))
    assert await run_job() == 1
    again = await boss.expect("Reminder: this request is still waiting for you.", timeout=10)
    assert [label for r in again.buttons for label, _ in r][:2] == ["✅ Approve", "❌ Reject"]
    clock.advance(timedelta(minutes=31))
    assert await run_job() == 0  # once only; then it waits for the digest


async def test_a_concession_asked_from_the_card_reaches_the_supervisor_and_the_answer_returns(
    world, bot
):
    zhang = await _case(world)
    boss = await world.member(Role.SUPERVISOR, "组长")
    await boss.send("/start")
    await boss.expect()
    await zhang.send("/case HT1")
    card = await zhang.expect("HT1")
    await zhang.press("🔒 Ask the supervisor", card)
    await zhang.expect("Which concession do they ask for?")
    await zhang.press("a fee waiver")
    await zhang.expect("Which concession")  # the same question, ✓ a fee waiver
    await zhang.press("✔ Done")
    await zhang.expect("what exactly is asked")
    await zhang.send("免除占用费3000元")
    await zhang.expect("Asked 组长 about 张三")
    request = await boss.expect("Approval asked by 张伟", timeout=10)
    assert "免除占用费3000元" in request.text
    assert "a fee waiver" in request.text
    await boss.press("❌ Reject")
    await boss.expect("You rejected this request.")
    rejected = await zhang.expect("did not approve your commitment request", timeout=10)
    # Issue 16: which request, the strategy-8 line to say, and what to do next.
    assert "Asked for: 免除占用费3000元" in rejected.text
    assert "precedent" in rejected.text
    assert "Next: change the plan, or prepare the next meeting." in rejected.text


async def test_a_supervisor_who_never_opened_the_chat_gets_the_request_after_their_start(
    world, bot
):
    zhang, _cid = await _prepared_case(world)
    boss = await world.member(Role.SUPERVISOR, "组长")
    await _ask_for_approval(zhang)  # the bot cannot write to 组长 yet: Telegram says no chat
    await world.settle()
    await world.tick()
    await boss.send("/start")
    await world.settle()
    await world.tick()  # the request kept for them first, then the greeting queued behind it
    # Worded when it was asked, before the bot knew their language: the default one.
    request = await boss.expect("张伟请示批准", timeout=10)
    await boss.expect("Welcome back, 组长.")
    await boss.press("✅ 批准", request)
    await boss.expect("You approved this request.")
    await zhang.expect("approved your commitment request", timeout=10)


async def test_a_request_stored_before_a_crash_is_not_made_twice_when_the_step_comes_again(
    world, bot
):
    """The bot stored the commitment and its request, then died before the flow remembered
    the request's id: entering the step again (⏳ Waiting, a replay) finds that request."""
    zhang, cid, boss, _request = await _asked(world)
    me = world.members[zhang.id].id
    state = await world.storage.open_flow(me)
    forgotten = {k: v for k, v in state.data.items() if k not in ("approval_id", "commitment_id")}
    state = await world.storage.advance_flow(
        state.id, state.version, step=state.step, data=forgotten, now=world.clock.now()
    )
    await zhang.press("⏳ Waiting for the answer")  # of the version before: moved on
    await zhang.expect_toast()
    asked = await zhang.expect("Asked 组长 for approval")  # the question, as it is now
    await zhang.press("⏳ Waiting for the answer", asked)  # the step comes again
    await zhang.expect("Asked 组长 for approval")
    await world.settle()
    await world.tick()
    await world.assert_silent(boss)  # no second request
    (pending,) = await _commitments(world, cid)
    assert pending.status is CommitmentStatus.PENDING_APPROVAL
    assert len(await world.storage.pending_approvals(team_id=None)) == 1
    assert (await world.storage.open_flow(me)).data["approval_id"] == pending.approval_id


async def test_a_counter_offer_stored_before_a_crash_shows_the_supervisor_their_own_answer(
    world, bot
):
    """The offer was stored and the bot killed before the flow ended: the replayed offer
    shows 组长 the answer they made, not "already answered" as if someone else had."""
    _zhang, _cid, boss, _request = await _asked(world)
    await boss.press("↩️ Counter-offer")
    await boss.expect("Your counter-offer for 张三")
    (pending,) = await world.storage.pending_approvals(team_id=None)
    await world.storage.answer_approval(
        world.members[boss.id],
        pending.id,
        ApprovalStatus.COUNTERED,
        counter={"amount": 600_000},
        notify=None,
        now=world.clock.now(),
    )  # fmt: skip — what the killed process had written
    await boss.send("6000")
    answered = await boss.expect("You made a counter-offer.")
    assert "already answered" not in answered.text
    assert (await world.storage.get_approval(pending.id)).counter == {"amount": 600_000}


async def test_an_unprepared_plan_leaving_most_of_the_debt_unpaid_goes_to_the_supervisor(
    world, bot
):
    """Issue 16: with no prep there is no bottom line to check a plan against; a plan that left
    most of the debt unpaid was confirmed by the collector alone."""
    zhang = await _case(world)  # ¥9,000 owed, never prepared
    await _one_date_plan(zhang, "1500")
    summary = await zhang.expect("Commitment of 张三")
    assert "Still open after the plan: CN¥7,500.00." in summary.text
    assert "no bottom line set, and much of the debt left unpaid" in summary.text
    labels = [label for row in summary.buttons for label, _ in row]
    assert "✅ Confirm" not in labels
    assert "🔒 Ask the supervisor" in labels


async def test_a_request_cancelled_with_its_flow_is_withdrawn_and_an_answer_changes_nothing(
    world, bot
):
    """Issue 16: the collector built a plan, asked the supervisor, then sent /cancel ("Nothing
    was saved"); the supervisor's Approve still made an agreed commitment with instalments and
    reminders. The request now goes with its flow, and everyone is told."""
    zhang, cid, boss, request = await _asked(world)
    await zhang.send("/cancel")
    await zhang.expect("Stopped: Repayment commitment")
    told = await zhang.expect("is withdrawn", timeout=10)
    assert "张三" in told.text
    assert "HT1" in told.text
    withdrawn = await boss.expect("withdrew the request", timeout=10)
    assert "张伟" in withdrawn.text
    assert "张三" in withdrawn.text
    # The supervisor answers the old message anyway: nothing changes, and its buttons go.
    await boss.press("✅ Approve", request)
    await boss.expect_toast("withdrew this request")
    edited = await boss.expect("withdrew the request")
    assert edited.buttons == []
    (ended,) = await _commitments(world, cid)
    assert ended.status is CommitmentStatus.CANCELLED
    assert ended.end_reason == "withdrawn"
    approval = await world.storage.get_approval(ended.approval_id)
    assert approval.status is ApprovalStatus.WITHDRAWN
    assert approval.answered_by is None
    rows = await world.storage._fetchall(
        "SELECT COUNT(*) FROM instalments i JOIN reminders r ON r.instalment_id = i.id "
        "WHERE i.commitment_id = ? AND r.status = 'pending'",
        (ended.id,),
    )
    assert rows[0][0] == 0
    await world.tick()
    await world.assert_silent(zhang)


async def test_commit_outcome_and_case_without_a_case_offer_the_most_urgent_ones(world, bot):
    """Issue 16: they answered "for example /commit HT2024001" (a number no case has), with no
    buttons; /prep alone offered the queue's cases."""
    zhang = await _case(world)
    answers = []
    for command, label in (("/commit", "🤝 张三 · HT1"), ("/outcome", "✍ 张三 · HT1"),
                           ("/case", "📋 张三 · HT1")):  # fmt: skip
        await zhang.send(command)
        answer = await zhang.expect("for example")
        assert f"{command} HT1" in answer.text
        assert "HT2024001" not in answer.text
        assert [label] in [[text for text, _ in row] for row in answer.buttons]
        answers.append(answer)
    await zhang.press("🤝 张三 · HT1", answers[0])
    await zhang.expect("First, money today")


async def test_who_promised_names_each_party_with_their_role(world, bot):
    """Issue 16: "Who promised" offered bare names (林梅, 孙伟), not saying who they are."""
    from bot.domain.cases import PartyRole, RelatedParty

    zhang = await world.member(Role.COLLECTOR, "张伟")
    guarantor = RelatedParty(PartyRole.GUARANTOR, "林梅", "13900001111")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟", parties=(guarantor,))])  # fmt: skip
    await _one_date_plan(zhang, "5000")
    who = await zhang.expect("Who promised?")
    labels = [text for r in who.buttons for text, _ in r]
    assert "Guarantor · 林梅" in labels, labels
    await zhang.press("Guarantor · 林梅", who)
    await zhang.expect("Commitment of 张三")


async def test_an_amendment_approved_by_the_supervisor_replaces_the_old_plan(world, bot):
    """Issue 16 (found by the week-in-the-life test): a new plan put to the supervisor and
    approved left the old plan agreed, its instalments and reminders still due."""
    from bot.domain.commitments import InstalmentStatus, NewCommitment, NewInstalment

    zhang, cid = await _prepared_case(world)
    old = await world.storage.add_commitment(
        world.members[zhang.id], cid,
        NewCommitment(0, None, None, {"kind": "dates"},
                      (NewInstalment(date(2026, 12, 7), 800_000),), None),
        needs_approval=frozenset(), proposal={}, flow_id=None, notify=None,
        now=world.clock.now(), today=date(2026, 11, 30),
    )  # fmt: skip
    assert old is not None
    boss = await world.member(Role.SUPERVISOR, "组长")
    await boss.send("/start")
    await boss.expect()
    await _ask_for_approval(zhang)  # ¥3,000, below the bottom line: to the supervisor
    await boss.expect("Approval asked by 张伟", timeout=10)
    await boss.press("✅ Approve")
    await boss.expect("You approved this request.")
    await zhang.expect("approved your commitment request", timeout=10)
    statuses = {c.id: c.status for c in await _commitments(world, cid)}
    assert statuses[old.id] is CommitmentStatus.AMENDED
    assert sorted(statuses.values()) == sorted([CommitmentStatus.AMENDED, CommitmentStatus.AGREED])
    (ended,) = [c for c in await _commitments(world, cid) if c.id == old.id]
    assert [i.status for i in ended.instalments] == [InstalmentStatus.CANCELLED]


async def test_commit_counts_the_money_already_recorded_once(world, bot):
    """Issue 16 (found by the week-in-the-life test): after a meeting that recorded ¥3,000,
    /commit said "still owed after today" ¥3,000 too little (the money taken off twice), and
    after earlier payments it offered the ledger's whole debt as "the rest"."""
    from bot.domain.commitments import Channel, NewMeeting, NewPayment

    zhang = await _case(world)  # ¥9,000 owed
    cid = await case_id(world, "HT1")
    today = date(2026, 11, 30)
    meeting = NewMeeting(today, "result", "office", None, None, None, None, None, None, None)
    stored = await world.storage.add_meeting(
        world.members[zhang.id], cid, meeting, NewPayment(300_000, Channel.CASH, today),
        now=world.clock.now(),
    )  # fmt: skip
    assert stored is not None
    await zhang.send("/commit HT1")
    money = await zhang.expect("First, money today")
    await zhang.press("CN¥3,000.00", money)  # the meeting's money, offered as today's
    plan = await zhang.expect("Then the plan")
    assert "Still owed after today: CN¥6,000.00." in plan.text
    await zhang.send("12月25日")
    total = await zhang.expect("How much in all")
    assert [
        [text for text, _ in row] for row in total.buttons if "rest of the debt" in row[0][0]
    ] == [["CN¥6,000.00 · the rest of the debt"]]


async def test_a_sticker_during_a_question_asks_it_again(world, bot, client):
    """Issue 16: a sticker or a voice note during a flow got "did not understand" and the open
    question was not asked again."""
    zhang = await _case(world)
    await zhang.send("/commit HT1")
    await zhang.expect("First, money today")
    await zhang.send("0")
    await zhang.expect("Then the plan")
    chat = {"id": zhang.id, "type": "private", "first_name": "张伟"}
    await client.raw_update(
        "message",
        {"message_id": 9_001, "date": 1_764_000_000, "chat": chat,
         "from": {"id": zhang.id, "is_bot": False, "first_name": "张伟", "language_code": "en"},
         "sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular",
                     "width": 512, "height": 512, "is_animated": False, "is_video": False}},
    )  # fmt: skip
    await zhang.expect("Please answer with text.")
    again = await zhang.expect("Then the plan")
    assert again.buttons  # the question itself, with its ✖ Cancel
    await zhang.send("12月25日")
    await zhang.expect("How much in all")


async def test_a_request_whose_flow_ended_without_withdrawing_it_is_withdrawn_on_the_answer(
    world, bot
):
    """A process killed between ending the collector's flow and withdrawing its request left
    the request pending: the supervisor's Approve then made the cancelled plan binding. The
    answer now finds the flow gone and withdraws the request instead."""
    zhang, cid, boss, request = await _asked(world)
    state = await world.storage.open_flow(world.members[zhang.id].id)
    # What /cancel writes before its hook runs, and nothing more (the kill).
    assert await world.storage.end_flow(state.id, None, "cancelled", now=world.clock.now())
    await boss.press("✅ Approve", request)
    await boss.expect_toast("withdrew this request")
    await boss.expect("withdrew the request")  # the request, edited in place
    (ended,) = await _commitments(world, cid)
    assert (ended.status, ended.end_reason) == (CommitmentStatus.CANCELLED, "withdrawn")
    approval = await world.storage.get_approval(ended.approval_id)
    assert (approval.status, approval.answered_by) == (ApprovalStatus.WITHDRAWN, None)
    await world.tick()
    await boss.expect("withdrew the request")  # the notice to every supervisor
    await zhang.expect("is withdrawn")


async def test_a_fee_waiver_from_the_plan_summary_asks_what_and_how_much_and_the_supervisor_sees_it(
    world, bot
):
    """Issue 16: "🔒 Ask for a fee waiver" on the plan summary sent the plan alone, with
    "why: a fee waiver" — nothing to judge — while the card's path asked what is waived. Now
    the summary's path asks it too, and the request, the digest and the export carry it."""
    zhang, cid = await _prepared_case(world)
    boss = await world.member(Role.SUPERVISOR, "组长")
    await boss.send("/start")
    await boss.expect()
    await _one_date_plan(zhang, "9000")
    summary = await zhang.expect("Commitment of 张三")
    await zhang.press("🔒 Ask for a fee waiver", summary)
    await zhang.expect("Which fee is to be waived, and how much?")
    await zhang.send("罚息1,800元，若明天还清")
    await zhang.expect("Asked 组长 for approval")
    request = await boss.expect("Approval asked by 张伟", timeout=10)
    assert "Fee waiver asked: 罚息1,800元，若明天还清" in request.text
    assert "Why it needs you: a fee waiver" in request.text
    assert "1. Fri, Dec 25, 2026 · CN¥9,000.00" in request.text
    (pending,) = await _commitments(world, cid)
    approval = await world.storage.get_approval(pending.approval_id)
    assert approval.proposal["waiver"] == "罚息1,800元，若明天还清"
    await boss.press("✅ Approve", request)
    answered = await boss.expect("You approved this request.")
    # One instalment, not "1 instalments".
    assert "🗓 1 instalment, CN¥9,000.00, on Fri, Dec 25, 2026" in answered.text
    told = await zhang.expect("approved your commitment request", timeout=10)
    assert "Fee waiver asked: 罚息1,800元，若明天还清" in told.text
