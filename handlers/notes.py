"""Notes on a case: ``/note <name, contract or phone> <text>`` or "📝 Note" on the card.

The case is found with the same search as ``/case`` (a name or a phone works, not only the
contract number). With one match and the text given, the note is saved at once; otherwise the
note flow asks what is missing — which case (buttons) or the text — and keeps what was already
typed. The finishing write carries an idempotency key, so a replayed update or a double tap
saves one note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from telegram import Update

from bot.context import QingshouContext
from bot.flows import (
    ENGINE,
    Button,
    Buttons,
    Command,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Option,
    Reply,
    Step,
    Text,
    decode_with,
    register,
)
from bot.i18n import N_
from bot.lookup import case_to_view, pressed_case_to_view
from bot.routes import NOTE as NOTE_BUTTON

#: A note is a few lines from the field; the card shows the latest ones.
MAX_NOTE = 3000
MAX_CHOICES = 10


def _matches_of(raw: Sequence[Sequence[Any]]) -> tuple[tuple[int, str], ...]:
    return tuple((int(case_id), str(label)) for case_id, label in raw)


@dataclass(frozen=True, kw_only=True)
class NoteDraft(Draft):
    """What /note was given (the search and the words typed after it), the cases it matched
    (to choose among), then the answers: the case chosen and the note."""

    VERSION: ClassVar[int] = 1

    query: str | None = None
    #: Several matches: (case id, "borrower · contract") to choose among, ten at most.
    matches: tuple[tuple[int, str], ...] = field(default=(), metadata=decode_with(_matches_of))

    # The answers.
    case: int | None = None
    text: str | None = None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


Run = FlowRun[NoteDraft]


def _case_id(run: Run) -> int | None:
    chosen = run.draft.case
    return chosen if chosen is not None else run.case_id


async def _load(run: Run) -> dict[str, Any] | None:
    """The case the note is for, seen by the person writing it (None: no longer theirs)."""
    case_id = _case_id(run)
    if case_id is None:
        return {}  # still choosing among several matches
    case_file = await case_to_view(run.context, case_id)
    return None if case_file is None else {"summary": case_file.summary, "case_file": case_file}


async def _matches(run: Run) -> list[Option]:
    return [
        Option(code=case_id, value=case_id, label=label, translate=False)
        for case_id, label in run.draft.matches
    ]


async def _save(run: Run) -> Reply:
    """Store the note (keyed by the flow's version: a replay stores it once)."""
    user = run.context.user
    assert user is not None
    text = run.draft.text or ""
    summary = run.params["summary"]
    saved = await run.context.storage.add_note(user, summary.id, text, now=run.now, key=run.key)
    if not saved:
        return Reply(run.context.render("notes/lost", text=text, data=run.draft))
    return Reply(run.context.render("cases/note_saved", summary=summary, text=text))


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
            await ENGINE.start(update, context, NOTE, NoteDraft(), case_id=summary.id, step="text")
            return
        saved = await context.storage.add_note(
            user, summary.id, text, now=context.clock.now(), key=f"update:{update.update_id}"
        )
        template = "cases/note_saved" if saved else "notes/lost"
        await message.reply_text(context.render(template, summary=summary, text=text, data={}))
        return
    matches = tuple((c.id, f"{c.borrower_name} · {c.contract_no}") for c in found[:MAX_CHOICES])
    draft = NoteDraft(query=query, text=text, matches=matches)
    await ENGINE.start(update, context, NOTE, draft, step="case")


async def note_button(update: Update, context: QingshouContext, case_id: int) -> None:
    """ "📝 Note" on a card: ask for the note of that case (if the presser may still see it)."""
    if await pressed_case_to_view(update, context, case_id) is not None:
        await ENGINE.start(update, context, NOTE, NoteDraft(), case_id=case_id, step="text")


NOTE: Flow[NoteDraft] = register(
    Flow(
        name="note",
        title=N_("Note"),
        draft=NoteDraft,
        # ``/note <name, contract or phone> [text]``, and "📝 Note" on a card.
        entry=Entry((Command("note"), Button(NOTE_BUTTON)), command=note, button=note_button),
        steps=(
            Step(
                "case",
                prompt="notes/choose_case",
                input=Buttons(_matches),
                next=lambda run: None if run.draft.text else "text",
            ),
            Step("text", prompt="notes/ask_text", input=Text(max_chars=MAX_NOTE)),
        ),
        load=_load,
        on_finish=_save,
        lost="notes/lost",
    )
)
