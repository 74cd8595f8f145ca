"""The SQLite connector under every store: one aiosqlite connection, one lock, transactions.

One connection in WAL mode, foreign keys on, a busy timeout for the CLI writing beside the bot.
Writes that read before they write run in ``BEGIN IMMEDIATE`` transactions under one asyncio lock,
because coroutines share the connection and must not interleave inside a transaction; reads and
single-statement writes take the same lock. Every driver error is turned into one of
:mod:`bot.storage.errors` here, at the execute/transaction layer, so no ``sqlite3`` exception
leaves ``bot/storage``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite

from bot.storage.connector import MANY, Done, Program, Stmt, Text, drive
from bot.storage.errors import StorageError, StorageUnavailableError
from bot.storage.stores.base import Migration, Tx, load_migrations, ts

BUSY_TIMEOUT_MS = 5000

T = TypeVar("T")


async def _enter_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL, retrying while another process holds the lock.

    Changing the journal mode needs an exclusive lock, and SQLite returns SQLITE_BUSY for it
    at once, without the busy handler, when several connections open a new file together (the
    bot and the CLI started side by side). So we wait here, up to the same busy timeout.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if loop.time() + delay > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)


#: SQLite result codes that mean "the database cannot be used (now)", not "this request is wrong".
_UNAVAILABLE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_READONLY",
    "SQLITE_FULL",
    "SQLITE_NOTADB",
    "SQLITE_CORRUPT",
    "SQLITE_PERM",
    "SQLITE_PROTOCOL",
)


def translate_error(exc: sqlite3.Error, path: Path | str) -> StorageError:
    """The storage error for a driver error: unavailable (locked, I/O, not a database, ...)
    or refused (a constraint, or a statement this code should not have made)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(_UNAVAILABLE) or (
        not name and isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
    ):
        return StorageUnavailableError(f"database {path}: {exc}")
    return StorageError(f"database {path} refused: {exc}")


