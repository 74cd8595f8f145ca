"""Notes on a case: ``/note <name, contract or phone> <text>`` or "📝 Note" on the card.

The case is found with the same search as ``/case`` (a name or a phone works, not only the
contract number). With one match and the text given, the note is saved at once; otherwise the
note flow asks what is missing — which case (buttons) or the text — and keeps what was already
typed. The finishing write carries an idempotency key, so a replayed update or a double tap
saves one note.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.context import QingshouContext
from bot.flows import ENGINE, Buttons, Flow, FlowRun, Option, Reply, Step, Text, register
from bot.i18n import N_

#: A note is a few lines from the field; the card shows the latest ones.
MAX_NOTE = 3000
MAX_CHOICES = 10


def _case_id(run: FlowRun) -> int | None:
    chosen = run.data.get("case")
    return chosen if isinstance(chosen, int) else run.case_id


async def _load(run: FlowRun) -> dict[str, Any] | None:
    """The case the note is for, seen by the person writing it (None: no longer theirs)."""
    case_id = _case_id(run)
    if case_id is None:
        return {}  # still choosing among several matches
    user = run.context.user
    assert user is not None
    case_file = await run.context.storage.get_case(user, case_id)
    return None if case_file is None else {"s": case_file.summary, "f": case_file}


async def _matches(run: FlowRun) -> list[Option]:
    return [
        Option(code=case_id, value=case_id, label=label, translate=False)
        for case_id, label in run.data.get("matches", [])
    ]


async def _save(run: FlowRun) -> Reply:
    """Store the note (keyed by the flow's version: a replay stores it once)."""
    user = run.context.user
    assert user is not None
    text = str(run.data.get("text") or "")
    summary = run.params["s"]
    saved = await run.context.storage.add_note(user, summary.id, text, now=run.now, key=run.key)
    if not saved:
        return Reply(run.context.render("notes/lost", text=text, data=run.data))
    return Reply(run.context.render("cases/note_saved", s=summary, text=text))


NOTE = register(
    Flow(
        name="note",
        title=N_("Note"),
        steps=(
            Step(
                "case",
                prompt="notes/choose_case",
                input=Buttons(_matches),
                next=lambda run: None if run.data.get("text") else "text",
            ),
            Step("text", prompt="notes/ask_text", input=Text(max_chars=MAX_NOTE)),
        ),
        load=_load,
        on_finish=_save,
        lost="notes/lost",
    )
)


async def note(update: Update, context: QingshouContext) -> None:
    """``/note <name, contract or phone> [text]``: save the note, or ask what is missing."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    args = context.args or []
    if not args:
        await message.reply_text(context.render("cases/note_usage"))
        return
    query, text = args[0], " ".join(args[1:]).strip()
    found = await context.storage.find_cases(user, query, limit=MAX_CHOICES + 1)
    if not found:
        await message.reply_text(context.render("cases/not_found", query=query, text=text))
        return
    if len(text) > MAX_NOTE:
        await message.reply_text(
            context.render("flows/too_long", size=len(text), limit=MAX_NOTE, text=text)
        )
        return
    exact = [c for c in found if c.contract_no.casefold() == query.casefold()]
    if len(found) == 1 or len(exact) == 1:
        summary = (exact or found)[0]
        if not text:
            await ENGINE.start(update, context, NOTE, case_id=summary.id, step="text")
            return
        saved = await context.storage.add_note(
            user, summary.id, text, now=context.clock.now(), key=f"update:{update.update_id}"
        )
        template = "cases/note_saved" if saved else "notes/lost"
        await message.reply_text(context.render(template, s=summary, text=text, data={}))
        return
    matches = [[c.id, f"{c.borrower_name} · {c.contract_no}"] for c in found[:MAX_CHOICES]]
    await ENGINE.start(
        update, context, NOTE, {"query": query, "text": text, "matches": matches}, step="case"
    )


async def note_button(update: Update, context: QingshouContext, case_id: int) -> None:
    """ "📝 Note" on a card: ask for the note of that case (if it is still the presser's)."""
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    if await context.storage.get_case(user, case_id) is None:
        await query.answer(context.label(N_("No such case among yours.")), show_alert=True)
        return
    await query.answer()
    await ENGINE.start(update, context, NOTE, case_id=case_id, step="text")
