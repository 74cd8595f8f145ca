"""The answers to a reminder's instalment row: ✅ Paid in full, Partial, Missed (issue 10).

Paid in full is taken at once. Partial asks the amount (the shared amount input: ``500``,
``5百``, ``¥500``; refusals in the person's language, the draft kept) and keeps the rest open.
Missed asks why (reasons to tap, plus their own words), then marks the instalment broken once
the grace days are over (else it stays open as late and is asked again), tells the team's
supervisor through the outbox in the same transaction, and offers ✍ Outcome or a new meeting.

Every press is authorised again in storage (a collector: the cases they lead; a supervisor:
their team's) and idempotent: a double tap, a replayed old button or a press after the
instalment was settled another way (money recorded by /outcome) records nothing more, and the
reminder message is edited to show the state — the instalment's button row becomes a label
("✓ paid ¥X") that opens the case.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import QingshouContext
from bot.domain.casefile import local_date
from bot.domain.commitments import InstalmentStatus
from bot.domain.instalments import Answer, Answered, MissReason, grace_ends
from bot.flows import (
    ENGINE,
    Amount,
    Button,
    Choices,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Option,
    Refusal,
    Reply,
    Step,
    register,
)
from bot.i18n import N_
from bot.labels import OUTCOME as OUTCOME_LABEL
from bot.lookup import not_yours
from bot.routes import INSTALMENT, OPEN_CASE, OUTCOME, PREPARE

REASON_LABELS = {
    MissReason.NO_MONEY: N_("No money now"),
    MissReason.UNREACHABLE: N_("Could not reach them"),
    MissReason.REFUSED: N_("Refuses to pay"),
    MissReason.LATER: N_("Promises a later day"),
    MissReason.DISPUTE: N_("Disputes the debt"),
    MissReason.OTHER: N_("Other"),
}
_REASONS = [
    Option(code=i, value=r.value, label=label) for i, (r, label) in enumerate(REASON_LABELS.items())
]
_NUMBER = re.compile(r"(\d+)\s")
#: States shown on the reminder instead of the buttons (open and unconfirmed keep them).
_SHOWN = frozenset(
    {
        InstalmentStatus.KEPT,
        InstalmentStatus.PARTIAL,
        InstalmentStatus.BROKEN,
        InstalmentStatus.CANCELLED,
    }
)


# -- the reminder message, edited to show the state -----------------------------------------------


def _row_ids(row: Sequence[InlineKeyboardButton]) -> set[int]:
    ids = set()
    for button in row:
        values = (
            INSTALMENT.decode(button.callback_data)
            if isinstance(button.callback_data, str)
            else None
        )
        if values is not None:
            ids.add(int(values[0]))
    return ids


async def shown_markup(
    context: QingshouContext, markup: InlineKeyboardMarkup | None
) -> InlineKeyboardMarkup | None:
    """``markup`` with the button row of each answered instalment replaced by its state (a
    label that opens the case); None when nothing changes."""
    if markup is None or context.user is None:
        return None
    rows = markup.inline_keyboard
    wanted = [i for row in rows for i in _row_ids(row)]
    if not wanted:
        return None
    views = {v.id: v for v in await context.storage.instalments_seen_by(context.user, wanted)}
    changed = False
    new_rows: list[list[InlineKeyboardButton]] = []
    for row in rows:
        ids = _row_ids(row)
        view = views.get(next(iter(ids))) if len(ids) == 1 else None
        if view is None or view.status not in _SHOWN:
            new_rows.append(list(row))
            continue
        changed = True
        # A button label is plain text: the template's HTML escaping is undone. The item's
        # number in the reminder (its first button's "1 ✅ …") stays in front.
        label = html.unescape(context.render("instalments/label", instalment=view))
        number = _NUMBER.match(row[0].text) if row else None
        if number:
            label = f"{number[1]} {label}"
        new_rows.append([InlineKeyboardButton(label, callback_data=OPEN_CASE.data(view.case_id))])
    return InlineKeyboardMarkup(new_rows) if changed else None


@dataclass(frozen=True, slots=True)
class Pressed:
    """The reminder message whose button was pressed (kept in the flow's draft, to show the
    state on it at the end): its chat, its id, and its buttons as they were."""

    chat_id: int | None = None
    message_id: int | None = None
    markup: Mapping[str, Any] | None = None


async def _edit_reminder(context: QingshouContext, pressed: Pressed) -> None:
    """Show the state on the reminder message (the one whose button was pressed)."""
    chat_id, message_id, markup = pressed.chat_id, pressed.message_id, pressed.markup
    if chat_id is None or message_id is None or not isinstance(markup, Mapping):
        return
    new = await shown_markup(context, InlineKeyboardMarkup.de_json(dict(markup), context.bot))
    if new is None:
        return
    # Too old to edit, or edited already by a faster tap: the state is in the database.
    with contextlib.suppress(BadRequest):
        await context.bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=new
        )


def _where(update: Update) -> Pressed:
    """Where the pressed reminder is: kept in the flow's draft to edit it at the end."""
    query = update.callback_query
    message = query.message if query is not None else None
    if message is None:
        return Pressed()
    markup = getattr(message, "reply_markup", None)
    return Pressed(
        message.chat.id, message.message_id, markup.to_dict() if markup is not None else None
    )


