"""In-memory model of what Telegram knows: bots, users, private chats, messages, files.

Everything lives in one asyncio event loop, so plain objects suffice; waiting ("long polling",
"wait for the next bot message") uses :class:`Signal`, a re-armable event.  Every change to a
chat appends an event with a per-chat monotonically increasing ``seq``; clients ask for
"everything after seq N", which makes waiting race-free.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tgemu.formatting import entities_to_html
from tgemu.ratelimit import RateLimiter

JSON = dict[str, Any]


class Signal:
    """A broadcast wake-up: ``fire()`` wakes every current waiter, then re-arms.

    Waiters must check their condition before calling :meth:`wait` — there is no await between
    the check and grabbing the current event, so no wake-up can be lost.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake all waiters."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True if fired."""
        event = self._event
        if seconds <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
            return True
        return False


@dataclass(slots=True)
class EmulatorConfig:
    """Knobs of an emulator instance; defaults mirror the real Bot API."""

    host: str = "127.0.0.1"
    port: int = 0
    rate_limits: bool = True
    #: Telegram's flood control (see ratelimit.py): messages per second overall, and to one
    #: chat after a burst. The test fixtures set a faster pace (tests/pace.py).
    global_per_second: int = 30
    per_chat_rate: float = 1.0
    per_chat_burst: int = 3
    photo_max_bytes: int = 10 * 1024 * 1024
    document_max_bytes: int = 50 * 1024 * 1024
    download_max_bytes: int = 20 * 1024 * 1024
    request_max_bytes: int = 50 * 1024 * 1024 + 256 * 1024
    callback_timeout: float = 15.0
    max_poll_timeout: float = 50.0
    strict_html_entities: bool = True
    first_user_id: int = 100001
    first_update_id: int = 1
    #: Binding to anything but loopback must be asked for: the control API has no login.
    allow_remote: bool = False
    #: Webhook delivery (tgemu.webhook): seconds a POST may take before it counts as failed
    #: (Telegram: about a minute), and a factor on the delays between retries (tests: small).
    webhook_timeout: float = 60.0
    webhook_backoff: float = 1.0
    webhook_max_delay: float = 60.0
    #: Extra host names (without port) accepted in the ``Host`` header besides 127.0.0.1,
    #: localhost, [::1] and ``host`` (DNS-rebinding protection; see the server).
    allowed_hosts: tuple[str, ...] = ()


@dataclass(slots=True)
class UserInfo:
    """A human Telegram account that can talk to the emulated bots."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str = "en"
    #: Who this person is in a demo ("admin · 王主任"); shown by the web chat, never sent to bots.
    label: str | None = None
    #: A deleted Telegram account: bots get 403 "user is deactivated".
    deactivated: bool = False

    def to_api(self) -> JSON:
        """Bot API ``User`` object."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_api(self) -> JSON:
        """Bot API ``Chat`` object of the private chat with this user."""
        data: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    def to_json(self) -> JSON:
        """Control-API representation."""
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "label": self.label,
            "deactivated": self.deactivated,
        }


