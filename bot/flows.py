"""The flow engine: every exchange that takes more than one message.

A flow is declared in one place (:class:`Flow`): named steps, each with its prompt template, its
input kind (buttons, text, amount, date, file, location), the domain validator and the next step;
and one ``finish`` that performs the flow's effect. Handlers declare flows and start them; the
engine does the rest:

- **State in the database**, per person: the open flow's step, the answers so far, the case it
  is about, the message that asked, an expiry and a version. A restart of the bot, or of the
  phone, loses nothing.
- **One router** for button presses and typed text (:meth:`Engine.on_button`,
  :meth:`Engine.on_text`). A button carries (flow id, version, option code) through the codec; a
  button of an earlier step, of an ended or expired flow, or of another person is answered
  "this question has moved on" and the person's current question is shown again.
- **Every step is a compare-and-set** on the version, so a double tap or a replayed update
  changes nothing twice; the finishing write carries an idempotency key (``run.key``) so that a
  crash between the write and the end of the flow cannot double it either. A replayed text
  update that already moved a flow on is recognised by its update id.
- **Never overwrite**: starting a flow while another is open asks "continue X / drop X".
- ``/cancel`` ends the open flow and takes the buttons off its last question.
- Free text while a button question is open is matched against the options (label or number),
  else the question is shown again with a hint. A refused answer is said with its reason and
  the rest of the draft stays.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from babel.dates import format_date, get_day_names
from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest

from bot import callbacks
from bot.callbacks import Choice, Int
from bot.domain.money import AmountError, parse_amount
from bot.i18n import N_, babel_locale
from bot.telegram_io import ResilientRateLimiter

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import QingshouContext
    from bot.storage import FlowState

log = logging.getLogger(__name__)

#: A flow's answer button: (flow id, version of the question, option code).
ANSWER = callbacks.route("f", Int(), Int(), Int())
#: The ✖ button under every question: (flow id, version).
CANCEL = callbacks.route("fx", Int(), Int())
#: "Continue X / drop X": (the waiting flow's id, keep the open one or start the new one).
CONFLICT = callbacks.route("fc", Int(), Choice(("keep", "new")))

#: Buttons per question at most (Telegram allows 100 per message; a phone shows far fewer).
MAX_OPTIONS = 90


# -- what a flow is made of ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer the domain refused: the template that says why, and its parameters."""

    template: str
    params: Mapping[str, Any] = field(default_factory=dict)
    #: Show the question again after the refusal (its buttons are far up the chat by now).
    ask_again: bool = False


@dataclass(frozen=True, slots=True)
class Option:
    """One button of a question. ``code`` goes into the callback data (an index or an id) and
    is looked up again when pressed, so a changed list can never map a press to another
    option; ``value`` is what is stored as the answer."""

    code: int
    value: Any
    label: str
    #: Labels from code (N_) are translated; names from the database are shown as they are.
    translate: bool = True
    #: In a :class:`Choices` question, options of one group exclude each other (one stance
    #: per party); they are laid out on one row, after the group's label.
    group: str | None = None


OptionsFn = Callable[["FlowRun"], Awaitable[Sequence[Option]]]
Validator = Callable[[Any, "FlowRun"], "Any | Refusal"]

#: Option codes the engine itself puts under questions (far above any id or index). A day of
#: the inline calendar is its proleptic ordinal (date.toordinal(), about 740 000).
LATER, KEEP, DONE, REST_LATER = 2**53, 2**53 - 1, 2**53 - 2, 2**53 - 3
MONTH_BACK, MONTH_ON, NOTHING = 2**53 - 4, 2**53 - 5, 2**53 - 6


async def _resolve(options: Sequence[Option] | OptionsFn | None, run: FlowRun) -> Sequence[Option]:
    if options is None:
        return ()
    if callable(options):
        return (await options(run))[:MAX_OPTIONS]
    return options


@dataclass(frozen=True, slots=True)
class Buttons:
    """Choose with a tap (or type the option's label or number). With ``other`` set, typed
    text that matches no option is the answer ``other`` and its words are kept beside it
    (``<step>_text``): "buttons for the common ones, plus text"."""

    options: Sequence[Option] | OptionsFn
    columns: int = 1
    other: Any = None

    async def resolve(self, run: FlowRun) -> Sequence[Option]:
        return await _resolve(self.options, run)


@dataclass(frozen=True, slots=True)
class Choices:
    """Several taps on one question (each toggles, ✓ marks the chosen), then "✔ Done". The
    answer is the list of chosen option values. With ``free_text``, typed text is kept beside
    them (``<step>_text``) and the question stays open."""

    options: Sequence[Option] | OptionsFn
    columns: int = 2
    free_text: bool = False
    #: "Done" only when every group has a choice (one stance per party, say).
    complete_groups: bool = False
    #: With groups: the question is done by itself once every group has its choice.
    auto_done: bool = False

    async def resolve(self, run: FlowRun) -> Sequence[Option]:
        return await _resolve(self.options, run)


