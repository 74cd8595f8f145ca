"""/users: who has access. Admins switch a person's access off or on from here."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.domain.people import Role, User, may_manage
from bot.i18n import N_

PREFIX = "usr:"
#: Telegram allows 100 buttons per keyboard; a longer list is shown without buttons beyond this.
MAX_BUTTONS = 90


def _card_keyboard(context: QingshouContext, target: User) -> InlineKeyboardMarkup | None:
    if context.user is None or not may_manage(context.user, target):
        return None
    if target.active:
        button = InlineKeyboardButton(
            context.label(N_("Switch access off")), callback_data=f"{PREFIX}off:{target.id}"
        )
    else:
        button = InlineKeyboardButton(
            context.label(N_("Switch access on")), callback_data=f"{PREFIX}on:{target.id}"
        )
    return InlineKeyboardMarkup([[button]])


async def list_users(update: Update, context: QingshouContext) -> None:
    """List everyone (admins) or the team (supervisors); admins get a button per person."""
    user = context.user
    message = update.effective_message
    assert user is not None and message is not None
    if user.role is Role.COLLECTOR:
        await message.reply_text(context.render("users/not_allowed"))
        return
    team_id = None if user.role is Role.ADMIN else user.team_id
    people = await context.storage.list_users(team_id=team_id)
    can_manage = user.role is Role.ADMIN
    keyboard = None
    if can_manage:
        rows = [
            [
                InlineKeyboardButton(
                    p.name or str(p.telegram_id), callback_data=f"{PREFIX}show:{p.id}"
                )
            ]
            for p in people
            if p.id != user.id
        ][:MAX_BUTTONS]
        keyboard = InlineKeyboardMarkup(rows) if rows else None
    await message.reply_text(
        context.render(
            "users/list",
            users=people,
            team_name=None if team_id is None else user.team_name,
            can_manage=can_manage,
        ),
        reply_markup=keyboard,
    )


async def user_button(update: Update, context: QingshouContext) -> None:
    """Show a person's card, or switch their access; re-checks the right on every press."""
    query = update.callback_query
    actor = context.user
    assert query is not None and query.data is not None and actor is not None
    action, _, raw_id = query.data.removeprefix(PREFIX).partition(":")
    target = await context.storage.get_user(int(raw_id)) if raw_id.isdigit() else None
    if target is None or action not in ("show", "off", "on"):
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return
    if not may_manage(actor, target):
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return
    changed = False
    if action in ("off", "on") and target.active != (action == "on"):
        target = await context.storage.set_active(
            target.id, action == "on", actor_id=actor.id, now=context.clock.now()
        )
        changed = True
    await query.answer()
    await query.edit_message_text(
        context.render("users/card", target=target, changed=changed),
        reply_markup=_card_keyboard(context, target),
    )
