"""The case model (案件): borrower, loan, security, related parties, status.

Strategy 1 (知己知彼) asks the collector to know the borrower, the loan file, the guarantees and
the people around the borrower; strategy 9 (步步为营) asks to talk to each related party on their
own. These types hold exactly that. They are plain frozen dataclasses: storage and UI map them;
nothing here reads the clock. Money fields are ``int`` fen (分).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from bot.domain.legal import GuaranteeKind

__all__ = [
    "Attitude",
    "Borrower",
    "Case",
    "CaseStatus",
    "Loan",
    "PartyRole",
    "RelatedParty",
    "Security",
    "days_past_due",
]


class PartyRole(StrEnum):
    """The role of a person around the borrower (相关人)."""

    SPOUSE = "spouse"  # 配偶
    GUARANTOR = "guarantor"  # 担保人
    MORTGAGOR = "mortgagor"  # 抵押人
    FAMILY = "family"  # 家属
    BUSINESS_PARTNER = "business_partner"  # 合伙人
    OTHER = "other"  # 其他


class Attitude(StrEnum):
    """How a related party stands towards the cooperative (态度).

    Goal 4 of every collection effort is a good working relationship with the cooperative ones
    (与态度好的相关人形成良好关系).
    """

    COOPERATIVE = "cooperative"  # 配合
    NEUTRAL = "neutral"  # 中立
    HOSTILE = "hostile"  # 抵触
    UNKNOWN = "unknown"  # 未知


class CaseStatus(StrEnum):
    """Where a case stands (案件状态)."""

    OPEN = "open"  # 未处理
    NEGOTIATING = "negotiating"  # 协商中
    UNDER_AGREEMENT = "under_agreement"  # 履约中 (a repayment agreement is being carried out)
    SETTLED = "settled"  # 已结清
    LEGAL = "legal"  # 诉讼
    WRITTEN_OFF = "written_off"  # 核销

    @property
    def is_closed(self) -> bool:
        """Settled and written-off cases leave the collector's queue. A written-off loan is
        still owed (账销案存), but it is no longer worked from the daily queue."""
        return self in (CaseStatus.SETTLED, CaseStatus.WRITTEN_OFF)


@dataclass(frozen=True, slots=True)
class Borrower:
    """The borrower (借款人). Only ``name`` is required; the ledger often lacks the rest.

    ``id_number`` is the resident ID (身份证号) or, for a business borrower, its unified social
    credit code (统一社会信用代码); it is kept as given (upper-cased), not validated.
    """

    name: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None
    business: str | None = None  # 经营项目


@dataclass(frozen=True, slots=True)
class Loan:
    """One loan contract (借款合同).

    ``overdue_since`` (逾期起始日 / 逾期日期) is the date the unpaid amount fell due — the missed
    due date; days past due are counted from it (see :func:`days_past_due`). ``maturity`` (到期日)
    is ``None`` when the ledger does not give it. ``principal_outstanding`` (贷款余额) is at least
    ``overdue_principal`` for consistent data; the ledger parser reports a row where it is not.
    """

    contract_no: str
    overdue_principal: int  # 逾期本金, fen
    overdue_since: date
    principal_outstanding: int  # 贷款余额, fen
    overdue_interest: int = 0  # 欠息 / 逾期利息, fen
    product: str | None = None  # 贷款品种
    maturity: date | None = None

    @property
    def total_overdue(self) -> int:
        """Overdue principal plus overdue interest, in fen (逾期本息合计)."""
        return self.overdue_principal + self.overdue_interest


@dataclass(frozen=True, slots=True)
class Security:
    """What backs the loan (担保情况): guarantees as free text (担保人 as the ledger writes them),
    collateral (抵押物) and its estimated value in fen (``None`` = not valued, which is not the
    same as worth zero). ``guarantee_kind`` (保证方式) and ``guarantee_end`` (the agreed 保证期间's
    end) hold for every guarantor of the row; ``None``: not in the file, never assumed."""

    guarantees: str = ""
    collateral_description: str | None = None
    collateral_value: int | None = None
    guarantee_kind: GuaranteeKind | None = None
    guarantee_end: date | None = None

    @property
    def has_collateral(self) -> bool:
        return bool(self.collateral_description) or bool(self.collateral_value)


@dataclass(frozen=True, slots=True)
class RelatedParty:
    """A person around the borrower (相关人), to be approached separately (strategy 9).

    ``relationship`` is free text (e.g. 兄弟, 同村, 供货商); ``role`` is the legal/structural
    position that decides what we can ask of them.
    """

    role: PartyRole
    name: str
    phone: str | None = None
    relationship: str | None = None
    attitude: Attitude = Attitude.UNKNOWN
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Case:
    """A collection case: one loan, its borrower, security and related parties, one lead
    collector (strategy 12, 一以贯之). ``lead_collector`` is whatever identifies the collector at
    this layer (a user id once resolved by storage); ``None`` = not yet assigned."""

    borrower: Borrower
    loan: Loan
    security: Security = field(default_factory=Security)
    related_parties: tuple[RelatedParty, ...] = ()
    status: CaseStatus = CaseStatus.OPEN
    lead_collector: str | None = None


def days_past_due(overdue_since: date, today: date) -> int:
    """Days past due (逾期天数, DPD) on ``today`` for a loan overdue since ``overdue_since``.

    Counted as whole days elapsed since the missed due date: on that date itself DPD is 0, the
    next day 1. This is ``(today - overdue_since).days``, as core-banking ledgers compute
    逾期天数 (统计日期 − 逾期起始日).
    A date in the future (bad data, or a loan not yet overdue) gives 0, never a negative number.
    """
    return max(0, (today - overdue_since).days)
