"""Legal clocks (法律时效): the limitation period of a case, the guarantee period of each
guarantor, and the mortgage's deadline, worked out from dated facts and a :class:`LegalProfile`.

Pure: ``today`` is passed in; nothing here reads the clock or the database. The facts come from
storage (:class:`LegalFacts`): the loan's due date, the guarantors with what the file says of
their guarantee, and the events that may restart a clock (payments, agreed plans, signed papers,
a suit), each with its date, who made it and its evidence.

The default profile is mainland China's Civil Code (see /work/shared/domain.md):

- limitation (诉讼时效) 3 years from the due date (第188条), for an instalment debt from the last
  instalment's due date (第189条);
- restarted (中断, 第195条) by a demand served on the debtor (a paper the debtor signed: SPC 2020
  interpretation 第8条), by the debtor agreeing to perform — a payment, a partial payment, an
  agreed repayment plan, a signed agreement (第14条) — and by a suit or arbitration;
- suspended (中止, 第194条) only as recorded by hand, in its last six months; it then ends six
  months after the cause ends;
- the guarantee period (保证期间, 第692条) as agreed, else 6 months from the main debt's due
  date, never interrupted or extended; within it a suit against the debtor (一般保证) or a claim
  against the guarantor (连带责任保证) is needed (第693条); the kind is never assumed (第686条
  makes a silent contract a general guarantee, but only the file can say the contract is
  silent); after a timely claim the guarantor's own limitation runs from it (第694条);
- a mortgage is enforced within the main debt's limitation (第419条).

A meeting recorded without signed paper is **not** a demand: only its evidence makes it one.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

__all__ = [
    "CN_CIVIL_CODE",
    "AlertAction",
    "ClaimState",
    "DocumentKind",
    "DueBasis",
    "GuaranteeKind",
    "GuarantorClock",
    "GuarantorFacts",
    "LegalAlert",
    "LegalClocks",
    "LegalDocument",
    "LegalEvent",
    "LegalEventKind",
    "LegalFacts",
    "LegalProfile",
    "LimitationClock",
    "MortgageClock",
    "Suspension",
    "add_months",
    "alert_window",
    "clock_ends",
    "document_event",
    "guarantor_clock",
    "legal_alerts",
    "legal_clocks",
    "limitation_clock",
    "nearest_end",
    "parse_guarantee_kind",
]


class GuaranteeKind(StrEnum):
    """The kind of a guarantee (保证方式). ``None`` where a value is expected means "not in the
    file": never replaced by a default."""

    GENERAL = "general"  # 一般保证
    JOINT = "joint"  # 连带责任保证


class LegalEventKind(StrEnum):
    """What happened on a date that may restart a clock."""

    PAYMENT = "payment"  # 还款 / 部分还款: the debtor agreeing to perform (SPC 第14条)
    COMMITMENT = "commitment"  # 还款计划 agreed (SPC 第14条)
    AGREEMENT_SIGNED = "agreement_signed"  # 还款协议 signed (第195条: agreed to perform)
    NOTICE_SIGNED = "notice_signed"  # 催收通知书 receipt signed: a demand (SPC 第8条)
    SUIT = "suit"  # 起诉 / 仲裁 filed (第195条)
    MEETING = "meeting"  # a meeting with no signed paper: never a demand


class DueBasis(StrEnum):
    """Where the main debt's due date came from."""

    MATURITY = "maturity"  # 到期日 from the ledger
    OVERDUE_SINCE = "overdue_since"  # no 到期日: the missed due date, the earlier (safe) one
    UNKNOWN = "unknown"


class ClaimState(StrEnum):
    """Where a guarantor stands against their guarantee period."""

    RUNNING = "running"  # the period runs, the needed step not taken yet
    CLAIMED = "claimed"  # the step was taken in time: the guarantor is held
    LAPSED = "lapsed"  # the period ended without it: the guarantor is free (第693条)
    KIND_UNKNOWN = "kind_unknown"  # the file does not say the kind: which step is needed is open
    NO_DUE_DATE = "no_due_date"  # no due date and no agreed end: the period cannot be dated


