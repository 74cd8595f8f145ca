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
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.callbacks import Choice, Int
from bot.context import QingshouContext
from bot.domain.casefile import CaseFile, local_date, may_prepare
from bot.domain.commitments import (
    Approval,
    ApprovalReason,
    ApprovalStatus,
    Channel,
    CommitmentStatus,
    NewCommitment,
    NewInstalment,
)
from bot.domain.dates import DateError, Due, Recurrence, parse_dates, parse_schedule, working_day
from bot.domain.money import AmountError, format_amount, parse_amount
from bot.domain.people import User
from bot.domain.plans import apply_counter, check_plan, equal_amounts, plan_dates, to_working_days
from bot.domain.reminders import ReminderPolicy
from bot.flows import (
    ENGINE,
    Amount,
    Answers,
    Buttons,
    Choices,
    Flow,
    FlowRun,
    Option,
    Refusal,
    Reply,
    Step,
    Text,
    register,
)
from bot.i18n import N_
from bot.storage import APPROVAL_ID, OutboxCall
from bot.telegram_io import message_call
from handlers.lookup import case_entry_points
from handlers.outcome import CHANNEL_LABELS, _labelled
from reminders.outbox import wake

#: "🤝 Commitment" on the card and after an outcome: (case id).
COMMIT = callbacks.route("cm", Int())
#: "✖ Cancel commitment" on the card: (commitment id).
UNCOMMIT = callbacks.route("cx", Int())
#: The supervisor's answer to an approval request: (approval id, approve / reject / counter).
ANSWER = callbacks.route("ap", Int(), Choice(("ok", "no", "ct")))

CONFIRM, CHANGE, ASK, WAIVER, SHIFT = "confirm", "change", "ask", "waiver", "shift"
STORE, ACCEPT_COUNTER, WAITING = "store", "accept", "waiting"
BORROWER = 0
_AMOUNT_SPLIT = re.compile(r"[\s,，、;；/]+")


# -- the plan -----------------------------------------------------------------------------------


def _today(run: FlowRun) -> date:
    return local_date(run.now, run.context.settings.tz)


def _plan_of(text: str, run: FlowRun) -> Any:
    """A typed plan as stored: its rule and its due dates (or the refusal, with the reason)."""
    today = _today(run)
    try:
        rule: date | Recurrence | list[date] = parse_schedule(text, today)
    except DateError as first:
        if first.code == "date.vague":
            return Refusal("commit/date_refused", {"e": first})
        try:
            rule = parse_dates(text, today)
        except DateError:
            return Refusal("commit/date_refused", {"e": first})
    dues = plan_dates(rule, today)
    plan: dict[str, Any] = {
        "text": text,
        "dues": [[d.date.isoformat(), d.short_month] for d in dues],
    }
    if isinstance(rule, Recurrence):
        plan.update(kind=rule.kind, weekday=rule.weekday, day=rule.day, count=rule.count,
                    until=rule.until.isoformat() if rule.until else None)  # fmt: skip
    else:
        plan["kind"] = "dates"
    return plan


def _dues(data: dict[str, Any]) -> list[Due]:
    plan = data.get("plan") or {}
    return [Due(date.fromisoformat(d), bool(short)) for d, short in plan.get("dues") or []]


def _remaining(data: dict[str, Any]) -> int:
    return max(int(data.get("_owed") or 0) - int(data.get("money") or 0), 0)


def _amounts(data: dict[str, Any]) -> list[int]:
    dues = _dues(data)
    if data.get("split") == "list" and isinstance(data.get("amounts"), list):
        return [int(a) for a in data["amounts"]]
    total = int(data.get("total") or 0)
    return equal_amounts(total, len(dues)) if dues and total else []


