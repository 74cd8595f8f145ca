"""Contract: reminder rows (issue 10) — written with the commitment, retired with it, claimed
under a lease, queued once with their outbox row, late after downtime.

Through the ``Storage`` Protocol only. The calendar: NOW is Monday 30 November 2026, 09:00 in
Shanghai (01:00 UTC); the reminder hour is 09:00 local, the heads-up one day ahead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.cases import Borrower, Loan, Security
from bot.domain.commitments import (
    ApprovalReason,
    ApprovalStatus,
    CommitmentStatus,
    InstalmentStatus,
    NewCommitment,
    NewInstalment,
)
from bot.domain.importing import plan_import
from bot.domain.ledger import LedgerParseResult, LedgerRow
from bot.domain.people import Role
from bot.domain.reminders import ReminderPolicy
from bot.storage import open_storage
from bot.storage.records import ReminderBatch
from tests.contract.conftest import NOW

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = ReminderPolicy(SHANGHAI)
TODAY = date(2026, 11, 30)
EARLY = NOW - timedelta(hours=1)  # 08:00 local: today's heads-up hour is still ahead
YUAN = 100


def at(day: date, hour: int = 9) -> datetime:
    """``hour``:00 in Shanghai on ``day``, as UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def _row(line: int, contract: str, name: str, collector: str | None) -> LedgerRow:
    return LedgerRow(
        line=line,
        borrower=Borrower(name),
        loan=Loan(contract_no=contract, overdue_principal=9_000 * YUAN,
                  overdue_since=TODAY - timedelta(days=40),
                  principal_outstanding=19_000 * YUAN),
        security=Security("", None, None),
        related_parties=(),
        collector=collector,
    )  # fmt: skip


async def _import(s, team_id: int, rows: list[LedgerRow]) -> dict[str, int]:
    parsed = LedgerParseResult(rows=rows, errors=[], columns={})
    plan = plan_import(parsed, team_id=team_id, existing=await s.import_snapshot(),
                       collectors=await s.collector_refs(team_id))  # fmt: skip
    import_id = await s.create_import(team_id=team_id, created_by=None, file_name="l.csv",
                                      data=None, now=EARLY)  # fmt: skip
    assert await s.apply_import(plan, import_id=import_id, actor_id=None, now=EARLY, notify=False)
    snapshot = await s.import_snapshot()
    return {r.loan.contract_no: snapshot[r.loan.contract_no].case_id for r in rows}


@pytest.fixture
async def world(storage):
    s = storage
    team = await s.ensure_team("东城", now=EARLY)
    people = {
        "zhang": await s.add_user(telegram_id=11, name="张伟", role=Role.COLLECTOR,
                                  team_id=team.id, now=EARLY),
        "boss": await s.add_user(telegram_id=13, name="李组长", role=Role.SUPERVISOR,
                                 team_id=team.id, now=EARLY),
    }  # fmt: skip
    cases = await _import(
        s, team.id, [_row(2, "HT1", "张三", "张伟"), _row(3, "HT2", "李四", None)]
    )
    return s, people, cases


def plan(*dues: date, amount: int = 1_500 * YUAN) -> NewCommitment:
    return NewCommitment(
        money_today=0, money_channel=None, promised_by_party=None,
        plan={"kind": "dates", "dues": [[d.isoformat(), False] for d in dues]},
        instalments=tuple(NewInstalment(d, amount) for d in dues), meeting_id=None,
    )  # fmt: skip


async def commit(s, viewer, case_id, *dues, now=EARLY, policy=POLICY, waits=False, **kw):
    return await s.add_commitment(
        viewer, case_id, plan(*dues),
        needs_approval=frozenset({ApprovalReason.BELOW_BOTTOM}) if waits else frozenset(),
        proposal={}, flow_id=None, notify=None, now=now, reminders=policy, **kw,
    )  # fmt: skip


