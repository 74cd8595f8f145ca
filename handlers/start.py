"""/start (welcome, or join with an invite code) and /help."""

from __future__ import annotations

from telegram import Update

from bot.context import QingshouContext
from bot.domain.people import InviteProblem
from bot.i18n import N_, normalise_locale
from bot.menu import command_names, suggest_command


async def start(update: Update, context: QingshouContext) -> None:
    """Welcome a member, or let a stranger join with ``/start CODE``."""
    message = update.effective_message
    tg_user = update.effective_user
    assert message is not None and tg_user is not None
    code = context.args[0] if context.args else None

    if context.user is not None:
        # What was waiting for them to open the chat (new cases, a lead change) comes now.
        await context.storage.release_waiting(context.user.id, now=context.clock.now())
        template = "start/already_member" if code else "start/welcome"
        await message.reply_text(context.render(template, user=context.user))
        await context.refresh_menu(context.user)
        return

    assert code is not None  # the access check lets strangers through only with a code
    result = await context.storage.redeem_invite(
        code,
        telegram_id=tg_user.id,
        name=tg_user.full_name,
        username=tg_user.username,
        telegram_locale=normalise_locale(tg_user.language_code),
        now=context.clock.now(),
    )
    if isinstance(result, InviteProblem):
        await message.reply_text(
            context.render("start/invite_problem", problem=result.value, telegram_id=tg_user.id)
        )
        return
    context.user = result
    await message.reply_text(context.render("start/joined", user=result))
    await context.refresh_menu(result)


async def help_command(update: Update, context: QingshouContext) -> None:
    """Show what this person can do, by role."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.render("help/help", user=context.user))


async def unknown(update: Update, context: QingshouContext) -> None:
    """Answer anything no other handler took: what a mistyped command probably meant, or a
    pointer to /help."""
    message = update.effective_message
    if message is None:
        return
    suggestion = None
    if message.text and context.user is not None:
        suggestion = suggest_command(message.text, command_names(context.user.role))
    await message.reply_text(context.render("help/unknown", suggestion=suggestion))


async def stale_button(update: Update, context: QingshouContext) -> None:
    """Answer a button press that no flow recognises (old message or forged data)."""
    assert update.callback_query is not None
    await update.callback_query.answer(
        context.label(N_("That button is no longer valid.")), show_alert=True
    )
