"""The PostgreSQL connector: psycopg 3 (async) over a psycopg_pool connection pool.

Why psycopg 3 and not asyncpg: the shared SQL is SQLite's dialect with dynamically typed
parameters (``?1 IS NULL``, ISO text compared with text, ``COALESCE(?2, ...)``). psycopg's
client-side binding (:class:`psycopg.AsyncClientCursor`) sends them as literals PostgreSQL types
from their context, as SQLite does; asyncpg binds server-side only and refuses an untyped
``NULL`` parameter (``could not determine data type of parameter $1``), which would mean a
cast in every such statement. psycopg also runs a migration file of several statements in one
``execute``, has a maintained pool (``psycopg_pool``) and a synchronous API for the CLI.
Each statement's text is translated once (:mod:`bot.storage.postgresql.dialect`, cached).

Concurrency: every write transaction takes one transaction-scoped advisory lock first
(:data:`WRITER_LOCK`): PostgreSQL's writers queue as SQLite's do behind ``BEGIN IMMEDIATE``,
across every replica, so each read-then-write of the stores (an approval's compare-and-set, a
flow's version, "is this dedupe key used") holds exactly as proved on SQLite. Reads outside a
transaction take no lock (READ COMMITTED: a reader never waits). Claims (outbox, reminders) are
single statements under the same lock and also carry unique keys (dedupe keys, one reminder
per instalment and kind), so a repeat is a no-op. Migrations run under a session advisory
lock (:data:`MIGRATION_LOCK`): one process at a time applies them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, Self, TypeVar

import psycopg
import psycopg_pool
from psycopg.adapt import Dumper, Loader

from bot.storage.connector import ALL, DONE, MANY, ONE, Done, Program, Stmt, Text
from bot.storage.errors import StorageError, StorageUnavailableError
from bot.storage.postgresql.dialect import bind, translate, translate_ddl
from bot.storage.stores.base import Migration, Tx, ts

T = TypeVar("T")

#: pg_advisory_xact_lock key every write transaction takes first ('qingshou' in ASCII).
WRITER_LOCK = 0x71696E6773686F75
#: pg_advisory_lock key held while migrations are applied.
MIGRATION_LOCK = WRITER_LOCK + 1
#: Connections per process (the bot's handlers, the outbox sender, the clock jobs).
POOL_SIZE = 8
#: Seconds to wait for a connection from the pool (or to open the first).
CONNECT_TIMEOUT = 10.0

#: What SQLite has and the shared SQL uses, made once per database (idempotent): ``SUM`` of a
#: comparison (SQLite's booleans are 0/1 integers), e.g. ``SUM(i.status = 'kept')``.
COMPAT_SQL = """
CREATE OR REPLACE FUNCTION qingshou_bool_add(bigint, boolean) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS 'SELECT COALESCE($1, 0) + CASE WHEN $2 THEN 1 ELSE 0 END';
CREATE OR REPLACE AGGREGATE sum(boolean) (SFUNC = qingshou_bool_add, STYPE = bigint);
"""

SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
    "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def safe_url(url: str) -> str:
    """``url`` as messages show it: without its password."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


@contextmanager
def driver_errors(name: str) -> Iterator[None]:
    """Re-raise what psycopg raises as a storage error (the cause kept for the log)."""
    try:
        yield
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        raise StorageUnavailableError(f"database {name}: {exc}") from exc
    except psycopg.Error as exc:
        raise StorageError(f"database {name} refused: {exc}") from exc


class _NumberLoader(Loader):
    """``numeric`` as SQLite gives it: an int when whole (``SUM`` of a BIGINT column is a
    numeric on PostgreSQL), else a float."""

    def load(self, data: Any) -> int | float:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


class _BoolAsInt(Dumper):
    """Python's ``True``/``False`` into the 0/1 integer columns, as sqlite3 stores them."""

    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"

    def quote(self, obj: Any) -> bytes:
        return self.dump(obj)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_loader("numeric", _NumberLoader)
    conn.adapters.register_dumper(bool, _BoolAsInt)


