"""The storage's own errors: callers never see a driver's exception (sqlite3, aiosqlite, ...).

Every backend turns what its driver raises into one of these at its execute/transaction layer,
so the CLI, the handlers and the tests catch the same types whatever database is behind them.
"""

from __future__ import annotations


class StorageError(RuntimeError):
    """A request the storage refuses: it contradicts what is stored (unknown team, a broken
    constraint, ...), or the database cannot be used. The base of every storage error."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer qingshou; refusing beats corrupting it."""


class FlowConflictError(StorageError):
    """Another flow is already open for this person (at most one 'open' flow each)."""


class StorageUnavailableError(StorageError):
    """The database cannot be used right now or at all: locked beyond the busy timeout, an
    I/O error, a file that is not a database, a directory that cannot be created."""


class UnknownStorageURLError(StorageError):
    """:func:`bot.storage.open_storage` got a URL whose scheme no backend serves."""


__all__ = [
    "FlowConflictError",
    "SchemaTooNewError",
    "StorageError",
    "StorageUnavailableError",
    "UnknownStorageURLError",
]
