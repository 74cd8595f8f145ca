"""The outbox: messages to send later or to someone else, and deferred Bot API calls.

Rows are written in the same transaction as the change that causes them; a clock-driven sender
delivers them and records Telegram's message id. A 'call' row is a reply that could not be sent
within its retries (a long 429, an outage): it is made again when Telegram accepts again, in id
order for its chat.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.storage.records import OutboxMessage
from bot.storage.sqlite.engine import Engine, ts

#: Unsent and not given up.
_LIVE = "sent_at IS NULL AND dropped_at IS NULL"

# For a 'call' row, the latest not_before among its chat's live call rows up to and including
# it: the row is due only when every earlier call of its chat is, and sorting on it keeps each
# chat's calls in id order (it never decreases along a chat's rows).
_DUE_SQL = """
SELECT o.id, o.user_id, COALESCE(o.chat_id, u.telegram_id),
       COALESCE(u.locale, u.telegram_locale),
       o.template, o.params, o.not_before, o.attempts, o.kind, o.method, o.payload
FROM (
    SELECT x.*, CASE WHEN x.kind = 'call' THEN (
        SELECT MAX(p.not_before) FROM outbox p
        WHERE p.kind = 'call' AND p.chat_id = x.chat_id AND p.id <= x.id
          AND p.sent_at IS NULL AND p.dropped_at IS NULL
    ) ELSE x.not_before END AS due_at
    FROM outbox x WHERE x.sent_at IS NULL AND x.dropped_at IS NULL AND x.not_before <= ?1
) o LEFT JOIN users u ON u.id = o.user_id
WHERE o.due_at <= ?1 AND COALESCE(o.chat_id, u.telegram_id) IS NOT NULL
ORDER BY o.due_at, o.id LIMIT ?2
"""


class SqliteOutbox(Engine):
    """Queue, read due, record sent or failed."""

    async def enqueue(
        self,
        user_id: int,
        template: str,
        params: dict[str, Any],
        *,
        now: datetime,
        not_before: datetime | None = None,
    ) -> None:
        """Queue a message for ``user_id`` (delivered by reminders.outbox)."""
        async with self._tx() as db:
            await db.enqueue(user_id, template, params, now, not_before)

    async def defer_call(
        self,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        user_id: int | None = None,
    ) -> int:
        """Keep a Bot API call that could not be made now; returns the row id."""
        done = await self._execute(
            "INSERT INTO outbox (user_id, chat_id, kind, method, payload, not_before, "
            "created_at) VALUES (?, ?, 'call', ?, ?, ?, ?)",
            (user_id, chat_id, method, json.dumps(payload, ensure_ascii=False), ts(now), ts(now)),
        )
        return done.lastrowid

    async def deferred_chats(self) -> set[int]:
        """The chats with a deferred call still to make (their replies must wait behind it)."""
        rows = await self._fetchall(
            f"SELECT DISTINCT chat_id FROM outbox WHERE kind = 'call' AND {_LIVE}"
        )
        return {int(r[0]) for r in rows if r[0] is not None}

    async def due_outbox(self, now: datetime, *, limit: int = 100) -> list[OutboxMessage]:
        """Rows whose time has come, oldest first, each chat's calls in id order (a call
        waits while an earlier call of its chat is not due yet).

        Messages for people who were switched off or blocked the bot meanwhile are dropped
        here, not kept to arrive out of date when they come back (calls to their chat too).
        """
        async with self._tx() as db:
            await db.execute(
                "UPDATE outbox SET dropped_at = ?1, "
                "last_error = 'recipient switched off or blocked' "
                f"WHERE {_LIVE} AND not_before <= ?1 AND ("
                "user_id IN (SELECT id FROM users WHERE active = 0 OR blocked_at IS NOT NULL) "
                "OR chat_id IN (SELECT telegram_id FROM users "
                "WHERE active = 0 OR blocked_at IS NOT NULL))",
                (ts(now),),
            )
        rows = await self._fetchall(_DUE_SQL, (ts(now), limit))
        return [
            OutboxMessage(
                id=r[0],
                user_id=r[1],
                telegram_id=r[2],
                locale=r[3],
                template=r[4],
                params=json.loads(r[5]),
                not_before=datetime.fromisoformat(r[6]),
                attempts=r[7],
                kind=r[8],
                chat_id=r[2],
                method=r[9],
                payload=None if r[10] is None else json.loads(r[10]),
            )
            for r in rows
        ]

    async def mark_sent(self, results: Sequence[tuple[int, int]], *, now: datetime) -> None:
        """Record Telegram's message id for each sent outbox row, in one batch."""
        if not results:
            return
        async with self._tx() as db:
            await db.executemany(
                "UPDATE outbox SET sent_at = ?, message_id = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                [(ts(now), message_id, row_id) for row_id, message_id in results],
            )

    async def release_waiting(self, user_id: int, *, now: datetime) -> int:
        """Make ``user_id``'s queued messages due now (they just opened the chat)."""
        done = await self._execute(
            "UPDATE outbox SET not_before = ? WHERE user_id = ? AND sent_at IS NULL "
            "AND dropped_at IS NULL AND not_before > ? AND last_error LIKE '%hat not found%'",
            (ts(now), user_id, ts(now)),
        )
        return done.rowcount

    async def mark_failed(
        self, row_id: int, error: str, *, now: datetime, retry_at: datetime | None
    ) -> None:
        """A send failed: try again at ``retry_at``, or give up (dropped) when it is None."""
        if retry_at is None:
            await self._execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, dropped_at = ? "
                "WHERE id = ?",
                (error[:500], ts(now), row_id),
            )
        else:
            await self._execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, not_before = ? "
                "WHERE id = ?",
                (error[:500], ts(retry_at), row_id),
            )
