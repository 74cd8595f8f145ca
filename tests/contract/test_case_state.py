"""Contract: what was paid, promised and broken reaches the case summary every view reads
(issue 16): the agreed plan's open due dates, the broken promises, and the money the ledger's
figures do not hold yet — never subtracted twice across re-imports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.cases import Borrower, Loan, Security
from bot.domain.commitments import Channel, NewCommitment, NewInstalment, NewMeeting, NewPayment
from bot.domain.importing import plan_import
from bot.domain.instalments import Answer
from bot.domain.ledger import LedgerParseResult, LedgerRow
from bot.domain.people import Role

YUAN = 100
EARLY = datetime(2026, 11, 1, 2, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 2, tzinfo=UTC)
TODAY = date(2026, 11, 30)
DUES = (date(2026, 12, 25), date(2027, 1, 25), date(2027, 2, 25))


def _row(overdue_principal: int, *, as_of: date | None = None) -> LedgerRow:
    return LedgerRow(
        line=2,
        borrower=Borrower("王建国"),
        loan=Loan(
            contract_no="HT-1",
            overdue_principal=overdue_principal,
            overdue_interest=400 * YUAN,
            overdue_since=date(2026, 9, 1),
            principal_outstanding=90_000 * YUAN,
        ),
        security=Security("", None, None),
        related_parties=(),
        collector="张伟",
        as_of=as_of,
    )


async def _import(s, team_id: int, row: LedgerRow, now: datetime) -> dict[str, int]:
    parsed = LedgerParseResult(rows=[row], errors=[], columns={})
    plan = plan_import(
        parsed,
        team_id=team_id,
        existing=await s.import_snapshot(),
        collectors=await s.collector_refs(team_id),
    )
    import_id = await s.create_import(
        team_id=team_id, created_by=None, file_name="l.csv", data=None, now=now
    )
    summary = await s.apply_import(plan, import_id=import_id, actor_id=None, now=now, notify=False)
    assert summary is not None
    return summary


@pytest.fixture
async def world(storage):
    s = storage
    team = await s.ensure_team("东城组", now=EARLY)
    zhang = await s.add_user(
        telegram_id=1, name="张伟", role=Role.COLLECTOR, team_id=team.id, now=EARLY
    )
    await _import(s, team.id, _row(30_000 * YUAN), EARLY)
    [case] = await s.list_cases(zhang)
    return s, team, zhang, case.id


async def _summary(s, viewer, case_id):
    [summary] = [c for c in await s.list_cases(viewer) if c.id == case_id]
    return summary


async def _pay(s, viewer, case_id, amount: int, *, on: date, now: datetime) -> None:
    meeting = NewMeeting(
        held_on=on, kind="result", venue="office", attendees=None, step_achieved=None,
        moved=None, stance=None, next_step=None, next_on=None, prep_id=None,
    )  # fmt: skip
    stored = await s.add_meeting(
        viewer, case_id, meeting, NewPayment(amount, Channel.CASH, on), now=now
    )
    assert stored is not None


async def test_a_new_case_owes_the_ledgers_figures_and_has_no_promises(world):
    s, _, zhang, case = world
    summary = await _summary(s, zhang, case)
    assert summary.owed == summary.total_overdue == 30_400 * YUAN
    assert (summary.promise_dates, summary.broken_promises) == ((), 0)


async def test_the_agreed_plans_open_dates_and_broken_promises_reach_the_summary(world):
    s, _, zhang, case = world
    stored = await s.add_commitment(
        zhang, case,
        NewCommitment(money_today=0, money_channel=None, promised_by_party=None,
                      plan={"kind": "dates"}, meeting_id=None,
                      instalments=tuple(NewInstalment(d, 1000 * YUAN) for d in DUES)),
        needs_approval=frozenset(), proposal={}, flow_id=None, notify=None, now=NOW, today=TODAY,
    )  # fmt: skip
    assert stored is not None
    summary = await _summary(s, zhang, case)
    assert (summary.promise_dates, summary.broken_promises) == (DUES, 0)
    first, second, _ = stored.instalments
    on_first = datetime(2026, 12, 25, 4, tzinfo=UTC)
    missed = await s.answer_instalment(
        zhang, first.id, Answer.MISSED, today=DUES[0], grace_days=0, now=on_first
    )
    assert missed is not None
    assert missed.changed
    summary = await _summary(s, zhang, case)
    assert (summary.promise_dates, summary.broken_promises) == (DUES[1:], 1)
    on_second = datetime(2027, 1, 25, 4, tzinfo=UTC)
    partial = await s.answer_instalment(
        zhang, second.id, Answer.PARTIAL, amount=300 * YUAN, today=DUES[1], grace_days=0,
        now=on_second,
    )  # fmt: skip
    assert partial is not None
    assert partial.changed
    summary = await _summary(s, zhang, case)
    # Paid in part is counted apart from broken (as the digest counts); the ¥300 is money the
    # figures do not hold.
    assert (summary.promise_dates, summary.broken_promises) == (DUES[2:], 1)
    assert summary.partial_promises == 1
    assert summary.owed == 30_400 * YUAN - 300 * YUAN


async def test_money_recorded_after_the_figures_is_owed_less_and_never_twice(world):
    s, team, zhang, case = world
    await _pay(s, zhang, case, 3_000 * YUAN, on=TODAY, now=NOW)
    assert (await _summary(s, zhang, case)).owed == 27_400 * YUAN
    # The same figures sent again: the ledger still does not hold the payment.
    later = NOW + timedelta(days=1)
    assert (await _import(s, team.id, _row(30_000 * YUAN), later))["unchanged"] == 1
    assert (await _summary(s, zhang, case)).owed == 27_400 * YUAN
    # New figures: the ledger has booked it; the payment is not taken off a second time.
    assert (await _import(s, team.id, _row(27_000 * YUAN), later))["updated"] == 1
    summary = await _summary(s, zhang, case)
    assert (summary.total_overdue, summary.owed) == (27_400 * YUAN, 27_400 * YUAN)
    # Money after those figures counts again, and the debt never shows below zero.
    await _pay(s, zhang, case, 40_000 * YUAN, on=TODAY, now=later + timedelta(hours=1))
    assert (await _summary(s, zhang, case)).owed == 0


async def test_with_the_exports_own_date_the_received_day_decides(world):
    s, team, zhang, case = world
    await _import(s, team.id, _row(30_000 * YUAN, as_of=date(2026, 11, 28)), NOW)
    # Received after the export's date: not in its figures, even if recorded before the import.
    await _pay(s, zhang, case, 1_000 * YUAN, on=date(2026, 11, 29), now=NOW - timedelta(hours=1))
    assert (await _summary(s, zhang, case)).owed == 29_400 * YUAN
    # A later export dated after that day holds it.
    await _import(s, team.id, _row(29_000 * YUAN, as_of=date(2026, 11, 30)), NOW)
    assert (await _summary(s, zhang, case)).owed == 29_400 * YUAN