def kinds(rows) -> list[tuple[str, datetime, str]]:
    return [(r.kind, r.due_at, r.status) for r in rows]


async def claim(s, now, *, lease=timedelta(minutes=2), late=timedelta(hours=48)):
    return await s.claim_reminders(now=now, lease_until=now + lease, late_before=now - late)


def batch(rows, key="k1", **changes) -> ReminderBatch:
    fields = {
        "collector_id": rows[0].collector_id, "reminder_ids": tuple(r.id for r in rows),
        "template": "reminders/due", "params": {"items": []},
        "markup": {"inline_keyboard": [[{"text": "1 ✅ Paid", "callback_data": "ri:1:paid"}]]},
        "dedupe_key": key,
    }  # fmt: skip
    fields.update(changes)
    return ReminderBatch(**fields)


# -- written and retired with the commitment ---------------------------------------------------


async def test_an_agreed_commitment_writes_heads_up_due_and_follow_up_per_instalment(world):
    s, p, cases = world
    tomorrow = TODAY + timedelta(days=1)
    c = await commit(s, p["zhang"], cases["HT1"], tomorrow, date(2026, 12, 25))
    assert c.status is CommitmentStatus.AGREED
    rows = await s.reminders_of(commitment_id=c.id)
    first, second = (i.id for i in c.instalments)
    assert [(r.instalment_id, r.kind, r.due_at, r.status) for r in rows] == [
        (first, "heads_up", at(TODAY), "pending"),
        (first, "due", at(tomorrow), "pending"),
        (first, "follow_up", at(TODAY + timedelta(days=2)), "pending"),
        (second, "heads_up", at(date(2026, 12, 24)), "pending"),
        (second, "due", at(date(2026, 12, 25)), "pending"),
        (second, "follow_up", at(date(2026, 12, 26)), "pending"),
    ]


async def test_a_heads_up_already_past_is_not_written(world):
    s, p, cases = world
    c = await commit(
        s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1), now=NOW + timedelta(hours=3)
    )
    assert [r.kind for r in await s.reminders_of(commitment_id=c.id)] == ["due", "follow_up"]


async def test_without_a_policy_nothing_is_written_and_the_backfill_writes_it_once(world):
    s, p, cases = world
    c = await commit(s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1), policy=None)
    assert await s.reminders_of(commitment_id=c.id) == []
    assert await s.backfill_reminders(POLICY, now=EARLY) == 3
    assert [r.kind for r in await s.reminders_of(commitment_id=c.id)] == [
        "heads_up", "due", "follow_up"
    ]  # fmt: skip
    assert await s.backfill_reminders(POLICY, now=EARLY) == 0
    assert len(await s.reminders_of(commitment_id=c.id)) == 3


async def test_a_waiting_commitment_gets_its_rows_when_approved_and_none_when_rejected(world):
    s, p, cases = world
    waiting = await commit(s, p["zhang"], cases["HT1"], date(2026, 12, 25), waits=True)
    assert waiting.status is CommitmentStatus.PENDING_APPROVAL
    assert await s.reminders_of(commitment_id=waiting.id) == []
    await s.answer_approval(p["boss"], waiting.approval_id, ApprovalStatus.APPROVED,
                            counter=None, notify=None, now=NOW, reminders=POLICY)  # fmt: skip
    assert len(await s.reminders_of(commitment_id=waiting.id)) == 3

    other = await commit(s, p["zhang"], cases["HT1"], date(2026, 12, 28), waits=True)
    await s.answer_approval(p["boss"], other.approval_id, ApprovalStatus.REJECTED,
                            counter=None, notify=None, now=NOW, reminders=POLICY)  # fmt: skip
    assert await s.reminders_of(commitment_id=other.id) == []


async def test_cancelling_retires_pending_rows_in_the_same_transaction(world):
    s, p, cases = world
    c = await commit(s, p["zhang"], cases["HT1"], date(2026, 12, 25))
    assert await s.cancel_commitment(p["zhang"], c.id, "paid off", now=NOW)
    assert {r.status for r in await s.reminders_of(commitment_id=c.id)} == {"retired"}