def _text(sql: Text) -> str:
    return sql if isinstance(sql, str) else sql.postgresql


def _is_read(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return (
        head in ("SELECT", "WITH")
        and "RETURNING" not in sql.upper()
        and (head == "SELECT" or not re.search(r"\b(INSERT|UPDATE|DELETE)\b", sql, re.I))
    )


async def _statement(conn: psycopg.AsyncConnection[Any], sql: Text, params: Any, want: int) -> Any:
    query, named = translate(_text(sql))
    cur = conn.cursor()
    try:
        if want == MANY:
            await cur.executemany(query, [bind(p, named) for p in params])
            return None
        await cur.execute(query, bind(params, named))
        if want == ONE:
            return await cur.fetchone()
        if want == ALL:
            return await cur.fetchall()
        return Done(0, cur.rowcount)
    finally:
        await cur.close()


#: Opens a write transaction: BEGIN and the writer lock in one round trip.
BEGIN_WRITE = f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})".encode()


async def _lock_writer(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})".encode())


async def _single_write(
    conn: psycopg.AsyncConnection[Any], sql: Text, params: Any, want: int
) -> Any:
    """One write statement behind the writer lock in one round trip: the lock and the
    statement sent together run as one implicit transaction (the simple query protocol),
    and the lock goes with its end."""
    query, named = translate(_text(sql))
    cur = conn.cursor()
    try:
        await cur.execute(
            f"SELECT pg_advisory_xact_lock({WRITER_LOCK}); {query}", bind(params, named)
        )
        cur.nextset()
        if want == ONE:
            return await cur.fetchone()
        if want == ALL:
            return await cur.fetchall()
        return Done(0, cur.rowcount)
    finally:
        await cur.close()


async def _drive(conn: psycopg.AsyncConnection[Any], program: Program[T], *, in_tx: bool) -> T:
    """Run ``program`` statement by statement on ``conn``. Outside a transaction, its own
    ``BEGIN IMMEDIATE`` / ``COMMIT`` / ``ROLLBACK`` open and end one (the writer lock taken)."""
    opened = False

    async def run(stmt: Stmt) -> Any:
        nonlocal opened
        text = _text(stmt.sql).strip().upper()
        if not in_tx and text in ("BEGIN IMMEDIATE", "BEGIN", "COMMIT", "ROLLBACK"):
            if text.startswith("BEGIN"):
                await conn.execute(BEGIN_WRITE)
                opened = True
            else:
                opened = False
                await conn.execute(text)
            return Done(0, 0)
        return await _statement(conn, stmt.sql, stmt.params, stmt.want)

    try:
        try:
            stmt = next(program)
            while True:
                try:
                    result = await run(stmt)
                except BaseException as exc:
                    stmt = program.throw(exc)
                    continue
                stmt = program.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value
    finally:
        if opened:
            await conn.execute("ROLLBACK")


class PgTx(Tx):
    """The statements of one transaction on one pooled connection."""

    dialect = "postgresql"

    def __init__(self, conn: psycopg.AsyncConnection[Any], name: str) -> None:
        self._conn = conn
        self._name = name

    async def execute(self, sql: Text, params: Sequence[Any] = ()) -> Done:
        with driver_errors(self._name):
            result: Done = await _statement(self._conn, sql, params, DONE)
            return result

    async def executemany(self, sql: Text, params: Iterable[Sequence[Any]]) -> None:
        rows = list(params)
        if rows:
            with driver_errors(self._name):
                await _statement(self._conn, sql, rows, MANY)

    async def fetchone(self, sql: Text, params: Sequence[Any] = ()) -> Any:
        with driver_errors(self._name):
            return await _statement(self._conn, sql, params, ONE)

    async def fetchall(self, sql: Text, params: Sequence[Any] = ()) -> list[Any]:
        with driver_errors(self._name):
            return list(await _statement(self._conn, sql, params, ALL))

    async def run(self, program: Program[T]) -> T:
        with driver_errors(self._name):
            return await _drive(self._conn, program, in_tx=True)

    async def executescript_in_tx(self, script: str) -> None:
        with driver_errors(self._name):
            # No parameters: psycopg sends the script as it is, several statements at once.
            await self._conn.execute(script.encode())


