"""Repayment plans (策略5 忌华而不实): money today first, then instalments on exact dates, and
which concessions the collector may not grant alone (策略6 留有余地: ask the supervisor at once).

Pure rules; ``today`` is the cooperative's local date, passed in; money is in fen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from bot.domain.dates import Due, Recurrence, schedule_dates, working_day

#: A first instalment further out than this needs the supervisor (QINGSHOU_FIRST_DUE_DAYS).
FIRST_DUE_DAYS = 31
#: A collector may agree a plan of up to this many months alone (QINGSHOU_PLAN_MONTHS).
PLAN_MONTHS = 6

#: The smallest instalment, in fen: a plan of n instalments needs a total of at least n yuan.
MIN_INSTALMENT = 100

#: Codes of :class:`bot.domain.commitments.ApprovalReason`, kept here as plain strings so the
#: rules do not depend on storage records.
BELOW_TARGET, BELOW_BOTTOM, LONG_PLAN, FEE_WAIVER, FIRST_DATE_LATE, NO_BOTTOM_LINE = (
    "below_target",
    "below_bottom",
    "long_plan",
    "fee_waiver",
    "first_date_late",
    "no_bottom_line",
)
#: With no bottom line or target to check a plan against (the case was not prepared, or its
#: prep left them open), a plan that leaves more than this share of the debt unpaid, in percent,
#: goes to the supervisor (QINGSHOU_UNPREPARED_GAP_PERCENT).
UNPREPARED_GAP_PERCENT = 50


def equal_amounts(total: int, count: int) -> list[int]:
    """``total`` in ``count`` equal instalments to the yuan, the remainder on the last one.

    Edge cases: a total smaller than ``count`` yuan puts everything it can in whole yuan and the
    rest on the last; ``count`` < 1 raises ``ValueError``; amounts are never zero unless the
    total is smaller than the count in fen (then the caller must ask for fewer instalments).
    """
    if count < 1:
        raise ValueError("at least one instalment")
    each = (total // count) // 100 * 100  # whole yuan: nobody pays ¥833.33 three times
    amounts = [each] * (count - 1)
    amounts.append(total - each * (count - 1))
    return amounts


def total_too_small(total: int, count: int) -> bool:
    """True when ``total`` (fen) cannot give each of ``count`` instalments one yuan at least.
    Edge case: no instalment (``count`` 0) never makes a total too small."""
    return total < count * MIN_INSTALMENT


#: The kind of a :class:`Plan` whose rule waits for its number of instalments.
AWAITING_COUNT = "awaiting_count"


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan as the collector typed it: the words, the rule read from them and its due dates.

    ``kind`` is ``weekly`` / ``monthly`` for a recurrence (with its ``weekday`` or ``day``, and
    ``count`` or ``until``), ``dates`` for exact dates. ``shifted``: the dates were moved to
    working days. Its JSON form is the commitment's stored ``plan`` (dues as ``[iso, short]``).
    """

    text: str
    dues: tuple[Due, ...]
    kind: str = "dates"
    weekday: int | None = None
    day: int | None = None
    count: int | None = None
    until: str | None = None
    shifted: bool = False

    @classmethod
    def awaiting_count(cls, text: str) -> Plan:
        """A recurring rule typed without its length (``每周三``), kept while the number of
        instalments is asked: no due dates until the rule is read again with its count."""
        return cls(text, (), AWAITING_COUNT)

    @property
    def needs_count(self) -> bool:
        return self.kind == AWAITING_COUNT

    @classmethod
    def of(cls, text: str, rule: date | Recurrence | Sequence[date], today: date) -> Plan:
        """The plan of ``rule`` (read from ``text``) from ``today``."""
        dues = tuple(plan_dates(rule, today))
        if isinstance(rule, Recurrence):
            until = rule.until.isoformat() if rule.until else None
            return cls(text, dues, rule.kind, rule.weekday, rule.day, rule.count, until)
        return cls(text, dues)

    def on_working_days(self) -> Plan:
        """The same plan with each instalment on a weekend or holiday moved to the next
        working day (see :func:`to_working_days`)."""
        return replace(self, dues=tuple(to_working_days(self.dues)), shifted=True)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "dues": [[d.date.isoformat(), d.short_month] for d in self.dues],
            "kind": self.kind,
        }
        if self.kind != "dates":
            data.update(weekday=self.weekday, day=self.day, count=self.count, until=self.until)
        if self.shifted:
            data["shifted"] = True
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            text=str(data.get("text") or ""),
            dues=tuple(Due(date.fromisoformat(d), bool(short)) for d, short in data["dues"]),
            kind=str(data.get("kind") or "dates"),
            weekday=data.get("weekday"),
            day=data.get("day"),
            count=data.get("count"),
            until=data.get("until"),
            shifted=bool(data.get("shifted")),
        )


def plan_dates(rule: date | Recurrence | Sequence[date], today: date) -> list[Due]:
    """The due dates of a plan: one exact date, a fixed weekday / day of the month (with the
    short-month rule marked), or a list of exact dates (sorted, duplicates dropped)."""
    if isinstance(rule, Recurrence):
        return schedule_dates(rule, today)
    if isinstance(rule, date):
        return [Due(rule)]
    return [Due(d) for d in sorted(set(rule))]


