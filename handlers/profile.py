"""/lang and /whoami: a person's own settings."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.i18n import LANGUAGE_NAMES, N_, SUPPORTED_LOCALES

LANG_PREFIX = "lang:"


async def choose_language(update: Update, context: QingshouContext) -> None:
    """Offer the three languages as buttons, each in its own script."""
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(LANGUAGE_NAMES[loc], callback_data=LANG_PREFIX + loc)]
            for loc in SUPPORTED_LOCALES
        ]
    )
    await update.effective_message.reply_text(context.render("lang/choose"), reply_markup=keyboard)


async def set_language(update: Update, context: QingshouContext) -> None:
    """Store the chosen language and confirm in it."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.user is not None
    locale = query.data.removeprefix(LANG_PREFIX)
    if locale not in SUPPORTED_LOCALES:  # forged or stale callback data
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return
    await context.storage.set_locale(context.user.id, locale, now=context.clock.now())
    context.locale = locale
    await query.answer()
    await query.edit_message_text(context.render("lang/changed"))
    await context.refresh_menu(context.user)


async def whoami(update: Update, context: QingshouContext) -> None:
    """Show the person's role, team, Telegram number and language."""
    assert update.effective_message is not None and context.user is not None
    await update.effective_message.reply_text(
        context.render("whoami/whoami", user=context.user, language=LANGUAGE_NAMES[context.locale])
    )
