"""Storage: the only place that speaks SQL. SQLite (aiosqlite) is the embedded default."""

from bot.storage.sqlite import (
    AuditEntry,
    OutboxMessage,
    SchemaTooNewError,
    SqliteStorage,
    StorageError,
    backup_database,
)

#: What the rest of the application depends on; a PostgreSQL backend will offer the same verbs.
Storage = SqliteStorage

__all__ = [
    "AuditEntry",
    "OutboxMessage",
    "SchemaTooNewError",
    "SqliteStorage",
    "Storage",
    "StorageError",
    "backup_database",
]
