"""The command menu Telegram shows beside the text box, per person: their role, their language.

Strangers see the default menu (start, help, language); a member's own chat gets a menu that
lists only what their role can do, set when they join, change language or are switched on.
"""

from __future__ import annotations

import difflib
import re

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.domain.people import Role, User
from bot.i18n import N_
from bot.render import Renderer

_ALL = frozenset(Role)
_LEADS = frozenset({Role.SUPERVISOR, Role.ADMIN})

#: (command, description, who sees it), in menu order. A command whose meaning depends on the
#: role has one line per role; a menu only ever lists what its reader can do, so no line says
#: who else may use it.
MENU: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("start", N_("Start, or join with an invite"), _ALL),
    ("help", N_("What I can do for you"), _ALL),
    ("cases", N_("My cases, most urgent first"), frozenset({Role.COLLECTOR})),
    ("cases", N_("My team's cases, most urgent first"), frozenset({Role.SUPERVISOR})),
    ("cases", N_("All cases, most urgent first"), frozenset({Role.ADMIN})),
    ("today", N_("Cases that need action today"), _ALL),
    ("case", N_("Open a case by name, number or phone"), _ALL),
    ("note", N_("Write a note on a case"), _ALL),
    ("prep", N_("Prepare the next meeting"), _ALL),
    ("brief", N_("The plan for a meeting, again"), _ALL),
    ("outcome", N_("Record how a meeting went"), _ALL),
    ("commit", N_("Record a repayment commitment"), _ALL),
    ("notice", N_("A collection notice to print and have signed"), _ALL),
    ("assign", N_("Choose a case's lead collector"), _LEADS),
    ("digest", N_("The team's day at a glance"), frozenset({Role.SUPERVISOR})),
    ("digest", N_("Every team's day at a glance"), frozenset({Role.ADMIN})),
    ("settings", N_("When my daily digest comes"), _LEADS),
    ("invite", N_("Invite a colleague"), _LEADS),
    ("users", N_("People and access"), _LEADS),
    ("export", N_("Export cases and history as Excel or CSV"), _LEADS),
    ("lang", N_("Language"), _ALL),
    ("whoami", N_("Who I am to the bot"), _ALL),
)
#: What someone who has not joined can use.
STRANGER_COMMANDS = ("start", "help", "lang")


#: Commands that work without being in the menu.
UNLISTED_COMMANDS = ("cancel",)


def command_names(role: Role) -> tuple[str, ...]:
    """Every command a member with ``role`` can use, in menu order (for "did you mean")."""
    listed = dict.fromkeys(cmd for cmd, _, roles in MENU if role in roles)
    return (*listed, *UNLISTED_COMMANDS)


_TYPED_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@\w+)?(.*)", re.DOTALL)


def suggest_command(text: str, commands: tuple[str, ...]) -> str | None:
    """What someone probably meant by a ``/word`` the bot did not take, or ``None``.

    ``/case王建国`` (no space: Telegram sees no command there) → ``/case 王建国``, and
    ``/caseDC2024-0102`` → ``/case DC2024-0102`` (the longest command the text starts with);
    ``/caes`` → ``/cases``, the closest command by spelling (:mod:`difflib`), keeping what
    followed. Text that is not a ``/word`` or resembles no
    command gets ``None`` (the generic pointer to /help).
    """
    match = _TYPED_COMMAND.fullmatch(text.strip())
    if match is None:
        return None
    word, rest = match[1].lower(), match[2].strip()
    if word in commands:
        if not rest or match[2][:1].isspace():
            return None  # a real command (a role's own refusal answers it elsewhere)
        return f"/{word} {rest}"
    for cmd in sorted(commands, key=len, reverse=True):
        # "/caseDC2024-0102": a contract number run into the command.
        if word.startswith(cmd) and any(ch.isdigit() for ch in word[len(cmd) :]):
            return f"/{cmd} {match[1][len(cmd) :]}{match[2]}".rstrip()
    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.7)
    if not close:
        return None
    return f"/{close[0]} {rest}".rstrip()


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
