"""What several bot processes (replicas) on one database share (issue 18).

- **A lease per chat**: a chat's updates are handled by one replica at a time, oldest first.
  :meth:`claim_chat` takes the chat's lease (free, run out, or already this replica's) and
  the chat's oldest pending update in one transaction; when that update is done the same call
  hands the lease on to the chat's next pending update, or deletes it when there is none. A
  replica that stores an update while another holds the chat leaves it to the holder, who
  finds it in its next :meth:`claim_chat` (the two transactions are serialised on the lease
  row, so the update is never left behind: either the holder's look sees it, or the holder
  had deleted the lease and the newcomer takes it).
- **Identity on every lease** (``holder``: the replica's stable name): a replica restarted
  after a kill takes back what it held at once (:meth:`take_back_leases`).
- **The send window**: Telegram's 30 messages a second are places in ``send_places``; a send
  holds one from before its call until a second after the answer, whichever replica sends.
- **Each chat's pace and flood control** (``chat_pace``), **strangers' quiet period**
  (``stranger_replies``) and **the replicas alive** (``replicas``).

The SQL is the subset PostgreSQL runs as written (``ON CONFLICT``, ``RETURNING``, ISO text
times); where PostgreSQL needs a row lock the comment says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from bot.storage.connector import Program, Sql, all_, done, one
from bot.storage.records import InboxItem, ReplicaRecord, SendTurn
from bot.storage.stores.base import Engine, ts

T = TypeVar("T")

_PENDING = "handled_at IS NULL AND set_aside_at IS NULL"
_ITEM = "update_id, chat_id, payload, attempts, received_at"
#: A chat's pace, read to be written below in the same transaction: PostgreSQL locks the row.
_PACE = "SELECT tokens, at, held_until FROM chat_pace WHERE chat_id = ?1"
_PACE_SQL = Sql(sqlite=_PACE, postgresql=f"{_PACE} FOR UPDATE")
#: The first free place of the window taken: PostgreSQL skips a place another transaction is
#: taking (SKIP LOCKED) instead of waiting for it.
_TAKE_PLACE = (
    "UPDATE send_places SET holder = ?1, until = ?2 WHERE place = ("
    "SELECT place FROM send_places WHERE place < ?3 "
    "AND (until IS NULL OR until <= ?4) ORDER BY place LIMIT 1{lock}) RETURNING place"
)
_TAKE_PLACE_SQL = Sql(
    sqlite=_TAKE_PLACE.format(lock=""),
    postgresql=_TAKE_PLACE.format(lock=" FOR UPDATE SKIP LOCKED"),
)


def _in_transaction(program: Program[T]) -> Program[T]:
    """BEGIN IMMEDIATE, ``program``, COMMIT (ROLLBACK if it raises): on SQLite all on the
    database's thread in one trip; on PostgreSQL behind the writer lock."""
    yield done("BEGIN IMMEDIATE")
    try:
        result = yield from program
    except BaseException:
        yield done("ROLLBACK")
        raise
    yield done("COMMIT")
    return result


def _item(row: tuple[object, ...]) -> InboxItem:
    return InboxItem(
        int(str(row[0])),
        None if row[1] is None else int(str(row[1])),
        str(row[2]),
        int(str(row[3])),
        datetime.fromisoformat(str(row[4])),
    )


