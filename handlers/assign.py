"""/assign: a supervisor (own team) or an admin gives a case its lead collector.

Strategy 12 (一以贯之): one lead per case until it yields; changing people releases the
pressure and teaches the debtor to stall. So a reassignment shows that warning and asks why
before anything changes; the change is recorded (who, when, why) and both collectors are told.
Every press is re-authorised: the case through storage with the presser as viewer, the right
to assign with ``may_assign``, the collector against the team's active collectors.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.domain.casefile import (
    REASSIGN_REASONS,
    CaseFile,
    LeadReason,
    may_assign,
    may_assign_cases,
)
from bot.i18n import N_
from handlers.cases import find_one_case

PREFIX = "as:"
#: The flow (chat_states) under which the next text message is the reason for a change.
REASON_FLOW = "lead_reason"
#: A reason is one line; longer text is refused (and kept) rather than cut.
MAX_REASON = 200
REASON_LABELS: dict[LeadReason, str] = {
    LeadReason.WORKLOAD: N_("Workload"),
    LeadReason.COLLECTOR_LEFT: N_("Collector left"),
    LeadReason.ESCALATION: N_("Escalation"),
    LeadReason.OTHER: N_("Other reason"),
}


async def _collectors_screen(
    context: QingshouContext, case_file: CaseFile
) -> tuple[str, InlineKeyboardMarkup | None]:
    summary = case_file.summary
    collectors = await context.storage.team_collectors(summary.team_id)
    rows = [
        [InlineKeyboardButton(c.name or str(c.telegram_id),
                              callback_data=f"{PREFIX}u:{summary.id}:{c.id}")]
        for c in collectors
        if c.id != summary.lead_id
    ][:90]  # fmt: skip
    text = context.render("assign/choose_collector", s=summary, has_choice=bool(rows))
    return text, InlineKeyboardMarkup(rows) if rows else None


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
    chosen = await find_one_case(message, context, query, choose_prefix=f"{PREFIX}c:")
    if chosen is None:
        return
    case_file = await context.storage.get_case(user, chosen)
    assert case_file is not None
    text, keyboard = await _collectors_screen(context, case_file)
    await message.reply_text(text, reply_markup=keyboard)


async def assign_button(update: Update, context: QingshouContext) -> None:
    """Case chosen → collector chosen → (reassignment: warning and reason) → done."""
    query = update.callback_query
    user = context.user
    assert query is not None and query.data is not None and user is not None
    parts = query.data.removeprefix(PREFIX).split(":")
    action = parts[0]
    shapes = {"c": 2, "u": 3, "r": 4, "x": 2}
    if shapes.get(action) != len(parts) or not all(p.isdigit() for p in parts[1:3]):
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return
    case_file = await context.storage.get_case(user, int(parts[1]))
    if case_file is None:
        await query.answer(context.label(N_("No such case among yours.")), show_alert=True)
        return
    summary = case_file.summary
    if not may_assign(user, summary.team_id):
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return

    if action == "c":
        text, keyboard = await _collectors_screen(context, case_file)
        await query.answer()
        chat = update.effective_chat
        assert chat is not None
        await chat.send_message(text, reply_markup=keyboard)
        return
    if action == "x":
        await query.answer()
        await query.edit_message_text(context.render("assign/cancelled", s=summary))
        return

    collectors = {c.id: c for c in await context.storage.team_collectors(summary.team_id)}
    target = collectors.get(int(parts[2]))
    if target is None:
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return
    if target.id == summary.lead_id:
        await query.answer(context.label(N_("Already the lead collector.")), show_alert=True)
        return

    if action == "u" and summary.lead_id is not None:
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(context.label(REASON_LABELS[reason]),
                                      callback_data=f"{PREFIX}r:{summary.id}:{target.id}:{i}")]
                for i, reason in enumerate(REASSIGN_REASONS)
            ]
            + [[InlineKeyboardButton(context.label(N_("Keep the current lead")),
                                     callback_data=f"{PREFIX}x:{summary.id}")]]
        )  # fmt: skip
        await query.answer()
        await query.edit_message_text(
            context.render("assign/warning", s=summary, target=target), reply_markup=keyboard
        )
        return

    if action == "u":
        reason = LeadReason.FIRST
    else:
        index = int(parts[3]) if parts[3].isdigit() else -1
        if not 0 <= index < len(REASSIGN_REASONS):
            await query.answer(
                context.label(N_("That button is no longer valid.")), show_alert=True
            )
            return
        reason = REASSIGN_REASONS[index]
    if reason is LeadReason.OTHER:
        # A real reason in the supervisor's words; it comes as the next message.
        await context.storage.set_chat_state(
            user.id,
            REASON_FLOW,
            {"case_id": summary.id, "target_id": target.id, "lead_id": summary.lead_id},
            now=context.clock.now(),
        )
        await query.answer()
        await query.edit_message_text(
            context.render("assign/reason_prompt", s=summary, target=target)
        )
        return
    change = await context.storage.assign_lead(
        user, summary.id, target.id, reason, now=context.clock.now()
    )
    if change is None:  # someone else changed it between the screens
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(context.render("assign/done", s=summary, change=change))


async def receive_reason(update: Update, context: QingshouContext, data: dict[str, object]) -> None:
    """The awaited reason for "other reason": check everything again, then change the lead."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None and message.text is not None
    text = message.text.strip()
    if not text or "\n" in text or len(text) > MAX_REASON:
        # Keep waiting: the supervisor corrects the reason, nothing is lost.
        await message.reply_text(
            context.render("assign/reason_invalid", text=message.text, limit=MAX_REASON)
        )
        return
    await context.storage.clear_chat_state(user.id)
    case_id, target_id = data.get("case_id"), data.get("target_id")
    case_file = await context.storage.get_case(user, case_id) if isinstance(case_id, int) else None
    change = None
    if (
        case_file is not None
        and isinstance(target_id, int)
        and may_assign(user, case_file.summary.team_id)
        and case_file.summary.lead_id == data.get("lead_id")
    ):
        change = await context.storage.assign_lead(
            user, case_file.id, target_id, LeadReason.OTHER, now=context.clock.now(), note=text
        )
    if case_file is None or change is None:  # changed meanwhile, or no longer allowed
        await message.reply_text(context.render("assign/reason_lost", text=text))
        return
    await message.reply_text(context.render("assign/done", s=case_file.summary, change=change))
