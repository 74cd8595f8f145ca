"""The one error handler: log everything, tell the user little, leak nothing."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden

from bot.context import QingshouContext

log = logging.getLogger("qingshou.errors")


async def on_error(update: object, context: QingshouContext) -> None:
    """Log the update and traceback; record blocked users; apologise in the user's language."""
    error = context.error
    chat_id = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
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
    if chat_id is None:
        return
    try:
        await context.bot.send_message(chat_id, context.render("errors/generic"))
    except Exception:  # the apology must never raise again into the error handler
        log.exception("could not tell chat %s about the error", chat_id)
