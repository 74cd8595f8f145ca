"""The audit trail, installation facts (meta) and backups."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from bot.storage.errors import StorageError
from bot.storage.records import AuditEntry
from bot.storage.sqlite.engine import Engine, backup_database


class SqliteAudit(Engine):
    """Who changed what (read side), small facts about this installation, backups."""

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

    # -- backup ----------------------------------------------------------------------------

    async def backup(self, dest: Path) -> None:
        """A consistent copy of the live database (SQLite's online backup API)."""
        if str(self.path) == ":memory:":
            raise StorageError("an in-memory database cannot be backed up")
        await backup_database(self.path, Path(dest))