@dataclass(frozen=True, slots=True)
class Text:
    """Free text, at most ``max_chars``; ``single_line`` refuses line breaks. ``suggest``
    offers answers to tap instead of typing."""

    max_chars: int = 3000
    single_line: bool = False
    validate: Validator | None = None
    suggest: OptionsFn | None = None


@dataclass(frozen=True, slots=True)
class Amount:
    """Money typed as ``8000``, ``8千``, ``八千``, ``0.8万``, ``¥8,000``; stored in fen.
    ``validate(fen, run)`` may refuse it for the domain's reasons; ``suggest`` offers amounts
    to tap instead of typing (they are validated the same way)."""

    minimum: int = 1
    validate: Validator | None = None
    suggest: OptionsFn | None = None


@dataclass(frozen=True, slots=True)
class DateInput:
    """A calendar date, typed (``parse(text, today)`` returns a date or a Refusal) or, with
    ``calendar``, tapped on an inline month grid (past days disabled, today marked, ◀ ▶ to
    turn the month). ``validate(day, run)`` may refuse a day for the domain's reasons."""

    parse: Callable[[str, date], date | Refusal]
    calendar: bool = False
    validate: Callable[[date, FlowRun], date | Refusal] | None = None


@dataclass(frozen=True, slots=True)
class PhotoInput:
    """A photo (or an image sent as a file), stored as Telegram's file id (a receipt)."""


@dataclass(frozen=True, slots=True)
class FileInput:
    """A document; stored as Telegram's file id and name."""


@dataclass(frozen=True, slots=True)
class LocationInput:
    """A shared location; stored as latitude and longitude."""


Input = Buttons | Choices | Text | Amount | DateInput | PhotoInput | FileInput | LocationInput
NextFn = Callable[["FlowRun"], "str | None"]