def _check(run: FlowRun) -> Any:
    figures = (run.data.get("_prep") or {}).get("figures") or {}
    return check_plan(
        money_today=int(run.data.get("money") or 0),
        amounts=_amounts(run.data),
        dues=_dues(run.data),
        debt=int(run.data.get("_owed") or 0),
        today=_today(run),
        bottom=figures.get("bottom"),
        target=figures.get("target"),
        fee_waiver=run.data.get("summary") == WAIVER or bool(run.data.get("_waiver")),
        first_due_days=run.context.settings.first_due_days,
        plan_months=run.context.settings.plan_months,
    )


# -- steps --------------------------------------------------------------------------------------


def _money_valid(fen: Any, run: FlowRun) -> Any:
    owed = int(run.data.get("_owed") or 0)
    if owed and int(fen) > owed:
        return Refusal("prep/money_today_too_much", {"amount": int(fen), "owed": owed})
    return int(fen)


async def _money_options(run: FlowRun) -> list[Option]:
    from handlers.prep import _word

    options = [Option(code=0, value=0, label=_word(run, "money_today", 0), translate=False)]
    paid = run.data.get("_paid_today")
    if isinstance(paid, int) and paid > 0:
        options.insert(0, Option(code=1, value=paid, translate=False,
                                 label=format_amount(paid, run.context.locale)))  # fmt: skip
    return options


def _known_paid(run: FlowRun) -> Any:
    paid = run.data.get("_paid_today")
    return paid if isinstance(paid, int) and paid > 0 else None


def _no_channel(run: FlowRun) -> bool:
    money = int(run.data.get("money") or 0)
    return money == 0 or money == run.data.get("_paid_today")


async def _total_options(run: FlowRun) -> list[Option]:
    remaining = _remaining(run.data)
    options = []
    if remaining:
        words = run.context.label(N_("the rest of the debt"))
        label = f"{format_amount(remaining, run.context.locale)} · {words}"
        options.append(Option(code=0, value=remaining, label=label, translate=False))
    target = ((run.data.get("_prep") or {}).get("figures") or {}).get("target")
    if isinstance(target, int) and 0 < target - int(run.data.get("money") or 0) < remaining:
        rest = target - int(run.data.get("money") or 0)
        options.append(Option(code=1, value=rest, translate=False,
                              label=f"{format_amount(rest, run.context.locale)} · "
                                    f"{run.context.label(N_('up to the target'))}"))  # fmt: skip
    return options


def _total_valid(fen: Any, run: FlowRun) -> Any:
    remaining = _remaining(run.data)
    if remaining and int(fen) > remaining:
        return Refusal("commit/over_debt", {"amount": int(fen), "remaining": remaining})
    if int(fen) < len(_dues(run.data)) * 100:
        return Refusal("commit/too_small", {"amount": int(fen), "count": len(_dues(run.data))})
    return int(fen)


def _amount_list(text: str, run: FlowRun) -> Any:
    """Listed amounts, one per instalment (``1000 1000 3000``)."""
    dues = _dues(run.data)
    pieces = [p for p in _AMOUNT_SPLIT.split(text.strip()) if p]
    try:
        amounts = [parse_amount(p) for p in pieces]
    except AmountError:
        return Refusal("commit/bad_list", {"text": text, "count": len(dues)})
    if len(amounts) != len(dues) or any(a <= 0 for a in amounts):
        return Refusal("commit/bad_list", {"text": text, "count": len(dues)})
    if sum(amounts) > _remaining(run.data):
        return Refusal(
            "commit/over_debt", {"amount": sum(amounts), "remaining": _remaining(run.data)}
        )
    return amounts


async def _parties(run: FlowRun) -> list[Option]:
    options = [Option(code=BORROWER, value=BORROWER, label=N_("The borrower"))]
    for party_id, name, _role in run.data.get("_parties") or []:
        options.append(Option(code=party_id, value=party_id, label=name, translate=False))
    return options


