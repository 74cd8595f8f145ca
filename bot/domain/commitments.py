"""Meetings, money today, repayment commitments and the supervisor's approvals (issue 9).

策略5 忌华而不实: money **today** first, then every instalment on an exact date. 策略6 即时请示:
concessions are put to the supervisor at once, never granted on the spot. 策略2 立竿见影: two or
three meetings should settle a case.

These are the records the storage takes (``New…``) and returns; the pure rules the flows call
follow them. Money is ``int`` fen; ``date`` fields are the cooperative's local calendar date,
``datetime`` fields aware UTC. Enum values are stable lowercase codes stored in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "Achieved",
    "Approval",
    "ApprovalReason",
    "ApprovalStatus",
    "Channel",
    "Commitment",
    "CommitmentStatus",
    "Instalment",
    "InstalmentStatus",
    "Meeting",
    "NewCommitment",
    "NewInstalment",
    "NewMeeting",
    "NewPayment",
]


class Channel(StrEnum):
    """How money was received."""

    CASH = "cash"  # 现金
    TRANSFER = "transfer"  # 转账
    POS = "pos"  # 刷卡
    OTHER = "other"  # 其他


class Achieved(StrEnum):
    """Whether the meeting achieved the one step it was prepared for (策略2)."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class CommitmentStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # waits for the supervisor (策略6)
    AGREED = "agreed"
    REJECTED = "rejected"  # the supervisor rejected or countered it
    AMENDED = "amended"  # replaced by a newer commitment
    CANCELLED = "cancelled"


class InstalmentStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    PARTIAL = "partial"
    BROKEN = "broken"
    UNCONFIRMED = "unconfirmed"  # no answer by the follow-up: never silently kept
    CANCELLED = "cancelled"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    COUNTERED = "countered"
    WITHDRAWN = "withdrawn"


class ApprovalReason(StrEnum):
    """Why a proposal needs the supervisor (策略6 即时请示)."""

    BELOW_TARGET = "below_target"
    BELOW_BOTTOM = "below_bottom"
    LONG_PLAN = "long_plan"
    FEE_WAIVER = "fee_waiver"
    FIRST_DATE_LATE = "first_date_late"
    #: No bottom line to check the plan against, and much of the debt left unpaid.
    NO_BOTTOM_LINE = "no_bottom_line"


@dataclass(frozen=True, slots=True)
class NewPayment:
    """Money received (fen); ``received_on`` is the local date. Amount 0 means "said nothing"."""

    amount: int
    channel: Channel | None
    received_on: date
    receipt_file_id: str | None = None  # a Telegram file id of the receipt photo


@dataclass(frozen=True, slots=True)
class NewMeeting:
    held_on: date
    kind: str | None  # 'investigative' | 'result' (bot.domain.prep.MeetingKind values)
    venue: str | None
    attendees: str | None
    step_achieved: Achieved | None
    moved: str | None
    stance: str | None
    next_step: str | None
    next_on: date | None
    prep_id: int | None


@dataclass(frozen=True, slots=True)
class Meeting:
    id: int
    case_id: int
    author_id: int
    author_name: str
    at: datetime
    held_on: date
    kind: str | None
    venue: str | None
    attendees: str | None
    step_achieved: Achieved | None
    moved: str | None
    stance: str | None
    next_step: str | None
    next_on: date | None
    prep_id: int | None
    agreement: bool  # a commitment made at this meeting was agreed
    paid_today: int  # fen: the sum of the payments recorded with this meeting


@dataclass(frozen=True, slots=True)
class NewInstalment:
    due_on: date
    amount: int


@dataclass(frozen=True, slots=True)
class Instalment:
    id: int
    commitment_id: int
    seq: int  # 1..n
    due_on: date
    amount: int
    paid: int
    status: InstalmentStatus


@dataclass(frozen=True, slots=True)
class NewCommitment:
    money_today: int  # fen, 0 allowed (the collector said so)
    money_channel: Channel | None  # None: record no payment for money_today (already recorded)
    promised_by_party: int | None  # a case party's id; None = the borrower
    plan: dict[str, Any]  # the rule as given (JSON)
    instalments: tuple[NewInstalment, ...]
    meeting_id: int | None


@dataclass(frozen=True, slots=True)
class Commitment:
    id: int
    case_id: int
    meeting_id: int | None
    created_by: int
    created_by_name: str
    created_at: datetime
    promised_by_party: int | None
    promised_by_name: str | None
    money_today: int
    total: int  # the sum of the instalments
    plan: dict[str, Any]
    status: CommitmentStatus
    approval_id: int | None
    replaces: int | None
    end_reason: str | None
    ended_at: datetime | None
    instalments: tuple[Instalment, ...]


@dataclass(frozen=True, slots=True)
class Approval:
    id: int
    case_id: int
    team_id: int
    requested_by: int
    requested_by_name: str
    requested_at: datetime
    reasons: frozenset[ApprovalReason]
    proposal: dict[str, Any]
    flow_id: int | None  # the collector's flow that waits for the answer
    commitment_id: int | None
    status: ApprovalStatus
    answered_by: int | None
    answered_by_name: str | None
    answered_at: datetime | None
    counter: dict[str, Any] | None
    reminded_at: datetime | None
    requester_telegram_id: int
    #: The case in words, so that every message about the request names it.
    borrower_name: str = ""
    contract_no: str = ""
