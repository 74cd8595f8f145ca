"""What a flow is made of: its typed draft, its steps and their inputs, its hooks, its entry
points; and the registry of declared flows.

A flow reads top to bottom like a form (:class:`Flow`): the draft it fills (a dataclass, one
field per answer), named steps (prompt template, input kind, the domain validator, the next
step), how it starts (commands and buttons), how it loads what its prompts show, and the hooks
that act on the world, named for when they run (``on_enter`` of a step, ``on_finish``,
``on_abandon``). Choosing the next step (``next``, ``skip``, ``optional``) only reads the draft.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar

from telegram import InlineKeyboardMarkup, Update

from bot.callbacks import Route

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import QingshouContext
    from bot.storage import FlowState


#: Buttons per question at most (Telegram allows 100 per message; a phone shows far fewer).
MAX_OPTIONS = 90

#: The key of the draft's version in the stored JSON.
VERSION_KEY = "v"


# -- the draft ---------------------------------------------------------------------------------


class DraftLike(Protocol):
    """What the engine needs of a draft: read and write an answer by name, and a JSON form
    with a version (a stored draft of another version goes through ``from_legacy``)."""

    VERSION: ClassVar[int]

    def answer(self, name: str) -> Any: ...

    def answered(self, name: str, value: Any) -> Self: ...

    def to_json(self) -> dict[str, Any]: ...

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self: ...

    @classmethod
    def from_legacy(cls, data: Mapping[str, Any]) -> Self | None: ...


def _encode(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    return value


def decode_with(decode: Callable[[Any], Any]) -> dict[str, Any]:
    """The metadata of a draft field whose JSON form is read back with ``decode`` (a date, a
    nested value): ``plan: Plan | None = field(default=None, metadata=decode_with(...))``."""
    return {"decode": decode}


@dataclass(frozen=True, kw_only=True)
class Draft:
    """Base of a flow's typed draft: a frozen dataclass, one field per answer (the step of the
    same name writes it) and per fact the flow starts with.

    Stored as ``{"v": VERSION, field: json, ...}``; a field that is None is left out, as is a
    step not answered yet. Words the engine keeps beside an answer (``<step>_text`` of an
    "other" button, ``<step>_codes`` of a several-choice question, ``<step>_month`` of a
    calendar) are fields when the flow reads them, else kept in ``extra``. A draft stored by an
    older version is read by :meth:`from_legacy`; left as is, it cannot be read and the engine
    ends the flow with a message (``flows/outdated``), unless ``LEGACY_SAME_NAMES`` says the
    untyped rows of before used this draft's field names (then they load as they are).
    """

    VERSION: ClassVar[int] = 1
    #: The untyped rows stored before the flow had this draft used the same names: read them.
    LEGACY_SAME_NAMES: ClassVar[bool] = False

    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls) if f.name != "extra")

    def answer(self, name: str) -> Any:
        if name in self.field_names():
            return getattr(self, name)
        return self.extra.get(name)

    def answered(self, name: str, value: Any) -> Self:
        if name in self.field_names():
            return dataclasses.replace(self, **{name: value})
        return dataclasses.replace(self, extra={**self.extra, name: value})

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {VERSION_KEY: self.VERSION, **self.extra}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "extra" and value is not None:
                data[f.name] = _encode(value)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
        values: dict[str, Any] = {}
        for name, f in fields.items():
            raw = data.get(name)
            if raw is None:
                continue
            decode = f.metadata.get("decode")
            values[name] = decode(raw) if decode is not None else raw
        extra = {k: v for k, v in data.items() if k not in fields and k != VERSION_KEY}
        return cls(**values, extra=extra)

    @classmethod
    def from_legacy(cls, data: Mapping[str, Any]) -> Self | None:
        """A draft stored by an older version (without ``"v"``: an untyped row): this
        version's draft, or None when it cannot be continued."""
        return cls.from_json(data) if cls.LEGACY_SAME_NAMES else None


class Answers(dict[str, Any]):
    """The draft of a flow not (yet) given a dataclass: the answers by step name, as stored.
    It has no version: every stored row reads as it is."""

    VERSION: ClassVar[int] = 0

    def answer(self, name: str) -> Any:
        return self.get(name)

    def answered(self, name: str, value: Any) -> Self:
        return type(self)({**self, name: value})

    def to_json(self) -> dict[str, Any]:
        return dict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(data)

    @classmethod
    def from_legacy(cls, data: Mapping[str, Any]) -> Self | None:
        return cls(data)


