"""The one error handler: log everything, tell the user little, leak nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.context import QingshouContext
from bot.i18n import N_, resolve_locale
from bot.telegram_io import ResilientRateLimiter

log = logging.getLogger("qingshou.errors")


def _describe(update: Update) -> str:
    """Enough to find the update again, without what people typed (borrowers' data)."""
    kind = "callback" if update.callback_query else "message"
    what = ""
    if update.callback_query is not None:
        what = (update.callback_query.data or "")[:20]
    elif update.effective_message is not None and update.effective_message.text:
        what = update.effective_message.text.split(maxsplit=1)[0][:32]
    user = update.effective_user.id if update.effective_user else None
    return f"update {update.update_id} ({kind} {what!r} from user {user})"


async def on_error(update: object, context: QingshouContext) -> None:
    """Log the update and traceback; record blocked users; apologise in the user's language."""
    error = context.error
    if not isinstance(update, Update):
        if isinstance(error, NetworkError):
            # getUpdates failed (Telegram's 5xx, a time-out): PTB polls again with a growing
            # pause. Nothing is lost (the offset did not move), nothing for a traceback.
            log.warning("Telegram did not answer getUpdates (%s); polling again", error)
            return
        log.error("error outside an update", exc_info=error)
        return
    chat_id = update.effective_chat.id if update.effective_chat else None
    query = update.callback_query
    limiter = context.bot.rate_limiter
    # A button press is answered once: a second answer would fail (and show nothing).
    if (
        query is not None
        and isinstance(limiter, ResilientRateLimiter)
        and limiter.was_answered(query.id)
    ):
        query = None
    if isinstance(error, Forbidden):
        # The person blocked the bot (or left): record it, do not retry, do not try to apologise.
        if chat_id is not None:
            await context.storage.set_blocked(chat_id, True, now=context.clock.now())
        log.info("chat %s: %s", chat_id, error)
        return
    if isinstance(error, BadRequest) and "message is not modified" in str(error).lower():
        # A double tap edited the message to what it already says: nothing went wrong.
        if query is not None:
            await _quietly(query.answer())
        return
    log.error("%s failed", _describe(update), exc_info=error)
    if chat_id is None:
        return
    # Error handlers get a fresh context: find the person's language again.
    tg_user = update.effective_user
    user = await context.storage.get_user_by_telegram_id(chat_id)
    context.locale = resolve_locale(
        user, tg_user.language_code if tg_user else None, context.settings.default_locale
    )
    if query is not None:
        # Stop the button's spinner with a short notice instead of a new message.
        await _quietly(
            query.answer(
                context.label(N_("Sorry, that did not work. Please try again.")), show_alert=True
            )
        )
        return
    await _quietly(context.bot.send_message(chat_id, context.render("errors/generic")))


async def _quietly(call: Awaitable[object]) -> None:
    """Await a courtesy call; the error handler must never raise into itself."""
    try:
        await call
    except Exception:
        log.exception("courtesy call in the error handler failed")
