"""The legal clocks, read like a calendar (民法典第188/189/192/194/195/419/686/692/693/694条)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.legal import (
    CN_CIVIL_CODE,
    AlertAction,
    ClaimState,
    DueBasis,
    GuaranteeKind,
    GuarantorFacts,
    LegalEvent,
    LegalEventKind,
    LegalFacts,
    Suspension,
    add_months,
    clock_ends,
    guarantor_clock,
    legal_alerts,
    legal_clocks,
    limitation_clock,
    nearest_end,
    parse_guarantee_kind,
)

D = date
TODAY = D(2026, 7, 1)  # within the guarantee periods below
LI = GuarantorFacts(party_id=7, name="李保", kind=GuaranteeKind.JOINT)


DUE = D(2024, 3, 1)


def loan(
    due: date | None = DUE,
    *events: LegalEvent,
    guarantors: tuple[GuarantorFacts, ...] = (),
    overdue_since: date | None = None,
    suspensions: tuple[Suspension, ...] = (),
) -> LegalFacts:
    return LegalFacts(
        case_id=1,
        maturity=due,
        overdue_since=overdue_since,
        guarantors=guarantors,
        events=events,
        suspensions=suspensions,
    )


# --- the limitation period (诉讼时效) --------------------------------------------------------


def test_a_loan_due_1_march_2024_with_no_event_is_out_of_time_after_1_march_2027() -> None:
    clock = limitation_clock(loan(D(2024, 3, 1)))
    assert clock.deadline == D(2027, 3, 1)
    assert clock.set_by is None  # the due date set it
    assert clock.due_basis is DueBasis.MATURITY
    assert not clock.expired(D(2027, 3, 1))  # the last day is still in time
    assert clock.expired(D(2027, 3, 2))
    assert clock.days_left(D(2027, 2, 27)) == 2


def test_a_partial_payment_on_10_june_2025_restarts_it_to_10_june_2028() -> None:
    paid = LegalEvent(D(2025, 6, 10), LegalEventKind.PAYMENT, payment_id=3)
    clock = limitation_clock(loan(D(2024, 3, 1), paid))
    assert clock.deadline == D(2028, 6, 10)
    assert clock.set_by == paid


def test_a_plan_agreed_today_counts_from_its_last_instalment_when_that_is_later() -> None:
    # Agreed Tuesday 8 Dec 2026, six monthly instalments, the last on 25 May 2027 (第189条).
    plan = LegalEvent(
        D(2026, 12, 8), LegalEventKind.COMMITMENT, runs_from=D(2027, 5, 25), commitment_id=9
    )
    clock = limitation_clock(loan(D(2024, 3, 1), plan))
    assert clock.deadline == D(2030, 5, 25)
    assert clock.set_by == plan


def test_a_plan_whose_last_instalment_is_before_a_later_payment_counts_from_the_payment() -> None:
    plan = LegalEvent(D(2025, 1, 5), LegalEventKind.COMMITMENT, runs_from=D(2025, 3, 5))
    paid = LegalEvent(D(2025, 9, 1), LegalEventKind.PAYMENT)
    assert limitation_clock(loan(D(2024, 3, 1), plan, paid)).deadline == D(2028, 9, 1)


def test_a_meeting_without_signed_paper_is_not_a_demand() -> None:
    met = LegalEvent(D(2026, 2, 1), LegalEventKind.MEETING)
    clock = limitation_clock(loan(D(2024, 3, 1), met))
    assert clock.deadline == D(2027, 3, 1)
    assert clock.set_by is None


def test_a_signed_notice_to_the_borrower_is_a_demand_with_its_photo_as_evidence() -> None:
    served = LegalEvent(
        D(2026, 3, 1), LegalEventKind.NOTICE_SIGNED, evidence="photo-1", document_id=4
    )
    clock = limitation_clock(loan(D(2024, 3, 1), served))
    assert clock.deadline == D(2029, 3, 1)
    assert clock.set_by is not None
    assert clock.set_by.evidence == "photo-1"


def test_a_payment_by_a_guarantor_does_not_restart_the_borrowers_limitation() -> None:
    paid = LegalEvent(D(2025, 6, 10), LegalEventKind.PAYMENT, party_id=7)
    assert limitation_clock(loan(D(2024, 3, 1), paid)).deadline == D(2027, 3, 1)


def test_after_it_ran_out_a_payment_alone_does_not_revive_it_but_a_signed_plan_does() -> None:
    late_payment = LegalEvent(D(2027, 4, 1), LegalEventKind.PAYMENT)
    assert limitation_clock(loan(D(2024, 3, 1), late_payment)).deadline == D(2027, 3, 1)
    late_plan = LegalEvent(D(2027, 4, 1), LegalEventKind.AGREEMENT_SIGNED)
    clock = limitation_clock(loan(D(2024, 3, 1), late_plan))
    assert clock.deadline == D(2030, 4, 1)
    assert clock.revived


def test_a_leap_day_due_date_ends_on_the_last_day_of_february() -> None:
    assert limitation_clock(loan(D(2024, 2, 29))).deadline == D(2027, 2, 28)
    assert add_months(D(2025, 8, 31), 6) == D(2026, 2, 28)


def test_without_a_due_date_in_the_file_it_counts_from_the_missed_due_date() -> None:
    clock = limitation_clock(loan(None, overdue_since=D(2024, 1, 20)))
    assert clock.deadline == D(2027, 1, 20)
    assert clock.due_basis is DueBasis.OVERDUE_SINCE
    nothing = limitation_clock(loan(None))
    assert nothing.deadline is None
    assert nothing.due_basis is DueBasis.UNKNOWN


def test_a_suspension_in_the_last_six_months_ends_it_six_months_after_the_cause() -> None:
    # The last day 1 Mar 2027; a flood from 1 Jan to 15 Feb 2027 (第194条).
    flood = Suspension(D(2027, 1, 1), D(2027, 2, 15))
    clock = limitation_clock(loan(D(2024, 3, 1), suspensions=(flood,)))
    assert clock.deadline == D(2027, 8, 15)
    assert clock.suspended
    early = Suspension(D(2026, 1, 1), D(2026, 2, 1))  # not in the last six months
    assert limitation_clock(loan(D(2024, 3, 1), suspensions=(early,))).deadline == D(2027, 3, 1)
    ongoing = Suspension(D(2027, 1, 1))
    assert limitation_clock(loan(D(2024, 3, 1), suspensions=(ongoing,))).deadline is None


# --- the guarantee period (保证期间) ----------------------------------------------------------


def test_a_joint_guarantor_of_a_debt_due_15_january_2026_must_be_claimed_by_15_july() -> None:
    clock = guarantor_clock(loan(D(2026, 1, 15), guarantors=(LI,)), LI, TODAY)
    assert clock.period_end == D(2026, 7, 15)
    assert not clock.period_agreed
    assert clock.state is ClaimState.RUNNING


def test_a_payment_by_the_borrower_does_not_extend_the_guarantee_period() -> None:
    paid = LegalEvent(D(2026, 5, 1), LegalEventKind.PAYMENT)
    plan = LegalEvent(D(2026, 6, 1), LegalEventKind.COMMITMENT, runs_from=D(2027, 6, 1))
    facts = loan(D(2026, 1, 15), paid, plan, guarantors=(LI,))
    clock = guarantor_clock(facts, LI, TODAY)
    assert clock.period_end == D(2026, 7, 15)
    assert clock.state is ClaimState.RUNNING
    assert limitation_clock(facts).deadline == D(2030, 6, 1)  # the borrower's clock did move


def test_a_signed_notice_to_the_joint_guarantor_in_time_holds_them_for_three_years() -> None:
    served = LegalEvent(
        D(2026, 7, 10), LegalEventKind.NOTICE_SIGNED, party_id=7, evidence="receipt", document_id=2
    )
    clock = guarantor_clock(loan(D(2026, 1, 15), served, guarantors=(LI,)), LI, TODAY)
    assert clock.state is ClaimState.CLAIMED
    assert clock.claim == served
    assert clock.own_limitation is not None
    assert clock.own_limitation.deadline == D(2029, 7, 10)  # 第694条


def test_a_notice_to_the_joint_guarantor_a_day_late_frees_them() -> None:
    late = LegalEvent(D(2026, 7, 16), LegalEventKind.NOTICE_SIGNED, party_id=7)
    clock = guarantor_clock(loan(D(2026, 1, 15), late, guarantors=(LI,)), LI, D(2026, 7, 16))
    assert clock.state is ClaimState.LAPSED
    assert clock.claim is None
    on_the_last_day = guarantor_clock(loan(D(2026, 1, 15), guarantors=(LI,)), LI, D(2026, 7, 15))
    assert on_the_last_day.state is ClaimState.RUNNING


def test_a_notice_to_another_person_is_not_a_claim_on_this_guarantor() -> None:
    to_borrower = LegalEvent(D(2026, 3, 1), LegalEventKind.NOTICE_SIGNED)
    to_other = LegalEvent(D(2026, 3, 1), LegalEventKind.NOTICE_SIGNED, party_id=8)
    clock = guarantor_clock(
        loan(D(2026, 1, 15), to_borrower, to_other, guarantors=(LI,)), LI, TODAY
    )
    assert clock.claim is None


def test_a_general_guarantee_with_no_suit_in_the_period_frees_the_guarantor() -> None:
    wang = GuarantorFacts(party_id=8, name="王担", kind=GuaranteeKind.GENERAL)
    notice = LegalEvent(D(2026, 3, 1), LegalEventKind.NOTICE_SIGNED, party_id=8)
    facts = loan(D(2026, 1, 15), notice, guarantors=(wang,))
    clock = guarantor_clock(facts, wang, TODAY)
    assert clock.claim is None  # a notice to a general guarantor is not the step it needs
    assert clock.state is ClaimState.RUNNING
    assert guarantor_clock(facts, wang, D(2026, 7, 16)).state is ClaimState.LAPSED
    # Once the period is over, the alerts leave it: it is lost, nothing to act on.
    assert legal_alerts([legal_clocks(facts, D(2026, 7, 16))], D(2026, 7, 16), 30) == []
    sued = LegalEvent(D(2026, 6, 30), LegalEventKind.SUIT)
    held = guarantor_clock(loan(D(2026, 1, 15), sued, guarantors=(wang,)), wang, TODAY)
    assert held.state is ClaimState.CLAIMED
    assert held.own_limitation is None  # runs only once enforcement against the debtor ends


def test_a_guarantee_kind_not_in_the_file_is_shown_unknown_never_assumed() -> None:
    zhao = GuarantorFacts(party_id=9, name="赵某")
    clock = guarantor_clock(loan(D(2026, 1, 15), guarantors=(zhao,)), zhao, TODAY)
    assert clock.kind is None
    assert clock.state is ClaimState.KIND_UNKNOWN
    assert clock.period_end == D(2026, 7, 15)
    # A notice alone does not settle it: a general guarantee would also need the suit.
    notice = LegalEvent(D(2026, 3, 1), LegalEventKind.NOTICE_SIGNED, party_id=9)
    assert (
        guarantor_clock(loan(D(2026, 1, 15), notice, guarantors=(zhao,)), zhao, TODAY).claim is None
    )


def test_an_agreed_period_counts_unless_it_ends_no_later_than_the_main_debt() -> None:
    two_years = GuarantorFacts(7, "李保", GuaranteeKind.JOINT, agreed_end=D(2028, 1, 15))
    clock = guarantor_clock(loan(D(2026, 1, 15), guarantors=(two_years,)), two_years, TODAY)
    assert clock.period_end == D(2028, 1, 15)
    assert clock.period_agreed
    too_short = GuarantorFacts(7, "李保", GuaranteeKind.JOINT, agreed_end=D(2026, 1, 1))
    clock = guarantor_clock(loan(D(2026, 1, 15), guarantors=(too_short,)), too_short, TODAY)
    assert clock.period_end == D(2026, 7, 15)
    assert not clock.period_agreed


def test_a_mortgage_is_enforced_within_the_main_debts_limitation() -> None:
    facts = LegalFacts(
        case_id=1, maturity=D(2024, 3, 1), overdue_since=None, mortgagors=((5, "张抵"),)
    )
    clocks = legal_clocks(facts, TODAY)
    assert clocks.mortgages[0].deadline == D(2027, 3, 1) == clocks.limitation.deadline


# --- what to do, most urgent first --------------------------------------------------------------


def test_alerts_within_the_window_most_urgent_first_with_the_action() -> None:
    zhao = GuarantorFacts(party_id=9, name="赵某")
    wang = GuarantorFacts(party_id=8, name="王担", kind=GuaranteeKind.GENERAL)
    due_soon = LegalFacts(
        case_id=1, maturity=D(2026, 6, 18), overdue_since=None, guarantors=(LI, zhao, wang)
    )
    old_loan = LegalFacts(case_id=2, maturity=D(2023, 12, 30), overdue_since=None)
    today = D(2026, 12, 8)
    alerts = legal_alerts([legal_clocks(due_soon, today), legal_clocks(old_loan, today)], today, 30)
    assert [(a.case_id, a.party_name, a.action, a.deadline) for a in alerts] == [
        (1, "李保", AlertAction.CLAIM_GUARANTOR, D(2026, 12, 18)),
        (1, "王担", AlertAction.SUE_DEBTOR, D(2026, 12, 18)),
        (1, "赵某", AlertAction.FIND_KIND, D(2026, 12, 18)),
        (2, None, AlertAction.RESTART_LIMITATION, D(2026, 12, 30)),
    ]
    assert alerts[0].days_left == 10
    assert legal_alerts([legal_clocks(due_soon, today)], today, 9) == []


def test_a_claimed_guarantor_leaves_the_list_and_the_last_day_itself_is_listed() -> None:
    served = LegalEvent(D(2026, 12, 8), LegalEventKind.NOTICE_SIGNED, party_id=7)
    facts = LegalFacts(1, D(2026, 6, 18), None, guarantors=(LI,), events=(served,))
    assert legal_alerts([legal_clocks(facts, D(2026, 12, 8))], D(2026, 12, 8), 30) == []
    unclaimed = LegalFacts(1, D(2026, 6, 18), None, guarantors=(LI,))
    assert [
        a.days_left
        for a in legal_alerts([legal_clocks(unclaimed, D(2026, 12, 18))], D(2026, 12, 18), 0)
    ] == [0]


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("连带责任保证", GuaranteeKind.JOINT),
        ("連帶責任保證", GuaranteeKind.JOINT),
        ("连带", GuaranteeKind.JOINT),
        ("一般保证", GuaranteeKind.GENERAL),
        ("Joint liability", GuaranteeKind.JOINT),
        ("", None),
        ("抵押", None),
        (None, None),
    ],
)
def test_the_guarantee_kind_a_ledger_cell_names(cell: str | None, kind: GuaranteeKind) -> None:
    assert parse_guarantee_kind(cell) is kind


def test_the_profile_is_data() -> None:
    assert CN_CIVIL_CODE.limitation_months == 36
    assert CN_CIVIL_CODE.guarantee_default_months == 6
    assert not CN_CIVIL_CODE.guarantee_interruptible
    assert LegalEventKind.MEETING not in CN_CIVIL_CODE.restarting


@pytest.mark.parametrize("due", [D(2024, 2, 29), D(2026, 1, 15), None])
def test_the_ends_of_a_case_where_nothing_happened_are_the_long_ways(due: date | None) -> None:
    facts = LegalFacts(case_id=1, maturity=None, overdue_since=due)
    assert clock_ends(facts) == legal_clocks(facts, D(2026, 12, 8)).ends
    if due is not None:
        assert clock_ends(facts) == (add_months(due, 36),)


def test_the_ends_are_the_clocks_still_to_act_on_whatever_the_day() -> None:
    served = LegalEvent(D(2026, 3, 1), LegalEventKind.NOTICE_SIGNED, party_id=7)
    wang = GuarantorFacts(party_id=8, name="王担", kind=GuaranteeKind.GENERAL)
    facts = loan(D(2026, 1, 15), served, guarantors=(LI, wang))
    # The limitation (2029-01-15), 王担's period (no suit yet), 李保's own limitation.
    assert clock_ends(facts) == (D(2026, 7, 15), D(2029, 1, 15), D(2029, 3, 1))
    assert nearest_end(clock_ends(facts), D(2026, 7, 16)) == D(2029, 1, 15)
