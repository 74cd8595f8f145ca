"""Time-driven work. APScheduler (through PTB's JobQueue) ticks on real time; each tick asks the
application's one clock what "now" is and the domain/storage what is due, then sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import replicas
from bot.telegram_io import prune_inbox, replay_inbox
from reminders import approvals, digest, due, outbox, queue
from reminders.due import REMINDERS_JOB

if TYPE_CHECKING:
    from bot.app import QingshouApp
    from bot.context import QingshouContext

#: The outbox job's name in the JobQueue (tests run it by hand, see tests/e2e/conftest.py).
OUTBOX_JOB = "outbox"
APPROVALS_JOB = "approval-reminders"
#: The supervisors' daily digest (issue 11); tests run it by hand like the outbox job.
DIGEST_JOB = "digest"
#: Seconds after start-up of the digest job's first tick: a digest whose time passed while
#: the bot was down goes out within a minute of start-up (not in the first seconds, which
#: belong to the updates that waited).
DIGEST_FIRST = 60
#: Handled updates older than ``bot.telegram_io.INBOX_KEEP`` leave the inbox, hourly.
INBOX_JOB = "inbox-prune"
#: The queue's sort keys whose day came (issue 17), hourly: soon after the cooperative's
#: midnight whatever the time zone, and one index probe when there is nothing to do.
QUEUE_JOB = "queue-keys"
#: Stored updates nobody is handling (a replica died holding them, or got one while another
#: held its chat) are looked for every ``Settings.sweep_interval``.
SWEEP_JOB = "inbox-sweep"
#: This replica reports itself alive (see bot.replicas).
BEAT_JOB = "replica-beat"
__all__ = [
    "APPROVALS_JOB",
    "BEAT_JOB",
    "DIGEST_JOB",
    "INBOX_JOB",
    "OUTBOX_JOB",
    "QUEUE_JOB",
    "REMINDERS_JOB",
    "SWEEP_JOB",
    "schedule",
]


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
        approvals.remind_unanswered,
        interval=60,
        first=60,
        name=APPROVALS_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )
    # Due reminders (issue 10): the database is the truth, this is only the clock. One job,
    # never one per instalment; a tick missed (the loop was busy, the host slept) runs once
    # when it can (coalesce, no grace limit), and the first tick after start-up is the
    # catch-up of what came due while the bot was down.
    poll = app.bot_data.settings.poll_interval
    first = min(poll, app.bot_data.settings.poll_first)
    app.job_queue.run_repeating(
        due.send_due,
        interval=poll,
        first=first,
        name=REMINDERS_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )
    # The supervisors' daily digest, exactly once per person per local day (the run row is
    # the rule, this is only the clock). Its first tick soon after start-up sends a digest
    # whose time passed while the bot was down, the same day.
    app.job_queue.run_repeating(
        digest.send_due,
        interval=60,
        first=DIGEST_FIRST,
        name=DIGEST_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )
    # The inbox keeps handled updates only while Telegram could send them again (see
    # bot.telegram_io.INBOX_KEEP); the first pass soon after start-up, out of the replay's way.
    app.job_queue.run_repeating(
        _prune_inbox,
        interval=3600,
        first=300,
        name=INBOX_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )
    # The queue's sort keys for the new day (days past due, promises falling due), before the
    # collectors' first /cases; a read finding one out of date refreshes it itself meanwhile.
    app.job_queue.run_repeating(
        queue.refresh_keys,
        interval=3600,
        first=120,
        name=QUEUE_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )

    sweep = app.bot_data.settings.sweep_interval
    app.job_queue.run_repeating(
        _sweep_inbox,
        interval=sweep,
        first=sweep,
        name=SWEEP_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )
    beat = replicas.BEAT.total_seconds()
    app.job_queue.run_repeating(
        _beat,
        interval=beat,
        first=beat,
        name=BEAT_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )


async def _prune_inbox(context: QingshouContext) -> int:
    now = context.clock.now()
    real = datetime.now(UTC)
    # Strangers answered, flood holds, chat leases and replicas reports, once they no longer
    # matter (an hour on real time; the quiet period is ten minutes).
    await context.storage.prune_replica_state(now=real, before=real - timedelta(hours=1))
    return await prune_inbox(context.storage, now)


async def _sweep_inbox(context: QingshouContext) -> int:
    return await replay_inbox(
        context.application, context.storage, holder=context.settings.instance
    )


async def _beat(context: QingshouContext) -> None:
    await replicas.beat(context.storage, context.settings)
