"""The supervisor's answer to an approval request (策略6 即时请示): Approve, Reject, or a
counter-offer (an amount or a date, read by the same parsers as the collector's).

Every press is authorised again in storage: only a pending request of a case of the
supervisor's own team (admins: any) can be answered, and only once (compare-and-set). The
collector is told at once, with the buttons that continue their /commit from the answer: the
message is an outbox row written in the answer's transaction, delivered straight after.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.approvals import withdraw
from bot.context import QingshouContext
from bot.domain.casefile import local_date
from bot.domain.commitments import Approval, ApprovalStatus
from bot.domain.dates import DateError, parse_date
from bot.domain.money import AmountError, parse_amount
from bot.domain.people import User
from bot.domain.reminders import ReminderPolicy
from bot.flows import ANSWER as FLOW_ANSWER
from bot.flows import (
    ENGINE,
    Button,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Refusal,
    Reply,
    Step,
    Text,
    register,
)
from bot.i18n import N_
from bot.lookup import case_to_view
from bot.routes import APPROVAL_ANSWER
from bot.storage import OutboxCall
from bot.telegram_io import message_call, wake

STATUS = {"ok": ApprovalStatus.APPROVED, "no": ApprovalStatus.REJECTED}


async def answer(update: Update, context: QingshouContext, approval_id: int, choice: str) -> None:
    """Approve / Reject at once; Counter-offer asks for the amount or date first."""
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    approval = await context.storage.get_approval(approval_id)
    if approval is None or not _may_answer(user, approval):
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return
    if approval.status is ApprovalStatus.PENDING and approval.flow_id is not None:
        # The collector's flow ended without it (a process killed between ending the flow and
        # withdrawing its request): withdraw it now, never answer it into a binding plan.
        flow = await context.storage.get_flow(approval.flow_id)
        if flow is not None and flow.status in ("cancelled", "expired", "dropped"):
            await withdraw(context, approval)
            approval = await context.storage.get_approval(approval_id) or approval
    if approval.status is not ApprovalStatus.PENDING:
        await _answered_before(context, query, approval)
        return
    if choice == "ct":
        await query.answer()
        draft = CounterDraft(approval_id=approval_id)
        await ENGINE.start(update, context, COUNTER, draft, case_id=approval.case_id)
        return
    now = context.clock.now()
    status = STATUS[choice]
    done = await context.storage.answer_approval(
        user,
        approval_id,
        status,
        counter=None,
        now=now,
        notify=await collector_calls(context, _as_answered(approval, user, status, None, now)),
        reminders=ReminderPolicy.from_settings(context.settings),
    )
    if done is None:  # a double tap, or someone else answered a moment ago
        await _answered_before(context, query, await context.storage.get_approval(approval_id))
        return
    wake(context)
    await query.answer()
    await query.edit_message_text(context.render("commit/answered", approval=done))


async def _answered_before(
    context: QingshouContext, query: CallbackQuery, approval: Approval | None
) -> None:
    """A press on a request answered already (a double tap, a replay after a crash, another
    supervisor first): say so; the presser's own answer is shown in place of the buttons. A
    request its collector withdrew says so, and its buttons go: nothing is left to answer."""
    user = context.user
    if approval is not None and user is not None and approval.status is ApprovalStatus.WITHDRAWN:
        await query.answer(context.label(N_("The collector withdrew this request.")))
        text = context.render(
            "commit/withdrawn",
            approval=approval,
            for_collector=False,
            borrower=approval.borrower_name,
            contract=approval.contract_no,
        )
        with contextlib.suppress(BadRequest):
            await query.edit_message_text(text)
        return
    await query.answer(context.label(N_("This request is already answered.")), show_alert=True)
    if approval is None or user is None or approval.answered_by != user.id:
        return
    with contextlib.suppress(BadRequest):  # shown already ("message is not modified")
        await query.edit_message_text(context.render("commit/answered", approval=approval))


def _may_answer(user: Any, approval: Approval) -> bool:
    if user.role.value == "admin":
        return True
    return bool(user.role.value == "supervisor" and user.team_id == approval.team_id)


def _as_answered(
    approval: Approval,
    user: User,
    status: ApprovalStatus,
    counter: dict[str, Any] | None,
    now: datetime,
) -> Approval:
    """The request as the answer being written leaves it (to word the collector's message in
    the same transaction)."""
    return dataclasses.replace(
        approval,
        status=status,
        answered_by=user.id,
        answered_by_name=user.name,
        answered_at=now,
        counter=counter,
    )


async def collector_calls(context: QingshouContext, approval: Approval) -> list[OutboxCall]:
    """The answer for the collector, in their language, with the buttons that continue their
    flow, as an outbox call to write with the answer: a crash after the answer is stored
    cannot lose it, and a replayed press (answered already) cannot send it twice. A collector
    who blocked the bot meanwhile is marked so by the outbox; the answer stands."""
    collector = await context.storage.get_user(approval.requested_by)
    if collector is None:
        return []
    locale = collector.effective_locale(context.settings.default_locale)
    text = context.renderer.render(locale, "commit/answer_for_collector", approval=approval)
    keyboard = None
    flow = await context.storage.get_flow(approval.flow_id) if approval.flow_id else None
    if flow is not None and flow.status == "open" and flow.step == "approval":
        label = context.renderer.label
        rows = []
        if approval.status is ApprovalStatus.APPROVED:
            rows.append([(label(locale, N_("✅ Done: show the commitment")), 1)])
        else:
            if approval.status is ApprovalStatus.COUNTERED:
                rows.append([(label(locale, N_("🤝 Accept the counter-offer")), 2)])
            rows.append([(label(locale, N_("✏️ Change the plan")), 3)])
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t, callback_data=FLOW_ANSWER.data(flow.id, flow.version, c)
                    )
                    for t, c in row
                ]
                for row in rows
            ]
        )
    calls = []
    if flow is not None and flow.status == "open" and flow.step == "approval" and flow.message_id:
        # The "⏳ Waiting for the answer" message loses its button: the answer below carries
        # the ones that go on (issue 16: both sides' answered messages kept their buttons).
        calls.append(
            OutboxCall(
                collector.telegram_id,
                "editMessageReplyMarkup",
                {
                    "chat_id": collector.telegram_id,
                    "message_id": flow.message_id,
                    "reply_markup": {"inline_keyboard": []},
                },
            )
        )
    calls.append(message_call(collector.telegram_id, text, keyboard))
    return calls


@dataclass(frozen=True, kw_only=True)
class CounterDraft(Draft):
    """The request answered with a counter-offer, and the offer: ``{"amount": fen}`` (the
    total instead) or ``{"date": iso}`` (the first instalment then)."""

    VERSION: ClassVar[int] = 1

    approval_id: int = 0
    offer: Mapping[str, Any] | None = None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


Run = FlowRun[CounterDraft]


def _offer(text: str, run: Run) -> Any:
    """A counter-offer: an amount (the total instead) or a date (the first instalment then)."""
    today = local_date(run.now, run.context.settings.tz)
    try:
        return {"amount": parse_amount(text)}
    except AmountError:
        pass
    try:
        return {"date": parse_date(text, today).isoformat()}
    except DateError as exc:
        return Refusal("commit/counter_refused", {"error": exc, "text": text})


async def _load(run: Run) -> dict[str, Any] | None:
    user = run.context.user
    assert user is not None
    approval = await run.context.storage.get_approval(run.draft.approval_id)
    if approval is None or not _may_answer(user, approval):
        return None
    if approval.status is not ApprovalStatus.PENDING and approval.answered_by != user.id:
        return None  # someone else answered it: "already answered"
    # Answered by this supervisor (their offer stored, then the bot killed before the flow
    # ended, and the typed offer replayed): the finish shows their own answer again.
    case_file = await case_to_view(run.context, approval.case_id)
    if case_file is None:
        return None
    return {"approval": approval, "summary": case_file.summary}


async def _counter(run: Run) -> Reply:
    context = run.context
    user = context.user
    assert user is not None
    approval: Approval = run.params["approval"]
    if approval.status is not ApprovalStatus.PENDING:
        return Reply(context.render("commit/answered", approval=approval))
    offer = dict(run.draft.offer) if run.draft.offer is not None else None
    answered = _as_answered(approval, user, ApprovalStatus.COUNTERED, offer, run.now)
    done = await context.storage.answer_approval(
        user,
        approval.id,
        ApprovalStatus.COUNTERED,
        counter=offer,
        now=run.now,
        notify=await collector_calls(context, answered),
    )
    if done is None:
        return Reply(context.render("commit/already_answered"))
    wake(context)
    return Reply(context.render("commit/answered", approval=done))


COUNTER: Flow[CounterDraft] = register(
    Flow(
        name="counter",
        title=N_("Counter-offer"),
        draft=CounterDraft,
        # The supervisor's Approve / Reject / Counter-offer under a request: the first two are
        # answered at once, the counter-offer asks for the amount or the date.
        entry=Entry((Button(APPROVAL_ANSWER),), button=answer),
        steps=(
            Step(
                "offer", "commit/counter_ask", Text(max_chars=60, single_line=True, validate=_offer)
            ),
        ),
        load=_load,
        on_finish=_counter,
        lost="commit/already_answered",
    )
)