class PgConnector:
    """A pool of connections to one PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, pool: psycopg_pool.AsyncConnectionPool[Any], url: str) -> None:
        self._pool = pool
        self.url = url
        self.name = safe_url(url)

    @classmethod
    async def open(cls, url: str, *, pool_size: int = POOL_SIZE) -> Self:
        """Connect to the database at ``url`` (a ``postgresql://`` URL or libpq conninfo).

        Raises :class:`StorageUnavailableError` when the server cannot be reached in time."""
        # One plain connection first: a wrong URL, password or database is refused at once
        # with the server's own words (the pool would retry quietly until its time-out).
        with driver_errors(safe_url(url)):
            probe = await psycopg.AsyncConnection.connect(url, connect_timeout=int(CONNECT_TIMEOUT))
            await probe.close()
        pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=CONNECT_TIMEOUT,
            kwargs={"autocommit": True, "cursor_factory": psycopg.AsyncClientCursor},
            configure=_configure,
            name="qingshou",
        )
        with driver_errors(safe_url(url)):
            try:
                await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
            except BaseException:
                await pool.close()
                raise
        return cls(pool, url)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection of its own (autocommit), for what spans transactions."""
        with driver_errors(self.name):
            async with self._pool.connection() as conn:
                yield conn

    # -- migrations ------------------------------------------------------------------------

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[None]:
        async with self.connection() as conn:
            with driver_errors(self.name):
                await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                yield
            finally:
                with driver_errors(self.name):
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    async def applied_migrations(self, now: datetime) -> set[int]:
        async with self.transaction() as db:
            await db.execute(SCHEMA_MIGRATIONS)
            await db.executescript_in_tx(COMPAT_SQL)
            rows = await db.fetchall("SELECT version FROM schema_migrations")
        return {int(r[0]) for r in rows}

    def migration_script(self, migration: Migration) -> str:
        return migration.sql if migration.override else translate_ddl(migration.sql)

    async def mark_migrated(self, db: Tx, migration: Migration, now: datetime) -> None:
        await db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, ts(now)),
        )

    # -- statements ------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTx]:
        with driver_errors(self.name):
            async with self._pool.connection() as conn:
                await conn.execute(BEGIN_WRITE)
                try:
                    yield PgTx(conn, self.name)
                except BaseException:
                    await conn.execute(b"ROLLBACK")
                    raise
                await conn.execute(b"COMMIT")

    async def _read(self, sql: Text, params: Sequence[Any], want: int) -> Any:
        with driver_errors(self.name):
            async with self._pool.connection() as conn:
                return await _statement(conn, sql, params, want)

    async def _write(self, sql: Text, params: Sequence[Any], want: int) -> Any:
        with driver_errors(self.name):
            async with self._pool.connection() as conn:
                return await _single_write(conn, sql, params, want)

    async def fetchone(self, sql: Text, params: Sequence[Any] = ()) -> Any:
        if _is_read(_text(sql)):
            return await self._read(sql, params, ONE)
        return await self._write(sql, params, ONE)

    async def fetchall(self, sql: Text, params: Sequence[Any] = ()) -> list[Any]:
        if _is_read(_text(sql)):
            return list(await self._read(sql, params, ALL))
        return list(await self._write(sql, params, ALL))

    async def execute(self, sql: Text, params: Sequence[Any] = ()) -> Done:
        # A single write is its own transaction, behind the writer lock like every write.
        result: Done = await self._write(sql, params, DONE)
        return result

    async def run(self, program: Program[T]) -> T:
        async with self.connection() as conn:
            with driver_errors(self.name):
                return await _drive(conn, program, in_tx=False)


__all__ = ["MIGRATION_LOCK", "WRITER_LOCK", "PgConnector", "PgTx", "driver_errors", "safe_url"]
