"""Contract: the digest's legal list (issue 19) — the team's clocks ending within 90 days (those
within 30 counted apart) and those that lapsed this week, read for the team only, and their
drill-down lists; a guarantor claimed in time leaves the list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.commitments import Channel, NewMeeting, NewPayment
from bot.domain.digest import DigestDay, DrillDown, LegalClockKind
from bot.domain.legal import AlertAction, DocumentKind, GuaranteeKind
from bot.domain.people import Role
from tests.contract.test_legal import _import, _row

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 8, 10, tzinfo=UTC)  # 18:00 in Shanghai, Tuesday 8 December
TODAY = date(2026, 12, 8)
DAY = DigestDay.of(NOW, TZ)


@pytest.fixture
async def team(storage):
    s = storage
    east = await s.ensure_team("东城组", now=NOW)
    west = await s.ensure_team("西城组", now=NOW)
    zhang = await s.add_user(
        telegram_id=1, name="张伟", role=Role.COLLECTOR, team_id=east.id, now=NOW
    )
    await s.add_user(telegram_id=2, name="刘洋", role=Role.COLLECTOR, team_id=west.id, now=NOW)
    await _import(
        s,
        east.id,
        [
            # Due 18 Jun 2026: each guarantee period (none agreed) ends 18 Dec, in ten days.
            _row("HT-1", due=date(2026, 6, 18), guarantors=("李保", "赵某")),
            # Due 1 Mar 2024, a shop as collateral: limitation and mortgage end 1 Mar 2027.
            _row("HT-2", due=date(2024, 3, 1)),
            # Due 5 Dec 2023: out of time after 5 Dec 2026, three days ago.
            _row("HT-3", due=date(2023, 12, 5)),
            # Due 10 Jan 2023, paid in part on 1 Feb 2024: limitation to 1 Feb 2027.
            _row("HT-4", due=date(2023, 1, 10)),
            # Due 1 Jan 2020: lapsed years ago, not this week.
            _row("HT-5", due=date(2020, 1, 1)),
        ],
    )
    # Another team's guarantor ten days from the end: never on this team's list.
    await _import(s, west.id, [_row("XC-1", due=date(2026, 6, 18), guarantors=("外保",))])
    cases = {c.contract_no: c for c in await s.list_cases(zhang)}
    meeting = NewMeeting(
        held_on=date(2024, 2, 1), kind="result", venue="office", attendees=None,
        step_achieved=None, moved=None, stance=None, next_step=None, next_on=None, prep_id=None,
    )  # fmt: skip
    paid = NewPayment(amount=300_000, channel=Channel.CASH, received_on=date(2024, 2, 1))
    await s.add_meeting(zhang, cases["HT-4"].id, meeting, paid, now=NOW - timedelta(days=1000))
    card = await s.get_case(zhang, cases["HT-1"].id)
    parties = {p.party.name: p.id for p in card.parties}
    await s.set_guarantee_facts(
        cases["HT-1"].id, parties["李保"], kind=GuaranteeKind.JOINT, by_user_id=zhang.id, now=NOW
    )
    return s, east, zhang, cases, parties


def _lines(items):
    return [(i.contract_no, i.clock, i.party_name, i.deadline, i.days_left) for i in items]


async def test_the_digest_lists_the_clocks_near_their_end_and_those_lost_this_week(team):
    s, east, _, _, _ = team
    d = await s.team_digest(east.id, DAY, now=NOW, untouched_days=14)
    assert _lines(d.legal.soon.items) == [
        ("HT-1", LegalClockKind.GUARANTEE, "李保", date(2026, 12, 18), 10),
        ("HT-1", LegalClockKind.GUARANTEE, "赵某", date(2026, 12, 18), 10),
        ("HT-4", LegalClockKind.LIMITATION, None, date(2027, 2, 1), 55),
        ("HT-2", LegalClockKind.LIMITATION, None, date(2027, 3, 1), 83),
    ]
    assert d.legal.soon.total == 4
    assert d.legal.urgent == 2
    li, zhao, _, ht2 = d.legal.soon.items
    # What to do: claim against the joint guarantor; for a kind not in the file, find it out.
    assert (li.action, li.kind) == (AlertAction.CLAIM_GUARANTOR, GuaranteeKind.JOINT)
    assert (zhao.action, zhao.kind) == (AlertAction.FIND_KIND, None)
    assert (ht2.mortgage, ht2.borrower_name, ht2.lead_name) == (True, "王建国", "张伟")
    assert _lines(d.legal.lapsed.items) == [
        ("HT-3", LegalClockKind.LIMITATION, None, date(2026, 12, 5), -3),
    ]


async def test_a_guarantor_served_with_a_signed_notice_leaves_the_list(team):
    s, east, zhang, cases, parties = team
    case_id = cases["HT-1"].id
    doc = await s.issue_document(
        case_id, DocumentKind.COLLECTION_NOTICE, parties["李保"], None, zhang.id, NOW
    )
    await s.file_signed_copy(doc, TODAY, "photo-1", zhang.id, NOW)
    d = await s.team_digest(east.id, DAY, now=NOW, untouched_days=14)
    assert [i.party_name for i in d.legal.soon.items] == ["赵某", None, None]
    assert d.legal.urgent == 1


async def test_the_drill_down_lists_the_urgent_the_near_and_the_lapsed(team):
    s, east, _, _, _ = team

    async def drill(kind, limit=20):
        return await s.digest_list(east.id, kind, DAY, now=NOW, untouched_days=14, limit=limit)

    urgent = await drill(DrillDown.LEGAL_URGENT)
    assert ([i.party_name for i in urgent.items], urgent.total) == (["李保", "赵某"], 2)
    near = await drill(DrillDown.LEGAL_SOON, limit=3)
    assert (len(near.items), near.total, near.more) == (3, 4, 1)
    lost = await drill(DrillDown.LEGAL_LAPSED)
    assert [i.contract_no for i in lost.items] == ["HT-3"]


async def test_a_lapsed_guarantee_period_is_on_the_list_for_a_week_then_gone(team):
    s, east, _, _, _ = team
    # 21 Dec: both periods ended on 18 Dec unclaimed (赵某's kind still not in the file).
    later = NOW + timedelta(days=13)
    d = await s.team_digest(east.id, DigestDay.of(later, TZ), now=later, untouched_days=14)
    assert _lines(d.legal.lapsed.items) == [
        ("HT-1", LegalClockKind.GUARANTEE, "李保", date(2026, 12, 18), -3),
        ("HT-1", LegalClockKind.GUARANTEE, "赵某", date(2026, 12, 18), -3),
    ]
    gone = NOW + timedelta(days=20)  # 28 Dec
    d = await s.team_digest(east.id, DigestDay.of(gone, TZ), now=gone, untouched_days=14)
    assert d.legal.lapsed.total == 0