class AlertAction(StrEnum):
    """What a collector does before a clock ends."""

    RESTART_LIMITATION = "restart_limitation"  # serve a notice on the borrower / get it signed
    CLAIM_GUARANTOR = "claim_guarantor"  # serve a notice on the guarantor (连带责任保证)
    SUE_DEBTOR = "sue_debtor"  # sue or arbitrate against the borrower (一般保证)
    FIND_KIND = "find_kind"  # find the guarantee kind; until then do both
    RESTART_GUARANTOR = "restart_guarantor"  # the guarantor's own limitation: a new notice


@dataclass(frozen=True, slots=True)
class LegalProfile:
    """The rules of one jurisdiction, as data. Periods are in months (3 years = 36)."""

    name: str
    limitation_months: int  # 第188条
    instalments_from_last_due: bool  # 第189条
    restarting: frozenset[LegalEventKind]  # 第195条, SPC 第8/14条
    revives_after_expiry: frozenset[LegalEventKind]  # 第192条: the debtor agreed after expiry
    suspension_window_months: int  # 第194条: a cause in the last months suspends
    suspension_tail_months: int  # 第194条: ends this long after the cause ends
    guarantee_default_months: int  # 第692条
    guarantee_interruptible: bool  # 第692条: never
    guarantor_limitation_from_claim: bool  # 第694条
    mortgage_within_limitation: bool  # 第419条
    articles: tuple[tuple[str, str], ...] = ()  # rule → article, for people reading the rules


