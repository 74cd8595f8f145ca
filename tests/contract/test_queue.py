"""Contract: the queue read a page at a time from each case's stored sort key (issue 17) is the
urgency rule's order, and the storage's own writes (an import, a meeting with money, a plan, an
answered instalment, a lead change) move a case at once, without waiting for the daily job."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.casefile import LeadReason
from bot.domain.cases import Borrower, Loan, Security
from bot.domain.commitments import Channel, NewCommitment, NewInstalment, NewMeeting, NewPayment
from bot.domain.importing import plan_import
from bot.domain.instalments import Answer
from bot.domain.ledger import LedgerParseResult, LedgerRow
from bot.domain.people import Role
from bot.domain.queue import rank_queue

TZ = ZoneInfo("Asia/Shanghai")
YUAN = 100
NOW = datetime(2026, 11, 30, 2, tzinfo=UTC)
TODAY = date(2026, 11, 30)


def _row(i: int, overdue_principal: int, since: date) -> LedgerRow:
    return LedgerRow(
        line=i + 2,
        borrower=Borrower(f"借款人{i}"),
        loan=Loan(
            contract_no=f"HT-{i}",
            overdue_principal=overdue_principal,
            overdue_since=since,
            principal_outstanding=overdue_principal * 2,
        ),
        security=Security("", None, None),
        related_parties=(),
        collector="张伟",
    )


async def _import(s, team_id: int, rows: list[LedgerRow], now: datetime, **kw) -> None:
    plan = plan_import(
        LedgerParseResult(rows=rows, errors=[], columns={}),
        team_id=team_id,
        existing=await s.import_snapshot(),
        collectors=await s.collector_refs(team_id),
    )
    import_id = await s.create_import(
        team_id=team_id, created_by=None, file_name="l.csv", data=None, now=now
    )
    assert await s.apply_import(plan, import_id=import_id, actor_id=None, now=now, **kw)


async def _ids(s, viewer, day: date = TODAY) -> list[int]:
    page = await s.queue_page(viewer, today=day, tz=TZ, size=100)
    return [c.id for c in page.items]


async def _domain(s, viewer, day: date = TODAY) -> list[int]:
    return [r.case.id for r in rank_queue(await s.list_cases(viewer), day, TZ)]


async def test_the_import_leaves_every_key_ready_and_the_page_in_the_domains_order(storage):
    s = storage
    team = await s.ensure_team("东城组", now=NOW)
    zhang = await s.add_user(
        telegram_id=1, name="张伟", role=Role.COLLECTOR, team_id=team.id, now=NOW
    )
    rows = [
        _row(i, (i % 5 + 1) * 50_000 * YUAN, TODAY - timedelta(days=7 + 29 * i)) for i in range(12)
    ]
    await _import(s, team.id, rows, NOW, tz=TZ)
    # Worked out in the import's own transaction: nothing is left for the daily job.
    assert await s.refresh_queue(today=TODAY, tz=TZ) == 0
    assert await _ids(s, zhang) == await _domain(s, zhang)
    page = await s.queue_page(zhang, today=TODAY, tz=TZ, number=1, size=5)
    assert (page.number, page.count, page.total) == (1, 3, 12)
    assert [c.id for c in page.items] == (await _domain(s, zhang))[5:10]
    # A page past the end shows the last one (the queue shrank since the button was made).
    last = await s.queue_page(zhang, today=TODAY, tz=TZ, number=9, size=5)
    assert last.number == 2
    assert [c.id for c in last.items] == (await _domain(s, zhang))[10:]


async def test_the_storages_writes_move_a_case_at_once(storage):
    s = storage
    team = await s.ensure_team("东城组", now=NOW)
    zhang = await s.add_user(
        telegram_id=1, name="张伟", role=Role.COLLECTOR, team_id=team.id, now=NOW
    )
    li = await s.add_user(telegram_id=2, name="李娜", role=Role.COLLECTOR, team_id=team.id, now=NOW)
    boss = await s.add_user(
        telegram_id=3, name="王主管", role=Role.SUPERVISOR, team_id=team.id, now=NOW
    )
    since = TODAY - timedelta(days=100)
    await _import(s, team.id, [_row(i, 200_000 * YUAN, since) for i in range(4)], NOW)
    before = await _ids(s, zhang)
    assert before == await _domain(s, zhang)
    last = before[-1]
    # A meeting with money paid in full: the case owes nothing now and drops.
    meeting = NewMeeting(
        held_on=TODAY, kind="result", venue="office", attendees=None, step_achieved=None,
        moved=None, stance=None, next_step=None, next_on=None, prep_id=None,
    )  # fmt: skip
    first = before[0]
    paid = NewPayment(200_000 * YUAN, Channel.CASH, TODAY)
    assert await s.add_meeting(zhang, first, meeting, paid, now=NOW + timedelta(hours=1))
    assert await _ids(s, zhang) == await _domain(s, zhang)
    assert (await _ids(s, zhang))[-1] == first
    # A plan with money promised for today: the case goes to the top and onto today's list.
    stored = await s.add_commitment(
        zhang, last,
        NewCommitment(money_today=0, money_channel=None, promised_by_party=None,
                      plan={"kind": "dates"}, meeting_id=None,
                      instalments=(NewInstalment(TODAY, 1000 * YUAN),)),
        needs_approval=frozenset(), proposal={}, flow_id=None, notify=None, now=NOW, today=TODAY,
    )  # fmt: skip
    assert stored is not None
    assert (await _ids(s, zhang))[0] == last == (await _domain(s, zhang))[0]
    today_list = await s.queue_page(zhang, today=TODAY, tz=TZ, today_only=True)
    assert last in [c.id for c in today_list.items]
    # Tomorrow nobody has answered: the promise is unconfirmed (the key's day came).
    tomorrow = TODAY + timedelta(days=1)
    assert await _ids(s, zhang, tomorrow) == await _domain(s, zhang, tomorrow)
    # Answered kept: the promise is no reason any more.
    [instalment] = stored.instalments
    answered = await s.answer_instalment(
        zhang, instalment.id, Answer.PAID, today=tomorrow, grace_days=0,
        now=NOW + timedelta(days=1),
    )  # fmt: skip
    assert answered is not None
    assert await _ids(s, zhang, tomorrow) == await _domain(s, zhang, tomorrow)
    # A lead change moves the case from one collector's queue to the other's.
    moved = await s.assign_lead(boss, last, li.id, LeadReason.WORKLOAD, now=NOW + timedelta(days=1))
    assert moved is not None
    assert last not in await _ids(s, zhang, tomorrow)
    assert await _ids(s, li, tomorrow) == [last]
    assert len(await _ids(s, boss, tomorrow)) == 4
    page = await s.queue_page(zhang, today=tomorrow, tz=TZ)
    assert page.total == 3
