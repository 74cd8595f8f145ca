"""Storage: the only place that speaks SQL, behind one interface.

The application depends on :class:`Storage` (a ``Protocol``, :mod:`bot.storage.protocol`) and
opens it with :func:`open_storage` from a URL: SQLite (aiosqlite) is the embedded default, a
``postgresql://`` URL selects PostgreSQL (psycopg 3); both are the same stores
(:mod:`bot.storage.stores`) over a connector per backend. Errors are :mod:`bot.storage.errors`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.domain.commitments import (
    Achieved,
    Approval,
    ApprovalReason,
    ApprovalStatus,
    Channel,
    Commitment,
    CommitmentStatus,
    Instalment,
    InstalmentStatus,
    Meeting,
    NewCommitment,
    NewInstalment,
    NewMeeting,
    NewPayment,
)
from bot.storage.errors import (
    FlowConflictError,
    SchemaTooNewError,
    StorageError,
    StorageUnavailableError,
    UnknownStorageURLError,
)
from bot.storage.protocol import (
    APPROVAL_ID,
    COMMITMENT_ID,
    AuditStore,
    CaseStore,
    CommitmentStore,
    FlowStore,
    InboxStore,
    OutboxCall,
    OutboxStore,
    PeopleStore,
    PrepStore,
    ReplicaStore,
    Storage,
)
from bot.storage.records import (
    KEPT_UNTIL,
    AuditEntry,
    FlowState,
    FlowStatus,
    HeldFile,
    ImportRecord,
    ImportStatus,
    InboxItem,
    InboxUpdate,
    NewOutboxMessage,
    OutboxMessage,
    ReplicaRecord,
    SendTurn,
    StepDue,
)
from bot.storage.sqlite import SqliteStorage, backup_database

URL_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, a plain file path, "
    "or postgresql://user:password@host:5432/dbname"
)
#: The schemes of the PostgreSQL backend (libpq's two spellings).
PG_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return url.partition("://")[0].lower() in PG_SCHEMES and "://" in url


def storage_path(url: str) -> Path:
    """The SQLite file a storage URL names (``sqlite:///rel``, ``sqlite:////abs``, or a bare
    path); :class:`UnknownStorageURLError` for any other scheme."""
    if "://" not in url:
        if not url.strip():
            raise UnknownStorageURLError(f"empty storage URL: use {URL_FORMS}")
        return Path(url)
    scheme, _, rest = url.partition("://")
    if scheme.lower() in PG_SCHEMES:
        raise UnknownStorageURLError(f"storage URL {url!r} is a PostgreSQL URL, not a SQLite file")
    if scheme.lower() != "sqlite":
        raise UnknownStorageURLError(
            f"storage URL {url!r}: no backend for {scheme!r}:// (use {URL_FORMS})"
        )
    if not rest.startswith("/") or len(rest) < 2:
        raise UnknownStorageURLError(
            f"storage URL {url!r}: a SQLite URL has three slashes before the path ({URL_FORMS})"
        )
    return Path(rest[1:])


async def open_storage(url: str, *, now: datetime) -> Storage:
    """Open (creating and migrating if needed) the storage at ``url``.

    Raises :class:`UnknownStorageURLError` for a URL no backend serves,
    :class:`SchemaTooNewError` for a database written by a newer qingshou and
    :class:`StorageUnavailableError` for one that cannot be opened.
    """
    if is_postgres_url(url):
        from bot.storage.postgresql import PostgresStorage

        return await PostgresStorage.open(url, now=now)
    return await SqliteStorage.open(storage_path(url), now=now)


__all__ = [
    "APPROVAL_ID",
    "COMMITMENT_ID",
    "KEPT_UNTIL",
    "URL_FORMS",
    "Achieved",
    "Approval",
    "ApprovalReason",
    "ApprovalStatus",
    "AuditEntry",
    "AuditStore",
    "CaseStore",
    "Channel",
    "Commitment",
    "CommitmentStatus",
    "CommitmentStore",
    "FlowConflictError",
    "FlowState",
    "FlowStatus",
    "FlowStore",
    "HeldFile",
    "ImportRecord",
    "ImportStatus",
    "InboxItem",
    "InboxStore",
    "InboxUpdate",
    "Instalment",
    "InstalmentStatus",
    "Meeting",
    "NewCommitment",
    "NewInstalment",
    "NewMeeting",
    "NewOutboxMessage",
    "NewPayment",
    "OutboxCall",
    "OutboxMessage",
    "OutboxStore",
    "PeopleStore",
    "PrepStore",
    "ReplicaRecord",
    "ReplicaStore",
    "SchemaTooNewError",
    "SendTurn",
    "SqliteStorage",
    "StepDue",
    "Storage",
    "StorageError",
    "StorageUnavailableError",
    "UnknownStorageURLError",
    "backup_database",
    "is_postgres_url",
    "open_storage",
    "storage_path",
]
