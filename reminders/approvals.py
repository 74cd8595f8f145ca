"""Approval requests nobody answered: sent to the supervisor once more (策略6 即时请示).

The request itself went out at once; a supervisor in a meeting may miss it. After
``Settings.approval_remind_minutes`` it is sent again, once (storage marks it reminded in the
same transaction that picks it); after that it waits for the supervisor's digest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import QingshouContext


async def remind_unanswered(context: QingshouContext) -> int:
    """Send each pending request older than the reminder time to its team's supervisor again."""
    from handlers.commit import send_request

    now = context.clock.now()
    minutes = context.settings.approval_remind_minutes
    due = await context.storage.approvals_to_remind(
        asked_before=now - timedelta(minutes=minutes), now=now
    )
    sent = 0
    for approval in due:
        people = await context.storage.list_users(team_id=approval.team_id)
        for supervisor in (p for p in people if p.role.value == "supervisor" and p.active):
            await send_request(context, supervisor, approval.id, again=True)
            sent += 1
    return sent
