"""The collector's answer to a reminder, and money recorded elsewhere (issue 10): pure rules.

Paid in full keeps the instalment; Partial records what was paid and keeps the rest open;
Missed breaks it at once, unless the grace days (counted from the due date) are not over: then
it stays open as *late* and is asked again (grace 0, the default: a missed due date is a broken
promise, and the supervisor hears of it at once). An instalment nobody answered by the follow-up is
'unconfirmed' (set by the poller), never silently kept, and can still be answered. Money
recorded by /outcome or /commit's money today pays the case's open instalments oldest first.

Money is ``int`` fen; dates are the cooperative's local calendar date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.commitments import InstalmentStatus

__all__ = [
    "ANSWERABLE",
    "Allocation",
    "Answer",
    "AnswerRefused",
    "Answered",
    "Effect",
    "InstalmentView",
    "MissReason",
    "Owed",
    "allocate",
    "answer_effect",
    "grace_ends",
    "is_broken",
]


class Answer(StrEnum):
    """The three buttons of a reminder's instalment row (their codes are the callback's)."""

    PAID = "paid"
    PARTIAL = "partial"
    MISSED = "missed"


class MissReason(StrEnum):
    """Why a payment was missed (several may be chosen, with the collector's own words)."""

    NO_MONEY = "no_money"
    UNREACHABLE = "unreachable"
    REFUSED = "refused"
    LATER = "later"
    DISPUTE = "dispute"
    OTHER = "other"


#: The states an answer (or money recorded elsewhere) can still change: the rest is open.
ANSWERABLE = frozenset(
    {InstalmentStatus.OPEN, InstalmentStatus.PARTIAL, InstalmentStatus.UNCONFIRMED}
)


def grace_ends(due_on: date, grace_days: int) -> date:
    """The last day on which an unpaid instalment is still only late, not broken: grace 1
    is the due day itself, grace 2 the day after; grace 0 has no such day (the day before)."""
    return due_on + timedelta(days=max(grace_days, 0) - 1)


def is_broken(due_on: date, today: date, grace_days: int) -> bool:
    """Missed once the grace days are over: the promise is broken (grace 0: on the due day)."""
    return today > grace_ends(due_on, grace_days)


class AnswerRefused(ValueError):
    """An answer that cannot be taken: ``settled`` (nothing is open any more) or ``amount``
    (a partial payment that is not between 1 fen and what is still open)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Effect:
    """What an answer does to an instalment."""

    status: InstalmentStatus
    pay: int  # fen recorded as a payment now (0: none)
    paid: int  # fen paid against it in all, afterwards
    settled: bool  # it leaves the open states now (settled_at is set)
    retire: bool  # its pending reminders are retired
    late: bool = False  # a miss within the grace days: still open, asked again


def answer_effect(
    *,
    amount: int,
    paid: int,
    status: InstalmentStatus,
    due_on: date,
    answer: Answer,
    today: date,
    grace_days: int,
    payment: int | None = None,
) -> Effect:
    """The effect of ``answer`` on an instalment of ``amount`` with ``paid`` so far.

    Raises :class:`AnswerRefused` for an instalment no longer open, or a partial payment out of
    range. A partial payment of everything still open keeps the instalment (as Paid would).
    """
    if status not in ANSWERABLE:
        raise AnswerRefused("settled")
    rest = amount - paid
    if answer is Answer.PAID:
        return Effect(InstalmentStatus.KEPT, rest, amount, settled=True, retire=True)
    if answer is Answer.PARTIAL:
        if payment is None or not 0 < payment <= rest:
            raise AnswerRefused("amount")
        if payment == rest:
            return Effect(InstalmentStatus.KEPT, payment, amount, settled=True, retire=True)
        return Effect(
            InstalmentStatus.PARTIAL, payment, paid + payment, settled=False, retire=False
        )
    if is_broken(due_on, today, grace_days):
        return Effect(InstalmentStatus.BROKEN, 0, paid, settled=True, retire=True)
    return Effect(status, 0, paid, settled=False, retire=False, late=True)


@dataclass(frozen=True, slots=True)
class Owed:
    """An open instalment as the allocation of a payment sees it."""

    id: int
    due_on: date
    seq: int
    amount: int
    paid: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """The part of a payment that goes to one instalment."""

    id: int
    take: int
    paid: int  # its paid total afterwards
    kept: bool  # fully paid now


def allocate(amount: int, owed: Sequence[Owed]) -> list[Allocation]:
    """Spread a payment over open instalments, oldest first (due date, then order in the
    plan); what is left after the last one is not allocated (it still counts for the debt)."""
    left = max(amount, 0)
    result = []
    for item in sorted(owed, key=lambda o: (o.due_on, o.seq, o.id)):
        if left <= 0:
            break
        rest = item.amount - item.paid
        if rest <= 0:
            continue
        take = min(rest, left)
        left -= take
        result.append(Allocation(item.id, take, item.paid + take, item.paid + take == item.amount))
    return result


@dataclass(frozen=True, slots=True)
class InstalmentView:
    """One instalment with what a reminder's answer needs: its case and its state."""

    id: int
    commitment_id: int
    case_id: int
    seq: int
    count: int  # instalments in its commitment
    due_on: date
    amount: int
    paid: int
    status: InstalmentStatus
    commitment_status: str
    borrower_name: str
    contract_no: str
    team_id: int | None
    lead_id: int | None
    answered_at: datetime | None
    answered_by: int | None
    miss_reasons: tuple[str, ...]
    miss_note: str | None
    settled_at: datetime | None

    @property
    def rest(self) -> int:
        return max(self.amount - self.paid, 0)

    @property
    def answerable(self) -> bool:
        """Open to an answer: in force (agreed commitment) and something still open."""
        return self.commitment_status == "agreed" and self.status in ANSWERABLE


@dataclass(frozen=True, slots=True)
class Answered:
    """What :meth:`answer_instalment` did: the instalment afterwards; ``changed`` False when
    nothing was written (a double tap, a replayed button, settled another way meanwhile);
    ``refused`` the :class:`AnswerRefused` code then, if any."""

    instalment: InstalmentView
    changed: bool
    paid_now: int = 0
    late: bool = False
    told: int = 0  # supervisors told (outbox rows written)
    refused: str | None = None
