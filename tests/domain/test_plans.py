"""Repayment plans, read like the rules of 策略5 and 策略6."""

from __future__ import annotations

from datetime import date

from bot.domain.dates import Due, Recurrence
from bot.domain.plans import (
    BELOW_BOTTOM,
    BELOW_TARGET,
    FEE_WAIVER,
    FIRST_DATE_LATE,
    LONG_PLAN,
    MIN_INSTALMENT,
    NO_BOTTOM_LINE,
    check_plan,
    equal_amounts,
    plan_dates,
    stalled,
    total_too_small,
)

SAT_28_NOV = date(2026, 11, 28)
YUAN = 100


def test_equal_instalments_are_whole_yuan_with_the_remainder_on_the_last():
    assert equal_amounts(5_000 * YUAN, 6) == [833 * YUAN] * 5 + [835 * YUAN]
    assert sum(equal_amounts(5_000 * YUAN + 50, 6)) == 5_000 * YUAN + 50
    assert equal_amounts(600 * YUAN, 6) == [100 * YUAN] * 6


def test_the_25th_of_each_month_six_times_from_saturday_28_november():
    dues = plan_dates(Recurrence("monthly", day=25, count=6), SAT_28_NOV)
    assert [d.date for d in dues] == [
        date(2026, 12, 25), date(2027, 1, 25), date(2027, 2, 25),
        date(2027, 3, 25), date(2027, 4, 25), date(2027, 5, 25),
    ]  # fmt: skip


def test_a_list_of_dates_is_sorted_once_each():
    dues = plan_dates([date(2027, 1, 5), date(2026, 12, 5), date(2027, 1, 5)], SAT_28_NOV)
    assert dues == [Due(date(2026, 12, 5)), Due(date(2027, 1, 5))]


def test_a_promise_below_the_bottom_line_needs_the_supervisor_and_says_so_not_target():
    check = check_plan(money_today=1_000 * YUAN, amounts=[500 * YUAN] * 6,
                       dues=plan_dates(Recurrence("monthly", day=25, count=6), SAT_28_NOV),
                       debt=9_000 * YUAN, today=SAT_28_NOV, bottom=6_000 * YUAN,
                       target=8_000 * YUAN)  # fmt: skip
    assert check.reasons == {BELOW_BOTTOM}
    assert check.gap == 5_000 * YUAN
    assert check.over == 0
    assert check.months == 6


def test_between_bottom_line_and_target_is_below_target():
    check = check_plan(money_today=0, amounts=[7_000 * YUAN], dues=[Due(date(2026, 12, 10))],
                       debt=9_000 * YUAN, today=SAT_28_NOV, bottom=6_000 * YUAN,
                       target=8_000 * YUAN)  # fmt: skip
    assert check.reasons == {BELOW_TARGET}


def test_a_late_first_date_a_long_plan_and_a_fee_waiver_each_need_the_supervisor():
    dues = plan_dates(Recurrence("monthly", day=25, count=12), date(2026, 12, 26))
    check = check_plan(money_today=0, amounts=[750 * YUAN] * 12, dues=dues, debt=9_000 * YUAN,
                       today=SAT_28_NOV, fee_waiver=True)  # fmt: skip
    assert check.reasons == {FIRST_DATE_LATE, LONG_PLAN, FEE_WAIVER}


def test_a_plan_within_the_limits_needs_nobody_and_more_than_the_debt_is_over():
    ok = check_plan(money_today=2_000 * YUAN, amounts=[1_000 * YUAN] * 6,
                    dues=plan_dates(Recurrence("monthly", day=25, count=6), SAT_28_NOV),
                    debt=9_000 * YUAN, today=SAT_28_NOV, bottom=6_000 * YUAN,
                    target=8_000 * YUAN)  # fmt: skip
    assert ok.reasons == frozenset()
    assert ok.gap == 1_000 * YUAN
    too_much = check_plan(money_today=0, amounts=[10_000 * YUAN], dues=[Due(date(2026, 12, 1))],
                          debt=9_000 * YUAN, today=SAT_28_NOV)  # fmt: skip
    assert too_much.over == 1_000 * YUAN


def test_three_meetings_without_an_agreement_are_stalled_two_are_not():
    assert not stalled(2)
    assert stalled(3)


def test_instalments_on_a_weekend_or_holiday_move_to_the_next_working_day():
    from bot.domain.plans import to_working_days

    national_day = Due(date(2026, 10, 1))  # 国庆节
    sunday = Due(date(2026, 12, 27))
    monday = Due(date(2026, 12, 28))
    assert [d.date for d in to_working_days([national_day, sunday, monday])] == [
        date(2026, 10, 8), date(2026, 12, 28), date(2026, 12, 28),
    ]  # fmt: skip