async def _summary_options(run: FlowRun) -> list[Option]:
    check = _check(run)
    options = []
    if check.reasons:
        options.append(Option(code=2, value=ASK, label=N_("🔒 Ask the supervisor")))
    else:
        options.append(Option(code=1, value=CONFIRM, label=N_("✅ Confirm")))
    if any(not working_day(d.date).is_working_day for d in _dues(run.data)):
        options.append(Option(code=5, value=SHIFT, label=N_("📅 Move to working days")))
    options.append(Option(code=3, value=CHANGE, label=N_("✏️ Change the plan")))
    if not check.reasons:
        options.append(Option(code=4, value=WAIVER, label=N_("🔒 Ask for a fee waiver")))
    return options


def _after_summary(run: FlowRun) -> str | None:
    choice = run.data.get("summary")
    if choice == CHANGE:
        return "plan"
    if choice == SHIFT:
        _shift_to_working_days(run)
        return "summary"
    if choice in (ASK, WAIVER):
        if choice == WAIVER:
            run.data["_waiver"] = True
        return "approval"
    return None


def _shift_to_working_days(run: FlowRun) -> None:
    """Move each instalment on a weekend or holiday to the next working day (as offered)."""
    plan = dict(run.data.get("plan") or {})
    moved = to_working_days(_dues(run.data))
    plan["dues"] = [[d.date.isoformat(), d.short_month] for d in moved]
    plan["shifted"] = True
    run.data["plan"] = plan


async def _approval_options(run: FlowRun) -> list[Option]:
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


async def _approval(run: FlowRun) -> Approval | None:
    approval_id = run.data.get("approval_id")
    return (
        await run.context.storage.get_approval(approval_id)
        if isinstance(approval_id, int)
        else None
    )


def _after_approval(run: FlowRun) -> str | None:
    choice = run.data.get("approval")
    if choice == CHANGE:
        for key in ("approval_id", "commitment_id", "_waiver"):
            run.data.pop(key, None)
        return "plan"
    if choice == WAITING:
        return "approval"
    return None


async def _request_approval(run: FlowRun) -> Answers | Reply:
    """On arriving at "approval": store the commitment as pending and the request to the
    supervisors in one transaction (the request is an outbox row, sent at once: a crash after
    the write cannot lose it; the step entered again finds the request its flow made)."""
    if isinstance(run.data.get("approval_id"), int):
        return run.draft  # asked already (the step is shown again)
    context = run.context
    user = context.user
    assert user is not None
    case_file = await context.storage.get_case(user, run.case_id or 0)
    if case_file is None:
        return Reply(context.render("commit/lost", text="", data=run.data))
    supervisors = await supervisors_of(context, case_file.summary.team_id)
    named = supervisors[0].name if supervisors else None
    check = _check(run)
    proposal = _proposal(run, check)
    reasons = frozenset(ApprovalReason(r) for r in check.reasons)
    draft = _draft(user, case_file, reasons, proposal, run.state.id, run.now)
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
    )
    if stored is None or stored.approval_id is None:
        return Reply(context.render("commit/lost", text="", data=run.data))
    wake(context)
    return Answers({**run.data, "approval_id": stored.approval_id, "commitment_id": stored.id,
                    "_supervisor": named})  # fmt: skip


#: The approval's id in the buttons of a request written with it (the storage fills it in).
APPROVAL_SLOT = callbacks.Slot(APPROVAL_ID)


def request_calls(
    context: QingshouContext,
    case_file: CaseFile,
    approval: Approval,
    supervisors: Sequence[User],
    approval_id: int | callbacks.Slot,
    *,
    again: bool = False,
) -> list[OutboxCall]:
    """The request (or its reminder) for each supervisor, in their language, with the three
    answer buttons, as outbox calls to write beside the change."""
    calls = []
    for supervisor in supervisors:
        locale = supervisor.effective_locale(context.settings.default_locale)
        text = context.renderer.render(locale, "commit/approval_request", s=case_file.summary,
                                       a=approval, p=approval.proposal, again=again)  # fmt: skip
        keyboard = _answer_keyboard(context, locale, approval_id)
        calls.append(message_call(supervisor.telegram_id, text, keyboard))
    return calls


