"""Text that answers an earlier question ("send the note as your next message").

What a person is asked is stored (chat_states), not held in memory, so a restart of the bot
between the question and the answer loses nothing. A flow registers here by name; later flows
(/prep, /outcome) add theirs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.context import QingshouContext
from handlers import assign, cases, start

Flow = Callable[[Update, QingshouContext, dict[str, object]], Awaitable[None]]

FLOWS: dict[str, Flow] = {
    cases.NOTE_FLOW: cases.receive_note,
    assign.REASON_FLOW: assign.receive_reason,
}


async def on_text(update: Update, context: QingshouContext) -> None:
    """Hand the text to the flow that waits for it; with none waiting, point to /help."""
    user = context.user
    state = await context.storage.get_chat_state(user.id) if user is not None else None
    flow = FLOWS.get(state.flow) if state is not None else None
    if state is None or flow is None:
        await start.unknown(update, context)
        return
    await flow(update, context, state.data)


async def cancel(update: Update, context: QingshouContext) -> None:
    """Stop waiting for an answer (/cancel)."""
    assert update.effective_message is not None and context.user is not None
    cleared = await context.storage.clear_chat_state(context.user.id)
    await update.effective_message.reply_text(context.render("cases/cancelled", cleared=cleared))
