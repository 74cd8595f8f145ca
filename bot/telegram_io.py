"""The bot's side of the wire: a durable inbox, throttling, retries and deferred sends.

**Inbox.** python-telegram-bot confirms updates to Telegram (the next ``getUpdates`` offset) as
soon as it has fetched them, before they are handled: whatever was queued in memory is gone on a
crash. :class:`InboxRequest` is the request object PTB uses only for ``getUpdates``; it writes
every update it receives to the database *before* PTB sees it, so the offset can never move past
an update that is not stored (a webhook stores it the same way before answering 200:
:mod:`bot.webhook`). :class:`PerChatUpdateProcessor` handles a chat's stored updates oldest
first under the chat's lease in the database, so several replicas on one database never handle
one chat's updates at once or out of order, and marks each done; on start-up, and every
``Settings.sweep_interval``, :func:`replay_inbox` queues a cue for every chat with stored
updates nobody holds (a crash, here or on a replica that is gone). An update that cannot even
be parsed (a poison update) is set aside once, logged without its content, and replaced by an
empty one so the offset moves on. An update that was handled but not marked (killed in
between) is handled again, so state changes are idempotent (the flow engine's compare-and-set,
idempotency keys).

**Sends.** Telegram answers floods with 429 and ``retry_after``, has 5xx hiccups, and sometimes
does not answer in time. The rate limiter (which PTB routes every call except ``getUpdates``
through) keeps under the limits before sending and retries after a failure. What still cannot
be sent (a long 429, an outage) is not lost: it is written to the outbox as a deferred call and
sent by the outbox tick when Telegram accepts again, and every later send to that chat queues
behind it, so the chat keeps its order. 400 (our bug) and 403 (the user blocked the bot) are
raised, not retried.

Delivery is at least once: when Telegram performed a send but its answer was lost (a read
time-out), the retry shows the message twice. A lost reply is worse for a collector than a
repeated one, so time-outs are retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor
from telegram.request import HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.storage.records import NewOutboxMessage

if TYPE_CHECKING:
    from telegram import Bot, InlineKeyboardMarkup
    from telegram.ext import Application

    from bot.context import QingshouContext
    from bot.storage import InboxItem, OutboxCall, Storage

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
_SENDING_PREFIXES = ("send", "edit", "copy", "forward")
_STALE_QUERY = "query is too old"
#: Calls that may wait in the outbox: their parameters are plain JSON (no file uploads) and
#: they still make sense later. An answerCallbackQuery expires in seconds: never deferred.
DEFERRABLE = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendPhoto",
        "sendDocument",
        "deleteMessage",
    }
)
#: An update whose handling never finished this many times is set aside instead of replayed
#: again. A process killed from outside looks the same as one that an update crashed, and under
#: flood control one update can be in flight across several kills: so not too few.
MAX_ATTEMPTS = 10


def wake(context: QingshouContext) -> None:
    """Deliver the outbox now rather than at its next tick: someone waits for what was just
    written into it (an approval request, the supervisor's answer). The delivery is the outbox
    sender's (reminders/outbox.py), handed to ``BotData.outbox_wake`` by the composition root;
    without one the row goes out at the next tick, as after a wake lost to a crash."""
    start = context.bot_data.outbox_wake
    if start is not None:
        start(context)


def message_call(chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> OutboxCall:
    """A sendMessage to write into the outbox beside the change it tells of (made later by the
    outbox as stored): the text as rendered (the renderer fitted it), with the bot's defaults
    — HTML, no link preview — written out, since a stored call does not get them."""
    from bot.storage import OutboxCall

    payload: JSONDict = {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if markup is not None:
        payload["reply_markup"] = markup.to_dict()
    return OutboxCall(chat_id, "sendMessage", payload)


def drop_stray_parse_mode(data: dict[str, Any]) -> None:
    """Keep ``parse_mode`` only on a call with a text or a caption for it to parse.

    python-telegram-bot's message methods share one helper that gives every call the parse mode
    of the bot's ``Defaults`` (HTML), ``editMessageReplyMarkup`` included, which has no such
    parameter in the Bot API (nor have sendLocation, sendDice, forwardMessage...): Telegram
    ignores it, the emulator records it and the tests fail on it.
    """
    if "parse_mode" in data and "text" not in data and "caption" not in data:
        del data["parse_mode"]


StorageRef = Callable[[], "Storage | None"]
Clock = Callable[[], datetime]

#: Set while the outbox delivers a deferred call, so that a failure is reported to the outbox
#: (which retries later) instead of being deferred a second time.
delivering: contextvars.ContextVar[bool] = contextvars.ContextVar("delivering", default=False)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def chat_of(update: JSONDict) -> int | None:
    """The chat an update belongs to (private chats: the person), from its raw JSON."""
    for key in ("message", "edited_message", "callback_query"):
        part = update.get(key)
        if isinstance(part, dict):
            if key == "callback_query":
                message = part.get("message")
                if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                    return _int(message["chat"].get("id"))
                sender = part.get("from")
                return _int(sender.get("id")) if isinstance(sender, dict) else None
            chat = part.get("chat")
            return _int(chat.get("id")) if isinstance(chat, dict) else None
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


#: Marks the stand-in python-telegram-bot parses for an update the inbox parsed already.
_PARSED = "qingshou_inbox_parsed"


class InboxRequest(HTTPXRequest):
    """The ``getUpdates`` request: store what Telegram sent before python-telegram-bot sees it.

    If the write fails, the call fails: PTB retries ``getUpdates`` with the old offset, so
    Telegram keeps the updates until they are stored.

    Each update is parsed once, here (to set a poison update aside before PTB chokes on it).
    With :attr:`bot` set, PTB gets a marked stand-in holding only the update's id (cheap to
    parse, and it moves the offset the same), and :class:`InboxQueue` puts the update parsed
    here in its place (issue 17: the update was parsed twice).
    """

    def __init__(self, storage: StorageRef, clock: Clock = _utcnow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._storage = storage
        self._clock = clock
        #: Updates set aside because they could not be parsed (counted for tests and logs).
        self.poison = 0
        #: The bot updates are parsed for (set by the composition root once it is built).
        self.bot: Bot | None = None
        #: Updates parsed here and not yet handed to the application, by id.
        self.parsed: dict[int, Update] = {}

    def take(self, update: Update) -> Update:
        """The update parsed here for PTB's stand-in; any other update as it is."""
        if not update.api_kwargs.get(_PARSED):
            return update
        parsed = self.parsed.pop(update.update_id, None)
        if parsed is None:  # pragma: no cover - only if PTB parsed an answer twice
            log.error("update %s: parsed copy missing", update.update_id)
            return update
        return parsed

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        status, payload = await super().do_request(url, method, *args, **kwargs)
        storage = self._storage()
        if status != 200 or storage is None or not url.endswith("/getUpdates"):
            return status, payload
        try:
            answer = json.loads(payload)
        except ValueError:
            return status, payload  # PTB reports the broken answer itself
        updates = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(updates, list) or not updates:
            return status, payload
        payload_out = await self._store(storage, answer, updates)
        return status, payload_out

    async def _store(self, storage: Storage, answer: JSONDict, updates: list[Any]) -> bytes:
        stored = await store_updates(storage, updates, self.bot, now=self._clock())
        self.poison += stored.poison
        cleaned: list[Any] = []
        for raw in updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                continue
            parsed = stored.parsed.get(update_id)
            if parsed is None:
                cleaned.append({"update_id": update_id})  # set aside: only moves the offset
            elif self.bot is None:
                cleaned.append(raw)
            else:
                self.parsed[update_id] = parsed
                cleaned.append({"update_id": update_id, _PARSED: True})
        answer["result"] = cleaned
        return json.dumps(answer, ensure_ascii=False).encode()