def _draft(
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
        id=0, case_id=case_file.id, team_id=case_file.summary.team_id or 0,
        requested_by=user.id, requested_by_name=user.name, requested_at=now, reasons=reasons,
        proposal=proposal, flow_id=flow_id, commitment_id=None, status=ApprovalStatus.PENDING,
        answered_by=None, answered_by_name=None, answered_at=None, counter=None,
        reminded_at=None, requester_telegram_id=user.telegram_id,
    )  # fmt: skip


def _answer_keyboard(
    context: QingshouContext, locale: str, approval_id: int | callbacks.Slot
) -> InlineKeyboardMarkup:
    label = context.renderer.label
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label(locale, N_("✅ Approve")),
                               callback_data=ANSWER.data(approval_id, "ok")),
          InlineKeyboardButton(label(locale, N_("❌ Reject")),
                               callback_data=ANSWER.data(approval_id, "no"))],
         [InlineKeyboardButton(label(locale, N_("↩️ Counter-offer")),
                               callback_data=ANSWER.data(approval_id, "ct"))]]
    )  # fmt: skip


async def supervisors_of(context: QingshouContext, team_id: int | None) -> list[User]:
    """Who answers the team's requests: its active supervisors."""
    if team_id is None:
        return []
    people = await context.storage.list_users(team_id=team_id)
    return [p for p in people if p.role.value == "supervisor" and p.active]


def _proposal(run: FlowRun, check: Any) -> dict[str, Any]:
    return {
        "money_today": int(run.data.get("money") or 0),
        "dues": [
            [d.date.isoformat(), a]
            for d, a in zip(_dues(run.data), _amounts(run.data), strict=True)
        ],
        "gap": check.gap,
        "months": check.months,
    }  # fmt: skip


def _new_commitment(run: FlowRun, *, counter: dict[str, Any] | None = None) -> NewCommitment:
    dues, amounts = _dues(run.data), _amounts(run.data)
    if counter:
        dues, amounts = apply_counter(dues, amounts, counter)
    money = int(run.data.get("money") or 0)
    channel = run.data.get("channel")
    promised = run.data.get("promised_by")
    return NewCommitment(
        money_today=money,
        money_channel=Channel(channel) if channel and not _no_channel(run) else None,
        promised_by_party=promised if isinstance(promised, int) and promised != BORROWER else None,
        plan={**(run.data.get("plan") or {}), "counter": counter}
        if counter
        else dict(run.data.get("plan") or {}),
        instalments=tuple(NewInstalment(d.date, a) for d, a in zip(dues, amounts, strict=True)),
        meeting_id=run.data.get("_meeting_id"),
    )


# -- the flow -----------------------------------------------------------------------------------


async def _load(run: FlowRun) -> dict[str, Any] | None:
    user = run.context.user
    assert user is not None and run.case_id is not None
    case_file = await run.context.storage.get_case(user, run.case_id)
    if case_file is None or not may_prepare(user, case_file.summary):
        return None
    dues, amounts = _dues(run.data), _amounts(run.data)
    return {
        "s": case_file.summary,
        "f": case_file,
        "step": run.state.step,
        "dues": list(zip(dues, amounts, strict=False)) if amounts else [(d, None) for d in dues],
        "check": _check(run) if dues else None,
        "workdays": {d.date: working_day(d.date) for d in dues},
        "approval": await _approval(run),
    }


async def _finish(run: FlowRun) -> Reply:
    """Store the agreed commitment (keyed: once), or show the one the supervisor approved."""
    context = run.context
    user = context.user
    assert user is not None
    case_file: CaseFile = run.params["f"]
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
            if approval is not None and run.data.get("approval") == ACCEPT_COUNTER
            else None
        )
        stored = await context.storage.add_commitment(
            user, case_file.id, _new_commitment(run, counter=counter), needs_approval=frozenset(),
            proposal={}, flow_id=None, notify=None, now=run.now, key=run.key, today=_today(run),
            replaces=run.data.get("_replaces"),
            reminders=ReminderPolicy.from_settings(context.settings),
        )  # fmt: skip
    if stored is None:
        return Reply(context.render("commit/lost", text="", data=run.data))
    return Reply(context.render("commit/stored", s=case_file.summary, c=stored))


