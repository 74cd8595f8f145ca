"""/lang and /whoami: a person's own settings."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.i18n import LANGUAGE_NAMES, SUPPORTED_LOCALES
from bot.routes import LANGUAGE


async def choose_language(update: Update, context: QingshouContext) -> None:
    """Offer the three languages as buttons, each in its own script."""
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(LANGUAGE_NAMES[loc], callback_data=LANGUAGE.data(loc))]
            for loc in SUPPORTED_LOCALES
        ]
    )
    await update.effective_message.reply_text(context.render("lang/choose"), reply_markup=keyboard)


async def set_language(update: Update, context: QingshouContext, locale: str) -> None:
    """Store the chosen language and confirm in it."""
    query = update.callback_query
    assert query is not None and context.user is not None
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
