"""The audit trail and installation facts (meta); backups are each backend's own."""

from __future__ import annotations

import json
from datetime import datetime

from bot.storage.records import AuditEntry
from bot.storage.stores.base import Engine


class SqlAudit(Engine):
    """Who changed what (read side), small facts about this installation."""

    # -- meta ------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        row = await self._fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- audit -----------------------------------------------------------------------------

    async def audit_log(self, *, entity: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """Newest first."""
        if entity is None:
            rows = await self._fetchall(
                "SELECT at, actor_id, action, entity, entity_id, detail FROM audit "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        else:
            rows = await self._fetchall(
                "SELECT at, actor_id, action, entity, entity_id, detail FROM audit "
                "WHERE entity = ? ORDER BY id DESC LIMIT ?",
                (entity, limit),
            )
        return [
            AuditEntry(datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5]))
            for r in rows
        ]
