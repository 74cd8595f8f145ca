"""Approval requests nobody answered: sent to the supervisor once more (策略6 即时请示).

The request itself went out at once; a supervisor in a meeting may miss it. After
``Settings.approval_remind_minutes`` it is sent again, once (storage marks it reminded in the
same transaction that picks it, and the reminder is an outbox row: a retried send does not
double it); after that it waits for the supervisor's digest. A crash between the two writes
loses that one reminder, never the request: it stays pending and in the digest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import QingshouContext


async def remind_unanswered(context: QingshouContext) -> int:
    """Queue each pending request older than the reminder time for its team's supervisors
    again (the interactive lane of the outbox, sent at once); returns how many."""
    from handlers.commit import request_calls, supervisors_of

    now = context.clock.now()
    minutes = context.settings.approval_remind_minutes
    due = await context.storage.approvals_to_remind(
        asked_before=now - timedelta(minutes=minutes), now=now
    )
    queued = 0
    for approval in due:
        supervisors = await supervisors_of(context, approval.team_id)
        for supervisor in supervisors:
            case_file = await context.storage.get_case(supervisor, approval.case_id)
            if case_file is None:
                continue
            for call in request_calls(
                context, case_file, approval, [supervisor], approval.id, again=True
            ):
                await context.storage.defer_call(
                    call.chat_id, call.method, call.payload, now=now, user_id=supervisor.id
                )
                queued += 1
    if queued:
        from reminders.outbox import wake

        wake(context)
    return queued