class Stored:
    """What :func:`store_updates` made of a batch: the updates parsed (by id, in order), the
    ids new to the inbox, and how many were set aside as unparseable."""

    __slots__ = ("new", "parsed", "poison")

    def __init__(self) -> None:
        self.parsed: dict[int, Update] = {}
        self.new: list[int] = []
        self.poison = 0


async def store_updates(
    storage: Storage, updates: list[Any], bot: Bot | None, *, now: datetime
) -> Stored:
    """Write updates as Telegram sent them (raw JSON) to the inbox, in one statement, and parse
    each once; one that cannot be parsed (a poison update) is set aside, logged by id only.
    Both ways in share it: the getUpdates answer (:class:`InboxRequest`) and the webhook
    (:mod:`bot.webhook`), which answers Telegram only after this returned."""
    from bot.storage import InboxUpdate

    result = Stored()
    rows: list[InboxUpdate] = []
    poison: list[int] = []
    for raw in updates:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            # Without an id there is nothing to store or acknowledge: drop it, say so.
            log.error("Telegram sent an update without an id; ignored")
            continue
        rows.append(InboxUpdate(update_id, chat_of(raw), json.dumps(raw, ensure_ascii=False)))
        try:
            result.parsed[update_id] = Update.de_json(raw, bot)
        except Exception:
            poison.append(update_id)
    result.new = await storage.store_updates(rows, now=now)
    for update_id in poison:
        # Logged by id only: the content is what borrowers' collectors typed.
        log.error("update %s cannot be parsed; set aside", update_id)
        await storage.set_aside_update(update_id, "cannot be parsed", now=now)
        result.poison += 1
    return result


