"""Sample parameters for the reminder messages (see test_templates), made by the poller's own
``build_batches`` so the samples are what it queues: every section, a catch-up, a long list
split at Telegram's limits, hostile names (test_reminder_messages checks the splitting)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.reminders import ReminderKind, ReminderPolicy
from bot.render import Renderer
from bot.storage.records import DueReminder, ReminderBatch
from reminders.due import build_batches
from tests.unit.case_template_samples import EVIL

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = ReminderPolicy(SHANGHAI)
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 Dec, 09:00 in Shanghai
TODAY = date(2026, 12, 1)
RENDERER = Renderer(SHANGHAI)


def due(n: int, kind: ReminderKind, day: date, *, at: datetime = NOW, paid: int = 0,
        name: str = EVIL, collector: int = 1, locale: str | None = "en",
        ) -> DueReminder:  # fmt: skip
    return DueReminder(
        id=n, kind=kind.value, due_at=at, instalment_id=n, instalment_status="open", seq=n % 6 + 1,
        due_on=day, amount=150_000 + n, paid=paid, case_id=n, contract_no=f"DC<{n:05}>&",
        borrower=name, collector_id=collector, locale=locale, lease_until=at + timedelta(minutes=2),
    )  # fmt: skip


def batches(rows: list[DueReminder], locale: str = "en") -> list[ReminderBatch]:
    return build_batches(rows, now=NOW, renderer=RENDERER, policy=POLICY, default_locale=locale,
                         overdue_before=NOW - timedelta(minutes=10))  # fmt: skip


MIXED = [
    due(1, ReminderKind.DUE, TODAY),
    due(2, ReminderKind.FOLLOW_UP, TODAY - timedelta(days=1), paid=50_000),
    due(3, ReminderKind.HEADS_UP, TODAY + timedelta(days=1)),
    due(4, ReminderKind.HEADS_UP, TODAY + timedelta(days=3), name="陈秀英"),
]
SINGLE = [due(5, ReminderKind.HEADS_UP, TODAY + timedelta(days=1))]
CATCHUP = [
    due(6, ReminderKind.DUE, TODAY - timedelta(days=1), at=NOW - timedelta(days=1)),
    due(7, ReminderKind.HEADS_UP, TODAY, at=NOW - timedelta(days=1)),
    due(7 + 1000, ReminderKind.DUE, TODAY),
]
#: Long names and many items: more than one message.
LONG = [due(100 + i, ReminderKind.DUE, TODAY, name=f"{EVIL}{'长' * 60}{i}") for i in range(60)]


def _params(rows: list[DueReminder]) -> list[dict[str, object]]:
    return [b.params for b in batches(rows)]


REMINDER_SAMPLES: dict[str, list[dict[str, object]]] = {
    "reminders/due": _params(MIXED) + _params(SINGLE) + _params(LONG),
    "reminders/catchup": _params(CATCHUP) + _params(CATCHUP[:1]),
}
