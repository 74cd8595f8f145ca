"""The stored sort key (issue 17): sorting by it is the urgency rule's own order, on every day
the key says it holds (a property test over seeded random cases)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from bot.domain.queue import NEVER, TODAY_TRIGGERS, QueueKey, queue_key, today_room
from bot.domain.urgency import Deterioration, UrgencyFacts, rank_cases, score_case

MONDAY = date(2026, 12, 7)


def random_facts(rng: random.Random, around: date) -> UrgencyFacts:
    def day(spread: int) -> date:
        return around + timedelta(days=rng.randint(-spread, spread))

    amount = rng.choice([0, rng.randint(1, 10**6), rng.randint(10**6, 2 * 10**8)])
    return UrgencyFacts(
        overdue_since=day(400),
        overdue_amount=amount,
        previous_overdue_amount=rng.choice([None, 0, amount, max(amount - 5000, 0), amount * 2]),
        deterioration=frozenset(rng.sample(list(Deterioration), rng.randint(0, 2))),
        strong_guarantor=rng.random() < 0.2,
        collateral_value=rng.choice([None, 0, amount // 3, amount * 2]),
        high_default_cost=rng.random() < 0.2,
        promise_dates=tuple(sorted(day(40) for _ in range(rng.randint(0, 3)))),
        broken_promises=rng.randint(0, 4),
        last_contact=rng.choice([None, day(60)]),
        collateral_unvalued=rng.random() < 0.1,
        guarantor_unassessed=rng.random() < 0.2,
        security_unknown=rng.random() < 0.1,
        legal_ends=tuple(sorted({day(150) for _ in range(rng.randint(0, 3))})),
    )


def by_key(keys: dict[int, QueueKey]) -> list[int]:
    """The storage's ORDER BY q_score DESC, q_since, q_owed DESC, id."""
    return sorted(keys, key=lambda i: (-keys[i].score, keys[i].since, -keys[i].owed, i))


@pytest.mark.parametrize("seed", range(30))
def test_sorting_by_keys_made_on_different_days_is_the_urgency_order_of_today(seed):
    rng = random.Random(seed)
    cases = {i: random_facts(rng, MONDAY) for i in range(1, 60)}
    # Each key was worked out on some earlier day and is still valid (the daily job and the
    # writes refreshed the others): the order must be today's all the same.
    today = MONDAY + timedelta(days=rng.randint(0, 20))
    keys = {}
    for i, facts in cases.items():
        made = today - timedelta(days=rng.randint(0, 10))
        key = queue_key(facts, made)
        if not key.valid_on(today):
            key = queue_key(facts, today)
        keys[i] = key
    assert by_key(keys) == [i for i, _ in rank_cases(cases.items(), today)]


@pytest.mark.parametrize("seed", range(30))
def test_a_key_holds_its_score_and_reasons_on_every_day_it_says_it_is_valid(seed):
    rng = random.Random(1000 + seed)
    for _ in range(40):
        facts = random_facts(rng, MONDAY)
        key = queue_key(facts, MONDAY)
        assert key.valid_from == MONDAY < key.valid_until
        last = min(key.valid_until, MONDAY + timedelta(days=200))
        for offset in range((last - MONDAY).days):
            day = MONDAY + timedelta(days=offset)
            score = score_case(facts, day)
            assert score.total == key.score
            assert key.urgent == any(p.code in TODAY_TRIGGERS for p in score.parts)
            assert (key.since == NEVER) == (score.days_past_due == 0)


def test_a_promise_due_today_moves_the_key_tomorrow_and_one_due_later_on_its_day():
    facts = UrgencyFacts(
        overdue_since=MONDAY - timedelta(days=10),
        overdue_amount=100,
        promise_dates=(MONDAY, MONDAY + timedelta(days=3)),
        last_contact=MONDAY,
    )
    assert queue_key(facts, MONDAY).valid_until == MONDAY + timedelta(days=1)
    assert queue_key(facts, MONDAY + timedelta(days=1)).valid_until == MONDAY + timedelta(days=3)


def test_a_loan_not_overdue_yet_ties_with_the_others_on_days_past_due():
    later = UrgencyFacts(overdue_since=MONDAY + timedelta(days=9), overdue_amount=100)
    sooner = UrgencyFacts(overdue_since=MONDAY, overdue_amount=100)
    assert queue_key(later, MONDAY).since == queue_key(sooner, MONDAY).since == NEVER
    # It becomes overdue the day after its date: the key is worked out again then.
    assert queue_key(sooner, MONDAY).valid_until == MONDAY + timedelta(days=1)


def test_today_has_room_for_the_top_cases_only_while_few_cannot_wait():
    assert today_room(0) == 5
    assert today_room(3) == 2
    assert today_room(9) == 0


def test_a_legal_clock_moves_the_key_as_it_enters_each_window_and_after_its_last_day():
    # A guarantor's period ends Friday 18 Dec 2026: within 30 days now (Monday 7 Dec).
    facts = UrgencyFacts(
        overdue_since=date(2025, 1, 1), overdue_amount=100, legal_ends=(date(2026, 12, 18),)
    )
    key = queue_key(facts, MONDAY)
    assert key.valid_until == date(2026, 12, 8)  # 10 days before: within 10 from Tuesday
    assert not key.urgent
    tuesday = queue_key(facts, date(2026, 12, 8))
    assert tuesday.urgent  # within 10 days: on today's list whatever its rank
    assert tuesday.valid_until == date(2026, 12, 19)
    assert not queue_key(facts, date(2026, 12, 19)).urgent  # lapsed: nothing left to do
