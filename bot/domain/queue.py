"""The collector's queue (strategy 11, 兵贵神速): ranked cases, pages, and today's list.

Ranking is :func:`bot.domain.urgency.rank_cases`; this module decides what "today" means and
cuts pages, so that handlers only render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from typing import Generic, TypeVar

from bot.domain.casefile import CaseSummary
from bot.domain.urgency import UrgencyScore, rank_cases

__all__ = [
    "DAILY_CAPACITY",
    "PAGE_SIZE",
    "TODAY_TRIGGERS",
    "Page",
    "RankedCase",
    "page_of",
    "rank_queue",
    "select_today",
]

PAGE_SIZE = 10
#: Cases a collector can work face to face in a day besides the ones that cannot wait.
DAILY_CAPACITY = 5
#: Reasons that put a case on today's list whatever its rank: money promised for today or
#: a promise left unconfirmed or broken (strategy 5), and signs that waiting loses money —
#: assets moving away, the borrower gone, other creditors pressing, the debt growing fast
#: (strategy 11).
TODAY_TRIGGERS = frozenset(
    {
        "promise.due_today",
        "promise.unconfirmed",
        "promises.broken",
        "deterioration.assets_moving",
        "deterioration.unreachable",
        "deterioration.other_creditors",
        "debt.growing_fast",
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
