"""/invite: supervisors invite collectors to their team; admins invite anyone anywhere.

Callback data can be forged, so every button press is authorised again with ``may_invite``.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.domain.people import Role, deep_link, may_invite
from bot.i18n import N_

PREFIX = "inv:"
#: The chat state that holds an admin's "/invite NAME" while they pick role and team.
INVITE_FLOW = "invite"
#: Longest name on the books an invite may carry.
MAX_STAFF_NAME = 64
ROLE_LABELS = {
    Role.COLLECTOR: N_("A collector"),
    Role.SUPERVISOR: N_("A supervisor"),
    Role.ADMIN: N_("An admin"),
}


async def _send_invite(
    update: Update,
    context: QingshouContext,
    role: Role,
    team_id: int | None,
    staff_name: str | None,
) -> None:
    assert context.user is not None
    invite = await context.storage.create_invite(
        role=role,
        team_id=team_id,
        created_by=context.user.id,
        now=context.clock.now(),
        staff_name=staff_name,
    )
    text = context.render(
        "invite/created", invite=invite, link=deep_link(context.bot_data.bot_username, invite.code)
    )
    query = update.callback_query
    if query is not None:
        await query.answer()
        await query.edit_message_text(text)
    else:
        assert update.effective_message is not None
        await update.effective_message.reply_text(text)


async def invite(update: Update, context: QingshouContext) -> None:
    """Make an invite: at once for a supervisor, after choosing role and team for an admin."""
    user = context.user
    message = update.effective_message
    assert user is not None and message is not None
    staff_name = " ".join(context.args or ()).strip() or None
    if staff_name is not None and len(staff_name) > MAX_STAFF_NAME:
        await message.reply_text(context.render("invite/name_too_long", limit=MAX_STAFF_NAME))
        return
    if user.role is Role.SUPERVISOR and user.team_id is not None:
        await _send_invite(update, context, Role.COLLECTOR, user.team_id, staff_name)
        return
    if user.role is not Role.ADMIN:
        await message.reply_text(context.render("invite/not_allowed"))
        return
    # The admin still chooses role and team with buttons; the name waits in the database.
    await context.storage.set_chat_state(
        user.id, INVITE_FLOW, {"staff_name": staff_name}, now=context.clock.now()
    )
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(context.label(label), callback_data=f"{PREFIX}role:{role.value}")]
            for role, label in ROLE_LABELS.items()
        ]
    )
    await message.reply_text(context.render("invite/choose_role"), reply_markup=keyboard)


async def invite_button(update: Update, context: QingshouContext) -> None:
    """Handle the admin's choice of role, then of team; re-checks the right to invite."""
    query = update.callback_query
    user = context.user
    assert query is not None and query.data is not None and user is not None
    parts = query.data.removeprefix(PREFIX).split(":")
    try:
        role = Role(parts[1])
        team_id = int(parts[2]) if len(parts) > 2 and parts[2] != "-" else None
    except (IndexError, ValueError):
        parts = []
    if not parts or parts[0] not in ("role", "make"):
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return

    if parts[0] == "role" and role is not Role.ADMIN:
        if user.role is not Role.ADMIN:  # only admins choose a team; supervisors never get here
            await query.answer(context.label(N_("You may not do that.")), show_alert=True)
            return
        teams = await context.storage.list_teams()
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(t.name, callback_data=f"{PREFIX}make:{role.value}:{t.id}")]
                for t in teams[:99]
            ]
        )
        await query.answer()
        await query.edit_message_text(
            context.render("invite/choose_team", teams=teams), reply_markup=keyboard
        )
        return

    if team_id is not None and await context.storage.get_team(team_id) is None:
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return
    if not may_invite(user, role, team_id):
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return
    state = await context.storage.get_chat_state(user.id)
    staff_name = None
    if state is not None and state.flow == INVITE_FLOW:
        staff_name = state.data.get("staff_name")
        await context.storage.clear_chat_state(user.id)
    await _send_invite(update, context, role, team_id, staff_name)
