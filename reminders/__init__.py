"""Time-driven work. APScheduler (through PTB's JobQueue) ticks on real time; each tick asks the
application's one clock what "now" is and the domain/storage what is due, then sends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reminders import outbox

if TYPE_CHECKING:
    from bot.app import QingshouApp

#: Seconds between outbox ticks: a notification waits at most this long.
OUTBOX_INTERVAL = 2.0


def schedule(app: QingshouApp) -> None:
    """Register the clock jobs."""
    assert app.job_queue is not None, "install python-telegram-bot[job-queue]"
    app.job_queue.run_repeating(
        outbox.deliver_due, interval=OUTBOX_INTERVAL, first=OUTBOX_INTERVAL, name="outbox"
    )