async def test_an_amendment_retires_the_old_rows_and_writes_the_new_ones(world):
    s, p, cases = world
    old = await commit(s, p["zhang"], cases["HT1"], date(2026, 12, 25))
    new = await commit(s, p["zhang"], cases["HT1"], date(2026, 12, 28), replaces=old.id)
    assert (await s.get_commitment(old.id)).status is CommitmentStatus.AMENDED
    assert {r.status for r in await s.reminders_of(commitment_id=old.id)} == {"retired"}
    assert {r.status for r in await s.reminders_of(commitment_id=new.id)} == {"pending"}


# -- claimed under a lease, queued once --------------------------------------------------------


async def test_nothing_is_claimed_before_its_time_and_a_due_row_is_claimed_once_per_lease(world):
    s, p, cases = world
    c = await commit(s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1))
    assert await claim(s, at(TODAY) - timedelta(seconds=1)) == []
    (got,) = await claim(s, at(TODAY))
    assert (got.kind, got.instalment_id, got.collector_id) == (
        "heads_up", c.instalments[0].id, p["zhang"].id
    )  # fmt: skip
    assert (got.borrower, got.contract_no, got.amount, got.due_on) == (
        "张三", "HT1", 1_500 * YUAN, TODAY + timedelta(days=1)
    )  # fmt: skip
    # Leased: another claim within the lease gets nothing; once it ran out (a crash), again.
    assert await claim(s, at(TODAY) + timedelta(minutes=1)) == []
    (again,) = await claim(s, at(TODAY) + timedelta(minutes=3))
    assert again.id == got.id


async def test_queueing_writes_one_outbox_row_and_marks_the_rows_queued_once(world):
    s, p, cases = world
    c = await commit(s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1))
    rows = await claim(s, at(TODAY))
    assert await s.queue_reminders([batch(rows)], now=at(TODAY)) == 1
    (row,) = [r for r in await s.reminders_of(commitment_id=c.id) if r.kind == "heads_up"]
    assert (row.status, row.collector_id) == ("queued", p["zhang"].id)
    message = await s.get_outbox(row.outbox_id)
    assert message.user_id == p["zhang"].id
    assert message.priority == 2
    assert message.template == "reminders/due"
    assert message.markup["inline_keyboard"][0][0]["callback_data"] == "ri:1:paid"
    # A repeat (a second process after an expired lease) writes nothing more.
    assert await s.queue_reminders([batch(rows)], now=at(TODAY)) == 0
    assert await claim(s, at(TODAY) + timedelta(minutes=5)) == []


async def test_the_dedupe_key_makes_a_second_queue_of_the_same_message_a_no_op(world, backend):
    s, p, cases = world
    await commit(s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1))
    rows = await claim(s, at(TODAY))
    other = await open_storage(backend("q"), now=NOW)
    try:
        # The lease ran out and another process claimed the same rows; both queue them.
        again = await claim(other, at(TODAY) + timedelta(minutes=3))
        assert [r.id for r in again] == [r.id for r in rows]
        assert await other.queue_reminders([batch(again, key="same")], now=at(TODAY)) == 1
        assert await s.queue_reminders([batch(rows, key="same")], now=at(TODAY)) == 0
    finally:
        await other.close()


async def test_two_storages_on_one_database_never_claim_the_same_row(world, backend):
    s, p, cases = world
    dues = [TODAY + timedelta(days=1 + i) for i in range(20)]
    await commit(s, p["zhang"], cases["HT1"], *dues)
    other = await open_storage(backend("q"), now=NOW)
    try:
        late = at(TODAY + timedelta(days=40))
        lease, old = late + timedelta(minutes=2), late - timedelta(days=60)
        first = await s.claim_reminders(now=late, lease_until=lease, late_before=old, limit=25)
        second = await other.claim_reminders(now=late, lease_until=lease, late_before=old)
        assert len(first) == 25
        assert len(second) == 60 - 25
        assert not {r.id for r in first} & {r.id for r in second}
    finally:
        await other.close()


