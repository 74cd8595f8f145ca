"""The outbox: messages to send later or to someone else, and deferred Bot API calls.

Rows are written in the same transaction as the change that causes them; a clock-driven sender
delivers them and records Telegram's message id. A 'call' row is a reply that could not be sent
within its retries (a long 429, an outage): it is made again when Telegram accepts again, in id
order for its chat.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bot.storage.records import NewOutboxMessage, OutboxMessage
from bot.storage.stores.base import Engine, Tx, dt, ts

#: Unsent and not given up.
_LIVE = "sent_at IS NULL AND dropped_at IS NULL"

#: How long a claimed row is another sender's: a crash gives it back after this (a sender that
#: is still at work renews it, see renew_outbox).
LEASE = timedelta(seconds=30)

_COLUMNS = """o.id, o.user_id, COALESCE(o.chat_id, u.telegram_id),
       COALESCE(u.locale, u.telegram_locale),
       o.template, o.params, o.not_before, o.attempts, o.kind, o.method, o.payload,
       o.media, o.markup, o.attachment, o.filename, o.dedupe_key, o.group_key, o.priority,
       o.message_id, o.sent_at, o.dropped_at, o.last_error"""

# A row is due when its time has come, no other sender holds it (claimed_until in the future)
# and no earlier live row of its chat is held either, so two senders never interleave a chat.
# A 'call' row is due only when every earlier live call of its chat is; its sort time is the
# latest not_before among them (it never decreases along a chat's calls), so a batch cut by
# LIMIT never takes a chat's later call without the earlier ones. One flat SELECT over outbox,
# so that on PostgreSQL the claim is the same query with FOR UPDATE OF o SKIP LOCKED.
_DUE_FROM = """
FROM outbox o LEFT JOIN users u ON u.id = o.user_id
WHERE o.sent_at IS NULL AND o.dropped_at IS NULL AND o.not_before <= ?1
  AND (o.claimed_until IS NULL OR o.claimed_until <= ?1)
  AND COALESCE(o.chat_id, u.telegram_id) IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM outbox c WHERE c.chat_id = o.chat_id AND c.id < o.id
      AND c.claimed_until IS NOT NULL AND c.claimed_until > ?1
      AND c.sent_at IS NULL AND c.dropped_at IS NULL
  )
  AND (o.kind != 'call' OR NOT EXISTS (
    SELECT 1 FROM outbox p WHERE p.kind = 'call' AND p.chat_id = o.chat_id AND p.id < o.id
      AND p.not_before > ?1 AND p.sent_at IS NULL AND p.dropped_at IS NULL
  ))
