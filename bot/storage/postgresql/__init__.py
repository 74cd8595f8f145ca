"""The PostgreSQL backend: the same stores over a psycopg pool (:mod:`.connector`).

``PostgresStorage`` implements :class:`bot.storage.protocol.Storage` on a server the operator
already runs and backs up, for several bot processes at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from bot.storage.errors import StorageError
from bot.storage.postgresql.connector import PgConnector, PgTx, safe_url
from bot.storage.stores import SqlStorage

__all__ = ["BACKUP_HELP", "PgConnector", "PgTx", "PostgresStorage", "safe_url"]

BACKUP_HELP = (
    "qingshou backs up a SQLite file itself; a PostgreSQL database is backed up by the "
    "server's own tools, consistent while the bot runs:\n"
    "  pg_dump --format=custom --file=qingshou-$(date +%F).dump '{url}'\n"
    "and restored into an empty database with\n"
    "  pg_restore --no-owner --dbname='postgresql://.../qingshou_restored' qingshou-DATE.dump\n"
    "(or use the server's continuous archiving). `qingshou db copy` moves a cooperative "
    "between SQLite and PostgreSQL."
)


class PostgresStorage(SqlStorage):
    """The application's storage in one PostgreSQL database. Open with :meth:`open` (or
    :func:`bot.storage.open_storage`), close with :meth:`close`."""

    _connector: PgConnector

    @classmethod
    async def open(cls, url: str, *, now: datetime | None = None) -> Self:
        """Connect to and migrate the database at ``url`` (one process migrates at a time).

        Raises :class:`SchemaTooNewError` for a database from a newer version,
        :class:`StorageUnavailableError` when the server cannot be reached.
        """
        connector = await PgConnector.open(url)
        storage = cls(connector)
        try:
            await storage._migrate(now or datetime.now(UTC))
        except BaseException:
            await connector.close()
            raise
        return storage

    async def backup(self, dest: Path) -> None:
        """Refused with what to do instead: a server database is dumped by ``pg_dump``."""
        raise StorageError(BACKUP_HELP.format(url=self._connector.name))