COMMIT_FLOW = register(
    Flow(
        name="commit",
        title=N_("Repayment commitment"),
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
                skip=_no_channel,
            ),
            Step("plan", "commit/ask", Text(max_chars=300, validate=_plan_of)),
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
                skip=lambda run: len(_dues(run.data)) <= 1,
            ),
            Step(
                "total",
                "commit/ask",
                Amount(validate=_total_valid, suggest=_total_options),
                skip=lambda run: run.data.get("split") == "list",
            ),
            Step(
                "amounts",
                "commit/ask",
                Text(max_chars=400, validate=_amount_list),
                skip=lambda run: run.data.get("split") != "list",
            ),
            Step(
                "promised_by",
                "commit/ask",
                Buttons(_parties),
                skip=lambda run: not run.data.get("_parties"),
            ),
            Step("summary", "commit/summary", Buttons(_summary_options), next=_after_summary),
            Step(
                "approval",
                "commit/approval",
                Buttons(_approval_options),
                next=_after_approval,
                on_enter=_request_approval,
            ),
        ),
        load=_load,
        on_finish=_finish,
        lost="commit/lost",
        expires=timedelta(days=2),
        resumable=True,
    )
)


# -- entry points -------------------------------------------------------------------------------


async def start_commit(update: Update, context: QingshouContext, case_file: CaseFile) -> None:
    user = context.user
    assert user is not None
    today = local_date(context.clock.now(), context.settings.tz)
    meetings = await context.storage.meetings_of(case_file.id, limit=1)
    meeting = meetings[0] if meetings and meetings[0].held_on == today else None
    latest = case_file.latest_prep
    data = {
        "_owed": case_file.summary.total_overdue,
        "_prep": latest.answers.to_json() if latest is not None else {},
        "_parties": [[p.id, p.party.name, p.party.role.value] for p in case_file.parties[:10]],
        "_paid_today": meeting.paid_today if meeting is not None else None,
        "_meeting_id": meeting.id if meeting is not None else None,
    }
    commitments = await context.storage.commitments_of(case_file.id, limit=3)
    current = next((c for c in commitments if c.status is CommitmentStatus.AGREED), None)
    if current is not None:  # an amendment: the new plan replaces it, the history stays
        data["_replaces"] = current.id
        data["_replaces_on"] = local_date(current.created_at, context.settings.tz).isoformat()
    await ENGINE.start(update, context, COMMIT_FLOW, data, case_id=case_file.id)


#: ``/commit <name, contract or phone>``, and "🤝 Record the commitment" after an outcome or
#: on a card: record what was promised.
commit, commit_button = case_entry_points(
    start_commit, choose=COMMIT, icon="🤝", usage="commit/usage"
)


# -- cancelling a commitment, with a reason -----------------------------------------------------


async def _uncommit_load(run: FlowRun) -> dict[str, Any] | None:
    user = run.context.user
    assert user is not None and run.case_id is not None
    case_file = await run.context.storage.get_case(user, run.case_id)
    commitment = await run.context.storage.get_commitment(int(run.data.get("commitment_id") or 0))
    if case_file is None or commitment is None or commitment.case_id != case_file.id:
        return None
    if not may_prepare(user, case_file.summary):
        return None
    return {"s": case_file.summary, "c": commitment}


async def _uncommit(run: FlowRun) -> Reply:
    context = run.context
    user = context.user
    assert user is not None
    ended = await context.storage.cancel_commitment(
        user, int(run.data["commitment_id"]), str(run.data.get("reason") or ""), now=run.now,
        key=run.key,
    )  # fmt: skip
    if ended is None:
        return Reply(context.render("commit/lost", text="", data=run.data))
    return Reply(context.render("commit/cancelled", s=run.params["s"], c=ended))


