"""Finding the case a command is about (``/prep 王建国``, ``/outcome HT1``, ``/commit 138…``).

One search for every command that works on a case: the shared case search (name, contract
number or phone, only among the viewer's cases), "not found", buttons to choose among several
(each a route of the command's own, re-checked when pressed), and the right to work on it: the
lead collector, a supervisor of its team, an admin (策略12: one lead per case).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.callbacks import Route
from bot.context import QingshouContext
from bot.domain.casefile import CaseFile, local_date, may_prepare
from bot.flows import Button, Command, Entry
from bot.i18n import N_

#: Several matches: at most this many buttons to choose from.
CHOICES = 10


async def offer_urgent_cases(
    message: Message, context: QingshouContext, usage: str, *, choose: Route, icon: str
) -> None:
    """No case named: how to name one, with one of the person's own contract numbers as the
    example (not a number no case has), and their most urgent cases a tap away."""
    user = context.user
    assert user is not None
    today = local_date(context.clock.now(), context.settings.tz)
    top = await context.storage.queue_page(user, today=today, tz=context.settings.tz, size=CHOICES)
    choices = list(top.items)
    keyboard = (
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        f"{icon} {c.borrower_name} · {c.contract_no}",
                        callback_data=choose.data(c.id),
                    )
                ]
                for c in choices
            ]
        )
        if choices
        else None
    )
    example = choices[0].contract_no if choices else None
    await message.reply_text(context.render(usage, example=example), reply_markup=keyboard)


async def case_to_work_on(
    message: Message,
    context: QingshouContext,
    query: str,
    *,
    choose: Route,
    icon: str,
    usage: str,
) -> CaseFile | None:
    """The one case ``query`` names that the person may work on; otherwise answer for the
    caller (the usage, not found, a choice of cases, or who may) and return None."""
    user = context.user
    assert user is not None
    if not query:
        await offer_urgent_cases(message, context, usage, choose=choose, icon=icon)
        return None
    found = await context.storage.find_cases(user, query, limit=CHOICES + 1)
    exact = [c for c in found if c.contract_no.casefold() == query.casefold()]
    if not found:
        await message.reply_text(context.render("cases/not_found", query=query))
        return None
    if len(found) > 1 and len(exact) != 1:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        f"{icon} {c.borrower_name} · {c.contract_no}",
                        callback_data=choose.data(c.id),
                    )
                ]
                for c in found[:CHOICES]
            ]
        )
        await message.reply_text(
            context.render("cases/choose", query=query, more=len(found) > CHOICES),
            reply_markup=keyboard,
        )
        return None
    case_file = await context.storage.get_case(user, (exact or found)[0].id)
    assert case_file is not None  # found with the same viewer a moment ago
    if not may_prepare(user, case_file.summary):
        await message.reply_text(context.render("prep/not_lead", summary=case_file.summary))
        return None
    return case_file


#: The one answer to a button naming a case (or an instalment of one) the presser may not see.
NOT_YOURS = N_("No such case among yours.")


async def case_to_view(context: QingshouContext, case_id: int | None) -> CaseFile | None:
    """The guard of every entry point that only shows or annotates a case (its card, a note,
    the lead collector): the case, if the person may see it (storage finds only a viewer's
    cases: a collector's own, a supervisor's team's, an admin's all), else None."""
    user = context.user
    assert user is not None
    return await context.storage.get_case(user, case_id) if case_id is not None else None


async def case_to_act_on(context: QingshouContext, case_id: int | None) -> CaseFile | None:
    """The guard of every entry point and step of a flow that works on a case: the case, if
    the person may work on it (the lead collector, a supervisor of its team, an admin), else
    None."""
    user = context.user
    assert user is not None
    case_file = await case_to_view(context, case_id)
    if case_file is None or not may_prepare(user, case_file.summary):
        return None
    return case_file


async def not_yours(update: Update, context: QingshouContext) -> None:
    """Answer the pressed button: "No such case among yours." (an alert)."""
    query = update.callback_query
    assert query is not None
    await query.answer(context.label(NOT_YOURS), show_alert=True)


async def pressed_case_to_view(
    update: Update, context: QingshouContext, case_id: int, *, answer: bool = True
) -> CaseFile | None:
    """The case a button names, if the presser may see it (:func:`case_to_view`); else the
    press is answered "No such case among yours.". A case found answers the press too,
    unless ``answer`` is False (the caller has more to check and answers it itself)."""
    query = update.callback_query
    assert query is not None
    case_file = await case_to_view(context, case_id)
    if case_file is None:
        await not_yours(update, context)
        return None
    if answer:
        await query.answer()
    return case_file


async def pressed_case(
    update: Update, context: QingshouContext, case_id: int, *, say_who_may: bool = False
) -> CaseFile | None:
    """The case a button names, if the presser may act on it (:func:`case_to_act_on`), with
    the press answered: an alert "No such case among yours." (with ``say_who_may``, a case
    they see but may not work on says who may), else a plain answer."""
    query = update.callback_query
    assert query is not None
    case_file = await case_to_act_on(context, case_id)
    if case_file is None:
        if say_who_may and await case_to_view(context, case_id) is not None:
            text = N_("Only the lead collector or their supervisor prepares this case.")
            await query.answer(context.label(text), show_alert=True)
        else:
            await not_yours(update, context)
        return None
    await query.answer()
    return case_file


StartOnCase = Callable[[Update, QingshouContext, CaseFile], Awaitable[None]]


def case_entry_points(
    start: StartOnCase, *, choose: Route, icon: str, usage: str, say_who_may: bool = False
) -> tuple[
    Callable[[Update, QingshouContext], Coroutine[Any, Any, None]],
    Callable[[Update, QingshouContext, int], Coroutine[Any, Any, None]],
]:
    """The command (``/outcome <name, contract or phone>``) and the button (its ``choose``
    route, on a card, a brief or a list of matches) that start a flow on one case the person
    may work on: both find the case the same way and hand it to ``start``."""

    async def command(update: Update, context: QingshouContext) -> None:
        assert update.effective_message is not None
        case_file = await case_to_work_on(
            update.effective_message,
            context,
            " ".join(context.args or []).strip(),
            choose=choose,
            icon=icon,
            usage=usage,
        )
        if case_file is not None:
            await start(update, context, case_file)

    async def button(update: Update, context: QingshouContext, case_id: int) -> None:
        case_file = await pressed_case(update, context, case_id, say_who_may=say_who_may)
        if case_file is not None:
            await start(update, context, case_file)

    return command, button


def case_entry(
    start: StartOnCase,
    *,
    command: str,
    button: Route,
    icon: str,
    usage: str,
    say_who_may: bool = False,
) -> Entry:
    """The entry points of a flow on one case, for its declaration: ``/command <name,
    contract or phone>`` and the ``button`` (case id), both through the one guard."""
    on_command, on_button = case_entry_points(
        start, choose=button, icon=icon, usage=usage, say_who_may=say_who_may
    )
    return Entry((Command(command), Button(button)), command=on_command, button=on_button)
