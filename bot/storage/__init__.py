"""Storage: the only place that speaks SQL. SQLite (aiosqlite) is the embedded default."""

from bot.storage.cases import CaseStorage, ChatState, ImportRecord, ImportStatus
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
    "CaseStorage",
    "ChatState",
    "ImportRecord",
    "ImportStatus",
    "OutboxMessage",
    "SchemaTooNewError",
    "SqliteStorage",
    "Storage",
    "StorageError",
    "backup_database",
]
