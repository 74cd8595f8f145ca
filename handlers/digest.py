"""``/digest``: the team's day at a glance on demand (supervisors: their team; admins: every team,
one line each, and a team's digest from its button), and the digest's drill-down buttons — the
promises broken in that digest's span, the stalled, untouched and unprepared urgent cases, one
collector's open cases — each a short list with buttons to the case cards (which check access
again).

The daily digest itself is sent by the clock (reminders/digest.py); this shows the same, over
the same span: since the person's previous digest (:mod:`bot.digests` composes both).
"""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.digests import compose
from bot.domain.digest import DigestDay, DigestMessage, DrillDown
from bot.i18n import N_
from bot.routes import OPEN_CASE


async def digest(update: Update, context: QingshouContext) -> None:
    """Send the digest now: the chart, then the text with its buttons."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    if user.role.value == "collector":
        await message.reply_text(context.render("digest/not_allowed"))
        return
    if user.role.value == "supervisor" and user.team_id is None:
        await message.reply_text(context.render("digest/no_team"))
        return
    await _send(update, context)


async def team_digest(update: Update, context: QingshouContext, team_id: int) -> None:
    """An admin's tap on a team of the cooperative digest: that team's digest."""
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    if user.role.value != "admin" and not (
        user.role.value == "supervisor" and user.team_id == team_id
    ):
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return
    await query.answer()
    await _send(update, context, team_id=team_id)


async def _send(update: Update, context: QingshouContext, *, team_id: int | None = None) -> None:
    user = context.user
    chat = update.effective_chat
    assert user is not None and chat is not None
    messages = await compose(
        context.storage,
        context.renderer,
        context.settings,
        user,
        now=context.clock.now(),
        team_id=team_id,
    )
    for m in messages:
        await _deliver(context, chat.id, m)


async def _deliver(context: QingshouContext, chat_id: int, m: DigestMessage) -> None:
    markup = None if m.markup is None else InlineKeyboardMarkup.de_json(m.markup, context.bot)
    text = context.render(m.template, **m.params)
    if m.media == "photo" and m.attachment is not None:
        await context.bot.send_photo(chat_id, m.attachment, caption=text, reply_markup=markup)
    else:
        await context.bot.send_message(chat_id, text, reply_markup=markup)


async def drill_down(
    update: Update, context: QingshouContext, kind: str, team_id: int, number: int
) -> None:
    """A drill-down button: the list, with a button to each case's card. ``number`` is the
    collector's id for one collector's list, the start of the digest's span (Unix seconds, 0:
    since the start of yesterday) for the broken promises (bot.routes.DRILL)."""
    collector_id = number if kind == DrillDown.COLLECTOR.value else 0
    since = number if kind == DrillDown.BROKEN.value else 0
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    allowed = user.role.value == "admin" or (
        user.role.value == "supervisor" and user.team_id == team_id
    )
    who = None
    if allowed and kind == DrillDown.COLLECTOR.value:
        collector = await context.storage.get_user(collector_id)
        allowed = collector is not None and collector.team_id == team_id
        who = collector.staff_name or collector.name if collector else None
    if not allowed:
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return
    await query.answer()
    now = context.clock.now()
    start = datetime.fromtimestamp(since, UTC) if since else None
    day = DigestDay.of(now, context.settings.tz, since=start)
    items = await context.storage.digest_list(
        team_id,
        DrillDown(kind),
        day,
        now=now,
        untouched_days=context.settings.untouched_days,
        collector_id=collector_id or None,
    )
    buttons = [
        [
            InlineKeyboardButton(
                f"{c.borrower_name} · {c.contract_no}"[:60], callback_data=OPEN_CASE.data(c.case_id)
            )
        ]
        for c in items.items
    ]
    text = context.render(
        "digest/list",
        kind=kind,
        items=items,
        who=who,
        days=context.settings.untouched_days,
        day=day,
    )
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id,
        text,
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )
