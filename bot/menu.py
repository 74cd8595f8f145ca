"""The command menu Telegram shows beside the text box, per person: their role, their language.

Strangers see the default menu (start, help, language); a member's own chat gets a menu that
lists only what their role can do, set when they join, change language or are switched on.
"""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.domain.people import Role, User
from bot.i18n import N_
from bot.render import Renderer

_ALL = frozenset(Role)
_LEADS = frozenset({Role.SUPERVISOR, Role.ADMIN})

#: (command, description, who sees it), in menu order.
MENU: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("start", N_("Start, or join with an invite"), _ALL),
    ("help", N_("What I can do for you"), _ALL),
    ("cases", N_("My cases, most urgent first"), _ALL),
    ("today", N_("Cases that need action today"), _ALL),
    ("case", N_("Open a case by name, number or phone"), _ALL),
    ("note", N_("Write a note on a case"), _ALL),
    ("assign", N_("Choose a case's lead collector (supervisors)"), _LEADS),
    ("invite", N_("Invite a colleague (supervisors, admins)"), _LEADS),
    ("users", N_("People and access (supervisors, admins)"), _LEADS),
    ("lang", N_("Language"), _ALL),
    ("whoami", N_("Who I am to the bot"), _ALL),
)
#: What someone who has not joined can use.
STRANGER_COMMANDS = ("start", "help", "lang")


def commands_for(role: Role | None, locale: str, renderer: Renderer) -> list[BotCommand]:
    """The menu for a role (``None``: a stranger), in ``locale``."""
    return [
        BotCommand(cmd, renderer.label(locale, desc))
        for cmd, desc, roles in MENU
        if (role in roles if role is not None else cmd in STRANGER_COMMANDS)
    ]


async def set_default_menu(bot: Bot, renderer: Renderer) -> None:
    """The menu for everyone without a menu of their own, in English and Chinese."""
    for locale, language_code in (("en", None), ("zh_Hans", "zh")):
        await bot.set_my_commands(
            commands_for(None, locale, renderer),
            scope=BotCommandScopeDefault(),
            language_code=language_code,
        )


async def set_person_menu(bot: Bot, renderer: Renderer, user: User, locale: str) -> None:
    """Give ``user``'s private chat the menu of their role, in their language."""
    await bot.set_my_commands(
        commands_for(user.role if user.active else None, locale, renderer),
        scope=BotCommandScopeChat(user.telegram_id),
    )
