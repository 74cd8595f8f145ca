"""Webhook mode: Telegram posts each update to us; we answer 200 only once it is in the inbox.

Telegram sends one update per POST and sends it again until it gets a 2xx (and a chat's next
update only after that). So the endpoint (1) refuses, with 403 and without reading further,
any request that lacks the secret set with ``setWebhook`` (header
``X-Telegram-Bot-Api-Secret-Token``): anyone can reach a public URL; (2) writes the update to
the inbox and commits; (3) only then answers 200, and hands the update to the application,
whose update processor handles it under its chat's lease (:mod:`bot.telegram_io`). A crash
before the 200 makes Telegram send the update again; the inbox keeps one row per update id,
and only a pending row is ever claimed, so it is handled once, by whichever replica gets it.

Why not python-telegram-bot's own webhook server: it puts the update in the application's
queue and answers 200 at once, before anything is stored, so a crash after the answer loses
the update; it also needs tornado. This is a small HTTP/1.1 server on asyncio streams with
``h11`` (the HTTP parser httpx, PTB's client, already brings) doing the protocol: keep-alive,
one request at a time per connection, limits on header and body size and on idle time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import h11

from bot.telegram_io import store_updates

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.storage import Storage

log = logging.getLogger(__name__)

SECRET_HEADER = b"x-telegram-bot-api-secret-token"
#: An update is a few kilobytes; Telegram's largest (a long message with entities) is far
#: below this. Anything bigger is not from Telegram.
MAX_BODY = 1024 * 1024
MAX_HEADERS = 16 * 1024
#: A connection idle this long is closed (Telegram opens a new one when it needs it).
IDLE = 75.0
#: Called after an update is committed and before the 200 goes out. Tests replace it to kill
#: the process exactly there; it does nothing otherwise.
after_store: Callable[[int], Awaitable[None]] | None = None


class WebhookServer:
    """The webhook endpoint of one replica: ``POST path`` with the secret, nothing else."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        *,
        host: str,
        port: int,
        path: str,
        secret: str,
        storage: Callable[[], Storage | None],
        clock: Callable[[], Any],
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._path = path.encode()
        self._secret = secret.encode()
        self._storage = storage
        self._clock = clock
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._stopping = False
        #: Requests refused for a missing or wrong secret (tests and logs read it).
        self.forged = 0
        #: Updates stored and answered 200 (a repeat of a stored one included).
        self.accepted = 0

    @property
    def port(self) -> int:
        """The bound port (``port=0`` picks a free one)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self._host, self._port, limit=MAX_HEADERS * 4
        )
        log.info("webhook: listening on %s:%s%s", self._host, self.port, self._path.decode())

    async def stop(self) -> None:
        if self._server is None:
            return
        self._stopping = True
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        self._server = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADERS)
        try:
            while True:
                request = await self._next(conn, reader)
                if request is None:
                    break
                status, body = await self._answer(conn, reader, request)
                await self._send(conn, writer, status, body)
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    break
                try:
                    conn.start_next_cycle()
                except h11.LocalProtocolError:
                    break
        except (h11.RemoteProtocolError, ConnectionError, TimeoutError):
            pass
        except asyncio.CancelledError:
            # Stopping: asyncio's server would log a cancelled connection as an error.
            if not self._stopping:
                raise
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _next(self, conn: h11.Connection, reader: asyncio.StreamReader) -> h11.Request | None:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                async with asyncio.timeout(IDLE):
                    data = await reader.read(65536)
                conn.receive_data(data)
                if not data and conn.their_state is h11.IDLE:
                    return None
                continue
            if isinstance(event, h11.Request):
                return event
            if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None

    async def _body(self, conn: h11.Connection, reader: asyncio.StreamReader) -> bytes | None:
        """The request body; None when it is larger than :data:`MAX_BODY`."""
        chunks: list[bytes] = []
        size = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                async with asyncio.timeout(IDLE):
                    data = await reader.read(65536)
                conn.receive_data(data)
                if not data:
                    raise ConnectionError("closed mid-body")
                continue
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY:
                    return None
                chunks.append(bytes(event.data))
                continue
            if isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            raise ConnectionError("unexpected event in a request body")

    async def _answer(
        self, conn: h11.Connection, reader: asyncio.StreamReader, request: h11.Request
    ) -> tuple[int, bytes]:
        target = request.target.split(b"?", 1)[0]
        if target != self._path:
            return 404, b"not found"
        if request.method != b"POST":
            return 405, b"POST only"
        secret = dict(request.headers).get(SECRET_HEADER, b"")
        if not hmac.compare_digest(secret, self._secret):
            # Not Telegram (or an old secret): refused before the body is even read.
            self.forged += 1
            log.warning("webhook: a request without the right secret refused (403)")
            return 403, b"forbidden"
        body = await self._body(conn, reader)
        if body is None:
            return 413, b"too large"
        try:
            raw = json.loads(body)
        except ValueError:
            return 400, b"not JSON"
        if not isinstance(raw, dict):
            return 400, b"not an update"
        storage = self._storage()
        if storage is None:
            return 503, b"starting"
        try:
            stored = await store_updates(storage, [raw], self._app.bot, now=self._clock())
        except Exception as exc:
            # Telegram sends it again: nothing is lost, the database may be back by then.
            log.warning("webhook: update not stored (%s); Telegram will send it again", exc)
            return 500, b"not stored"
        update_id = raw.get("update_id")
        if after_store is not None and isinstance(update_id, int):
            await after_store(update_id)
        self.accepted += 1
        for update in stored.parsed.values():
            # The processor claims it with its chat's lease; a repeat finds nothing pending.
            self._app.update_queue.put_nowait(update)
        return 200, b""

    @staticmethod
    async def _send(
        conn: h11.Connection, writer: asyncio.StreamWriter, status: int, body: bytes
    ) -> None:
        if conn.their_state is not h11.DONE and status != 200:
            # The body was not read (refused early): do not read it, close after answering.
            headers = [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        else:
            headers = [(b"content-length", str(len(body)).encode())]
        headers.append((b"content-type", b"text/plain"))
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)) or b"")
        if body:
            writer.write(conn.send(h11.Data(data=body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
