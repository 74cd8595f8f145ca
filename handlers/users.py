"""/users: who has access. Admins switch a person's access off (after a confirmation that
names the open cases they lead) or on from here."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.domain.people import Role, User, may_manage
from bot.domain.queue import page_of
from bot.i18n import N_
from bot.routes import ASK_OFF, SWITCH_OFF, SWITCH_ON, USER, USERS_PAGE

#: People per page: the list stays far below 4096 characters and 100 buttons.
PAGE_SIZE = 20


def _may_manage(context: QingshouContext, target: User) -> bool:
    actor = context.user
    return actor is not None and may_manage(actor, target, context.settings.admins)


def _card_keyboard(context: QingshouContext, target: User, list_page: int) -> InlineKeyboardMarkup:
    rows = []
    if _may_manage(context, target):
        if target.active:  # switching off asks first (see user_button)
            label, data = N_("Switch access off"), ASK_OFF.data(target.id)
        else:
            label, data = N_("Switch access on"), SWITCH_ON.data(target.id)
        rows.append([InlineKeyboardButton(context.label(label), callback_data=data)])
    rows.append(
        [
            InlineKeyboardButton(
                context.label(N_("◀ Back to the list")), callback_data=USERS_PAGE.data(list_page)
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


def _confirm_keyboard(context: QingshouContext, target: User) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.label(N_("Yes, switch access off")),
                    callback_data=SWITCH_OFF.data(target.id),
                )
            ],
            [
                InlineKeyboardButton(
                    context.label(N_("No, keep their access")), callback_data=USER.data(target.id)
                )
            ],
        ]
    )


def _listed_team(user: User) -> int | None:
    """Whose people ``user`` lists: everyone (admins, ``None``) or their team."""
    return None if user.role is Role.ADMIN else user.team_id


async def _page_showing(context: QingshouContext, target: User) -> int:
    """The page of the list on which ``target`` appears (where "back to the list" returns)."""
    assert context.user is not None
    people = await context.storage.list_users(team_id=_listed_team(context.user))
    ids = [p.id for p in people]
    return ids.index(target.id) // PAGE_SIZE if target.id in ids else 0


async def _open_cases_led_by(context: QingshouContext, target: User) -> int:
    """Open cases the viewer can see whose lead collector is ``target`` (they keep showing
    ``target`` as lead after access is switched off, until someone reassigns them)."""
    assert context.user is not None
    cases = await context.storage.list_cases(context.user)
    return sum(1 for c in cases if c.lead_id == target.id and not c.status.is_closed)


async def _render_list(
    context: QingshouContext, page: int
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    user = context.user
    assert user is not None
    if user.role is Role.COLLECTOR or (user.role is Role.SUPERVISOR and user.team_id is None):
        return None
    team_id = _listed_team(user)
    people = await context.storage.list_users(team_id=team_id)
    shown = page_of(people, page, PAGE_SIZE)
    rows = [
        [InlineKeyboardButton(p.name or str(p.telegram_id), callback_data=USER.data(p.id))]
        for p in shown.items
        if _may_manage(context, p)
    ]
    nav = []
    if shown.has_previous:
        nav.append(InlineKeyboardButton("◀", callback_data=USERS_PAGE.data(shown.number - 1)))
    if shown.number + 1 < shown.count:
        nav.append(InlineKeyboardButton("▶", callback_data=USERS_PAGE.data(shown.number + 1)))
    if nav:
        rows.append(nav)
    text = context.render(
        "users/list",
        users=shown.items,
        total=shown.total,
        page=shown.number + 1,
        pages=shown.count,
        team_name=None if team_id is None else user.team_name,
        can_manage=user.role is Role.ADMIN,
    )
    return text, InlineKeyboardMarkup(rows) if rows else None


async def list_users(update: Update, context: QingshouContext) -> None:
    """List everyone (admins) or the team (supervisors), a page at a time."""
    message = update.effective_message
    assert message is not None
    listing = await _render_list(context, 0)
    if listing is None:
        await message.reply_text(context.render("users/not_allowed"))
        return
    text, keyboard = listing
    await message.reply_text(text, reply_markup=keyboard)


async def page(update: Update, context: QingshouContext, page_no: int) -> None:
    """Turn a page of the list (re-listed for the presser's rights)."""
    query = update.callback_query
    assert query is not None
    listing = await _render_list(context, page_no)
    if listing is None:
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(listing[0], reply_markup=listing[1])


async def _target(update: Update, context: QingshouContext, user_id: int) -> User | None:
    """The person a button names, if the presser may manage them (else the press is answered)."""
    query = update.callback_query
    assert query is not None
    target = await context.storage.get_user(user_id)
    if target is None:
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return None
    if not _may_manage(context, target):
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return None
    return target


async def show(update: Update, context: QingshouContext, user_id: int) -> None:
    """Show a person's card."""
    target = await _target(update, context, user_id)
    if target is not None:
        await _show_card(update, context, target, changed=False)


async def ask_off(update: Update, context: QingshouContext, user_id: int) -> None:
    """Ask before switching access off, naming the open cases the person still leads."""
    query = update.callback_query
    assert query is not None
    target = await _target(update, context, user_id)
    if target is None:
        return
    if not target.active:  # switched off meanwhile: show how things are
        await _show_card(update, context, target, changed=False)
        return
    await query.answer()
    await query.edit_message_text(
        context.render(
            "users/confirm_off", target=target, open_cases=await _open_cases_led_by(context, target)
        ),
        reply_markup=_confirm_keyboard(context, target),
    )


async def switch_off(update: Update, context: QingshouContext, user_id: int) -> None:
    """Switch a person's access off (confirmed); a second press changes nothing."""
    await _switch(update, context, user_id, active=False)


async def switch_on(update: Update, context: QingshouContext, user_id: int) -> None:
    """Switch a person's access back on."""
    await _switch(update, context, user_id, active=True)


async def _switch(update: Update, context: QingshouContext, user_id: int, *, active: bool) -> None:
    actor = context.user
    assert actor is not None
    target = await _target(update, context, user_id)
    if target is None:
        return
    changed = target.active != active
    if changed:
        target = await context.storage.set_active(
            target.id, active, actor_id=actor.id, now=context.clock.now()
        )
    await _show_card(update, context, target, changed=changed)
    if changed:
        await context.refresh_menu(target)


async def _show_card(
    update: Update, context: QingshouContext, target: User, *, changed: bool
) -> None:
    query = update.callback_query
    assert query is not None
    open_cases = await _open_cases_led_by(context, target) if not target.active else 0
    await query.answer()
    await query.edit_message_text(
        context.render("users/card", target=target, changed=changed, open_cases=open_cases),
        reply_markup=_card_keyboard(context, target, await _page_showing(context, target)),
    )