class InboxQueue(asyncio.Queue[object]):
    """The application's update queue: what PTB's updater puts in is swapped for the update
    the inbox parsed (:meth:`InboxRequest.take`)."""

    def __init__(self, inbox: InboxRequest) -> None:
        super().__init__()
        self._inbox = inbox

    def put_nowait(self, item: object) -> None:  # ``put`` ends here too
        super().put_nowait(self._inbox.take(item) if isinstance(item, Update) else item)


#: A place of the shared send window is held at most this long by a call still on its way
#: (a killed replica's place frees itself then), and counts this long after the call's answer
#: (Telegram counted the send at some moment before it; a little over a second for clocks).
PLACE_TTL = timedelta(seconds=60)
PLACE_AFTER = timedelta(seconds=1.05)
_HELD = object()
#: How long an outbox send waits for its chat's flood control before giving the row back.
OUTBOX_HOLD_WAIT = 30.0
#: Above this many messages a second the limiter is a test's or a bench's "no limit" (Telegram
#: allows 30): no shared window in the database then, whose places are rows (a million of
#: them made every send scan a million-row table: 60 ms of CPU per update in bench.run_all).
MAX_SHARED_PLACES = 1000


def _chat_key(value: Any) -> Any:
    """A call's chat as an int when it is one: a deferred call made again from the outbox
    carries its parameters JSON-encoded ("100001"), and must meet the same holds and pace."""
    if isinstance(value, str) and value.lstrip("-").isdecimal():
        return int(value)
    return value


class _BehindCalls(Exception):
    """The chat has deferred calls waiting in the outbox: this reply queues behind them."""


@dataclass(frozen=True, slots=True)
class _Wait:
    """The chat has used its pace: ask again after this long (its place in the window
    given up meanwhile, so other chats' sends go on)."""

    seconds: float


@dataclass(slots=True)
class _Turn:
    """A send's turn: its entry in this process's window, its place in the shared one."""

    entry: list[float]
    place: int | None


