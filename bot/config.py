"""Settings, loaded once from a mapping (the environment plus an optional ``.env``).

Every problem names the variable it comes from and stops start-up: an operator who mistypes
``QINGSHOU_TZ`` learns it from the first line of output, not from a reminder sent at the wrong
hour a week later. Tests pass a plain dict, so nothing here reads ``os.environ`` implicitly.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.i18n import SUPPORTED_LOCALES, normalise_locale

TELEGRAM_API_URL = "https://api.telegram.org/bot"
#: Every variable qingshou reads; any other QINGSHOU_* is a typo and stops start-up.
KNOWN_VARIABLES = (
    "QINGSHOU_BOT_TOKEN",
    "QINGSHOU_API_URL",
    "QINGSHOU_DB",
    "QINGSHOU_TZ",
    "QINGSHOU_LANG",
    "QINGSHOU_ADMINS",
    "QINGSHOU_DIGEST_TIME",
    "QINGSHOU_IMPORT_MAX_ROWS",
    "QINGSHOU_PREP_DRAFT_HOURS",
    "QINGSHOU_APPROVAL_REMIND_MINUTES",
    "QINGSHOU_FIRST_DUE_DAYS",
    "QINGSHOU_PLAN_MONTHS",
    "QINGSHOU_UNPREPARED_GAP_PERCENT",
    "QINGSHOU_REMIND_TIME",
    "QINGSHOU_HEADS_UP_DAYS",
    "QINGSHOU_GRACE_DAYS",
    "QINGSHOU_CATCHUP_HOURS",
    "QINGSHOU_UNTOUCHED_DAYS",
    "QINGSHOU_LEGAL_ALERT_DAYS",
    "QINGSHOU_PER_CHAT_RATE",
    "QINGSHOU_PER_CHAT_BURST",
    "QINGSHOU_OVERALL_RATE",
    "QINGSHOU_COOP_NAME",
    "QINGSHOU_COOP_CONTACT",
    "QINGSHOU_INSTANCE",
    "QINGSHOU_WEBHOOK_URL",
    "QINGSHOU_WEBHOOK_LISTEN",
    "QINGSHOU_WEBHOOK_SECRET",
)
#: Read by the test suite and `make screenshots`, not by the bot.
_TOOLING_VARIABLES = ("QINGSHOU_SCREENSHOT_DIR",)
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,64}$")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Secret(str):
    """A string whose repr and str never show the value (the bot token)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('**********')" if self else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self else ""

    def reveal(self) -> str:
        """Return the real value; call only where it is handed to python-telegram-bot."""
        return str.__str__(self)


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed configuration of one qingshou process."""

    token: Secret = Secret("")  # noqa: RUF009 - immutable, sharing it is safe
    api_url: str = TELEGRAM_API_URL
    db_path: Path = Path("qingshou.db")
    #: QINGSHOU_DB as given: a SQLite path or URL, or ``postgresql://...`` (see :attr:`database`).
    db_url: str = ""
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    default_locale: str = "zh_Hans"
    admins: frozenset[int] = frozenset()
    digest_time: time = time(18, 0)
    #: Data rows a ledger file may have; a longer one is refused early (QINGSHOU_IMPORT_MAX_ROWS).
    import_max_rows: int = 200_000
    #: How long an unfinished /prep waits for its collector (QINGSHOU_PREP_DRAFT_HOURS).
    prep_draft_hours: int = 24
    #: An approval request nobody answered is sent once more after this many minutes.
    approval_remind_minutes: int = 30
    #: A first instalment further out than this many days needs the supervisor (策略6).
    first_due_days: int = 31
    #: A collector may agree a plan of up to this many months alone.
    plan_months: int = 6
    #: With no bottom line from a prep, a plan leaving more than this share of the debt unpaid
    #: (percent) goes to the supervisor.
    unprepared_gap_percent: int = 50
    #: The local hour of the due-day reminder (and of the next-morning follow-up).
    remind_time: time = time(9, 0)
    #: The heads-up goes this many days before the due date at the reminder hour; 0 = none.
    heads_up_days: int = 1
    #: Days, from the due date, in which a missed payment is only "late" (0: broken at once).
    grace_days: int = 0
    #: After downtime, reminders overdue by more than this go to the supervisor's digest
    #: instead of the collector's chat.
    catchup_hours: int = 48
    #: A case without contact for this many days is "untouched" in the digest.
    untouched_days: int = 14
    #: /today lists every legal clock (limitation, guarantee period) ending within this many
    #: days, with what to do before it ends (issue 19).
    legal_alert_days: int = 30
    #: Seconds between reminder-poller ticks (the clock; each tick claims what is due).
    poll_interval: float = 20.0
    #: Seconds after start-up of the poller's first tick: the catch-up of what came due while
    #: the bot was down goes out at once, not a whole interval later. Capped by poll_interval.
    poll_first: float = 3.0
    #: Seconds python-telegram-bot waits for an answer before it raises ``TimedOut``.
    request_timeout: float = 10.0
    #: Seconds between outbox ticks (a notification waits at most this long); tests tick by hand.
    outbox_interval: float = 2.0
    #: Telegram's pace, kept by the bot's own rate limiter so that Telegram never has to say
    #: 429: about one message a second to one chat after a burst of three, and 30 a second
    #: overall. Only a test emulator that paces faster is a reason to change them.
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    overall_per_second: float = 30.0
    #: The cooperative as its papers name it (催收通知书, 还款协议); empty: "本社" / "our
    #: cooperative", the name then written on the paper by hand or by its seal.
    coop_name: str = ""
    #: How a borrower reaches the cooperative, printed on a notice (address, telephone).
    coop_contact: str = ""
    #: This process's name among the replicas on one database (QINGSHOU_INSTANCE): on every
    #: lease it takes, so that, restarted after a crash, it takes back at once what it held.
    #: Stable across restarts, different for each replica (default: host, working directory
    #: and webhook port).
    instance: str = "qingshou"
    #: Webhook mode (QINGSHOU_WEBHOOK_URL): the public HTTPS address Telegram posts updates to
    #: (None: long polling). The bot listens on ``webhook_listen`` (host, port), behind a
    #: reverse proxy that ends TLS, and refuses every request without ``webhook_secret``.
    webhook_url: str | None = None
    webhook_listen: tuple[str, int] = ("127.0.0.1", 8443)
    webhook_secret: Secret = Secret("")  # noqa: RUF009 - immutable, sharing it is safe
    #: Seconds between looks for stored updates nobody is handling (a replica died holding
    #: them, or received them while another replica held their chat).
    sweep_interval: float = 5.0

    @property
    def webhook_path(self) -> str:
        """The path the webhook is served on (the URL's own path)."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def database(self) -> str:
        """The storage URL to open: QINGSHOU_DB as given, unless ``db_path`` was replaced
        since (``--db``, the sandbox's own file), then that file."""
        if self.db_url and Path(self.db_url) == self.db_path:
            return self.db_url
        return str(self.db_path)

    @property
    def on_postgres(self) -> bool:
        return self.database.partition("://")[0].lower() in ("postgresql", "postgres")

    @property
    def file_url(self) -> str:
        """The Bot API file-download base, derived like Telegram's (``/bot`` -> ``/file/bot``)."""
        base = self.api_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"

    @property
    def sandbox(self) -> bool:
        """No token: the bot runs against the local emulator only."""
        return not self.token


def _parse_admins(raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in raw.replace(" ", "").split(","):
        if not part:
            continue
        if not (part.isascii() and part.isdecimal()):
            raise ConfigError(
                f"QINGSHOU_ADMINS: {part!r} is not a Telegram user id "
                "(expected comma-separated numbers, e.g. 123456,789012)"
            )
        ids.add(int(part))
    return frozenset(ids)


def _parse_time(raw: str, name: str = "QINGSHOU_DIGEST_TIME", example: str = "18:00") -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ConfigError(f"{name}: {raw!r} is not a time of day (use HH:MM, e.g. {example})")
    return time(int(match[1]), int(match[2]))


def _parse_max_rows(raw: str) -> int:
    text = raw.replace("_", "").replace(",", "")
    if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= 10_000_000:
        raise ConfigError(
            f"QINGSHOU_IMPORT_MAX_ROWS: {raw!r} is not a number of rows from 1 to 10000000 "
            "(e.g. 200000)"
        )
    return int(text)


def _parse_hours(raw: str) -> int:
    if not (raw.isascii() and raw.isdecimal()) or not 1 <= int(raw) <= 24 * 30:
        raise ConfigError(
            f"QINGSHOU_PREP_DRAFT_HOURS: {raw!r} is not a number of hours from 1 to 720 (e.g. 24)"
        )
    return int(raw)


def _parse_minutes(raw: str) -> int:
    if not (raw.isascii() and raw.isdecimal()) or not 1 <= int(raw) <= 24 * 60:
        raise ConfigError(
            f"QINGSHOU_APPROVAL_REMIND_MINUTES: {raw!r} is not a number of minutes from 1 to "
            "1440 (e.g. 30)"
        )
    return int(raw)


def _parse_count(name: str, raw: str, low: int, high: int) -> int:
    if not (raw.isascii() and raw.isdecimal()) or not low <= int(raw) <= high:
        raise ConfigError(f"{name}: {raw!r} is not a whole number from {low} to {high}")
    return int(raw)


def _parse_rate(name: str, raw: str, example: str) -> float:
    try:
        rate = float(raw)
    except ValueError:
        rate = 0.0
    if not 0.01 <= rate <= 1_000_000:  # also refuses nan and inf
        raise ConfigError(
            f"{name}: {raw!r} is not a number of messages per second from 0.01 to 1000000 "
            f"(e.g. {example})"
        )
    return rate


def _parse_words(name: str, raw: str, limit: int = 200) -> str:
    if len(raw) > limit or any(ch in raw for ch in "\r\n\t"):
        raise ConfigError(f"{name}: {limit} characters at most, on one line")
    return raw


_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parse_webhook_url(raw: str) -> str:
    parts = urlsplit(raw)
    host = parts.hostname or ""
    plain_local = parts.scheme == "http" and _loopback(host)
    if (parts.scheme != "https" and not plain_local) or not host or parts.query or parts.fragment:
        raise ConfigError(
            f"QINGSHOU_WEBHOOK_URL: {raw!r} is not an https:// address without a query "
            "(Telegram posts only to HTTPS; plain http only to this machine, for the emulator), "
            "e.g. https://bot.example.com/qingshou"
        )
    return raw


def _parse_listen(raw: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    host = host.strip("[]")
    if not host or not (port.isascii() and port.isdecimal()) or not 1 <= int(port) <= 65535:
        raise ConfigError(
            f"QINGSHOU_WEBHOOK_LISTEN: {raw!r} is not HOST:PORT (e.g. 127.0.0.1:8443, where "
            "the reverse proxy forwards the webhook to)"
        )
    return host, int(port)


def _default_instance(listen: tuple[str, int] | None) -> str:
    name = f"{socket.gethostname()}:{Path.cwd()}"
    return f"{name}:{listen[1]}" if listen is not None else name


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: Path | None = None) -> Settings:
    """Build settings from ``env`` (default: ``os.environ``) over an optional ``.env`` file.

    Values in the real environment win over the file, as operators expect. Empty values count
    as unset.
    """
    merged: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        merged.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    merged.update(os.environ if env is None else env)
    ours = {k: v for k, v in merged.items() if k.startswith("QINGSHOU_")}
    for key in ours:
        if key not in KNOWN_VARIABLES and key not in _TOOLING_VARIABLES:
            close = difflib.get_close_matches(key, KNOWN_VARIABLES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"{key}: not a qingshou setting{hint}; known: {', '.join(KNOWN_VARIABLES)}"
            )
    get = {k: v.strip() for k, v in ours.items() if v.strip()}

    token = get.get("QINGSHOU_BOT_TOKEN", "")
    if token and not _TOKEN_RE.fullmatch(token):
        raise ConfigError(
            "QINGSHOU_BOT_TOKEN: does not look like a bot token from @BotFather "
            "(digits, a colon, then 30+ letters)"
        )

    api_url = get.get("QINGSHOU_API_URL", TELEGRAM_API_URL)
    # python-telegram-bot appends the token directly: without the trailing /bot the token would
    # land in the host or port, and from there in error messages.
    if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?/bot", api_url.rstrip("/")):
        raise ConfigError(
            f"QINGSHOU_API_URL: {api_url!r} must be an http(s) URL ending in /bot "
            "(python-telegram-bot's form, e.g. http://127.0.0.1:8081/bot)"
        )
    api_url = api_url.rstrip("/")

    tz_name = get.get("QINGSHOU_TZ", "Asia/Shanghai")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"QINGSHOU_TZ: {tz_name!r} is not an IANA time zone (e.g. Asia/Shanghai)"
        ) from exc

    lang_raw = get.get("QINGSHOU_LANG", "zh_Hans")
    lang = normalise_locale(lang_raw)
    if lang is None:
        raise ConfigError(
            f"QINGSHOU_LANG: {lang_raw!r} is not one of {', '.join(SUPPORTED_LOCALES)}"
        )

    db = get.get("QINGSHOU_DB", "qingshou.db")
    scheme = db.partition("://")[0].lower() if "://" in db else ""
    if scheme not in ("", "sqlite", "postgresql", "postgres"):
        raise ConfigError(
            f"QINGSHOU_DB: no storage backend for {scheme}:// (use a SQLite file path, "
            "sqlite:///path.db, or postgresql://user:password@host:5432/dbname)"
        )
    webhook_url = get.get("QINGSHOU_WEBHOOK_URL")
    listen: tuple[str, int] | None = None
    secret = get.get("QINGSHOU_WEBHOOK_SECRET", "")
    if webhook_url is not None:
        webhook_url = _parse_webhook_url(webhook_url)
        listen = _parse_listen(get.get("QINGSHOU_WEBHOOK_LISTEN", "127.0.0.1:8443"))
        if not _SECRET_RE.fullmatch(secret):
            raise ConfigError(
                "QINGSHOU_WEBHOOK_SECRET: needed with QINGSHOU_WEBHOOK_URL, 16 to 256 of "
                "A-Z a-z 0-9 _ - (Telegram's rule; e.g. the output of "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
    else:
        for name in ("QINGSHOU_WEBHOOK_LISTEN", "QINGSHOU_WEBHOOK_SECRET"):
            if name in get:
                raise ConfigError(f"{name}: only used with QINGSHOU_WEBHOOK_URL, which is not set")
    instance = get.get("QINGSHOU_INSTANCE") or _default_instance(listen)
    if len(instance) > 200:
        raise ConfigError("QINGSHOU_INSTANCE: longer than 200 characters")

    return Settings(
        instance=instance,
        webhook_url=webhook_url,
        webhook_listen=listen or ("127.0.0.1", 8443),
        webhook_secret=Secret(secret),
        token=Secret(token),
        api_url=api_url,
        db_path=Path(db),
        db_url=db,
        tz=tz,
        default_locale=lang,
        admins=_parse_admins(get.get("QINGSHOU_ADMINS", "")),
        digest_time=_parse_time(get.get("QINGSHOU_DIGEST_TIME", "18:00")),
        import_max_rows=_parse_max_rows(get.get("QINGSHOU_IMPORT_MAX_ROWS", "200000")),
        prep_draft_hours=_parse_hours(get.get("QINGSHOU_PREP_DRAFT_HOURS", "24")),
        approval_remind_minutes=_parse_minutes(get.get("QINGSHOU_APPROVAL_REMIND_MINUTES", "30")),
        first_due_days=_parse_count(
            "QINGSHOU_FIRST_DUE_DAYS", get.get("QINGSHOU_FIRST_DUE_DAYS", "31"), 1, 366
        ),
        plan_months=_parse_count(
            "QINGSHOU_PLAN_MONTHS", get.get("QINGSHOU_PLAN_MONTHS", "6"), 1, 120
        ),
        unprepared_gap_percent=_parse_count(
            "QINGSHOU_UNPREPARED_GAP_PERCENT",
            get.get("QINGSHOU_UNPREPARED_GAP_PERCENT", "50"),
            0,
            100,
        ),
        remind_time=_parse_time(
            get.get("QINGSHOU_REMIND_TIME", "09:00"), "QINGSHOU_REMIND_TIME", "09:00"
        ),
        heads_up_days=_parse_count(
            "QINGSHOU_HEADS_UP_DAYS", get.get("QINGSHOU_HEADS_UP_DAYS", "1"), 0, 14
        ),
        grace_days=_parse_count("QINGSHOU_GRACE_DAYS", get.get("QINGSHOU_GRACE_DAYS", "0"), 0, 60),
        catchup_hours=_parse_count(
            "QINGSHOU_CATCHUP_HOURS", get.get("QINGSHOU_CATCHUP_HOURS", "48"), 1, 24 * 30
        ),
        untouched_days=_parse_count(
            "QINGSHOU_UNTOUCHED_DAYS", get.get("QINGSHOU_UNTOUCHED_DAYS", "14"), 1, 365
        ),
        legal_alert_days=_parse_count(
            "QINGSHOU_LEGAL_ALERT_DAYS", get.get("QINGSHOU_LEGAL_ALERT_DAYS", "30"), 0, 365
        ),
        per_chat_per_second=_parse_rate(
            "QINGSHOU_PER_CHAT_RATE", get.get("QINGSHOU_PER_CHAT_RATE", "1"), "1"
        ),
        per_chat_burst=_parse_count(
            "QINGSHOU_PER_CHAT_BURST", get.get("QINGSHOU_PER_CHAT_BURST", "3"), 1, 1_000_000
        ),
        overall_per_second=_parse_rate(
            "QINGSHOU_OVERALL_RATE", get.get("QINGSHOU_OVERALL_RATE", "30"), "30"
        ),
        coop_name=_parse_words("QINGSHOU_COOP_NAME", get.get("QINGSHOU_COOP_NAME", "")),
        coop_contact=_parse_words("QINGSHOU_COOP_CONTACT", get.get("QINGSHOU_COOP_CONTACT", "")),
    )
