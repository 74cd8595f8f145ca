"""The inbox: every update from Telegram, stored before Telegram is told it arrived.

On the hot path (store, claim, finish: three calls per update), so each is one statement, one
awaited call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.storage.connector import Sql
from bot.storage.records import InboxItem, InboxUpdate
from bot.storage.stores.base import Engine, ts

_PENDING = "handled_at IS NULL AND set_aside_at IS NULL"
#: The meta key naming the bot whose update ids the inbox holds.
BOT_KEY = "inbox_bot_id"
#: Rows a prune deletes per transaction.
PRUNE_BATCH = 5000
#: Idempotency keys made of an update's id (a one-message /note, an /invite): a range on the
#: primary key, so the index finds them.
_UPDATE_KEYS = "key >= 'update:' AND key < 'update;'"


#: A batch of updates (``?2``: a JSON array of [update_id, chat_id, payload]) stored at ``?1``;
#: one already stored is ignored (its unique update_id).
_STORE_SQL = Sql(
    sqlite="INSERT OR IGNORE INTO inbox (update_id, chat_id, payload, received_at) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]'), ?1 FROM json_each(?2) WHERE true "
    "RETURNING update_id",
    postgresql="INSERT INTO inbox (update_id, chat_id, payload, received_at) "
    "SELECT (value ->> 0)::bigint, (value ->> 1)::bigint, value ->> 2, ?1 "
    "FROM jsonb_array_elements(?2::jsonb) ON CONFLICT DO NOTHING RETURNING update_id",
)


class SqlInbox(Engine):
    """Store, claim, finish or set aside, count, prune."""

    async def store_updates(self, updates: Sequence[InboxUpdate], *, now: datetime) -> list[int]:
        """Store a batch of updates in one statement; the ids that were new (a re-fetched
        update already stored is ignored), in the order given."""
        if not updates:
            return []
        batch = json.dumps(
            [[u.update_id, u.chat_id, u.payload] for u in updates], ensure_ascii=False
        )
        rows = await self._execute_returning(_STORE_SQL, (ts(now), batch))
        new = {int(r[0]) for r in rows}
        return list(dict.fromkeys(u.update_id for u in updates if u.update_id in new))

    async def pending_updates(self, *, limit: int = 1000) -> list[InboxItem]:
        """Stored updates neither handled nor set aside, in the order they came (by update id
        within a batch: Telegram may renumber from a random id after a quiet week)."""
        rows = await self._fetchall(
            "SELECT update_id, chat_id, payload, attempts, received_at FROM inbox "
            f"WHERE {_PENDING} ORDER BY received_at, update_id LIMIT ?",
            (limit,),
        )
        return [InboxItem(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4])) for r in rows]

    async def claim_update(self, update_id: int) -> int | None:
        """Count one more attempt at a pending update: the attempts so far, or None when it
        is handled, set aside or unknown."""
        rows = await self._execute_returning(
            f"UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ? AND {_PENDING} "
            "RETURNING attempts",
            (update_id,),
        )
        return int(rows[0][0]) if rows else None

    async def finish_update(self, update_id: int, *, now: datetime) -> None:
        await self._execute(
            "UPDATE inbox SET handled_at = ? WHERE update_id = ? AND handled_at IS NULL",
            (ts(now), update_id),
        )

    async def set_aside_update(self, update_id: int, reason: str, *, now: datetime) -> None:
        """An update that cannot be handled (a poison update): kept, never tried again."""
        await self._execute(
            "UPDATE inbox SET set_aside_at = ?, set_aside_reason = ? "
            "WHERE update_id = ? AND set_aside_at IS NULL",
            (ts(now), reason[:500], update_id),
        )

    async def inbox_counts(self) -> dict[str, int]:
        row = await self._fetchone(
            "SELECT COALESCE(SUM(handled_at IS NULL AND set_aside_at IS NULL), 0), "
            "COALESCE(SUM(handled_at IS NOT NULL), 0), "
            "COALESCE(SUM(set_aside_at IS NOT NULL AND handled_at IS NULL), 0) FROM inbox"
        )
        return {"pending": int(row[0]), "handled": int(row[1]), "set_aside": int(row[2])}

    async def prune_inbox(self, *, before: datetime) -> int:
        """Delete handled updates received before ``before``, and the idempotency keys made
        of update ids (``update:<id>``) as old: a renumbered update must meet neither. In
        batches, each its own short transaction, so the first prune of a large inbox never
        holds the write lock for long."""
        total = 0
        for sql in (
            "DELETE FROM inbox WHERE update_id IN (SELECT update_id FROM inbox "
            "WHERE handled_at IS NOT NULL AND received_at < ?1 LIMIT ?2)",
            "DELETE FROM effects WHERE key IN (SELECT key FROM effects "
            f"WHERE {_UPDATE_KEYS} AND at < ?1 LIMIT ?2)",
        ):
            while True:
                done = await self._execute(sql, (ts(before), PRUNE_BATCH))
                if sql.startswith("DELETE FROM inbox"):
                    total += done.rowcount
                if done.rowcount < PRUNE_BATCH:
                    break
        return total

    async def bind_inbox(self, bot_id: int, *, now: datetime) -> int:
        async with self._tx() as db:
            row = await db.fetchone("SELECT value FROM meta WHERE key = ?", (BOT_KEY,))
            dropped = 0
            if row is not None and str(row[0]) != str(bot_id):
                # Another bot's numbering, every row of it: handled ones would hide the new
                # bot's updates of the same ids, pending ones cannot be answered through it.
                done = await db.execute("DELETE FROM inbox")
                dropped = done.rowcount
                await db.execute(f"DELETE FROM effects WHERE {_UPDATE_KEYS}")
                # A flow's last update id told a replay from a new message: not across bots.
                await db.execute("UPDATE flows SET last_update_id = NULL")
                await db.audit(
                    now,
                    None,
                    "inbox_rebound",
                    "bot",
                    bot_id,
                    {"was": str(row[0]), "deleted": dropped},
                )
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (BOT_KEY, str(bot_id)),
            )
        return dropped