"""
_DUE_AT = """CASE WHEN o.kind = 'call' THEN (
    SELECT MAX(p.not_before) FROM outbox p
    WHERE p.kind = 'call' AND p.chat_id = o.chat_id AND p.id <= o.id
      AND p.sent_at IS NULL AND p.dropped_at IS NULL
) ELSE o.not_before END"""

# The peek (due_outbox) reads in time order; the claim takes the highest priority first.
_DUE_SQL = f"SELECT {_COLUMNS} {_DUE_FROM} ORDER BY {_DUE_AT}, o.id LIMIT ?2"
# On PostgreSQL: ... LIMIT ?2 FOR UPDATE OF o SKIP LOCKED. On SQLite the claiming transaction
# is BEGIN IMMEDIATE, which keeps a second process out until it has written its leases.
_CLAIM_SQL = f"SELECT {_COLUMNS} {_DUE_FROM} ORDER BY o.priority, {_DUE_AT}, o.id LIMIT ?2"


def _message(r: Any) -> OutboxMessage:
    return OutboxMessage(
        id=r[0],
        user_id=r[1],
        telegram_id=r[2] or 0,
        locale=r[3],
        template=r[4],
        params=json.loads(r[5]),
        not_before=datetime.fromisoformat(r[6]),
        attempts=r[7],
        kind=r[8],
        chat_id=r[2] or 0,
        method=r[9],
        payload=None if r[10] is None else json.loads(r[10]),
        media=r[11],
        markup=None if r[12] is None else json.loads(r[12]),
        attachment=None if r[13] is None else bytes(r[13]),
        filename=r[14],
        dedupe_key=r[15],
        group_key=r[16],
        priority=r[17],
        message_id=r[18],
        sent_at=dt(r[19]),
        dropped_at=dt(r[20]),
        last_error=r[21],
    )


async def kill_reminders(db: Tx, row_ids: Sequence[int], *, now: datetime) -> dict[int, int]:
    """Reminder rows whose message was given up become 'dead' (never lost, never pending):
    per outbox row, how many died."""
    dead: dict[int, int] = {}
    for row_id in row_ids:
        done = await db.execute(
            "UPDATE reminders SET status = 'dead', done_at = ?, claimed_until = NULL "
            "WHERE outbox_id = ? AND status = 'queued'",
            (ts(now), row_id),
        )
        if done.rowcount:
            dead[row_id] = done.rowcount
    return dead


async def tell_supervisors_unreachable(
    db: Tx, user_id: int, reason: str, *, today: date, now: datetime, reminders: int = 0
) -> list[int]:
    """Tell the user's team supervisor(s) that their messages cannot reach them: once per user
    per (local) day, by the dedupe key. The outbox row ids (existing ones on a second call)."""
    user = await db.fetchone(
        "SELECT team_id, COALESCE(staff_name, name) FROM users WHERE id = ?", (user_id,)
    )
    if user is None or user[0] is None:
        return []
    supervisors = await db.fetchall(
        "SELECT id FROM users WHERE team_id = ? AND role = 'supervisor' AND active = 1 "
        "AND blocked_at IS NULL AND id != ? ORDER BY id",
        (user[0], user_id),
    )
    ids = []
    for (supervisor_id,) in supervisors:
        ids.append(
            await db.enqueue(
                NewOutboxMessage(
                    supervisor_id,
                    "notify/collector_unreachable",
                    {"name": user[1], "reason": reason, "reminders": reminders},
                    dedupe_key=f"unreachable:{user_id}:{today.isoformat()}:{supervisor_id}",
                    priority=1,
                ),
                now=now,
            )
        )
    return ids


class SqlOutbox(Engine):
    """Queue, claim due rows under a lease, record sent or failed."""

    async def enqueue(self, message: NewOutboxMessage, *, now: datetime) -> int:
        """Queue ``message`` (delivered by reminders.outbox); the row id (the existing row's id
        when its ``dedupe_key`` was used before: nothing is written then)."""
        async with self._tx() as db:
            return await db.enqueue(message, now=now)

    async def get_outbox(self, row_id: int) -> OutboxMessage | None:
        """One outbox row as it is now (message_id / sent_at / dropped_at once known)."""
        row = await self._fetchone(
            f"SELECT {_COLUMNS} FROM outbox o LEFT JOIN users u ON u.id = o.user_id WHERE o.id = ?",
            (row_id,),
        )
        return None if row is None else _message(row)

    async def defer_call(
        self,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        user_id: int | None = None,
    ) -> int:
        """Keep a Bot API call that could not be made now; returns the row id. Marked
        (group_key ``deferred``): a reply of any replica to the chat queues behind it."""
        done = await self._insert(
            "INSERT INTO outbox (user_id, chat_id, kind, method, payload, not_before, "
            "created_at, priority, group_key) VALUES (?, ?, 'call', ?, ?, ?, ?, 0, 'deferred')",
            (user_id, chat_id, method, json.dumps(payload, ensure_ascii=False), ts(now), ts(now)),
        )
        return done

    async def deferred_chats(self) -> set[int]:
        """The chats with a deferred call still to make (their replies must wait behind it)."""
        rows = await self._fetchall(
            f"SELECT DISTINCT chat_id FROM outbox WHERE kind = 'call' AND {_LIVE}"
        )
        return {int(r[0]) for r in rows if r[0] is not None}

    async def _drop_unreachable(self, db: Tx, now: datetime, today: date | None) -> None:
        # Messages for people who were switched off or blocked the bot meanwhile are dropped,
        # not kept to arrive out of date when they come back (calls to their chat too); the
        # reminders they carried are dead, and a blocked collector's supervisor is told.
        dropped = await db.fetchall(
            "UPDATE outbox SET dropped_at = ?1, claimed_until = NULL, "
            "last_error = 'recipient switched off or blocked' "
            f"WHERE {_LIVE} AND not_before <= ?1 "
            "AND (claimed_until IS NULL OR claimed_until <= ?1) AND ("
            "user_id IN (SELECT id FROM users WHERE active = 0 OR blocked_at IS NOT NULL) "
            "OR chat_id IN (SELECT telegram_id FROM users "
            "WHERE active = 0 OR blocked_at IS NOT NULL)) RETURNING id, user_id",
            (ts(now),),
        )
        if not dropped:
            return
        dead = await kill_reminders(db, [r[0] for r in dropped], now=now)
        if today is None:
            return
        per_user: dict[int, int] = {}
        for row_id, user_id in dropped:
            if row_id in dead and user_id is not None:
                per_user[user_id] = per_user.get(user_id, 0) + dead[row_id]
        for user_id, count in per_user.items():
            blocked = await db.fetchone(
                "SELECT 1 FROM users WHERE id = ? AND active = 1 AND blocked_at IS NOT NULL",
                (user_id,),
            )
            if blocked is not None:
                await tell_supervisors_unreachable(
                    db, user_id, "blocked", today=today, now=now, reminders=count
                )

    async def due_outbox(self, now: datetime, *, limit: int = 100) -> list[OutboxMessage]:
        """Rows whose time has come, oldest first, each chat's calls in id order (a call
        waits while an earlier call of its chat is not due yet). A look only: nothing is
        claimed (rows under a sender's lease are left out).

        Messages for people who were switched off or blocked the bot meanwhile are dropped
        here, not kept to arrive out of date when they come back (calls to their chat too).
        """
        async with self._tx() as db:
            await self._drop_unreachable(db, now, None)
        rows = await self._fetchall(_DUE_SQL, (ts(now), limit))
        return [_message(r) for r in rows]

    async def claim_outbox(
        self,
        now: datetime,
        *,
        limit: int = 100,
        lease: timedelta = LEASE,
        today: date | None = None,
        holder: str | None = None,
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` due rows for sending: highest priority first, then oldest; each
        is this sender's until ``now + lease`` (a crash releases it then), so two processes
        never send the same row, and a chat's later rows wait while its earlier ones are
        leased. Rows for switched-off or blocked people are dropped first (their reminders
        dead; with ``today``, the local date, a blocked collector's supervisor is told once
        that day). ``holder`` names the claiming replica: restarted, it takes its own leases
        back at once (``take_back_leases``)."""
        async with self._tx() as db:
            await self._drop_unreachable(db, now, today)
            rows = await db.fetchall(_CLAIM_SQL, (ts(now), limit))
            if rows:
                await db.executemany(
                    "UPDATE outbox SET claimed_until = ?, claimed_by = ? WHERE id = ?",
                    [(ts(now + lease), holder, r[0]) for r in rows],
                )
        return [_message(r) for r in rows]

    async def renew_outbox(self, row_ids: Sequence[int], *, until: datetime) -> int:
        """Extend the lease of claimed rows still unsent (a long batch keeps its rows); how
        many were still leased."""
        if not row_ids:
            return 0
        marks = ",".join("?" * len(row_ids))
        done = await self._execute(
            f"UPDATE outbox SET claimed_until = ? WHERE id IN ({marks}) "
            f"AND claimed_until IS NOT NULL AND {_LIVE}",
            (ts(until), *row_ids),
        )
        return done.rowcount

    async def release_outbox(self, row_ids: Sequence[int]) -> None:
        """Give claimed rows back unsent (due again at once for any sender)."""
        if row_ids:
            async with self._tx() as db:
                await db.executemany(
                    "UPDATE outbox SET claimed_until = NULL WHERE id = ?", [(i,) for i in row_ids]
                )

    async def give_up_unreachable(
        self,
        row_id: int,
        error: str,
        *,
        now: datetime,
        today: date,
        blocked: bool,
    ) -> None:
        """The row's chat blocked the bot (403; ``blocked``) or does not exist for good: in one
        transaction the row is dropped, the reminders it carried are dead, a blocking user is
        marked blocked, and their supervisor(s) are told (once per user per local day)."""
        async with self._tx() as db:
            row = await db.fetchone(
                "SELECT o.user_id, COALESCE(o.chat_id, u.telegram_id) FROM outbox o "
                "LEFT JOIN users u ON u.id = o.user_id WHERE o.id = ?",
                (row_id,),
            )
            if row is None:
                return
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, dropped_at = ?, "
                "claimed_until = NULL WHERE id = ? AND sent_at IS NULL",
                (error[:500], ts(now), row_id),
            )
            dead = await kill_reminders(db, [row_id], now=now)
            user_id = row[0]
            if user_id is None and row[1] is not None:
                found = await db.fetchone("SELECT id FROM users WHERE telegram_id = ?", (row[1],))
                user_id = None if found is None else found[0]
            if blocked and row[1] is not None:
                done = await db.execute(
                    "UPDATE users SET blocked_at = ? WHERE telegram_id = ? AND blocked_at IS NULL",
                    (ts(now), row[1]),
                )
                if done.rowcount:
                    await db.audit(now, None, "blocked", "user", user_id, {"telegram_id": row[1]})
            if user_id is not None:
                await tell_supervisors_unreachable(
                    db,
                    user_id,
                    "blocked" if blocked else "not_found",
                    today=today,
                    now=now,
                    reminders=dead.get(row_id, 0),
                )

    async def mark_sent(self, results: Sequence[tuple[int, int]], *, now: datetime) -> None:
        """Record Telegram's message id for each sent outbox row, in one batch."""
        if not results:
            return
        async with self._tx() as db:
            await db.executemany(
                "UPDATE outbox SET sent_at = ?, message_id = ?, attempts = attempts + 1, "
                "claimed_until = NULL WHERE id = ?",
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
        """A send failed: try again at ``retry_at``, or give up (dropped, the reminders it
        carried dead) when it is None. Either way the lease is released."""
        async with self._tx() as db:
            if retry_at is None:
                await db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, dropped_at = ?, "
                    "claimed_until = NULL WHERE id = ?",
                    (error[:500], ts(now), row_id),
                )
                await kill_reminders(db, [row_id], now=now)
            else:
                await db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, not_before = ?, "
                    "claimed_until = NULL WHERE id = ?",
                    (error[:500], ts(retry_at), row_id),
                )
