"""/assign: a supervisor (own team) or an admin gives a case its lead collector.

Strategy 12 (一以贯之): one lead per case until it yields; changing people releases the
pressure and teaches the debtor to stall. So a reassignment shows that warning and asks why
before anything changes; the change is recorded (who, when, why) and both collectors are told.

The exchange is the ``assign`` flow: collector → (a reassignment: the warning and the reason) →
("other reason": the reason in words) → done. Every step re-authorises through ``_load``: the
case through storage with the presser as viewer, the right to assign with ``may_assign``, the
collector against the team's active collectors; the change itself checks that the lead is still
the one the supervisor saw, and is keyed so that a replay changes it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.domain.casefile import (
    REASSIGN_REASONS,
    CaseFile,
    LeadReason,
    may_assign,
    may_assign_cases,
)
from bot.flows import (
    ENGINE,
    Button,
    Buttons,
    Command,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Option,
    Reply,
    Step,
    Text,
    register,
)
from bot.i18n import N_
from bot.lookup import case_to_view, pressed_case_to_view
from bot.routes import LEAD_COLLECTOR

#: A reason is one line; longer text is refused (and kept) rather than cut.
MAX_REASON = 200
MAX_CHOICES = 10
KEEP = "keep"
REASON_LABELS: dict[LeadReason, str] = {
    LeadReason.WORKLOAD: N_("Workload"),
    LeadReason.COLLECTOR_LEFT: N_("Collector left"),
    LeadReason.ESCALATION: N_("Escalation"),
    LeadReason.OTHER: N_("Other reason"),
}


@dataclass(frozen=True, kw_only=True)
class AssignDraft(Draft):
    """The case's lead when the flow started (None: it has none yet), then the answers: the
    collector, and for a reassignment why (a reason to tap, or the reason in words)."""

    VERSION: ClassVar[int] = 1

    lead_id: int | None = None
    collector: int | None = None
    reason: str | None = None
    reason_text: str | None = None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


Run = FlowRun[AssignDraft]


async def _load(run: Run) -> dict[str, Any] | None:
    """The case (as the presser sees it) and the chosen collector; None when no longer allowed."""
    user = run.context.user
    assert user is not None and run.case_id is not None
    case_file = await case_to_view(run.context, run.case_id)
    if case_file is None or not may_assign(user, case_file.summary.team_id):
        return None
    summary = case_file.summary
    collectors = await run.context.storage.team_collectors(summary.team_id)
    others = [c for c in collectors if c.id != summary.lead_id]
    target = next((c for c in collectors if c.id == run.draft.collector), None)
    return {"summary": summary, "target": target, "others": others, "has_choice": bool(others)}


async def _collectors(run: Run) -> list[Option]:
    case_file = await case_to_view(run.context, run.case_id)
    if case_file is None:
        return []
    summary = case_file.summary
    return [
        Option(code=c.id, value=c.id, label=c.name or str(c.telegram_id), translate=False)
        for c in await run.context.storage.team_collectors(summary.team_id)
        if c.id != summary.lead_id
    ]


_REASONS = [
    *(
        Option(code=i, value=r.value, label=REASON_LABELS[r])
        for i, r in enumerate(REASSIGN_REASONS)
    ),
    Option(code=len(REASSIGN_REASONS), value=KEEP, label=N_("Keep the current lead")),
]


def _first_lead(run: Run) -> bool:
    return run.draft.lead_id is None


def _after_reason(run: Run) -> str | None:
    return "reason_text" if run.draft.reason == LeadReason.OTHER.value else None


async def _change(run: Run) -> Reply:
    """Change the lead if it is still the one the supervisor saw (keyed: once per flow)."""
    context = run.context
    user = context.user
    assert user is not None
    summary, target = run.params["summary"], run.params["target"]
    draft = run.draft
    if draft.reason == KEEP:
        return Reply(context.render("assign/cancelled", summary=summary))
    note = draft.reason_text
    if target is None or summary.lead_id != draft.lead_id:
        return Reply(context.render("assign/reason_lost", text=note or ""))
    reason = LeadReason(draft.reason) if draft.reason else LeadReason.FIRST
    change = await context.storage.assign_lead(
        user, summary.id, target.id, reason, now=run.now, note=note, key=run.key
    )
    if change is None:
        return Reply(context.render("assign/reason_lost", text=note or ""))
    return Reply(context.render("assign/done", summary=summary, change=change))


async def start_assign(update: Update, context: QingshouContext, case_file: CaseFile) -> None:
    """Open /assign on ``case_file``, remembering its lead as it is now."""
    draft = AssignDraft(lead_id=case_file.summary.lead_id)
    await ENGINE.start(update, context, ASSIGN, draft, case_id=case_file.id)


async def assign(update: Update, context: QingshouContext) -> None:
    """``/assign <contract, name or phone>``: find the case, then offer the team's collectors."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    if not may_assign_cases(user):
        await message.reply_text(context.render("assign/not_allowed"))
        return
    query = " ".join(context.args or []).strip()
    if not query:
        await message.reply_text(context.render("assign/usage"))
        return
    found = await context.storage.find_cases(user, query, limit=MAX_CHOICES + 1)
    if not found:
        await message.reply_text(context.render("cases/not_found", query=query))
        return
    exact = [c for c in found if c.contract_no.casefold() == query.casefold()]
    if len(found) == 1 or len(exact) == 1:
        case_file = await case_to_view(context, (exact or found)[0].id)
        if case_file is not None and may_assign(user, case_file.summary.team_id):
            await start_assign(update, context, case_file)
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{c.borrower_name} · {c.contract_no}", callback_data=LEAD_COLLECTOR.data(c.id)
                )
            ]
            for c in found[:MAX_CHOICES]
        ]
    )
    await message.reply_text(
        context.render("cases/choose", query=query, more=len(found) > MAX_CHOICES),
        reply_markup=keyboard,
    )


async def choose_case(update: Update, context: QingshouContext, case_id: int) -> None:
    """A case chosen (from several matches, or "👤 Lead collector" on its card)."""
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    case_file = await pressed_case_to_view(update, context, case_id, answer=False)
    if case_file is None:
        return
    if not may_assign(user, case_file.summary.team_id):
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return
    await query.answer()
    await start_assign(update, context, case_file)


ASSIGN: Flow[AssignDraft] = register(
    Flow(
        name="assign",
        title=N_("Lead collector"),
        draft=AssignDraft,
        # ``/assign <contract, name or phone>``, and "👤 Lead collector" on a card (or a case
        # chosen among several matches).
        entry=Entry(
            (Command("assign"), Button(LEAD_COLLECTOR)), command=assign, button=choose_case
        ),
        steps=(
            Step(
                "collector",
                prompt="assign/choose_collector",
                input=Buttons(_collectors),
                next="reason",
            ),
            Step(
                "reason",
                prompt="assign/warning",
                input=Buttons(_REASONS),
                next=_after_reason,
                skip=_first_lead,
            ),
            Step(
                "reason_text",
                prompt="assign/reason_prompt",
                input=Text(max_chars=MAX_REASON, single_line=True),
            ),
        ),
        load=_load,
        on_finish=_change,
        lost="assign/lost",
    )
)