@dataclass(frozen=True, slots=True)
class PlanCheck:
    """What a proposed commitment asks of the supervisor, and how it stands against the debt.

    ``gap``: what stays unpaid after money today and all instalments (0: the whole debt).
    ``over``: how much the plan exceeds the debt (refused when positive).
    """

    reasons: frozenset[str]
    gap: int
    over: int
    months: int


def check_plan(
    *,
    money_today: int,
    amounts: Sequence[int],
    dues: Sequence[Due],
    debt: int,
    today: date,
    bottom: int | None = None,
    target: int | None = None,
    fee_waiver: bool = False,
    first_due_days: int = FIRST_DUE_DAYS,
    plan_months: int = PLAN_MONTHS,
    unprepared_gap_percent: int = UNPREPARED_GAP_PERCENT,
) -> PlanCheck:
    """Which concessions a plan makes (策略6: not granted on the spot, put to the supervisor):

    - the whole promise (money today + instalments) below the prep's bottom line (底线) or
      target (目标) — below the bottom line is the stronger reason and replaces "below target";
    - a first instalment more than ``first_due_days`` days away;
    - a plan whose last instalment is more than ``plan_months`` months after today;
    - a fee or occupancy-fee waiver the collector asked for;
    - with neither a bottom line nor a target (the case was not prepared, or its prep left
      them open), a plan that leaves more than ``unprepared_gap_percent`` % of the debt unpaid:
      nothing says what we would accept, so the supervisor decides.

    Edge cases: an empty plan (money today only) has no date reasons; ``over`` > 0 means the
    promise is more than the debt (refuse it); a debt of 0 leaves nothing unpaid.
    """
    promised = money_today + sum(amounts)
    reasons: set[str] = set()
    if bottom is not None and promised < bottom:
        reasons.add(BELOW_BOTTOM)
    elif target is not None and promised < target:
        reasons.add(BELOW_TARGET)
    months = 0
    if dues:
        first, last = dues[0].date, dues[-1].date
        if (first - today).days > first_due_days:
            reasons.add(FIRST_DATE_LATE)
        months = (last.year - today.year) * 12 + (last.month - today.month)
        if last.day > today.day:
            months += 1
        if months > plan_months:
            reasons.add(LONG_PLAN)
    if fee_waiver:
        reasons.add(FEE_WAIVER)
    gap = max(debt - promised, 0)
    if bottom is None and target is None and gap * 100 > debt * unprepared_gap_percent:
        reasons.add(NO_BOTTOM_LINE)
    return PlanCheck(
        reasons=frozenset(reasons),
        gap=gap,
        over=max(promised - debt, 0),
        months=months,
    )


#: 策略2 立竿见影: two or three meetings should settle a case; at this many meetings without an
#: agreement the case is flagged for the supervisor.
STALLED_AFTER = 3


def stalled(meetings_without_agreement: int) -> bool:
    """Three or more meetings and still no agreement (策略2: flag it for the supervisor)."""
    return meetings_without_agreement >= STALLED_AFTER


def to_working_days(dues: Sequence[Due]) -> list[Due]:
    """Each instalment on a weekend or public holiday moved to the next working day (as the
    summary offers); the others as they are. Edge case: two instalments may then share a day
    (a Saturday and the Monday after both land on Monday) — the summary shows it."""
    return [Due(working_day(d.date).next_working_day or d.date, d.short_month) for d in dues]


def apply_counter(
    dues: Sequence[Due],
    amounts: Sequence[int],
    counter: dict[str, object],
    plan: Plan | None = None,
) -> tuple[list[Due], list[int]]:
    """A supervisor's counter-offer applied to a plan, re-planned by the plan's own rule.

    - An ``amount`` is the new total of the instalments (equal again, to the yuan).
    - A ``date`` (ISO) is the new first due date. A plan on a fixed weekday or day of the month
      keeps that kind of rule from the new date, with as many instalments: the 15th of each
      month countered with 20 December is the 20th of each month from then (the short-month rule
      again for day 29–31); every Wednesday countered with a Thursday is every Thursday. Exact
      dates all move by the same number of days. A move to working days made before is not
      kept: the dates follow the rule again, and the summary checks them afresh (策略5).
    - Anything else leaves the plan as it was.
    """
    new_dues, new_amounts = list(dues), list(amounts)
    amount = counter.get("amount")
    if isinstance(amount, int) and not isinstance(amount, bool) and new_dues:
        new_amounts = equal_amounts(amount, len(new_dues))
    first = counter.get("date")
    if isinstance(first, str) and new_dues:
        start = date.fromisoformat(first)
        count = len(new_dues)
        if plan is not None and plan.kind == "weekly":
            rule = Recurrence("weekly", weekday=start.weekday(), count=count)
            new_dues = schedule_dates(rule, start - timedelta(days=1))
        elif plan is not None and plan.kind == "monthly":
            rule = Recurrence("monthly", day=start.day, count=count)
            new_dues = schedule_dates(rule, start - timedelta(days=1))
        else:
            shift = start - new_dues[0].date
            new_dues = [Due(d.date + shift, d.short_month) for d in new_dues]
    return new_dues, new_amounts