@contextmanager
def driver_errors(path: Path | str) -> Iterator[None]:
    """Re-raise what the driver raises as a storage error (the cause kept for the log)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate_error(exc, path) from exc


#: What one trip to the connection's thread brings back: a row, all rows, or what a write did.
_ONE, _ALL, _DONE = 1, 2, 3


def _statement(conn: sqlite3.Connection, sql: str, params: Sequence[Any], want: int) -> Any:
    """Run on aiosqlite's thread: the statement, its result and the cursor's close, in one trip
    (aiosqlite's ``execute`` + ``fetchall`` + ``close`` are three trips to the thread and back,
    most of a short query's cost on a busy event loop; issue 17)."""
    cur = conn.execute(sql, params)
    try:
        if want == _ONE:
            return cur.fetchone()
        if want == _ALL:
            return cur.fetchall()
        return Done(int(cur.lastrowid or 0), cur.rowcount)
    finally:
        cur.close()


async def _in_thread(conn: aiosqlite.Connection, sql: str, params: Sequence[Any], want: int) -> Any:
    """One statement in one trip to aiosqlite's thread. aiosqlite has no public call for it
    (``execute_fetchall`` leaves the cursor to the garbage collector and gives no rowcount), so
    this goes through its ``_execute``, the queue every public method uses; the storage
    contract tests hold it (tests/unit/test_storage.py pins the one trip)."""
    return await conn._execute(_statement, conn._conn, sql, params, want)  # type: ignore[no-untyped-call]


#: Statements a transaction runs on the event loop's thread before the rest go to aiosqlite's
#: thread: a short transaction (an update's write) costs no trips, a long one (a batch) still
#: lets the event loop run between its statements.
TX_STATEMENTS_HERE = 64


def _is_read(sql: str) -> bool:
    """A statement that only reads: it never waits for another process's write lock (WAL)."""
    return sql.lstrip()[:6].upper() == "SELECT" and "RETURNING" not in sql.upper()


def _here(conn: aiosqlite.Connection, sql: str, params: Sequence[Any], want: int) -> Any:
    """One statement on the event loop's own thread, no trip at all (issue 17: each trip to
    aiosqlite's thread and back was most of an update's storage cost: two thread switches,
    a queue, a wake-up of the loop). Only for statements that cannot wait: reads (WAL: a
    reader never waits for a writer) and statements inside a transaction, whose write lock
    ``BEGIN IMMEDIATE`` took on aiosqlite's thread. The caller holds the engine's lock, so
    aiosqlite's thread is not using the connection meanwhile."""
    return _statement(conn._conn, sql, params, want)


class SqliteConnector:
    """The connection, its lock and transactions: the SQLite backend's connector.

    Open with :meth:`open`, close with :meth:`close`.
    """

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.name = str(path)
        self._lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str) -> Self:
        """Open (creating if needed) the database file at ``path``.

        Raises :class:`StorageUnavailableError` when it cannot be opened.
        """
        path = Path(path)
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageUnavailableError(
                    f"cannot create the directory of {path}: {exc}"
                ) from exc
        with driver_errors(path):
            # Used from two threads, never at once (the connector's lock): aiosqlite's for
            # writes that may wait, the event loop's for reads and a transaction's statements.
            conn = await aiosqlite.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            with driver_errors(path):
                await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                await _enter_wal(conn)
                await conn.execute("PRAGMA foreign_keys = ON")
                await conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        with driver_errors(self.path):
            await self._conn.close()

    # -- migrations ------------------------------------------------------------------------

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[None]:
        # Each migration is its own BEGIN IMMEDIATE transaction that checks again first.
        yield

    async def applied_migrations(self, now: datetime) -> set[int]:
        """The versions in ``schema_migrations``; a database from before that table (its
        version in ``PRAGMA user_version``) gets it, filled with the versions it had."""
        # A read first: an up-to-date database opens without waiting for a writer beside it.
        if await self.fetchone(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ):
            return {int(r[0]) for r in await self.fetchall("SELECT version FROM schema_migrations")}
        async with self.transaction() as db:
            await db.execute(SCHEMA_MIGRATIONS)
            rows = await db.fetchall("SELECT version FROM schema_migrations")
            if not rows:
                row = await db.fetchone("PRAGMA user_version")
                had = int(row[0]) if row else 0
                names = {m.version: m.name for m in load_migrations("sqlite")}
                await db.executemany(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [(v, names.get(v, "?"), ts(now)) for v in range(1, had + 1)],
                )
                return set(range(1, had + 1))
        return {int(r[0]) for r in rows}

    def migration_script(self, migration: Migration) -> str:
        return migration.sql

    async def mark_migrated(self, db: Tx, migration: Migration, now: datetime) -> None:
        await db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, ts(now)),
        )
        # Kept in step, so that a qingshou from before schema_migrations still refuses a
        # database newer than itself.
        await db.execute(f"PRAGMA user_version = {int(migration.version)}")

    # -- statements ------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        async with self._lock:
            with driver_errors(self.path):
                await _in_thread(self._conn, "BEGIN IMMEDIATE", (), _DONE)
            try:
                yield SqliteTx(self._conn, self.path)
            except BaseException:
                with driver_errors(self.path):
                    await _in_thread(self._conn, "ROLLBACK", (), _DONE)
                raise
            with driver_errors(self.path):
                await _in_thread(self._conn, "COMMIT", (), _DONE)

    # Reads take the lock too: on the shared connection a read issued while another coroutine's
    # transaction is open would see its uncommitted (possibly rolled back) rows.
    # A read runs right here on the event loop's thread (no trip: see ``_here``); a write with
    # RETURNING goes to aiosqlite's thread, where waiting for another process's lock is harmless.
    async def fetchone(self, sql: Text, params: Sequence[Any] = ()) -> Any:
        if not isinstance(sql, str):
            sql = sql.sqlite
        async with self._lock:
            with driver_errors(self.path):
                if _is_read(sql):
                    return _here(self._conn, sql, params, _ONE)
                return await _in_thread(self._conn, sql, params, _ONE)

    async def fetchall(self, sql: Text, params: Sequence[Any] = ()) -> list[Any]:
        if not isinstance(sql, str):
            sql = sql.sqlite
        async with self._lock:
            with driver_errors(self.path):
                if _is_read(sql):
                    return list(_here(self._conn, sql, params, _ALL))
                return list(await _in_thread(self._conn, sql, params, _ALL))

    # A single statement is its own transaction (autocommit): one awaited call on the hot path.
    # It takes the lock, else it would run inside another coroutine's open transaction.
    async def execute(self, sql: Text, params: Sequence[Any] = ()) -> Done:
        if not isinstance(sql, str):
            sql = sql.sqlite
        async with self._lock:
            with driver_errors(self.path):
                result: Done = await _in_thread(self._conn, sql, params, _DONE)
                return result

    async def run(self, program: Program[T]) -> T:
        """``program`` on the database's thread, under the lock: one hop for all of it (it
        opens its own transaction with ``BEGIN IMMEDIATE`` where it writes)."""
        async with self._lock:
            run: Callable[..., Awaitable[T]] = self._conn._execute
            with driver_errors(self.path):
                return await run(_drive, self._conn._conn, program)


