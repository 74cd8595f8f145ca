"""When an instalment's reminders are due: the cooperative's local hour, turned into UTC.

Each instalment of an agreed commitment gets up to three reminders (issue 10): a heads-up
``heads_up_days`` before the due date, the due-day reminder on the due date, and a follow-up
the next morning if nobody answered — all at the cooperative's reminder hour (``remind_time``,
local). The database stores the UTC instant, computed here once with zoneinfo, so a reminder
row never moves when the server's zone or the season changes.

DST (zones that have it, e.g. ``Europe/Berlin``): the local hour is kept on both change days.
A reminder hour that does not exist on the spring-forward day (02:30 in Berlin) falls at the
same distance after the gap's start, i.e. 03:30 local (zoneinfo's ``fold=0`` reading); one that
exists twice on the fall-back day (02:30) is the first of the two. Either way each kind of
reminder exists once per instalment: the schedule gives one instant per kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.config import Settings


class ReminderKind(StrEnum):
    HEADS_UP = "heads_up"  # "Tomorrow: N payments due"
    DUE = "due"  # "Today: N payments due"
    FOLLOW_UP = "follow_up"  # the next morning: still no answer -> the instalment is unconfirmed


class ReminderStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"  # an outbox row holds the message
    RETIRED = "retired"  # answered, paid elsewhere, amended, cancelled
    LATE = "late"  # too old at catch-up: left to the supervisor's digest
    DEAD = "dead"  # the collector's chat is blocked or gone


#: Instalment statuses that still want reminders (partial: the rest is still open).
LIVE_INSTALMENT_STATUSES = ("open", "partial", "unconfirmed")


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``at`` on the local calendar ``day`` in ``tz``, as an aware UTC datetime.

    A local time that does not exist (skipped by a DST jump) is read with the offset before the
    jump, so it falls as far after the jump as it was meant after its start; one that exists
    twice is the first (``fold=0``).
    """
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """The cooperative's reminder rules: its zone, its reminder hour and the heads-up lead."""

    tz: ZoneInfo
    remind_time: time = time(9, 0)
    heads_up_days: int = 1  # 0: no heads-up

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderPolicy:
        return cls(settings.tz, settings.remind_time, settings.heads_up_days)

    def schedule(self, due_on: date) -> list[tuple[ReminderKind, datetime]]:
        """The reminders of an instalment due on the local date ``due_on``, in time order:
        (kind, UTC instant). No heads-up when ``heads_up_days`` is 0."""
        out: list[tuple[ReminderKind, datetime]] = []
        if self.heads_up_days > 0:
            before = due_on - timedelta(days=self.heads_up_days)
            out.append((ReminderKind.HEADS_UP, local_instant(before, self.remind_time, self.tz)))
        out.append((ReminderKind.DUE, local_instant(due_on, self.remind_time, self.tz)))
        follow = due_on + timedelta(days=1)
        out.append((ReminderKind.FOLLOW_UP, local_instant(follow, self.remind_time, self.tz)))
        return out

    def rows(self, due_on: date, now: datetime) -> list[tuple[ReminderKind, datetime]]:
        """The reminder rows to write at ``now`` for an instalment due on ``due_on``.

        Like :meth:`schedule`, except: a heads-up whose time has passed is not written (the
        collector agreed the date just now, or it is already the due day); a due-day reminder
        for today whose hour has passed (a plan agreed this afternoon for today) is due at
        once rather than counted as overdue. Reminders of a due date already past (an old
        instalment written back, see ``backfill``) keep their times: the poller's catch-up
        decides what is still worth sending.
        """
        today = now.astimezone(self.tz).date()
        out: list[tuple[ReminderKind, datetime]] = []
        for kind, at in self.schedule(due_on):
            if kind is ReminderKind.HEADS_UP and at <= now:
                continue
            if kind is ReminderKind.DUE and at < now and due_on >= today:
                at = now
            out.append((kind, at))
        return out

    def local_day(self, when: datetime) -> date:
        """The cooperative's calendar day at ``when``."""
        return when.astimezone(self.tz).date()
