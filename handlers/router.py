"""One router for buttons and typed text.

Buttons: every kind of button is a route of :mod:`bot.callbacks`; :func:`on` turns a handler that
takes typed values into a PTB callback that decodes first and answers a malformed (stale, forged,
overlong) button itself. Text, files and locations go to the open flow first (the flow engine),
and only when none is open to the handler that starts something new.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import Route
from bot.context import QingshouContext
from bot.flows import ENGINE, Command, Flow
from bot.i18n import N_

ButtonHandler = Callable[..., Awaitable[None]]


def on(route: Route, handler: ButtonHandler) -> CallbackQueryHandler[QingshouContext, None]:
    """A CallbackQueryHandler for ``route`` that calls ``handler(update, context, *values)``."""

    async def decode_then_handle(update: Update, context: QingshouContext) -> None:
        query = update.callback_query
        assert query is not None
        values = route.decode(query.data or "")
        if values is None:
            await stale(update, context)
            return
        await handler(update, context, *values)

    decode_then_handle.__doc__ = handler.__doc__
    return CallbackQueryHandler(decode_then_handle, pattern=route.matches)


def entry_points(flow: Flow[Any]) -> list[BaseHandler[Update, QingshouContext, None]]:
    """The handlers of the commands and buttons that start ``flow``, as its declaration says
    (``Flow(entry=...)``), in the order declared."""
    entry = flow.entry
    if entry is None:
        return []
    found: list[BaseHandler[Update, QingshouContext, None]] = []
    for point in entry.points:
        if isinstance(point, Command):
            assert entry.command is not None, f"flow {flow.name}: /{point.name} without a handler"
            found.append(CommandHandler(point.name, entry.command))
        else:
            assert entry.button is not None, f"flow {flow.name}: a button without a handler"
            found.append(on(point.route, entry.button))
    return found


async def stale(update: Update, context: QingshouContext) -> None:
    """A button no route accepts (an old version of the bot, a forgery): say so, once."""
    query = update.callback_query
    assert query is not None
    await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)


def to_flow_first(
    fallback: Callable[[Update, QingshouContext], Awaitable[Any]],
) -> Callable[[Update, QingshouContext], Coroutine[Any, Any, None]]:
    """Typed text, a file or a location answers the open question if one is open, else
    ``fallback`` (for text: what a mistyped command probably meant, or /help)."""

    async def route_input(update: Update, context: QingshouContext) -> None:
        if not await ENGINE.on_text(update, context):
            await fallback(update, context)

    route_input.__doc__ = fallback.__doc__
    return route_input


def either(
    first: Callable[[Update, QingshouContext], Awaitable[bool]],
    otherwise: Callable[[Update, QingshouContext], Awaitable[Any]],
) -> Callable[[Update, QingshouContext], Coroutine[Any, Any, None]]:
    """``first``, and ``otherwise`` when ``first`` did not take the update (returned False)."""

    async def first_or_otherwise(update: Update, context: QingshouContext) -> None:
        if not await first(update, context):
            await otherwise(update, context)

    first_or_otherwise.__doc__ = first.__doc__
    return first_or_otherwise


async def cancel(update: Update, context: QingshouContext) -> None:
    """End the open flow (/cancel) and take the buttons off its question."""
    assert update.effective_message is not None
    ended = await ENGINE.cancel(update, context)
    if ended is None:
        await update.effective_message.reply_text(context.render("flows/nothing_open"))
        return
    later = await ENGINE.idle(update, context)  # what waited for no question to be open
    reply = await ENGINE.cancelled_reply(context, ended)
    await update.effective_message.reply_text(reply.text, reply_markup=reply.markup)
    if later is not None:
        await later()


async def flow_answer(
    update: Update, context: QingshouContext, flow_id: int, version: int, code: int
) -> None:
    """Take a flow's answer button."""
    await ENGINE.on_button(update, context, flow_id, version, code)


async def flow_cancel(update: Update, context: QingshouContext, flow_id: int, version: int) -> None:
    """Take a flow's ✖ button."""
    await ENGINE.on_cancel_button(update, context, flow_id, version)


async def flow_conflict(
    update: Update, context: QingshouContext, waiting_id: int, choice: str
) -> None:
    """Continue the open flow, or drop it for the new one."""
    await ENGINE.on_conflict(update, context, waiting_id, choice)
