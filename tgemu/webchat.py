"""The web chat: the emulator's users, their chats and the sandbox's clock, in a browser.

``GET /`` serves a page (plain HTML/CSS/JS from ``static/``, nothing fetched from outside
loopback) that shows each person's private chat with the bot the way Telegram shows it and lets
the person type, press buttons, upload files and share a location through the control API.
Updates arrive live over ``GET /control/events``.

This module holds what the page needs beyond the plain control API: serving the page, file
downloads without the bot token, and the time control (``GET|POST /control/clock``), which exists
only when a sandbox has attached the bot's clock with :meth:`EmulatorCore.attach_clock`.
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from tgemu.core import MAX_CLOCK_JUMP, ControlError, EmulatorCore
from tgemu.formatting import MAX_CAPTION_UTF16, MAX_TEXT_UTF16
from tgemu.state import JSON

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}
#: The page may load and connect to nothing but its own origin; no inline script or style.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_INLINE_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def static_response(name: str) -> web.Response:
    """One of the page's own files, with a strict content security policy."""
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        raise ControlError(404, f"no such file: {name}")
    body = (STATIC_DIR / name).read_bytes()
    return web.Response(
        body=body, content_type=content_type, charset="utf-8", headers=_PAGE_HEADERS
    )


def info(core: EmulatorCore, bot_ref: str | None) -> JSON:
    """What the page needs to start: the bot, limits, whether there is a time control."""
    bot: JSON | None = None
    if core.bots:
        state = core.bot(bot_ref)
        bot = {"id": state.id, "username": state.username, "first_name": state.first_name}
    return {
        "bot": bot,
        "clock": core.clock is not None,
        "limits": {
            "text_utf16": MAX_TEXT_UTF16,
            "caption_utf16": MAX_CAPTION_UTF16,
            "document_max_bytes": core.config.document_max_bytes,
            "request_max_bytes": core.config.request_max_bytes,
        },
    }


def file_response(
    core: EmulatorCore, file_id: str, bot_ref: str | None, download: bool
) -> web.Response:
    """A file a bot sent or received, by ``file_id``: images inline, everything else as a
    download (an uploaded HTML file must never run as a page of this origin)."""
    stored = core.bot(bot_ref).files.get(file_id)
    if stored is None:
        raise ControlError(404, f"unknown file {file_id!r}")
    mime = stored.mime_type or mimetypes.guess_type(stored.file_path)[0]
    mime = mime or "application/octet-stream"
    inline = not download and mime in _INLINE_IMAGES
    name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
    disposition = "inline" if inline else "attachment"
    return web.Response(
        body=stored.data,
        content_type=mime if inline else "application/octet-stream",
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
            "Content-Security-Policy": "sandbox",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )


# -- the time control ----------------------------------------------------------------------


def _zone(core: EmulatorCore) -> tzinfo:
    return core.clock_tz or UTC


def clock_json(core: EmulatorCore) -> JSON:
    """The bot's time, in UTC and in the cooperative's zone, plus "tomorrow 09:00"."""
    if core.clock is None:
        raise ControlError(404, "no clock attached (only the sandbox has a time control)")
    zone = _zone(core)
    now = core.clock.now()
    local = now.astimezone(zone)
    return {
        "now": now.astimezone(UTC).isoformat(),
        "local": local.isoformat(),
        "tz": str(zone),
        "tomorrow_0900": tomorrow_at(now, zone, time(9, 0)).isoformat(),
    }


def tomorrow_at(now: datetime, zone: tzinfo, at: time) -> datetime:
    """``at`` o'clock on the day after ``now``, in ``zone``."""
    day = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, at, tzinfo=zone)


def parse_local(value: str, zone: tzinfo) -> datetime:
    """An ISO date-time; without an offset it is read in the cooperative's zone."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ControlError(400, f"not a date and time: {value!r} (use 2025-03-01T09:00)") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


def jump_clock(core: EmulatorCore, body: JSON) -> JSON:
    """Move the clock: ``{"preset": "tomorrow_0900"|"plus_hour"|"plus_day"}``,
    ``{"advance_seconds": N}`` or ``{"at": "2025-03-01T09:00"}``; never backwards."""
    if core.clock is None:
        raise ControlError(404, "no clock attached (only the sandbox has a time control)")
    zone = _zone(core)
    now = core.clock.now()
    try:
        target = _target(body, now, zone)
    except OverflowError:
        raise ControlError(
            400,
            f"that is too far ahead: the clock moves at most {MAX_CLOCK_JUMP.days // 365} "
            "years at once",
        ) from None
    core.set_clock(target)
    return clock_json(core)


def _target(body: JSON, now: datetime, zone: tzinfo) -> datetime:
    preset = body.get("preset")
    if preset is not None:
        targets = {
            "tomorrow_0900": lambda: tomorrow_at(now, zone, time(9, 0)),
            "plus_hour": lambda: now + timedelta(hours=1),
            "plus_day": lambda: now + timedelta(days=1),
        }
        if preset not in targets:
            raise ControlError(400, f"unknown preset {preset!r}; one of {', '.join(targets)}")
        target = targets[preset]()
    elif "advance_seconds" in body:
        seconds = float(body["advance_seconds"])
        if seconds < 0:
            raise ControlError(400, "the clock only moves forward")
        target = now + timedelta(seconds=seconds)
    elif "at" in body:
        target = parse_local(str(body["at"]), zone)
    else:
        raise ControlError(400, "give preset, advance_seconds or at")
    return target
