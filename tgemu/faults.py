"""Fault injection and the call log.

Production bots meet 5xx answers, hung connections and flood control; the code that copes
with them (retries, backoff) is only trustworthy if tests can provoke those faults on demand
and then check from the call log that the bot really retried.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["5xx", "timeout", "lost_response", "429"]
FAULT_KINDS: tuple[str, ...] = ("5xx", "timeout", "lost_response", "429")
_FAULT_IDS = itertools.count(1)
_DEFAULT_DESCRIPTIONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(slots=True)
class Fault:
    """Make the next ``count`` matching calls fail.

    ``kind="5xx"`` answers ``status``: 502 and 504 come, as from Telegram's front servers, as
    an nginx HTML page (python-telegram-bot maps them to ``NetworkError``); other statuses, or
    any status with an explicit ``description``, as a Telegram-shaped JSON error.

    ``"timeout"`` holds the request for ``delay`` seconds **without performing it**, then drops
    the connection: the call never happened, a retry is safe.

    ``"lost_response"`` **performs the call** (the message is sent, the button answered...),
    then holds for ``delay`` seconds and drops the connection without answering: the client
    sees a timeout although Telegram did the work, so a blind retry duplicates it.

    ``"429"`` answers flood control with ``retry_after``.  ``method`` (any case) restricts the
    fault to one Bot API method; ``bot`` (username or token) to one bot.
    """

    kind: FaultKind
    count: int = 1
    method: str | None = None
    status: int = 500
    retry_after: int = 1
    delay: float = 2.0
    description: str | None = None
    bot: str | None = None
    id: int = field(default_factory=lambda: next(_FAULT_IDS))

    def matches(self, method: str, bot_username: str, token: str) -> bool:
        """Whether this fault applies to a call of ``method`` on the given bot."""
        if self.count <= 0:
            return False
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.bot is None or self.bot in (bot_username, token, "@" + bot_username)

    @property
    def error_description(self) -> str:
        """Body text of a 5xx answer."""
        return self.description or _DEFAULT_DESCRIPTIONS.get(self.status, "Internal Server Error")

    @property
    def html_body(self) -> str | None:
        """The nginx page Telegram's front servers answer 502/504 with (None: a JSON body)."""
        if self.description is not None or self.status not in (502, 504):
            return None
        title = f"{self.status} {self.error_description}"
        return (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
            "</body>\r\n</html>\r\n"
        )

    def to_json(self) -> dict[str, Any]:
        """Control-API representation."""
        return asdict(self)


@dataclass(slots=True)
class CallRecord:
    """One Bot API call as the emulator saw and answered it."""

    method: str
    status: int
    time: float
    duration: float
    bot: str | None
    description: str | None = None
    fault: str | None = None
    #: Parameters the call carried that the Bot API does not define for its method (Telegram
    #: ignores them silently; a bot that sends them believes something that is not so).
    undefined: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Control-API representation."""
        return asdict(self)


class FaultBook:
    """Pending faults plus the log of every call."""

    def __init__(self, log_limit: int = 10_000) -> None:
        self.faults: list[Fault] = []
        self.calls: list[CallRecord] = []
        self._log_limit = log_limit

    def add(self, fault: Fault) -> Fault:
        """Queue a fault; faults are consumed in the order they were added."""
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """Drop every pending fault."""
        self.faults.clear()

    def take(self, method: str, bot_username: str, token: str) -> Fault | None:
        """Consume one charge of the first fault matching this call, if any."""
        for fault in self.faults:
            if fault.matches(method, bot_username, token):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def log(self, record: CallRecord) -> None:
        """Append to the call log, keeping it bounded for long sandbox sessions."""
        self.calls.append(record)
        if len(self.calls) > self._log_limit:
            del self.calls[: len(self.calls) - self._log_limit]

    def query(self, method: str | None = None, bot: str | None = None) -> list[CallRecord]:
        """Calls filtered by method (any case) and bot username."""
        return [
            c
            for c in self.calls
            if (method is None or c.method.lower() == method.lower())
            and (bot is None or c.bot == bot.lstrip("@"))
        ]


def now() -> float:
    """Wall-clock time used in the call log (unix seconds)."""
    return time.time()
