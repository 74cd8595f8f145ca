"""Time-driven work. APScheduler (through PTB's JobQueue) ticks on real time; each tick asks the
application's one clock what "now" is and the domain/storage what is due, then sends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reminders import approvals, outbox

if TYPE_CHECKING:
    from bot.app import QingshouApp

#: The outbox job's name in the JobQueue (tests run it by hand, see tests/e2e/conftest.py).
OUTBOX_JOB = "outbox"
APPROVALS_JOB = "approval-reminders"


def schedule(app: QingshouApp) -> None:
    """Register the clock jobs."""
    assert app.job_queue is not None, "install python-telegram-bot[job-queue]"
    # Settings.outbox_interval: a notification waits at most this long.
    interval = app.bot_data.settings.outbox_interval
    app.job_queue.run_repeating(
        outbox.deliver_due, interval=interval, first=interval, name=OUTBOX_JOB
    )
    # Approval requests nobody answered are sent once more (策略6: the collector is waiting).
    app.job_queue.run_repeating(
        approvals.remind_unanswered, interval=60, first=60, name=APPROVALS_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )  # fmt: skip
