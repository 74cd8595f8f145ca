"""The one clock of the application.

Domain code never reads the time; handlers and jobs ask this object and pass ``now`` down.
Production uses :class:`SystemClock`; tests and the sandbox's time control use
:class:`ManualClock`, which can jump forward to "tomorrow 09:00" so reminders and digests can be
seen without waiting. APScheduler keeps ticking on real time; each tick asks this clock what
"now" is, so a jump is seen at the next tick.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that says what time it is, always as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that runs with real time from an offset that tests or the sandbox can move.

    ``frozen=True`` stops it entirely (calendar-like tests); otherwise it keeps running so
    that a sandbox user who jumps to 09:00 sees 09:01 a minute later.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        real = datetime.now(UTC)
        start = real if start is None else start
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._offset = start.astimezone(UTC) - real
        self._frozen_at: datetime | None = start.astimezone(UTC) if frozen else None

    def now(self) -> datetime:
        if self._frozen_at is not None:
            return self._frozen_at
        return datetime.now(UTC) + self._offset

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (aware); jumping backwards is allowed for tests, not the sandbox UI."""
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs an aware datetime")
        if self._frozen_at is not None:
            self._frozen_at = when.astimezone(UTC)
        else:
            self._offset = when.astimezone(UTC) - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta``."""
        self.set(self.now() + delta)
