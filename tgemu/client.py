"""Test-side helpers: a typed client of the control API and a ``Person`` who chats with the bot.

``Person`` reads like a user story — ``send``, ``expect``, ``press`` — and fails with the tail
of the transcript, so a broken end-to-end test says what the bot actually answered.

Cursor rule: :meth:`Person.expect` looks only at bot messages and edits after the person's own
latest action (and after the last message it returned).  A reply to an earlier action that only
arrives after a new action is still seen, because what counts is when the bot's message arrives.

Nothing is silently marked as read: every bot message or edit that no ``expect`` returned — one
skipped because it did not contain the wanted text, or one that arrived before the person acted
again — stays *unread*.  :meth:`Person.expect_next` insists on the very next unread output (the
strict way to walk a conversation), :meth:`Person.unread` lists what is left and
:meth:`Person.assert_no_unread` fails on it, e.g. at the end of a test.  Pressing a button of a
message reads that message.  A test that does not care what someone was told says so with
:meth:`Person.ignore_unread`.

A harness collects every person made with its client inside :meth:`Person.watch`, to fail a
test that left anyone with unread messages (the end-to-end suite does, at teardown).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar

import httpx

JSON = dict[str, Any]


class ControlApiError(RuntimeError):
    """The control API refused a request."""


@dataclass(slots=True)
class BotMessage:
    """A bot message (or its state right after an edit) as a person sees it."""

    raw: JSON

    @property
    def message_id(self) -> int:
        """Message id within the private chat."""
        return int(self.raw["message_id"])

    @property
    def text(self) -> str:
        """Plain text (or caption for media), after entity parsing."""
        return str(self.raw.get("text") or self.raw.get("caption") or "")

    @property
    def html(self) -> str:
        """Text re-rendered as Telegram HTML from its entities."""
        return str(self.raw.get("html") or self.raw.get("caption_html") or "")

    @property
    def entities(self) -> list[JSON]:
        """MessageEntity dicts (UTF-16 offsets)."""
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows of ``(text, callback_data or url)``."""
        return [
            [(b["text"], b.get("callback_data") or b.get("url")) for b in row]
            for row in self.raw.get("buttons") or []
        ]

    @property
    def edited(self) -> bool:
        """Whether the message has been edited."""
        return bool(self.raw.get("edited"))

    @property
    def deleted(self) -> bool:
        """Whether the message has been deleted."""
        return bool(self.raw.get("deleted"))

    @property
    def document(self) -> JSON | None:
        """Document info, if the message carries one."""
        doc = self.raw.get("document")
        return dict(doc) if doc else None

    @property
    def photo(self) -> list[JSON] | None:
        """PhotoSize list, if the message is a photo."""
        photo = self.raw.get("photo")
        return list(photo) if photo else None

    @property
    def caption(self) -> str | None:
        """Caption of a media message."""
        caption = self.raw.get("caption")
        return str(caption) if caption is not None else None

    def __str__(self) -> str:
        flags = " (edited)" if self.edited else ""
        kind = "photo " if self.photo else "document " if self.document else ""
        buttons = " ".join(f"[{t}]" for row in self.buttons for t, _ in row)
        return f"#{self.message_id} bot{flags}: {kind}{self.text!r} {buttons}".rstrip()


