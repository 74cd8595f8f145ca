"""Contract: answers to reminders (Paid in full / Partial / Missed) and money recorded
elsewhere settling instalments oldest first — authorised, compare-and-set, idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.commitments import (
    Channel,
    InstalmentStatus,
    NewCommitment,
    NewInstalment,
    NewMeeting,
    NewPayment,
)
from bot.domain.instalments import Answer
from bot.domain.people import Role
from bot.sandbox.demo import seed_demo_cases
from bot.storage.export_records import ExportPeriod
from tests.contract.conftest import NOW

TODAY = date(2026, 11, 30)
YUAN = 100
DUES = [date(2026, 12, 25), date(2027, 1, 25), date(2027, 2, 25)]
ALL_TIME = ExportPeriod(
    date(2026, 1, 1), date(2027, 12, 31),
    datetime(2025, 12, 31, 16, tzinfo=UTC), datetime(2027, 12, 31, 16, tzinfo=UTC),
)  # fmt: skip


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
    mine = (await s.list_cases(people["zhang"]))[0].id
    return s, people, mine


def plan(amount: int = 1000 * YUAN, money_today: int = 0) -> NewCommitment:
    return NewCommitment(
        money_today=money_today, money_channel=Channel.CASH if money_today else None,
        promised_by_party=None, plan={"kind": "dates"},
        instalments=tuple(NewInstalment(d, amount) for d in DUES), meeting_id=None,
    )  # fmt: skip


async def agreed(s, viewer, case_id, commitment=None, **kw):
    stored = await s.add_commitment(viewer, case_id, commitment or plan(),
                                    needs_approval=frozenset(), proposal={}, flow_id=None,
                                    notify=None, now=NOW, today=TODAY, **kw)  # fmt: skip
    assert stored is not None
    return stored


def answer(s, viewer, instalment_id, what, *, today=DUES[0], now=NOW, grace=0, **kw):
    return s.answer_instalment(viewer, instalment_id, what, today=today, grace_days=grace,
                               now=now, **kw)  # fmt: skip


async def payments(s, admin):
    # The demo's own history (recorded before NOW) is left out.
    return [p async for batch in s.export_payments(admin, ALL_TIME) for p in batch
            if p.recorded_at >= NOW]  # fmt: skip


async def notices(s):
    return [m for m in await s.due_outbox(NOW + timedelta(days=400))
            if m.template == "instalments/broken_for_supervisor"]  # fmt: skip


async def test_paid_in_full_records_one_payment_and_keeps_the_instalment(world):
    s, p, case = world
    first = (await agreed(s, p["zhang"], case)).instalments[0]
    done = await answer(s, p["zhang"], first.id, Answer.PAID, now=NOW + timedelta(days=25))
    assert done is not None
    assert done.changed
    assert done.paid_now == 1000 * YUAN
    i = done.instalment
    assert (i.status, i.paid, i.answered_by, i.case_id) == (
        InstalmentStatus.KEPT,
        1000 * YUAN,
        p["zhang"].id,
        case,
    )
    assert i.settled_at == NOW + timedelta(days=25)
    # A double tap, a replayed button: nothing more.
    again = await answer(s, p["zhang"], first.id, Answer.PAID)
    assert again is not None
    assert not again.changed
    assert again.refused == "settled"
    assert (await answer(s, p["zhang"], first.id, Answer.MISSED)).changed is False
    (paid,) = await payments(s, p["admin"])
    assert (paid.source, paid.instalment_id, paid.amount, paid.received_on, paid.channel) == (
        "reminder",
        first.id,
        1000 * YUAN,
        DUES[0],
        None,
    )


async def test_only_the_case_s_people_may_answer_and_forged_ids_get_nothing(world):
    s, p, case = world
    first = (await agreed(s, p["zhang"], case)).instalments[0]
    assert await s.get_instalment(p["chen"], first.id) is None
    assert await s.get_instalment(p["west"], first.id) is None
    assert await answer(s, p["chen"], first.id, Answer.PAID) is None
    assert await answer(s, p["west"], first.id, Answer.PAID) is None
    assert await answer(s, p["zhang"], 999_999, Answer.PAID) is None
    assert await payments(s, p["admin"]) == []
    assert (await s.get_instalment(p["zhang"], first.id)).status is InstalmentStatus.OPEN
    # The team's supervisor and an admin may.
    assert (await s.get_instalment(p["boss"], first.id)).borrower_name
    assert (await answer(s, p["boss"], first.id, Answer.PARTIAL, amount=100 * YUAN)).changed
    assert (await answer(s, p["admin"], first.id, Answer.PAID)).paid_now == 900 * YUAN
    seen = await s.instalments_seen_by(p["chen"], [i.id for i in (first,)])
    assert seen == []


async def test_partial_keeps_the_rest_open_and_refuses_more_than_is_open(world):
    s, p, case = world
    first = (await agreed(s, p["zhang"], case)).instalments[0]
    done = await answer(s, p["zhang"], first.id, Answer.PARTIAL, amount=300 * YUAN, key="k1")
    assert (done.instalment.status, done.instalment.paid, done.instalment.rest) == (
        InstalmentStatus.PARTIAL,
        300 * YUAN,
        700 * YUAN,
    )
    assert done.instalment.settled_at is None
    # The same key again (a finished flow replayed): the same answer, nothing written.
    replay = await answer(s, p["zhang"], first.id, Answer.PARTIAL, amount=300 * YUAN, key="k1")
    assert (replay.changed, replay.paid_now) == (False, 300 * YUAN)
    too_much = await answer(s, p["zhang"], first.id, Answer.PARTIAL, amount=701 * YUAN)
    assert (too_much.changed, too_much.refused) == (False, "amount")
    rest = await answer(s, p["zhang"], first.id, Answer.PARTIAL, amount=700 * YUAN)
    assert rest.instalment.status is InstalmentStatus.KEPT
    assert [x.amount for x in await payments(s, p["admin"])] == [300 * YUAN, 700 * YUAN]


async def test_missed_within_the_grace_days_stays_open_after_them_it_is_broken_and_told(world):
    s, p, case = world
    first = (await agreed(s, p["zhang"], case)).instalments[0]
    late = await answer(s, p["zhang"], first.id, Answer.MISSED, reason=["no_money"],
                        note="工资下周发", today=DUES[0], grace=1)  # fmt: skip
    assert (late.changed, late.late, late.told) == (True, True, 0)
    assert late.instalment.status is InstalmentStatus.OPEN
    assert late.instalment.miss_reasons == ("no_money",)
    assert await notices(s) == []
    broken = await answer(s, p["zhang"], first.id, Answer.MISSED, reason=["later", "other"],
                          note="说月底", today=DUES[0] + timedelta(days=1), grace=1)  # fmt: skip
    i = broken.instalment
    assert (broken.changed, broken.late, broken.told) == (True, False, 1)
    assert (i.status, i.miss_reasons, i.miss_note) == (
        InstalmentStatus.BROKEN,
        ("later", "other"),
        "说月底",
    )
    (notice,) = await notices(s)
    assert notice.user_id == p["boss"].id
    assert notice.params["reasons"] == ["later", "other"]
    assert (notice.params["borrower"], notice.params["collector"]) == (i.borrower_name, "张伟")
    # Broken is final for the buttons: no second notice, no payment.
    assert (await answer(s, p["zhang"], first.id, Answer.PAID)).changed is False
    assert len(await notices(s)) == 1
    assert await payments(s, p["admin"]) == []


async def test_a_supervisor_answering_is_not_told_of_their_own_answer(world):
    s, p, case = world
    first = (await agreed(s, p["zhang"], case)).instalments[0]
    done = await answer(s, p["boss"], first.id, Answer.MISSED, today=DUES[0] + timedelta(days=3))
    assert (done.instalment.status, done.told) == (InstalmentStatus.BROKEN, 0)


async def test_an_ended_commitment_s_instalments_cannot_be_answered(world):
    s, p, case = world
    commitment = await agreed(s, p["zhang"], case)
    await s.cancel_commitment(p["zhang"], commitment.id, "borrower died", now=NOW)
    done = await answer(s, p["zhang"], commitment.instalments[0].id, Answer.PAID)
    assert (done.changed, done.instalment.status) == (False, InstalmentStatus.CANCELLED)
    assert await payments(s, p["admin"]) == []


async def test_money_at_a_meeting_settles_open_instalments_oldest_first(world):
    s, p, case = world
    commitment = await agreed(s, p["zhang"], case)
    first, second, third = commitment.instalments
    await answer(s, p["zhang"], first.id, Answer.PARTIAL, amount=400 * YUAN)
    meeting = NewMeeting(TODAY, "result", "office", None, None, None, None, None, None, None)
    paid = NewPayment(1800 * YUAN, Channel.CASH, TODAY)
    await s.add_meeting(p["zhang"], case, meeting, paid, now=NOW, key="m1")
    await s.add_meeting(p["zhang"], case, meeting, paid, now=NOW, key="m1")  # replayed: once
    views = {v.id: v for v in await s.instalments_seen_by(p["zhang"], [first.id, second.id,
                                                                       third.id])}  # fmt: skip
    assert [(views[i.id].status, views[i.id].paid) for i in (first, second, third)] == [
        (InstalmentStatus.KEPT, 1000 * YUAN), (InstalmentStatus.KEPT, 1000 * YUAN),
        (InstalmentStatus.PARTIAL, 200 * YUAN),
    ]  # fmt: skip
    # A reminder's Paid pressed afterwards for the first: nothing doubled.
    assert (await answer(s, p["zhang"], first.id, Answer.PAID)).changed is False
    assert sorted(x.amount for x in await payments(s, p["admin"])) == [400 * YUAN, 1800 * YUAN]


async def test_money_today_of_an_amendment_pays_the_old_promise_not_its_own_plan(world):
    s, p, case = world
    old = await agreed(s, p["zhang"], case)
    new = await agreed(s, p["zhang"], case, plan(money_today=1500 * YUAN), replaces=old.id)
    before = await s.get_commitment(old.id)
    assert [(i.status, i.paid) for i in before.instalments] == [
        (InstalmentStatus.KEPT, 1000 * YUAN), (InstalmentStatus.CANCELLED, 500 * YUAN),
        (InstalmentStatus.CANCELLED, 0),
    ]  # fmt: skip
    fresh = await s.get_commitment(new.id)
    assert all((i.status, i.paid) == (InstalmentStatus.OPEN, 0) for i in fresh.instalments)


async def test_a_meeting_without_money_settles_nothing(world):
    s, p, case = world
    commitment = await agreed(s, p["zhang"], case)
    meeting = NewMeeting(TODAY, "result", "office", None, None, None, None, None, None, None)
    await s.add_meeting(p["zhang"], case, meeting, NewPayment(0, None, TODAY), now=NOW)
    after = await s.get_commitment(commitment.id)
    assert all((i.status, i.paid) == (InstalmentStatus.OPEN, 0) for i in after.instalments)
