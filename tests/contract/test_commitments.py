"""Contract: meetings, payments, commitments with instalments, and the supervisor's approvals.

Everything through the ``Storage`` Protocol: one transaction per verb, access by the viewer,
idempotency keys, the outbox call written with the change it tells of.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.domain.cases import PartyRole, RelatedParty
from bot.domain.commitments import (
    Achieved,
    ApprovalReason,
    ApprovalStatus,
    Channel,
    CommitmentStatus,
    InstalmentStatus,
    NewCommitment,
    NewInstalment,
    NewMeeting,
    NewPayment,
)
from bot.domain.people import Role
from bot.domain.prep import Character, PrepAnswers, UrgencyFromPrep
from bot.sandbox.demo import seed_demo_cases
from bot.storage import APPROVAL_ID, COMMITMENT_ID, OutboxCall, StorageError
from tests.contract.conftest import NOW

TODAY = date(2026, 11, 30)
LATER = NOW + timedelta(minutes=5)
YUAN = 100


@pytest.fixture
async def world(storage):
    s = storage
    east = await s.ensure_team("东城组", now=NOW)
    west = await s.ensure_team("西城组", now=NOW)
    people = {
        "zhang": await s.add_user(telegram_id=1, name="张伟", role=Role.COLLECTOR,
                                  team_id=east.id, now=NOW),
        "chen": await s.add_user(telegram_id=2, name="Chen Jing", role=Role.COLLECTOR,
                                 team_id=east.id, now=NOW),
        "boss": await s.add_user(telegram_id=3, name="李组长", role=Role.SUPERVISOR,
                                 team_id=east.id, now=NOW),
        "west": await s.add_user(telegram_id=4, name="西组长", role=Role.SUPERVISOR,
                                 team_id=west.id, now=NOW),
        "admin": await s.add_user(telegram_id=5, name="王主任", role=Role.ADMIN, team_id=None,
                                  now=NOW),
    }  # fmt: skip
    await seed_demo_cases(s, team_id=east.id, collectors=[people["zhang"], people["chen"]], now=NOW)
    zhang = await s.list_cases(people["zhang"])
    chen = await s.list_cases(people["chen"])
    return s, people, zhang[0].id, chen[0].id


def meeting(**changes) -> NewMeeting:
    fields = {
        "held_on": TODAY, "kind": "result", "venue": "office", "attendees": "周强, 吴丽华",
        "step_achieved": Achieved.PARTLY, "moved": "agreed to pay monthly", "stance": "calm",
        "next_step": "sign the plan", "next_on": TODAY + timedelta(days=7), "prep_id": None,
    }  # fmt: skip
    fields.update(changes)
    return NewMeeting(**fields)


def monthly(n: int = 6, amount: int = 5000 * YUAN, **changes) -> NewCommitment:
    """``n`` instalments of ``amount`` on the 25th from December 2026; 2000 yuan in cash today."""
    months = [date(2026 + (11 + i) // 12, (11 + i) % 12 + 1, 25) for i in range(n)]
    fields = {
        "money_today": 2000 * YUAN, "money_channel": Channel.CASH, "promised_by_party": None,
        "plan": {"rule": "monthly", "day": 25, "count": n},
        "instalments": tuple(NewInstalment(d, amount) for d in months), "meeting_id": None,
    }  # fmt: skip
    fields.update(changes)
    return NewCommitment(**fields)


def ask(s, viewer, case_id, commitment=None, *, reasons=frozenset(), notify=None, **kw):
    return s.add_commitment(viewer, case_id, commitment or monthly(), needs_approval=reasons,
                            proposal={"money_today": 2000 * YUAN}, flow_id=None, notify=notify,
                            now=kw.pop("now", NOW), today=TODAY, **kw)  # fmt: skip


def to_boss(text: str = "approve?") -> OutboxCall:
    return OutboxCall(3, "sendMessage", {"chat_id": 3, "text": text, "reply_markup": {
        "inline_keyboard": [[{"text": "✅", "callback_data": f"apv.ok:{APPROVAL_ID}"},
                             {"text": "✖", "callback_data": f"apv.no:{APPROVAL_ID}"}]]},
        "commitment": COMMITMENT_ID})  # fmt: skip


async def calls(s) -> list:
    return [m for m in await s.due_outbox(LATER + timedelta(hours=1)) if m.kind == "call"]


# -- meetings -------------------------------------------------------------------------------


async def test_a_meeting_is_stored_with_its_payment_and_moves_the_last_contact(world):
    s, p, mine, theirs = world
    prep = await s.add_prep(p["zhang"], mine, PrepAnswers(character=Character.SOFT_HISTORY),
                            approach_reason=None, urgency=UrgencyFromPrep(), now=NOW)  # fmt: skip
    assert await s.add_meeting(p["zhang"], theirs, meeting(), None, now=NOW) is None
    assert await s.add_meeting(p["west"], mine, meeting(), None, now=NOW) is None
    paid = NewPayment(3000 * YUAN, Channel.TRANSFER, TODAY, receipt_file_id="AgAD-receipt")
    m = await s.add_meeting(p["zhang"], mine, meeting(prep_id=prep.id), paid, now=NOW, key="o1")
    assert m is not None
    assert (m.case_id, m.author_id, m.author_name, m.at) == (mine, p["zhang"].id, "张伟", NOW)
    assert (m.held_on, m.kind, m.step_achieved, m.next_on) == (
        TODAY,
        "result",
        Achieved.PARTLY,
        TODAY + timedelta(days=7),
    )
    assert (m.paid_today, m.agreement, m.prep_id) == (3000 * YUAN, False, prep.id)
    again = await s.add_meeting(p["zhang"], mine, meeting(), paid, now=LATER, key="o1")
    assert again == m
    assert [x.id for x in await s.meetings_of(mine)] == [m.id]
    card = await s.get_case(p["zhang"], mine)
    assert card.summary.last_contact_at == NOW
    # "Said nothing today" is recorded too: a payment of 0.
    nothing = await s.add_meeting(p["zhang"], mine, meeting(held_on=TODAY + timedelta(days=1)),
                                  NewPayment(0, None, TODAY), now=LATER)  # fmt: skip
    assert nothing.paid_today == 0
    assert [x.id for x in await s.meetings_of(mine)] == [nothing.id, m.id]
    assert (await s.get_case(p["zhang"], mine)).summary.last_contact_at == LATER
    assert (await s.audit_log(entity="case"))[0].action == "meeting"


async def test_a_prep_of_another_case_is_not_linked(world):
    s, p, mine, theirs = world
    prep = await s.add_prep(p["chen"], theirs, PrepAnswers(), approach_reason=None,
                            urgency=UrgencyFromPrep(), now=NOW)  # fmt: skip
    for forged in (prep.id, 999_999):
        m = await s.add_meeting(p["zhang"], mine, meeting(prep_id=forged), None, now=NOW)
        assert m.prep_id is None


async def test_meetings_without_agreement_are_counted_since_the_last_agreed_commitment(world):
    s, p, mine, _ = world
    assert await s.meetings_without_agreement(mine) == 0
    for i in range(3):
        await s.add_meeting(p["zhang"], mine, meeting(), None, now=NOW + timedelta(hours=i))
    assert await s.meetings_without_agreement(mine) == 3
    fourth = await s.add_meeting(p["zhang"], mine, meeting(), None, now=NOW + timedelta(hours=3))
    # Asked for approval: not an agreement yet.
    waiting = await ask(s, p["zhang"], mine, monthly(meeting_id=fourth.id),
                        reasons=frozenset({ApprovalReason.LONG_PLAN}),
                        now=NOW + timedelta(hours=4))  # fmt: skip
    assert await s.meetings_without_agreement(mine) == 4
    await s.answer_approval(p["boss"], waiting.approval_id, ApprovalStatus.APPROVED, counter=None,
                            notify=None, now=NOW + timedelta(hours=5))  # fmt: skip
    assert await s.meetings_without_agreement(mine) == 0
    assert (await s.meetings_of(mine))[0].agreement is True
    await s.add_meeting(p["zhang"], mine, meeting(), None, now=NOW + timedelta(hours=6))
    assert await s.meetings_without_agreement(mine) == 1


# -- commitments ----------------------------------------------------------------------------


async def test_an_agreed_commitment_with_its_instalments_and_money_today(world):
    s, p, mine, theirs = world
    assert await ask(s, p["zhang"], theirs) is None
    m = await s.add_meeting(p["zhang"], mine, meeting(), None, now=NOW)
    c = await ask(s, p["zhang"], mine, monthly(meeting_id=m.id), notify=to_boss("done"),
                  now=LATER)  # fmt: skip
    assert c is not None
    assert (c.status, c.approval_id, c.replaces, c.ended_at) == (
        CommitmentStatus.AGREED,
        None,
        None,
        None,
    )
    assert (c.created_by, c.created_by_name, c.created_at) == (p["zhang"].id, "张伟", LATER)
    assert (c.money_today, c.total, c.promised_by_party, c.meeting_id) == (
        2000 * YUAN,
        30000 * YUAN,
        None,
        m.id,
    )
    assert c.plan == {"rule": "monthly", "day": 25, "count": 6}
    assert [(i.seq, i.due_on, i.amount, i.paid, i.status) for i in c.instalments[:2]] == [
        (1, date(2026, 12, 25), 5000 * YUAN, 0, InstalmentStatus.OPEN),
        (2, date(2027, 1, 25), 5000 * YUAN, 0, InstalmentStatus.OPEN),
    ]
    assert [i.seq for i in c.instalments] == [1, 2, 3, 4, 5, 6]
    assert await s.get_commitment(c.id) == c
    assert await s.commitments_of(mine) == [c]
    held = (await s.meetings_of(mine))[0]
    assert (held.agreement, held.paid_today) == (True, 2000 * YUAN)  # money today, at the meeting
    [call] = await calls(s)
    assert (call.chat_id, call.method, call.payload["commitment"]) == (3, "sendMessage", str(c.id))


async def test_money_today_recorded_by_the_outcome_is_not_recorded_again(world):
    s, p, mine, _ = world
    m = await s.add_meeting(p["zhang"], mine, meeting(),
                            NewPayment(2000 * YUAN, Channel.CASH, TODAY), now=NOW)  # fmt: skip
    c = await ask(s, p["zhang"], mine, monthly(meeting_id=m.id, money_channel=None))
    assert c.money_today == 2000 * YUAN
    assert (await s.meetings_of(mine))[0].paid_today == 2000 * YUAN


async def test_a_guarantor_commits_on_their_own(world):
    s, p, mine, theirs = world
    party = await s.add_party(mine, RelatedParty(PartyRole.GUARANTOR, "钱担保"), actor_id=None,
                              now=NOW)  # fmt: skip
    other = await s.add_party(theirs, RelatedParty(PartyRole.GUARANTOR, "孙担保"), actor_id=None,
                              now=NOW)  # fmt: skip
    c = await ask(s, p["zhang"], mine, monthly(promised_by_party=party))
    assert (c.promised_by_party, c.promised_by_name) == (party, "钱担保")
    assert await ask(s, p["zhang"], mine, monthly(promised_by_party=other)) is None


async def test_a_key_stored_twice_is_one_commitment(world):
    s, p, mine, _ = world
    first = await ask(s, p["zhang"], mine, key="commit-1", notify=to_boss())
    second = await ask(s, p["zhang"], mine, key="commit-1", notify=to_boss(), now=LATER)
    assert first == second
    assert len(await s.commitments_of(mine)) == 1
    assert len(await calls(s)) == 1


async def test_cancel_keeps_the_history(world):
    s, p, mine, _ = world
    c = await ask(s, p["zhang"], mine)
    assert await s.cancel_commitment(p["chen"], c.id, "not mine", now=LATER) is None
    ended = await s.cancel_commitment(p["zhang"], c.id, "borrower sold the shop", now=LATER,
                                      key="cancel-1")  # fmt: skip
    assert (ended.status, ended.end_reason, ended.ended_at) == (
        CommitmentStatus.CANCELLED,
        "borrower sold the shop",
        LATER,
    )
    assert {i.status for i in ended.instalments} == {InstalmentStatus.CANCELLED}
    assert await s.cancel_commitment(p["zhang"], c.id, "again", now=LATER) is None
    assert await s.cancel_commitment(p["zhang"], c.id, "x", now=LATER, key="cancel-1") == ended
    assert await s.commitments_of(mine) == [ended]
    assert (await s.audit_log(entity="case"))[0].action == "commitment_cancel"


async def test_replaces_marks_the_old_one_amended(world):
    s, p, mine, theirs = world
    old = await ask(s, p["zhang"], mine)
    other = await ask(s, p["chen"], theirs)
    assert await ask(s, p["zhang"], mine, replaces=other.id) is None  # another case's
    new = await ask(s, p["zhang"], mine, monthly(3, 10000 * YUAN), replaces=old.id, now=LATER)
    assert (new.status, new.replaces) == (CommitmentStatus.AGREED, old.id)
    was = await s.get_commitment(old.id)
    assert (was.status, was.ended_at) == (CommitmentStatus.AMENDED, LATER)
    assert {i.status for i in was.instalments} == {InstalmentStatus.CANCELLED}
    assert [c.id for c in await s.commitments_of(mine)] == [new.id, old.id]


async def test_an_amendment_waiting_for_approval_leaves_the_old_promise_standing(world):
    s, p, mine, _ = world
    old = await ask(s, p["zhang"], mine)
    new = await ask(s, p["zhang"], mine, monthly(12, 2500 * YUAN), replaces=old.id,
                    reasons=frozenset({ApprovalReason.LONG_PLAN}), now=LATER)  # fmt: skip
    assert (await s.get_commitment(old.id)).status is CommitmentStatus.AGREED
    await s.answer_approval(p["boss"], new.approval_id, ApprovalStatus.REJECTED, counter=None,
                            notify=None, now=LATER)  # fmt: skip
    assert (await s.get_commitment(old.id)).status is CommitmentStatus.AGREED
    again = await ask(s, p["zhang"], mine, monthly(12, 2500 * YUAN), replaces=old.id,
                      reasons=frozenset({ApprovalReason.LONG_PLAN}), now=LATER)  # fmt: skip
    await s.answer_approval(p["boss"], again.approval_id, ApprovalStatus.APPROVED, counter=None,
                            notify=None, now=LATER)  # fmt: skip
    assert (await s.get_commitment(old.id)).status is CommitmentStatus.AMENDED


async def test_a_failing_write_leaves_nothing_behind(world):
    s, p, mine, _ = world
    bad = monthly(instalments=(NewInstalment(date(2026, 12, 25), 0),))  # an instalment of 0
    with pytest.raises(StorageError):
        await ask(s, p["zhang"], mine, bad, reasons=frozenset({ApprovalReason.LONG_PLAN}),
                  notify=to_boss(), key="k")  # fmt: skip
    assert await s.commitments_of(mine) == []
    assert await s.pending_approvals(team_id=None) == []
    assert await calls(s) == []
    assert await s.effect_result("k") is None


async def test_money_today_without_a_date_given_is_still_recorded(world):
    s, p, mine, _ = world
    m = await s.add_meeting(p["zhang"], mine, meeting(), None, now=NOW)
    for meeting_id in (m.id, None):  # on the meeting's date, else on the UTC date of now
        c = await s.add_commitment(p["zhang"], mine, monthly(meeting_id=meeting_id),
                                   needs_approval=frozenset(), proposal={}, flow_id=None,
                                   notify=None, now=NOW)  # fmt: skip
        assert (c.status, c.money_today) == (CommitmentStatus.AGREED, 2000 * YUAN)
    assert (await s.meetings_of(mine))[0].paid_today == 2000 * YUAN


# -- approvals ------------------------------------------------------------------------------


async def _waiting(s, p, case_id, **kw):
    reasons = frozenset({ApprovalReason.BELOW_TARGET, ApprovalReason.FIRST_DATE_LATE})
    proposal = {"money_today": 2000 * YUAN, "total": 30000 * YUAN}
    c = await s.add_commitment(p["zhang"], case_id, monthly(), needs_approval=reasons,
                               proposal=proposal, flow_id=42, notify=to_boss(), now=NOW,
                               today=TODAY, **kw)  # fmt: skip
    return c, await s.get_approval(c.approval_id)


async def test_a_flow_that_asks_again_finds_its_pending_request(world):
    """Stored, then killed before the flow kept the id: the step entered again (another key)
    gets the same commitment and request, and the supervisor is not asked twice."""
    s, p, mine, _ = world
    c, a = await _waiting(s, p, mine, key="flow:42:7")
    again, _ = await _waiting(s, p, mine, key="flow:42:8")
    assert (again.id, again.approval_id) == (c.id, a.id)
    assert len(await calls(s)) == 1
    assert [x.id for x in await s.pending_approvals(team_id=None)] == [a.id]
    # Once answered, the same flow may ask again (a changed plan after a rejection).
    await s.answer_approval(p["boss"], a.id, ApprovalStatus.REJECTED, counter=None,
                            notify=None, now=NOW)  # fmt: skip
    fresh, b = await _waiting(s, p, mine, key="flow:42:9")
    assert fresh.id != c.id
    assert b.id != a.id


async def test_a_pending_approval_approved_makes_the_commitment_agreed(world):
    s, p, mine, _ = world
    c, a = await _waiting(s, p, mine)
    assert c.status is CommitmentStatus.PENDING_APPROVAL
    assert (a.case_id, a.commitment_id, a.flow_id, a.status) == (
        mine,
        c.id,
        42,
        ApprovalStatus.PENDING,
    )
    assert (a.requested_by, a.requested_by_name, a.requested_at, a.requester_telegram_id) == (
        p["zhang"].id,
        "张伟",
        NOW,
        1,
    )
    assert a.reasons == {ApprovalReason.BELOW_TARGET, ApprovalReason.FIRST_DATE_LATE}
    assert a.proposal == {"money_today": 2000 * YUAN, "total": 30000 * YUAN}
    assert a.team_id == p["boss"].team_id
    assert [x.id for x in await s.pending_approvals(team_id=p["boss"].team_id)] == [a.id]
    assert await s.pending_approvals(team_id=p["west"].team_id) == []
    [call] = await calls(s)
    buttons = call.payload["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == [f"apv.ok:{a.id}", f"apv.no:{a.id}"]
    tell = OutboxCall(1, "sendMessage", {"chat_id": 1, "text": "approved"})
    done = await s.answer_approval(p["boss"], a.id, ApprovalStatus.APPROVED, counter=None,
                                   notify=tell, now=LATER)  # fmt: skip
    assert (done.status, done.answered_by, done.answered_by_name, done.answered_at) == (
        ApprovalStatus.APPROVED,
        p["boss"].id,
        "李组长",
        LATER,
    )
    assert (await s.get_commitment(c.id)).status is CommitmentStatus.AGREED
    assert await s.pending_approvals(team_id=None) == []
    assert [m.payload["text"] for m in await calls(s)] == ["approve?", "approved"]
    assert (await s.audit_log(entity="case"))[0].action == "approval_answer"


@pytest.mark.parametrize("answer", [ApprovalStatus.REJECTED, ApprovalStatus.COUNTERED])
async def test_rejected_or_countered_the_commitment_is_rejected(world, answer):
    s, p, mine, _ = world
    c, a = await _waiting(s, p, mine)
    counter = {"money_today": 5000 * YUAN} if answer is ApprovalStatus.COUNTERED else None
    done = await s.answer_approval(p["admin"], a.id, answer, counter=counter, notify=None,
                                   now=LATER)  # fmt: skip
    assert (done.status, done.counter) == (answer, counter)
    ended = await s.get_commitment(c.id)
    assert (ended.status, ended.ended_at) == (CommitmentStatus.REJECTED, LATER)
    assert {i.status for i in ended.instalments} == {InstalmentStatus.CANCELLED}
    assert await s.meetings_without_agreement(mine) == 0
    # The export says what happened to it: a counter-offered plan is not "rejected" (issue 16).
    from tests.contract.test_instalments import ALL_TIME

    rows = [x async for b in s.export_commitments(p["admin"], ALL_TIME) for x in b]
    (exported,) = [x for x in rows if x.id == c.id]
    assert exported.status == ("countered" if counter else "rejected")


async def test_a_second_answer_returns_none(world):
    s, p, mine, _ = world
    c, a = await _waiting(s, p, mine)
    assert await s.answer_approval(p["boss"], a.id, ApprovalStatus.APPROVED, counter=None,
                                   notify=None, now=LATER) is not None  # fmt: skip
    tell = OutboxCall(1, "sendMessage", {"chat_id": 1, "text": "rejected"})
    assert await s.answer_approval(p["boss"], a.id, ApprovalStatus.REJECTED, counter=None,
                                   notify=tell, now=LATER) is None  # fmt: skip
    assert (await s.get_approval(a.id)).status is ApprovalStatus.APPROVED
    assert (await s.get_commitment(c.id)).status is CommitmentStatus.AGREED
    assert [m.payload["text"] for m in await calls(s)] == ["approve?"]


async def test_another_teams_supervisor_a_collector_or_a_forged_id_changes_nothing(world):
    s, p, mine, _ = world
    c, a = await _waiting(s, p, mine)
    tell = OutboxCall(1, "sendMessage", {"chat_id": 1, "text": "x"})
    for who, approval_id in ((p["west"], a.id), (p["zhang"], a.id), (p["boss"], a.id + 1000)):
        assert await s.answer_approval(who, approval_id, ApprovalStatus.APPROVED, counter=None,
                                       notify=tell, now=LATER) is None  # fmt: skip
    assert await s.get_approval(a.id) == a
    assert (await s.get_commitment(c.id)).status is CommitmentStatus.PENDING_APPROVAL
    assert len(await calls(s)) == 1


async def test_cancelling_a_waiting_commitment_withdraws_its_request(world):
    s, p, mine, _ = world
    c, a = await _waiting(s, p, mine)
    await s.cancel_commitment(p["zhang"], c.id, "borrower paid all", now=LATER)
    assert (await s.get_approval(a.id)).status is ApprovalStatus.WITHDRAWN
    assert await s.answer_approval(p["boss"], a.id, ApprovalStatus.APPROVED, counter=None,
                                   notify=None, now=LATER) is None  # fmt: skip


async def test_a_request_without_a_commitment(world):
    s, p, mine, theirs = world
    reasons = frozenset({ApprovalReason.FEE_WAIVER})
    assert await s.request_approval(p["zhang"], theirs, reasons, {}, flow_id=None, notify=None,
                                    now=NOW) is None  # fmt: skip
    a = await s.request_approval(p["zhang"], mine, reasons, {"waive": "occupancy"}, flow_id=None,
                                 notify=to_boss(), now=NOW, key="ask-1")  # fmt: skip
    assert (a.commitment_id, a.status, a.reasons) == (None, ApprovalStatus.PENDING, reasons)
    assert await s.request_approval(p["zhang"], mine, reasons, {}, flow_id=None,
                                    notify=to_boss(), now=NOW, key="ask-1") == a  # fmt: skip
    [call] = await calls(s)
    assert call.payload["commitment"] == COMMITMENT_ID  # no commitment: the slot stays
    done = await s.answer_approval(p["boss"], a.id, ApprovalStatus.APPROVED, counter=None,
                                   notify=None, now=LATER)  # fmt: skip
    assert done.status is ApprovalStatus.APPROVED


async def test_id_slots_are_not_filled_in_what_people_typed(world):
    s, p, mine, _ = world
    fee = frozenset({ApprovalReason.FEE_WAIVER})
    typed = f"免除占用费 {APPROVAL_ID}"  # a collector's words that happen to look like a slot
    call = OutboxCall(
        3,
        "sendMessage",
        {
            "chat_id": 3,
            "text": typed,
            "reply_markup": {
                "inline_keyboard": [[{"text": typed, "callback_data": f"apv.ok:{APPROVAL_ID}"}]]
            },
        },
    )
    asked = await s.request_approval(p["zhang"], mine, fee, {"detail": typed}, flow_id=None,
                                     notify=call, now=NOW)  # fmt: skip
    [row] = await calls(s)
    (button,) = row.payload["reply_markup"]["inline_keyboard"][0]
    assert (row.payload["text"], button["text"]) == (typed, typed)
    assert button["callback_data"] == f"apv.ok:{asked.id}"


async def test_approvals_to_remind_are_reminded_once_with_their_calls(world):
    s, p, mine, _ = world
    _, early = await _waiting(s, p, mine)
    fee = frozenset({ApprovalReason.FEE_WAIVER})
    late = await s.request_approval(p["zhang"], mine, fee, {}, flow_id=None, notify=None,
                                    now=NOW + timedelta(minutes=20))  # fmt: skip
    at = NOW + timedelta(minutes=30)
    due = await s.approvals_to_remind(asked_before=at - timedelta(minutes=15))
    assert [a.id for a in due] == [early.id]
    before = await calls(s)
    assert await s.remind_approval(early.id, notify=[to_boss("again?")], now=at)
    assert not await s.remind_approval(early.id, notify=[to_boss("again?")], now=at)  # once
    after = await calls(s)
    assert len(after) == len(before) + 1
    (button, _) = after[-1].payload["reply_markup"]["inline_keyboard"][0]
    assert (after[-1].payload["text"], button["callback_data"]) == ("again?", f"apv.ok:{early.id}")
    assert (await s.get_approval(early.id)).reminded_at == at
    assert await s.approvals_to_remind(asked_before=at - timedelta(minutes=15)) == []
    later = NOW + timedelta(hours=2)
    assert [a.id for a in await s.approvals_to_remind(asked_before=later)] == [late.id]
    # Still pending: they wait for the digest.
    assert {a.id for a in await s.pending_approvals(team_id=None)} == {early.id, late.id}
