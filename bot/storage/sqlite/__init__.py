"""The SQLite backend: one engine (connection, lock, transactions) and one mixin per aggregate.

``SqliteStorage`` composes them; it implements :class:`bot.storage.protocol.Storage`.
"""

from __future__ import annotations

from bot.storage.sqlite.audit import SqliteAudit
from bot.storage.sqlite.cases import SqliteCases
from bot.storage.sqlite.commitments import SqliteCommitments
from bot.storage.sqlite.digest import SqliteDigest
from bot.storage.sqlite.engine import (
    BUSY_TIMEOUT_MS,
    Engine,
    Migration,
    Tx,
    backup_database,
    load_migrations,
    split_statements,
    ts,
)
from bot.storage.sqlite.exports import SqliteExports
from bot.storage.sqlite.flows import SqliteFlows
from bot.storage.sqlite.inbox import SqliteInbox
from bot.storage.sqlite.instalments import SqliteInstalments
from bot.storage.sqlite.legal import SqliteLegal
from bot.storage.sqlite.outbox import SqliteOutbox
from bot.storage.sqlite.people import SqlitePeople
from bot.storage.sqlite.preps import SqlitePreps
from bot.storage.sqlite.queue import SqliteQueue
from bot.storage.sqlite.reminders import SqliteReminders

__all__ = [
    "BUSY_TIMEOUT_MS",
    "Engine",
    "Migration",
    "SqliteStorage",
    "Tx",
    "backup_database",
    "load_migrations",
    "split_statements",
    "ts",
]


class SqliteStorage(
    SqlitePeople,
    SqliteCases,
    SqliteQueue,
    SqlitePreps,
    SqliteCommitments,
    SqliteDigest,
    SqliteInstalments,
    SqliteReminders,
    SqliteFlows,
    SqliteInbox,
    SqliteOutbox,
    SqliteAudit,
    SqliteExports,
    SqliteLegal,
    Engine,
):
    """The application's storage in one SQLite file. Open with :meth:`open` (or
    :func:`bot.storage.open_storage`), close with :meth:`close`."""
