"""The emulator's world, independent of HTTP: bots, users, and what users do.

The HTTP server (:mod:`tgemu.server`) and the Bot API methods
(:mod:`tgemu.botapi`) both operate on one :class:`EmulatorCore`.  User actions (send a
message, press a button, upload a document, share a location, block the bot) are methods
here so that tests in the same process and remote clients of the control API do exactly the
same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import re
import secrets
import time
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol

from tgemu.faults import Fault, FaultBook, FaultKind
from tgemu.formatting import MAX_CAPTION_UTF16, MAX_TEXT_UTF16, detect_entities, utf16_len
from tgemu.state import JSON, BotState, Chat, EmulatorConfig, PendingCallback, UserInfo

_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{8,}$")
#: The sandbox's time control jumps at most this far at once.
MAX_CLOCK_JUMP = timedelta(days=5 * 365 + 1)


class ControlError(Exception):
    """A refused control-API request (unknown user, bad arguments...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def file_too_big(size: int | None, limit: int) -> str:
    """The refusal for an upload above the emulator's own upload cap (``document_max_bytes``).

    Telegram users may send files up to 2 GB; the cap is the emulator's, which keeps them in
    memory.  Bots can only download files up to 20 MB (``getFile`` refuses bigger ones).
    """
    mib = 1024 * 1024
    what = f" ({size / mib:.1f} MB)" if size is not None else ""
    return (
        f"file is too big{what}: the sandbox takes uploads up to {limit / mib:g} MB "
        "(Telegram apps send up to 2 GB, but a bot can download only 20 MB)"
    )


class SettableClock(Protocol):
    """The bot's clock as the sandbox's time control needs it (``bot.clock.ManualClock``)."""

    def now(self) -> datetime: ...

    def set(self, when: datetime) -> None: ...


class EmulatorCore:
    """All emulator state plus the actions users can take."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.bots: dict[str, BotState] = {}
        self.users: dict[int, UserInfo] = {}
        self.faults = FaultBook()
        self.closing = False
        self._next_user_id = self.config.first_user_id
        self._subscribers: set[asyncio.Queue[JSON | None]] = set()
        #: While True, ``/control/events`` answers 503 (tests simulate a network outage).
        self.events_suspended = False
        #: The bot's clock and the cooperative's zone, when a sandbox attached them.
        self.clock: SettableClock | None = None
        self.clock_tz: tzinfo | None = None

    # -- registry ------------------------------------------------------------------------

    def add_bot(
        self, token: str, username: str = "qingshou_bot", first_name: str = "清收"
    ) -> BotState:
        """Register a bot; its id is the number before the colon, as with real tokens."""
        if not _TOKEN_RE.match(token):
            raise ValueError(f"token {token!r} does not look like a Bot API token (123:ABC...)")
        if token in self.bots:
            raise ValueError("a bot with this token already exists")
        bot = BotState(token, username, first_name, self.config)
        self.bots[token] = bot
        return bot

    def bot(self, ref: str | None = None) -> BotState:
        """Find a bot by username (with or without @) or token; None means the first bot."""
        if not self.bots:
            raise ControlError(404, "no bots registered")
        if ref is None or ref == "":
            return next(iter(self.bots.values()))
        if ref in self.bots:
            return self.bots[ref]
        name = ref.lstrip("@").lower()
        for bot in self.bots.values():
            if bot.username.lower() == name:
                return bot
        raise ControlError(404, f"unknown bot {ref!r}")

    def add_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "en",
        label: str | None = None,
    ) -> UserInfo:
        """Create a Telegram user with the next free id (``label``: who they are in a demo)."""
        if not first_name:
            raise ValueError("first_name must be non-empty")
        user = UserInfo(
            self._next_user_id, first_name, last_name, username, language_code, label or None
        )
        self._next_user_id += 1
        self.users[user.id] = user
        self.publish({"kind": "user", "time": time.time(), "user": user.to_json()})
        return user

    def set_label(self, user_id: int, label: str | None) -> UserInfo:
        """Change who a person is in the web chat (publishes a ``user`` event)."""
        user = self.user(user_id)
        user.label = label or None
        self.publish({"kind": "user", "time": time.time(), "user": user.to_json()})
        return user

    def set_deactivated(self, user_id: int, deactivated: bool = True) -> UserInfo:
        """Mark the account deleted: bots writing to it get 403 "user is deactivated"."""
        user = self.user(user_id)
        user.deactivated = deactivated
        self.publish({"kind": "user", "time": time.time(), "user": user.to_json()})
        return user

    def now_ts(self) -> int:
        """Unix time for message dates: the bot's clock when a sandbox attached one."""
        if self.clock is not None:
            return int(self.clock.now().timestamp())
        return int(time.time())

    def attach_clock(self, clock: SettableClock, tz: tzinfo) -> None:
        """Let the web chat's time control move the bot's clock (the sandbox does this)."""
        self.clock = clock
        self.clock_tz = tz

    def set_clock(self, when: datetime) -> datetime:
        """Jump the attached clock forward to ``when`` (aware); never backwards."""
        if self.clock is None:
            raise ControlError(404, "no clock attached (only the sandbox has a time control)")
        if when.tzinfo is None:
            raise ControlError(400, "the time must carry a zone")
        current = self.clock.now()
        try:
            too_far = when - current > MAX_CLOCK_JUMP
        except OverflowError:
            too_far = True
        if too_far:
            raise ControlError(
                400,
                f"the clock moves at most {MAX_CLOCK_JUMP.days // 365} years ahead at once: "
                f"{when.isoformat(timespec='minutes')} is too far",
            )
        if when < current:
            raise ControlError(
                400,
                "the clock only moves forward: "
                f"{when.isoformat(timespec='minutes')} is before the bot's now "
                f"{current.astimezone(when.tzinfo).isoformat(timespec='minutes')}",
            )
        self.clock.set(when)
        self.publish({"kind": "clock", "time": time.time(), "now": self.clock.now().isoformat()})
        return self.clock.now()

    def user(self, user_id: int) -> UserInfo:
        """The user with this id or a 404 ControlError."""
        try:
            return self.users[user_id]
        except KeyError:
            raise ControlError(404, f"unknown user {user_id}") from None

    def chat(self, bot: BotState, user_id: int) -> Chat:
        """The private chat of ``bot`` with the user, created on first use."""
        chat = bot.chats.get(user_id)
        if chat is None:
            chat = Chat(bot, self.user(user_id), self.publish, self.now_ts)
            bot.chats[user_id] = chat
        return chat

    # -- event stream ----------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[JSON | None]:
        """A queue receiving every chat event (None means the emulator is stopping)."""
        queue: asyncio.Queue[JSON | None] = asyncio.Queue(maxsize=10_000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JSON | None]) -> None:
        """Stop delivering events to ``queue``."""
        self._subscribers.discard(queue)

    def publish(self, event: JSON) -> None:
        """Fan an event out to subscribers; a subscriber that fell far behind loses events."""
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    def suspend_event_streams(self) -> None:
        """End every event stream and refuse new ones until :meth:`resume_event_streams`.

        For tests of the web chat's reconnect: what happens meanwhile must not be lost.
        """
        self.events_suspended = True
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    def resume_event_streams(self) -> None:
        """Accept event streams again."""
        self.events_suspended = False

    def unanswered_callbacks(self, bot: str | None = None) -> list[JSON]:
        """Callback queries the bot never answered (Telegram's client spins until it does)."""
        bots = [self.bot(bot)] if bot else list(self.bots.values())
        now = time.monotonic()
        return [
            {
                "bot": b.username,
                "callback_id": c.id,
                "chat_id": c.chat_id,
                "message_id": c.message_id,
                "data": c.data,
                "age": round(now - c.created, 3),
            }
            for b in bots
            for c in b.callbacks.values()
            if not c.answered
        ]

    def shutdown(self) -> None:
        """Wake every long poll and end every event stream so the server can stop at once."""
        self.closing = True
        for bot in self.bots.values():
            bot.update_signal.fire()
            for chat in bot.chats.values():
                chat.changed.fire()
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    # -- faults ----------------------------------------------------------------------------

    def inject_fault(
        self,
        kind: FaultKind = "5xx",
        count: int = 1,
        method: str | None = None,
        status: int = 502,
        retry_after: int = 1,
        delay: float = 2.0,
        description: str | None = None,
        bot: str | None = None,
    ) -> Fault:
        """Make the next ``count`` matching Bot API calls fail (see :class:`Fault`)."""
        if kind == "5xx" and not 500 <= status <= 599:
            raise ValueError("a 5xx fault needs a status between 500 and 599")
        if count < 1:
            raise ValueError("count must be at least 1")
        return self.faults.add(
            Fault(kind, count, method, status, retry_after, delay, description, bot)
        )

    # -- user actions ----------------------------------------------------------------------

    def _incoming_chat(self, user_id: int, bot_ref: str | None) -> Chat:
        """The chat a user writes into; writing (re)starts the bot like Telegram's Start."""
        if self.user(user_id).deactivated:
            raise ControlError(409, "this account is deleted (deactivated): it cannot write")
        bot = self.bot(bot_ref)
        chat = self.chat(bot, user_id)
        if chat.blocked:
            self._set_blocked(chat, False)
        chat.started = True
        return chat

    def set_blocked(self, user_id: int, blocked: bool, bot: str | None = None) -> None:
        """Mark the user as having blocked (or unblocked) one bot, or every bot if None."""
        self.user(user_id)
        bots = [self.bot(bot)] if bot else list(self.bots.values())
        for b in bots:
            chat = self.chat(b, user_id)
            if chat.blocked != blocked:
                self._set_blocked(chat, blocked)

    def _set_blocked(self, chat: Chat, blocked: bool) -> None:
        chat.blocked = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        now = self.now_ts()
        bot_user = chat.bot.user_api()
        member: dict[str, Any] = {"user": bot_user}
        if blocked:
            member["until_date"] = 0
        chat.bot.push_update(
            "my_chat_member",
            {
                "chat": chat.user.chat_api(),
                "from": chat.user.to_api(),
                "date": now,
                "old_chat_member": {"status": old, "user": bot_user},
                "new_chat_member": {"status": new, **member},
            },
        )
        chat.record("blocked" if blocked else "unblocked")

    def _deliver(self, chat: Chat, message_payload: JSON) -> int | None:
        return chat.bot.push_update("message", message_payload)

    def user_sends_text(
        self, user_id: int, text: str, bot: str | None = None, reply_to: int | None = None
    ) -> JSON:
        """The user types ``text``; commands get ``bot_command`` entities like in Telegram.
        ``reply_to``: the message of this chat it replies to (Telegram's swipe-to-reply)."""
        text = text.strip()
        if not text:
            raise ControlError(400, "text must be non-empty")
        if utf16_len(text) > MAX_TEXT_UTF16:
            raise ControlError(
                400,
                "text is longer than 4096 UTF-16 code units (a Telegram app would split it into "
                "several messages; send it in parts)",
            )
        chat = self._incoming_chat(user_id, bot)
        if reply_to is not None:
            replied = chat.messages.get(reply_to)
            if replied is None or replied.deleted:
                raise ControlError(400, f"message {reply_to} to reply to is not in this chat")
        message = chat.new_message(
            "user", text=text, entities=detect_entities(text, []), reply_to=reply_to
        )
        update_id = self._deliver(chat, message.to_api(chat))
        event = chat.record("message", message=message.snapshot())
        return {"message": message.snapshot(), "update_id": update_id, "seq": event["seq"]}

    def user_sends_location(
        self, user_id: int, latitude: float, longitude: float, bot: str | None = None
    ) -> JSON:
        """The user shares a location."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ControlError(400, "latitude/longitude out of range")
        chat = self._incoming_chat(user_id, bot)
        message = chat.new_message("user", location={"latitude": latitude, "longitude": longitude})
        update_id = self._deliver(chat, message.to_api(chat))
        event = chat.record("message", message=message.snapshot())
        return {"message": message.snapshot(), "update_id": update_id, "seq": event["seq"]}

    def user_sends_document(
        self,
        user_id: int,
        filename: str,
        data: bytes,
        mime: str | None = None,
        caption: str | None = None,
        bot: str | None = None,
    ) -> JSON:
        """The user uploads a file; the bot can getFile and download it."""
        if not data:
            raise ControlError(400, "file must be non-empty")
        if len(data) > self.config.document_max_bytes:
            raise ControlError(413, file_too_big(len(data), self.config.document_max_bytes))
        if caption is not None and utf16_len(caption) > MAX_CAPTION_UTF16:
            raise ControlError(400, "caption is longer than 1024 UTF-16 code units")
        chat = self._incoming_chat(user_id, bot)
        mime = mime or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        stored = chat.bot.store_file(
            data, folder="documents", extension=extension, mime=mime, name=filename
        )
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime,
            "file_size": stored.size,
        }
        fields: dict[str, Any] = {"document": document}
        if caption:
            fields["caption"] = caption
            fields["caption_entities"] = detect_entities(caption, [])
        message = chat.new_message("user", **fields)
        update_id = self._deliver(chat, message.to_api(chat))
        event = chat.record("message", message=message.snapshot())
        return {"message": message.snapshot(), "update_id": update_id, "seq": event["seq"]}

    def user_presses(
        self, user_id: int, message_id: int, data: str, bot: str | None = None
    ) -> JSON:
        """The user presses an inline button (or a forged client sends arbitrary data)."""
        bot_state = self.bot(bot)
        if self.user(user_id).deactivated:
            raise ControlError(409, "this account is deleted (deactivated): it cannot press")
        chat = self.chat(bot_state, user_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise ControlError(404, f"message {message_id} not found in chat {user_id}")
        if message.sender != "bot":
            raise ControlError(400, "only bot messages carry inline buttons")
        size = len(data.encode("utf-8"))
        if not 1 <= size <= 64:
            raise ControlError(400, "callback data must be 1-64 bytes")
        callback_id = str(secrets.randbelow(9 * 10**18) + 10**18)
        bot_state.callbacks[callback_id] = PendingCallback(
            callback_id, chat.id, message_id, data, time.monotonic()
        )
        update_id = bot_state.push_update(
            "callback_query",
            {
                "id": callback_id,
                "from": chat.user.to_api(),
                "message": message.to_api(chat),
                "chat_instance": str(abs(hash((bot_state.id, chat.id))) % 10**18),
                "data": data,
            },
        )
        event = chat.record(
            "callback_query", callback_id=callback_id, message_id=message_id, data=data
        )
        return {"callback_id": callback_id, "update_id": update_id, "seq": event["seq"]}
