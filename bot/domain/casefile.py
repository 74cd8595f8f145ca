"""A case as the bot holds it (案卷): the ledger's facts plus what collectors recorded.

Storage returns these; handlers render them. Who may see or change a case is decided here
(:func:`may_view_case`, :func:`may_assign`) and enforced twice: in the storage queries, which
take the viewer, and again on every button press, because callback data can be forged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum

from bot.domain.cases import Case, CaseStatus, RelatedParty
from bot.domain.people import Role, User
from bot.domain.prep import Approach, PrepAnswers, known_facts
from bot.domain.unknowns import Unknown, UnknownFact, unknown_facts
from bot.domain.urgency import Deterioration, UrgencyFacts, UrgencyScore, score_case

__all__ = [
    "CARD_NOTES",
    "CARD_PARTIES",
    "REASSIGN_REASONS",
    "CardView",
    "CaseFile",
    "CaseNote",
    "CaseSummary",
    "LeadChange",
    "LeadReason",
    "LedgerGap",
    "PartyRecord",
    "PrepRecord",
    "card_view",
    "ledger_gaps",
    "local_date",
    "may_assign",
    "may_assign_cases",
    "may_prepare",
    "may_view_case",
    "parse_deterioration",
    "parse_ledger_gaps",
    "sees_others_cases",
]


class LeadReason(StrEnum):
    """Why a case got its lead collector (牵头清收人)."""

    IMPORT = "import"  # the ledger's collector column, at import
    FIRST = "first"  # a supervisor's first assignment
    WORKLOAD = "workload"  # 工作量调整
    COLLECTOR_LEFT = "collector_left"  # 原清收人员离岗
    ESCALATION = "escalation"  # 升级处理
    OTHER = "other"


#: The reasons a supervisor picks from when a case changes hands.
REASSIGN_REASONS: tuple[LeadReason, ...] = (
    LeadReason.WORKLOAD,
    LeadReason.COLLECTOR_LEFT,
    LeadReason.ESCALATION,
    LeadReason.OTHER,
)


class LedgerGap(StrEnum):
    """A fact the card would otherwise show as if the file had it, missing because the
    ledger file of the case's last import had no column for it (not because a cell was empty).
    """

    BALANCE = "balance"  # no 贷款余额 column: the import took the overdue principal instead
    COLLATERAL = "collateral"  # neither 抵押物 nor 抵押物估值
    GUARANTEES = "guarantees"  # no 担保人 column


#: The ledger columns (:class:`bot.domain.ledger.LedgerField` values) each gap stands for.
_GAP_COLUMNS: dict[LedgerGap, tuple[str, ...]] = {
    LedgerGap.BALANCE: ("principal_outstanding",),
    LedgerGap.COLLATERAL: ("collateral", "collateral_value"),
    LedgerGap.GUARANTEES: ("guarantor",),
}


def ledger_gaps(columns: Iterable[str]) -> frozenset[LedgerGap]:
    """The gaps of a file whose recognised columns are ``columns`` (``LedgerField`` values,
    e.g. the keys of ``ImportPlan.columns``). No columns at all means the rows were not read
    from a file (the sandbox's demo cases, tests): nothing is known to be missing."""
    present = {str(c) for c in columns}
    if not present:
        return frozenset()
    return frozenset(g for g, cols in _GAP_COLUMNS.items() if not present.intersection(cols))


def parse_ledger_gaps(text: str) -> frozenset[LedgerGap]:
    """Stored gaps (comma-separated) back to the enum; unknown words are ignored."""
    known = {g.value: g for g in LedgerGap}
    return frozenset(known[w] for w in text.split(",") if w in known)


@dataclass(frozen=True, slots=True)
class PartyRecord:
    """A stored related party: its row id and the party."""

    id: int
    party: RelatedParty


@dataclass(frozen=True, slots=True)
class CaseNote:
    at: datetime
    author_id: int | None
    author_name: str | None
    text: str


@dataclass(frozen=True, slots=True)
class LeadChange:
    """One change of lead collector; ``from_id`` is ``None`` for the first lead."""

    at: datetime
    from_id: int | None
    from_name: str | None
    to_id: int
    to_name: str | None
    by_id: int | None
    by_name: str | None
    reason: LeadReason
    note: str | None = None  # the supervisor's own words, for "other reason"


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """One line of the queue: what the urgency score and the list need, no more."""

    id: int
    contract_no: str
    borrower_name: str
    borrower_phone: str | None
    status: CaseStatus
    team_id: int
    team_name: str
    lead_id: int | None
    lead_name: str | None
    principal_outstanding: int
    overdue_principal: int
    overdue_interest: int
    overdue_since: date
    previous_overdue_amount: int | None
    collateral_value: int | None
    deterioration: frozenset[Deterioration]
    strong_guarantor: bool
    high_default_cost: bool
    last_contact_at: datetime | None
    has_guarantor: bool = False  # guarantees in the ledger or a guarantor among the parties
    has_collateral: bool = False  # collateral described or valued
    #: Facts the file of the last import had no column for (the card says "not in the file").
    ledger_gaps: frozenset[LedgerGap] = frozenset()
    #: Due dates of the agreed plan's instalments still open (not paid, not broken), sorted;
    #: an instalment nobody answered by its follow-up is still open here (never silently kept).
    promise_dates: tuple[date, ...] = ()
    #: Instalments broken (missed, past any grace days) in every plan the case has had, and
    #: those paid only in part (策略5: the borrower stalls) — counted apart, as the digest does.
    broken_promises: int = 0
    partial_promises: int = 0
    #: Money recorded in the bot that the ledger's figures do not hold yet (fen): received
    #: after the export's date when the file gave one, else recorded after the import that
    #: last changed the figures. An unchanged re-import keeps subtracting it; a changed one
    #: is taken to hold it (at worst the debt shows too high until the next export, never a
    #: payment taken off twice).
    paid_since_figures: int = 0
    #: The last days of the case's legal clocks still to act on (bot.domain.legal.LegalClocks
    #: .ends), as storage last worked them out from the facts (before every queue read).
    legal_ends: tuple[date, ...] = ()

    @property
    def balance_known(self) -> bool:
        """False when the file had no balance column: ``principal_outstanding`` is then only
        the overdue principal the import put there, not the loan's balance."""
        return LedgerGap.BALANCE not in self.ledger_gaps

    @property
    def collateral_known(self) -> bool:
        """False when the file had no collateral column: "none on file" would be a guess."""
        return LedgerGap.COLLATERAL not in self.ledger_gaps

    @property
    def guarantees_known(self) -> bool:
        """False when the file had no guarantor column."""
        return LedgerGap.GUARANTEES not in self.ledger_gaps

    @property
    def total_overdue(self) -> int:
        return self.overdue_principal + self.overdue_interest

    @property
    def owed(self) -> int:
        """What the borrower still owes now: the ledger's overdue principal and interest less
        the money recorded since the figures (:attr:`paid_since_figures`), never below 0."""
        return max(self.total_overdue - self.paid_since_figures, 0)

    def owed_before(self, paid_today: int | None) -> int:
        """What was owed before today's money, for a plan that counts ``paid_today`` (money a
        meeting already recorded today) again as its own money today: :attr:`owed` with it
        added back, so it is not taken off twice (¥24,000 shown for ¥27,000)."""
        return self.owed + (paid_today or 0)

    @property
    def growth(self) -> int | None:
        """Change of the overdue amount since the previous import (fen); ``None`` = first."""
        if self.previous_overdue_amount is None:
            return None
        return self.total_overdue - self.previous_overdue_amount

    def urgency_facts(self, tz: tzinfo) -> UrgencyFacts:
        """The score's inputs. The last contact counts by the cooperative's calendar day (tz).

        The amount is what is owed now (:attr:`owed`), so money recorded since the figures
        also counts against "the debt keeps growing". Promises are the agreed plan's open
        instalments and the case's broken ones. Guarantors on file are "unassessed" unless a
        collector marked one strong (nothing records a weak one yet), and collateral without a
        value is "unvalued": the score then claims no weak fallback. Neither does it when the
        file had no collateral or guarantor column (:attr:`ledger_gaps`): "mostly on credit"
        would be a guess.
        """
        last = None if self.last_contact_at is None else self.last_contact_at.astimezone(tz)
        return UrgencyFacts(
            overdue_since=self.overdue_since,
            overdue_amount=self.owed,
            previous_overdue_amount=self.previous_overdue_amount,
            deterioration=self.deterioration,
            strong_guarantor=self.strong_guarantor,
            collateral_value=self.collateral_value,
            high_default_cost=self.high_default_cost,
            promise_dates=self.promise_dates,
            broken_promises=self.broken_promises,
            partial_promises=self.partial_promises,
            last_contact=None if last is None else last.date(),
            collateral_unvalued=self.has_collateral and self.collateral_value is None,
            guarantor_unassessed=self.has_guarantor and not self.strong_guarantor,
            security_unknown=not (self.collateral_known and self.guarantees_known),
            legal_ends=self.legal_ends,
        )


@dataclass(frozen=True, slots=True)
class PrepRecord:
    """A completed meeting preparation (/prep) of a case, as stored."""

    id: int
    case_id: int
    at: datetime
    author_id: int | None
    author_name: str | None
    answers: PrepAnswers
    approach: Approach
    #: The approach of the prep before this one, and why it changed (策略12 一以贯之).
    previous_approach: Approach | None = None
    approach_reason: str | None = None

    @property
    def approach_changed(self) -> bool:
        return self.previous_approach is not None and self.previous_approach != self.approach


@dataclass(frozen=True, slots=True)
class CaseFile:
    """Everything the case card shows."""

    summary: CaseSummary
    case: Case
    parties: tuple[PartyRecord, ...]
    notes: tuple[CaseNote, ...]
    leads: tuple[LeadChange, ...]
    created_at: datetime
    imported_at: datetime
    note_count: int = 0  # all notes; ``notes`` holds only the newest few
    #: Completed preparations, newest first (the card shows the latest and approach changes).
    preps: tuple[PrepRecord, ...] = ()

    @property
    def id(self) -> int:
        return self.summary.id

    @property
    def latest_prep(self) -> PrepRecord | None:
        return self.preps[0] if self.preps else None

    @property
    def known(self) -> frozenset[Unknown]:
        """The strategy-1 facts the latest preparation found out (none without one)."""
        latest = self.latest_prep
        return known_facts(latest.answers) if latest is not None else frozenset()

    @property
    def approach_changes(self) -> tuple[PrepRecord, ...]:
        """Preparations that changed the approach (策略12), newest first."""
        return tuple(p for p in self.preps if p.approach_changed)


#: The card lists at most this many related parties and notes; the rest are counted. A card
#: is read on a phone between meetings, and Telegram refuses messages over 4096 characters.
CARD_PARTIES = 6
CARD_NOTES = 3


@dataclass(frozen=True, slots=True)
class CardView:
    """What the case card shows, decided here so the handler only renders it."""

    file: CaseFile
    score: UrgencyScore
    unknowns: tuple[UnknownFact, ...]
    parties: tuple[PartyRecord, ...]
    more_parties: int
    notes: tuple[CaseNote, ...]
    more_notes: int
    #: The cooperative's calendar day the card is drawn for (a due date is "today" or "passed").
    today: date | None = None

    @property
    def days_past_due(self) -> int:
        return self.score.days_past_due


def card_view(
    case_file: CaseFile, today: date, tz: tzinfo, known: Iterable[Unknown] | None = None
) -> CardView:
    """The card of ``case_file`` on ``today``: score, unknowns, and the capped lists (the
    first :data:`CARD_PARTIES` parties in card order, the newest :data:`CARD_NOTES` notes, with
    how many more there are)."""
    summary = case_file.summary
    parties = case_file.parties[:CARD_PARTIES]
    notes = case_file.notes[:CARD_NOTES]
    return CardView(
        file=case_file,
        score=score_case(summary.urgency_facts(tz), today),
        unknowns=tuple(unknown_facts(case_file.case, case_file.known if known is None else known)),
        parties=parties,
        more_parties=len(case_file.parties) - len(parties),
        notes=notes,
        more_notes=max(case_file.note_count, len(case_file.notes)) - len(notes),
        today=today,
    )


def may_prepare(user: User, summary: CaseSummary) -> bool:
    """Who may prepare a meeting (策略12: one lead per case): the lead collector, a supervisor
    of the case's team, an admin. Another collector of the team may not, even if they can see
    the case some other way."""
    if not user.active:
        return False
    if user.role is Role.ADMIN:
        return True
    if user.role is Role.SUPERVISOR:
        return user.team_id == summary.team_id
    return summary.lead_id == user.id


def may_view_case(user: User, team_id: int, lead_id: int | None) -> bool:
    """A collector sees their own cases, a supervisor the team's, an admin all."""
    if not user.active:
        return False
    if user.role is Role.ADMIN:
        return True
    if user.role is Role.SUPERVISOR:
        return user.team_id is not None and user.team_id == team_id
    return lead_id is not None and lead_id == user.id


def sees_others_cases(user: User) -> bool:
    """Supervisors and admins see cases led by others (the queue then names the lead)."""
    return user.active and user.role in (Role.SUPERVISOR, Role.ADMIN)


def may_assign_cases(user: User) -> bool:
    """Whether ``user`` may choose lead collectors at all (which team: :func:`may_assign`)."""
    return user.active and user.role in (Role.SUPERVISOR, Role.ADMIN)


def may_assign(user: User, team_id: int) -> bool:
    """Supervisors (their own team) and admins (any team) choose a case's lead."""
    if not user.active:
        return False
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.SUPERVISOR and user.team_id == team_id


def parse_deterioration(text: str) -> frozenset[Deterioration]:
    """Stored flags (comma-separated) back to the enum; unknown words are ignored, so a flag
    removed in a later version does not break reading old rows."""
    known = {d.value: d for d in Deterioration}
    return frozenset(known[w] for w in text.split(",") if w in known)


def local_date(now: datetime, tz: tzinfo) -> date:
    """The cooperative's calendar day at ``now`` (days past due count by it, not by UTC:
    at 07:00 in Shanghai it is still yesterday in UTC)."""
    return now.astimezone(tz).date()