class SqlReplicas(Engine):
    """Chat leases, lease take-back, the shared send window, chat holds, strangers, replicas."""

    async def claim_chat(
        self,
        chat_id: int,
        *,
        holder: str,
        now: datetime,
        lease: timedelta,
        finished: int | None = None,
        handled_at: datetime | None = None,
    ) -> InboxItem | None:
        """Take ``chat_id``'s lease and its oldest pending update (one more attempt counted);
        None when another replica holds the chat, or nothing of it is pending (the lease is
        then deleted, if it was ``holder``'s). ``finished``: the update just handled, marked
        handled (at ``handled_at``) in the same transaction — one trip per update."""

        def claim() -> Program[InboxItem | None]:
            if finished is not None:
                (
                    yield done(
                        "UPDATE inbox SET handled_at = ?1, claimed_until = NULL "
                        "WHERE update_id = ?2 AND handled_at IS NULL",
                        (ts(handled_at or now), finished),
                    )
                )
            # PostgreSQL: the upsert locks the lease row, which serialises this transaction
            # with the holder's own claim_chat.
            got = yield all_(
                "INSERT INTO chat_leases (chat_id, holder, until) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (chat_id) DO UPDATE SET holder = excluded.holder, "
                "until = excluded.until "
                "WHERE chat_leases.until <= ?4 OR chat_leases.holder = excluded.holder "
                "RETURNING chat_id",
                (chat_id, holder, ts(now + lease), ts(now)),
            )
            if not got:
                return None
            row = yield all_(
                "UPDATE inbox SET attempts = attempts + 1, claimed_by = ?1, claimed_until = ?2 "
                "WHERE update_id = (SELECT update_id FROM inbox "
                f"WHERE chat_id = ?3 AND {_PENDING} ORDER BY update_id LIMIT 1) "
                f"RETURNING {_ITEM}",
                (holder, ts(now + lease), chat_id),
            )
            if not row:
                (
                    yield done(
                        "DELETE FROM chat_leases WHERE chat_id = ?1 AND holder = ?2",
                        (chat_id, holder),
                    )
                )
                return None
            return _item(row[0])

        return await self._atomic(claim())

    async def _atomic(self, program: Program[T]) -> T:
        """``program`` in one write transaction, on SQLite all of it on the database's thread
        in one trip: the write lock is never held while the event loop is elsewhere (a short
        transaction on every update and every send; other writers wait only for it)."""
        return await self._run(_in_transaction(program))

    async def claim_lone_update(
        self, update_id: int, *, holder: str, now: datetime, lease: timedelta
    ) -> InboxItem | None:
        """Claim a pending update that belongs to no chat (its own lease); None when handled,
        set aside, unknown, or leased by another replica."""
        rows = await self._execute_returning(
            "UPDATE inbox SET attempts = attempts + 1, claimed_by = ?1, claimed_until = ?2 "
            f"WHERE update_id = ?3 AND {_PENDING} "
            "AND (claimed_until IS NULL OR claimed_until <= ?4 OR claimed_by = ?1) "
            f"RETURNING {_ITEM}",
            (holder, ts(now + lease), update_id, ts(now)),
        )
        return _item(rows[0]) if rows else None

    async def renew_chat(self, chat_id: int, *, holder: str, until: datetime) -> bool:
        """Extend ``holder``'s lease of a chat (a long update); False if it is no longer its."""
        done = await self._execute(
            "UPDATE chat_leases SET until = ?3 WHERE chat_id = ?1 AND holder = ?2",
            (chat_id, holder, ts(until)),
        )
        return done.rowcount > 0

    async def release_chat(self, chat_id: int, *, holder: str) -> None:
        """Give a chat's lease up (its update failed in a way a retry elsewhere may mend)."""
        await self._execute(
            "DELETE FROM chat_leases WHERE chat_id = ?1 AND holder = ?2", (chat_id, holder)
        )

    async def inbox_to_sweep(
        self, *, holder: str, now: datetime, limit: int = 100
    ) -> list[tuple[int | None, int]]:
        """Pending work nobody holds (its receiver died, or missed it): per chat whose lease is
        free, run out or ``holder``'s, the chat and its oldest pending update id; and each
        pending update of no chat not leased by another. Oldest first."""
        rows = await self._fetchall(
            "SELECT i.chat_id, MIN(i.update_id) AS first FROM inbox i "
            "LEFT JOIN chat_leases l ON l.chat_id = i.chat_id "
            "WHERE i.handled_at IS NULL AND i.set_aside_at IS NULL AND i.chat_id IS NOT NULL "
            "AND (l.chat_id IS NULL OR l.until <= ?1 OR l.holder = ?2) GROUP BY i.chat_id "
            "UNION ALL "
            f"SELECT NULL, update_id FROM inbox WHERE {_PENDING} AND chat_id IS NULL "
            "AND (claimed_until IS NULL OR claimed_until <= ?1 OR claimed_by = ?2) "
            "ORDER BY 2 LIMIT ?3",
            (ts(now), holder, limit),
        )
        return [(None if r[0] is None else int(r[0]), int(r[1])) for r in rows]

    async def take_back_leases(self, holder: str, *, now: datetime) -> dict[str, int]:
        """At start-up: everything ``holder`` (this replica, before a crash) held is free again
        at once — chat leases, inbox, outbox and reminder claims; its places in the send window
        free one second from now (a send it made just before dying may still count)."""
        counts: dict[str, int] = {}
        async with self._tx() as db:
            for name, sql in (
                ("chats", "DELETE FROM chat_leases WHERE holder = ?1"),
                (
                    "inbox",
                    "UPDATE inbox SET claimed_until = NULL "
                    "WHERE claimed_by = ?1 AND claimed_until IS NOT NULL",
                ),
                (
                    "outbox",
                    "UPDATE outbox SET claimed_until = NULL "
                    "WHERE claimed_by = ?1 AND claimed_until IS NOT NULL",
                ),
                (
                    "reminders",
                    "UPDATE reminders SET claimed_until = NULL "
                    "WHERE claimed_by = ?1 AND claimed_until IS NOT NULL",
                ),
            ):
                done = await db.execute(sql, (holder,))
                counts[name] = done.rowcount
            soon = ts(now + timedelta(seconds=1))
            done = await db.execute(
                "UPDATE send_places SET until = ?2 WHERE holder = ?1 AND until > ?2",
                (holder, soon),
            )
            counts["places"] = done.rowcount
        return counts

    async def ensure_send_places(self, count: int) -> None:
        """Make sure the send window has ``count`` places (rows 0 .. count-1)."""
        row = await self._fetchone("SELECT COUNT(*) FROM send_places WHERE place < ?1", (count,))
        if row is not None and int(row[0]) >= count:
            return
        async with self._tx() as db:
            await db.executemany(
                "INSERT INTO send_places (place) VALUES (?1) ON CONFLICT (place) DO NOTHING",
                [(place,) for place in range(count)],
            )

    async def take_send_place(
        self,
        *,
        holder: str,
        now: datetime,
        ttl: timedelta,
        places: int,
        keep_free: int = 0,
        chat_id: int | None = None,
        behind_calls: bool = False,
        chat_rate: float | None = None,
        chat_burst: int = 3,
    ) -> SendTurn:
        """A place in the shared send window for one call, held until ``now + ttl`` unless
        released sooner; or, when fewer than ``keep_free + 1`` of the first ``places`` are free
        (an outbox send leaves one for a reply), or ``chat_id`` is under flood control or has
        used its pace (``chat_rate`` messages a second after ``chat_burst``: a token taken with
        the place), when to ask again; with ``behind_calls``, no place when the chat has
        deferred calls waiting in the outbox (whichever replica deferred them: a reply must not
        overtake them)."""

        def take() -> Program[SendTurn]:
            if chat_id is not None and behind_calls:
                waiting = yield one(
                    # A reply that could not be sent (defer_call), or a call that failed
                    # once already: not a notice just written, which the outbox sends next.
                    "SELECT 1 FROM outbox WHERE chat_id = ?1 AND kind = 'call' "
                    "AND sent_at IS NULL AND dropped_at IS NULL "
                    "AND (group_key = 'deferred' OR attempts > 0) LIMIT 1",
                    (chat_id,),
                )
                if waiting is not None:
                    return SendTurn(None, behind_calls=True)
            tokens: float | None = None
            if chat_id is not None:
                # PostgreSQL: ... FOR UPDATE (the bucket is read, then written below).
                pace = yield one(_PACE_SQL, (chat_id,))
                if pace is not None and pace[2] is not None and pace[2] > ts(now):
                    return SendTurn(None, datetime.fromisoformat(pace[2]), chat_held=True)
                if chat_rate is not None:
                    tokens = float(chat_burst)
                    if pace is not None:
                        since = (now - datetime.fromisoformat(pace[1])).total_seconds()
                        tokens = min(tokens, float(pace[0]) + max(since, 0.0) * chat_rate)
                    if tokens < 1.0:
                        wait = timedelta(seconds=(1.0 - tokens) / chat_rate)
                        return SendTurn(None, now + wait, chat_paced=True)
            free = yield one(
                "SELECT COUNT(*) FROM send_places "
                "WHERE place < ?1 AND (until IS NULL OR until <= ?2)",
                (places, ts(now)),
            )
            if free is None or int(free[0]) <= keep_free:
                soonest = yield one(
                    "SELECT MIN(until) FROM send_places WHERE place < ?1 AND until > ?2",
                    (places, ts(now)),
                )
                when = soonest[0] if soonest is not None and soonest[0] is not None else None
                return SendTurn(None, now if when is None else datetime.fromisoformat(when))
            # PostgreSQL: the inner SELECT with FOR UPDATE SKIP LOCKED.
            row = yield all_(_TAKE_PLACE_SQL, (holder, ts(now + ttl), places, ts(now)))
            if not row:
                return SendTurn(None, now)
            if tokens is not None:
                (
                    yield done(
                        "INSERT INTO chat_pace (chat_id, tokens, at) VALUES (?1, ?2, ?3) "
                        "ON CONFLICT (chat_id) DO UPDATE SET tokens = excluded.tokens, "
                        "at = excluded.at",
                        (chat_id, tokens - 1.0, ts(now)),
                    )
                )
            return SendTurn(int(row[0][0]))

        return await self._atomic(take())

    async def release_send_place(self, place: int, *, holder: str, until: datetime) -> None:
        """The call of this place has answered: it counts until ``until`` (a second later)."""
        await self._execute(
            "UPDATE send_places SET until = ?3 WHERE place = ?1 AND holder = ?2",
            (place, holder, ts(until)),
        )

    async def hold_chat(self, chat_id: int, *, until: datetime) -> None:
        """Telegram asked to wait before sending to this chat again (429 retry_after); its
        pace starts again from nothing after that."""
        await self._execute(
            "INSERT INTO chat_pace (chat_id, tokens, at, held_until) VALUES (?1, 0, ?2, ?2) "
            "ON CONFLICT (chat_id) DO UPDATE SET held_until = excluded.held_until, "
            "tokens = 0, at = excluded.at "
            "WHERE chat_pace.held_until IS NULL OR chat_pace.held_until < excluded.held_until",
            (chat_id, ts(until)),
        )

    async def answer_stranger(self, telegram_id: int, *, now: datetime, quiet: timedelta) -> bool:
        """Whether a stranger gets an answer now: True at most once per ``quiet`` period per
        person (compare-and-set: two replicas never both answer)."""
        rows = await self._execute_returning(
            "INSERT INTO stranger_replies (telegram_id, at) VALUES (?1, ?2) "
            "ON CONFLICT (telegram_id) DO UPDATE SET at = excluded.at "
            "WHERE stranger_replies.at <= ?3 RETURNING telegram_id",
            (telegram_id, ts(now), ts(now - quiet)),
        )
        return bool(rows)

    async def get_replica(self, instance: str) -> ReplicaRecord | None:
        """How the replica of this identity last reported itself."""
        row = await self._fetchone(
            "SELECT instance, host, pid, started_at, seen_until FROM replicas WHERE instance = ?1",
            (instance,),
        )
        if row is None:
            return None
        return ReplicaRecord(
            row[0],
            row[1],
            int(row[2]),
            datetime.fromisoformat(row[3]),
            datetime.fromisoformat(row[4]),
        )

    async def beat_replica(
        self, instance: str, *, host: str, pid: int, now: datetime, until: datetime
    ) -> None:
        """This replica is alive until ``until`` (a new process of it: started now)."""
        await self._execute(
            "INSERT INTO replicas (instance, host, pid, started_at, seen_until) "
            "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (instance) DO UPDATE SET "
            "started_at = CASE WHEN replicas.pid = excluded.pid AND replicas.host = excluded.host "
            "THEN replicas.started_at ELSE excluded.started_at END, "
            "host = excluded.host, pid = excluded.pid, seen_until = excluded.seen_until",
            (instance, host, pid, ts(now), ts(until)),
        )

    async def prune_replica_state(self, *, now: datetime, before: datetime) -> int:
        """Forget what no longer matters: strangers answered before ``before``, chat holds
        and leases run out, replicas not seen since ``before``; how many rows."""
        total = 0
        async with self._tx() as db:
            for sql, when in (
                ("DELETE FROM stranger_replies WHERE at < ?1", before),
                (
                    "DELETE FROM chat_pace WHERE at < ?1 "
                    "AND (held_until IS NULL OR held_until < ?1)",
                    before,
                ),
                ("DELETE FROM chat_leases WHERE until < ?1", before),
                ("DELETE FROM replicas WHERE seen_until < ?1", before),
            ):
                total += (await db.execute(sql, (ts(when),))).rowcount
        return total
