"""Test support for the SQLite backend: look at or hold the database file from outside.

For tests of what is SQLite-specific (pragmas, migrations, backups, locking, what a migration
wrote) only; the contract suite (``tests/contract``) uses the :class:`bot.storage.Storage`
methods alone. Application code never imports this module. Driver errors are translated here
too, so a test never has to name ``sqlite3``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from bot.storage.protocol import Storage
from bot.storage.sqlite import SqliteStorage, Tx
from bot.storage.sqlite.engine import driver_errors

__all__ = ["execute_file", "held_transaction", "query_file", "rows", "uncommitted_write"]


def query_file(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read from the database file at ``path`` by a separate connection."""
    with driver_errors(path):
        conn = sqlite3.connect(path)
        try:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()


def execute_file(path: Path, sql: str) -> None:
    """Run ``sql`` (autocommit) on the database file at ``path`` (e.g. set ``user_version``)."""
    with driver_errors(path):
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute(sql)
        finally:
            conn.close()


@contextmanager
def uncommitted_write(path: Path, sql: str, params: Sequence[Any] = ()) -> Iterator[None]:
    """Another writer (a second process, say) holding a write to ``path`` uncommitted while the
    block runs; rolled back afterwards."""
    with driver_errors(path):
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN")
            conn.execute(sql, params)
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()


def _sqlite(storage: Storage) -> SqliteStorage:
    if not isinstance(storage, SqliteStorage):
        raise TypeError(f"a SQLite test helper got {type(storage).__name__}")
    return storage


async def rows(storage: Storage, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read through the storage's own connection (taking its lock)."""
    return [tuple(r) for r in await _sqlite(storage)._fetchall(sql, params)]


@asynccontextmanager
async def held_transaction(storage: Storage) -> AsyncIterator[Tx]:
    """The storage's own write transaction, held open for the block (rolled back if it
    raises): for tests of what other coroutines see meanwhile."""
    async with _sqlite(storage)._tx() as db:
        yield db
