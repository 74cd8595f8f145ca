"""What a collector does not know yet about a case (strategy 1, 知己知彼).

Strategy 1: before anything, know the borrower — the loan file and the quality of its
documents (资料质量), the business condition, repayment capacity, weak points, character —
know our own bottom line (底线) and target (目标), the legal questions the process may raise
(法律问题), and find out the guarantees, family members and social relations (社会关系).
:func:`unknown_facts` lists what is still missing, most important first, so the case card can
say "find out before you go". The /prep interview will record the answers; until then they
come in as ``known``.

Related parties are grouped per role ("12 guarantors: phone and attitude unknown"), never one
line per person and field: a card must stay readable on a phone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.cases import Attitude, Borrower, Case, PartyRole

__all__ = ["Unknown", "UnknownFact", "is_business_borrower", "unknown_facts"]


class Unknown(StrEnum):
    """A fact strategy 1 asks for. Values are stable: the UI translates them."""

    BORROWER_PHONE = "borrower_phone"  # 借款人联系方式
    BORROWER_ADDRESS = "borrower_address"  # 住址
    BUSINESS_CONDITION = "business_condition"  # 经营状况
    REPAYMENT_CAPACITY = "repayment_capacity"  # 还款能力
    CHARACTER = "character"  # 性格
    WEAK_POINTS = "weak_points"  # 弱点
    FILE_QUALITY = "file_quality"  # 资料质量 (the loan file and its documents)
    BOTTOM_LINE = "bottom_line"  # 底线 (ours)
    TARGET = "target"  # 目标 (ours)
    LEGAL_QUESTIONS = "legal_questions"  # 法律问题
    SPOUSE = "spouse"  # 配偶情况: whether there is one (no spouse on file)
    SOCIAL_RELATIONS = "social_relations"  # 社会关系
    PARTIES = "parties"  # related parties of one role whose phone / attitude is unknown
    COLLATERAL_VALUE = "collateral_value"  # 抵押物价值


@dataclass(frozen=True, slots=True)
class UnknownFact:
    """One missing fact. For :attr:`Unknown.PARTIES`: ``role`` says which parties, ``count``
    how many of that role are on file, ``phones`` / ``attitudes`` how many of them lack a phone
    / an attitude, and ``name`` the party's name when there is exactly one."""

    code: Unknown
    role: PartyRole | None = None
    name: str | None = None
    count: int = 0
    phones: int = 0
    attitudes: int = 0


_RESIDENT_ID = re.compile(r"[1-9]\d{16}[\dX]|[1-9]\d{14}")


def is_business_borrower(borrower: Borrower) -> bool:
    """A borrower whose id is a unified social credit code (统一社会信用代码), not a resident
    ID (身份证号): a company has no spouse. An id that is missing or reads as a resident ID
    (15 or 18 characters, digits and a final X) is a person."""
    number = (borrower.id_number or "").strip().upper()
    return len(number) == 18 and not _RESIDENT_ID.fullmatch(number)


def unknown_facts(case: Case, known: Iterable[Unknown] = ()) -> list[UnknownFact]:
    """The facts still missing for ``case``, in the order a collector should find them out.

    Edge cases: the borrower's character, capacity and weak points, the file's quality, our
    bottom line and target, the legal questions and the social relations are never in the
    ledger, so they stay unknown until recorded (``known``). A case with no spouse on file asks
    once *whether* there is one — unless that is known (``Unknown.SPOUSE`` in ``known``: "no
    spouse" recorded) or the borrower is a business. Related parties are grouped per role, in
    the card's order (spouse, guarantor, mortgagor, others); a party with no name is counted,
    not named. Collateral without a value asks for the value (not valued is not worth zero); a
    case without collateral does not ask.
    """
    done = set(known)
    facts: list[UnknownFact] = []

    def add(code: Unknown) -> None:
        if code not in done:
            facts.append(UnknownFact(code))

    borrower = case.borrower
    business = is_business_borrower(borrower)
    if not borrower.phone:
        add(Unknown.BORROWER_PHONE)
    # The ledger names the business at most, never how it is doing.
    add(Unknown.BUSINESS_CONDITION)
    add(Unknown.REPAYMENT_CAPACITY)
    add(Unknown.CHARACTER)
    add(Unknown.WEAK_POINTS)
    # Our side: bottom line and target before any meeting (strategies 1 and 10).
    add(Unknown.BOTTOM_LINE)
    add(Unknown.TARGET)
    add(Unknown.FILE_QUALITY)
    add(Unknown.LEGAL_QUESTIONS)
    if not borrower.address:
        add(Unknown.BORROWER_ADDRESS)
    if case.security.has_collateral and case.security.collateral_value is None:
        add(Unknown.COLLATERAL_VALUE)
    parties = case.related_parties
    if not business and not any(p.role is PartyRole.SPOUSE for p in parties):
        add(Unknown.SPOUSE)
    if Unknown.PARTIES not in done:
        for role in PartyRole:
            mine = [p for p in parties if p.role is role]
            phones = sum(1 for p in mine if not p.phone)
            attitudes = sum(1 for p in mine if p.attitude is Attitude.UNKNOWN)
            if phones or attitudes:
                name = (mine[0].name or None) if len(mine) == 1 else None
                facts.append(UnknownFact(Unknown.PARTIES, role, name, len(mine), phones, attitudes))
    add(Unknown.SOCIAL_RELATIONS)
    return facts
