"""The HTTP face of the emulator: the Bot API, file downloads, and the control API.

Bot API
    ``POST|GET /bot<TOKEN>/<method>`` — form-urlencoded, multipart (file uploads, ``attach://``
    references), JSON bodies and query strings are all accepted, as by the real server.
    ``GET /file/bot<TOKEN>/<file_path>`` downloads a file returned by ``getFile``.
    Errors are ``{"ok": false, "error_code": N, "description": "..."}`` with HTTP status N.
    ``setWebhook`` to a loopback URL (plain http allowed there) makes the emulator post each
    update to it as Telegram does (:mod:`tgemu.webhook`); ``getUpdates`` answers 409 meanwhile.

Control API (JSON; ``bot`` = username or token, defaults to the first registered bot)
    Requests other than GET must be same-origin: a cross-site ``Sec-Fetch-Site`` or a foreign
    ``Origin`` is refused (403), bodies must be ``Content-Type: application/json`` (415), and a
    multipart upload must carry the header ``X-Webchat: 1`` (403) — so no web page on another
    origin can act as a person.  Every request (Bot API included) must name this server in its
    ``Host`` header — 127.0.0.1, localhost or [::1] with the port, or the configured host —
    or gets 421 (DNS rebinding).

    ``GET    /control``                          this description
    ``POST   /control/bots``                     ``{token, username, first_name}`` → bot
    ``GET    /control/bots``                     registered bots
    ``GET    /control/bot?bot=``                 a bot's settings: commands, descriptions, webhook
    ``POST   /control/users``                    ``{first_name, last_name?, username?,
                                                 language_code?, label?}`` → user ``{id, ...}``
    ``GET    /control/users``                    all users
    ``POST   /control/users/{id}/message``       ``{text, bot?}`` → ``{message, update_id, seq}``;
                                                 ``/start PAYLOAD`` gets a bot_command entity
    ``POST   /control/users/{id}/callback``      ``{message_id, data, bot?}`` → ``{callback_id}``
    ``POST   /control/users/{id}/document``      multipart ``file`` (+ ``caption``, ``bot``);
                                                 413 above ``document_max_bytes``
    ``POST   /control/users/{id}/location``      ``{latitude, longitude, bot?}``
    ``POST   /control/users/{id}/blocked``       ``{blocked: bool, bot?}``
    ``POST   /control/users/{id}/deactivated``   ``{deactivated: bool}`` a deleted account: bots
                                                 get 403 "Forbidden: user is deactivated"
    ``POST   /control/users/{id}/label``         ``{label}`` who the person is in the web chat
    ``GET    /control/callbacks/unanswered``     ``?bot=`` callback queries never answered
    ``GET    /control/chats/{id}/transcript``    messages (current state) + every event
    ``GET    /control/chats/{id}/wait``          ``?after=SEQ&timeout=S`` → ``{seq, events}``
    ``GET    /control/events``                   server-sent events: every chat event, all chats
                                                 (``?bot=``: that bot's chats, plus user and
                                                 clock events)
    ``POST   /control/faults``                   ``{kind: "5xx"|"timeout"|"lost_response"|"429",
                                                 count, method?, status?, retry_after?, delay?,
                                                 description?}``: "timeout" drops the request
                                                 without performing it, "lost_response"
                                                 performs it and then drops the answer (see
                                                 :class:`~tgemu.faults.Fault`)
    ``POST   /control/updates/raw``              ``{type, payload, bot?}`` an update of any shape
                                                 (poison updates: the bot must set them aside)
    ``GET    /control/faults``  ``DELETE /control/faults``
    ``GET    /control/calls``                    ``?method=&bot=`` call log, each call with the
                                                 parameters its method does not have in the Bot
                                                 API (``undefined``); ``DELETE`` clears it
    ``GET    /control/webchat``                  ``?bot=`` the bot, limits, whether a clock exists
    ``GET    /control/files/{file_id}``          ``?bot=&download=1`` a file sent in a chat
    ``GET    /control/clock``                    the bot's clock (404 unless a sandbox attached one)
    ``POST   /control/clock``                    ``{preset}`` (``tomorrow_0900``, ``plus_hour``,
                                                 ``plus_day``) or ``{advance_seconds}`` or
                                                 ``{at: ISO}`` (naive: the cooperative's zone);
                                                 never backwards

Web chat
    ``GET /`` the web chat page (see :mod:`tgemu.webchat`); ``GET /webchat/{file}`` its
    script and style sheet.

Transcript events have ``{seq, kind, time, chat_id, bot, ...}`` with kind one of ``message``
(either direction, with ``message`` snapshot), ``edit`` (new snapshot), ``delete``,
``callback_query``, ``callback_answer`` (toast ``text``, ``show_alert``), ``chat_action``,
``blocked``, ``unblocked``. The event stream also carries ``user`` (a user was created, or
their label or deactivation changed, with ``user``) and ``clock`` (the sandbox's clock moved,
with ``now``), which have no ``chat_id`` and are not filtered by ``?bot=``.  A stream is
subscribed before its response starts, so whatever a client loads after the stream opened
cannot miss an event.  Message ``date``s follow the bot's clock when a sandbox attached one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web

from tgemu import webchat
from tgemu.botapi import HANDLERS, Call, Upload, check_required, coerce_params
from tgemu.core import ControlError, EmulatorCore, file_too_big
from tgemu.errors import NOT_FOUND, UNAUTHORIZED, ApiError, bad_request, too_many_requests
from tgemu.faults import CallRecord, Fault, now
from tgemu.spec import MethodSpec, load_spec
from tgemu.state import JSON, BotState, EmulatorConfig

_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger(__name__)


class EmulatorStartError(RuntimeError):
    """The emulator cannot start (port in use, non-loopback address without opt-in).

    The message is one line meant for the person at the terminal; the CLI prints it as is.
    """


class _Dropped(Exception):
    """A timeout or lost-response fault: the connection is closed without an answer."""


class _HtmlError(Exception):
    """A 5xx fault answered with an HTML page, as Telegram's front servers do."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class Emulator(EmulatorCore):
    """A local Telegram Bot API server for end-to-end tests, benchmarks and the sandbox."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        super().__init__(config)
        self.spec = load_spec()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._stopping = asyncio.Event()
        #: Every parameter a bot sent that the Bot API does not define for that method, by
        #: method: ``{"editMessageReplyMarkup": {"parse_mode"}}``. Telegram ignores them; they
        #: are answered as Telegram would, logged once, and kept here (never trimmed, unlike
        #: the call log) for a test to fail on.
        self.undefined_fields: dict[str, set[str]] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve; ``port=0`` picks a free port (see :attr:`url`)."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        host, port = self.config.host, self.config.port
        if not is_loopback(host):
            if not self.config.allow_remote:
                raise EmulatorStartError(
                    f"refusing to listen on {host}: the web chat and control API have no login, "
                    "anyone who reaches the port can act as anyone (opt in with allow_remote)"
                )
            warning = (
                f"WARNING: the emulator listens on {host}:{port}, beyond this machine. Anyone "
                "who can reach it can read every chat and act as any person. Use it only on a "
                "network you trust."
            )
            log.warning(warning)
            print(f"\n{'!' * 78}\n{warning}\n{'!' * 78}\n", file=sys.stderr, flush=True)
        self.closing = False
        self._stopping = asyncio.Event()
        app = web.Application(
            client_max_size=self.config.request_max_bytes,
            middlewares=[self._host_guard, self._control_guard],
        )
        self._add_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise EmulatorStartError(
                    f"port {port} on {host} is already in use (another sandbox or emulator "
                    "running?); stop it or choose another port with --port"
                ) from None
            raise EmulatorStartError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Wake every waiting request and shut the server down."""
        if self._runner is None:
            return
        self.shutdown()
        self._stopping.set()
        for bot in self.bots.values():
            delivery, bot.delivery = bot.delivery, None
            if delivery is not None:
                await delivery.stop()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:8081``."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """What to pass as python-telegram-bot's ``base_url``."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        """What to pass as python-telegram-bot's ``base_file_url``."""
        return f"{self.url}/file/bot"

    # -- request guards --------------------------------------------------------------------

    def allowed_hosts(self) -> frozenset[str]:
        """``Host`` header values this server answers (lower case, with the port)."""
        port = self.port
        names = {"127.0.0.1", "localhost", "[::1]", *self.config.allowed_hosts}
        host = self.config.host
        names.add(f"[{host}]" if ":" in host and not host.startswith("[") else host)
        hosts = {f"{name.lower()}:{port}" for name in names}
        if port == 80:
            hosts |= {name.lower() for name in names}
        return frozenset(hosts)

    @web.middleware
    async def _host_guard(
        self, request: web.Request, handler: ControlHandler
    ) -> web.StreamResponse:
        """421 for a ``Host`` this server is not (a DNS-rebinding page on a foreign name)."""
        host = (request.headers.get("Host") or "").strip().lower()
        if host not in self.allowed_hosts():
            return web.json_response(
                {"error": f"misdirected request: this server does not answer for {host!r}"},
                status=421,
            )
        return await handler(request)

    @web.middleware
    async def _control_guard(
        self, request: web.Request, handler: ControlHandler
    ) -> web.StreamResponse:
        """Refuse cross-site writes to the control API (CSRF, including ``no-cors`` posts)."""
        if not request.path.startswith("/control") or request.method in _SAFE_METHODS:
            return await handler(request)
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            return web.json_response(
                {"error": f"cross-site request refused (Sec-Fetch-Site: {site})"}, status=403
            )
        origin = request.headers.get("Origin")
        own = f"http://{request.headers.get('Host', '')}".lower()
        if origin is not None and origin.lower() != own:
            return web.json_response(
                {"error": f"request from another origin refused ({origin})"}, status=403
            )
        if request.content_type == "multipart/form-data":
            if request.headers.get("X-Webchat") != "1":
                return web.json_response(
                    {"error": "multipart uploads need the header X-Webchat: 1"}, status=403
                )
        elif (request.body_exists or request.method == "POST") and (
            request.content_type != "application/json"
        ):
            return web.json_response(
                {"error": "the control API takes Content-Type: application/json"}, status=415
            )
        return await handler(request)

    # -- routing ---------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_route("*", "/bot{token}/{method}", self._bot_api)
        r.add_get("/file/bot{token}/{path:.+}", self._download)
        control: list[tuple[str, str, ControlHandler]] = [
            ("GET", "/control", self._c_index),
            ("POST", "/control/bots", self._c_add_bot),
            ("GET", "/control/bots", self._c_bots),
            ("GET", "/control/bot", self._c_bot_state),
            ("POST", "/control/users", self._c_add_user),
            ("GET", "/control/users", self._c_users),
            ("GET", "/control/users/{id}", self._c_user),
            ("POST", "/control/users/{id}/message", self._c_message),
            ("POST", "/control/users/{id}/callback", self._c_callback),
            ("POST", "/control/users/{id}/document", self._c_document),
            ("POST", "/control/users/{id}/location", self._c_location),
            ("POST", "/control/users/{id}/blocked", self._c_blocked),
            ("POST", "/control/users/{id}/deactivated", self._c_deactivated),
            ("POST", "/control/users/{id}/label", self._c_label),
            ("GET", "/control/callbacks/unanswered", self._c_unanswered),
            ("GET", "/control/chats/{id}/transcript", self._c_transcript),
            ("GET", "/control/chats/{id}/wait", self._c_wait),
            ("GET", "/control/events", self._c_events),
            ("POST", "/control/updates/raw", self._c_raw_update),
            ("POST", "/control/faults", self._c_add_fault),
            ("GET", "/control/faults", self._c_faults),
            ("DELETE", "/control/faults", self._c_clear_faults),
            ("GET", "/control/calls", self._c_calls),
            ("DELETE", "/control/calls", self._c_clear_calls),
            ("GET", "/control/webchat", self._c_webchat),
            ("GET", "/control/files/{file_id}", self._c_file),
            ("GET", "/control/clock", self._c_clock),
            ("POST", "/control/clock", self._c_set_clock),
            ("GET", "/", self._w_page),
            ("GET", "/webchat/{name}", self._w_static),
        ]
        for verb, path, handler in control:
            r.add_route(verb, path, self._control(handler))
        r.add_route("*", "/{tail:.*}", self._not_found)

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(NOT_FOUND.payload(), status=404)

    # -- Bot API ---------------------------------------------------------------------------

    async def _bot_api(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        token = request.match_info["token"]
        method_name = request.match_info["method"]
        bot = self.bots.get(token)
        fault_kind: str | None = None
        undefined: tuple[str, ...] = ()
        try:
            if not _TOKEN_SHAPE.match(token):
                raise NOT_FOUND
            if bot is None:
                raise UNAUTHORIZED
            spec = self.spec.method(method_name)
            if spec is None:
                raise NOT_FOUND
            method_name = spec.name
            fault = self.faults.take(spec.name, bot.username, bot.token)
            if fault is not None:
                fault_kind = fault.kind
                if fault.kind != "lost_response":
                    await self._apply_fault(fault)
            try:
                raw, uploads = await self._read_params(request)
            except ConnectionResetError:
                # The bot went away mid-request (killed): nobody is left to answer.
                return web.Response(status=499)
            undefined = self._note_undefined(spec, raw)
            handler = HANDLERS.get(spec.name)
            if handler is None:
                raise bad_request(f"method not supported by the local emulator: {spec.name}")
            call = Call(self, bot, spec, coerce_params(spec, raw), uploads)
            check_required(call)
            try:
                result = await handler(call)
            finally:
                if fault is not None and fault.kind == "lost_response":
                    # Performed (or refused) for real; the answer never reaches the client.
                    await self._hold(fault.delay)
                    raise _Dropped
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.code, exc.payload()
        except _HtmlError as exc:
            self._log(
                bot, method_name, exc.status, started, "HTML error page", fault_kind, undefined
            )
            return web.Response(text=exc.body, status=exc.status, content_type="text/html")
        except _Dropped:
            self._log(bot, method_name, 0, started, "connection dropped", fault_kind, undefined)
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=504)
        self._log(bot, method_name, status, started, body.get("description"), fault_kind, undefined)
        return web.Response(
            text=json.dumps(body, ensure_ascii=False),
            status=status,
            content_type="application/json",
        )

    def _log(
        self,
        bot: BotState | None,
        method: str,
        status: int,
        started: float,
        description: Any,
        fault: str | None,
        undefined: tuple[str, ...] = (),
    ) -> None:
        self.faults.log(
            CallRecord(
                method=method,
                status=status,
                time=now(),
                duration=time.monotonic() - started,
                bot=bot.username if bot else None,
                description=description if isinstance(description, str) else None,
                fault=fault,
                undefined=undefined,
            )
        )

    def _note_undefined(self, spec: MethodSpec, params: dict[str, Any]) -> tuple[str, ...]:
        """The parameters of a call its method does not have in the Bot API, noted (and logged
        the first time each is seen): Telegram ignores them, so nothing else would show them."""
        undefined = tuple(sorted(name for name in params if name not in spec.fields))
        for name in undefined:
            seen = self.undefined_fields.setdefault(spec.name, set())
            if name not in seen:
                seen.add(name)
                log.warning(
                    "%s was sent %r, not a parameter of it in the Bot API (Telegram ignores it)",
                    spec.name,
                    name,
                )
        return undefined

    async def _apply_fault(self, fault: Fault) -> None:
        if fault.kind == "429":
            raise too_many_requests(fault.retry_after)
        if fault.kind == "timeout":
            await self._hold(fault.delay)
            raise _Dropped
        html = fault.html_body
        if html is not None:
            raise _HtmlError(fault.status, html)
        raise ApiError(fault.status, fault.error_description)

    async def _hold(self, seconds: float) -> None:
        """Keep a request hanging (until the emulator stops)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        params: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if not request.body_exists:
            return params, uploads
        try:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("JSON object expected")
                params.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        with value.file:
                            data = value.file.read()
                        uploads[key] = Upload(value.filename, value.content_type, data)
                    else:
                        params[key] = value if isinstance(value, str) else bytes(value).decode()
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
        return params, uploads

    async def _download(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        bot = self.bots.get(request.match_info["token"])
        if bot is None:
            error = UNAUTHORIZED if _TOKEN_SHAPE.match(request.match_info["token"]) else NOT_FOUND
            return web.json_response(error.payload(), status=error.code)
        stored = bot.files_by_path.get(request.match_info["path"])
        if stored is None:
            self._log(bot, "downloadFile", 404, started, "Not Found", None)
            return web.json_response(NOT_FOUND.payload(), status=404)
        self._log(bot, "downloadFile", 200, started, None, None)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # -- control API -----------------------------------------------------------------------

    def _control(self, handler: ControlHandler) -> ControlHandler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except ControlError as exc:
                return web.json_response({"error": exc.message}, status=exc.status)
            except (ValueError, KeyError, TypeError) as exc:
                return web.json_response({"error": f"bad request: {exc}"}, status=400)

        return wrapped

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        if not request.body_exists:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise ControlError(400, "body must be JSON") from None
        if not isinstance(body, dict):
            raise ControlError(400, "body must be a JSON object")
        return body

    @staticmethod
    def _ok(data: Any, status: int = 200) -> web.Response:
        return web.Response(
            text=json.dumps(data, ensure_ascii=False),
            status=status,
            content_type="application/json",
        )

    def _bot_json(self, bot: BotState) -> JSON:
        return {"id": bot.id, "username": bot.username, "first_name": bot.first_name}

    async def _c_index(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=__doc__ or "", content_type="text/plain")

    async def _c_add_bot(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        bot = self.add_bot(
            str(body["token"]),
            str(body.get("username", "qingshou_bot")),
            str(body.get("first_name", "清收")),
        )
        return self._ok(self._bot_json(bot), 201)

    async def _c_bots(self, request: web.Request) -> web.StreamResponse:
        return self._ok([self._bot_json(b) for b in self.bots.values()])

    async def _c_bot_state(self, request: web.Request) -> web.StreamResponse:
        bot = self.bot(request.query.get("bot"))
        return self._ok(
            {
                **self._bot_json(bot),
                "commands": [
                    {"scope": json.loads(scope), "language_code": lang, "commands": cmds}
                    for (scope, lang), cmds in bot.commands.items()
                ],
                "descriptions": [
                    {"kind": kind, "language_code": lang, "value": value}
                    for (kind, lang), value in bot.descriptions.items()
                ],
                # The secret stays with the bot: the control API says only whether there is one.
                "webhook": {
                    **{k: v for k, v in bot.webhook.items() if k != "secret_token"},
                    "has_secret": bool(bot.webhook.get("secret_token")),
                    "posts": bot.webhook_posts,
                    "most_in_flight": (
                        bot.delivery.most_in_flight if bot.delivery is not None else 0
                    ),
                },
                "allowed_updates": bot.allowed_updates,
                "pending_updates": len(bot.updates),
            }
        )

    async def _c_add_user(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        user = self.add_user(
            str(body["first_name"]),
            body.get("last_name"),
            body.get("username"),
            str(body.get("language_code", "en")),
            str(body["label"]) if body.get("label") else None,
        )
        return self._ok(user.to_json(), 201)

    async def _c_users(self, request: web.Request) -> web.StreamResponse:
        return self._ok([u.to_json() for u in self.users.values()])

    async def _c_user(self, request: web.Request) -> web.StreamResponse:
        return self._ok(self.user(int(request.match_info["id"])).to_json())

    async def _c_message(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        reply_to = body.get("reply_to_message_id")
        result = self.user_sends_text(
            int(request.match_info["id"]),
            str(body.get("text", "")),
            body.get("bot"),
            reply_to=int(reply_to) if reply_to is not None else None,
        )
        return self._ok(result)

    async def _c_callback(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        result = self.user_presses(
            int(request.match_info["id"]),
            int(body["message_id"]),
            str(body["data"]),
            body.get("bot"),
        )
        return self._ok(result)

    async def _c_document(self, request: web.Request) -> web.StreamResponse:
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            raise ControlError(
                413, file_too_big(request.content_length, self.config.document_max_bytes)
            ) from None
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise ControlError(400, "multipart field 'file' is required")
        with upload.file:
            data = upload.file.read()
        caption = form.get("caption")
        bot = form.get("bot")
        result = self.user_sends_document(
            int(request.match_info["id"]),
            upload.filename or "file.bin",
            data,
            upload.content_type if upload.content_type != "application/octet-stream" else None,
            str(caption) if caption else None,
            str(bot) if bot else None,
        )
        return self._ok(result)

    async def _c_location(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        result = self.user_sends_location(
            int(request.match_info["id"]),
            float(body["latitude"]),
            float(body["longitude"]),
            body.get("bot"),
        )
        return self._ok(result)

    async def _c_blocked(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        user_id = int(request.match_info["id"])
        self.set_blocked(user_id, _bool(body.get("blocked", True)), body.get("bot"))
        return self._ok({"user_id": user_id, "blocked": _bool(body.get("blocked", True))})

    async def _c_deactivated(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        user = self.set_deactivated(
            int(request.match_info["id"]), _bool(body.get("deactivated", True))
        )
        return self._ok(user.to_json())

    async def _c_label(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        label = body.get("label")
        user = self.set_label(int(request.match_info["id"]), str(label) if label else None)
        return self._ok(user.to_json())

    async def _c_raw_update(self, request: web.Request) -> web.StreamResponse:
        # An update of any shape, as a newer Bot API (or a bug) could send: the bot must cope
        # with what it cannot parse (set it aside) and carry on.
        body = await self._json(request)
        update_type, payload = body.get("type"), body.get("payload")
        if not isinstance(update_type, str) or not update_type:
            raise ControlError(400, "'type' (the update's field name) is required")
        update_id = self.bot(body.get("bot")).push_update(update_type, cast(JSON, payload))
        return self._ok({"update_id": update_id})

    async def _c_unanswered(self, request: web.Request) -> web.StreamResponse:
        return self._ok(self.unanswered_callbacks(request.query.get("bot")))

    async def _c_transcript(self, request: web.Request) -> web.StreamResponse:
        chat = self.chat(self.bot(request.query.get("bot")), int(request.match_info["id"]))
        return self._ok(chat.transcript())

    async def _c_wait(self, request: web.Request) -> web.StreamResponse:
        chat = self.chat(self.bot(request.query.get("bot")), int(request.match_info["id"]))
        after = int(request.query.get("after", "0"))
        timeout = min(max(float(request.query.get("timeout", "10")), 0.0), 60.0)
        deadline = time.monotonic() + timeout
        while True:
            events = chat.events[max(after, 0) :]
            remaining = deadline - time.monotonic()
            if events or remaining <= 0 or self.closing:
                return self._ok({"seq": chat.seq, "events": events})
            await chat.changed.wait(remaining)

    async def _c_events(self, request: web.Request) -> web.StreamResponse:
        bot_filter = request.query.get("bot")
        wanted = self.bot(bot_filter).username if bot_filter else None
        if self.events_suspended:
            raise ControlError(503, "event streams are suspended (a test simulates an outage)")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        # Subscribe before the client learns the stream is open: whatever it loads after
        # "open" can then never miss an event.
        queue = self.subscribe()
        try:
            await response.prepare(request)
            await response.write(b": connected\nretry: 1000\n\n")
            while not self.closing:
                try:
                    event = await asyncio.wait_for(queue.get(), 15.0)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if event is None:
                    break
                # Only chat events belong to a bot; user and clock events go to everyone.
                if wanted is not None and "bot" in event and event["bot"] != wanted:
                    continue
                payload = json.dumps(event, ensure_ascii=False)
                await response.write(f"event: {event['kind']}\ndata: {payload}\n\n".encode())
        except (ConnectionResetError, ConnectionError):
            pass  # the browser tab went away
        finally:
            self.unsubscribe(queue)
        return response

    async def _c_add_fault(self, request: web.Request) -> web.StreamResponse:
        body = await self._json(request)
        fault = self.inject_fault(
            kind=body.get("kind", "5xx"),
            count=int(body.get("count", 1)),
            method=body.get("method"),
            status=int(body.get("status", 502)),
            retry_after=int(body.get("retry_after", 1)),
            delay=float(body.get("delay", 2.0)),
            description=body.get("description"),
            bot=body.get("bot"),
        )
        return self._ok(fault.to_json(), 201)

    async def _c_faults(self, request: web.Request) -> web.StreamResponse:
        return self._ok([f.to_json() for f in self.faults.faults])

    async def _c_clear_faults(self, request: web.Request) -> web.StreamResponse:
        self.faults.clear()
        return self._ok({"cleared": True})

    async def _c_calls(self, request: web.Request) -> web.StreamResponse:
        calls = self.faults.query(request.query.get("method"), request.query.get("bot"))
        return self._ok([c.to_json() for c in calls])

    async def _c_clear_calls(self, request: web.Request) -> web.StreamResponse:
        self.faults.calls.clear()
        return self._ok({"cleared": True})

    # -- web chat --------------------------------------------------------------------------

    async def _c_webchat(self, request: web.Request) -> web.StreamResponse:
        return self._ok(webchat.info(self, request.query.get("bot")))

    async def _c_file(self, request: web.Request) -> web.StreamResponse:
        return webchat.file_response(
            self,
            request.match_info["file_id"],
            request.query.get("bot"),
            _bool(request.query.get("download", "0")),
        )

    async def _c_clock(self, request: web.Request) -> web.StreamResponse:
        return self._ok(webchat.clock_json(self))

    async def _c_set_clock(self, request: web.Request) -> web.StreamResponse:
        return self._ok(webchat.jump_clock(self, await self._json(request)))

    async def _w_page(self, request: web.Request) -> web.StreamResponse:
        return webchat.static_response("index.html")

    async def _w_static(self, request: web.Request) -> web.StreamResponse:
        return webchat.static_response(request.match_info["name"])
