"""What the export iterators return: one plain dataclass per sheet, backend-neutral.

Money is integer fen, dates are the cooperative's calendar days, times aware UTC datetimes.
People are named as the cooperative's books name them (staff name, else ``@username``, else
the Telegram id: the three ways the ledger's collector column matches), never by the Telegram
display name, which its owner sets to anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

__all__ = [
    "ExportApproval",
    "ExportCase",
    "ExportClock",
    "ExportCommitment",
    "ExportInstalment",
    "ExportMeeting",
    "ExportPayment",
    "ExportPeriod",
]


@dataclass(frozen=True, slots=True)
class ExportPeriod:
    """The days an export covers: ``start``..``end`` (local, inclusive), and the same as UTC
    instants ``since`` (start of ``start``) .. ``until`` (start of the day after ``end``)."""

    start: date
    end: date
    since: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class ExportCase:
    id: int
    contract_no: str
    borrower_name: str
    borrower_phone: str | None
    team: str
    lead: str | None
    status: str
    product: str | None
    principal_outstanding: int
    overdue_principal: int
    overdue_interest: int
    overdue_since: date
    collateral_value: int | None
    last_contact_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExportMeeting:
    id: int
    contract_no: str
    borrower_name: str
    team: str
    author: str | None
    held_on: date
    kind: str | None
    venue: str | None
    attendees: str | None
    step_achieved: str | None
    moved: str | None
    stance: str | None
    next_step: str | None
    next_on: date | None
    agreement: bool
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ExportCommitment:
    id: int
    contract_no: str
    borrower_name: str
    team: str
    created_by: str | None
    created_at: datetime
    money_today: int
    total: int
    instalments: int
    status: str
    agreed_at: datetime | None
    replaces: int | None
    ended_at: datetime | None
    end_reason: str | None


@dataclass(frozen=True, slots=True)
class ExportInstalment:
    id: int
    commitment_id: int
    contract_no: str
    borrower_name: str
    team: str
    collector: str | None
    seq: int
    due_on: date
    amount: int
    paid: int
    status: str
    settled_at: datetime | None
    answered_at: datetime | None
    miss_reason: str | None
    miss_note: str | None


@dataclass(frozen=True, slots=True)
class ExportPayment:
    id: int
    contract_no: str
    borrower_name: str
    team: str
    received_on: date
    amount: int
    channel: str | None
    source: str
    recorded_by: str | None
    recorded_at: datetime
    commitment_id: int | None
    instalment_id: int | None


@dataclass(frozen=True, slots=True)
class ExportApproval:
    id: int
    contract_no: str
    borrower_name: str
    team: str
    requested_by: str | None
    requested_at: datetime
    reasons: str
    status: str
    answered_by: str | None
    answered_at: datetime | None
    commitment_id: int | None
    proposal: str
    counter: str | None


@dataclass(frozen=True, slots=True)
class ExportClock:
    """One legal clock of a case (issue 19) and its evidence: ``clock`` a
    :class:`bot.domain.digest.LegalClockKind` value or ``'mortgage'``; ``party`` the guarantor
    or mortgagor (None: the borrower's own clock); ``state`` where it stands (``running``,
    ``expired``, or a guarantor's :class:`bot.domain.legal.ClaimState` value); ``set_by`` what
    set the deadline (a :class:`bot.domain.legal.LegalEventKind` value, or ``'due_date'``),
    on ``set_on`` (the period counts from ``counted_from``: a plan's last instalment, 第189条);
    ``evidence`` whether a signed copy's photo is filed for it, ``document`` the
    paper's kind when a document set it."""

    case_id: int
    contract_no: str
    borrower_name: str
    team: str
    lead: str | None
    clock: str
    party: str | None
    guarantee_kind: str | None
    deadline: date | None
    days_left: int | None
    state: str
    set_by: str | None
    set_on: date | None
    counted_from: date | None
    document: str | None
    evidence: bool
