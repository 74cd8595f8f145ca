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

The same answers may be typed, in any of the three languages, with no question open (issue
16): "paid", "paid 700" (700 of it), "partial", "部分 700", "missed", "已还", "没还", "沒還"…
A reply to a reminder answers that reminder's instalment (one of its instalments: asked
which, if several are open); without a reply, the one payment waiting for an answer, or, if
several are, a short question with their buttons.
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
from bot.domain.instalments import Answer, Answered, InstalmentView, MissReason, grace_ends
from bot.domain.money import AmountError, parse_amount
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
from bot.flows.keyboards import match_option
from bot.i18n import N_
from bot.labels import OUTCOME as OUTCOME_LABEL
from bot.labels import answer_rows, typed_answers
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
    labelled: int | None = None  # the instalment whose state the last new row shows
    for row in rows:
        ids = _row_ids(row)
        view = views.get(next(iter(ids))) if len(ids) == 1 else None
        if view is None or view.status not in _SHOWN:
            new_rows.append(list(row))
            labelled = None
            continue
        changed = True
        if labelled == view.id:
            continue  # its second row (✖ Missed / 📂 Open case): one line of state for both
        labelled = view.id
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


# -- the answers typed under a reminder (issue 16) ------------------------------------------------

#: Around typed words: spaces and the punctuation a phone adds ("Paid.", "已还。").
_TRIM = " \t\n.,!?;:。，！？；：、"
#: Longer text is a message, not an answer ("部分还款 ¥12,345.60" is 17 characters).
_LONGEST = 40
#: At most this many payments are offered in "which one?" (a row of four buttons each).
_WHICH = 10


def read_typed(context: QingshouContext, text: str) -> tuple[str, int | None] | None:
    """Typed words as an answer: (``paid`` / ``partial`` / ``missed``, the amount in fen or
    None), or None if they are not one. Words in any language ("paid", "已还", "沒還"), then
    an amount the shared parser reads ("paid 700", "部分 700", "还了5百"): an amount makes it
    a partial payment (of the whole rest, it is kept); "missed" takes no amount."""
    words = text.strip(_TRIM)
    if not words or words.isdigit():
        return None
    options = typed_answers(context)
    chosen = match_option(context, options, words)
    if chosen is not None:
        return str(chosen.value), None
    if len(words) > _LONGEST:
        return None
    for cut in range(1, len(words)):
        head, tail = words[:cut].strip(_TRIM), words[cut:].strip(_TRIM)
        if not head or not tail or head.isdigit():
            continue
        chosen = match_option(context, options, head)
        if chosen is None or chosen.value == Answer.MISSED.value:
            continue
        try:
            fen = parse_amount(tail)
        except AmountError:
            continue
        if fen > 0:
            return Answer.PARTIAL.value, fen
    return None


def _replied(update: Update) -> tuple[Pressed, list[int]]:
    """The reminder the message replies to (to show the state on it) and its instalments, in
    its order; nothing if it replies to no message with answer buttons."""
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    markup = replied.reply_markup if replied is not None else None
    if replied is None or markup is None:
        return Pressed(), []
    ids = [i for row in markup.inline_keyboard for i in sorted(_row_ids(row))]
    if not ids:
        return Pressed(), []
    return Pressed(replied.chat.id, replied.message_id, markup.to_dict()), list(dict.fromkeys(ids))


async def typed_answer(update: Update, context: QingshouContext) -> bool:
    """Take "paid", "paid 700", "missed" (any language) typed with no question open as the
    answer to a reminder; False if the words are not one."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    typed = read_typed(context, message.text or "")
    if typed is None:
        return False
    answer, amount = typed
    pressed, ids = _replied(update)
    storage = context.storage
    replied = message.reply_to_message
    if not ids and replied is not None and replied.reply_markup is not None:
        # A reply to a reminder answered already (its rows are labels now), or to another
        # message with buttons: never guess another payment for it.
        await message.reply_text(context.render("instalments/typed_not_there"))
        return True
    if ids:
        seen = await storage.instalments_seen_by(user, ids)
        views = sorted(seen, key=lambda v: ids.index(v.id))
        if len(views) > 1:
            views = [v for v in views if v.answerable] or views[:1]
    else:
        today = local_date(context.clock.now(), context.settings.tz)
        views = await storage.instalments_to_answer(user, on_or_before=today, limit=_WHICH)
    if not views:
        await message.reply_text(context.render("instalments/typed_none"))
        return True
    if len(views) > 1:
        await _which(update, context, views)
        return True
    await _take_typed(update, context, views[0], answer, amount, pressed)
    return True


async def _which(update: Update, context: QingshouContext, views: list[InstalmentView]) -> None:
    """Several payments wait for an answer: list them, each with its answer row."""
    message = update.effective_message
    assert message is not None
    rows = [
        [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
        for n, view in enumerate(views, 1)
        for row in answer_rows(context.label, n, view.id, view.case_id)
    ]
    await message.reply_text(
        context.render("instalments/typed_which", items=views),
        reply_markup=InlineKeyboardMarkup(rows),
    )


async def _take_typed(
    update: Update,
    context: QingshouContext,
    view: InstalmentView,
    answer: str,
    amount: int | None,
    pressed: Pressed,
) -> None:
    """Record a typed answer for one instalment, as its button would (partial without an
    amount and missed ask their question)."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    if not view.answerable:
        await message.reply_text(context.render("instalments/already", instalment=view))
        await _edit_reminder(context, pressed)
        return
    if answer == Answer.MISSED.value:
        missed = MissedDraft.of(view.id, view.rest, pressed)
        await ENGINE.start(update, context, MISSED_FLOW, missed, case_id=view.case_id)
        return
    if answer == Answer.PARTIAL.value and amount is None:
        partial = PartialDraft.of(view.id, view.rest, pressed)
        await ENGINE.start(update, context, PARTIAL_FLOW, partial, case_id=view.case_id)
        return
    now = context.clock.now()
    done = await context.storage.answer_instalment(
        user,
        view.id,
        Answer.PAID if amount is None else Answer.PARTIAL,
        amount=amount,
        today=local_date(now, context.settings.tz),
        grace_days=context.settings.grace_days,
        now=now,
        # A replayed update records once.
        key=f"typed-answer:{user.id}:{update.update_id}",
    )
    if done is None:
        await message.reply_text(context.render("instalments/lost", text=message.text or ""))
        return
    await _edit_reminder(context, pressed)
    if done.refused == "amount":
        text = context.render(
            "instalments/partial_too_much", amount=amount, rest=done.instalment.rest
        )
    elif not done.changed:
        text = context.render("instalments/already", instalment=done.instalment)
    elif amount is None:
        text = context.render("instalments/paid_toast", instalment=done.instalment, answer=done)
    else:
        text = context.render("instalments/partial_done", instalment=done.instalment, answer=done)
    await message.reply_text(text)
