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

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.domain.casefile import REASSIGN_REASONS, LeadReason, may_assign, may_assign_cases
from bot.flows import ENGINE, Buttons, Flow, FlowRun, Option, Reply, Step, Text, register
from bot.i18n import N_
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


async def _load(run: FlowRun) -> dict[str, Any] | None:
    """The case (as the presser sees it) and the chosen collector; None when no longer allowed."""
    user = run.context.user
    assert user is not None and run.case_id is not None
    case_file = await run.context.storage.get_case(user, run.case_id)
    if case_file is None or not may_assign(user, case_file.summary.team_id):
        return None
    summary = case_file.summary
    collectors = await run.context.storage.team_collectors(summary.team_id)
    others = [c for c in collectors if c.id != summary.lead_id]
    target = next((c for c in collectors if c.id == run.data.get("collector")), None)
    return {"s": summary, "target": target, "others": others, "has_choice": bool(others)}


async def _collectors(run: FlowRun) -> list[Option]:
    user = run.context.user
    assert user is not None and run.case_id is not None
    case_file = await run.context.storage.get_case(user, run.case_id)
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


def _first_lead(run: FlowRun) -> bool:
    return run.data.get("lead_id") is None


def _after_reason(run: FlowRun) -> str | None:
    return "reason_text" if run.data.get("reason") == LeadReason.OTHER.value else None


async def _change(run: FlowRun) -> Reply:
    """Change the lead if it is still the one the supervisor saw (keyed: once per flow)."""
    context = run.context
    user = context.user
    assert user is not None
    summary, target = run.params["s"], run.params["target"]
    if run.data.get("reason") == KEEP:
        return Reply(context.render("assign/cancelled", s=summary))
    note = run.data.get("reason_text")
    if target is None or summary.lead_id != run.data.get("lead_id"):
        return Reply(context.render("assign/reason_lost", text=note or ""))
    reason = LeadReason(run.data["reason"]) if run.data.get("reason") else LeadReason.FIRST
    change = await context.storage.assign_lead(
        user, summary.id, target.id, reason, now=run.now, note=note, key=run.key
    )
    if change is None:
        return Reply(context.render("assign/reason_lost", text=note or ""))
    return Reply(context.render("assign/done", s=summary, change=change))


ASSIGN = register(
    Flow(
        name="assign",
        title=N_("Lead collector"),
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


async def _start(update: Update, context: QingshouContext, case_id: int) -> None:
    user = context.user
    assert user is not None
    case_file = await context.storage.get_case(user, case_id)
    if case_file is None:
        if update.callback_query is not None:
            await update.callback_query.answer(
                context.label(N_("No such case among yours.")), show_alert=True
            )
        return
    if not may_assign(user, case_file.summary.team_id):
        if update.callback_query is not None:
            await update.callback_query.answer(
                context.label(N_("You may not do that.")), show_alert=True
            )
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await ENGINE.start(
        update, context, ASSIGN, {"lead_id": case_file.summary.lead_id}, case_id=case_id
    )


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
        await _start(update, context, (exact or found)[0].id)
        return
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"{c.borrower_name} · {c.contract_no}",
                               callback_data=LEAD_COLLECTOR.data(c.id))]
         for c in found[:MAX_CHOICES]]
    )  # fmt: skip
    await message.reply_text(
        context.render("cases/choose", query=query, more=len(found) > MAX_CHOICES),
        reply_markup=keyboard,
    )


async def choose_case(update: Update, context: QingshouContext, case_id: int) -> None:
    """A case chosen (from several matches, or "👤 Lead collector" on its card)."""
    await _start(update, context, case_id)
