"""The supervisors' daily digest, exactly once per person per local day (issue 11).

Every minute (and shortly after start-up) the clock job asks storage who has not had today's
digest yet, and the domain whether it is due for them (their own time from /settings, else
``QINGSHOU_DIGEST_TIME``; weekends muted or not). For each, the digest is composed — text in
their language, split to Telegram's limit, with the answer and drill-down buttons, and the
chart — and storage writes the run row and the outbox rows in one transaction. The run row is
unique per (person, local date): a second tick, a second process, a restart right after the
write, a DST day whose 02:30 happens twice, all find it and write nothing. A bot that was down
at digest time sends it at the first tick after start-up, the same local day (never the next).

The outbox sends it (text rendered again from the pre-rendered parts, the chart as a photo in
the same group). ``/digest`` (handlers/digest.py) composes the same messages on demand
(:mod:`bot.digests`) and sends them at once, without a run row.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.digests import compose
from bot.domain.digest import digest_due

if TYPE_CHECKING:
    from bot.context import QingshouContext

log = logging.getLogger(__name__)


async def send_due(context: QingshouContext) -> int:
    """Compose and queue the digest of everyone whose digest is due now; how many."""
    storage, settings = context.storage, context.settings
    now = context.clock.now()
    local_date = now.astimezone(settings.tz).date()
    queued = 0
    for r in await storage.digest_recipients(local_date):
        day = digest_due(
            now, settings.tz, r.digest_time or settings.digest_time, mute_weekends=r.mute_weekends
        )
        if day != local_date:
            continue
        user = await storage.get_user(r.user_id)
        if user is None:
            continue
        try:
            messages = await compose(storage, context.renderer, settings, user, now=now)
        except Exception:  # one team's failure must not hold up the others
            log.exception("digest for user %s could not be composed", r.user_id)
            continue
        if not messages:
            continue
        scope = "cooperative" if user.role.value == "admin" else "team"
        if await storage.record_digest(user.id, day, messages, scope=scope, now=now):
            queued += 1
    return queued
