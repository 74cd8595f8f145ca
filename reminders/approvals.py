"""Approval requests nobody answered: sent to the supervisor once more (策略6 即时请示).

The request itself went out at once; a supervisor in a meeting may miss it. After
``Settings.approval_remind_minutes`` it is sent again, once: the mark "reminded" and the
outbox rows of the reminder are one transaction (compare-and-set), so neither a crash nor a
second process sends it twice or loses it; after that it waits for the supervisor's digest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.approvals import request_calls, supervisors_of
from reminders.outbox import wake

if TYPE_CHECKING:
    from bot.context import QingshouContext


async def remind_unanswered(context: QingshouContext) -> int:
    """Send each pending request older than the reminder time to its team's supervisors once
    more (the interactive lane of the outbox, at once); returns how many messages."""
    now = context.clock.now()
    minutes = context.settings.approval_remind_minutes
    due = await context.storage.approvals_to_remind(asked_before=now - timedelta(minutes=minutes))
    queued = 0
    for approval in due:
        calls = []
        for supervisor in await supervisors_of(context, approval.team_id):
            case_file = await context.storage.get_case(supervisor, approval.case_id)
            if case_file is not None:
                calls += request_calls(
                    context, case_file, approval, [supervisor], approval.id, again=True
                )
        if await context.storage.remind_approval(approval.id, notify=calls, now=now):
            queued += len(calls)
    if queued:
        wake(context)
    return queued