CN_CIVIL_CODE = LegalProfile(
    name="CN",
    limitation_months=36,
    instalments_from_last_due=True,
    restarting=frozenset(
        {
            LegalEventKind.PAYMENT,
            LegalEventKind.COMMITMENT,
            LegalEventKind.AGREEMENT_SIGNED,
            LegalEventKind.NOTICE_SIGNED,
            LegalEventKind.SUIT,
        }
    ),
    revives_after_expiry=frozenset(
        {
            LegalEventKind.COMMITMENT,
            LegalEventKind.AGREEMENT_SIGNED,
            LegalEventKind.NOTICE_SIGNED,  # 法复[1999]7号: a signed notice re-confirms the debt
        }
    ),
    suspension_window_months=6,
    suspension_tail_months=6,
    guarantee_default_months=6,
    guarantee_interruptible=False,
    guarantor_limitation_from_claim=True,
    mortgage_within_limitation=True,
    articles=(
        ("limitation", "民法典第188条"),
        ("instalments", "民法典第189条"),
        ("expiry", "民法典第192条"),
        ("suspension", "民法典第194条"),
        ("interruption", "民法典第195条; 最高法诉讼时效规定第8条、第14条"),
        ("guarantee_kind", "民法典第686条"),
        ("guarantee_period", "民法典第692条"),
        ("guarantee_claim", "民法典第693条"),
        ("guarantor_limitation", "民法典第694条"),
        ("mortgage", "民法典第419条"),
    ),
)


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months; a day the target month lacks falls on its last
    day (民法典第202条): ``add_months(date(2024, 2, 29), 36) == date(2027, 2, 28)``."""
    total = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(total, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


@dataclass(frozen=True, slots=True)
class LegalEvent:
    """A dated fact that may restart a clock.

    ``party_id`` ``None`` = the borrower (the debtor); otherwise the related party (a guarantor)
    who made it or to whom the paper was addressed. ``runs_from`` is the day the new period
    counts from when later than ``on`` (an agreed plan's last instalment, 第189条).
    ``evidence`` is the signed copy's photo (a Telegram file id); ``document_id`` /
    ``commitment_id`` / ``payment_id`` name the stored record it came from."""

    on: date
    kind: LegalEventKind
    party_id: int | None = None
    runs_from: date | None = None
    evidence: str | None = None
    document_id: int | None = None
    commitment_id: int | None = None
    payment_id: int | None = None

    @property
    def start(self) -> date:
        """The day the period restarted by this event counts from."""
        return max(self.on, self.runs_from) if self.runs_from else self.on


@dataclass(frozen=True, slots=True)
class Suspension:
    """A suspension cause recorded by hand (第194条): from ``start`` to ``end`` (``None``: still
    running)."""

    start: date
    end: date | None = None


@dataclass(frozen=True, slots=True)
class GuarantorFacts:
    """What the file (or the collector, asked once) says of one guarantee.

    ``kind`` ``None``: not in the file. ``agreed_end`` ``None``: no period agreed (or not in the
    file), and then the default applies (第692条)."""

    party_id: int
    name: str
    kind: GuaranteeKind | None = None
    agreed_end: date | None = None


@dataclass(frozen=True, slots=True)
class LegalFacts:
    """Everything one case's clocks read."""

    case_id: int
    maturity: date | None
    overdue_since: date | None
    guarantors: tuple[GuarantorFacts, ...] = ()
    mortgagors: tuple[tuple[int | None, str], ...] = ()  # (party id, name); collateral: (None, "")
    events: tuple[LegalEvent, ...] = ()
    suspensions: tuple[Suspension, ...] = ()
    borrower_name: str = ""  # for the lists that name the case
    contract_no: str = ""

    @property
    def due_date(self) -> tuple[date | None, DueBasis]:
        """The main debt's due date and where it came from: the 到期日, or else the missed due
        date (earlier, so a deadline counted from it is never later than the true one)."""
        if self.maturity is not None:
            return self.maturity, DueBasis.MATURITY
        if self.overdue_since is not None:
            return self.overdue_since, DueBasis.OVERDUE_SINCE
        return None, DueBasis.UNKNOWN


@dataclass(frozen=True, slots=True)
class LimitationClock:
    """A limitation period (诉讼时效): its last day, and the event that set it (``None``: the due
    date). ``deadline`` ``None``: no date to count from (or a suspension still running)."""

    deadline: date | None
    set_by: LegalEvent | None
    due_date: date | None
    due_basis: DueBasis
    suspended: bool = False
    revived: bool = False  # restarted by the debtor's agreement after it had run out (第192条)

    def days_left(self, today: date) -> int | None:
        """Days until the last day (0 on it, negative once out of time)."""
        return None if self.deadline is None else (self.deadline - today).days

    def expired(self, today: date) -> bool:
        """Out of time: the day after the last day, or later."""
        return self.deadline is not None and today > self.deadline


@dataclass(frozen=True, slots=True)
class GuarantorClock:
    """One guarantor: the kind, the period's end, the claim (with evidence) and, once claimed,
    the guarantor's own limitation (第694条; ``None`` for a general guarantee, whose limitation
    starts only when enforcement against the debtor has ended)."""

    party_id: int
    name: str
    kind: GuaranteeKind | None
    period_end: date | None
    period_agreed: bool
    state: ClaimState
    claim: LegalEvent | None
    own_limitation: LimitationClock | None


@dataclass(frozen=True, slots=True)
class MortgageClock:
    """A mortgage: enforced within the main debt's limitation (第419条)."""

    party_id: int | None
    name: str
    deadline: date | None


@dataclass(frozen=True, slots=True)
class LegalClocks:
    """Every clock of one case."""

    case_id: int
    limitation: LimitationClock
    guarantors: tuple[GuarantorClock, ...] = ()
    mortgages: tuple[MortgageClock, ...] = ()
    borrower_name: str = ""
    contract_no: str = ""

    @property
    def guarantors_by_urgency(self) -> tuple[GuarantorClock, ...]:
        """Guarantors with a step still to take first, the nearest period end first; then the
        claimed, then those whose period could not be dated or ran out."""
        order = {
            ClaimState.RUNNING: 0,
            ClaimState.KIND_UNKNOWN: 0,
            ClaimState.CLAIMED: 1,
            ClaimState.NO_DUE_DATE: 2,
            ClaimState.LAPSED: 3,
        }
        return tuple(
            sorted(
                self.guarantors,
                key=lambda g: (order[g.state], g.period_end or date.max, g.name),
            )
        )

    @property
    def ends(self) -> tuple[date, ...]:
        """The last days of every clock there is something to do about until it ends, sorted:
        the limitation, each guarantor's period while no claim was made in time, a claimed
        joint guarantor's own limitation. They do not depend on the day asked: on a given day
        the ones still to come are :func:`legal_alerts`'s (the queue stores them, so that its
        urgency rule needs no clocks)."""
        found: set[date] = set()
        if self.limitation.deadline is not None:
            found.add(self.limitation.deadline)
        for g in self.guarantors:
            if g.claim is None and g.period_end is not None:
                found.add(g.period_end)
            elif g.own_limitation is not None and g.own_limitation.deadline is not None:
                found.add(g.own_limitation.deadline)
        return tuple(sorted(found))


@dataclass(frozen=True, slots=True)
class LegalAlert:
    """A clock near its end, with what to do before ``deadline``. ``party_name`` ``None``: the
    borrower."""

    case_id: int
    deadline: date
    days_left: int
    action: AlertAction
    party_id: int | None = None
    party_name: str | None = None
    kind: GuaranteeKind | None = None
    borrower_name: str = ""
    contract_no: str = ""


class DocumentKind(StrEnum):
    """A paper the cooperative issues; its signed copy is the evidence that restarts a clock."""

    COLLECTION_NOTICE = "collection_notice"  # 催收通知书 with its 回执: one per addressee (策略9)
    REPAYMENT_AGREEMENT = "repayment_agreement"  # 还款协议, made from a /commit
    COURT_FILING = "court_filing"  # 起诉 / 仲裁: the court's receipt of the suit (第195条, 第693条)


@dataclass(frozen=True, slots=True)
class LegalDocument:
    """An issued document and, once the signed copy came back, its filing.

    ``party_id`` ``None``: addressed to the borrower; else to that related party (a guarantor).
    ``signed_on`` is the local date written on the signed copy (the day the clock restarts);
    ``evidence_file_id`` the photo of it."""

    id: int
    case_id: int
    kind: DocumentKind
    party_id: int | None
    party_name: str | None
    commitment_id: int | None
    issued_at: datetime
    issued_by: int | None
    signed_on: date | None = None
    evidence_file_id: str | None = None
    filed_by: int | None = None
    filed_at: datetime | None = None

    @property
    def filed(self) -> bool:
        return self.signed_on is not None


def document_event(doc: LegalDocument) -> LegalEvent | None:
    """The event a filed document is: a signed notice is a demand on its addressee (SPC 第8条; on
    a guarantor, the claim 第693条 needs), a signed agreement the addressee agreeing to perform
    (SPC 第14条), a court filing a suit against the debtor. ``None`` until the signed copy is
    filed: an issued paper nobody signed proves nothing."""
    if doc.signed_on is None:
        return None
    kind = {
        DocumentKind.COLLECTION_NOTICE: LegalEventKind.NOTICE_SIGNED,
        DocumentKind.REPAYMENT_AGREEMENT: LegalEventKind.AGREEMENT_SIGNED,
        DocumentKind.COURT_FILING: LegalEventKind.SUIT,
    }[doc.kind]
    party = None if doc.kind is DocumentKind.COURT_FILING else doc.party_id
    return LegalEvent(
        on=doc.signed_on,
        kind=kind,
        party_id=party,
        evidence=doc.evidence_file_id,
        document_id=doc.id,
        commitment_id=doc.commitment_id,
    )


def _limitation(
    start: date | None,
    basis: DueBasis,
    events: Iterable[LegalEvent],
    suspensions: Sequence[Suspension],
    profile: LegalProfile,
) -> LimitationClock:
    """Walk the events in date order: one on or before the running deadline restarts the
    period from its start; one after it restarts it only if the debtor agreed (第192条)."""
    if start is None:
        return LimitationClock(None, None, None, basis)
    deadline = add_months(start, profile.limitation_months)
    set_by: LegalEvent | None = None
    revived = False
    for event in sorted(events, key=lambda e: (e.on, e.start)):
        if event.kind not in profile.restarting:
            continue
        if event.on > deadline and event.kind not in profile.revives_after_expiry:
            continue
        candidate = add_months(event.start, profile.limitation_months)
        if candidate >= deadline:
            revived = event.on > deadline
            deadline = candidate
            set_by = event
    suspended = False
    window = profile.suspension_window_months
    for s in sorted(suspensions, key=lambda s: s.start):
        if s.start > deadline or s.start < add_months(deadline, -window):
            continue
        if s.end is None:
            return LimitationClock(None, set_by, start, basis, suspended=True, revived=revived)
        deadline = max(deadline, add_months(s.end, profile.suspension_tail_months))
        suspended = True
    return LimitationClock(deadline, set_by, start, basis, suspended=suspended, revived=revived)


def limitation_clock(facts: LegalFacts, profile: LegalProfile = CN_CIVIL_CODE) -> LimitationClock:
    """The case's limitation: 3 years from the due date, restarted by the borrower's events.

    Edge cases: no 到期日 in the file → counted from the missed due date (earlier, safe); an
    agreed plan counts from its last instalment when that is later than the day it was agreed
    (第189条); an event after the period ran out restarts it only when the debtor agreed (a plan,
    a signed agreement or notice: 第192条), never by a payment alone or a meeting."""
    start, basis = facts.due_date
    borrower = [e for e in facts.events if e.party_id is None]
    return _limitation(start, basis, borrower, facts.suspensions, profile)


def guarantor_clock(
    facts: LegalFacts,
    guarantor: GuarantorFacts,
    today: date,
    profile: LegalProfile = CN_CIVIL_CODE,
) -> GuarantorClock:
    """One guarantor's period and claim.

    The period is the agreed end, unless none was agreed or it ends no later than the main
    debt's due date: then 6 months from the due date (第692条). Nothing the borrower does moves
    it. The step it needs (第693条): a suit against the borrower for a general guarantee, a signed
    notice to this guarantor for joint liability; a kind not in the file is ``KIND_UNKNOWN``
    unless the steps of both kinds were taken in time. ``LAPSED`` from the day after the period's
    end (as of ``today``) when the step was not taken: the guarantor is free."""
    due, _ = facts.due_date
    agreed = guarantor.agreed_end is not None and (due is None or guarantor.agreed_end > due)
    if agreed:
        end: date | None = guarantor.agreed_end
    elif due is not None:
        end = add_months(due, profile.guarantee_default_months)
    else:
        end = None

    def in_time(events: Iterable[LegalEvent]) -> LegalEvent | None:
        timely = [e for e in events if end is not None and e.on <= end]
        return min(timely, key=lambda e: e.on) if timely else None

    notices = [
        e
        for e in facts.events
        if e.party_id == guarantor.party_id
        and e.kind in (LegalEventKind.NOTICE_SIGNED, LegalEventKind.AGREEMENT_SIGNED)
    ]
    suits = [e for e in facts.events if e.party_id is None and e.kind is LegalEventKind.SUIT]
    if guarantor.kind is GuaranteeKind.JOINT:
        claim = in_time(notices)
    elif guarantor.kind is GuaranteeKind.GENERAL:
        claim = in_time(suits)
    else:
        # Unknown kind: held only when both steps were taken in time (either kind is then kept).
        claim = in_time(notices) if in_time(suits) is not None else None
    if end is None:
        state = ClaimState.NO_DUE_DATE
    elif claim is not None:
        state = ClaimState.CLAIMED
    elif end is not None and today > end:
        state = ClaimState.LAPSED
    elif guarantor.kind is None:
        state = ClaimState.KIND_UNKNOWN
    else:
        state = ClaimState.RUNNING
    own: LimitationClock | None = None
    if (
        claim is not None
        and profile.guarantor_limitation_from_claim
        and guarantor.kind is GuaranteeKind.JOINT
    ):
        # 第694条: from the claim; the guarantor's own later acts and papers restart it.
        later = [e for e in facts.events if e.party_id == guarantor.party_id and e.on >= claim.on]
        run = _limitation(claim.on, DueBasis.UNKNOWN, later, (), profile)
        own = LimitationClock(
            run.deadline, run.set_by or claim, claim.on, DueBasis.UNKNOWN, revived=run.revived
        )
    return GuarantorClock(
        party_id=guarantor.party_id,
        name=guarantor.name,
        kind=guarantor.kind,
        period_end=end,
        period_agreed=agreed,
        state=state,
        claim=claim,
        own_limitation=own,
    )


def legal_clocks(
    facts: LegalFacts, today: date, profile: LegalProfile = CN_CIVIL_CODE
) -> LegalClocks:
    """Every clock of the case as of ``today``: limitation, each guarantor, each mortgage
    (第419条)."""
    limitation = limitation_clock(facts, profile)
    guarantors = tuple(guarantor_clock(facts, g, today, profile) for g in facts.guarantors)
    mortgages = (
        tuple(MortgageClock(pid, name, limitation.deadline) for pid, name in facts.mortgagors)
        if profile.mortgage_within_limitation
        else ()
    )
    return LegalClocks(
        facts.case_id, limitation, guarantors, mortgages, facts.borrower_name, facts.contract_no
    )


def _guarantor_alert(clock: GuarantorClock, case: LegalClocks, today: date) -> LegalAlert | None:
    if clock.state in (ClaimState.RUNNING, ClaimState.KIND_UNKNOWN):
        assert clock.period_end is not None
        action = {
            GuaranteeKind.JOINT: AlertAction.CLAIM_GUARANTOR,
            GuaranteeKind.GENERAL: AlertAction.SUE_DEBTOR,
            None: AlertAction.FIND_KIND,
        }[clock.kind]
        deadline = clock.period_end
    elif clock.state is ClaimState.CLAIMED and clock.own_limitation is not None:
        if clock.own_limitation.deadline is None:
            return None
        action, deadline = AlertAction.RESTART_GUARANTOR, clock.own_limitation.deadline
    else:
        return None
    return LegalAlert(
        case_id=case.case_id,
        deadline=deadline,
        days_left=(deadline - today).days,
        action=action,
        party_id=clock.party_id,
        party_name=clock.name,
        kind=clock.kind,
        borrower_name=case.borrower_name,
        contract_no=case.contract_no,
    )


def legal_alerts(clocks: Iterable[LegalClocks], today: date, within_days: int) -> list[LegalAlert]:
    """The clocks that end within ``within_days`` days of ``today`` (today included, ended ones
    not: they are lost, not to act on), each with its action, most urgent first (nearest last
    day; then the borrower before guarantors, then by name)."""
    alerts: list[LegalAlert] = []
    for case in clocks:
        lim = case.limitation
        if lim.deadline is not None:
            alerts.append(
                LegalAlert(
                    case.case_id,
                    lim.deadline,
                    (lim.deadline - today).days,
                    AlertAction.RESTART_LIMITATION,
                    borrower_name=case.borrower_name,
                    contract_no=case.contract_no,
                )
            )
        for g in case.guarantors:
            alert = _guarantor_alert(g, case, today)
            if alert is not None:
                alerts.append(alert)
    near = [a for a in alerts if 0 <= a.days_left <= within_days]
    near.sort(key=lambda a: (a.deadline, a.party_name is not None, a.party_name or "", a.case_id))
    return near


_KIND_WORDS: tuple[tuple[GuaranteeKind, tuple[str, ...]], ...] = (
    (GuaranteeKind.JOINT, ("连带", "連帶", "joint")),
    (GuaranteeKind.GENERAL, ("一般", "general")),
)


def parse_guarantee_kind(text: str | None) -> GuaranteeKind | None:
    """The kind a ledger cell names (一般保证 / 连带责任保证 / 連帶責任保證 / joint / general);
    ``None`` for an empty or unrecognised cell — never a default."""
    if not text:
        return None
    folded = text.strip().lower()
    for kind, words in _KIND_WORDS:
        if any(w in folded for w in words):
            return kind
    return None


def nearest_end(ends: Iterable[date], today: date) -> date | None:
    """The first of ``ends`` (:attr:`LegalClocks.ends`) on or after ``today``; None: none."""
    return min((d for d in ends if d >= today), default=None)


def clock_ends(facts: LegalFacts, profile: LegalProfile = CN_CIVIL_CODE) -> tuple[date, ...]:
    """:attr:`LegalClocks.ends` of ``facts``: they do not depend on the day asked."""
    if not (facts.events or facts.guarantors or facts.suspensions):
        # Most cases of a ledger: nothing happened yet, 3 years from the due date (a shortcut
        # the storage's refresh takes for every case; the test holds it to the long way).
        due, _ = facts.due_date
        return () if due is None else (add_months(due, profile.limitation_months),)
    return legal_clocks(facts, date.min, profile).ends


def alert_window(today: date, within_days: int) -> tuple[date, date]:
    """The days whose clock ends :func:`legal_alerts` lists on ``today``: today to
    ``within_days`` days later, both included."""
    return today, today + timedelta(days=within_days)
