"""/commit: the repayment commitment — money today first, then instalments on exact dates.

The ``commit`` flow (策略5 忌华而不实): money received today (may be zero, but said), then the
plan typed the way people say it (``每月25号 共6期``, ``every Wednesday ×4``, ``12月25日``, a
list of dates) — vague or period-end words are refused with the reason and nothing else is
lost —, the total (equal instalments to the yuan, or listed), who promised (the borrower or a
related party, 策略9), and a one-screen summary with the dates' weekdays, the short-month rule
and weekend/holiday warnings (the next working day offered). A plan that concedes something
(below the prep's bottom line or target, a late first date, a long plan, a fee waiver) is put
to the supervisor at once (策略6 即时请示): the commitment waits as "pending approval" and the
flow continues from the supervisor's answer. Everything is stored in one transaction.

Read :data:`COMMIT_FLOW` at the bottom first: the draft, the steps, the hooks, the entry points.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from telegram import Update

from bot import callbacks
from bot.approvals import request_calls, supervisors_of, withdraw
from bot.context import QingshouContext
from bot.domain.casefile import CaseFile, local_date
from bot.domain.commitments import (
    Approval,
    ApprovalReason,
    ApprovalStatus,
    Channel,
    CommitmentStatus,
    NewCommitment,
    NewInstalment,
)
from bot.domain.dates import (
    DateError,
    Due,
    parse_count,
    parse_dates,
    parse_schedule,
    working_day,
)
from bot.domain.money import AmountError, format_amount, parse_amount
from bot.domain.people import User
from bot.domain.plans import (
    Plan,
    PlanCheck,
    apply_counter,
    check_plan,
    equal_amounts,
    total_too_small,
)
from bot.domain.reminders import ReminderPolicy
from bot.flows import (
    ENGINE,
    Amount,
    Button,
    Buttons,
    Choices,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Option,
    Refusal,
    Reply,
    Step,
    Text,
    decode_with,
    register,
)
from bot.i18n import N_
from bot.labels import CHANNEL_LABELS
from bot.labels import labelled as _labelled
from bot.labels import word as _word
from bot.lookup import case_entry, case_to_act_on, case_to_view, pressed_case
from bot.papers import send_agreement
from bot.routes import COMMIT, CONCESSION, UNCOMMIT
from bot.storage import APPROVAL_ID, FlowState
from bot.telegram_io import wake

CONFIRM, CHANGE, ASK, WAIVER, SHIFT = "confirm", "change", "ask", "waiver", "shift"
STORE, ACCEPT_COUNTER, WAITING = "store", "accept", "waiting"
BORROWER = 0
_AMOUNT_SPLIT = re.compile(r"[\s,，、;；/]+")


# -- the draft ----------------------------------------------------------------------------------


def _parties_of(raw: Sequence[Sequence[Any]]) -> tuple[tuple[int, str, str], ...]:
    return tuple((int(i), str(name), str(role)) for i, name, role in raw)


@dataclass(frozen=True, kw_only=True)
class CommitDraft(Draft):
    """What /commit knows so far: the case's figures as the flow started, then one field per
    step (the step of the same name writes it), then what the approval step stored."""

    VERSION: ClassVar[int] = 1

    # The case, when the flow started.
    owed: int = 0
    #: The latest prep's bottom line and target (None: not prepared, or not said).
    bottom: int | None = None
    target: int | None = None
    #: Related parties who may promise: (party id, name, role), ten at most.
    parties: tuple[tuple[int, str, str], ...] = field(default=(), metadata=decode_with(_parties_of))
    #: Paid at today's meeting, if one was recorded (offered as the money today).
    paid_today: int | None = None
    meeting_id: int | None = None
    #: The agreed commitment this one replaces (an amendment), and the day it was made.
    replaces: int | None = None
    replaces_on: date | None = field(default=None, metadata=decode_with(date.fromisoformat))

    # The answers.
    money: int | None = None
    channel: str | None = None
    plan: Plan | None = field(default=None, metadata=decode_with(Plan.from_json))
    split: str | None = None
    total: int | None = None
    amounts: list[int] | None = None
    promised_by: int | None = None
    summary: str | None = None
    #: "🔒 Ask for a fee waiver": what is waived and how much, in the collector's words.
    waiver: str | None = None
    approval: str | None = None

    # Stored by the approval step's hook: the pending commitment and its request.
    approval_id: int | None = None
    commitment_id: int | None = None
    supervisor: str | None = None

    @property
    def dues(self) -> tuple[Due, ...]:
        return self.plan.dues if self.plan is not None else ()

    @property
    def money_today(self) -> int:
        return self.money or 0

    @property
    def remaining(self) -> int:
        """Still owed after the money today."""
        return max(self.owed - self.money_today, 0)

    @property
    def instalment_amounts(self) -> list[int]:
        """One amount per due date: as listed, else the total in equal amounts."""
        if self.split == "list" and self.amounts is not None:
            return list(self.amounts)
        return equal_amounts(self.total, len(self.dues)) if self.dues and self.total else []

    @property
    def no_channel(self) -> bool:
        """Nothing paid today, or only what the meeting already recorded: no channel asked."""
        return self.money_today == 0 or self.money == self.paid_today

    @classmethod
    def from_legacy(cls, data: Mapping[str, Any]) -> CommitDraft:
        """A row of the untyped flow (before version 1): the answers had today's names; the
        case's facts were "internal" keys (``_owed``, ``_prep``, …); ``_waiver`` repeated
        ``summary == "waiver"``."""
        figures = (data.get("_prep") or {}).get("figures") or {}
        renamed = {k: v for k, v in data.items() if not k.startswith("_")}
        renamed.update(
            owed=data.get("_owed") or 0,
            bottom=figures.get("bottom"),
            target=figures.get("target"),
            parties=data.get("_parties") or [],
            paid_today=data.get("_paid_today"),
            meeting_id=data.get("_meeting_id"),
            replaces=data.get("_replaces"),
            replaces_on=data.get("_replaces_on"),
            supervisor=data.get("_supervisor"),
        )
        return cls.from_json(renamed)


Run = FlowRun[CommitDraft]


def _today(run: Run) -> date:
    return local_date(run.now, run.context.settings.tz)


def _check(run: Run) -> PlanCheck:
    draft = run.draft
    return check_plan(
        money_today=draft.money_today,
        amounts=draft.instalment_amounts,
        dues=list(draft.dues),
        debt=draft.owed,
        today=_today(run),
        bottom=draft.bottom,
        target=draft.target,
        fee_waiver=draft.summary == WAIVER,
        first_due_days=run.context.settings.first_due_days,
        plan_months=run.context.settings.plan_months,
        unprepared_gap_percent=run.context.settings.unprepared_gap_percent,
    )


# -- the answers: options, validators, what is known --------------------------------------------


def _money_valid(fen: Any, run: Run) -> Any:
    owed = run.draft.owed
    if owed and int(fen) > owed:
        return Refusal("prep/money_today_too_much", {"amount": int(fen), "owed": owed})
    return int(fen)


async def _money_options(run: Run) -> list[Option]:
    options = [Option(code=0, value=0, label=_word(run, "money_today", 0), translate=False)]
    paid = _known_paid(run)
    if paid is not None:
        options.insert(
            0,
            Option(
                code=1, value=paid, translate=False, label=format_amount(paid, run.context.locale)
            ),
        )
    return options


def _known_paid(run: Run) -> int | None:
    paid = run.draft.paid_today
    return paid if isinstance(paid, int) and paid > 0 else None


def _plan_of(text: str | int, run: Run) -> Plan | Refusal:
    """A typed plan: its rule and its due dates (or the refusal, with the reason). A recurring
    rule without its length (``每周三``) is kept and only the count is asked next; then a
    number (typed or tapped) completes it, and anything else is a whole new plan."""
    today = _today(run)
    kept = run.draft.plan
    if kept is not None and kept.needs_count and (count := parse_count(text)) is not None:
        text = f"{kept.text} ×{count}"
    text = str(text)
    try:
        rule: Any = parse_schedule(text, today)
    except DateError as first:
        if first.code == "schedule.no_count":
            return Plan.awaiting_count(text)
        if first.code == "date.vague":
            return Refusal("commit/date_refused", {"error": first})
        try:
            rule = parse_dates(text, today)
        except DateError:
            return Refusal("commit/date_refused", {"error": first})
    return Plan.of(text, rule, today)


#: The counts offered for a rule typed without one (any other number may be typed).
COMMON_COUNTS = (3, 4, 6, 12)


async def _count_options(run: Run) -> list[Option]:
    """While a rule waits for its count: the common counts, a tap each."""
    plan = run.draft.plan
    if plan is None or not plan.needs_count:
        return []
    return [
        Option(code=n, value=n, label=_word_of(run, "commit/count_label", n=n), translate=False)
        for n in COMMON_COUNTS
    ]


def _word_of(run: Run, template: str, **params: Any) -> str:
    return html.unescape(run.context.render(template, **params))


def _after_plan(run: Run) -> str:
    """A rule still without its count asks for the count (the plan step again)."""
    plan = run.draft.plan
    return "plan" if plan is not None and plan.needs_count else ""


async def _total_options(run: Run) -> list[Option]:
    draft = run.draft
    remaining = draft.remaining
    options = []
    if remaining:
        words = run.context.label(N_("the rest of the debt"))
        label = f"{format_amount(remaining, run.context.locale)} · {words}"
        options.append(Option(code=0, value=remaining, label=label, translate=False))
    target = draft.target
    if isinstance(target, int) and 0 < target - draft.money_today < remaining:
        rest = target - draft.money_today
        # The words apart from the f-string: the catalog extractor does not look inside one
        # (the Chinese button said "up to the target").
        words = run.context.label(N_("up to the target"))
        label = f"{format_amount(rest, run.context.locale)} · {words}"
        options.append(Option(code=1, value=rest, translate=False, label=label))
    return options


def _total_valid(fen: Any, run: Run) -> Any:
    remaining, count = run.draft.remaining, len(run.draft.dues)
    if remaining and int(fen) > remaining:
        return Refusal("commit/over_debt", {"amount": int(fen), "remaining": remaining})
    if total_too_small(int(fen), count):
        return Refusal("commit/too_small", {"amount": int(fen), "count": count})
    return int(fen)


def _amount_list(text: str, run: Run) -> Any:
    """Listed amounts, one per instalment (``1000 1000 3000``)."""
    count, remaining = len(run.draft.dues), run.draft.remaining
    pieces = [p for p in _AMOUNT_SPLIT.split(text.strip()) if p]
    try:
        amounts = [parse_amount(p) for p in pieces]
    except AmountError:
        return Refusal("commit/bad_list", {"text": text, "count": count})
    if len(amounts) != count or any(a <= 0 for a in amounts):
        return Refusal("commit/bad_list", {"text": text, "count": count})
    if sum(amounts) > remaining:
        return Refusal("commit/over_debt", {"amount": sum(amounts), "remaining": remaining})
    return amounts


async def _promisers(run: Run) -> list[Option]:
    options = [Option(code=BORROWER, value=BORROWER, label=N_("The borrower"))]
    for party_id, name, role in run.draft.parties:
        # With their role: a guarantor may commit separately (策略9), and a name alone does
        # not say who they are.
        label = f"{_word(run, 'role', role)} · {name}"
        options.append(Option(code=party_id, value=party_id, label=label, translate=False))
    return options


async def _summary_options(run: Run) -> list[Option]:
    check = _check(run)
    options = []
    if check.reasons:
        options.append(Option(code=2, value=ASK, label=N_("🔒 Ask the supervisor")))
    else:
        options.append(Option(code=1, value=CONFIRM, label=N_("✅ Confirm")))
    if any(not working_day(d.date).is_working_day for d in run.draft.dues):
        options.append(Option(code=5, value=SHIFT, label=N_("📅 Move to working days")))
    options.append(Option(code=3, value=CHANGE, label=N_("✏️ Change the plan")))
    if not check.reasons:
        options.append(Option(code=4, value=WAIVER, label=N_("🔒 Ask for a fee waiver")))
    return options


async def _approval(run: Run) -> Approval | None:
    approval_id = run.draft.approval_id
    return await run.context.storage.get_approval(approval_id) if approval_id else None


async def _approval_options(run: Run) -> list[Option]:
    approval = await _approval(run)
    if approval is None or approval.status is ApprovalStatus.PENDING:
        return [Option(code=9, value=WAITING, label=N_("⏳ Waiting for the answer"))]
    if approval.status is ApprovalStatus.APPROVED:
        return [Option(code=1, value=STORE, label=N_("✅ Done: show the commitment"))]
    options = [Option(code=3, value=CHANGE, label=N_("✏️ Change the plan"))]
    if approval.status is ApprovalStatus.COUNTERED:
        options.insert(
            0, Option(code=2, value=ACCEPT_COUNTER, label=N_("🤝 Accept the counter-offer"))
        )
    return options


# -- which step follows (pure: they read the draft, never change it) ---------------------------


def _after_summary(run: Run) -> str | None:
    choice = run.draft.summary
    if choice == CHANGE:
        return "plan"
    if choice == SHIFT:
        return "summary"  # shown again, its dates moved (see _move_to_working_days_if_asked)
    if choice == WAIVER:
        return "waiver"  # what is waived and how much first: the supervisor judges an amount
    if choice == ASK:
        return "approval"
    return None


def _after_approval(run: Run) -> str | None:
    choice = run.draft.approval
    if choice == CHANGE:
        return "plan"  # a new plan, a new request (see _forget_the_answered_request)
    if choice == WAITING:
        return "approval"
    return None


# -- hooks: the only places that change the draft by themselves or write -----------------------


async def _forget_the_answered_request(run: Run) -> CommitDraft:
    """On entering the plan: after "✏️ Change the plan" on the supervisor's answer, the
    changed plan is a new request (the answered one and its commitment stay as they are)."""
    return replace(run.draft, approval_id=None, commitment_id=None, waiver=None)


async def _move_to_working_days_if_asked(run: Run) -> CommitDraft:
    """On entering the summary after "📅 Move to working days": each instalment on a weekend
    or holiday moves to the next working day (moving again changes nothing)."""
    draft = run.draft
    if draft.summary != SHIFT or draft.plan is None:
        return draft
    return replace(draft, plan=draft.plan.on_working_days())


async def _store_pending_and_ask_the_supervisor(run: Run) -> CommitDraft | Reply:
    """On entering "approval": store the commitment as pending and the request to the
    supervisors in one transaction (the request is an outbox row, sent at once: a crash after
    the write cannot lose it; the step entered again finds the request its flow made)."""
    if run.draft.approval_id is not None:
        return run.draft  # asked already (the step is shown again)
    context = run.context
    user = context.user
    assert user is not None
    case_file = await case_to_view(context, run.case_id)
    if case_file is None:
        return Reply(context.render("commit/lost", text="", data=run.draft))
    supervisors = await supervisors_of(context, case_file.summary.team_id)
    check = _check(run)
    proposal = _proposal(run, check)
    reasons = frozenset(ApprovalReason(r) for r in check.reasons)
    draft = _approval_draft(user, case_file, reasons, proposal, run.state.id, run.now)
    stored = await context.storage.add_commitment(
        user,
        case_file.id,
        _new_commitment(run),
        needs_approval=reasons,
        proposal=proposal,
        flow_id=run.state.id,
        notify=request_calls(context, case_file, draft, supervisors, APPROVAL_SLOT),
        now=run.now,
        key=run.key,
        today=_today(run),
        reminders=ReminderPolicy.from_settings(context.settings),
        # An amendment put to the supervisor replaces the old plan once approved, as one
        # confirmed at once does (the old plan stayed agreed, its instalments due).
        replaces=run.draft.replaces,
    )
    if stored is None or stored.approval_id is None:
        return Reply(context.render("commit/lost", text="", data=run.draft))
    wake(context)
    return replace(
        run.draft,
        approval_id=stored.approval_id,
        commitment_id=stored.id,
        supervisor=supervisors[0].name if supervisors else None,
    )


async def _withdraw_the_request(context: QingshouContext, state: FlowState) -> None:
    """On abandoning the flow (/cancel, expiry, dropped for another): a request still waiting
    for the supervisor goes with it (see :func:`bot.approvals.withdraw`)."""
    approval = await context.storage.pending_approval_of_flow(state.id)
    if approval is not None:
        await withdraw(context, approval)


#: The approval's id in the buttons of a request written with it (the storage fills it in).
APPROVAL_SLOT = callbacks.Slot(APPROVAL_ID)


def _approval_draft(
    user: User,
    case_file: CaseFile,
    reasons: frozenset[ApprovalReason],
    proposal: dict[str, Any],
    flow_id: int | None,
    now: datetime,
) -> Approval:
    """The request as it will be stored, to word the supervisor's message in the same
    transaction that stores it (the id is the storage's: the buttons carry a slot)."""
    return Approval(
        id=0,
        case_id=case_file.id,
        team_id=case_file.summary.team_id or 0,
        requested_by=user.id,
        requested_by_name=user.name,
        requested_at=now,
        reasons=reasons,
        proposal=proposal,
        flow_id=flow_id,
        commitment_id=None,
        status=ApprovalStatus.PENDING,
        answered_by=None,
        answered_by_name=None,
        answered_at=None,
        counter=None,
        reminded_at=None,
        requester_telegram_id=user.telegram_id,
        borrower_name=case_file.summary.borrower_name,
        contract_no=case_file.summary.contract_no,
    )


def _proposal(run: Run, check: PlanCheck) -> dict[str, Any]:
    draft = run.draft
    return {
        "money_today": draft.money_today,
        "dues": [
            [d.date.isoformat(), a]
            for d, a in zip(draft.dues, draft.instalment_amounts, strict=True)
        ],
        "gap": check.gap,
        "months": check.months,
        **({"waiver": draft.waiver} if draft.summary == WAIVER and draft.waiver else {}),
    }


def _new_commitment(run: Run, *, counter: dict[str, Any] | None = None) -> NewCommitment:
    draft = run.draft
    dues, amounts = list(draft.dues), draft.instalment_amounts
    if counter:
        dues, amounts = apply_counter(dues, amounts, counter, draft.plan)
    plan = draft.plan.to_json() if draft.plan is not None else {}
    promised = draft.promised_by
    return NewCommitment(
        money_today=draft.money_today,
        money_channel=Channel(draft.channel) if draft.channel and not draft.no_channel else None,
        promised_by_party=promised if promised is not None and promised != BORROWER else None,
        plan={**plan, "counter": counter} if counter else plan,
        instalments=tuple(NewInstalment(d.date, a) for d, a in zip(dues, amounts, strict=True)),
        meeting_id=draft.meeting_id,
    )


async def _load(run: Run) -> dict[str, Any] | None:
    """The case (still one the person may act on) and what the prompts show."""
    case_file = await case_to_act_on(run.context, run.case_id)
    if case_file is None:
        return None
    dues, amounts = run.draft.dues, run.draft.instalment_amounts
    return {
        "summary": case_file.summary,
        "case_file": case_file,
        "step": run.state.step,
        "dues": list(zip(dues, amounts, strict=False)) if amounts else [(d, None) for d in dues],
        "check": _check(run) if dues else None,
        "workdays": {d.date: working_day(d.date) for d in dues},
        "approval": await _approval(run),
    }


async def _store_the_commitment(run: Run) -> Reply:
    """On finishing: store the agreed commitment (keyed: once), or show the one the supervisor
    approved."""
    context = run.context
    user = context.user
    assert user is not None
    case_file: CaseFile = run.params["case_file"]
    approval: Approval | None = run.params.get("approval")
    if (
        approval is not None
        and approval.status is ApprovalStatus.APPROVED
        and approval.commitment_id
    ):
        stored = await context.storage.get_commitment(approval.commitment_id)
    else:
        counter = (
            approval.counter
            if approval is not None and run.draft.approval == ACCEPT_COUNTER
            else None
        )
        stored = await context.storage.add_commitment(
            user,
            case_file.id,
            _new_commitment(run, counter=counter),
            needs_approval=frozenset(),
            proposal={},
            flow_id=None,
            notify=None,
            now=run.now,
            key=run.key,
            today=_today(run),
            replaces=run.draft.replaces,
            reminders=ReminderPolicy.from_settings(context.settings),
        )
    if stored is None:
        return Reply(context.render("commit/lost", text="", data=run.draft))
    # The repayment agreement to sign (issue 19), as a PDF through the outbox: once per
    # commitment, whichever way it was agreed.
    await send_agreement(
        context, case_file, stored, owed_before=run.draft.owed, now=run.now, key=run.key
    )
    return Reply(context.render("commit/stored", summary=case_file.summary, commitment=stored))


async def start_commit(update: Update, context: QingshouContext, case_file: CaseFile) -> None:
    """Open /commit on ``case_file`` with what the case knows (an agreed commitment is amended)."""
    today = local_date(context.clock.now(), context.settings.tz)
    meetings = await context.storage.meetings_of(case_file.id, limit=1)
    meeting = meetings[0] if meetings and meetings[0].held_on == today else None
    latest = case_file.latest_prep
    figures = latest.answers.figures if latest is not None else None
    commitments = await context.storage.commitments_of(case_file.id, limit=3)
    current = next((c for c in commitments if c.status is CommitmentStatus.AGREED), None)
    draft = CommitDraft(
        owed=case_file.summary.owed_before(meeting.paid_today if meeting is not None else None),
        bottom=figures.bottom if figures is not None else None,
        target=figures.target if figures is not None else None,
        parties=tuple((p.id, p.party.name, p.party.role.value) for p in case_file.parties[:10]),
        paid_today=meeting.paid_today if meeting is not None else None,
        meeting_id=meeting.id if meeting is not None else None,
        # An amendment: the new plan replaces the agreed one, the history stays.
        replaces=current.id if current is not None else None,
        replaces_on=local_date(current.created_at, context.settings.tz) if current else None,
    )
    await ENGINE.start(update, context, COMMIT_FLOW, draft, case_id=case_file.id)


COMMIT_FLOW: Flow[CommitDraft] = register(
    Flow(
        name="commit",
        title=N_("Repayment commitment"),
        draft=CommitDraft,
        # ``/commit <name, contract or phone>``, and "🤝 Record the commitment" after an
        # outcome or on a card.
        entry=case_entry(
            start_commit, command="commit", button=COMMIT, icon="🤝", usage="commit/usage"
        ),
        steps=(
            Step(
                "money",
                "commit/ask",
                Amount(minimum=0, validate=_money_valid, suggest=_money_options),
                known=_known_paid,
            ),
            Step(
                "channel",
                "commit/ask",
                Buttons(_labelled(CHANNEL_LABELS), columns=2),
                skip=lambda run: run.draft.no_channel,
            ),
            Step(
                "plan",
                "commit/ask",
                Text(max_chars=300, validate=_plan_of, suggest=_count_options),
                next=_after_plan,
                on_enter=_forget_the_answered_request,
            ),
            Step(
                "split",
                "commit/ask",
                Buttons(
                    [
                        Option(0, "equal", N_("Equal amounts")),
                        Option(1, "list", N_("I'll list them")),
                    ],
                    columns=2,
                ),
                skip=lambda run: len(run.draft.dues) <= 1,
            ),
            Step(
                "total",
                "commit/ask",
                Amount(validate=_total_valid, suggest=_total_options),
                skip=lambda run: run.draft.split == "list",
            ),
            Step(
                "amounts",
                "commit/ask",
                Text(max_chars=400, validate=_amount_list),
                skip=lambda run: run.draft.split != "list",
            ),
            Step(
                "promised_by",
                "commit/ask",
                Buttons(_promisers),
                skip=lambda run: not run.draft.parties,
            ),
            Step(
                "summary",
                "commit/summary",
                Buttons(_summary_options),
                next=_after_summary,
                on_enter=_move_to_working_days_if_asked,
            ),
            Step(
                "waiver",
                "commit/ask",
                Text(max_chars=200, single_line=True),
                skip=lambda run: run.draft.summary != WAIVER,
            ),
            Step(
                "approval",
                "commit/approval",
                Buttons(_approval_options),
                next=_after_approval,
                on_enter=_store_pending_and_ask_the_supervisor,
            ),
        ),
        load=_load,
        on_finish=_store_the_commitment,
        on_abandon=_withdraw_the_request,
        lost="commit/lost",
        expires=timedelta(days=2),
        resumable=True,
    )
)


# -- cancelling a commitment, with a reason -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UncommitDraft(Draft):
    """The commitment to cancel, and why."""

    VERSION: ClassVar[int] = 1

    commitment_id: int = 0
    reason: str | None = None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


async def _uncommit_load(run: FlowRun[UncommitDraft]) -> dict[str, Any] | None:
    case_file = await case_to_act_on(run.context, run.case_id)
    commitment = await run.context.storage.get_commitment(run.draft.commitment_id)
    if case_file is None or commitment is None or commitment.case_id != case_file.id:
        return None
    return {"summary": case_file.summary, "commitment": commitment}


async def _cancel_the_commitment(run: FlowRun[UncommitDraft]) -> Reply:
    context = run.context
    user = context.user
    assert user is not None
    ended = await context.storage.cancel_commitment(
        user, run.draft.commitment_id, run.draft.reason or "", now=run.now, key=run.key
    )
    if ended is None:
        return Reply(context.render("commit/lost", text="", data=run.draft))
    return Reply(
        context.render("commit/cancelled", summary=run.params["summary"], commitment=ended)
    )


async def uncommit_button(update: Update, context: QingshouContext, commitment_id: int) -> None:
    """ "✖ Cancel commitment" on the card: ask why, then cancel (the history stays)."""
    commitment = await context.storage.get_commitment(commitment_id)
    case_file = await pressed_case(update, context, commitment.case_id if commitment else 0)
    if case_file is not None:
        draft = UncommitDraft(commitment_id=commitment_id)
        await ENGINE.start(update, context, UNCOMMIT_FLOW, draft, case_id=case_file.id)


UNCOMMIT_FLOW: Flow[UncommitDraft] = register(
    Flow(
        name="uncommit",
        title=N_("Cancel a commitment"),
        draft=UncommitDraft,
        entry=Entry((Button(UNCOMMIT),), button=uncommit_button),
        steps=(Step("reason", "commit/cancel_reason", Text(max_chars=200, single_line=True)),),
        load=_uncommit_load,
        on_finish=_cancel_the_commitment,
        lost="commit/lost",
    )
)


# -- a concession asked from the card (策略6: not granted on the spot) -------------------------

_CONCESSIONS = [
    Option(0, ApprovalReason.FEE_WAIVER.value, N_("a fee waiver")),
    Option(1, ApprovalReason.LONG_PLAN.value, N_("a long plan")),
    Option(2, ApprovalReason.BELOW_TARGET.value, N_("below the target")),
    Option(3, ApprovalReason.FIRST_DATE_LATE.value, N_("a late first date")),
]


@dataclass(frozen=True, kw_only=True)
class ConcessionDraft(Draft):
    """Which concessions are asked (codes while tapping, then the reasons), and in a line what."""

    VERSION: ClassVar[int] = 1

    kinds: list[Any] | None = None
    detail: str | None = None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


async def _concession_load(run: FlowRun[ConcessionDraft]) -> dict[str, Any] | None:
    case_file = await case_to_act_on(run.context, run.case_id)
    if case_file is None:
        return None
    return {"summary": case_file.summary, "case": case_file, "step": run.state.step}


async def _put_to_the_supervisor(run: FlowRun[ConcessionDraft]) -> Reply:
    """Put the request to the supervisor at once (an outbox row written with it); their
    answer comes back as a message."""
    context = run.context
    user = context.user
    assert user is not None
    case_file: CaseFile = run.params["case"]
    kinds = frozenset(ApprovalReason(r) for r in run.draft.kinds or [])
    proposal = {"detail": run.draft.detail or ""}
    supervisors = await supervisors_of(context, case_file.summary.team_id)
    draft = _approval_draft(user, case_file, kinds, proposal, None, run.now)
    approval = await context.storage.request_approval(
        user,
        case_file.id,
        kinds,
        proposal,
        flow_id=None,
        notify=request_calls(context, case_file, draft, supervisors, APPROVAL_SLOT),
        now=run.now,
        key=run.key,
    )
    if approval is None:
        return Reply(context.render("commit/lost", text="", data=run.draft))
    wake(context)
    return Reply(
        context.render(
            "commit/concession_sent",
            summary=case_file.summary,
            name=supervisors[0].name if supervisors else None,
        )
    )


async def concession_button(update: Update, context: QingshouContext, case_id: int) -> None:
    """ "🔒 Ask the supervisor" on the card: which concession, and in a line what is asked."""
    case_file = await pressed_case(update, context, case_id)
    if case_file is not None:
        await ENGINE.start(update, context, CONCESSION_FLOW, ConcessionDraft(), case_id=case_id)


CONCESSION_FLOW: Flow[ConcessionDraft] = register(
    Flow(
        name="concession",
        title=N_("Ask the supervisor"),
        draft=ConcessionDraft,
        entry=Entry((Button(CONCESSION),), button=concession_button),
        steps=(
            Step("kinds", "commit/concession_ask", Choices(_CONCESSIONS, columns=1)),
            Step("detail", "commit/concession_ask", Text(max_chars=300), optional=True),
        ),
        load=_concession_load,
        on_finish=_put_to_the_supervisor,
        lost="commit/lost",
    )
)
