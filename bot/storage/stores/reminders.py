"""Reminder rows (issue 10): written with the commitment, claimed under a lease, queued once.

The database is the truth and APScheduler only the clock. Each instalment of an agreed
commitment has its reminder rows (heads-up, due day, follow-up; unique per instalment and kind)
written in the commitment's own transaction (:func:`add_reminders`) and retired in the
transaction that amends, cancels or rejects it, or settles the instalment
(:func:`retire_reminders`). The poller (``reminders/due.py``) claims due rows with a lease
(``claimed_until``): a crash releases them when the lease runs out, two processes never take
the same row. It then writes one outbox row per collector and marks the rows queued with that
row's id in one transaction (:meth:`SqlReminders.queue_reminders`); the outbox's dedupe key
makes a repeat of that transaction (a second process after an expired lease) a no-op.

PostgreSQL: the same SQL (the connector translates ``json_each``); every claim runs behind the
connector's writer lock, so two replicas' claims queue as two processes' do on SQLite, and
the lease and the dedupe keys make a repeat after a kill a no-op.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from bot.domain.reminders import LIVE_INSTALMENT_STATUSES, ReminderKind, ReminderPolicy
from bot.storage.records import DueReminder, NewOutboxMessage, Reminder, ReminderBatch
from bot.storage.stores.base import Engine, Tx, dt, ts

_LIVE = "('" + "', '".join(LIVE_INSTALMENT_STATUSES) + "')"
#: Meta key: instalments up to this id were checked for missing reminder rows.
BACKFILL_MARK = "reminders_backfilled_upto"
#: Instalments looked at per backfill transaction, and at most this many given rows in one.
BACKFILL_SPAN = 10_000
BACKFILL_ROWS = 500

# One row per claimed reminder with what its message shows. The recipient is resolved now, not
# when the row was written: the case's lead if they can be reached, else a supervisor of the
# case's team (a case without a lead, a lead switched off or blocked): nobody is left unasked.
# The recipient's language comes with it (one statement, not a second one for the locales).
_DETAILS_SQL = f"""
WITH d AS (
SELECT r.id, r.kind, r.due_at, i.id AS iid, i.status, i.seq, i.due_on, i.amount, i.paid,
       c.id AS cid, c.contract_no, c.borrower_name,
       CASE WHEN k.status = 'agreed' AND i.status IN {_LIVE} THEN 1 ELSE 0 END AS live,
       CASE WHEN l.id IS NOT NULL AND l.active = 1 AND l.blocked_at IS NULL THEN l.id ELSE
           (SELECT s.id FROM users s WHERE s.team_id = c.team_id AND s.role = 'supervisor'
            AND s.active = 1 AND s.blocked_at IS NULL ORDER BY s.id LIMIT 1) END AS who
FROM reminders r
JOIN instalments i ON i.id = r.instalment_id
JOIN commitments k ON k.id = i.commitment_id
JOIN cases c ON c.id = k.case_id
LEFT JOIN users l ON l.id = c.lead_id
WHERE r.id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))
)
SELECT d.*, (SELECT COALESCE(u.locale, u.telegram_locale) FROM users u WHERE u.id = d.who)
FROM d ORDER BY d.due_at, d.id
"""


#: The claim: pending rows due in [late_before ?4, now ?2], a lease that still holds skipped,
#: oldest first, leased until ?1; from the index of migration 0017 alone (no table row read to
#: find or skip one). PostgreSQL: ... LIMIT ?3 FOR UPDATE SKIP LOCKED in the inner SELECT.
CLAIM_SQL = (
    "UPDATE reminders SET claimed_until = ?1, claimed_by = ?5 WHERE id IN ("
    "SELECT id FROM reminders WHERE status = 'pending' AND due_at <= ?2 "
    "AND due_at >= ?4 AND (claimed_until IS NULL OR claimed_until <= ?2) "
    "ORDER BY due_at, id LIMIT ?3) RETURNING id"
)


def _ids(values: Iterable[int]) -> str:
    return json.dumps(sorted(set(values)))


async def add_reminders(
    db: Tx, commitment_id: int, policy: ReminderPolicy | None, now: datetime
) -> int:
    """Write the reminder rows of the commitment's open instalments (in its transaction).

    Nothing without a policy. A row that exists already is kept as it is (unique per
    instalment and kind), so a repeat writes nothing twice. Returns the rows asked for.
    """
    if policy is None:
        return 0
    rows = await db.fetchall(
        "SELECT id, due_on FROM instalments WHERE commitment_id = ? "
        "AND status IN ('open', 'partial')",
        (commitment_id,),
    )
    return await _insert(db, [(r[0], date.fromisoformat(r[1])) for r in rows], policy, now)


async def _insert(
    db: Tx, instalments: Sequence[tuple[int, date]], policy: ReminderPolicy, now: datetime
) -> int:
    values = [
        (instalment_id, kind.value, ts(at), ts(now))
        for instalment_id, due_on in instalments
        for kind, at in policy.rows(due_on, now)
    ]
    if values:
        await db.executemany(
            "INSERT INTO reminders (instalment_id, kind, due_at, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (instalment_id, kind) DO NOTHING",
            values,
        )
    return len(values)


async def retire_reminders(
    db: Tx,
    *,
    instalment_ids: Iterable[int] | None = None,
    commitment_id: int | None = None,
    now: datetime,
) -> int:
    """Retire the pending reminders of some instalments or of a whole commitment (in the
    transaction that settles, amends, cancels or rejects it); how many were retired. Rows
    already queued stay queued: their message is on its way, and its buttons re-check."""
    if (instalment_ids is None) == (commitment_id is None):
        raise ValueError("retire_reminders: give instalment_ids or commitment_id")
    if commitment_id is not None:
        done = await db.execute(
            "UPDATE reminders SET status = 'retired', done_at = ?, claimed_until = NULL "
            "WHERE status = 'pending' AND instalment_id IN "
            "(SELECT id FROM instalments WHERE commitment_id = ?)",
            (ts(now), commitment_id),
        )
        return done.rowcount
    assert instalment_ids is not None
    ids = list(instalment_ids)
    if not ids:
        return 0
    done = await db.execute(
        "UPDATE reminders SET status = 'retired', done_at = ?, claimed_until = NULL "
        "WHERE status = 'pending' AND instalment_id IN "
        "(SELECT CAST(value AS BIGINT) FROM json_each(?))",
        (ts(now), _ids(ids)),
    )
    return done.rowcount


def _reminder(r: Sequence[Any]) -> Reminder:
    return Reminder(
        id=r[0],
        instalment_id=r[1],
        kind=r[2],
        due_at=datetime.fromisoformat(r[3]),
        status=r[4],
        collector_id=r[5],
        outbox_id=r[6],
        done_at=dt(r[7]),
    )


class SqlReminders(Engine):
    """Claim due reminders, queue their messages, read rows back."""

    async def claim_reminders(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        late_before: datetime,
        limit: int = 5000,
        holder: str | None = None,
    ) -> list[DueReminder]:
        """Claim up to ``limit`` due pending reminders until ``lease_until``, oldest first
        (``holder``: the claiming replica, which takes its claims back at once when restarted).

        First, in batches of ``limit`` (a transaction each): pending rows due before
        ``late_before`` become 'late' (left to the supervisor's digest; a late follow-up makes
        its still-open instalment 'unconfirmed'), or 'retired' if their instalment no longer
        wants reminders. Then one transaction claims rows due between ``late_before`` and
        ``now``; in it, claimed rows whose instalment no longer wants reminders (kept, broken,
        cancelled, its commitment ended) are retired, and rows nobody can be asked about (no
        lead, no supervisor) become 'late'. Neither kind is returned. Every transaction is
        bounded by ``limit`` rows and reads the pending rows from an index (issue 17: within
        50 ms at a million pending instalments for the poller's 500).
        """
        # Rows too old go first, a batch per transaction, so that no transaction holds the
        # database long however many came due while the bot was down; the claim below takes
        # only rows due since ``late_before``, so what is left of them is never sent.
        while True:
            taken = await self._expire_reminders(now=now, late_before=late_before, limit=limit)
            if taken < limit:
                break
            await asyncio.sleep(0)  # a reply's storage calls between two batches
        async with self._tx() as db:
            claimed = await db.fetchall(
                CLAIM_SQL, (ts(lease_until), ts(now), limit, ts(late_before), holder)
            )
            if not claimed:
                return []
            rows = await db.fetchall(_DETAILS_SQL, (_ids(r[0] for r in claimed),))
            gone = [r[0] for r in rows if not r[12]]
            nobody = [r[0] for r in rows if r[12] and r[13] is None]
            for status, ids in (("retired", gone), ("late", nobody)):
                if ids:
                    await db.execute(
                        "UPDATE reminders SET status = ?, done_at = ?, claimed_until = NULL "
                        "WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
                        (status, ts(now), _ids(ids)),
                    )
            kept = [r for r in rows if r[12] and r[13] is not None]
        return [
            DueReminder(
                id=r[0],
                kind=r[1],
                due_at=datetime.fromisoformat(r[2]),
                instalment_id=r[3],
                instalment_status=r[4],
                seq=r[5],
                due_on=date.fromisoformat(r[6]),
                amount=r[7],
                paid=r[8],
                case_id=r[9],
                contract_no=r[10],
                borrower=r[11],
                collector_id=r[13],
                locale=r[14],
                lease_until=lease_until,
            )
            for r in kept
        ]

    async def _expire_reminders(self, *, now: datetime, late_before: datetime, limit: int) -> int:
        """Up to ``limit`` pending rows due before ``late_before`` leave 'pending' in one
        transaction: 'late' if their instalment is still open (a late follow-up makes it
        'unconfirmed'), else 'retired' (what the claim would have done with them). Returns
        how many rows it took: ``limit`` means there may be more."""
        async with self._tx() as db:
            rows = await db.fetchall(
                "UPDATE reminders SET done_at = ?1, claimed_until = NULL, status = CASE WHEN "
                "EXISTS (SELECT 1 FROM instalments i WHERE i.id = reminders.instalment_id "
                f"AND i.status IN {_LIVE}) THEN 'late' ELSE 'retired' END "
                "WHERE id IN (SELECT id FROM reminders WHERE status = 'pending' AND due_at < ?2 "
                "ORDER BY due_at, id LIMIT ?3) RETURNING instalment_id, kind, status",
                (ts(now), ts(late_before), limit),
            )
            follow_ups = [r[0] for r in rows if r[1] == ReminderKind.FOLLOW_UP and r[2] == "late"]
            await _unconfirm(db, follow_ups, now)
        return len(rows)

    async def queue_reminders(self, batches: Sequence[ReminderBatch], *, now: datetime) -> int:
        """Write each batch's outbox row (priority 2, once per dedupe key) and mark its rows
        queued with that row's id, all in one transaction; a follow-up's instalment still
        'open' becomes 'unconfirmed'. A batch none of whose rows is still pending (answered
        meanwhile, or queued by another process after an expired lease) writes nothing.
        Returns the outbox rows written."""
        written = 0
        async with self._tx() as db:
            for batch in batches:
                ids = _ids(batch.reminder_ids)
                row = await db.fetchone(
                    "SELECT COUNT(*) FROM reminders WHERE status = 'pending' "
                    "AND id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
                    (ids,),
                )
                if not row or not row[0]:
                    continue
                outbox_id = await db.enqueue(
                    NewOutboxMessage(
                        batch.collector_id,
                        batch.template,
                        batch.params,
                        markup=batch.markup,
                        dedupe_key=batch.dedupe_key,
                        group_key=batch.group_key,
                        priority=2,
                    ),
                    now=now,
                )
                await db.execute(
                    "UPDATE reminders SET status = 'queued', outbox_id = ?, collector_id = ?, "
                    "done_at = ?, claimed_until = NULL WHERE status = 'pending' "
                    "AND id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
                    (outbox_id, batch.collector_id, ts(now), ids),
                )
                await _unconfirm(db, batch.follow_ups, now)
                written += 1
        return written

    async def backfill_reminders(self, policy: ReminderPolicy, *, now: datetime) -> int:
        """Write the reminder rows missing for open instalments of agreed commitments that were
        stored without them (before this schema, or by a path that passed no policy: the
        sandbox's demo); each instalment is looked at once (a mark in meta). Returns the rows
        asked for. A transaction per :data:`BACKFILL_SPAN` instalments (at most
        :data:`BACKFILL_ROWS` of them missing rows), the mark moved in each: a database of a
        million instalments is checked in short steps, not one 0.3 s transaction."""
        written = 0
        while True:
            done, more = await self._backfill_step(policy, now)
            written += done
            if not more:
                return written
            await asyncio.sleep(0)  # a reply's storage calls between two steps

    async def _backfill_step(self, policy: ReminderPolicy, now: datetime) -> tuple[int, bool]:
        async with self._tx() as db:
            row = await db.fetchone("SELECT value FROM meta WHERE key = ?", (BACKFILL_MARK,))
            mark = int(row[0]) if row else 0
            top_row = await db.fetchone("SELECT COALESCE(MAX(id), 0) FROM instalments")
            top = int(top_row[0]) if top_row else 0
            if top <= mark:
                return 0, False
            end = min(top, mark + BACKFILL_SPAN)
            rows = await db.fetchall(
                "SELECT i.id, i.due_on FROM instalments i "
                "JOIN commitments k ON k.id = i.commitment_id "
                "WHERE i.id > ? AND i.id <= ? AND k.status = 'agreed' "
                "AND i.status IN ('open', 'partial') "
                "AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.instalment_id = i.id) "
                "ORDER BY i.id LIMIT ?",
                (mark, end, BACKFILL_ROWS),
            )
            if len(rows) == BACKFILL_ROWS:
                end = rows[-1][0]
            written = await _insert(
                db, [(r[0], date.fromisoformat(r[1])) for r in rows], policy, now
            )
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (BACKFILL_MARK, str(end)),
            )
        return written, end < top

    async def reminders_of(
        self, *, instalment_ids: Iterable[int] | None = None, commitment_id: int | None = None
    ) -> list[Reminder]:
        """The reminder rows of some instalments or of a commitment, by due time."""
        cols = (
            "SELECT r.id, r.instalment_id, r.kind, r.due_at, r.status, r.collector_id, "
            "r.outbox_id, r.done_at FROM reminders r "
        )
        if commitment_id is not None:
            rows = await self._fetchall(
                cols + "JOIN instalments i ON i.id = r.instalment_id WHERE i.commitment_id = ? "
                "ORDER BY r.due_at, r.id",
                (commitment_id,),
            )
        else:
            rows = await self._fetchall(
                cols + "WHERE r.instalment_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) "
                "ORDER BY r.due_at, r.id",
                (_ids(instalment_ids or ()),),
            )
        return [_reminder(r) for r in rows]


async def _unconfirm(db: Tx, instalment_ids: Iterable[int], now: datetime) -> None:
    """No answer by the follow-up: a still-open instalment becomes 'unconfirmed', never kept."""
    ids = list(instalment_ids)
    if ids:
        await db.execute(
            "UPDATE instalments SET status = 'unconfirmed', settled_at = ? "
            "WHERE status = 'open' AND id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
            (ts(now), _ids(ids)),
        )
