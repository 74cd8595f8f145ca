"""The SQLite backend: the stores over one aiosqlite connection (:mod:`.connector`).

``SqliteStorage`` implements :class:`bot.storage.protocol.Storage` in one file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import aiosqlite

from bot.storage.errors import StorageError
from bot.storage.sqlite.connector import (
    BUSY_TIMEOUT_MS,
    SqliteConnector,
    SqliteTx,
    backup_database,
    split_statements,
)
from bot.storage.stores import SqlStorage
from bot.storage.stores.base import Migration, Tx, load_migrations, ts

__all__ = [
    "BUSY_TIMEOUT_MS",
    "Migration",
    "SqliteConnector",
    "SqliteStorage",
    "SqliteTx",
    "Tx",
    "backup_database",
    "load_migrations",
    "split_statements",
    "ts",
]


class SqliteStorage(SqlStorage):
    """The application's storage in one SQLite file. Open with :meth:`open` (or
    :func:`bot.storage.open_storage`), close with :meth:`close`."""

    _connector: SqliteConnector

    @classmethod
    async def open(cls, path: Path | str, *, now: datetime | None = None) -> Self:
        """Open (creating if needed) and migrate the database at ``path``.

        Raises :class:`SchemaTooNewError` for a database from a newer version,
        :class:`StorageUnavailableError` when it cannot be opened.
        """
        connector = await SqliteConnector.open(path)
        storage = cls(connector)
        try:
            await storage._migrate(now or datetime.now(UTC))
        except BaseException:
            await connector.close()
            raise
        return storage

    async def backup(self, dest: Path) -> None:
        """A consistent copy of the live database (SQLite's online backup API)."""
        if str(self.path) == ":memory:":
            raise StorageError("an in-memory database cannot be backed up")
        await backup_database(self.path, Path(dest))

    @property
    def path(self) -> Path:
        return self._connector.path

    @property
    def _conn(self) -> aiosqlite.Connection:
        """The aiosqlite connection (tests and benchmarks count its trips)."""
        return self._connector._conn
