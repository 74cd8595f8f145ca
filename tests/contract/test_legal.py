"""Contract: the legal clocks' facts (issue 19) — guarantee facts, documents issued and their
signed copies filed once, and the read that gives the domain every dated event: agreed plans,
payments (by whom), filed papers; never a meeting alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.cases import Borrower, Loan, PartyRole, RelatedParty, Security
from bot.domain.commitments import Channel, NewCommitment, NewInstalment, NewMeeting, NewPayment
from bot.domain.importing import plan_import
from bot.domain.ledger import LedgerParseResult, LedgerRow
from bot.domain.legal import (
    ClaimState,
    DocumentKind,
    GuaranteeKind,
    LegalEventKind,
    legal_alerts,
    legal_clocks,
)
from bot.domain.people import Role
from bot.storage import StorageError

YUAN = 100
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 8, 2, tzinfo=UTC)
TODAY = date(2026, 12, 8)


def _row(
    contract: str,
    *,
    due: date | None,
    guarantors: tuple[str, ...] = (),
    kind: GuaranteeKind | None = None,
    end: date | None = None,
) -> LedgerRow:
    return LedgerRow(
        line=2,
        borrower=Borrower("王建国"),
        loan=Loan(
            contract_no=contract,
            overdue_principal=30_000 * YUAN,
            overdue_since=date(2026, 6, 18),
            principal_outstanding=90_000 * YUAN,
            maturity=due,
        ),
        security=Security("、".join(guarantors), "商铺一间", None, kind, end),
        related_parties=tuple(RelatedParty(PartyRole.GUARANTOR, g) for g in guarantors),
        collector="张伟",
    )


async def _import(s, team_id: int, rows: list[LedgerRow]) -> None:
    parsed = LedgerParseResult(rows=rows, errors=[], columns={})
    plan = plan_import(
        parsed,
        team_id=team_id,
        existing=await s.import_snapshot(),
        collectors=await s.collector_refs(team_id),
    )
    import_id = await s.create_import(
        team_id=team_id, created_by=None, file_name="l.csv", data=None, now=NOW
    )
    assert await s.apply_import(plan, import_id=import_id, actor_id=None, now=NOW, notify=False)


@pytest.fixture
async def world(storage):
    s = storage
    team = await s.ensure_team("东城组", now=NOW)
    zhang = await s.add_user(
        telegram_id=1, name="张伟", role=Role.COLLECTOR, team_id=team.id, now=NOW
    )
    await _import(
        s,
        team.id,
        [
            _row("HT-1", due=date(2026, 6, 18), guarantors=("李保", "赵某")),
            _row("HT-2", due=date(2024, 3, 1)),
        ],
    )
    cases = {c.contract_no: c.id for c in await s.list_cases(zhang)}
    case = await s.get_case(zhang, cases["HT-1"])
    parties = {p.party.name: p.id for p in case.parties}
    return s, zhang, cases["HT-1"], cases["HT-2"], parties


async def test_a_case_with_nothing_recorded_reads_its_due_date_guarantors_and_collateral(world):
    s, _, case_id, _, parties = world
    facts = await s.legal_facts(case_id)
    assert facts.maturity == date(2026, 6, 18)
    assert [(g.party_id, g.name, g.kind, g.agreed_end) for g in facts.guarantors] == [
        (parties["李保"], "李保", None, None),
        (parties["赵某"], "赵某", None, None),
    ]
    assert facts.mortgagors == ((None, "商铺一间"),)
    assert facts.events == ()
    assert await s.legal_facts(99999) is None


async def test_guarantee_facts_are_set_for_a_guarantor_of_the_case_only(world):
    s, zhang, case_id, other_id, parties = world
    li = parties["李保"]
    got = await s.set_guarantee_facts(
        case_id, li, kind=GuaranteeKind.JOINT, by_user_id=zhang.id, now=NOW
    )
    assert got.kind is GuaranteeKind.JOINT
    assert got.agreed_end is None
    # A later answer of the period keeps the kind (None leaves a fact as it is).
    got = await s.set_guarantee_facts(
        case_id, li, agreed_end=date(2028, 6, 18), by_user_id=zhang.id, now=NOW
    )
    assert (got.kind, got.agreed_end) == (GuaranteeKind.JOINT, date(2028, 6, 18))
    assert await s.set_guarantee_facts(other_id, li, kind=GuaranteeKind.GENERAL,
                                       by_user_id=zhang.id, now=NOW) is None  # fmt: skip
    facts = await s.legal_facts(case_id)
    assert facts.guarantors[0].kind is GuaranteeKind.JOINT


async def test_a_notice_issued_is_no_event_until_its_signed_copy_is_filed_once(world):
    s, zhang, case_id, _, parties = world
    li = parties["李保"]
    await s.set_guarantee_facts(case_id, li, kind=GuaranteeKind.JOINT, by_user_id=zhang.id, now=NOW)
    doc_id = await s.issue_document(
        case_id, DocumentKind.COLLECTION_NOTICE, li, None, zhang.id, NOW
    )
    [doc] = await s.case_documents(case_id)
    assert (doc.id, doc.kind, doc.party_id, doc.party_name) == (
        doc_id, DocumentKind.COLLECTION_NOTICE, li, "李保"
    )  # fmt: skip
    assert not doc.filed
    facts = await s.legal_facts(case_id)
    assert facts.events == ()
    [alert] = [a for a in legal_alerts([legal_clocks(facts, TODAY)], TODAY, 30) if a.party_id == li]
    assert alert.deadline == date(2026, 12, 18)

    later = NOW + timedelta(hours=1)
    filed = await s.file_signed_copy(doc_id, TODAY, "photo-1", zhang.id, later, key="u1")
    assert (filed.signed_on, filed.evidence_file_id, filed.filed_by) == (TODAY, "photo-1", zhang.id)
    # Replayed, or filed again with another photo: the first filing stands.
    again = await s.file_signed_copy(doc_id, TODAY, "photo-1", zhang.id, later, key="u1")
    assert again == filed
    other = await s.file_signed_copy(doc_id, date(2026, 12, 9), "photo-2", zhang.id, later)
    assert other == filed
    assert await s.file_signed_copy(99999, TODAY, "x", zhang.id, later) is None

    facts = await s.legal_facts(case_id)
    [event] = facts.events
    assert (event.kind, event.party_id, event.on, event.evidence, event.document_id) == (
        LegalEventKind.NOTICE_SIGNED, li, TODAY, "photo-1", doc_id
    )  # fmt: skip
    clocks = legal_clocks(facts, TODAY)
    li_clock = next(g for g in clocks.guarantors if g.party_id == li)
    assert li_clock.state is ClaimState.CLAIMED
    assert [a.party_id for a in legal_alerts([clocks], TODAY, 30)] == [parties["赵某"]]


async def test_a_document_for_someone_or_something_not_of_the_case_is_refused(world):
    s, zhang, case_id, other_id, parties = world
    with pytest.raises(StorageError):
        await s.issue_document(
            other_id, DocumentKind.COLLECTION_NOTICE, parties["李保"], None, zhang.id, NOW
        )
    with pytest.raises(StorageError):
        await s.issue_document(
            case_id, DocumentKind.REPAYMENT_AGREEMENT, None, 99999, zhang.id, NOW
        )


async def test_plans_and_payments_are_events_with_their_dates_and_a_meeting_alone_is_not(world):
    s, zhang, _, case_id, _ = world
    meeting = NewMeeting(
        held_on=date(2026, 12, 7), kind="result", venue="office", attendees=None,
        step_achieved=None, moved=None, stance=None, next_step=None, next_on=None, prep_id=None,
    )  # fmt: skip
    # A meeting with nothing paid is no event; one with money is a payment on its day.
    await s.add_meeting(zhang, case_id, meeting, None, now=NOW)
    assert (await s.legal_facts(case_id)).events == ()
    paid = NewPayment(amount=500 * YUAN, channel=Channel.CASH, received_on=date(2026, 12, 7))
    await s.add_meeting(zhang, case_id, meeting, paid, now=NOW)
    plan = NewCommitment(
        money_today=0, money_channel=None, promised_by_party=None,
        plan={"rule": "monthly", "day": 25, "count": 2},
        instalments=(NewInstalment(date(2026, 12, 25), 1000 * YUAN),
                     NewInstalment(date(2027, 1, 25), 1000 * YUAN)),
        meeting_id=None,
    )  # fmt: skip
    made = await s.add_commitment(
        zhang, case_id, plan, needs_approval=frozenset(), proposal={}, flow_id=None,
        notify=None, now=NOW,
    )  # fmt: skip
    facts = await s.legal_facts(case_id)
    assert [(e.kind, e.on, e.start, e.party_id) for e in facts.events] == [
        (LegalEventKind.PAYMENT, date(2026, 12, 7), date(2026, 12, 7), None),
        (LegalEventKind.COMMITMENT, TODAY, date(2027, 1, 25), None),
    ]
    assert facts.events[1].commitment_id == made.id
    # Loan due 1 Mar 2024: out of time after 1 Mar 2027, restarted by the plan to 25 Jan 2030.
    assert legal_clocks(facts, TODAY).limitation.deadline == date(2030, 1, 25)


async def test_a_viewers_facts_come_for_every_case_in_one_read(world):
    s, zhang, case_id, other_id, _ = world
    boss = await s.add_user(
        telegram_id=9, name="李组长", role=Role.SUPERVISOR, team_id=zhang.team_id, now=NOW
    )
    stranger = await s.add_user(
        telegram_id=10, name="外人", role=Role.COLLECTOR, team_id=zhang.team_id, now=NOW
    )
    assert [f.case_id for f in await s.legal_facts_of(zhang)] == sorted([case_id, other_id])
    assert [f.case_id for f in await s.legal_facts_of(boss)] == sorted([case_id, other_id])
    assert await s.legal_facts_of(stranger) == []


async def test_the_import_writes_the_files_guarantee_facts_and_an_empty_cell_keeps_them(world):
    s, zhang, case_id, _, parties = world
    await s.set_guarantee_facts(
        case_id, parties["赵某"], kind=GuaranteeKind.GENERAL, by_user_id=zhang.id, now=NOW
    )
    row = _row("HT-1", due=date(2026, 6, 18), guarantors=("李保", "赵某"),
               kind=GuaranteeKind.JOINT, end=date(2027, 6, 18))  # fmt: skip
    await _import(s, zhang.team_id, [row])
    facts = await s.legal_facts(case_id)
    assert [(g.name, g.kind, g.agreed_end) for g in facts.guarantors] == [
        ("李保", GuaranteeKind.JOINT, date(2027, 6, 18)),
        ("赵某", GuaranteeKind.JOINT, date(2027, 6, 18)),  # the file says it: the file wins
    ]
    # Tomorrow's export without the columns: what was known stays.
    await _import(
        s, zhang.team_id, [_row("HT-1", due=date(2026, 6, 18), guarantors=("李保", "赵某"))]
    )
    facts = await s.legal_facts(case_id)
    assert [g.kind for g in facts.guarantors] == [GuaranteeKind.JOINT, GuaranteeKind.JOINT]


async def test_the_cases_with_a_clock_ending_in_a_window_come_by_their_stored_ends(world):
    s, zhang, case_id, other_id, parties = world

    # HT-1: due 18 Jun 2026, two guarantors without kind: their periods end 18 Dec 2026.
    # HT-2: due 1 Mar 2024: the limitation ends 1 Mar 2027.
    async def ending(first: date, last: date) -> list[int]:
        found = await s.legal_facts_ending(zhang, first=first, last=last, tz=TZ)
        return [f.case_id for f in found]

    assert await ending(TODAY, date(2026, 12, 31)) == [case_id]
    # Seen from 1 Jan 2027, HT-1's next clock is its limitation (2029): not in early 2027.
    assert await ending(date(2027, 1, 1), date(2027, 3, 1)) == [other_id]
    # Both guarantors joint and claimed: HT-1 has nothing left to do before 2029. (While their
    # kind is not in the file a notice alone is not enough: a general one needs a suit.)
    for name in ("李保", "赵某"):
        await s.set_guarantee_facts(
            case_id, parties[name], kind=GuaranteeKind.JOINT, by_user_id=zhang.id, now=NOW
        )
        doc = await s.issue_document(
            case_id, DocumentKind.COLLECTION_NOTICE, parties[name], None, zhang.id, NOW
        )
        await s.file_signed_copy(doc, TODAY, f"photo-{name}", zhang.id, NOW)
    assert await ending(TODAY, date(2026, 12, 31)) == []
    # A payment on HT-2 today restarts its limitation: it leaves the early-2027 window.
    meeting = NewMeeting(
        held_on=TODAY, kind="result", venue="office", attendees=None, step_achieved=None,
        moved=None, stance=None, next_step=None, next_on=None, prep_id=None,
    )  # fmt: skip
    paid = NewPayment(amount=100 * YUAN, channel=Channel.CASH, received_on=TODAY)
    await s.add_meeting(zhang, other_id, meeting, paid, now=NOW)
    assert await ending(date(2027, 1, 1), date(2027, 3, 1)) == []
    summaries = {c.id: c for c in await s.list_cases(zhang)}
    assert summaries[other_id].legal_ends == (date(2029, 12, 8),)
    assert summaries[case_id].legal_ends == (date(2029, 6, 18), date(2029, 12, 8))


async def test_a_suspension_recorded_by_hand_holds_the_limitation_open_until_it_ends(world):
    s, zhang, _, other_id, _ = world
    # HT-2: due 1 Mar 2024, out of time after 1 Mar 2027; a flood from 1 Jan 2027 (第194条).
    flood = await s.record_suspension(
        other_id, date(2027, 1, 1), reason="洪水", by_user_id=zhang.id, now=NOW
    )
    facts = await s.legal_facts(other_id)
    assert legal_clocks(facts, TODAY).limitation.deadline is None  # the cause still holds
    assert legal_clocks(facts, TODAY).limitation.suspended
    assert await s.end_suspension(flood, date(2027, 2, 15), by_user_id=zhang.id, now=NOW)
    assert not await s.end_suspension(flood, date(2027, 3, 1), by_user_id=zhang.id, now=NOW)
    facts = await s.legal_facts(other_id)
    assert legal_clocks(facts, TODAY).limitation.deadline == date(2027, 8, 15)
    summaries = {c.id: c for c in await s.list_cases(zhang)}
    assert summaries[other_id].legal_ends == (date(2027, 8, 15),)
    with pytest.raises(StorageError):
        await s.record_suspension(
            other_id, date(2027, 1, 1), ended_on=date(2026, 1, 1), reason="x",
            by_user_id=zhang.id, now=NOW,
        )  # fmt: skip
