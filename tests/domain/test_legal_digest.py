"""The digest's legal list, read like a calendar (issue 19): what is near its end, what lapsed
this week, and what a timely claim takes off the list."""

from __future__ import annotations

from datetime import date

from bot.domain.digest import LegalCase, LegalClockKind, lapsed_clocks, legal_lists
from bot.domain.legal import (
    AlertAction,
    GuaranteeKind,
    GuarantorFacts,
    LegalEvent,
    LegalEventKind,
    LegalFacts,
    legal_clocks,
)

CASES = {1: LegalCase(1, "HT-1", "王建国", "张伟")}


def clocks(today: date, *, due: date, guarantor: GuarantorFacts | None = None, events=()):
    facts = LegalFacts(
        case_id=1,
        maturity=due,
        overdue_since=None,
        guarantors=(guarantor,) if guarantor else (),
        events=tuple(events),
    )
    return [legal_clocks(facts, today)]


def test_a_limitation_ending_today_is_near_and_the_day_after_it_has_lapsed():
    # Due 1 Mar 2024: the last day is 1 Mar 2027.
    soon, urgent, lost = legal_lists(clocks(date(2027, 3, 1), due=date(2024, 3, 1)), CASES,
                                     date(2027, 3, 1))  # fmt: skip
    assert [(i.clock, i.days_left) for i in soon] == [(LegalClockKind.LIMITATION, 0)]
    assert (urgent, lost) == (1, [])
    soon, urgent, lost = legal_lists(clocks(date(2027, 3, 2), due=date(2024, 3, 1)), CASES,
                                     date(2027, 3, 2))  # fmt: skip
    assert (soon, urgent) == ([], 0)
    assert [(i.deadline, i.days_left) for i in lost] == [(date(2027, 3, 1), -1)]


def test_a_limitation_lapsed_eight_days_ago_is_no_longer_this_weeks_news():
    today = date(2027, 3, 9)
    assert lapsed_clocks(clocks(today, due=date(2024, 3, 1)), today, 7) == []
    today = date(2027, 3, 8)
    assert [a.deadline for a in lapsed_clocks(clocks(today, due=date(2024, 3, 1)), today, 7)] == [
        date(2027, 3, 1)
    ]


def test_ninety_days_out_is_on_the_list_and_thirty_one_is_not_urgent():
    # Due 15 Jan 2026, joint guarantee: the period ends 15 Jul 2026.
    li = GuarantorFacts(7, "李保", GuaranteeKind.JOINT)
    today = date(2026, 4, 16)  # 90 days before 15 Jul
    soon, urgent, _ = legal_lists(clocks(today, due=date(2026, 1, 15), guarantor=li), CASES, today)
    assert [(i.party_name, i.days_left, i.action) for i in soon] == [
        ("李保", 90, AlertAction.CLAIM_GUARANTOR)
    ]
    assert urgent == 0
    today = date(2026, 6, 15)  # 30 days before
    soon, urgent, _ = legal_lists(clocks(today, due=date(2026, 1, 15), guarantor=li), CASES, today)
    assert (soon[0].days_left, urgent) == (30, 1)


def test_a_guarantor_claimed_in_time_never_lapses_and_one_unclaimed_does():
    li = GuarantorFacts(7, "李保", GuaranteeKind.JOINT)
    claim = LegalEvent(date(2026, 7, 1), LegalEventKind.NOTICE_SIGNED, party_id=7)
    today = date(2026, 7, 18)  # three days after the period's end, 15 Jul 2026
    held = clocks(today, due=date(2026, 1, 15), guarantor=li, events=[claim])
    assert lapsed_clocks(held, today, 7) == []
    free = clocks(today, due=date(2026, 1, 15), guarantor=li)
    [alert] = lapsed_clocks(free, today, 7)
    assert (alert.party_name, alert.deadline, alert.action) == (
        "李保", date(2026, 7, 15), AlertAction.CLAIM_GUARANTOR
    )  # fmt: skip
    # A payment by the borrower does not move the guarantee period (第692条).
    paid = LegalEvent(date(2026, 7, 10), LegalEventKind.PAYMENT)
    assert len(lapsed_clocks(clocks(today, due=date(2026, 1, 15), guarantor=li, events=[paid]),
                             today, 7)) == 1  # fmt: skip
