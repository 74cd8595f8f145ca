"""Urgency of a case — strategy 11, 兵贵神速 (speed is the essence of war).

The collector's queue is ordered by :func:`score_case`. The score is a sum of named parts so the
UI can say *why* a case is first ("debt grew 20% since the last import; business sliding").

Strategy 11 says: act early, above all where the debt keeps growing or the business is
sliding; press hardest where we hold leverage (a strong guarantor, good collateral, a high cost
of default for the borrower); where the loan is mostly on credit with a weak fallback, move
before the cash flow dries up — and even with collateral, go for cash flow first. Strategy 5
(忌华而不实) adds that a promised payment date is a day to act on, and a broken promise a
reason to press. The supervisor's view of "cases left untouched too long" is the contact part.

Weights (points, in :data:`WEIGHTS`) and why:

Act on today's money (strategy 5, 忌华而不实):

- ``promise.due_today`` 40 — a promised payment falls due today: collect it today, or it
  becomes a broken promise.
- ``promise.unconfirmed`` 25 — a promised date has passed with neither payment nor breach
  recorded: find out today.
- ``promises.broken`` 10 each, at most 3 (30) — the borrower stalls; press.
- ``promises.partial`` 10 each, within the same 3 — an instalment paid only in part: the
  borrower stalls too, but it is named for what it is, not called broken.

Act early (strategy 11, first clause):

- ``dpd.over_180`` 40, ``dpd.over_90`` 30, ``dpd.over_30`` 20, ``dpd.over_0`` 10 — days past
  due in the bands a cooperative reports. Older debt is harder to collect, so the longer it
  lasts, the more it must move now. Bands, not a slope, so the UI can name the reason.
- ``debt.growing_fast`` 30 (overdue amount up ≥ 10 % since the previous import, or from
  nothing), ``debt.growing`` 15 (up by less) — "where the debt keeps growing" (越拖越多).
- ``deterioration.assets_moving`` 40 — assets being moved away (转移资产): every day lost is
  recovery lost; the strongest signal.
- ``deterioration.business_sliding`` 25 — "where the business is sliding" (经营下滑).
- ``deterioration.other_creditors`` 25 — other lenders are pressing: whoever moves first is
  paid first.
- ``deterioration.unreachable`` 20 — borrower unreachable (失联): work the related parties
  now, each on their own, before they close ranks (strategy 9).
- ``deterioration.guarantor_weakening`` 15 — the guarantor's capacity is falling: use it
  while it lasts.

Press hardest where we hold leverage (strategy 11, second clause):

- ``leverage.guarantor`` 15 — a strong guarantor.
- ``leverage.collateral_full`` 15 — collateral covers ≥ 100 % of the overdue amount;
  ``leverage.collateral_partial`` 8 — it covers 50–100 %.
- ``leverage.default_cost`` 10 — default costs the borrower dearly (licence, job, standing).

Weak fallback: move before the cash flow dries up (strategy 11, third clause):

- ``fallback.weak`` 15 — mostly on credit: no strong guarantor and collateral covers < 50 %.
  Claimed only when both are *known*: collateral on file but not valued is not worth zero,
  guarantors on file whose strength nobody assessed are not weak, and a ledger file without a
  collateral or guarantor column says nothing about either — the part is left out rather than
  guessed.
- ``fallback.weak_and_sliding`` 15 more — and the business is sliding too.

Untouched cases (what the supervisor sees):

- ``contact.never`` 25 — never contacted; strategy 1 starts with knowing the borrower.
- ``contact.stale_30`` 20, ``contact.stale_14`` 10 — no contact for 30 / 14 days or more.
  What counts as contact is the caller's choice (today: a note recorded on the case).

Size:

- ``amount.over_1m`` 20, ``amount.over_100k`` 10 — overdue ≥ 1 000 000 / 100 000 yuan.

Leverage and weak fallback both add points: they are different reasons to hurry (pressure
will pay off / nothing else will). A case with some collateral but no guarantor sits between.

Closed cases (settled / written off) do not belong in the queue; filter them before scoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple, TypeVar

from bot.domain.cases import days_past_due

__all__ = [
    "LEGAL_STEPS",
    "WEIGHTS",
    "Deterioration",
    "ScorePart",
    "UrgencyFacts",
    "UrgencyScore",
    "explain",
    "rank_cases",
    "score_case",
]


class Deterioration(StrEnum):
    """Signs that waiting makes the case worse (情况恶化)."""

    BUSINESS_SLIDING = "business_sliding"  # 经营下滑
    BORROWER_UNREACHABLE = "unreachable"  # 失联
    ASSETS_MOVING = "assets_moving"  # 转移资产
    OTHER_CREDITORS = "other_creditors"  # 其他债权人追讨
    GUARANTOR_WEAKENING = "guarantor_weakening"  # 担保人代偿能力下降


#: Points per reason code; see the module docstring for the rationale of each.
WEIGHTS: dict[str, int] = {
    "promise.due_today": 40,
    "promise.unconfirmed": 25,
    "promises.broken": 10,  # per broken promise, up to _MAX_BROKEN
    "promises.partial": 10,  # per part-paid instalment, up to _MAX_BROKEN with the broken
    "dpd.over_180": 40,
    "dpd.over_90": 30,
    "dpd.over_30": 20,
    "dpd.over_0": 10,
    "debt.growing_fast": 30,
    "debt.growing": 15,
    "deterioration.assets_moving": 40,
    "deterioration.business_sliding": 25,
    "deterioration.other_creditors": 25,
    "deterioration.unreachable": 20,
    "deterioration.guarantor_weakening": 15,
    "fallback.weak": 15,
    "fallback.weak_and_sliding": 15,
    "leverage.guarantor": 15,
    "leverage.collateral_full": 15,
    "leverage.collateral_partial": 8,
    "leverage.default_cost": 10,
    "contact.never": 25,
    "contact.stale_30": 20,
    "contact.stale_14": 10,
    "amount.over_1m": 20,
    "amount.over_100k": 10,
    "legal.within_10": 40,
    "legal.within_30": 25,
    "legal.within_90": 10,
}
#: Days before a legal clock's last day at which its part changes (within 90, 30, 10 days).
LEGAL_STEPS = (90, 30, 10)
_MAX_BROKEN = 3
_GROWTH_FAST = Fraction(1, 10)  # +10 % since the previous import
_COVER_FULL = Fraction(1)
_COVER_PARTIAL = Fraction(1, 2)
_FEN_1M_YUAN = 1_000_000 * 100
_FEN_100K_YUAN = 100_000 * 100


@dataclass(frozen=True, slots=True)
class UrgencyFacts:
    """What the score looks at, for one case. Money in fen; dates, not day counts, so that the
    same facts score correctly on any ``today``.

    - ``overdue_amount``: total overdue now (principal + interest).
    - ``previous_overdue_amount``: at the previous import; ``None`` = first import (no growth
      known). From 0 to anything positive counts as fast growth.
    - ``collateral_value``: estimated value; ``None`` or 0 = no collateral worth counting.
    - ``collateral_unvalued``: collateral is on file but nobody valued it (so its cover is
      unknown: no leverage part, and no weak-fallback claim either).
    - ``guarantor_unassessed``: guarantors are on file but their strength is not assessed
      (``strong_guarantor`` is False only because nobody said; no weak-fallback claim).
    - ``security_unknown``: the ledger file had no collateral or no guarantor column, so
      "none" is not known to be none (no weak-fallback claim).
    - ``promise_dates``: due dates of promises still open (neither kept nor broken).
    - ``last_contact``: ``None`` = never contacted.
    - ``legal_ends``: the last days of the case's legal clocks still to act on
      (:attr:`bot.domain.legal.LegalClocks.ends`); the first on or after ``today`` counts.
    """

    overdue_since: date
    overdue_amount: int
    previous_overdue_amount: int | None = None
    deterioration: frozenset[Deterioration] = frozenset()
    strong_guarantor: bool = False
    collateral_value: int | None = None
    high_default_cost: bool = False
    promise_dates: tuple[date, ...] = ()
    broken_promises: int = 0
    partial_promises: int = 0
    last_contact: date | None = None
    collateral_unvalued: bool = False
    guarantor_unassessed: bool = False
    security_unknown: bool = False
    legal_ends: tuple[date, ...] = ()

    @property
    def cover_ratio(self) -> Fraction | None:
        """Collateral value / overdue amount; ``None`` when nothing is overdue (no ratio)."""
        if self.overdue_amount <= 0:
            return None
        return Fraction(self.collateral_value or 0, self.overdue_amount)


class ScorePart(NamedTuple):
    """One reason and its points; a plain ``(reason_code, points)`` tuple."""

    code: str
    points: int


@dataclass(frozen=True, slots=True)
class UrgencyScore:
    """The total and its parts, heaviest first (ties by code, so the order is stable)."""

    total: int
    parts: tuple[ScorePart, ...]
    days_past_due: int

    @property
    def top_reason(self) -> str | None:
        return self.parts[0].code if self.parts else None


def score_case(facts: UrgencyFacts, today: date) -> UrgencyScore:
    """Score one case on ``today`` (see the module docstring for the weights).

    Edge cases: a loan not yet overdue (``overdue_since`` today or later) scores no DPD part;
    a promise dated in the future scores nothing yet; a last contact dated after ``today``
    (clock skew between devices) counts as contacted today; negative counts count as zero.
    """
    parts: list[ScorePart] = []

    def add(code: str, points: int | None = None) -> None:
        parts.append(ScorePart(code, WEIGHTS[code] if points is None else points))

    # Promises (strategy 5): today's money first.
    if any(d == today for d in facts.promise_dates):
        add("promise.due_today")
    if any(d < today for d in facts.promise_dates):
        add("promise.unconfirmed")
    broken = min(max(facts.broken_promises, 0), _MAX_BROKEN)
    if broken:
        add("promises.broken", WEIGHTS["promises.broken"] * broken)
    partial = min(max(facts.partial_promises, 0), _MAX_BROKEN - broken)
    if partial:
        add("promises.partial", WEIGHTS["promises.partial"] * partial)

    # Days past due.
    dpd = days_past_due(facts.overdue_since, today)
    if dpd > 180:
        add("dpd.over_180")
    elif dpd > 90:
        add("dpd.over_90")
    elif dpd > 30:
        add("dpd.over_30")
    elif dpd > 0:
        add("dpd.over_0")

    # Growing debt.
    prev = facts.previous_overdue_amount
    if prev is not None and facts.overdue_amount > prev:
        fast = prev <= 0 or Fraction(facts.overdue_amount - prev, prev) >= _GROWTH_FAST
        add("debt.growing_fast" if fast else "debt.growing")

    # Deterioration.
    for flag in sorted(facts.deterioration):
        add(f"deterioration.{flag.value}")

    # Leverage held, or the lack of it.
    ratio = facts.cover_ratio
    if facts.strong_guarantor:
        add("leverage.guarantor")
    if ratio is not None and ratio >= _COVER_FULL:
        add("leverage.collateral_full")
    elif ratio is not None and ratio >= _COVER_PARTIAL:
        add("leverage.collateral_partial")
    if facts.high_default_cost:
        add("leverage.default_cost")
    # Weak fallback only on known facts: an unvalued collateral, an unassessed guarantor or a
    # file without those columns might hide the very leverage strategy 11 tells us to use.
    fallback_known = not (
        facts.collateral_unvalued or facts.guarantor_unassessed or facts.security_unknown
    )
    weak_cover = ratio is not None and ratio < _COVER_PARTIAL
    if fallback_known and not facts.strong_guarantor and weak_cover:
        add("fallback.weak")
        if Deterioration.BUSINESS_SLIDING in facts.deterioration:
            add("fallback.weak_and_sliding")

    # Contact.
    if facts.last_contact is None:
        add("contact.never")
    else:
        idle = (today - facts.last_contact).days
        if idle >= 30:
            add("contact.stale_30")
        elif idle >= 14:
            add("contact.stale_14")

    # Legal clocks: the nearest last day to act by.
    coming = [d for d in facts.legal_ends if d >= today]
    if coming:
        left = (min(coming) - today).days
        if left <= 10:
            add("legal.within_10")
        elif left <= 30:
            add("legal.within_30")
        elif left <= 90:
            add("legal.within_90")
    # Size.
    if facts.overdue_amount >= _FEN_1M_YUAN:
        add("amount.over_1m")
    elif facts.overdue_amount >= _FEN_100K_YUAN:
        add("amount.over_100k")

    parts.sort(key=lambda p: (-p.points, p.code))
    return UrgencyScore(sum(p.points for p in parts), tuple(parts), dpd)


CaseId = TypeVar("CaseId", int, str)


def rank_cases(
    cases: Iterable[tuple[CaseId, UrgencyFacts]], today: date
) -> list[tuple[CaseId, UrgencyScore]]:
    """Order cases most urgent first. Ties: higher days past due, then larger overdue amount,
    then case id ascending — so the same data always gives the same queue.

    Case ids are all ``int`` or all ``str`` (mixing them cannot be compared).
    """
    scored: list[tuple[CaseId, UrgencyScore, int]] = [
        (case_id, score_case(facts, today), facts.overdue_amount) for case_id, facts in cases
    ]
    scored.sort(key=lambda x: (-x[1].total, -x[1].days_past_due, -x[2], x[0]))
    return [(case_id, score) for case_id, score, _ in scored]


def explain(score: UrgencyScore, limit: int = 3) -> Sequence[ScorePart]:
    """The heaviest ``limit`` reasons, for a one-line "why first" in the queue."""
    return score.parts[:limit]