def test_a_counter_offer_sets_the_total_or_moves_the_first_date():
    from bot.domain.plans import apply_counter

    dues = plan_dates(Recurrence("monthly", day=25, count=3), SAT_28_NOV)
    amounts = [1_000 * YUAN] * 3
    new_dues, new_amounts = apply_counter(dues, amounts, {"amount": 4_500 * YUAN})
    assert (new_dues, new_amounts) == (dues, [1_500 * YUAN] * 3)
    new_dues, new_amounts = apply_counter(dues, amounts, {"date": "2026-12-20"})
    assert [d.date for d in new_dues] == [date(2026, 12, 20), date(2027, 1, 20), date(2027, 2, 20)]
    assert new_amounts == amounts
    assert apply_counter(dues, amounts, {"nonsense": True}) == (list(dues), amounts)


def test_a_total_gives_each_instalment_one_yuan_at_least():
    assert MIN_INSTALMENT == 100
    assert total_too_small(299, 3)  # ¥2.99 over three instalments
    assert not total_too_small(300, 3)
    assert not total_too_small(0, 0)  # no instalment: nothing to split
    assert total_too_small(99, 1)


def test_an_unprepared_plan_leaving_most_of_the_debt_unpaid_goes_to_the_supervisor():
    """Issue 16: a plan on a case with no prep, leaving ¥102,000 of ¥132,000 unpaid, was
    confirmed alone: with no bottom line there was nothing to check it against."""
    dues = [Due(date(2026, 12, 25)), Due(date(2027, 1, 25))]

    def check(amount: int, **figures: int):
        return check_plan(money_today=10_000 * YUAN, amounts=[amount * YUAN] * 2, dues=dues,
                          debt=132_000 * YUAN, today=SAT_28_NOV, **figures)  # fmt: skip

    assert check(10_000).reasons == {NO_BOTTOM_LINE}  # ¥102,000 of ¥132,000 left: 77 %
    assert check(30_000).reasons == frozenset()  # ¥62,000 left: 47 %, under half
    # With a bottom line the plan is checked against it instead.
    assert check(10_000, bottom=20_000 * YUAN).reasons == frozenset()
    assert check(10_000, target=40_000 * YUAN).reasons == {BELOW_TARGET}
    # The share is a setting: 0 sends every unprepared plan that leaves anything unpaid.
    strict = check_plan(
        money_today=0, amounts=[131_000 * YUAN], dues=dues[:1], debt=132_000 * YUAN,
        today=SAT_28_NOV, unprepared_gap_percent=0,
    )  # fmt: skip
    assert strict.reasons == {NO_BOTTOM_LINE}


def test_a_date_counter_offer_re_plans_by_the_rule_and_drops_an_old_weekend_shift():
    """Issue 16: a counter-offer moved every instalment by the same days and kept a working-day
    shift that no longer applied: the 15th became "16 Apr (Fri)" for a Thursday 15th, and a
    Saturday 15 May came with no warning."""
    from bot.domain.dates import working_day
    from bot.domain.plans import Plan, apply_counter

    made = date(2026, 11, 20)  # Friday 20 November
    plan = Plan.of("每月15号 共6期", Recurrence("monthly", day=15, count=6), made)
    shifted = plan.on_working_days()  # 15 May 2027 is a Saturday: moved to Monday 17 May
    assert shifted.dues[5].date == date(2027, 5, 17)
    amounts = [1_000 * YUAN] * 6
    dues, _ = apply_counter(shifted.dues, amounts, {"date": "2026-12-15"}, shifted)
    # The rule again from 15 December: every 15th, none of them moved.
    assert [d.date for d in dues] == [
        date(2026, 12, 15), date(2027, 1, 15), date(2027, 2, 15),
        date(2027, 3, 15), date(2027, 4, 15), date(2027, 5, 15),
    ]  # fmt: skip
    # ...so the check sees the Saturday again (the summary warns, strategy 5).
    assert not working_day(dues[5].date).is_working_day
    # Countered with the 20th: the 20th of each month, as many instalments.
    dues, _ = apply_counter(shifted.dues, amounts, {"date": "2026-12-20"}, shifted)
    assert [d.date.day for d in dues] == [20] * 6
    # Every Wednesday countered with a Thursday: every Thursday.
    weekly = Plan.of("每周三 共4期", Recurrence("weekly", weekday=2, count=4), made)
    dues, _ = apply_counter(weekly.dues, [500 * YUAN] * 4, {"date": "2026-12-03"}, weekly)
    assert [d.date for d in dues] == [
        date(2026, 12, 3),
        date(2026, 12, 10),
        date(2026, 12, 17),
        date(2026, 12, 24),
    ]