class ResilientRateLimiter(BaseRateLimiter[int]):
    """Throttle sends (per chat, then overall), retry 429, 5xx and time-outs, defer the rest.

    Telegram counts the messages that *reach* it in any one second (30 per bot). A send is
    counted here from the moment it takes its slot until one second after its answer came
    back: it reached Telegram somewhere in between, so however late the call leaves (a busy
    event loop, a slow connection) or answers, no second at Telegram's end can hold more sends
    than this window allows (``overall_per_second``, 30). The two lanes share that window:
    the outbox's sends (made while :data:`delivering` is set: fan-outs, notifications) are
    paced evenly at ``bulk_per_second`` and leave one place of the window free; everything
    else (a reply to a person) goes as soon as the window has room, ahead of every outbox send
    still waiting. So a /help during a 500-message fan-out does not wait behind it, and the two
    together never exceed the limit.

    **Several replicas.** With storage, the window is also the database's (``send_places``):
    each send holds one of :attr:`places` places there the same way, so all replicas together
    stay under Telegram's 30 a second. A budget in the database rather than a lease-elected
    sender: every replica replies to the people whose updates it handles, at once, without
    handing its replies to another process (which would add a hop, or leave replies outside
    the budget); it costs two one-statement writes per send, and a killed replica's places
    free themselves (their ``until``) or at its restart.

    ``rate_limit_args`` (an int) overrides the number of retries for one call. A 429 on a send
    to a chat holds that chat only (every replica: ``chat_pace``) until its ``retry_after``
    has passed — Telegram's per-chat limit; the overall one is ours to keep — and a 429 on any
    other call pauses every send. A ``retry_after`` longer than ``max_retry_after`` is not
    waited out. A send that still fails goes to the outbox when :attr:`storage` is set (see
    the module docstring).
    """

    def __init__(
        self,
        *,
        overall_per_second: float = 30.0,
        bulk_per_second: float | None = None,
        per_chat_per_second: float = 1.0,
        per_chat_burst: int = 3,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 120.0,
    ) -> None:
        bulk = overall_per_second * 0.985 if bulk_per_second is None else bulk_per_second
        bulk = min(bulk, overall_per_second)
        self._bulk_gap = 1.0 / bulk  # the outbox lane's even pace
        self._next_bulk = 0.0  # monotonic time of its next slot
        self._bulk_turn = asyncio.Lock()  # outbox sends wait for a free slot one at a time
        #: Every send still counted, both lanes: [until] (inf while the call is on its way,
        #: then one second after its answer). Never more than the window's places.
        self._window: list[list[float]] = []
        self._per_window = max(1, int(overall_per_second))
        # The outbox lane leaves one place for a reply (when the window holds more than one).
        self._bulk_window = max(1, min(int(bulk), self._per_window - 1))
        #: Sends made since start, per lane (tests and the bench read it).
        self.sent: dict[str, int] = {"interactive": 0, "bulk": 0}
        self._per_chat_rate = per_chat_per_second
        self._per_chat_burst = per_chat_burst
        self._chats: dict[Any, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._max_retry_after = max_retry_after
        self._paused_until = 0.0
        #: Retries made since start, by cause; read by tests and the bench.
        self.retries: dict[str, int] = {"429": 0, "network": 0, "timeout": 0}
        #: Where undeliverable sends wait (set by the application once storage is open).
        self.storage: StorageRef = lambda: None
        self.clock: Clock = _utcnow
        #: Chats with deferred calls still waiting: their new sends queue behind them.
        self.deferred_chats: set[int] = set()
        #: Calls deferred since start (tests and the bench read it).
        self.deferred = 0
        #: Callback queries answered lately, so that the error handler never answers twice.
        self._answered: dict[str, None] = {}
        #: This replica's name on its places in the shared send window (Settings.instance).
        self.holder = "qingshou"
        #: Places of the shared send window (Telegram's messages per second, all replicas);
        #: 0: none (an unlimited pace, see MAX_SHARED_PLACES).
        self.places = self._per_window if self._per_window <= MAX_SHARED_PLACES else 0
        #: Chats under Telegram's flood control, until (monotonic): only their sends wait.
        self._chat_holds: dict[int, float] = {}
        self._window_trouble_logged = 0.0
        #: Releases of shared send places on their way (kept, so none is garbage-collected).
        self._releasing: set[asyncio.Task[None]] = set()

    def was_answered(self, callback_query_id: str) -> bool:
        """Whether this button press has been answered already (a toast cannot come twice)."""
        return callback_query_id in self._answered

    def _note_answer(self, data: dict[str, Any]) -> None:
        query_id = data.get("callback_query_id")
        if isinstance(query_id, str):
            self._answered[query_id] = None
            if len(self._answered) > 10_000:  # oldest first: dicts keep insertion order
                for old in list(self._answered)[:5_000]:
                    del self._answered[old]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Let the releases of send places on their way finish."""
        if self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)

    async def load_deferred(self) -> None:
        """Learn which chats still have deferred calls waiting (at start-up)."""
        storage = self.storage()
        if storage is not None:
            self.deferred_chats = set(await storage.deferred_chats())

    def _chat_limiter(self, chat_id: Any) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if len(self._chats) > 10_000:
                # Forget chats whose bucket is full again: they would start fresh anyway.
                self._chats = {
                    k: v for k, v in self._chats.items() if not v.has_capacity(self._per_chat_burst)
                }
            # 10 % under Telegram's pace: clocks differ and a request is counted on arrival.
            period = self._per_chat_burst / (self._per_chat_rate * 0.9)
            limiter = AsyncLimiter(self._per_chat_burst, period)
            self._chats[chat_id] = limiter
        return limiter

    async def _wait_turn(self, chat_id: Any) -> _Turn:
        """Wait for this send's turn; the returned turn is the caller's to close
        (:meth:`_done`) when the call has answered or failed. Raises :class:`RetryAfter` when
        the chat is held by flood control longer than :attr:`_max_retry_after`, and
        :class:`_BehindCalls` when the chat has deferred calls waiting (another replica's)."""
        # The chat's own pace first, so that one busy chat queues behind itself, not in front
        # of everyone; the overall slot is taken last, just before the call.
        if chat_id is not None and (self.storage() is None or not self.places):
            # With storage the chat's pace is the database's, shared by every replica.
            await self._chat_limiter(chat_id).acquire()
        while True:
            await self._wait_for_chat(chat_id)
            # A 429 may extend the pause while we sleep, so look again after each sleep.
            while (pause := self._paused_until - time.monotonic()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(pause)
            bulk = delivering.get()
            entry = await (self._bulk_slot() if bulk else self._interactive_slot())
            try:
                shared = await self._shared_place(chat_id, bulk)
            except BaseException:
                self._window.remove(entry)  # never sent: it does not count
                raise
            if isinstance(shared, _Wait):
                self._window.remove(entry)
                await asyncio.sleep(shared.seconds)
                continue
            if shared is not _HELD:
                return _Turn(entry, shared if isinstance(shared, int) else None)
            self._window.remove(entry)

    async def _wait_for_chat(self, chat_id: Any) -> None:
        """Wait out this replica's knowledge of the chat's flood control."""
        if not isinstance(chat_id, int):
            return
        # The outbox waits a little longer than a reply (it has nobody waiting on the other
        # side, and a row given back is tried again only at its next time).
        most = self._max_retry_after
        if delivering.get():
            most = max(most, OUTBOX_HOLD_WAIT)
        while (held := self._chat_holds.get(chat_id, 0.0) - time.monotonic()) > 0:
            if held > most:
                raise RetryAfter(int(held) + 1)
            await asyncio.sleep(held)
        self._chat_holds.pop(chat_id, None)

    async def _shared_place(self, chat_id: Any, bulk: bool) -> int | _Wait | object | None:
        """A place in the database's send window (None: no storage, or it failed — this
        process's own window still holds); :data:`_HELD` when the chat turned out to be held
        by flood control (known now, so :meth:`_wait_for_chat` waits)."""
        from bot.storage import StorageError

        storage = self.storage()
        if storage is None or not self.places:
            return None
        chat = chat_id if isinstance(chat_id, int) else None
        keep = 1 if bulk and self.places > 1 else 0
        while True:
            now = _utcnow()
            try:
                turn = await storage.take_send_place(
                    holder=self.holder,
                    now=now,
                    ttl=PLACE_TTL,
                    places=self.places,
                    keep_free=keep,
                    chat_id=chat,
                    behind_calls=chat is not None and not bulk,
                    # 10 % under Telegram's pace: clocks differ, a request counts on arrival.
                    chat_rate=self._per_chat_rate * 0.9,
                    chat_burst=self._per_chat_burst,
                )
            except StorageError as exc:
                if time.monotonic() - self._window_trouble_logged > 60:
                    self._window_trouble_logged = time.monotonic()
                    log.warning("shared send window unavailable (%s): own pace only", exc)
                return None
            if turn.place is not None:
                return turn.place
            if turn.behind_calls:
                raise _BehindCalls
            wait = 0.01 if turn.wait_until is None else (turn.wait_until - now).total_seconds()
            if turn.chat_held and chat is not None:
                self._chat_holds[chat] = time.monotonic() + max(wait, 0.0)
                return _HELD
            if turn.chat_paced:
                return _Wait(max(wait, 0.001))  # the chat's next token, out of the window
            # Places free a second after their answer: look again soon, not at the end of a
            # place still on its way (its until is the time-out).
            await asyncio.sleep(min(max(wait, 0.005), 0.05))

    def _room(self, now: float, places: int) -> float:
        """How long until the window holds fewer than ``places`` sends (0: now)."""
        window = self._window = [entry for entry in self._window if entry[0] > now]
        if len(window) < places:
            return 0.0
        ends = sorted(entry[0] for entry in window)
        until = ends[len(window) - places]
        # Places still on their way free up when their answer comes: look again shortly.
        return until - now if until != float("inf") else 0.005

    def _take(self, now: float, lane: str) -> list[float]:
        entry = [float("inf")]
        self._window.append(entry)
        self.sent[lane] += 1
        return entry

    async def _done(self, turn: _Turn) -> None:
        # Telegram counted the send at some moment before its answer came back.
        turn.entry[0] = time.monotonic() + 1.0
        storage = self.storage()
        if turn.place is None or storage is None:
            return
        # In the background: the caller (a handler that just replied) goes on at once.
        task = asyncio.get_running_loop().create_task(
            self._release(storage, turn.place, _utcnow() + PLACE_AFTER)
        )
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release(self, storage: Storage, place: int, until: datetime) -> None:
        try:
            await storage.release_send_place(place, holder=self.holder, until=until)
        except Exception as exc:  # the place frees itself at its time-out
            log.warning("send place %s not released: %s", place, exc)

    async def _interactive_slot(self) -> list[float]:
        # As soon as the window has room: the outbox lane always leaves a place free, so a
        # reply does not wait for the fan-out (booked again if a 429 paused everything).
        while True:
            now = time.monotonic()
            wait = max(self._paused_until - now, self._room(now, self._per_window))
            if wait <= 0:
                return self._take(now, "interactive")
            await asyncio.sleep(wait)

    async def _bulk_slot(self) -> list[float]:
        # One at a time, evenly paced (the schedule catches up half a gap after a late
        # wake-up, else a loaded machine loses a few percent), and only while the window keeps
        # a place free for a reply.
        async with self._bulk_turn:
            while True:
                now = time.monotonic()
                wait = max(
                    self._paused_until - now,
                    self._next_bulk - now,
                    self._room(now, self._bulk_window),
                )
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self._next_bulk = max(self._next_bulk, now - self._bulk_gap / 2) + self._bulk_gap
            return self._take(now, "bulk")

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        # Every call but getUpdates passes here, on its way out or into the outbox: ``data`` is
        # what python-telegram-bot then sends.
        drop_stray_parse_mode(data)
        max_retries = self._max_retries if rate_limit_args is None else rate_limit_args
        sending = endpoint.startswith(_SENDING_PREFIXES)
        chat_id = _chat_key(data.get("chat_id"))
        if (
            sending
            and not delivering.get()
            and isinstance(chat_id, int)
            and chat_id in self.deferred_chats
        ):
            # Earlier sends to this chat are still waiting: keep the order, wait behind them.
            deferred = await self._defer(endpoint, data, chat_id, "queued behind deferred sends")
            if deferred is not None:
                return deferred
        delay = self._backoff
        one_chat = chat_id if sending and isinstance(chat_id, int) else None
        for attempt in range(max_retries + 1):
            try:
                turn = await self._wait_turn(chat_id) if sending else None
            except RetryAfter as exc:  # the chat is held longer than a send waits
                deferred = await self._defer_or_none(endpoint, data, chat_id, exc)
                if deferred is not None:
                    return deferred
                raise
            except _BehindCalls:
                deferred = None
                if one_chat is not None:
                    deferred = await self._defer(endpoint, data, one_chat, "queued behind calls")
                if deferred is not None:
                    return deferred
                turn = None  # not deferrable (an upload): it goes now
            try:
                try:
                    result = await callback(*args, **kwargs)
                finally:
                    if turn is not None:
                        await self._done(turn)
                if endpoint == "answerCallbackQuery":
                    self._note_answer(data)
                return result
            except RetryAfter as exc:
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                if one_chat is not None:
                    # Telegram's limit for one chat: that chat waits, every replica's sends
                    # to it too; everyone else goes on.
                    await self._hold_chat(one_chat, seconds + 0.05)
                else:
                    self._paused_until = max(self._paused_until, time.monotonic() + seconds + 0.05)
                if attempt == max_retries or seconds > self._max_retry_after:
                    deferred = await self._defer_or_none(endpoint, data, chat_id, exc)
                    if deferred is not None:
                        return deferred
                    raise
                self.retries["429"] += 1
                if one_chat is not None:
                    log.warning(
                        "%s: flood control for chat %s, its sends wait %.1fs",
                        endpoint,
                        chat_id,
                        seconds,
                    )
                    continue  # the next turn waits for the chat's hold
                log.warning("%s: flood control, all sends wait %.1fs", endpoint, seconds)
                await asyncio.sleep(seconds + 0.05)
            except BadRequest as exc:
                if endpoint == "answerCallbackQuery" and _STALE_QUERY in str(exc).lower():
                    # A replayed press (handled before a crash) or one answered too late:
                    # the spinner is long gone, and nothing else depends on the answer.
                    log.info("callback answer skipped: %s", exc)
                    return True
                raise
            except (TimedOut, NetworkError) as exc:
                if attempt == max_retries:
                    deferred = await self._defer_or_none(endpoint, data, chat_id, exc)
                    if deferred is not None:
                        return deferred
                    raise
                self.retries["timeout" if isinstance(exc, TimedOut) else "network"] += 1
                log.warning("%s: %s, retry %d in %.1fs", endpoint, exc, attempt + 1, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _hold_chat(self, chat_id: int, seconds: float) -> None:
        self._chat_holds[chat_id] = max(
            self._chat_holds.get(chat_id, 0.0), time.monotonic() + seconds
        )
        storage = self.storage()
        if storage is not None:
            try:
                await storage.hold_chat(chat_id, until=_utcnow() + timedelta(seconds=seconds))
            except Exception as exc:  # this replica still knows
                log.warning("flood control of chat %s not shared: %s", chat_id, exc)

    async def _defer_or_none(
        self, endpoint: str, data: dict[str, Any], chat_id: Any, error: Exception
    ) -> bool | JSONDict | None:
        if delivering.get() or not isinstance(chat_id, int) or endpoint not in DEFERRABLE:
            return None
        return await self._defer(endpoint, data, chat_id, str(error))

    async def _defer(
        self, endpoint: str, data: dict[str, Any], chat_id: int, why: str
    ) -> bool | JSONDict | None:
        """Write the call to the outbox; return what the caller can go on with, or None."""
        storage = self.storage()
        if storage is None or endpoint not in DEFERRABLE:
            return None
        request = RequestData([RequestParameter.from_input(k, v) for k, v in data.items()])
        if request.contains_files:
            return None  # an upload cannot wait in the database
        payload = {k: v for k, v in request.json_parameters.items() if v is not None}
        now = self.clock()
        await storage.defer_call(chat_id, endpoint, payload, now=now)
        self.deferred_chats.add(chat_id)
        self.deferred += 1
        log.warning("%s to chat %s deferred to the outbox: %s", endpoint, chat_id, why)
        if endpoint.startswith("send"):
            # The caller gets a message without an id (0): nothing to edit later.
            return {
                "message_id": 0,
                "date": int(now.timestamp()),
                "chat": {"id": chat_id, "type": "private"},
                "text": str(data.get("text", "")),
            }
        return True


class _ChatQueue:
    """One chat's turn-taking: the lock, and how many updates hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


@dataclass(frozen=True, slots=True)
class InboxWork:
    """A stored update to look at, put in the application's queue by the inbox's sweep (at
    start-up and every ``Settings.sweep_interval``): its chat's pending updates are handled,
    oldest first, by whoever gets the chat's lease."""

    chat_id: int | None
    update_id: int


#: How long a chat's lease is this replica's without renewal (renewed every third of it while
#: an update of the chat is handled): another replica takes the chat over after a crash once
#: it runs out; the same replica restarted takes it back at once.
CHAT_LEASE = timedelta(seconds=15)


def chat_of_update(update: Update) -> int | None:
    """The chat an update belongs to, as :func:`chat_of` reads it from the raw JSON."""
    message = update.message or update.edited_message
    if message is not None:
        return message.chat.id
    query = update.callback_query
    if query is not None:
        if query.message is not None:
            return query.message.chat.id
        return query.from_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run in parallel; one chat's updates run in arrival order,
    one at a time — across every replica on the database.

    A collector who double-taps a button or sends two messages quickly must see them handled
    one after the other (the second sees what the first wrote), while a slow import for one
    supervisor never holds up anyone else. With storage, an update that arrives (polled, or
    posted to the webhook, of this replica or another) is only a cue: the replica takes the
    chat's lease in the database and handles the chat's oldest pending update, then the next,
    until none is left (:meth:`ReplicaStore.claim_chat`); another replica holding the chat
    meanwhile handles it instead. Within the process an asyncio lock per chat keeps two of its
    own tasks from sharing one lease. An update handled already (Telegram sent it again) is
    not pending: nothing happens.
    """

    def __init__(
        self,
        max_concurrent_updates: int = 64,
        *,
        storage: StorageRef | None = None,
        clock: Clock = _utcnow,
        holder: str = "qingshou",
        lease: timedelta = CHAT_LEASE,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, _ChatQueue] = {}
        self._storage: StorageRef = storage or (lambda: None)
        self._clock = clock
        #: Leases are kept on real time (never the application's clock, which a test may
        #: freeze or the sandbox move by days): every replica compares the same times.
        self._lease = lease
        #: This replica's name on the leases it takes (Settings.instance).
        self.holder = holder
        #: The application whose handlers run the updates (set by the composition root).
        self.app: Application[Any, Any, Any, Any, Any, Any] | None = None
        #: Cues that found nothing to do (handled already, or another replica had the chat).
        self.skipped = 0
        #: Updates handled by this process (tests and the bench read it).
        self.handled = 0

    def busy(self, chat_id: int) -> bool:
        """Whether this process is at work on the chat (the sweep leaves it alone)."""
        return chat_id in self._chats

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        storage = self._storage()
        if isinstance(update, InboxWork):
            _close(coroutine)
            if storage is not None:
                await self._work(storage, update.chat_id, update.update_id, None)
            return
        if storage is None or not isinstance(update, Update) or self.app is None:
            await self._in_order(update, coroutine)
            return
        _close(coroutine)
        await self._work(storage, chat_of_update(update), update.update_id, update)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Without storage (a bare application in a test): the process's own order per chat."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        async with self._chat_turn(chat.id):
            await coroutine

    @contextlib.asynccontextmanager
    async def _chat_turn(self, chat_id: int) -> AsyncIterator[None]:
        entry = self._chats.get(chat_id)
        if entry is None:
            entry = self._chats[chat_id] = _ChatQueue()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._chats[chat_id]

    async def _work(
        self, storage: Storage, chat_id: int | None, update_id: int, update: Update | None
    ) -> None:
        known = {update_id: update} if update is not None else {}
        if chat_id is None:
            item = await storage.claim_lone_update(
                update_id, holder=self.holder, now=_utcnow(), lease=self._lease
            )
            if item is None:
                self.skipped += 1
                return
            if await self._handle(storage, item, known):
                await storage.finish_update(item.update_id, now=self._clock())
            return
        async with self._chat_turn(chat_id):
            await self._drain(storage, chat_id, known)

    async def _drain(self, storage: Storage, chat_id: int, known: dict[int, Update]) -> None:
        """Handle the chat's pending updates, oldest first, while this replica holds its lease."""
        item = await storage.claim_chat(
            chat_id, holder=self.holder, now=_utcnow(), lease=self._lease
        )
        if item is None:
            self.skipped += 1
            return
        keeper = asyncio.create_task(self._keep_lease(storage, chat_id))
        try:
            while item is not None:
                done = await self._handle(storage, item, known)
                item = await storage.claim_chat(
                    chat_id,
                    holder=self.holder,
                    now=_utcnow(),
                    lease=self._lease,
                    finished=item.update_id if done else None,
                    handled_at=self._clock(),
                )
        except BaseException:
            # The update stays pending (its attempt counted); the sweep tries it again, here
            # or on another replica.
            with contextlib.suppress(Exception):
                await storage.release_chat(chat_id, holder=self.holder)
            raise
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep_lease(self, storage: Storage, chat_id: int) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                until = _utcnow() + self._lease
                if not await storage.renew_chat(chat_id, holder=self.holder, until=until):
                    log.warning("chat %s: lease lost while its update was handled", chat_id)
                    return
            except Exception:  # the update goes on; at worst another replica waits less
                log.exception("chat %s: lease not renewed", chat_id)

    async def _handle(self, storage: Storage, item: InboxItem, known: dict[int, Update]) -> bool:
        """Run one claimed update through the handlers; True when it is to be marked handled
        (False: set aside instead)."""
        update = known.pop(item.update_id, None)
        if update is None:
            bot = self.app.bot if self.app is not None else None
            try:
                update = Update.de_json(json.loads(item.payload), bot)
            except Exception:
                log.error("stored update %s cannot be parsed; set aside", item.update_id)
                now = self._clock()
                await storage.set_aside_update(item.update_id, "cannot be parsed", now=now)
                return False
        if item.attempts > MAX_ATTEMPTS:
            await self._set_aside(storage, update, item.attempts - 1)
            return False
        assert self.app is not None
        await self.app.process_update(update)
        self.handled += 1
        return True

    async def _set_aside(self, storage: Storage, update: Update, failures: int) -> None:
        """Stop replaying an update that never finished; tell its sender (through the outbox)."""
        now = self._clock()
        log.error("update %s did not finish %d times; set aside", update.update_id, failures)
        await storage.set_aside_update(
            update.update_id, f"handling did not finish {failures} times", now=now
        )
        sender = update.effective_user
        user = await storage.get_user_by_telegram_id(sender.id) if sender else None
        if user is not None:
            await storage.enqueue(NewOutboxMessage(user.id, "errors/set_aside", {}), now=now)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _close(coroutine: Awaitable[Any]) -> None:
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()


#: How long a handled update stays in the inbox. Telegram keeps an update it was not told of
#: for at most 24 hours, so none older can come again; and after a week without updates it
#: numbers the next one at random, which must not meet an id still held here (it would be
#: taken for one handled before and dropped). Also: what people typed is not kept for ever.
INBOX_KEEP = timedelta(days=2)


async def prune_inbox(storage: Storage, now: datetime) -> int:
    """Delete the handled updates older than :data:`INBOX_KEEP` (the clock's hourly job)."""
    pruned = await storage.prune_inbox(before=now - INBOX_KEEP)
    if pruned:
        log.info("inbox: %d handled updates older than %s deleted", pruned, INBOX_KEEP)
    return pruned


async def replay_inbox(
    app: Application[Any, Any, Any, Any, Any, Any], storage: Storage, *, holder: str
) -> int:
    """Queue a cue for every chat with stored updates nobody is handling (this replica's own
    from before a crash, another replica's whose lease ran out, or one it missed), oldest
    first: each is claimed with the chat's lease when its turn comes, so N replicas sweeping
    together never handle one twice. Called before polling starts and by the sweep job."""
    processor = app.update_processor
    busy = processor.busy if isinstance(processor, PerChatUpdateProcessor) else None
    queued = 0
    for chat_id, update_id in await storage.inbox_to_sweep(
        holder=holder, now=_utcnow(), limit=10_000
    ):
        if chat_id is not None and busy is not None and busy(chat_id):
            continue  # at work on it already: it will find the update itself
        await app.update_queue.put(InboxWork(chat_id, update_id))
        queued += 1
    return queued