async def test_a_follow_up_queued_while_the_instalment_is_open_makes_it_unconfirmed(world):
    s, p, cases = world
    c = await commit(s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1))
    when = at(TODAY + timedelta(days=2))
    rows = await claim(s, when)
    assert sorted(r.kind for r in rows) == ["due", "follow_up", "heads_up"]
    iid = c.instalments[0].id
    await s.queue_reminders([batch(rows, follow_ups=(iid,))], now=when)
    (instalment,) = (await s.get_commitment(c.id)).instalments
    assert instalment.status is InstalmentStatus.UNCONFIRMED


# -- who is asked, and what is too old ---------------------------------------------------------


async def test_a_case_without_a_lead_goes_to_the_teams_supervisor(world):
    s, p, cases = world
    admin = await s.add_user(telegram_id=15, name="王主任", role=Role.ADMIN, team_id=None,
                             now=EARLY)  # fmt: skip
    c = await commit(s, admin, cases["HT2"], TODAY + timedelta(days=1))
    (got,) = await claim(s, at(TODAY))
    assert got.instalment_id == c.instalments[0].id
    assert got.collector_id == p["boss"].id


async def test_a_switched_off_lead_is_replaced_by_the_supervisor_and_nobody_means_late(world):
    s, p, cases = world
    await commit(s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1), TODAY + timedelta(days=9))
    await s.set_active(p["zhang"].id, False, actor_id=None, now=EARLY)
    (got,) = await claim(s, at(TODAY))
    assert got.collector_id == p["boss"].id
    await s.set_active(p["boss"].id, False, actor_id=None, now=EARLY)
    assert await claim(s, at(TODAY + timedelta(days=1))) == []


async def test_rows_overdue_beyond_the_catch_up_window_become_late(world):
    s, p, cases = world
    c = await commit(s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1))
    # Started again five days later with a 48 h window: all three are too old.
    now = at(TODAY + timedelta(days=5))
    assert await claim(s, now) == []
    assert {r.status for r in await s.reminders_of(commitment_id=c.id)} == {"late"}
    (instalment,) = (await s.get_commitment(c.id)).instalments
    assert instalment.status is InstalmentStatus.UNCONFIRMED  # never silently kept


async def test_within_the_window_overdue_rows_are_claimed_oldest_first(world):
    s, p, cases = world
    await commit(s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1))
    now = at(TODAY + timedelta(days=1), 10)  # 25 h after the heads-up, 1 h after the due time
    got = await claim(s, now)
    assert [r.kind for r in got] == ["heads_up", "due"]


# -- DST: the local hour on both change days ---------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    "day",
    [date(2027, 3, 28), date(2027, 10, 31)],
    ids=["spring-forward", "fall-back"],
)
async def test_a_dst_change_day_gets_exactly_one_due_reminder_at_the_local_hour(world, day):
    """Europe/Berlin: 28 March 2027 has no 02:00–03:00, 31 October 2027 has it twice. The
    poller, ticking every 15 minutes from the day before to the day after, claims the due-day
    reminder once, at 09:00 local."""
    s, p, cases = world
    c = await commit(s, p["zhang"], cases["HT1"], day, policy=ReminderPolicy(BERLIN))
    iid = c.instalments[0].id
    claimed: list[tuple[str, datetime]] = []
    now = datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC) - timedelta(days=1)
    end = now + timedelta(days=3)
    while now <= end:
        for r in await claim(s, now, lease=timedelta(days=9)):  # a claim is never released
            assert r.instalment_id == iid
            claimed.append((r.kind, now))
        now += timedelta(minutes=15)
    due = [when for kind, when in claimed if kind == "due"]
    assert len(due) == 1
    assert due[0].astimezone(BERLIN).replace(tzinfo=None) == datetime(day.year, day.month,
                                                                       day.day, 9)  # fmt: skip
    assert [kind for kind, _ in claimed] == ["heads_up", "due", "follow_up"]