@dataclass(slots=True)
class StoredFile:
    """A file known to one bot (uploaded by it or sent to it by a user)."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str | None = None
    file_name: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass(slots=True)
class StoredMessage:
    """One message in a private chat, in either direction, with its edit history."""

    message_id: int
    sender: str  # "bot" or "user"
    date: int
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    photo: list[JSON] | None = None
    document: JSON | None = None
    location: JSON | None = None
    reply_to: int | None = None
    edit_date: int | None = None
    deleted: bool = False
    history: list[JSON] = field(default_factory=list)

    def content_key(self) -> tuple[Any, ...]:
        """What "message is not modified" compares."""
        return (self.text, self.entities, self.caption, self.caption_entities, self.reply_markup)

    def to_api(self, chat: Chat, *, with_reply: bool = True) -> JSON:
        """Bot API ``Message`` object as the bot receives it."""
        sender = chat.bot.user_api() if self.sender == "bot" else chat.user.to_api()
        data: JSON = {
            "message_id": self.message_id,
            "from": sender,
            "chat": chat.user.chat_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            replied = chat.messages.get(self.reply_to)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = replied.to_api(chat, with_reply=False)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.photo is not None:
            data["photo"] = self.photo
        if self.document is not None:
            data["document"] = self.document
        if self.location is not None:
            data["location"] = self.location
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data

    def snapshot(self) -> JSON:
        """Control-API view: everything a test or the web chat needs to show the message."""
        buttons: list[list[JSON]] = []
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            for row in self.reply_markup["inline_keyboard"]:
                buttons.append(
                    [
                        {
                            "text": b.get("text"),
                            "callback_data": b.get("callback_data"),
                            "url": b.get("url"),
                        }
                        for b in row
                    ]
                )
        return {
            "message_id": self.message_id,
            "from": self.sender,
            "date": self.date,
            "text": self.text,
            "entities": self.entities,
            "html": entities_to_html(self.text, self.entities) if self.text is not None else None,
            "caption": self.caption,
            "caption_entities": self.caption_entities,
            "caption_html": (
                entities_to_html(self.caption, self.caption_entities)
                if self.caption is not None
                else None
            ),
            "reply_markup": self.reply_markup,
            "buttons": buttons,
            "photo": self.photo,
            "document": self.document,
            "location": self.location,
            "reply_to_message_id": self.reply_to,
            "edited": self.edit_date is not None,
            "edit_date": self.edit_date,
            "deleted": self.deleted,
            "history": self.history,
        }


@dataclass(slots=True)
class PendingCallback:
    """A callback query waiting for answerCallbackQuery."""

    id: str
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False


class Chat:
    """The private chat between one bot and one user, with its transcript of events."""

    def __init__(
        self,
        bot: BotState,
        user: UserInfo,
        publish: Callable[[JSON], None],
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.bot = bot
        self.user = user
        self.started = False
        self.blocked = False
        self.messages: dict[int, StoredMessage] = {}
        self.events: list[JSON] = []
        self.seq = 0
        self.changed = Signal()
        self._next_message_id = 1
        self._publish = publish
        #: Unix time used for message dates: the bot's clock when a sandbox attached one.
        self.now: Callable[[], int] = clock or (lambda: int(time.time()))

    @property
    def id(self) -> int:
        """Private chat id equals the user id."""
        return self.user.id

    def new_message(self, sender: str, **fields: Any) -> StoredMessage:
        """Store a new message with the next id of this chat (ids are shared by both sides)."""
        message = StoredMessage(self._next_message_id, sender, self.now(), **fields)
        self._next_message_id += 1
        self.messages[message.message_id] = message
        return message

    def record(self, kind: str, **data: Any) -> JSON:
        """Append an event to the transcript, bump ``seq`` and wake waiters/subscribers."""
        self.seq += 1
        event: JSON = {
            "seq": self.seq,
            "kind": kind,
            "time": time.time(),
            "chat_id": self.id,
            "bot": self.bot.username,
            **data,
        }
        self.events.append(event)
        self.changed.fire()
        self._publish(event)
        return event

    def transcript(self) -> JSON:
        """Current messages plus the full event log."""
        return {
            "chat_id": self.id,
            "bot": self.bot.username,
            "user": self.user.to_json(),
            "started": self.started,
            "blocked": self.blocked,
            "seq": self.seq,
            "messages": [m.snapshot() for m in self.messages.values()],
            "events": list(self.events),
        }


class BotState:
    """Everything Telegram keeps per bot: identity, update queue, chats, files, settings."""

    def __init__(self, token: str, username: str, first_name: str, config: EmulatorConfig) -> None:
        self.token = token
        self.id = int(token.split(":", 1)[0])
        self.username = username.lstrip("@")
        self.first_name = first_name
        self.config = config
        self.updates: list[tuple[int, JSON]] = []
        self._next_update_id = config.first_update_id
        self.allowed_updates: list[str] = []
        self.update_signal = Signal()
        self.poll_generation = 0
        self.webhook: JSON = {"url": "", "allowed_updates": None, "max_connections": 40}
        #: The webhook's delivery loop while one is set (tgemu.webhook.WebhookDelivery).
        self.delivery: Any = None
        #: Webhook POSTs made for this bot, over every setWebhook (tests and the bench).
        self.webhook_posts = 0
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self.callbacks: dict[str, PendingCallback] = {}
        self.rate = RateLimiter(
            global_per_second=config.global_per_second,
            per_chat_rate=config.per_chat_rate,
            per_chat_burst=config.per_chat_burst,
        )

    def user_api(self) -> JSON:
        """Bot API ``User`` object of the bot itself."""
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def get_me(self) -> JSON:
        """``getMe`` result, with the capability flags Telegram adds."""
        return {
            **self.user_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # -- updates -------------------------------------------------------------------------

    def accepts(self, update_type: str) -> bool:
        """Whether ``allowed_updates`` (as Telegram remembers it) lets this type through."""
        if self.allowed_updates:
            return update_type in self.allowed_updates
        return update_type not in ("chat_member", "message_reaction", "message_reaction_count")

    def push_update(self, update_type: str, payload: JSON) -> int | None:
        """Queue an update for getUpdates; returns its id, or None if filtered out."""
        if not self.accepts(update_type):
            return None
        update_id = self._next_update_id
        self._next_update_id += 1
        self.updates.append((update_id, {"update_id": update_id, update_type: payload}))
        self.update_signal.fire()
        if self.delivery is not None:
            self.delivery.poke()
        return update_id

    def restart_update_ids(self, first: int) -> None:
        """Number the next updates from ``first``: Telegram does so, at random, after a week
        without updates ("identifier of the next update will be chosen randomly instead of
        sequentially"), so a bot must not take a lower id for an old one."""
        if first < 1:
            raise ValueError("update ids are positive")
        self._next_update_id = first

    def set_allowed_updates(self, allowed: list[str]) -> None:
        """Remember the filter for updates created from now on.

        Like Telegram ("doesn't affect updates created before the call"), updates already
        queued are kept, even of a type the new filter excludes.
        """
        self.allowed_updates = list(allowed)

    # -- files ---------------------------------------------------------------------------

    def store_file(
        self, data: bytes, *, folder: str, extension: str, mime: str | None, name: str | None
    ) -> StoredFile:
        """Keep uploaded bytes and mint Telegram-looking identifiers for them."""
        number = next(self._file_counter)
        prefix = {"photos": "AgACAgIAAxkBAAI", "documents": "BQACAgIAAxkBAAI"}.get(
            folder, "CAACAgIAAxkBAAI"
        )
        stored = StoredFile(
            file_id=f"{prefix}{number:05d}{secrets.token_urlsafe(18)}",
            file_unique_id=f"AgAD{secrets.token_urlsafe(9)}",
            file_path=f"{folder}/file_{number}.{extension}",
            data=data,
            mime_type=mime,
            file_name=name,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored
