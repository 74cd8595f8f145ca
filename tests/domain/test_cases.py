from __future__ import annotations

from datetime import date

from bot.domain.cases import (
    Borrower,
    Case,
    CaseStatus,
    Loan,
    PartyRole,
    RelatedParty,
    Security,
    days_past_due,
)


def test_days_past_due_counts_days_since_the_missed_due_date() -> None:
    due = date(2024, 3, 5)
    assert days_past_due(due, date(2024, 3, 5)) == 0
    assert days_past_due(due, date(2024, 3, 6)) == 1
    assert days_past_due(due, date(2024, 4, 4)) == 30
    assert days_past_due(date(2024, 2, 28), date(2024, 3, 1)) == 2  # leap year


def test_days_past_due_is_never_negative() -> None:
    assert days_past_due(date(2024, 3, 5), date(2024, 3, 1)) == 0


def test_loan_total_overdue() -> None:
    loan = Loan("HT1", 5_000_000, date(2024, 3, 5), 10_000_000, overdue_interest=12_345)
    assert loan.total_overdue == 5_012_345


def test_case_defaults() -> None:
    case = Case(Borrower("张三"), Loan("HT1", 100, date(2024, 1, 1), 100))
    assert case.status is CaseStatus.OPEN
    assert case.related_parties == ()
    assert not case.security.has_collateral
    assert Security(collateral_description="商铺").has_collateral


def test_status_closed() -> None:
    assert CaseStatus.SETTLED.is_closed
    assert CaseStatus.WRITTEN_OFF.is_closed
    assert not CaseStatus.LEGAL.is_closed
    assert not CaseStatus.UNDER_AGREEMENT.is_closed


def test_enum_values_are_stable_strings() -> None:
    assert [r.value for r in PartyRole] == [
        "spouse",
        "guarantor",
        "mortgagor",
        "family",
        "business_partner",
        "other",
    ]
    assert RelatedParty(PartyRole.SPOUSE, "赵六").attitude == "unknown"


def test_todays_to_do_lists_look_back_a_week_by_the_instant_and_by_the_local_day():
    """/today's broken promises count from a week ago to the instant; the next steps from that
    instant's calendar day in the cooperative's zone (not the server's, not UTC's)."""
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from bot.domain.queue import to_do_since

    # Tuesday 8 December 2026, 01:00 in Shanghai is still Monday 17:00 in UTC.
    now = datetime(2026, 12, 7, 17, tzinfo=UTC)
    since, day = to_do_since(now, ZoneInfo("Asia/Shanghai"))
    assert since == datetime(2026, 11, 30, 17, tzinfo=UTC)
    assert day == date(2026, 12, 1)


def test_what_was_owed_before_todays_money_adds_back_what_a_plan_counts_again():
    """/commit counts money a meeting recorded today as its own money today: the debt it starts
    from has that money added back, never taken off twice."""
    from dataclasses import replace

    from tests.unit.case_template_samples import summary

    case = replace(summary(), overdue_principal=3_000_000, overdue_interest=0,
                   paid_since_figures=300_000)  # fmt: skip
    assert case.owed == 2_700_000
    assert case.owed_before(300_000) == 3_000_000
    assert case.owed_before(None) == 2_700_000