class EmulatorClient:
    """Async wrapper of the emulator control API (see :mod:`tgemu.server`)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def __aenter__(self) -> EmulatorClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying HTTP connection pool."""
        await self._http.aclose()

    async def _request(self, verb: str, path: str, **kwargs: Any) -> Any:
        # The control API refuses multipart uploads without this header (CSRF protection).
        headers = {"X-Webchat": "1", **kwargs.pop("headers", {})}
        response = await self._http.request(verb, "/control" + path, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise ControlApiError(f"{verb} {path} -> {response.status_code}: {response.text}")
        return response.json()

    @staticmethod
    def _bot(body: JSON, bot: str | None) -> JSON:
        if bot is not None:
            body["bot"] = bot
        return body

    async def add_bot(self, token: str, username: str, first_name: str) -> JSON:
        """Register a bot."""
        body = {"token": token, "username": username, "first_name": first_name}
        result: JSON = await self._request("POST", "/bots", json=body)
        return result

    async def create_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "en",
    ) -> JSON:
        """Create a user; the result has the new ``id``."""
        body = {
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
        }
        result: JSON = await self._request("POST", "/users", json=body)
        return result

    async def users(self) -> list[JSON]:
        """All users."""
        result: list[JSON] = await self._request("GET", "/users")
        return result

    async def bot_state(self, bot: str | None = None) -> JSON:
        """Commands, descriptions and webhook settings of a bot."""
        params = {"bot": bot} if bot else {}
        result: JSON = await self._request("GET", "/bot", params=params)
        return result

    async def send_message(
        self, user_id: int, text: str, bot: str | None = None, reply_to: int | None = None
    ) -> JSON:
        """The user sends ``text`` to the bot (as a reply to message ``reply_to``, if given)."""
        fields: JSON = {"text": text}
        if reply_to is not None:
            fields["reply_to_message_id"] = reply_to
        body = self._bot(fields, bot)
        result: JSON = await self._request("POST", f"/users/{user_id}/message", json=body)
        return result

    async def press(self, user_id: int, message_id: int, data: str, bot: str | None = None) -> JSON:
        """The user's client sends a callback query with ``data`` for ``message_id``."""
        body = self._bot({"message_id": message_id, "data": data}, bot)
        result: JSON = await self._request("POST", f"/users/{user_id}/callback", json=body)
        return result

    async def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        mime: str = "application/octet-stream",
        caption: str | None = None,
        bot: str | None = None,
    ) -> JSON:
        """The user uploads a document."""
        data = self._bot({"caption": caption} if caption else {}, bot)
        files = {"file": (filename, content, mime)}
        result: JSON = await self._request(
            "POST", f"/users/{user_id}/document", data=data, files=files
        )
        return result

    async def send_location(
        self, user_id: int, latitude: float, longitude: float, bot: str | None = None
    ) -> JSON:
        """The user shares a location."""
        body = self._bot({"latitude": latitude, "longitude": longitude}, bot)
        result: JSON = await self._request("POST", f"/users/{user_id}/location", json=body)
        return result

    async def set_blocked(self, user_id: int, blocked: bool, bot: str | None = None) -> JSON:
        """The user blocks (or unblocks) the bot."""
        body = self._bot({"blocked": blocked}, bot)
        result: JSON = await self._request("POST", f"/users/{user_id}/blocked", json=body)
        return result

    async def set_deactivated(self, user_id: int, deactivated: bool = True) -> JSON:
        """Delete (or restore) the user's account: bots get 403 "user is deactivated"."""
        body = {"deactivated": deactivated}
        result: JSON = await self._request("POST", f"/users/{user_id}/deactivated", json=body)
        return result

    async def set_label(self, user_id: int, label: str | None) -> JSON:
        """Change who the person is in the web chat."""
        result: JSON = await self._request("POST", f"/users/{user_id}/label", json={"label": label})
        return result

    async def unanswered_callbacks(self, bot: str | None = None) -> list[JSON]:
        """Callback queries the bot never answered with answerCallbackQuery."""
        params = {"bot": bot} if bot else {}
        result: list[JSON] = await self._request("GET", "/callbacks/unanswered", params=params)
        return result

    async def transcript(self, chat_id: int, bot: str | None = None) -> JSON:
        """Messages and events of a private chat."""
        params = {"bot": bot} if bot else {}
        result: JSON = await self._request("GET", f"/chats/{chat_id}/transcript", params=params)
        return result

    async def wait(
        self,
        chat_id: int,
        after: int,
        timeout: float,  # noqa: ASYNC109
        bot: str | None = None,
    ) -> JSON:
        """Long-poll for chat events with ``seq > after``."""
        params: dict[str, Any] = {"after": after, "timeout": timeout}
        if bot:
            params["bot"] = bot
        result: JSON = await self._request(
            "GET",
            f"/chats/{chat_id}/wait",
            params=params,
            timeout=timeout + 10.0,
        )
        return result

    async def inject_fault(
        self,
        kind: str = "5xx",
        count: int = 1,
        method: str | None = None,
        status: int = 502,
        retry_after: int = 1,
        delay: float = 2.0,
        description: str | None = None,
    ) -> JSON:
        """Make the next ``count`` matching Bot API calls fail.

        ``kind``: ``"5xx"``, ``"429"``, ``"timeout"`` (dropped, not performed) or
        ``"lost_response"`` (performed, answer dropped); see :class:`tgemu.faults.Fault`.
        """
        body = {
            "kind": kind,
            "count": count,
            "method": method,
            "status": status,
            "retry_after": retry_after,
            "delay": delay,
            "description": description,
        }
        result: JSON = await self._request("POST", "/faults", json=body)
        return result

    async def raw_update(self, update_type: str, payload: Any, bot: str | None = None) -> JSON:
        """Queue an update of any shape (also one the Bot API would never send)."""
        body = self._bot({"type": update_type, "payload": payload}, bot)
        result: JSON = await self._request("POST", "/updates/raw", json=body)
        return result

    async def clear_faults(self) -> None:
        """Drop pending faults."""
        await self._request("DELETE", "/faults")

    async def calls(self, method: str | None = None, bot: str | None = None) -> list[JSON]:
        """The Bot API call log, optionally filtered."""
        params = {k: v for k, v in (("method", method), ("bot", bot)) if v}
        result: list[JSON] = await self._request("GET", "/calls", params=params)
        return result


