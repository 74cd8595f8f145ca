"""Flows (multi-step exchanges, compare-and-set on ``version``), effects, and the old one-slot
chat state that the flows replace.

At most one 'open' and one 'waiting' flow per person is enforced by partial unique indexes, so
even two processes cannot open two. Every change of step or status moves ``version`` on (except
:meth:`set_flow_message`), which is what makes a stale button or a replayed update a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.storage.connector import Sql
from bot.storage.errors import FlowConflictError
from bot.storage.records import FLOW_END_STATUSES, KEPT_UNTIL, FlowState, HeldFile
from bot.storage.stores.base import Engine, ts

_FLOW_COLUMNS = (
    "id, user_id, flow, step, data, case_id, message_id, version, status, last_update_id, "
    "created_at, updated_at, expires_at"
)


def _flow(r: Sequence[Any]) -> FlowState:
    return FlowState(
        id=r[0],
        user_id=r[1],
        flow=r[2],
        step=r[3],
        data=json.loads(r[4]),
        case_id=r[5],
        message_id=r[6],
        version=r[7],
        status=r[8],
        last_update_id=r[9],
        created_at=datetime.fromisoformat(r[10]),
        updated_at=datetime.fromisoformat(r[11]),
        expires_at=datetime.fromisoformat(r[12]),
    )


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


#: A kept draft's deadline inside a flow's JSON data, per backend (text on both).
_KEPT_UNTIL_OF = {
    "sqlite": f"json_extract(data, '$.{KEPT_UNTIL}')",
    "postgresql": f"(data::jsonb ->> '{KEPT_UNTIL}')",
}


class SqlFlows(Engine):
    """Flow state per person, idempotency keys, and the legacy chat state."""

    # -- flows -----------------------------------------------------------------------------

    async def start_flow(
        self,
        user_id: int,
        flow: str,
        step: str,
        data: dict[str, Any],
        *,
        now: datetime,
        expires_at: datetime,
        case_id: int | None = None,
        waiting: bool = False,
        update_id: int | None = None,
    ) -> FlowState:
        """Start ``flow`` at ``step`` for ``user_id``.

        ``waiting=False``: the flow is 'open'; raises :class:`FlowConflictError` when another
        is open. ``waiting=True``: it waits behind the open one ('continue X / drop X'), and
        replaces an earlier waiting one (which becomes 'dropped').
        """
        async with self._tx() as db:
            if waiting:
                await db.execute(
                    "UPDATE flows SET status = 'dropped', version = version + 1, updated_at = ? "
                    "WHERE user_id = ? AND status = 'waiting'",
                    (ts(now), user_id),
                )
            else:
                row = await db.fetchone(
                    "SELECT flow FROM flows WHERE user_id = ? AND status = 'open'", (user_id,)
                )
                if row is not None:
                    raise FlowConflictError(f"user {user_id} already has the flow {row[0]!r} open")
            row = await db.fetchone(
                "INSERT INTO flows (user_id, flow, step, data, case_id, status, last_update_id, "
                "created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                f"RETURNING {_FLOW_COLUMNS}",
                (
                    user_id,
                    flow,
                    step,
                    _json(data),
                    case_id,
                    "waiting" if waiting else "open",
                    update_id,
                    ts(now),
                    ts(now),
                    ts(expires_at),
                ),
            )
        return _flow(row)

    async def open_flow(self, user_id: int) -> FlowState | None:
        """The flow the person's next message or button answers, if any (even if expired:
        the engine decides what an expired flow means)."""
        row = await self._fetchone(
            f"SELECT {_FLOW_COLUMNS} FROM flows WHERE user_id = ? AND status = 'open'",
            (user_id,),
        )
        return None if row is None else _flow(row)

    async def waiting_flow(self, user_id: int) -> FlowState | None:
        row = await self._fetchone(
            f"SELECT {_FLOW_COLUMNS} FROM flows WHERE user_id = ? AND status = 'waiting'",
            (user_id,),
        )
        return None if row is None else _flow(row)

    async def get_flow(self, flow_id: int) -> FlowState | None:
        row = await self._fetchone(f"SELECT {_FLOW_COLUMNS} FROM flows WHERE id = ?", (flow_id,))
        return None if row is None else _flow(row)

    async def advance_flow(
        self,
        flow_id: int,
        version: int,
        *,
        step: str,
        data: dict[str, Any],
        now: datetime,
        case_id: int | None = None,
        expires_at: datetime | None = None,
        update_id: int | None = None,
    ) -> FlowState | None:
        """Move an open flow to ``step`` with ``data`` if it is still at ``version`` (CAS);
        the new state, or None when the flow moved on, ended or does not exist. Clears
        ``message_id`` (the question asked belongs to the old step)."""
        rows = await self._execute_returning(
            "UPDATE flows SET step = ?, data = ?, case_id = COALESCE(?, case_id), "
            "expires_at = COALESCE(?, expires_at), last_update_id = COALESCE(?, last_update_id), "
            "updated_at = ?, version = version + 1, message_id = NULL "
            f"WHERE id = ? AND version = ? AND status = 'open' RETURNING {_FLOW_COLUMNS}",
            (
                step,
                _json(data),
                case_id,
                None if expires_at is None else ts(expires_at),
                update_id,
                ts(now),
                flow_id,
                version,
            ),
        )
        return _flow(rows[0]) if rows else None

    async def set_flow_message(self, flow_id: int, version: int, message_id: int) -> bool:
        """Record which message asked the current question (version unchanged); False if the
        flow's version moved on meanwhile."""
        done = await self._execute(
            "UPDATE flows SET message_id = ? WHERE id = ? AND version = ?",
            (message_id, flow_id, version),
        )
        return done.rowcount > 0

    async def end_flow(
        self,
        flow_id: int,
        version: int | None,
        status: str,
        *,
        now: datetime,
        update_id: int | None = None,
    ) -> FlowState | None:
        """End an open or waiting flow as ``status`` (done, cancelled, expired, dropped); CAS
        on ``version`` unless it is None. The ended state, or None if nothing changed."""
        if status not in FLOW_END_STATUSES:
            raise ValueError(f"a flow cannot end as {status!r}")
        rows = await self._execute_returning(
            "UPDATE flows SET status = ?1, updated_at = ?2, version = version + 1, "
            "last_update_id = COALESCE(?3, last_update_id) "
            "WHERE id = ?4 AND status IN ('open', 'waiting') AND (?5 IS NULL OR version = ?5) "
            f"RETURNING {_FLOW_COLUMNS}",
            (status, ts(now), update_id, flow_id, version),
        )
        return _flow(rows[0]) if rows else None

    async def promote_waiting(
        self, user_id: int, *, now: datetime, expires_at: datetime
    ) -> FlowState | None:
        """Drop the open flow (if any) and open the waiting one, in one transaction; None
        (and nothing changed) when there is no waiting flow."""
        async with self._tx() as db:
            waiting = await db.fetchone(
                "SELECT id FROM flows WHERE user_id = ? AND status = 'waiting'", (user_id,)
            )
            if waiting is None:
                return None
            await db.execute(
                "UPDATE flows SET status = 'dropped', version = version + 1, updated_at = ? "
                "WHERE user_id = ? AND status = 'open'",
                (ts(now), user_id),
            )
            row = await db.fetchone(
                "UPDATE flows SET status = 'open', version = version + 1, expires_at = ?, "
                f"updated_at = ? WHERE id = ? RETURNING {_FLOW_COLUMNS}",
                (ts(expires_at), ts(now), waiting[0]),
            )
        return _flow(row)

    async def flow_consumed(self, user_id: int, update_id: int) -> FlowState | None:
        """The person's latest flow (any status) that last acted on ``update_id``: a replayed
        update it matches was handled before. Exactly that id, never "that id or later":
        Telegram picks the next update id at random after a week without updates, so a new
        update may well carry a lower id than one handled before."""
        row = await self._fetchone(
            f"SELECT {_FLOW_COLUMNS} FROM flows WHERE user_id = ? AND last_update_id = ? "
            "ORDER BY updated_at DESC, id DESC LIMIT 1",
            (user_id, update_id),
        )
        return None if row is None else _flow(row)

    async def keep_flow_draft(
        self, flow_id: int, user_id: int, *, until: datetime | None, now: datetime
    ) -> FlowState | None:
        """Keep the draft of ``user_id``'s cancelled flow for a later start until ``until``
        (None: forget it). Kept in the row's data as ``KEPT_UNTIL``, beside the answers; the
        changed state, or None when the flow is not theirs or not cancelled."""
        # ?2 NULL forgets: json_remove; else json_set with the time (sorts as text).
        rows = await self._execute_returning(
            Sql(
                sqlite="UPDATE flows SET data = CASE WHEN ?2 IS NULL THEN json_remove(data, ?1) "
                "ELSE json_set(data, ?1, ?2) END, updated_at = ?3 "
                "WHERE id = ?4 AND user_id = ?5 AND status = 'cancelled' "
                f"RETURNING {_FLOW_COLUMNS}",
                # The same on jsonb; data stays text (the JSON as json.dumps wrote it).
                postgresql="UPDATE flows SET data = (CASE WHEN ?2 IS NULL "
                f"THEN data::jsonb - '{KEPT_UNTIL}' "
                f"ELSE jsonb_set(data::jsonb, '{{{KEPT_UNTIL}}}', to_jsonb(?2::text)) END)::text, "
                "updated_at = ?3 WHERE id = ?4 AND user_id = ?5 AND status = 'cancelled' "
                f"AND ?1 = ?1 RETURNING {_FLOW_COLUMNS}",
            ),
            (f"$.{KEPT_UNTIL}", None if until is None else ts(until), ts(now), flow_id, user_id),
        )
        return _flow(rows[0]) if rows else None

    async def kept_flow(
        self, user_id: int, flow: str, case_id: int | None, *, now: datetime
    ) -> FlowState | None:
        """The latest cancelled ``flow`` of ``user_id`` on ``case_id`` whose draft is kept
        (:meth:`keep_flow_draft`) past ``now``, if any."""
        row = await self._fetchone(
            f"SELECT {_FLOW_COLUMNS} FROM flows WHERE user_id = ? AND flow = ? "
            "AND case_id IS ? AND status = 'cancelled' "
            f"AND {_KEPT_UNTIL_OF[self.dialect]} > ? "
            "ORDER BY updated_at DESC, id DESC LIMIT 1",
            (user_id, flow, case_id, ts(now)),
        )
        return None if row is None else _flow(row)

    # -- effects ---------------------------------------------------------------------------

    async def effect_result(self, key: str) -> dict[str, Any] | None:
        """What the write done under idempotency ``key`` returned, or None if none was."""
        row = await self._fetchone("SELECT result FROM effects WHERE key = ?", (key,))
        return None if row is None else dict(json.loads(row[0]))

    # -- files kept while another question was open (issue 16) -----------------------------

    async def hold_file(
        self,
        user_id: int,
        *,
        file_id: str,
        file_name: str,
        file_size: int | None,
        update_id: int | None,
        now: datetime,
    ) -> HeldFile:
        """Keep a file (status 'held'); a replayed ``update_id`` keeps it once."""
        async with self._tx() as db:
            # A replayed update_id meets the unique key and writes nothing (both backends).
            row = await db.fetchone(
                "INSERT INTO held_files (user_id, file_id, file_name, file_size, "
                "update_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT DO NOTHING RETURNING {_HELD_COLUMNS}",
                (user_id, file_id, file_name, file_size, update_id, ts(now), ts(now)),
            )
            if row is None:
                row = await db.fetchone(
                    f"SELECT {_HELD_COLUMNS} FROM held_files WHERE update_id = ?", (update_id,)
                )
        return _held(row)

    async def held_files(self, user_id: int) -> list[HeldFile]:
        """The person's files kept and not offered yet, oldest first."""
        rows = await self._fetchall(
            f"SELECT {_HELD_COLUMNS} FROM held_files WHERE user_id = ? AND status = 'held' "
            "ORDER BY id",
            (user_id,),
        )
        return [_held(r) for r in rows]

    async def mark_held_offered(self, held_ids: Sequence[int], *, now: datetime) -> None:
        """'held' becomes 'offered' (the question was sent)."""
        if not held_ids:
            return
        marks = ", ".join("?" for _ in held_ids)
        await self._execute(
            f"UPDATE held_files SET status = 'offered', updated_at = ? "
            f"WHERE status = 'held' AND id IN ({marks})",
            (ts(now), *held_ids),
        )

    async def settle_held_file(
        self, held_id: int, user_id: int, status: str, *, now: datetime
    ) -> HeldFile | None:
        """Close a held or offered file of ``user_id`` as imported or discarded (CAS)."""
        if status not in ("imported", "discarded"):
            raise ValueError(f"a held file ends imported or discarded, not {status!r}")
        rows = await self._execute_returning(
            "UPDATE held_files SET status = ?, updated_at = ? WHERE id = ? AND user_id = ? "
            f"AND status IN ('held', 'offered') RETURNING {_HELD_COLUMNS}",
            (status, ts(now), held_id, user_id),
        )
        return _held(rows[0]) if rows else None


_HELD_COLUMNS = "id, user_id, file_id, file_name, file_size, status, created_at"


def _held(r: Sequence[Any]) -> HeldFile:
    return HeldFile(
        id=r[0],
        user_id=r[1],
        file_id=r[2],
        file_name=r[3],
        file_size=r[4],
        status=r[5],
        created_at=datetime.fromisoformat(r[6]),
    )
