"""The pre-check that runs before every other handler: who is this, and may they be here?"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import QingshouContext
from bot.domain.people import is_invite_code
from bot.i18n import N_, normalise_locale, resolve_locale

#: A stranger who keeps writing is answered again only after this long.
STRANGER_QUIET = timedelta(minutes=10)


def _is_join_attempt(update: Update) -> bool:
    message = update.message
    if message is None or not message.text:
        return False
    parts = message.text.split()
    return len(parts) == 2 and parts[0].split("@")[0] == "/start" and is_invite_code(parts[1])


async def check_access(update: Update, context: QingshouContext) -> None:
    """Load the person behind the update; answer strangers once, politely, and stop."""
    tg_user = update.effective_user
    chat = update.effective_chat
    if tg_user is None or tg_user.is_bot or (chat is not None and chat.type != ChatType.PRIVATE):
        # Groups and channels are not part of the product: stay silent there.
        raise ApplicationHandlerStop
    storage = context.storage
    user = await storage.get_user_by_telegram_id(tg_user.id)
    tg_locale = normalise_locale(tg_user.language_code)
    default = context.settings.default_locale
    context.locale = resolve_locale(user, tg_user.language_code, default)

    if user is not None and user.active:
        name = tg_user.full_name
        if (user.name, user.username, user.telegram_locale) != (name, tg_user.username, tg_locale):
            await storage.update_profile(
                user.id, name=name, username=tg_user.username, telegram_locale=tg_locale
            )
            user = replace(user, name=name, username=tg_user.username, telegram_locale=tg_locale)
        context.user = user
        if user.blocked_at is not None:
            # They wrote to us, so they have unblocked the bot.
            await storage.set_blocked(tg_user.id, False, now=context.clock.now())
        return

    if user is None and _is_join_attempt(update):
        return  # /start CODE: the start handler decides.

    template = "access/stranger" if user is None else "access/deactivated"
    if update.callback_query is not None:
        await update.callback_query.answer(context.label(N_("No access.")), show_alert=True)
    elif update.effective_message is not None and await _time_to_answer(context, tg_user.id):
        await update.effective_message.reply_text(context.render(template, telegram_id=tg_user.id))
    raise ApplicationHandlerStop


async def _time_to_answer(context: QingshouContext, telegram_id: int) -> bool:
    """One answer per stranger per quiet period: a flood of messages gets one reply, so nobody
    can slow the bot down for the staff by writing to it. Kept in the database: a stranger
    whose messages reach two replicas still gets one answer."""
    return await context.storage.answer_stranger(
        telegram_id, now=context.clock.now(), quiet=STRANGER_QUIET
    )
