"""Urgency (strategy 11, 兵贵神速): orderings a collector would agree with, on a calendar."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.domain.urgency import (
    WEIGHTS,
    Deterioration,
    ScorePart,
    UrgencyFacts,
    explain,
    rank_cases,
    score_case,
)

YUAN = 100
MONDAY = date(2024, 6, 3)  # the morning the collector opens the queue


def facts(**kw: object) -> UrgencyFacts:
    base: dict[str, object] = {
        "overdue_since": MONDAY - timedelta(days=45),
        "overdue_amount": 50_000 * YUAN,
        "previous_overdue_amount": 50_000 * YUAN,
        "last_contact": MONDAY - timedelta(days=3),
        "strong_guarantor": True,
    }
    base.update(kw)
    return UrgencyFacts(**base)  # type: ignore[arg-type]


def codes(f: UrgencyFacts, today: date = MONDAY) -> list[str]:
    return [p.code for p in score_case(f, today).parts]


def order(cases: list[tuple[str, UrgencyFacts]], today: date = MONDAY) -> list[str]:
    return [case_id for case_id, _ in rank_cases(cases, today)]


def test_score_is_the_sum_of_its_parts_heaviest_first() -> None:
    s = score_case(facts(deterioration=frozenset({Deterioration.BUSINESS_SLIDING})), MONDAY)
    assert s.total == sum(p.points for p in s.parts)
    assert [p.points for p in s.parts] == sorted((p.points for p in s.parts), reverse=True)
    assert s.parts[0] == ScorePart("deterioration.business_sliding", 25)
    assert s.top_reason == "deterioration.business_sliding"
    assert s.days_past_due == 45
    assert explain(s, 1) == (ScorePart("deterioration.business_sliding", 25),)


def test_every_code_has_a_weight() -> None:
    everything = facts(
        deterioration=frozenset(Deterioration),
        previous_overdue_amount=1,
        promise_dates=(MONDAY, MONDAY - timedelta(days=1)),
        broken_promises=9,
        strong_guarantor=False,
        collateral_value=0,
        high_default_cost=True,
        last_contact=None,
        overdue_amount=2_000_000 * YUAN,
    )
    s = score_case(everything, MONDAY)
    assert all(p.code in WEIGHTS for p in s.parts)
    assert ScorePart("promises.broken", 30) in s.parts  # capped at three


def test_promise_due_today_goes_first_on_that_day_only() -> None:
    """Zhang promised ¥5,000 for Wednesday; Li is an older, untouched case."""
    wednesday = MONDAY + timedelta(days=2)
    zhang = facts(overdue_since=MONDAY - timedelta(days=20), promise_dates=(wednesday,))
    li = facts(overdue_since=MONDAY - timedelta(days=100), last_contact=MONDAY - timedelta(15))
    assert order([("li", li), ("zhang", zhang)], MONDAY) == ["li", "zhang"]
    assert order([("li", li), ("zhang", zhang)], wednesday) == ["zhang", "li"]
    assert "promise.due_today" in codes(zhang, wednesday)
    # Thursday, nothing recorded: the promise is unconfirmed, still worth a call today.
    assert "promise.unconfirmed" in codes(zhang, wednesday + timedelta(days=1))
    assert "promise.due_today" not in codes(zhang, wednesday + timedelta(days=1))


def test_growing_debt_beats_a_stable_one_of_the_same_age() -> None:
    stable = facts()
    growing = facts(previous_overdue_amount=40_000 * YUAN)  # +25 % since last import
    creeping = facts(previous_overdue_amount=48_000 * YUAN)  # +4 %
    assert order([("stable", stable), ("creeping", creeping), ("growing", growing)]) == [
        "growing",
        "creeping",
        "stable",
    ]
    assert "debt.growing_fast" in codes(growing)
    assert "debt.growing" in codes(creeping)
    assert not any(c.startswith("debt.") for c in codes(stable))


def test_newly_overdue_amount_counts_as_fast_growth() -> None:
    assert "debt.growing_fast" in codes(facts(previous_overdue_amount=0))
    assert not any(c.startswith("debt.") for c in codes(facts(previous_overdue_amount=None)))


def test_assets_being_moved_outranks_mere_age() -> None:
    old = facts(overdue_since=MONDAY - timedelta(days=200))
    moving = facts(
        overdue_since=MONDAY - timedelta(days=10),
        deterioration=frozenset({Deterioration.ASSETS_MOVING}),
    )
    assert order([("old", old), ("moving", moving)]) == ["moving", "old"]


def test_credit_loan_with_sliding_business_beats_a_secured_one_sliding_too() -> None:
    """Strategy 11: mostly on credit, weak fallback — move before the cash flow dries up."""
    sliding = frozenset({Deterioration.BUSINESS_SLIDING})
    credit = facts(strong_guarantor=False, collateral_value=None, deterioration=sliding)
    half_secured = facts(
        strong_guarantor=False, collateral_value=30_000 * YUAN, deterioration=sliding
    )
    assert order([("half", half_secured), ("credit", credit)]) == ["credit", "half"]
    assert {"fallback.weak", "fallback.weak_and_sliding"} <= set(codes(credit))
    assert "leverage.collateral_partial" in codes(half_secured)


def test_leverage_adds_pressure() -> None:
    """Press hardest where we hold leverage: same age and amount, one has a strong guarantor,
    full collateral cover and a borrower with a licence to lose."""
    held = facts(collateral_value=60_000 * YUAN, high_default_cost=True)
    assert {"leverage.guarantor", "leverage.collateral_full", "leverage.default_cost"} <= set(
        codes(held)
    )
    assert order([("plain", facts()), ("held", held)]) == ["held", "plain"]


def test_untouched_cases_rise() -> None:
    never = facts(last_contact=None)
    month = facts(last_contact=MONDAY - timedelta(days=30))
    fortnight = facts(last_contact=MONDAY - timedelta(days=14))
    fresh = facts(last_contact=MONDAY - timedelta(days=13))
    assert order(
        [("fresh", fresh), ("fortnight", fortnight), ("month", month), ("never", never)]
    ) == ["never", "month", "fortnight", "fresh"]


def test_contact_dated_after_today_counts_as_today() -> None:
    assert not any(
        c.startswith("contact.") for c in codes(facts(last_contact=MONDAY + timedelta(1)))
    )


def test_dpd_bands_at_their_edges() -> None:
    def dpd_part(days: int) -> list[str]:
        return [c for c in codes(facts(overdue_since=MONDAY - timedelta(days))) if "dpd" in c]

    assert dpd_part(0) == []
    assert dpd_part(1) == ["dpd.over_0"]
    assert dpd_part(30) == ["dpd.over_0"]
    assert dpd_part(31) == ["dpd.over_30"]
    assert dpd_part(91) == ["dpd.over_90"]
    assert dpd_part(181) == ["dpd.over_180"]


def test_the_same_case_grows_more_urgent_as_weeks_pass() -> None:
    f = facts(overdue_since=date(2024, 5, 1), last_contact=date(2024, 5, 2))
    totals = [score_case(f, date(2024, 5, 1) + timedelta(weeks=w)).total for w in range(30)]
    assert totals == sorted(totals)
    assert totals[-1] > totals[0]


def test_ties_break_on_dpd_then_amount_then_id() -> None:
    a = facts(overdue_since=MONDAY - timedelta(days=40))
    b = facts(overdue_since=MONDAY - timedelta(days=50))  # same band, older
    c = facts(
        overdue_since=MONDAY - timedelta(days=50),
        overdue_amount=60_000 * YUAN,
        collateral_value=None,
    )
    assert score_case(a, MONDAY).total == score_case(b, MONDAY).total
    assert order([("a", a), ("b", b)]) == ["b", "a"]
    assert order([("b", b), ("c", c)]) == ["c", "b"]
    assert order([("y", a), ("x", a), ("z", a)]) == ["x", "y", "z"]
    assert [i for i, _ in rank_cases([(3, a), (1, a), (2, a)], MONDAY)] == [1, 2, 3]


def test_nothing_overdue_has_no_cover_ratio_and_no_weak_fallback() -> None:
    f = facts(overdue_amount=0, previous_overdue_amount=0, strong_guarantor=False)
    assert f.cover_ratio is None
    assert "fallback.weak" not in codes(f)


def test_large_amounts() -> None:
    assert "amount.over_1m" in codes(facts(overdue_amount=1_000_000 * YUAN))
    assert "amount.over_100k" in codes(facts(overdue_amount=100_000 * YUAN))
    assert not any(c.startswith("amount.") for c in codes(facts(overdue_amount=99_999 * YUAN)))


def test_a_monday_queue() -> None:
    """Five cases on a Monday morning, in the order a team lead would set them."""
    cases = [
        # Wang: 200 days overdue, stable, guarantor strong, visited last week.
        ("wang", facts(overdue_since=MONDAY - timedelta(200), last_contact=MONDAY - timedelta(6))),
        # Zhao promised to pay today.
        ("zhao", facts(promise_dates=(MONDAY,), broken_promises=1)),
        # Sun: credit loan, shop half empty, never visited, interest piling up.
        (
            "sun",
            facts(
                overdue_since=MONDAY - timedelta(60),
                strong_guarantor=False,
                deterioration=frozenset({Deterioration.BUSINESS_SLIDING}),
                previous_overdue_amount=42_000 * YUAN,
                last_contact=None,
            ),
        ),
        # Qian: 10 days overdue, spoke on Friday, nothing wrong.
        ("qian", facts(overdue_since=MONDAY - timedelta(10), last_contact=MONDAY - timedelta(3))),
        # Li: 45 days, untouched for a month.
        ("li", facts(last_contact=MONDAY - timedelta(35))),
    ]
    assert order(cases) == ["sun", "zhao", "wang", "li", "qian"]


def test_weak_fallback_is_claimed_only_on_known_facts() -> None:
    """ "Mostly on credit" needs to know the security: collateral on file but not valued is not
    worth zero, and guarantors nobody assessed are not weak — then the part is left out."""
    on_credit = facts(strong_guarantor=False, collateral_value=None)
    assert "fallback.weak" in codes(on_credit)  # nothing on file: a credit loan
    unvalued = facts(strong_guarantor=False, collateral_value=None, collateral_unvalued=True)
    assert "fallback.weak" not in codes(unvalued)
    unassessed = facts(strong_guarantor=False, guarantor_unassessed=True)
    assert "fallback.weak" not in codes(unassessed)
    sliding = frozenset({Deterioration.BUSINESS_SLIDING})
    assert "fallback.weak_and_sliding" not in codes(
        facts(strong_guarantor=False, guarantor_unassessed=True, deterioration=sliding)
    )
    # Valued and too small, no guarantor on file: weak fallback is a known fact.
    small = facts(strong_guarantor=False, collateral_value=10_000 * YUAN)
    assert "fallback.weak" in codes(small)


def test_a_summary_with_unvalued_collateral_or_unassessed_guarantors_claims_no_weak_fallback():
    from datetime import UTC

    from bot.domain.casefile import CaseSummary
    from bot.domain.cases import CaseStatus

    def summary(**kw: object) -> CaseSummary:
        base: dict[str, object] = {
            "id": 1, "contract_no": "HT1", "borrower_name": "张三", "borrower_phone": None,
            "status": CaseStatus.OPEN, "team_id": 1, "team_name": "东城", "lead_id": None,
            "lead_name": None,
            "principal_outstanding": 100, "overdue_principal": 100, "overdue_interest": 0,
            "overdue_since": MONDAY - timedelta(days=45), "previous_overdue_amount": None,
            "collateral_value": None, "deterioration": frozenset(), "strong_guarantor": False,
            "high_default_cost": False, "last_contact_at": None,
        }  # fmt: skip
        base.update(kw)
        return CaseSummary(**base)  # type: ignore[arg-type]

    def weak(s: CaseSummary) -> bool:
        return "fallback.weak" in codes(s.urgency_facts(UTC))

    assert weak(summary())
    assert not weak(summary(has_collateral=True))  # described, never valued
    assert not weak(summary(has_guarantor=True))  # guarantors on file, not assessed
    assert weak(summary(has_collateral=True, collateral_value=10))  # valued: 10 % cover


def test_a_promise_paid_in_part_is_named_so_not_called_broken():
    """Issue 16's demo: 吴敏's instalment paid in part read "broken promises" in the queue."""
    assert "promises.partial" in codes(facts(partial_promises=1))
    assert "promises.broken" not in codes(facts(partial_promises=1))
    both = score_case(facts(broken_promises=3, partial_promises=2), MONDAY)
    assert sum(p.points for p in both.parts if p.code.startswith("promises.")) == 30  # one cap
    mixed = score_case(facts(broken_promises=1, partial_promises=1), MONDAY).parts
    assert {ScorePart("promises.broken", 10), ScorePart("promises.partial", 10)} <= set(mixed)


@pytest.mark.parametrize(
    ("days_left", "code"),
    [(0, "legal.within_10"), (10, "legal.within_10"), (11, "legal.within_30"),
     (30, "legal.within_30"), (31, "legal.within_90"), (90, "legal.within_90"), (91, None),
     (-1, None)],
)  # fmt: skip
def test_a_legal_clock_near_its_end_raises_the_case(days_left: int, code: str | None) -> None:
    today = date(2026, 12, 8)
    ends = (date(2026, 12, 8) + timedelta(days=days_left), date(2030, 1, 1))
    facts = UrgencyFacts(overdue_since=today, overdue_amount=0, legal_ends=ends)
    legal = [p.code for p in score_case(facts, today).parts if p.code.startswith("legal.")]
    assert legal == ([code] if code else [])
