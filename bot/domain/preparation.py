"""What a collector does not know yet about a case (strategy 1, 知己知彼).

Before any meeting the collector must know the borrower (business condition, repayment
capacity, character), the loan file, the security (guarantees, collateral and its value) and
the people around the borrower. :func:`unknown_facts` lists what is still missing, most
important first, so the case card can say "find out before you go". The /prep interview will
record the answers; until then it passes them in as ``known``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.cases import Attitude, Case, PartyRole

__all__ = ["Unknown", "UnknownFact", "unknown_facts"]


class Unknown(StrEnum):
    """A fact strategy 1 asks for. Values are stable: the UI translates them."""

    BORROWER_PHONE = "borrower_phone"  # 借款人联系方式
    BORROWER_ADDRESS = "borrower_address"  # 住址
    BUSINESS_CONDITION = "business_condition"  # 经营状况
    REPAYMENT_CAPACITY = "repayment_capacity"  # 还款能力
    CHARACTER = "character"  # 性格
    WEAK_POINTS = "weak_points"  # 弱点
    SPOUSE = "spouse"  # 配偶情况
    PARTY_PHONE = "party_phone"  # a related party without a phone (``name`` says who)
    PARTY_ATTITUDE = "party_attitude"  # a related party whose attitude is not known yet
    COLLATERAL_VALUE = "collateral_value"  # 抵押物价值


@dataclass(frozen=True, slots=True)
class UnknownFact:
    """One missing fact; ``name`` and ``role`` say which related party it is about."""

    code: Unknown
    name: str | None = None
    role: PartyRole | None = None


def unknown_facts(case: Case, known: Iterable[Unknown] = ()) -> list[UnknownFact]:
    """The facts still missing for ``case``, in the order a collector should find them out.

    Edge cases: the borrower's character, repayment capacity and weak points are never in the
    ledger, so they stay unknown until recorded (``known``); a case with no spouse on file asks
    about the spouse (the ledger often omits them, and strategy 9 needs each one); a party with
    no name but a phone is still asked about by role; collateral without a value asks for the
    value (not valued is not worth zero); a case without collateral does not ask.
    """
    done = set(known)
    facts: list[UnknownFact] = []

    def add(code: Unknown, name: str | None = None, role: PartyRole | None = None) -> None:
        if code not in done:
            facts.append(UnknownFact(code, name, role))

    borrower = case.borrower
    if not borrower.phone:
        add(Unknown.BORROWER_PHONE)
    # The ledger names the business at most, never how it is doing.
    add(Unknown.BUSINESS_CONDITION)
    add(Unknown.REPAYMENT_CAPACITY)
    add(Unknown.CHARACTER)
    add(Unknown.WEAK_POINTS)
    if not borrower.address:
        add(Unknown.BORROWER_ADDRESS)
    if case.security.has_collateral and case.security.collateral_value is None:
        add(Unknown.COLLATERAL_VALUE)
    parties = case.related_parties
    if not any(p.role is PartyRole.SPOUSE for p in parties):
        add(Unknown.SPOUSE)
    for party in parties:
        if not party.phone:
            facts.append(UnknownFact(Unknown.PARTY_PHONE, party.name or None, party.role))
    for party in parties:
        if party.attitude is Attitude.UNKNOWN:
            facts.append(UnknownFact(Unknown.PARTY_ATTITUDE, party.name or None, party.role))
    return facts
