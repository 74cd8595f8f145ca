"""The queue from an index (issue 17): each case's stored sort key, and pages read by it.

The urgency rule stays one pure function (:func:`bot.domain.queue.queue_key` over
:func:`bot.domain.urgency.score_case`); this module stores its result per case and reads the
queue a page at a time with ``ORDER BY key LIMIT``, counting from ``queue_counts`` (kept by
triggers), so a page costs the same for a viewer of a thousand cases and of a million. A key
is worked out again when its facts changed (the migration's triggers mark it, in the writing
transaction) or when its days ran out; :func:`refresh_sort_keys` (beside the summary SQL it
reads, in cases.py) does it: in the import's own transaction, before a page is read, and in
the daily job.

Each verb is a program (:data:`bot.storage.connector.Program`): on SQLite one call on the
database's own thread (not on the event loop, and one hop instead of one per statement); on
PostgreSQL its statements awaited in turn on one pooled connection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, tzinfo
from typing import Any

from bot.domain.casefile import CaseSummary
from bot.domain.legal import LegalFacts
from bot.domain.people import User
from bot.domain.queue import DAILY_CAPACITY, PAGE_SIZE, Page, today_room
from bot.storage.connector import ID_VALUE, Program, all_, done, one
from bot.storage.stores.base import Engine
from bot.storage.stores.cases import (
    _OPEN_ONLY,
    _STALE,
    _SUMMARY_COLUMNS,
    _SUMMARY_FROM,
    _scope,
    _summary,
    refresh_in,
    refresh_sort_keys,
)
from bot.storage.stores.legal import ids_in, read_legal_facts

__all__ = ["QUEUE_ORDER", "SqlQueue", "refresh_in", "refresh_sort_keys"]

#: Keys the daily job works out per transaction (about a fifth of a second's work).
REFRESH_BATCH = 2000
#: The queue's order in SQL: bot.domain.urgency.rank_cases's, by the stored key.
QUEUE_ORDER = "c.q_score DESC, c.q_since, c.q_owed DESC, c.id"


def _refresh_in_tx(today: date, tz: tzinfo) -> Program[None]:
    """Refresh the keys that need it, in a write transaction of its own, only if any do."""
    if (yield one(f"{_STALE} LIMIT 1", (today.isoformat(),))) is None:
        return
    yield done("BEGIN IMMEDIATE")
    try:
        yield from refresh_sort_keys(today, tz)
    except BaseException:
        yield done("ROLLBACK")
        raise
    yield done("COMMIT")


def _page(
    where: str,
    params: Sequence[Any],
    number: int,
    size: int,
    today: date,
    tz: tzinfo,
    today_only: bool,
    capacity: int,
) -> Program[Page[CaseSummary]]:
    yield from _refresh_in_tx(today, tz)
    # The viewer's scope names team_id / lead_id, columns queue_counts has too.
    counted, urgent = yield one(
        "SELECT COALESCE(SUM(cases), 0), COALESCE(SUM(urgent), 0) FROM queue_counts "
        f"WHERE {where.replace('c.', '')}",
        params,
    )
    where = f"{where} AND {_OPEN_ONLY}"
    if today_only:
        # bot.domain.queue.select_today by the index: every urgent case, and the first
        # non-urgent ones in queue order while there is room.
        room = today_room(urgent, capacity)
        extra = [
            r[0]
            for r in (
                yield all_(
                    f"SELECT c.id FROM cases c WHERE {where} AND c.q_urgent = 0 "
                    f"ORDER BY {QUEUE_ORDER} LIMIT ?",
                    (*params, room),
                )
            )
        ]
        total = urgent + len(extra)
        where = f"{where} AND (c.q_urgent = 1 OR c.id IN (SELECT {ID_VALUE} FROM json_each(?)))"
        params = (*params, json.dumps(extra))
    else:
        total = counted
    count = max(1, -(-total // size))
    number = min(max(number, 0), count - 1)
    rows = yield all_(
        f"SELECT {_SUMMARY_COLUMNS} FROM {_SUMMARY_FROM} WHERE c.id IN "
        f"(SELECT c.id FROM cases c WHERE {where} ORDER BY {QUEUE_ORDER} LIMIT ? OFFSET ?) "
        f"ORDER BY {QUEUE_ORDER}",
        (*params, size, number * size),
    )
    return Page(tuple(_summary(r) for r in rows), number, count, total)


def _refresh_batch(today: date, tz: tzinfo) -> Program[int]:
    yield done("BEGIN IMMEDIATE")
    try:
        n = yield from refresh_sort_keys(today, tz, limit=REFRESH_BATCH)
    except BaseException:
        yield done("ROLLBACK")
        raise
    yield done("COMMIT")
    return n


class SqlQueue(Engine):
    """The queue's verbs: a page by urgency, and the daily refresh of the keys."""

    async def queue_page(
        self,
        viewer: User,
        *,
        today: date,
        tz: tzinfo,
        number: int = 0,
        size: int = PAGE_SIZE,
        today_only: bool = False,
        capacity: int = DAILY_CAPACITY,
    ) -> Page[CaseSummary]:
        """Page ``number`` (0-based, clamped into range) of the open cases ``viewer`` may see,
        most urgent first on ``today`` (``bot.domain.urgency.rank_cases``'s order); with
        ``today_only``, of today's list (``bot.domain.queue.select_today``'s cases)."""
        where, params = _scope(viewer)
        return await self._run(_page(where, params, number, size, today, tz, today_only, capacity))

    async def legal_facts_ending(
        self, viewer: User, *, first: date, last: date, tz: tzinfo
    ) -> list[LegalFacts]:
        """What the clocks read of the open cases ``viewer`` may see whose next clock still to
        act on ends between ``first`` and ``last`` (both included; ``first`` is today), in case
        id order: by an index, so a collector's thousands of cases cost what the few near
        their end do (/today's legal list, issue 19)."""
        where, params = _scope(viewer)
        return await self._run(_legal_ending(where, params, first, last, tz))

    async def refresh_queue(self, *, today: date, tz: tzinfo) -> int:
        """Work out again every sort key that changed or is not valid on ``today`` (the daily
        job: days past due and promises move with the date); how many.

        In transactions of :data:`REFRESH_BATCH` keys, the lock let go between them, so the
        updates of the morning are not kept waiting behind a night's worth of keys."""

        total = 0
        while n := await self._run(_refresh_batch(today, tz)):
            total += n
        return total


#: Cases whose clocks one statement of :func:`_legal_ending` reads.
_LEGAL_CHUNK = 2000


def _legal_ending(
    where: str,
    params: Sequence[Any],
    first: date,
    last: date,
    tz: tzinfo,
) -> Program[list[LegalFacts]]:
    # The keys (and with them each case's next clock end) brought up to date for ``first``,
    # then the cases whose next end falls in [first, last] by the legal_next index.
    yield from _refresh_in_tx(first, tz)
    ids = [
        int(r[0])
        for r in (
            yield all_(
                f"SELECT c.id FROM cases c WHERE {where} AND {_OPEN_ONLY} "
                "AND c.legal_next IS NOT NULL AND c.legal_next BETWEEN ? AND ? ORDER BY c.id",
                (*params, first.isoformat(), last.isoformat()),
            )
        )
    ]
    found: list[LegalFacts] = []
    for start in range(0, len(ids), _LEGAL_CHUNK):
        chunk = ids[start : start + _LEGAL_CHUNK]
        found += yield from read_legal_facts(ids_in(chunk), chunk)
    return found