# -- the drafts -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReminderAnswerDraft(Draft):
    """An answer to one instalment of a reminder: the instalment, what was still open on it
    when the button was pressed, and the reminder message (to show the state on it)."""

    VERSION: ClassVar[int] = 1

    instalment_id: int = 0
    rest: int = 0
    chat_id: int | None = None
    message_id: int | None = None
    markup: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, instalment_id: int, rest: int, pressed: Pressed) -> Self:
        """The draft an answer starts from."""
        return cls(
            instalment_id=instalment_id,
            rest=rest,
            chat_id=pressed.chat_id,
            message_id=pressed.message_id,
            markup=pressed.markup,
        )

    @property
    def pressed(self) -> Pressed:
        return Pressed(self.chat_id, self.message_id, self.markup)

    @classmethod
    def from_legacy(cls, data: Mapping[str, Any]) -> Self:
        """A row of the untyped flow (before version 1): the answers had today's names; what
        was open and where the reminder is were "internal" keys (``_rest``, ``_chat``, …)."""
        renamed = {k: v for k, v in data.items() if not k.startswith("_")}
        renamed.update(
            rest=data.get("_rest") or 0,
            chat_id=data.get("_chat"),
            message_id=data.get("_message"),
            markup=data.get("_markup"),
        )
        return cls.from_json(renamed)


@dataclass(frozen=True, kw_only=True)
class PartialDraft(ReminderAnswerDraft):
    """Partial: the amount paid."""

    amount: int | None = None


@dataclass(frozen=True, kw_only=True)
class MissedDraft(ReminderAnswerDraft):
    """Missed: the reasons tapped (option codes while tapping, then the reasons) and the
    person's own words beside them."""

    reason: list[Any] | None = None
    reason_text: str | None = None


# -- the button -----------------------------------------------------------------------------------


async def answer_button(
    update: Update, context: QingshouContext, instalment_id: int, answer: str
) -> None:
    """A reminder's ✅ Paid in full / Partial / Missed for one instalment."""
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    view = await context.storage.get_instalment(user, instalment_id)
    if view is None:
        await not_yours(update, context)
        return
    where = _where(update)
    if not view.answerable:
        await query.answer(context.render("instalments/already", instalment=view), show_alert=True)
        await _edit_reminder(context, where)
        return
    now = context.clock.now()
    if answer == Answer.PAID.value:
        done = await context.storage.answer_instalment(
            user,
            instalment_id,
            Answer.PAID,
            today=local_date(now, context.settings.tz),
            grace_days=context.settings.grace_days,
            now=now,
        )
        if done is None:
            await not_yours(update, context)
            return
        template = "instalments/paid_toast" if done.changed else "instalments/already"
        await query.answer(
            context.render(template, instalment=done.instalment, answer=done),
            show_alert=not done.changed,
        )
        await _edit_reminder(context, where)
        return
    await query.answer()
    if answer == Answer.PARTIAL.value:
        partial = PartialDraft.of(instalment_id, view.rest, where)
        await ENGINE.start(update, context, PARTIAL_FLOW, partial, case_id=view.case_id)
    else:
        missed = MissedDraft.of(instalment_id, view.rest, where)
        await ENGINE.start(update, context, MISSED_FLOW, missed, case_id=view.case_id)