@dataclass(frozen=True, slots=True)
class Step:
    """One question. ``next`` names the following step (a function may choose it from the
    answers); ``None`` finishes the flow; left out, the next step in the list follows (the
    last one finishes). ``skip`` leaves a step out when it does not apply
    (e.g. no reason is asked for a first lead)."""

    name: str
    prompt: str
    input: Input
    next: str | NextFn | None = ""
    skip: Callable[[FlowRun], bool] | None = None
    #: "⏭ Later": the step may be left unanswered (its answer is None; shown as unknown).
    optional: bool | Callable[[FlowRun], bool] = False
    #: The answer the case already has (None: none): shown with "✓ Keep", never asked blind.
    known: Callable[[FlowRun], Any] | None = None
    #: Steps of one part of a long interview; "⏩ Rest of this part later" skips to the next.
    section: str | None = None
    #: Work done once on arriving at the step, before it is asked (a dry run): its dict is
    #: added to the answers; a :class:`Reply` ends the flow with that message instead.
    enter: Callable[[FlowRun], Awaitable[dict[str, Any] | Reply | None]] | None = None

    def is_optional(self, run: FlowRun) -> bool:
        return self.optional(run) if callable(self.optional) else self.optional


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says at the end of a flow."""

    text: str
    markup: InlineKeyboardMarkup | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """A multi-step exchange, readable top to bottom like a form.

    ``load`` gives the templates their parameters each time a question is shown and re-checks
    that the person may still do this (e.g. the case is still theirs): ``None`` ends the flow
    with the ``lost`` template, echoing what they typed. ``finish`` performs the effect with
    ``run.key`` as its idempotency key and returns the closing message.
    """

    name: str
    title: str
    steps: tuple[Step, ...]
    finish: Callable[[FlowRun], Awaitable[Reply]]
    load: Callable[[FlowRun], Awaitable[dict[str, Any] | None]]
    lost: str
    expires: timedelta | Callable[[Settings], timedelta] = timedelta(hours=1)
    #: Asking for the same flow on the same case again offers "continue where you were /
    #: start over" instead of simply showing the open question.
    resumable: bool = False
    #: Called when the flow ends without finishing (cancelled, expired, dropped for another),
    #: to release what it holds (a pending import's stored file).
    abandon: Callable[[QingshouContext, FlowState], Awaitable[None]] | None = None

    def expiry(self, settings: Settings) -> timedelta:
        return self.expires(settings) if callable(self.expires) else self.expires

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"flow {self.name} has no step {name!r}")

    @property
    def first(self) -> Step:
        return self.steps[0]


@dataclass(slots=True)
class FlowRun:
    """One moment of a flow: the update being handled and the flow's stored state."""

    flow: Flow
    state: FlowState
    update: Update
    context: QingshouContext
    data: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Idempotency key of the write that finishes this flow at this version."""
        return f"flow:{self.state.id}:{self.state.version}"

    @property
    def case_id(self) -> int | None:
        return self.state.case_id

    @property
    def now(self) -> datetime:
        return self.context.clock.now()


_REGISTRY: dict[str, Flow] = {}


def register(flow: Flow) -> Flow:
    """Declare a flow (module level in its handler file)."""
    if flow.name in _REGISTRY:
        raise ValueError(f"flow {flow.name!r} declared twice")
    names = [s.name for s in flow.steps]
    if len(set(names)) != len(names):
        raise ValueError(f"flow {flow.name!r} repeats a step name")
    for s in flow.steps:
        if isinstance(s.next, str) and s.next and s.next not in names:
            raise ValueError(f"flow {flow.name!r}: step {s.name} goes to unknown {s.next!r}")
    _REGISTRY[flow.name] = flow
    return flow


def flows() -> Mapping[str, Flow]:
    return dict(_REGISTRY)


# -- the engine ------------------------------------------------------------------------------

Outcome = Literal["started", "asked_again", "conflict"]


class Engine:
    """Stores, routes and advances flows. Stateless itself: everything is in storage."""

    # Starting ---------------------------------------------------------------------------

    async def start(
        self,
        update: Update,
        context: QingshouContext,
        flow: Flow,
        data: dict[str, Any] | None = None,
        *,
        case_id: int | None = None,
        step: str | None = None,
        edit: CallbackQuery | None = None,
    ) -> Outcome:
        """Open ``flow`` for the person and ask its first question.

        With another flow open: the same flow on the same case is shown again where it was;
        anything else is kept waiting while the person chooses "continue / drop".
        """
        user = context.user
        assert user is not None
        storage = context.storage
        now = context.clock.now()
        current = await self._open(update, context)
        same = current is not None and current.flow == flow.name and current.case_id == case_id
        if same and not flow.resumable:
            assert current is not None
            await self._answer(edit)
            await self._ask(update, context, current, edit=None)
            return "asked_again"
        expires = now + flow.expiry(context.settings)
        update_id = update.update_id
        first = flow.step(step) if step is not None else flow.first
        if current is not None:
            waiting = await storage.start_flow(
                user.id,
                flow.name,
                first.name,
                dict(data or {}),
                now=now,
                expires_at=expires,
                case_id=case_id,
                waiting=True,
                update_id=update_id,
            )
            await self._answer(edit)
            await self._ask_conflict(update, context, current, waiting)
            return "conflict"
        state = await storage.start_flow(
            user.id,
            flow.name,
            first.name,
            dict(data or {}),
            now=now,
            expires_at=expires,
            case_id=case_id,
            update_id=update_id,
        )
        await self._enter(update, context, flow, state, state.data, first, edit=edit)
        return "started"

    async def _open(self, update: Update, context: QingshouContext) -> FlowState | None:
        """The person's open flow, ending it first if it has expired (and saying so)."""
        assert context.user is not None
        state = await context.storage.open_flow(context.user.id)
        if state is None:
            return None
        if state.expires_at > context.clock.now() and state.flow in _REGISTRY:
            return state
        ended = await context.storage.end_flow(
            state.id, state.version, "expired", now=context.clock.now()
        )
        await self._strip_buttons(context, state)
        await self._abandoned(context, ended)
        return None

    @staticmethod
    async def _abandoned(context: QingshouContext, state: FlowState | None) -> None:
        flow = _REGISTRY.get(state.flow) if state is not None else None
        if state is not None and flow is not None and flow.abandon is not None:
            await flow.abandon(context, state)

    # Routing ----------------------------------------------------------------------------

    async def on_button(
        self, update: Update, context: QingshouContext, flow_id: int, version: int, code: int
    ) -> None:
        """An answer button: check it is this person's current question, then take it."""
        query = update.callback_query
        assert query is not None
        assert context.user is not None
        state = await context.storage.get_flow(flow_id)
        if (
            state is None
            or state.user_id != context.user.id
            or state.status != "open"
            or state.version != version
            or state.flow not in _REGISTRY
        ):
            await self.moved_on(update, context)
            return
        if state.expires_at <= context.clock.now():
            await self._open(update, context)  # ends it
            await self.moved_on(update, context)
            return
        flow = _REGISTRY[state.flow]
        step = flow.step(state.step)
        run = FlowRun(flow, state, update, context, dict(state.data))
        kind = step.input
        if code == LATER and step.is_optional(run):
            await self._take(run, step, None, edit=query)
            return
        if code == REST_LATER and self._rest_of_section(run, step):
            await self._skip_section(run, step, query)
            return
        if code == KEEP and step.known is not None:
            known = step.known(run)
            if known is not None:
                await self._take(run, step, known, edit=query)
                return
        if isinstance(kind, Choices):
            await self._choose(run, step, kind, code, query)
            return
        if isinstance(kind, DateInput) and kind.calendar:
            await self._calendar(run, step, kind, code, query)
            return
        if isinstance(kind, Buttons):
            options = await kind.resolve(run)
        elif isinstance(kind, Amount | Text):
            options = await _resolve(kind.suggest, run)
        else:
            options = ()
        chosen = next((o for o in options if o.code == code), None)
        if chosen is None:
            await self.moved_on(update, context)
            return
        value = chosen.value
        if isinstance(kind, Amount | Text) and kind.validate is not None:
            value = kind.validate(value, run)
            if isinstance(value, Refusal):
                await query.answer()
                chat = update.effective_chat
                assert chat is not None
                await chat.send_message(context.render(value.template, **value.params))
                return
        await self._take(run, step, value, edit=query)

    async def _calendar(
        self, run: FlowRun, step: Step, kind: DateInput, code: int, query: CallbackQuery
    ) -> None:
        """A tap on the inline calendar: turn the month (in place), or take the day."""
        today = run.now.astimezone(run.context.settings.tz).date()
        if code == NOTHING:
            await query.answer()
            return
        if code in (MONTH_BACK, MONTH_ON):
            year, month = _shown_month(run, step, today)
            month += 1 if code == MONTH_ON else -1
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
            if (year, month) < (today.year, today.month):
                await query.answer()
                return
            state = await run.context.storage.advance_flow(
                run.state.id, run.state.version, step=step.name,
                data={**run.data, f"{step.name}_month": f"{year:04d}-{month:02d}"},
                now=run.now, update_id=run.update.update_id,
            )  # fmt: skip
            if state is None:
                await self.moved_on(run.update, run.context)
                return
            await query.answer()
            await self._ask(run.update, run.context, state, edit=query)
            return
        if not 1 <= code <= date.max.toordinal() or date.fromordinal(code) < today:
            await self.moved_on(run.update, run.context)
            return
        day: date | Refusal = date.fromordinal(code)
        if kind.validate is not None:
            day = kind.validate(date.fromordinal(code), run)
        if isinstance(day, Refusal):
            await query.answer()
            chat = run.update.effective_chat
            assert chat is not None
            await chat.send_message(run.context.render(day.template, **day.params))
            return
        await self._take(run, step, day.isoformat(), edit=query)

    def _rest_of_section(self, run: FlowRun, step: Step) -> list[Step]:
        """The steps from ``step`` to the end of its part, if there are several and all may be
        left for later (else nothing: the part cannot be skipped)."""
        if step.section is None:
            return []
        steps = run.flow.steps
        rest = [s for s in steps[steps.index(step) :] if s.section == step.section]
        if len(rest) < 2 or not all(s.is_optional(run) for s in rest):
            return []
        return rest

    async def _skip_section(self, run: FlowRun, step: Step, query: CallbackQuery) -> None:
        """Leave the rest of this part unanswered and go on with the next part."""
        rest = self._rest_of_section(run, step)
        data = {**run.data, **{s.name: None for s in rest}}
        await self._take(replace(run, data=data), rest[-1], None, edit=query)

    async def _choose(
        self, run: FlowRun, step: Step, kind: Choices, code: int, query: CallbackQuery
    ) -> None:
        """A tap on a several-choice question: toggle an option (in place), or be done."""
        options = await kind.resolve(run)
        chosen = [c for c in run.data.get(step.name) or [] if isinstance(c, int)]
        by_code = {o.code: o for o in options}
        if code == DONE:
            if kind.complete_groups and not _groups_complete(options, chosen):
                await query.answer(
                    run.context.label(N_("Choose one in every row first.")), show_alert=True
                )
                return
            values = [by_code[c].value for c in chosen if c in by_code]
            data = {**run.data, f"{step.name}_codes": chosen}
            await self._take(replace(run, data=data), step, values, edit=query)
            return
        option = by_code.get(code)
        if option is None:
            await self.moved_on(run.update, run.context)
            return
        if code in chosen:
            chosen.remove(code)
        else:
            if option.group is not None:
                chosen = [c for c in chosen if by_code.get(c, option).group != option.group]
            chosen.append(code)
        if kind.auto_done and _groups_complete(options, chosen):
            values = [by_code[c].value for c in chosen if c in by_code]
            data = {**run.data, f"{step.name}_codes": chosen}
            await self._take(replace(run, data=data), step, values, edit=query)
            return
        state = await run.context.storage.advance_flow(
            run.state.id,
            run.state.version,
            step=step.name,
            data={**run.data, step.name: chosen},
            now=run.now,
            update_id=run.update.update_id,
        )
        if state is None:
            await self.moved_on(run.update, run.context)
            return
        await query.answer()
        await self._ask(run.update, run.context, state, edit=query)

    async def on_cancel_button(
        self, update: Update, context: QingshouContext, flow_id: int, version: int
    ) -> None:
        """The ✖ under a question: end that flow if it is still the current one."""
        query = update.callback_query
        assert query is not None
        assert context.user is not None
        state = await context.storage.get_flow(flow_id)
        if state is None or state.user_id != context.user.id or state.status != "open":
            await self.moved_on(update, context)
            return
        ended = await context.storage.end_flow(
            state.id, version, "cancelled", now=context.clock.now(), update_id=update.update_id
        )
        if ended is None:
            await self.moved_on(update, context)
            return
        await self._abandoned(context, ended)
        await query.answer()
        await self._edit_or_send(
            update,
            context,
            query,
            context.render("flows/cancelled", title=self._title(context, state)),
        )

    async def on_conflict(
        self, update: Update, context: QingshouContext, waiting_id: int, choice: str
    ) -> None:
        """ "Continue the open flow" or "drop it and start the new one"."""
        query = update.callback_query
        assert query is not None
        assert context.user is not None
        storage = context.storage
        waiting = await storage.waiting_flow(context.user.id)
        if waiting is None or waiting.id != waiting_id:
            await self.moved_on(update, context)
            return
        now = context.clock.now()
        if choice == "keep":
            dropped = await storage.end_flow(waiting.id, waiting.version, "dropped", now=now)
            await self._abandoned(context, dropped)
            current = await self._open(update, context)
            await query.answer()
            if current is None:
                await self._edit_or_send(
                    update, context, query, context.render("flows/nothing_open")
                )
                return
            await self._ask(update, context, current, edit=query)
            return
        flow = _REGISTRY.get(waiting.flow)
        if flow is None:
            await self.moved_on(update, context)
            return
        previous = await storage.open_flow(context.user.id)
        state = await storage.promote_waiting(
            context.user.id, now=now, expires_at=now + flow.expiry(context.settings)
        )
        if state is None:
            await self.moved_on(update, context)
            return
        if previous is not None:
            await self._strip_buttons(context, previous)
            await self._abandoned(context, previous)
        await self._enter(
            update, context, flow, state, state.data, flow.step(state.step), edit=query
        )

    async def on_text(self, update: Update, context: QingshouContext) -> bool:
        """Typed text (or a file, a location) for the open flow; False when none is open."""
        message = update.effective_message
        assert message is not None
        assert context.user is not None
        storage = context.storage
        user_id = context.user.id
        consumed = await storage.flow_consumed(user_id, update.update_id)
        if consumed is not None:
            # A replay of an update that already moved a flow on (the bot was killed before
            # it could mark the update done): answer again, change nothing.
            current = await self._open(update, context)
            if current is not None:
                await self._ask(update, context, current, edit=None)
            else:
                await message.reply_text(context.render("flows/already_done"))
            return True
        state = await storage.open_flow(user_id)
        if state is None:
            return False
        if state.expires_at <= context.clock.now() or state.flow not in _REGISTRY:
            await self._open(update, context)  # ends it
            await message.reply_text(
                context.render(
                    "flows/expired",
                    title=self._title(context, state),
                    text=message.text or message.caption or "",
                )
            )
            return True
        flow = _REGISTRY[state.flow]
        step = flow.step(state.step)
        run = FlowRun(flow, state, update, context, dict(state.data))
        value = await self._parse(run, step, message)
        if isinstance(value, Refusal):
            await message.reply_text(context.render(value.template, **value.params))
            if value.ask_again:
                await self._ask(update, context, state, edit=None)
            return True
        if isinstance(value, _Typed):
            run = replace(run, data={**run.data, **value.extra})
            if value.stay:
                moved = await storage.advance_flow(
                    state.id, state.version, step=step.name, data=run.data,
                    now=context.clock.now(), update_id=update.update_id,
                )  # fmt: skip
                if moved is not None:
                    await self._strip_buttons(context, state)
                    await self._ask(update, context, moved, edit=None)
                return True
            value = value.value
        await self._take(run, step, value, edit=None)
        return True

    async def cancel(self, update: Update, context: QingshouContext) -> FlowState | None:
        """/cancel: end the open flow (and any waiting one); take the buttons off its question."""
        assert context.user is not None
        storage = context.storage
        now = context.clock.now()
        waiting = await storage.waiting_flow(context.user.id)
        if waiting is not None:
            await self._abandoned(
                context, await storage.end_flow(waiting.id, None, "dropped", now=now)
            )
        state = await storage.open_flow(context.user.id)
        if state is None:
            return None
        ended = await storage.end_flow(
            state.id, None, "cancelled", now=now, update_id=update.update_id
        )
        await self._strip_buttons(context, state)
        await self._abandoned(context, ended)
        return ended

    async def moved_on(self, update: Update, context: QingshouContext) -> None:
        """A stale, foreign or forged flow button: say so and show the current question."""
        query = update.callback_query
        assert query is not None
        await query.answer(context.label(N_("This question has moved on.")), show_alert=False)
        if context.user is None:
            return
        current = await self._open(update, context)
        if current is not None:
            await self._ask(update, context, current, edit=None)

    def title(self, context: QingshouContext, flow_name: str) -> str:
        flow = _REGISTRY.get(flow_name)
        return context.label(flow.title) if flow else flow_name

    # Parsing answers ----------------------------------------------------------------------

    async def _parse(self, run: FlowRun, step: Step, message: Message) -> Any:
        kind = step.input
        text = (message.text or "").strip()
        if isinstance(kind, Choices):
            if kind.free_text and text:
                # Their own words beside the buttons; the question stays open for more taps.
                return _Typed(None, {f"{step.name}_text": text}, stay=True)
            return Refusal("flows/tap_a_button", {}, ask_again=True)
        if isinstance(kind, Buttons):
            options = await kind.resolve(run)
            chosen = _match_option(run.context, options, text)
            if chosen is None and kind.other is not None and text and message.text:
                return _Typed(kind.other, {f"{step.name}_text": text})
            if chosen is None:
                return Refusal(
                    "flows/tap_a_button",
                    {"options": [_label(run.context, o) for o in options]},
                    ask_again=True,
                )
            return chosen.value
        if isinstance(kind, FileInput):
            document = message.document
            if document is None:
                return Refusal("flows/send_a_file")
            return {"file_id": document.file_id, "file_name": document.file_name or ""}
        if isinstance(kind, PhotoInput):
            if message.photo:
                return {"file_id": message.photo[-1].file_id}
            document = message.document
            if document is not None and (document.mime_type or "").startswith("image/"):
                return {"file_id": document.file_id}
            return Refusal("flows/send_a_photo")
        if isinstance(kind, LocationInput):
            location = message.location
            if location is None:
                return Refusal("flows/send_a_location")
            return {"latitude": location.latitude, "longitude": location.longitude}
        if not message.text:
            return Refusal("flows/send_text")
        if isinstance(kind, Text):
            if not text:
                return Refusal("flows/send_text")
            if kind.single_line and "\n" in text:
                return Refusal("flows/one_line", {"text": message.text})
            if len(text) > kind.max_chars:
                return Refusal(
                    "flows/too_long", {"limit": kind.max_chars, "size": len(text), "text": text}
                )
            return kind.validate(text, run) if kind.validate else text
        if isinstance(kind, Amount):
            try:
                fen = parse_amount(text)
            except AmountError as exc:
                return Refusal("flows/bad_amount", {"text": text, "reason": str(exc)})
            if fen < kind.minimum:
                return Refusal("flows/amount_too_small", {"minimum": kind.minimum})
            return kind.validate(fen, run) if kind.validate else fen
        if isinstance(kind, DateInput):
            today = run.now.astimezone(run.context.settings.tz).date()
            parsed = kind.parse(text, today)
            if not isinstance(parsed, Refusal) and kind.validate is not None:
                parsed = kind.validate(parsed, run)
            return parsed if isinstance(parsed, Refusal) else parsed.isoformat()
        raise AssertionError(f"unknown input kind {kind!r}")  # pragma: no cover

    # Advancing ----------------------------------------------------------------------------

    async def _take(
        self, run: FlowRun, step: Step, value: Any, *, edit: CallbackQuery | None
    ) -> None:
        """Store the answer and go on: the next question, or the end of the flow."""
        if edit is None and run.state.message_id is not None:
            # Answered by typing: the question's buttons (✖ at least) are of no use any more.
            await self._strip_buttons(run.context, run.state)
        data = {**run.data, step.name: value}
        run = replace(run, data=data)
        following = self._following(run, step)
        context = run.context
        if following is None:
            await self._finish(run, edit=edit)
            return
        state = await context.storage.advance_flow(
            run.state.id,
            run.state.version,
            step=following.name,
            data=data,
            now=run.now,
            expires_at=run.now + run.flow.expiry(context.settings),
            update_id=run.update.update_id,
        )
        if state is None:  # someone (a double tap, a second device) was faster
            if edit is not None:
                await self.moved_on(run.update, context)
            return
        await self._enter(run.update, context, run.flow, state, data, following, edit=edit)

    def _following(self, run: FlowRun, step: Step) -> Step | None:
        """The next step that applies, skipping those whose ``skip`` says so."""
        current: Step | None = step
        seen = 0
        while current is not None and seen <= len(run.flow.steps):
            seen += 1
            target = current.next(run) if callable(current.next) else current.next
            if target == "":
                steps = run.flow.steps
                position = steps.index(current)
                target = steps[position + 1].name if position + 1 < len(steps) else None
            if target is None:
                return None
            current = run.flow.step(target)
            if current.skip is None or not current.skip(run):
                return current
        raise RuntimeError(f"flow {run.flow.name}: steps loop")  # pragma: no cover

    async def _enter(
        self,
        update: Update,
        context: QingshouContext,
        flow: Flow,
        state: FlowState,
        data: dict[str, Any],
        step: Step,
        *,
        edit: CallbackQuery | None,
    ) -> None:
        """Arrive at ``step``: skip it (finishing or moving on) if it does not apply, else ask."""
        run = FlowRun(flow, state, update, context, dict(data))
        if step.skip is not None and step.skip(run):
            following = self._following(run, step)
            if following is None:
                await self._finish(run, edit=edit)
                return
            moved = await context.storage.advance_flow(
                state.id, state.version, step=following.name, data=data, now=run.now
            )
            if moved is None:
                return
            state, step = moved, following
        await self._answer(edit)
        if step.enter is not None:
            run = FlowRun(flow, state, update, context, dict(state.data))
            entered = await step.enter(run)
            if isinstance(entered, Reply):
                # The step cannot be asked (a file that cannot be read): the flow ends here.
                await context.storage.end_flow(
                    state.id, state.version, "done", now=run.now, update_id=update.update_id
                )
                await self._edit_or_send(update, context, edit, entered.text, entered.markup)
                return
            if entered:
                moved = await context.storage.advance_flow(
                    state.id, state.version, step=step.name, data={**state.data, **entered},
                    now=run.now,
                )  # fmt: skip
                if moved is None:
                    return
                state = moved
        await self._ask(update, context, state, edit=edit)

    async def _finish(self, run: FlowRun, *, edit: CallbackQuery | None) -> None:
        context = run.context
        params = await run.flow.load(run)
        if params is None:
            await self._lose(run, edit=edit)
            return
        run.params = params
        reply = await run.flow.finish(run)
        ended = await context.storage.end_flow(
            run.state.id, run.state.version, "done", now=run.now, update_id=run.update.update_id
        )
        if ended is None and edit is not None:
            # A double tap finished it a moment ago (its write was keyed: nothing doubled).
            await self.moved_on(run.update, context)
            return
        await self._answer(edit)
        await self._edit_or_send(run.update, context, edit, reply.text, reply.markup)

    async def _lose(self, run: FlowRun, *, edit: CallbackQuery | None) -> None:
        """The flow can no longer go on (its case is no longer the person's): say so, keep text."""
        context = run.context
        await context.storage.end_flow(run.state.id, None, "dropped", now=run.now)
        message = run.update.effective_message
        typed = message.text if message is not None and edit is None and message.text else ""
        await self._answer(edit)
        await self._edit_or_send(
            run.update, context, edit, context.render(run.flow.lost, text=typed, data=run.data)
        )

    # Asking -------------------------------------------------------------------------------

    async def _ask(
        self,
        update: Update,
        context: QingshouContext,
        state: FlowState,
        *,
        edit: CallbackQuery | None,
    ) -> None:
        """Show the current question of ``state`` (again), and remember which message asked."""
        flow = _REGISTRY[state.flow]
        step = flow.step(state.step)
        run = FlowRun(flow, state, update, context, dict(state.data))
        params = await flow.load(run)
        if params is None:
            await self._lose(run, edit=edit)
            return
        run.params = params
        known = step.known(run) if step.known is not None else None
        position = flow.steps.index(step) + 1
        text = context.render(
            step.prompt, **params, data=run.data, known=known, progress=(position, len(flow.steps))
        )
        rows = await self._keyboard(run, step, known)
        pressed = edit.message.message_id if edit is not None and edit.message else None
        if state.message_id is not None and state.message_id != pressed:
            # The question moves to another message: the old one's buttons would only mislead.
            await self._strip_buttons(context, state)
        sent = await self._edit_or_send(update, context, edit, text, InlineKeyboardMarkup(rows))
        if sent is not None:
            await context.storage.set_flow_message(state.id, state.version, sent)

    async def _keyboard(
        self, run: FlowRun, step: Step, known: Any
    ) -> list[list[InlineKeyboardButton]]:
        """The question's buttons: its options, then Keep / Later / Done, then ✖."""
        context, state = run.context, run.state

        def button(label: str, code: int) -> InlineKeyboardButton:
            return InlineKeyboardButton(
                label, callback_data=ANSWER.data(state.id, state.version, code)
            )

        kind = step.input
        rows: list[list[InlineKeyboardButton]] = []
        options: Sequence[Option] = ()
        columns = 2
        if isinstance(kind, Buttons | Choices):
            options, columns = await kind.resolve(run), kind.columns
        elif isinstance(kind, Amount | Text):
            options = await _resolve(kind.suggest, run)
        if isinstance(kind, DateInput) and kind.calendar:
            rows.extend(self._month_rows(run, step, button))
        chosen = set(run.data.get(step.name) or []) if isinstance(kind, Choices) else set()
        row: list[InlineKeyboardButton] = []
        group: str | None = None
        for option in options:
            label = _label(context, option)
            if option.code in chosen:
                label = "✓ " + label
            starts_group = option.group is not None and option.group != group
            if row and (len(row) >= columns or starts_group):
                rows.append(row)
                row = []
            group = option.group
            row.append(button(label, option.code))
        if row:
            rows.append(row)
        extra = []
        if known is not None:
            extra.append(button(context.label(N_("✓ Keep")), KEEP))
        if isinstance(kind, Choices):
            extra.append(button(context.label(N_("✔ Done")), DONE))
        if step.is_optional(run):
            extra.append(button(context.label(N_("⏭ Later")), LATER))
        if extra:
            rows.append(extra)
        if self._rest_of_section(run, step):
            rows.append([button(context.label(N_("⏩ Rest of this part later")), REST_LATER)])
        rows.append(
            [
                InlineKeyboardButton(
                    context.label(N_("✖ Cancel")),
                    callback_data=CANCEL.data(state.id, state.version),
                )
            ]
        )
        return rows

    def _month_rows(
        self, run: FlowRun, step: Step, button: Callable[[str, int], InlineKeyboardButton]
    ) -> list[list[InlineKeyboardButton]]:
        """The inline calendar: ◀ month ▶, the weekdays, then the weeks (past days blank)."""
        from bot.domain.dates import month_grid

        today = run.now.astimezone(run.context.settings.tz).date()
        year, month = _shown_month(run, step, today)
        locale = babel_locale(run.context.locale)
        title = format_date(date(year, month, 1), "LLLL y", locale=locale)
        # Telegram refuses a button without visible text: blanks are a middle dot.
        back = "◀" if (year, month) > (today.year, today.month) else "·"
        rows = [[button(back, MONTH_BACK), button(title, NOTHING), button("▶", MONTH_ON)]]
        names = get_day_names("narrow", "stand-alone", locale=locale)
        rows.append([button(names[i], NOTHING) for i in range(7)])
        for week in month_grid(year, month, today):
            row = []
            for cell in week:
                if cell is None or cell.past:
                    row.append(button("·", NOTHING))
                else:
                    label = f"[{cell.day.day}]" if cell.today else str(cell.day.day)
                    row.append(button(label if cell.working else f"{label}*",
                                      cell.day.toordinal()))  # fmt: skip
            rows.append(row)
        return rows

    async def _ask_conflict(
        self, update: Update, context: QingshouContext, current: FlowState, waiting: FlowState
    ) -> None:
        message = update.effective_message
        assert message is not None
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(context.label(N_("Continue")),
                                      callback_data=CONFLICT.data(waiting.id, "keep"))],
                [InlineKeyboardButton(context.label(N_("Drop it, start the new one")),
                                      callback_data=CONFLICT.data(waiting.id, "new"))],
            ]
        )  # fmt: skip
        same = current.flow == waiting.flow and current.case_id == waiting.case_id
        if same:
            flow = _REGISTRY[current.flow]
            keyboard = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(context.label(N_("Continue where I was")),
                                          callback_data=CONFLICT.data(waiting.id, "keep"))],
                    [InlineKeyboardButton(context.label(N_("Start over")),
                                          callback_data=CONFLICT.data(waiting.id, "new"))],
                ]
            )  # fmt: skip
            position = [s.name for s in flow.steps].index(current.step) + 1
            text = context.render(
                "flows/resume",
                title=self._title(context, current),
                progress=(position, len(flow.steps)),
                answered=sum(1 for s in flow.steps if current.data.get(s.name) is not None),
                since=current.updated_at,
            )
        else:
            text = context.render(
                "flows/conflict",
                current=self._title(context, current),
                new=self._title(context, waiting),
            )
        chat = update.effective_chat
        assert chat is not None
        await chat.send_message(text, reply_markup=keyboard)

    def _title(self, context: QingshouContext, state: FlowState) -> str:
        return self.title(context, state.flow)

    # Telegram ---------------------------------------------------------------------------

    @staticmethod
    async def _answer(query: CallbackQuery | None) -> None:
        """Stop the button's spinner, unless a step did so already (before slow work)."""
        if query is None:
            return
        limiter = getattr(query.get_bot(), "rate_limiter", None)  # ExtBot has it
        if isinstance(limiter, ResilientRateLimiter) and limiter.was_answered(query.id):
            return
        await query.answer()

    async def _edit_or_send(
        self,
        update: Update,
        context: QingshouContext,
        query: CallbackQuery | None,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> int | None:
        """Edit the pressed message in place, or send a new one; the message id either way."""
        if query is not None and query.message is not None:
            try:
                await query.edit_message_text(text, reply_markup=markup)
            except BadRequest as exc:
                if "not modified" not in str(exc).lower():
                    raise
            return query.message.message_id
        chat = update.effective_chat
        assert chat is not None
        sent = await context.bot.send_message(chat.id, text, reply_markup=markup)
        # A deferred send (Telegram unreachable) comes back without a real id.
        return sent.message_id or None

    @staticmethod
    async def _strip_buttons(context: QingshouContext, state: FlowState) -> None:
        """Take the buttons off the message that asked ``state``'s question, if we know it."""
        if state.message_id is None or context.user is None:
            return
        # Already without buttons, or too old to edit: nothing to take off.
        with contextlib.suppress(BadRequest):
            await context.bot.edit_message_reply_markup(
                chat_id=context.user.telegram_id, message_id=state.message_id, reply_markup=None
            )


@dataclass(frozen=True, slots=True)
class _Typed:
    """A typed answer with words kept beside it (``extra``); ``stay`` keeps the step open."""

    value: Any
    extra: dict[str, Any]
    stay: bool = False


def _shown_month(run: FlowRun, step: Step, today: date) -> tuple[int, int]:
    """The month the calendar of ``step`` shows: the one turned to, else this month."""
    shown = run.data.get(f"{step.name}_month")
    if isinstance(shown, str) and len(shown) == 7 and shown[4] == "-":
        with contextlib.suppress(ValueError):
            return int(shown[:4]), int(shown[5:])
    return today.year, today.month


def _groups_complete(options: Sequence[Option], chosen: Sequence[int]) -> bool:
    groups = {o.group for o in options if o.group is not None}
    have = {o.group for o in options if o.code in chosen}
    return groups <= have


def _label(context: QingshouContext, option: Option) -> str:
    return context.label(option.label) if option.translate else option.label


def _match_option(context: QingshouContext, options: Sequence[Option], text: str) -> Option | None:
    """Typed text as a choice: an option's label (any case), or its number in the list."""
    wanted = text.casefold().strip()
    if not wanted:
        return None
    for option in options:
        if _label(context, option).casefold().strip() == wanted:
            return option
    if wanted.isascii() and wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1]
    return None


ENGINE = Engine()
