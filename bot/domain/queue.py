"""The collector's queue (strategy 11, 兵贵神速): ranked cases, pages, and today's list.

Ranking is :func:`bot.domain.urgency.rank_cases`; this module decides what "today" means and
cuts pages, so that handlers only render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Generic, TypeVar

from bot.domain.casefile import CaseSummary, local_date
from bot.domain.urgency import (
    LEGAL_STEPS,
    UrgencyFacts,
    UrgencyScore,
    rank_cases,
    score_case,
)

__all__ = [
    "DAILY_CAPACITY",
    "NEVER",
    "PAGE_SIZE",
    "TODAY_TRIGGERS",
    "TO_DO",
    "TO_DO_LOOK_BACK",
    "Page",
    "QueueKey",
    "RankedCase",
    "page_of",
    "queue_key",
    "rank_page",
    "rank_queue",
    "select_today",
    "to_do_since",
    "today_room",
]

PAGE_SIZE = 10
#: /today's to-do lists (broken promises, payments to answer, next steps): at most this many of
#: each, and how far back they look for what came due and was not done.
TO_DO = 10
TO_DO_LOOK_BACK = timedelta(days=7)
#: Cases a collector can work face to face in a day besides the ones that cannot wait.
DAILY_CAPACITY = 5
#: Reasons that put a case on today's list whatever its rank: money promised for today or
#: a promise left unconfirmed, broken or paid only in part (strategy 5), and signs that
#: waiting loses money — assets moving away, the borrower gone, other creditors pressing,
#: the debt growing fast (strategy 11).
TODAY_TRIGGERS = frozenset(
    {
        "promise.due_today",
        "promise.unconfirmed",
        "promises.broken",
        "promises.partial",
        "deterioration.assets_moving",
        "deterioration.unreachable",
        "deterioration.other_creditors",
        "debt.growing_fast",
        "legal.within_10",
    }
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RankedCase(Generic[T]):
    """A case (whatever the caller shows) with its score and its place in the queue (1-based)."""

    rank: int
    case: T
    score: UrgencyScore


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    number: int  # 0-based, clamped into range
    count: int  # number of pages, at least 1
    total: int  # items over all pages

    @property
    def has_previous(self) -> bool:
        return self.number > 0

    @property
    def has_next(self) -> bool:
        return self.number + 1 < self.count


def page_of(items: Sequence[T], number: int, size: int = PAGE_SIZE) -> Page[T]:
    """Page ``number`` of ``items``. A page past the end (the queue shrank since the button
    was made) shows the last page; a negative one the first."""
    count = max(1, -(-len(items) // size))
    number = min(max(number, 0), count - 1)
    return Page(tuple(items[number * size : (number + 1) * size]), number, count, len(items))


def select_today(
    ranked: Sequence[RankedCase[T]], capacity: int = DAILY_CAPACITY
) -> list[RankedCase[T]]:
    """Today's list, in queue order: every case with a reason that cannot wait
    (:data:`TODAY_TRIGGERS`), plus the most urgent of the others until ``capacity`` cases are
    on the list. So a quiet day still has the top of the queue to work, and a busy day shows
    everything that must not slip, even beyond capacity. The list is numbered on its own, 1 to
    n: a case keeps its order from the queue, not its number there (no 1, 2, 3, 4, 6)."""
    chosen: list[RankedCase[T]] = []
    room = capacity
    urgent = {id(r) for r in ranked if any(p.code in TODAY_TRIGGERS for p in r.score.parts)}
    room -= len(urgent)
    for r in ranked:
        if id(r) in urgent:
            chosen.append(r)
        elif room > 0:
            chosen.append(r)
            room -= 1
    return [replace(r, rank=i) for i, r in enumerate(chosen, 1)]


def rank_queue(
    cases: Sequence[CaseSummary], today: date, tz: tzinfo
) -> list[RankedCase[CaseSummary]]:
    """Open cases most urgent first (closed ones are dropped: they are not worked)."""
    by_id = {c.id: c for c in cases if not c.status.is_closed}
    ranked = rank_cases(((c.id, c.urgency_facts(tz)) for c in by_id.values()), today)
    return [RankedCase(i, by_id[case_id], score) for i, (case_id, score) in enumerate(ranked, 1)]


#: The day a key stays valid until when no date in its facts will move it (ISO text sorts last).
NEVER = date.max
#: Days past due at which the score's band changes (``dpd > k`` for k in 0, 30, 90, 180).
_DPD_STEPS = (1, 31, 91, 181)
#: Days without contact at which the score's contact part changes (14 and 30 days).
_IDLE_STEPS = (14, 30)


@dataclass(frozen=True, slots=True)
class QueueKey:
    """What the queue sorts a case by, stored with the case so a page of the queue is an index
    range instead of a ranking of every case (issue 17).

    The queue's order (:func:`rank_cases`) is: score descending, days past due descending,
    amount owed descending, case id ascending. Days past due move with the date, so the key
    holds the date the debt fell overdue instead (``overdue_since`` ascending is days past due
    descending); a case not overdue yet has 0 days, like every other such case, and its
    ``overdue_since`` is replaced by :data:`NEVER` so they tie as they do in the domain.

    The score moves with the date only at known days (a promise falling due or passing, a
    band of days past due or of days without contact), so the key holds for every day from
    ``valid_from`` until the day before ``valid_until``; on ``valid_until`` it must be worked
    out again (the daily job does it; a read finding one out of date does it first).
    ``urgent``: the case is on today's list whatever its rank (:data:`TODAY_TRIGGERS`).
    """

    score: int
    since: date
    owed: int
    urgent: bool
    valid_from: date
    valid_until: date

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day < self.valid_until


def queue_key(facts: UrgencyFacts, today: date) -> QueueKey:
    """The sort key of a case with ``facts`` on ``today`` (see :class:`QueueKey`).

    Edge cases: a promise due today changes the score tomorrow (it becomes unconfirmed); a
    promise already passed changes nothing more; a legal clock moves it 90, 30 and 10 days
    before its last day and on the day after it; a last contact dated after ``today`` (clock
    skew) scores as today's contact and moves 14 and 30 days after its own date.
    """
    score = score_case(facts, today)
    moves: list[date] = []
    for d in facts.promise_dates:
        if d > today:
            moves.append(d)
        elif d == today:
            moves.append(today + timedelta(days=1))
    for step in _DPD_STEPS:
        moves.append(_plus(facts.overdue_since, step))
    if facts.last_contact is not None:
        for step in _IDLE_STEPS:
            moves.append(_plus(facts.last_contact, step))
    for end in facts.legal_ends:
        # The legal part changes on entering each window before a clock's last day, and on the
        # day after it (the next clock counts then).
        for step in LEGAL_STEPS:
            moves.append(_plus(end, -step))
        moves.append(_plus(end, 1))
    later = [d for d in moves if d > today]
    return QueueKey(
        score=score.total,
        since=facts.overdue_since if score.days_past_due > 0 else NEVER,
        owed=facts.overdue_amount,
        urgent=any(p.code in TODAY_TRIGGERS for p in score.parts),
        valid_from=today,
        valid_until=min(later, default=NEVER),
    )


def _plus(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:  # a date near 0001-01-01 / 9999-12-31 in bad data: it never moves
        return NEVER


def today_room(urgent: int, capacity: int = DAILY_CAPACITY) -> int:
    """How many cases without a reason that cannot wait join today's list when ``urgent``
    cases have one (:func:`select_today`, counted instead of listed)."""
    return max(capacity - urgent, 0)


def rank_page(
    page: Page[CaseSummary], today: date, tz: tzinfo, size: int = PAGE_SIZE
) -> Page[RankedCase[CaseSummary]]:
    """A page of cases already in queue order (the storage's index) with their scores and
    places: only the cases shown are scored, whatever the size of the queue."""
    first = page.number * size + 1
    items = tuple(
        RankedCase(first + i, c, score_case(c.urgency_facts(tz), today))
        for i, c in enumerate(page.items)
    )
    return Page(items, page.number, page.count, page.total)


def to_do_since(now: datetime, tz: tzinfo) -> tuple[datetime, date]:
    """Where /today's to-do lists start looking back from ``now``: the instant (promises broken
    since then) and the cooperative's calendar day (next steps set for it or later)."""
    since = now - TO_DO_LOOK_BACK
    return since, local_date(since, tz)
