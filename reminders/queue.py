"""The queue's sort keys move with the date (issue 17): days past due cross a band, a promise
falls due or passes, a case goes 14 or 30 days without contact. Each stored key says until
which day it holds; this job works out again the keys whose day came, so the first /cases of
the morning reads an index instead of scoring cases. A read that finds a key out of date
before this job ran refreshes it itself: the job is for speed, never for correctness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.casefile import local_date

if TYPE_CHECKING:
    from bot.context import QingshouContext

__all__ = ["refresh_keys"]


async def refresh_keys(context: QingshouContext) -> int:
    """Refresh the sort keys not valid on the cooperative's today; how many."""
    settings = context.settings
    today = local_date(context.clock.now(), settings.tz)
    return await context.storage.refresh_queue(today=today, tz=settings.tz)