UNCOMMIT_FLOW = register(
    Flow(
        name="uncommit",
        title=N_("Cancel a commitment"),
        steps=(Step("reason", "commit/cancel_reason", Text(max_chars=200, single_line=True)),),
        load=_uncommit_load,
        on_finish=_uncommit,
        lost="commit/lost",
    )
)


async def uncommit_button(update: Update, context: QingshouContext, commitment_id: int) -> None:
    """ "✖ Cancel commitment" on the card: ask why, then cancel (the history stays)."""
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    commitment = await context.storage.get_commitment(commitment_id)
    case_file = await context.storage.get_case(user, commitment.case_id) if commitment else None
    if commitment is None or case_file is None or not may_prepare(user, case_file.summary):
        await query.answer(context.label(N_("No such case among yours.")), show_alert=True)
        return
    await query.answer()
    await ENGINE.start(update, context, UNCOMMIT_FLOW, {"commitment_id": commitment_id},
                       case_id=case_file.id)  # fmt: skip


# -- a concession asked from the card (策略6: not granted on the spot) -------------------------

#: "🔒 Ask the supervisor" on the card: (case id).
CONCESSION = callbacks.route("cq", Int())
_CONCESSIONS = [
    Option(0, ApprovalReason.FEE_WAIVER.value, N_("a fee waiver")),
    Option(1, ApprovalReason.LONG_PLAN.value, N_("a long plan")),
    Option(2, ApprovalReason.BELOW_TARGET.value, N_("below the target")),
    Option(3, ApprovalReason.FIRST_DATE_LATE.value, N_("a late first date")),
]


async def _concession_load(run: FlowRun) -> dict[str, Any] | None:
    user = run.context.user
    assert user is not None and run.case_id is not None
    case_file = await run.context.storage.get_case(user, run.case_id)
    if case_file is None or not may_prepare(user, case_file.summary):
        return None
    return {"s": case_file.summary, "case": case_file, "step": run.state.step}


async def _concession(run: FlowRun) -> Reply:
    """Put the request to the supervisor at once (an outbox row written with it); their
    answer comes back as a message."""
    context = run.context
    user = context.user
    assert user is not None
    case_file: CaseFile = run.params["case"]
    kinds = frozenset(ApprovalReason(r) for r in run.data.get("kinds") or [])
    proposal = {"detail": run.data.get("detail") or ""}
    supervisors = await supervisors_of(context, case_file.summary.team_id)
    draft = _draft(user, case_file, kinds, proposal, None, run.now)
    approval = await context.storage.request_approval(
        user, case_file.id, kinds, proposal, flow_id=None,
        notify=request_calls(context, case_file, draft, supervisors, APPROVAL_SLOT),
        now=run.now, key=run.key,
    )  # fmt: skip
    if approval is None:
        return Reply(context.render("commit/lost", text="", data=run.data))
    wake(context)
    return Reply(context.render("commit/concession_sent", s=case_file.summary,
                                name=supervisors[0].name if supervisors else None))  # fmt: skip


CONCESSION_FLOW = register(
    Flow(
        name="concession",
        title=N_("Ask the supervisor"),
        steps=(
            Step("kinds", "commit/concession_ask", Choices(_CONCESSIONS, columns=1)),
            Step("detail", "commit/concession_ask", Text(max_chars=300), optional=True),
        ),
        load=_concession_load,
        on_finish=_concession,
        lost="commit/lost",
    )
)


async def concession_button(update: Update, context: QingshouContext, case_id: int) -> None:
    """ "🔒 Ask the supervisor" on the card: which concession, and in a line what is asked."""
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    case_file = await context.storage.get_case(user, case_id)
    if case_file is None or not may_prepare(user, case_file.summary):
        await query.answer(context.label(N_("No such case among yours.")), show_alert=True)
        return
    await query.answer()
    await ENGINE.start(update, context, CONCESSION_FLOW, {}, case_id=case_id)