def _drive(conn: sqlite3.Connection, program: Program[T]) -> T:
    """Run ``program``'s statements on this thread, each sent its result."""

    def run(stmt: Stmt) -> Any:
        sql = stmt.sql if isinstance(stmt.sql, str) else stmt.sql.sqlite
        if stmt.want == MANY:
            conn.executemany(sql, stmt.params)
            return None
        return _statement(conn, sql, stmt.params, stmt.want)

    return drive(program, run)


#: The table of applied migrations (also created by the first run of an old database).
SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
    "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


class SqliteTx(Tx):
    """The statements available inside a transaction (no nested BEGIN)."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        #: Statements left to run on the event loop's thread (``TX_STATEMENTS_HERE``).
        self._here = TX_STATEMENTS_HERE

    async def _run(self, sql: str, params: Sequence[Any], want: int) -> Any:
        # Inside the transaction the write lock is ours already: no statement waits for another
        # process, so the short ones run here; a long transaction's later ones take the trip,
        # which lets the event loop serve others between them.
        with driver_errors(self._path):
            if self._here > 0:
                self._here -= 1
                return _here(self._conn, sql, params, want)
            return await _in_thread(self._conn, sql, params, want)

    async def execute(self, sql: Text, params: Sequence[Any] = ()) -> Done:
        result: Done = await self._run(sql if isinstance(sql, str) else sql.sqlite, params, _DONE)
        return result

    async def executemany(self, sql: Text, params: Iterable[Sequence[Any]]) -> None:
        with driver_errors(self._path):
            await self._conn.executemany(sql if isinstance(sql, str) else sql.sqlite, params)

    async def fetchone(self, sql: Text, params: Sequence[Any] = ()) -> Any:
        return await self._run(sql if isinstance(sql, str) else sql.sqlite, params, _ONE)

    async def fetchall(self, sql: Text, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._run(sql if isinstance(sql, str) else sql.sqlite, params, _ALL))

    async def run(self, program: Program[T]) -> T:
        """``program`` on the database's own thread, inside this transaction: a batch of
        statements and the Python between them in one hop, off the event loop."""
        # aiosqlite runs every call as a function on its thread; ``_execute`` is how it does so
        # for its own methods (0.17 to 0.22), and gives us the same for a whole batch.
        run: Callable[..., Awaitable[T]] = self._conn._execute
        with driver_errors(self._path):
            return await run(_drive, self._conn._conn, program)

    async def executescript_in_tx(self, script: str) -> None:
        # executescript() would COMMIT first; run statement by statement instead.
        for statement in split_statements(script):
            await self.execute(statement)


def split_statements(script: str) -> list[str]:
    """Split a migration script into complete statements (sqlite3.complete_statement)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        if not current and line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement in migration: {current.strip()[:80]}")
    return statements


async def backup_database(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` consistently, even while the bot writes (WAL included)."""

    def _copy() -> None:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailableError(f"cannot create the directory of {dest}: {exc}") from exc
        tmp = dest.with_name(dest.name + ".partial")
        tmp.unlink(missing_ok=True)
        with driver_errors(src):
            source = sqlite3.connect(src.resolve().as_uri() + "?mode=ro", uri=True)
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        tmp.replace(dest)

    await asyncio.to_thread(_copy)