# -- within 50 ms at a million pending instalments (issue 17) ---------------------------------
# bench/reminders_bench.py measures it; these pin the shape that makes it so on SQLite.


async def test_a_catch_up_makes_its_late_rows_late_in_transactions_of_the_claims_size(world):
    s, p, cases = world
    dues = [TODAY + timedelta(days=1 + i) for i in range(20)]
    c = await commit(s, p["zhang"], cases["HT1"], *dues)
    transactions = 0
    inner = s._tx

    def counted():
        nonlocal transactions
        transactions += 1
        return inner()

    s._tx = counted
    # Down for 60 days: all 60 rows are too old; a claim of 25 takes them 25 at a time.
    now = at(TODAY + timedelta(days=60))
    got = await s.claim_reminders(
        now=now, lease_until=now + timedelta(minutes=2), late_before=now - timedelta(hours=48),
        limit=25,
    )  # fmt: skip
    del s._tx
    assert got == []
    assert {r.status for r in await s.reminders_of(commitment_id=c.id)} == {"late"}
    assert {i.status for i in (await s.get_commitment(c.id)).instalments} == {
        InstalmentStatus.UNCONFIRMED
    }
    assert transactions == 4  # 25 + 25 + 10 late, then the claim (nothing left to claim)


async def test_late_rows_of_a_settled_instalment_are_retired_not_late(world):
    s, p, cases = world
    c = await commit(s, p["zhang"], cases["HT1"], TODAY + timedelta(days=1))
    await s.claim_reminders(
        now=at(TODAY), lease_until=at(TODAY), late_before=at(TODAY) - timedelta(days=9)
    )
    async with s._tx() as db:  # settled by a path that left its rows pending
        await db.execute("UPDATE instalments SET status = 'kept' WHERE commitment_id = ?", (c.id,))
    assert await claim(s, at(TODAY + timedelta(days=5))) == []
    assert {r.status for r in await s.reminders_of(commitment_id=c.id)} == {"retired"}


async def test_the_claim_finds_and_skips_rows_from_its_index_alone(world):
    s, _, _ = world
    if s.dialect != "sqlite":
        pytest.skip("SQLite's query plan (PostgreSQL's claim: the same index, FOR UPDATE-free)")
    from bot.storage.stores.reminders import CLAIM_SQL

    plan = [
        r[-1] for r in await s._fetchall("EXPLAIN QUERY PLAN " + CLAIM_SQL, ("a", "b", 1, "c", "h"))
    ]
    assert any("USING COVERING INDEX reminders_claim (due_at>? AND due_at<?)" in p for p in plan)
    assert not [p for p in plan if p.startswith("SCAN reminders")], plan
    assert not [p for p in plan if "TEMP B-TREE" in p], plan  # the index's own order


async def test_the_backfill_checks_a_large_database_in_short_steps(world, monkeypatch):
    from bot.storage.stores import reminders

    monkeypatch.setattr(reminders, "BACKFILL_SPAN", 2)
    monkeypatch.setattr(reminders, "BACKFILL_ROWS", 1)
    s, p, cases = world
    dues = [TODAY + timedelta(days=1 + i) for i in range(5)]
    c = await commit(s, p["zhang"], cases["HT1"], *dues, policy=None)
    steps = 0
    inner = s._tx

    def counted():
        nonlocal steps
        steps += 1
        return inner()

    s._tx = counted
    assert await s.backfill_reminders(POLICY, now=EARLY) == 15
    del s._tx
    assert steps == 5  # one instalment given rows per step
    assert len(await s.reminders_of(commitment_id=c.id)) == 15
    assert await s.backfill_reminders(POLICY, now=EARLY) == 0
