"""The flow engine: stores, routes and advances every declared flow (:mod:`bot.flows.model`).

- **State in the database**, per person: the open flow's step, its draft (serialised with the
  draft's version), the case it is about, the message that asked, an expiry and a version. A
  restart of the bot, or of the phone, loses nothing; a draft stored by an older version is
  read by the flow's ``from_legacy`` or, if it cannot be, the flow ends with a message.
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
- **A file the open question does not take** (a ledger sent during /assign's choice) goes to
  the ``aside`` hook (:meth:`Engine.set_hooks`), which may keep it; the question is asked again.
  When a flow ends, the ``when_idle`` hook is asked (before the flow's last words are sent, so
  they are not held up) what it has to say once they are; said if no flow is open or waiting
  (it offers what was kept). Both hooks keep what they keep in storage, never here.
- **Choosing the next step only reads the draft**; the engine writes it, and the hooks named for
  when they run (a step's ``on_enter``, the flow's ``on_finish`` and ``on_abandon``) are the
  only places that act on the world.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.domain.money import AmountError, parse_amount
from bot.flows.keyboards import (
    groups_complete,
    keyboard,
    label,
    match_option,
    rest_of_section,
    shown_month,
)
from bot.flows.model import (
    _REGISTRY,
    DONE,
    KEEP,
    LATER,
    MONTH_BACK,
    MONTH_ON,
    NOTHING,
    REST_LATER,
    Amount,
    Buttons,
    Choices,
    DateInput,
    DraftLike,
    Flow,
    FlowRun,
    PhotoInput,
    Refusal,
    Reply,
    Step,
    Text,
    resolve,
)
from bot.i18n import N_
from bot.routes import CONFLICT
from bot.telegram_io import ResilientRateLimiter

if TYPE_CHECKING:
    from bot.context import QingshouContext
    from bot.storage import FlowState

log = logging.getLogger(__name__)

# -- the engine ------------------------------------------------------------------------------

D = TypeVar("D", bound=DraftLike)

Outcome = Literal["started", "asked_again", "conflict"]
#: What is said once a flow's last words are sent (the ``when_idle`` hook's answer).
Later = Callable[[], Awaitable[None]]
#: The ``aside`` hook: whether it took the file the open question does not take.
AsideHook = Callable[["Update", "QingshouContext"], Awaitable[bool]]
#: The ``when_idle`` hook: what to say once no flow is open, if anything.
IdleHook = Callable[["Update", "QingshouContext"], Awaitable[Later | None]]


class Engine:
    """Stores, routes and advances flows. Stateless itself: everything is in storage (the two
    hooks are wiring, set once by ``handlers.register``)."""

    def __init__(self) -> None:
        self._aside: AsideHook | None = None
        self._when_idle: IdleHook | None = None

    def set_hooks(self, *, aside: AsideHook | None, when_idle: IdleHook | None) -> None:
        """``aside(update, context)``: a document the open question does not take; True if it
        took it (the question is then asked again). ``when_idle(update, context)``: a flow of
        the person ended; what to say once its last words are sent, or None."""
        self._aside, self._when_idle = aside, when_idle

    async def idle(self, update: Update, context: QingshouContext) -> Later | None:
        """After a flow ended, before its last words are sent: what the ``when_idle`` hook will
        say once they are, if no flow is open or waiting (else None: it waits for the next)."""
        user = context.user
        if self._when_idle is None or user is None:
            return None
        later = await self._when_idle(update, context)  # one read when nothing waits
        if later is None:
            return None
        storage = context.storage
        if await storage.open_flow(user.id) is not None:
            return None
        if await storage.waiting_flow(user.id) is not None:
            return None
        return later

    @staticmethod
    async def _then(later: Later | None) -> None:
        if later is not None:
            await later()

    # Starting ---------------------------------------------------------------------------

    async def start(
        self,
        update: Update,
        context: QingshouContext,
        flow: Flow[D],
        draft: D | Mapping[str, Any] | None = None,
        *,
        case_id: int | None = None,
        step: str | None = None,
        edit: CallbackQuery | None = None,
    ) -> Outcome:
        """Open ``flow`` for the person with ``draft`` (the facts it starts from; a dict for a
        flow without a dataclass draft) and ask its first question.

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
        if draft is None or isinstance(draft, Mapping):
            draft = flow.draft.from_json(draft or {})
        stored = draft.to_json()
        if current is not None:
            waiting = await storage.start_flow(
                user.id,
                flow.name,
                first.name,
                stored,
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
            stored,
            now=now,
            expires_at=expires,
            case_id=case_id,
            update_id=update_id,
        )
        await self._enter(update, context, flow, state, draft, first, edit=edit)
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
        if state is not None and flow is not None and flow.on_abandon is not None:
            await flow.on_abandon(context, state)

    async def _restore(
        self,
        update: Update,
        context: QingshouContext,
        state: FlowState,
        *,
        edit: CallbackQuery | None,
    ) -> FlowRun[Any] | None:
        """The flow of ``state`` with its draft read back; a draft that cannot be read (stored
        by a version of the bot that cannot be continued) ends the flow with a message."""
        flow = _REGISTRY[state.flow]
        draft = flow.load_draft(state.data)
        if draft is not None:
            return FlowRun(flow, state, update, context, draft)
        log.warning("flow %s #%s: its stored draft cannot be read; ended", state.flow, state.id)
        ended = await context.storage.end_flow(state.id, None, "dropped", now=context.clock.now())
        if edit is None:
            await self._strip_buttons(context, state)
        await self._abandoned(context, ended)
        later = await self.idle(update, context)
        await self._answer(edit)
        await self._edit_or_send(
            update,
            context,
            edit,
            context.render("flows/outdated", title=self._title(context, state)),
        )
        await self._then(later)
        return None

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
        run = await self._restore(update, context, state, edit=query)
        if run is None:
            return
        step = run.flow.step(state.step)
        kind = step.input
        if code == LATER and step.is_optional(run):
            await self._take(run, step, None, edit=query)
            return
        if code == REST_LATER and rest_of_section(run, step):
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
            options = await resolve(kind.suggest, run)
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
        self, run: FlowRun[Any], step: Step[Any], kind: DateInput, code: int, query: CallbackQuery
    ) -> None:
        """A tap on the inline calendar: turn the month (in place), or take the day."""
        today = run.now.astimezone(run.context.settings.tz).date()
        if code == NOTHING:
            await query.answer()
            return
        if code in (MONTH_BACK, MONTH_ON):
            year, month = shown_month(run, step, today)
            month += 1 if code == MONTH_ON else -1
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
            if (year, month) < (today.year, today.month):
                await query.answer()
                return
            state = await run.context.storage.advance_flow(
                run.state.id,
                run.state.version,
                step=step.name,
                data=run.draft.answered(f"{step.name}_month", f"{year:04d}-{month:02d}").to_json(),
                now=run.now,
                update_id=run.update.update_id,
            )
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

    async def _skip_section(self, run: FlowRun[Any], step: Step[Any], query: CallbackQuery) -> None:
        """Leave the rest of this part unanswered and go on with the next part."""
        rest = rest_of_section(run, step)
        draft = run.draft
        for left in rest:
            draft = draft.answered(left.name, None)
        await self._take(replace(run, draft=draft), rest[-1], None, edit=query)

    async def _choose(
        self, run: FlowRun[Any], step: Step[Any], kind: Choices, code: int, query: CallbackQuery
    ) -> None:
        """A tap on a several-choice question: toggle an option (in place), or be done."""
        options = await kind.resolve(run)
        chosen = [c for c in run.draft.answer(step.name) or [] if isinstance(c, int)]
        by_code = {o.code: o for o in options}
        if code == DONE:
            if kind.complete_groups and not groups_complete(options, chosen):
                await query.answer(
                    run.context.label(N_("Choose one in every row first.")), show_alert=True
                )
                return
            values = [by_code[c].value for c in chosen if c in by_code]
            draft = run.draft.answered(f"{step.name}_codes", chosen)
            await self._take(replace(run, draft=draft), step, values, edit=query)
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
        if kind.auto_done and groups_complete(options, chosen):
            values = [by_code[c].value for c in chosen if c in by_code]
            draft = run.draft.answered(f"{step.name}_codes", chosen)
            await self._take(replace(run, draft=draft), step, values, edit=query)
            return
        state = await run.context.storage.advance_flow(
            run.state.id,
            run.state.version,
            step=step.name,
            data=run.draft.answered(step.name, chosen).to_json(),
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
        later = await self.idle(update, context)
        await query.answer()
        reply = await self.cancelled_reply(context, ended)
        await self._edit_or_send(update, context, query, reply.text, reply.markup)
        await self._then(later)

    async def cancelled_reply(self, context: QingshouContext, ended: FlowState) -> Reply:
        """What to say once /cancel or ✖ ended a flow: its ``on_cancel`` reply (an offer to
        keep the draft), else "Stopped: … Nothing was saved."."""
        flow = _REGISTRY.get(ended.flow)
        if flow is not None and flow.on_cancel is not None:
            reply = await flow.on_cancel(context, ended)
            if reply is not None:
                return reply
        return Reply(context.render("flows/cancelled", title=self._title(context, ended)))

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
                later = await self.idle(update, context)
                await self._edit_or_send(
                    update, context, query, context.render("flows/nothing_open")
                )
                await self._then(later)
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
        run = await self._restore(update, context, state, edit=query)
        if run is not None:
            await self._enter(
                update, context, flow, state, run.draft, flow.step(state.step), edit=query
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
            later = await self.idle(update, context)
            await message.reply_text(
                context.render(
                    "flows/expired",
                    title=self._title(context, state),
                    text=message.text or message.caption or "",
                )
            )
            await self._then(later)
            return True
        run = await self._restore(update, context, state, edit=None)
        if run is None:
            return True
        step = run.flow.step(state.step)
        if (
            message.document is not None
            and self._aside is not None
            and not isinstance(step.input, PhotoInput)
            and await self._aside(update, context)
        ):
            await self._ask(update, context, state, edit=None)
            return True
        value = await self._parse(run, step, message)
        if isinstance(value, Refusal):
            await message.reply_text(context.render(value.template, **value.params))
            if value.ask_again:
                await self._ask(update, context, state, edit=None)
            return True
        if isinstance(value, _Typed):
            draft = run.draft
            for name, words in value.extra.items():
                draft = draft.answered(name, words)
            run = replace(run, draft=draft)
            if value.stay:
                moved = await storage.advance_flow(
                    state.id,
                    state.version,
                    step=step.name,
                    data=draft.to_json(),
                    now=context.clock.now(),
                    update_id=update.update_id,
                )
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

    async def _parse(self, run: FlowRun[Any], step: Step[Any], message: Message) -> Any:
        kind = step.input
        text = (message.text or "").strip()
        if isinstance(kind, Choices):
            if kind.free_text and text:
                # Their own words beside the buttons; the question stays open for more taps.
                return _Typed(None, {f"{step.name}_text": text}, stay=True)
            return Refusal("flows/tap_a_button", {}, ask_again=True)
        if isinstance(kind, Buttons):
            options = await kind.resolve(run)
            chosen = match_option(run.context, options, text)
            if chosen is None and kind.other is not None and text and message.text:
                return _Typed(kind.other, {f"{step.name}_text": text})
            if chosen is None:
                return Refusal(
                    "flows/tap_a_button",
                    {"options": [label(run.context, o) for o in options]},
                    ask_again=True,
                )
            return chosen.value
        if isinstance(kind, PhotoInput):
            if message.photo:
                return {"file_id": message.photo[-1].file_id}
            document = message.document
            if document is not None and (document.mime_type or "").startswith("image/"):
                return {"file_id": document.file_id}
            return Refusal("flows/send_a_photo", ask_again=True)
        if not message.text:
            # A sticker, a voice note, a photo where words are asked: say so and ask again
            # (the question is far up the chat by now).
            return Refusal("flows/send_text", ask_again=True)
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
        self, run: FlowRun[Any], step: Step[Any], value: Any, *, edit: CallbackQuery | None
    ) -> None:
        """Store the answer and go on: the next question, or the end of the flow."""
        if edit is None and run.state.message_id is not None:
            # Answered by typing: the question's buttons (✖ at least) are of no use any more.
            await self._strip_buttons(run.context, run.state)
        run = replace(run, draft=run.draft.answered(step.name, value))
        following = self._following(run, step)
        context = run.context
        if following is None:
            await self._finish(run, edit=edit)
            return
        state = await context.storage.advance_flow(
            run.state.id,
            run.state.version,
            step=following.name,
            data=run.draft.to_json(),
            now=run.now,
            expires_at=run.now + run.flow.expiry(context.settings),
            update_id=run.update.update_id,
        )
        if state is None:  # someone (a double tap, a second device) was faster
            if edit is not None:
                await self.moved_on(run.update, context)
            return
        await self._enter(run.update, context, run.flow, state, run.draft, following, edit=edit)

    @staticmethod
    def _following(run: FlowRun[Any], step: Step[Any]) -> Step[Any] | None:
        """The next step that applies, skipping those whose ``skip`` says so. Pure: it only
        reads the draft (``next`` and ``skip`` may not change it)."""
        current: Step[Any] | None = step
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
        flow: Flow[Any],
        state: FlowState,
        draft: Any,
        step: Step[Any],
        *,
        edit: CallbackQuery | None,
    ) -> None:
        """Arrive at ``step``: skip it (finishing or moving on) if it does not apply, else run
        its ``on_enter`` hook and ask."""
        run = FlowRun(flow, state, update, context, draft)
        if step.skip is not None and step.skip(run):
            following = self._following(run, step)
            if following is None:
                await self._finish(run, edit=edit)
                return
            moved = await context.storage.advance_flow(
                state.id, state.version, step=following.name, data=draft.to_json(), now=run.now
            )
            if moved is None:
                return
            state, step = moved, following
            run = FlowRun(flow, state, update, context, draft)
        await self._answer(edit)
        if step.on_enter is not None:
            entered = await step.on_enter(run)
            if isinstance(entered, Reply):
                # The step cannot be asked (a file that cannot be read): the flow ends here.
                await context.storage.end_flow(
                    state.id, state.version, "done", now=run.now, update_id=update.update_id
                )
                later = await self.idle(update, context)
                await self._edit_or_send(update, context, edit, entered.text, entered.markup)
                await self._then(later)
                return
            stored = entered.to_json()
            if stored != draft.to_json():
                moved = await context.storage.advance_flow(
                    state.id, state.version, step=step.name, data=stored, now=run.now
                )
                if moved is None:
                    return
                state = moved
        await self._ask(update, context, state, edit=edit)

    async def _finish(self, run: FlowRun[Any], *, edit: CallbackQuery | None) -> None:
        context = run.context
        params = await run.flow.load(run)
        if params is None:
            await self._lose(run, edit=edit)
            return
        run.params = params
        reply = await run.flow.on_finish(run)
        ended = await context.storage.end_flow(
            run.state.id, run.state.version, "done", now=run.now, update_id=run.update.update_id
        )
        if ended is None and edit is not None:
            # A double tap finished it a moment ago (its write was keyed: nothing doubled).
            await self.moved_on(run.update, context)
            return
        later = await self.idle(run.update, context)
        await self._answer(edit)
        await self._edit_or_send(run.update, context, edit, reply.text, reply.markup)
        await self._then(later)

    async def _lose(self, run: FlowRun[Any], *, edit: CallbackQuery | None) -> None:
        """The flow can no longer go on (its case is no longer the person's): say so, keep text."""
        context = run.context
        await context.storage.end_flow(run.state.id, None, "dropped", now=run.now)
        message = run.update.effective_message
        typed = message.text if message is not None and edit is None and message.text else ""
        later = await self.idle(run.update, context)
        await self._answer(edit)
        await self._edit_or_send(
            run.update, context, edit, context.render(run.flow.lost, text=typed, data=run.draft)
        )
        await self._then(later)

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
        run = await self._restore(update, context, state, edit=edit)
        if run is None:
            return
        flow = run.flow
        step = flow.step(state.step)
        params = await flow.load(run)
        if params is None:
            await self._lose(run, edit=edit)
            return
        run.params = params
        known = step.known(run) if step.known is not None else None
        position = flow.steps.index(step) + 1
        text = context.render(
            step.prompt, **params, data=run.draft, known=known, progress=(position, len(flow.steps))
        )
        rows = await keyboard(run, step, known)
        pressed = edit.message.message_id if edit is not None and edit.message else None
        if state.message_id is not None and state.message_id != pressed:
            # The question moves to another message: the old one's buttons would only mislead.
            await self._strip_buttons(context, state)
        sent = await self._edit_or_send(update, context, edit, text, InlineKeyboardMarkup(rows))
        if sent is not None:
            await context.storage.set_flow_message(state.id, state.version, sent)

    async def _ask_conflict(
        self, update: Update, context: QingshouContext, current: FlowState, waiting: FlowState
    ) -> None:
        message = update.effective_message
        assert message is not None
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        context.label(N_("Continue")),
                        callback_data=CONFLICT.data(waiting.id, "keep"),
                    )
                ],
                [
                    InlineKeyboardButton(
                        context.label(N_("Drop it, start the new one")),
                        callback_data=CONFLICT.data(waiting.id, "new"),
                    )
                ],
            ]
        )
        same = current.flow == waiting.flow and current.case_id == waiting.case_id
        if same:
            flow = _REGISTRY[current.flow]
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            context.label(N_("Continue where I was")),
                            callback_data=CONFLICT.data(waiting.id, "keep"),
                        )
                    ],
                    [
                        InlineKeyboardButton(
                            context.label(N_("Start over")),
                            callback_data=CONFLICT.data(waiting.id, "new"),
                        )
                    ],
                ]
            )
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


ENGINE = Engine()
