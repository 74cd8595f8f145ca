"""The one error handler: log everything, tell the user little, leak nothing."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden

from bot.context import QingshouContext
from handlers.access import resolve_locale

log = logging.getLogger("qingshou.errors")


async def on_error(update: object, context: QingshouContext) -> None:
    """Log the update and traceback; record blocked users; apologise in the user's language."""
    error = context.error
    chat_id = (
        update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    )
    if isinstance(error, Forbidden):
        # The person blocked the bot (or left): record it, do not retry, do not try to apologise.
        if chat_id is not None:
            await context.storage.set_blocked(chat_id, True, now=context.clock.now())
        log.info("chat %s: %s", chat_id, error)
        return
    log.error(
        "update %s failed",
        update.to_dict() if isinstance(update, Update) else repr(update),
        exc_info=error,
    )
    if chat_id is None or not isinstance(update, Update):
        return
    # Error handlers get a fresh context: find the person's language again.
    tg_user = update.effective_user
    user = await context.storage.get_user_by_telegram_id(chat_id)
    context.locale = resolve_locale(
        user, tg_user.language_code if tg_user else None, context.settings.default_locale
    )
    try:
        await context.bot.send_message(chat_id, context.render("errors/generic"))
    except Exception:  # the apology must never raise again into the error handler
        log.exception("could not tell chat %s about the error", chat_id)