@dataclass(slots=True)
class _Output:
    """A bot message or edit as it arrived, with its event's sequence number."""

    seq: int
    message: BotMessage


@dataclass
class Person:
    """A user talking to the bot through the emulator, with assertion-style helpers."""

    client: EmulatorClient
    user_id: int
    bot: str | None = None
    #: :meth:`expect` looks at events after this seq (own latest action, last returned output).
    seen_seq: int = 0
    toasts: list[JSON] = field(default_factory=list)
    _toasts_claimed: int = 0
    _fetched_seq: int = 0
    _unread: list[_Output] = field(default_factory=list)
    #: Each bot message's text as last seen, to tell a removed keyboard from a new text.
    _texts: dict[int, str] = field(default_factory=dict)
    #: Who this is in failure messages (the first name it was created with).
    name: str = ""
    #: Open :meth:`watch` blocks: (client, the list its new persons are added to).
    _watchers: ClassVar[list[tuple[EmulatorClient, list[Person]]]] = []

    def __post_init__(self) -> None:
        for client, people in Person._watchers:
            if client is self.client:
                people.append(self)

    @classmethod
    @contextmanager
    def watch(cls, client: EmulatorClient) -> Iterator[list[Person]]:
        """Collect every person made with ``client`` inside the block, in order of creation."""
        entry: tuple[EmulatorClient, list[Person]] = (client, [])
        cls._watchers.append(entry)
        try:
            yield entry[1]
        finally:
            cls._watchers.remove(entry)

    @classmethod
    async def create(
        cls,
        client: EmulatorClient,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "en",
        bot: str | None = None,
    ) -> Person:
        """Create a new user and wrap it."""
        user = await client.create_user(first_name, last_name, username, language_code)
        return cls(client, int(user["id"]), bot, name=first_name)

    def __str__(self) -> str:
        return f"{self.name or 'user'} ({self.user_id})"

    @property
    def id(self) -> int:
        """The user id (also the private chat id)."""
        return self.user_id

    def _advance(self, seq: int) -> None:
        self.seen_seq = max(self.seen_seq, seq)

    async def send(self, text: str, *, reply_to: int | None = None) -> JSON:
        """Type and send ``text`` (``/start CODE`` works); ``reply_to``: a message id of this
        chat it replies to.

        Bot messages that arrived before and were never returned by an ``expect`` stay unread
        (see :meth:`unread`); only :meth:`expect` stops looking at them.
        """
        result = await self.client.send_message(self.user_id, text, self.bot, reply_to)
        self._advance(int(result["seq"]))
        return result

    async def send_document(
        self,
        filename: str,
        content: bytes,
        mime: str = "application/octet-stream",
        caption: str | None = None,
    ) -> JSON:
        """Upload a document to the bot."""
        result = await self.client.send_document(
            self.user_id, filename, content, mime, caption, self.bot
        )
        self._advance(int(result["seq"]))
        return result

    async def send_location(self, latitude: float, longitude: float) -> JSON:
        """Share a location with the bot."""
        result = await self.client.send_location(self.user_id, latitude, longitude, self.bot)
        self._advance(int(result["seq"]))
        return result

    async def block(self, blocked: bool = True) -> None:
        """Block (or unblock) the bot."""
        await self.client.set_blocked(self.user_id, blocked, self.bot)

    async def transcript(self) -> JSON:
        """The whole chat."""
        return await self.client.transcript(self.user_id, self.bot)

    async def messages(self) -> list[BotMessage]:
        """Current state of every bot message still in the chat."""
        transcript = await self.transcript()
        return [
            BotMessage(m) for m in transcript["messages"] if m["from"] == "bot" and not m["deleted"]
        ]

    async def _tail(self, lines: int = 12) -> str:
        transcript = await self.transcript()
        rendered = []
        for m in transcript["messages"][-lines:]:
            if m["from"] == "bot":
                rendered.append("  " + str(BotMessage(m)) + (" (deleted)" if m["deleted"] else ""))
            else:
                content = m.get("text") or ("<document>" if m.get("document") else "<location>")
                rendered.append(f"  #{m['message_id']} user: {content!r}")
        return "\n".join(rendered) or "  (empty chat)"

    def _collect(self, event: JSON) -> None:
        if event["kind"] == "callback_answer":
            self.toasts.append(event)

    async def _fetch(self, timeout: float) -> None:  # noqa: ASYNC109
        """Take the chat's new events (waiting up to ``timeout`` for the first one)."""
        batch = await self.client.wait(self.user_id, self._fetched_seq, timeout, self.bot)
        for event in batch["events"]:
            seq = int(event["seq"])
            if seq <= self._fetched_seq:
                continue
            self._fetched_seq = seq
            self._collect(event)
            message = event.get("message")
            if event["kind"] in ("message", "edit") and message and message["from"] == "bot":
                output = BotMessage(message)
                previous = self._texts.get(output.message_id)
                self._texts[output.message_id] = output.text
                if event["kind"] == "edit" and previous == output.text and not output.buttons:
                    # Only the buttons were taken off (a question that moved on): there is
                    # nothing new to read, as a person would not notice either.
                    self._unread = [
                        o for o in self._unread if o.message.message_id != output.message_id
                    ]
                    continue
                self._unread.append(_Output(seq, output))

    def _claim(self, output: _Output) -> BotMessage:
        """Mark an output read, with the earlier states of the same message."""
        wanted = output.message.message_id
        self._unread = [
            o for o in self._unread if not (o.message.message_id == wanted and o.seq <= output.seq)
        ]
        self._advance(output.seq)
        return output.message

    async def expect(
        self,
        contains: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> BotMessage:
        """Wait for the next bot message or edit (containing ``contains``) after what was seen.

        Outputs skipped on the way (not containing ``contains``) stay unread.
        """
        deadline = time.monotonic() + timeout
        while True:
            for output in self._unread:
                if output.seq <= self.seen_seq:
                    continue
                if contains is None or contains in output.message.text:
                    return self._claim(output)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                wanted = f"containing {contains!r}" if contains else "at all"
                raise AssertionError(
                    f"no bot message {wanted} within {timeout}s; chat so far:\n"
                    + await self._tail()
                )
            await self._fetch(remaining)

    async def expect_next(
        self,
        contains: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> BotMessage:
        """The very next unread bot message or edit, which must contain ``contains``.

        Unlike :meth:`expect` nothing is skipped: an unexpected message (even one that arrived
        before the person's latest action) fails the test.
        """
        deadline = time.monotonic() + timeout
        while not self._unread:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no bot message within {timeout}s; chat so far:\n" + await self._tail()
                )
            await self._fetch(remaining)
        output = self._unread[0]
        if contains is not None and contains not in output.message.text:
            raise AssertionError(
                f"the next bot message does not contain {contains!r}: {output.message}; "
                f"unread: {[str(o.message) for o in self._unread]}"
            )
        return self._claim(output)

    async def unread(self, wait: float = 0.0) -> list[BotMessage]:
        """Bot messages and edits no ``expect`` returned (after waiting ``wait`` seconds)."""
        if wait > 0:
            await asyncio.sleep(wait)
        await self._fetch(0.0)
        return [o.message for o in self._unread]

    def mark_read(self, message: BotMessage) -> BotMessage:
        """Mark ``message`` read, every state of it, without moving past what came after it:
        for an output that may arrive just before or just after another one (a document the
        outbox sends while a flow edits its reply), which ``expect`` skips once it has seen
        the later one."""
        wanted = message.message_id
        self._unread = [o for o in self._unread if o.message.message_id != wanted]
        return message

    async def assert_no_unread(self, wait: float = 0.0) -> None:
        """Fail if the bot said anything the test did not look at."""
        left = await self.unread(wait)
        if left:
            listed = "\n".join(f"  {m}" for m in left)
            raise AssertionError(f"{len(left)} unread bot message(s) for {self}:\n{listed}")

    async def ignore_unread(self, wait: float = 0.0) -> list[BotMessage]:
        """Mark everything unread as read, on purpose; returns what was ignored.

        For a test that deliberately does not read what someone was told (keep it rare: a
        message nobody looks at is a message nobody checks).
        """
        left = await self.unread(wait)
        if self._unread:
            self._advance(self._unread[-1].seq)
        self._unread = []
        return left

    async def expect_toast(
        self,
        contains: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JSON:
        """Wait for an answerCallbackQuery notice not returned before."""
        deadline = time.monotonic() + timeout
        while True:
            while self._toasts_claimed < len(self.toasts):
                toast = self.toasts[self._toasts_claimed]
                self._toasts_claimed += 1
                if contains is None or contains in str(toast.get("text") or ""):
                    return toast
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no callback answer containing {contains!r} within {timeout}s; "
                    f"toasts so far: {[t.get('text') for t in self.toasts]}"
                )
            await self._fetch(remaining)

    async def press(self, text: str, message: BotMessage | int | None = None) -> str:
        """Press the inline button labelled ``text``; returns the callback query id.

        Without ``message`` the latest bot message that has inline buttons is used.
        """
        candidates = await self.messages()
        if message is not None:
            wanted_id = message if isinstance(message, int) else message.message_id
            candidates = [m for m in candidates if m.message_id == wanted_id]
        else:
            candidates = [m for m in candidates if m.buttons][-1:]
        if not candidates:
            raise AssertionError(
                f"no bot message with inline buttons to press {text!r}; chat so far:\n"
                + await self._tail()
            )
        target = candidates[0]
        buttons = [b for row in target.raw["buttons"] for b in row]
        matching = [b for b in buttons if b["text"] == text] or [
            b for b in buttons if text in b["text"]
        ]
        if len(matching) != 1:
            available = [b["text"] for b in buttons]
            problem = "ambiguous" if matching else "missing"
            raise AssertionError(
                f"button {text!r} {problem} on message #{target.message_id}; available: {available}"
            )
        data = matching[0].get("callback_data")
        if not data:
            raise AssertionError(f"button {text!r} is a URL button ({matching[0].get('url')})")
        return await self.press_data(target.message_id, data)

    async def press_data(self, message_id: int, data: str) -> str:
        """Send a callback query with arbitrary ``data`` (forged or stale buttons).

        Pressing a button of a message reads it: its outputs so far are no longer unread.
        """
        result = await self.client.press(self.user_id, message_id, data, self.bot)
        await self._fetch(0.0)
        self._unread = [o for o in self._unread if o.message.message_id != message_id]
        self._advance(int(result["seq"]))
        return str(result["callback_id"])
