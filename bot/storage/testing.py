"""Test and benchmark support for the SQLite backend: the database file from outside.

For tests of what is SQLite-specific (pragmas, migrations, backups, locking, what a migration
wrote), and for seeding by SQL what no storage method writes or what would take too long
through them (``tests/e2e`` rows, ``bench/`` databases of a million rows:
:func:`connect_file`). The contract suite (``tests/contract``) uses the
:class:`bot.storage.Storage` methods alone; application code never imports this module.
Driver errors are translated here too, so neither tests nor benchmarks ever name ``sqlite3``
(``tests/unit/test_layering.py`` keeps the driver inside ``bot/storage``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeAlias

from bot.storage.protocol import Storage
from bot.storage.sqlite import Tx
from bot.storage.sqlite.connector import driver_errors
from bot.storage.stores import SqlStorage

__all__ = [
    "Connection",
    "connect_file",
    "execute_file",
    "held_transaction",
    "query_file",
    "rows",
    "uncommitted_write",
]

#: The plain DB-API connection :func:`connect_file` yields (for a caller's annotations).
Connection: TypeAlias = sqlite3.Connection


@contextmanager
def connect_file(path: Path | str, *, autocommit: bool = False) -> Iterator[Connection]:
    """A plain DB-API connection of its own to the database file at ``path``, for seeding by
    SQL (``execute``, ``executemany``, recursive CTEs: as fast as the driver goes).

    ``autocommit=False`` is the driver's default: a (deferred) transaction is opened before
    the first write. ``autocommit=True``: each statement stands alone unless the caller opens one
    (``BEGIN IMMEDIATE`` ... ``COMMIT``). Either way, what is still open when the block ends
    is committed, or rolled back if the block raises; the connection is then closed. It is a
    fresh connection: no pragmas are set (foreign keys are off, as SQLite starts them; the
    busy timeout is the driver's 5 s). Driver errors, in the block too, are translated.
    """
    with driver_errors(path):
        conn = sqlite3.connect(path, isolation_level=None if autocommit else "DEFERRED")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            conn.close()


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


def _sql(storage: Storage) -> SqlStorage:
    if not isinstance(storage, SqlStorage):
        raise TypeError(f"a storage test helper got {type(storage).__name__}")
    return storage


async def rows(storage: Storage, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read through the storage's own connection(s) (SQLite: taking its lock;
    any backend: the shared SQL's dialect)."""
    return [tuple(r) for r in await _sql(storage)._fetchall(sql, params)]


@asynccontextmanager
async def held_transaction(storage: Storage) -> AsyncIterator[Tx]:
    """The storage's own write transaction, held open for the block (rolled back if it
    raises): for tests of what other coroutines (or replicas) see meanwhile."""
    async with _sql(storage)._tx() as db:
        yield db