# -- the flows ------------------------------------------------------------------------------------


async def _load(run: FlowRun[Any]) -> dict[str, Any] | None:
    user = run.context.user
    assert user is not None
    view = await run.context.storage.get_instalment(user, run.draft.instalment_id)
    if view is None or not view.answerable:
        return None
    grace = run.context.settings.grace_days
    return {"instalment": view, "grace_days": grace}


def _partial_valid(fen: Any, run: FlowRun[PartialDraft]) -> Any:
    rest = run.draft.rest
    if int(fen) > rest:
        return Refusal("instalments/partial_too_much", {"amount": int(fen), "rest": rest})
    return int(fen)


async def _answer(
    run: FlowRun[PartialDraft] | FlowRun[MissedDraft], answer: Answer, **extra: Any
) -> Answered | None:
    context = run.context
    assert context.user is not None
    return await context.storage.answer_instalment(
        context.user,
        run.draft.instalment_id,
        answer,
        today=local_date(run.now, context.settings.tz),
        grace_days=context.settings.grace_days,
        now=run.now,
        key=run.key,
        **extra,
    )


async def _finish_partial(run: FlowRun[PartialDraft]) -> Reply:
    context = run.context
    amount = run.draft.amount or 0
    done = await _answer(run, Answer.PARTIAL, amount=amount)
    if done is None:
        return Reply(context.render("instalments/lost", text="", data=run.draft))
    await _edit_reminder(context, run.draft.pressed)
    if done.refused == "amount":
        rest = done.instalment.rest
        text = context.render("instalments/partial_too_much", amount=amount, rest=rest)
        return Reply(text)
    if not done.changed and done.paid_now == 0:
        return Reply(context.render("instalments/already", instalment=done.instalment))
    return Reply(
        context.render("instalments/partial_done", instalment=done.instalment, answer=done)
    )


async def _finish_missed(run: FlowRun[MissedDraft]) -> Reply:
    context = run.context
    reasons = [str(r) for r in run.draft.reason or []]
    note = run.draft.reason_text
    done = await _answer(run, Answer.MISSED, reason=reasons, note=note or None)
    if done is None:
        return Reply(context.render("instalments/lost", text="", data=run.draft))
    await _edit_reminder(context, run.draft.pressed)
    if done.refused is not None:
        return Reply(context.render("instalments/already", instalment=done.instalment))
    case_id = done.instalment.case_id
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.label(OUTCOME_LABEL), callback_data=OUTCOME.data(case_id)
                ),
                InlineKeyboardButton(
                    context.label(N_("🧭 Prepare a new meeting")),
                    callback_data=PREPARE.data(case_id),
                ),
            ]
        ]
    )
    until = grace_ends(done.instalment.due_on, context.settings.grace_days)
    text = context.render(
        "instalments/missed_done", instalment=done.instalment, answer=done, until=until
    )
    return Reply(text, keyboard)


PARTIAL_FLOW: Flow[PartialDraft] = register(
    Flow(
        name="instalment_partial",
        title=N_("Partial payment"),
        draft=PartialDraft,
        # A reminder's ✅ Paid in full / Partial / Missed: paid in full is taken at once,
        # Partial opens this flow, Missed the next one (the one button starts both).
        entry=Entry((Button(INSTALMENT),), button=answer_button),
        steps=(
            Step("amount", "instalments/ask_partial", Amount(minimum=1, validate=_partial_valid)),
        ),
        load=_load,
        on_finish=_finish_partial,
        lost="instalments/lost",
    )
)

MISSED_FLOW: Flow[MissedDraft] = register(
    Flow(
        name="instalment_missed",
        title=N_("Missed payment"),
        draft=MissedDraft,
        # Started by the reminder's "Missed" (the entry declared with PARTIAL_FLOW).
        steps=(
            Step(
                "reason",
                "instalments/ask_reason",
                Choices(_REASONS, columns=2, free_text=True),
                optional=True,
            ),
        ),
        load=_load,
        on_finish=_finish_missed,
        lost="instalments/lost",
    )
)