if TYPE_CHECKING:
    from typing_extensions import TypeVar as TypeVarWithDefault

    #: The draft of a flow; a flow declared without one has :class:`Answers`.
    D = TypeVarWithDefault("D", bound=DraftLike, default=Answers)
else:
    D = TypeVar("D", bound=DraftLike)


def load_draft(draft: type[D], data: Mapping[str, Any]) -> D | None:
    """The stored JSON as ``draft``: of this version read as it is, of an older one through
    ``from_legacy``; None when it cannot be read (a newer version, a shape nothing reads)."""
    version = data.get(VERSION_KEY, 0) if draft.VERSION else 0
    try:
        if version == draft.VERSION:
            return draft.from_json(data)
        if isinstance(version, int) and version < draft.VERSION:
            return draft.from_legacy(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return None


# -- answers and their refusals ------------------------------------------------------------------


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
    #: The same answer in the other languages' words (a collector who chose 繁體 may still
    #: type the 简体 label, or the English one): typed text matching one is this option.
    aliases: tuple[str, ...] = ()


OptionsFn = Callable[["FlowRun[Any]"], Awaitable[Sequence[Option]]]
Validator = Callable[[Any, "FlowRun[Any]"], "Any | Refusal"]

#: Option codes the engine itself puts under questions (far above any id or index). A day of
#: the inline calendar is its proleptic ordinal (date.toordinal(), about 740 000).
LATER, KEEP, DONE, REST_LATER = 2**53, 2**53 - 1, 2**53 - 2, 2**53 - 3
MONTH_BACK, MONTH_ON, NOTHING = 2**53 - 4, 2**53 - 5, 2**53 - 6


async def resolve(
    options: Sequence[Option] | OptionsFn | None, run: FlowRun[Any]
) -> Sequence[Option]:
    if options is None:
        return ()
    if callable(options):
        return (await options(run))[:MAX_OPTIONS]
    return options


# -- input kinds ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Buttons:
    """Choose with a tap (or type the option's label or number). With ``other`` set, typed
    text that matches no option is the answer ``other`` and its words are kept beside it
    (``<step>_text``): "buttons for the common ones, plus text"."""

    options: Sequence[Option] | OptionsFn
    columns: int = 1
    other: Any = None

    async def resolve(self, run: FlowRun[Any]) -> Sequence[Option]:
        return await resolve(self.options, run)


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

    async def resolve(self, run: FlowRun[Any]) -> Sequence[Option]:
        return await resolve(self.options, run)


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
    validate: Callable[[date, FlowRun[Any]], date | Refusal] | None = None


@dataclass(frozen=True, slots=True)
class PhotoInput:
    """A photo (or an image sent as a file), stored as Telegram's file id (a receipt)."""


Input = Buttons | Choices | Text | Amount | DateInput | PhotoInput


# -- steps, replies, flows -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says at the end of a flow."""

    text: str
    markup: InlineKeyboardMarkup | None = None


#: Chooses the next step from the draft (pure: it may not change the draft or write anything).
NextFn = Callable[["FlowRun[D]"], "str | None"]
#: On arriving at a step, before it is asked: the draft to go on with (changed or not), or a
#: :class:`Reply` that ends the flow with that message instead.
EnterHook = Callable[["FlowRun[D]"], Awaitable["D | Reply"]]


@dataclass(frozen=True, slots=True)
class Step(Generic[D]):
    """One question; its answer goes into the draft field of the same name. ``next`` names the
    following step (a function may choose it from the draft); ``None`` finishes the flow; left
    out, the next step in the list follows (the last one finishes). ``skip`` leaves a step out
    when it does not apply (e.g. no reason is asked for a first lead)."""

    name: str
    prompt: str
    input: Input
    next: str | NextFn[D] | None = ""
    skip: Callable[[FlowRun[D]], bool] | None = None
    #: "⏭ Later": the step may be left unanswered (its answer is None; shown as unknown).
    optional: bool | Callable[[FlowRun[D]], bool] = False
    #: The answer the case already has (None: none): shown with "✓ Keep", never asked blind.
    known: Callable[[FlowRun[D]], Any] | None = None
    #: Steps of one part of a long interview; "⏩ Rest of this part later" skips to the next.
    section: str | None = None
    #: The side effect of arriving at the step (a dry run, a request written to the database),
    #: run each time the step is entered, before it is asked.
    on_enter: EnterHook[D] | None = None

    def is_optional(self, run: FlowRun[D]) -> bool:
        return self.optional(run) if callable(self.optional) else self.optional


#: Starts a flow on one case: the case already found and checked by the guard.
StartOnCase = Callable[[Update, "QingshouContext", Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    """``/name [words]``: an entry point of a flow."""

    name: str


@dataclass(frozen=True, slots=True)
class Button:
    """A button drawn elsewhere (a card, a list, a brief): an entry point of a flow. Its route
    carries the case id (or another id the flow's entry handler reads)."""

    route: Route


EntryPoint = Command | Button


@dataclass(frozen=True, slots=True)
class Entry:
    """How a flow is started: its commands and buttons, and the handlers that answer them
    (``handlers/__init__`` registers them from the flow, in the flow's place in the list)."""

    points: tuple[EntryPoint, ...]
    #: ``(update, context)`` for a command.
    command: Callable[[Update, QingshouContext], Coroutine[Any, Any, None]] | None = None
    #: ``(update, context, *route values)`` for a button.
    button: Callable[..., Coroutine[Any, Any, None]] | None = None


@dataclass(frozen=True, slots=True)
class Flow(Generic[D]):
    """A multi-step exchange, readable top to bottom like a form.

    ``draft`` is the dataclass the answers fill (:class:`Answers`, a plain dict, for a flow
    not given one). ``load`` gives the templates their parameters each time a question is
    shown and re-checks that the person may still do this (e.g. the case is still theirs):
    ``None`` ends the flow with the ``lost`` template, echoing what they typed. ``on_finish``
    performs the effect with ``run.key`` as its idempotency key and returns the closing
    message.
    """

    name: str
    title: str
    steps: tuple[Step[D], ...]
    on_finish: Callable[[FlowRun[D]], Awaitable[Reply]]
    load: Callable[[FlowRun[D]], Awaitable[dict[str, Any] | None]]
    lost: str
    draft: type[D] = Answers  # type: ignore[assignment]
    #: Commands and buttons that start the flow.
    entry: Entry | None = None
    expires: timedelta | Callable[[Settings], timedelta] = timedelta(hours=1)
    #: Asking for the same flow on the same case again offers "continue where you were /
    #: start over" instead of simply showing the open question.
    resumable: bool = False
    #: Called when the flow ends without finishing (cancelled, expired, dropped for another),
    #: to release what it holds (a pending import's stored file).
    on_abandon: Callable[[QingshouContext, FlowState], Awaitable[None]] | None = None
    #: Called when /cancel or ✖ has ended the flow (its ended state): what to say instead of
    #: "Stopped: … Nothing was saved." (an offer to keep the draft), or None for that.
    on_cancel: Callable[[QingshouContext, FlowState], Awaitable[Reply | None]] | None = None

    def expiry(self, settings: Settings) -> timedelta:
        return self.expires(settings) if callable(self.expires) else self.expires

    def step(self, name: str) -> Step[D]:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"flow {self.name} has no step {name!r}")

    @property
    def first(self) -> Step[D]:
        return self.steps[0]

    def load_draft(self, data: Mapping[str, Any]) -> D | None:
        return load_draft(self.draft, data)


@dataclass(slots=True)
class FlowRun(Generic[D]):
    """One moment of a flow: the update being handled, the flow's stored state and its draft."""

    flow: Flow[D]
    state: FlowState
    update: Update
    context: QingshouContext
    draft: D
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> D:
        """The draft (for a flow without a dataclass draft: the answers by name, a dict)."""
        return self.draft

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


_REGISTRY: dict[str, Flow[Any]] = {}


def register(flow: Flow[D]) -> Flow[D]:
    """Declare a flow (module level in its handler file)."""
    if flow.name in _REGISTRY:
        raise ValueError(f"flow {flow.name!r} declared twice")
    names = [s.name for s in flow.steps]
    if len(set(names)) != len(names):
        raise ValueError(f"flow {flow.name!r} repeats a step name")
    for s in flow.steps:
        if isinstance(s.next, str) and s.next and s.next not in names:
            raise ValueError(f"flow {flow.name!r}: step {s.name} goes to unknown {s.next!r}")
    if isinstance(flow.draft, type) and issubclass(flow.draft, Draft):
        missing = set(names) - flow.draft.field_names()
        if missing:
            raise ValueError(f"flow {flow.name!r}: no draft field for {sorted(missing)}")
    _REGISTRY[flow.name] = flow
    return flow


def flows() -> Mapping[str, Flow[Any]]:
    return dict(_REGISTRY)


def registered(name: str) -> Flow[Any] | None:
    return _REGISTRY.get(name)
