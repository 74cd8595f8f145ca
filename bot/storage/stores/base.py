"""The base every store builds on: a connector, its transactions, and the migrations.

:class:`Engine` holds one connector (:mod:`bot.storage.stores.connector` or
:mod:`bot.storage.postgresql.connector`) and gives the stores ``_tx()``, ``_fetchone``,
``_fetchall``, ``_execute`` and ``_run`` (a :data:`bot.storage.connector.Program`), whatever
the backend. :class:`Tx` is a transaction's statements plus what every write needs (the audit
row, the outbox, idempotency keys), written once in shared SQL.

Every write transaction holds the backend's single writer: SQLite's ``BEGIN IMMEDIATE``, and on
PostgreSQL a transaction-scoped advisory lock taken first (see the PostgreSQL connector), so a
read-then-write here is as safe with several replicas on one server as in one process on one
file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol, TypeVar

from bot.storage.connector import Done, Program, Text
from bot.storage.errors import SchemaTooNewError
from bot.storage.records import NewOutboxMessage

T = TypeVar("T")


def ts(value: datetime) -> str:
    """Store a time: aware datetimes only, always as UTC text that sorts chronologically.

    Both backends keep ISO text (``TEXT`` columns on PostgreSQL too): one format the shared SQL
    compares as strings, byte-identical after ``qingshou db copy``, and no time zone setting of
    the server can shift it."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to storage; pass an aware UTC time")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# -- migrations ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str
    #: True when the text is the backend's own override file, not the shared one.
    override: bool = False


_MIGRATION = re.compile(r"(\d{4})_(\w+?)(?:\.(sqlite|postgresql))?\.sql")


def load_migrations(dialect: str = "sqlite") -> list[Migration]:
    """The numbered migrations for ``dialect``, in order.

    ``migrations/NNNN_name.sql`` is shared; ``NNNN_name.postgresql.sql`` (or ``.sqlite.sql``)
    beside it replaces it whole on that backend, where the DDL differs (triggers, a forward
    reference, ...). Shared files are translated for PostgreSQL by
    :func:`bot.storage.postgresql.dialect.translate_ddl` (identity keys, BIGINT, BYTEA)."""
    shared: dict[int, tuple[str, str]] = {}
    own: dict[int, str] = {}
    for entry in resources.files("bot.storage").joinpath("migrations").iterdir():
        match = _MIGRATION.fullmatch(entry.name)
        if not match:
            continue
        version, name, backend = int(match[1]), match[2], match[3]
        text = entry.read_text(encoding="utf-8")
        if backend is None:
            shared[version] = (name, text)
        elif backend == dialect:
            own[version] = text
    found = [Migration(v, name, own.get(v, text), v in own) for v, (name, text) in shared.items()]
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("migrations must be numbered 0001, 0002, ... without gaps")
    if set(own) - set(shared):
        raise RuntimeError(
            f"override migrations without a shared file: {sorted(set(own) - set(shared))}"
        )
    return found


# -- transactions ----------------------------------------------------------------------------


class Tx:
    """The statements available inside a transaction (no nested BEGIN), and the writes every
    aggregate shares. A connector subclasses it with its driver's statements."""

    dialect: str = "sqlite"

    async def execute(self, sql: Text, params: Sequence[Any] = ()) -> Done:
        raise NotImplementedError

    async def executemany(self, sql: Text, params: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    async def fetchone(self, sql: Text, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    async def fetchall(self, sql: Text, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def run(self, program: Program[T]) -> T:
        """Run a program (statements with Python between them) inside this transaction."""
        raise NotImplementedError

    async def executescript_in_tx(self, script: str) -> None:
        raise NotImplementedError

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """An ``INSERT`` of one row: its new ``id`` (``RETURNING id`` on both backends)."""
        row = await self.fetchone(f"{sql} RETURNING id", params)
        return int(row[0])

    async def audit(
        self,
        now: datetime,
        actor_id: int | None,
        action: str,
        entity: str,
        entity_id: int | str | None,
        detail: dict[str, Any],
    ) -> None:
        await self.execute(
            "INSERT INTO audit (at, actor_id, action, entity, entity_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                ts(now),
                actor_id,
                action,
                entity,
                None if entity_id is None else str(entity_id),
                json.dumps(detail, ensure_ascii=False),
            ),
        )

    async def enqueue(self, message: NewOutboxMessage, *, now: datetime) -> int:
        """Queue ``message``; the row id. With a ``dedupe_key`` used before, nothing is written
        and the existing row's id is returned ("once per X" is a database rule)."""
        m = message
        row = await self.fetchone(
            "INSERT INTO outbox (user_id, chat_id, kind, template, params, not_before, "
            "created_at, media, attachment, filename, markup, dedupe_key, group_key, priority) "
            "VALUES (?1, COALESCE(?2, (SELECT telegram_id FROM users WHERE id = ?1)), "
            "'template', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
            "ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING RETURNING id",
            (
                m.user_id,
                m.chat_id,
                m.template,
                json.dumps(m.params, ensure_ascii=False),
                ts(m.not_before or now),
                ts(now),
                m.media,
                m.attachment,
                m.filename,
                None if m.markup is None else json.dumps(m.markup, ensure_ascii=False),
                m.dedupe_key,
                m.group_key,
                m.priority,
            ),
        )
        if row is not None:
            return int(row[0])
        row = await self.fetchone("SELECT id FROM outbox WHERE dedupe_key = ?", (m.dedupe_key,))
        return int(row[0])

    # -- effects (idempotency keys) ---------------------------------------------------------

    async def effect(self, key: str | None) -> dict[str, Any] | None:
        """The stored result of the write done under ``key``, or None if there was none."""
        if key is None:
            return None
        row = await self.fetchone("SELECT result FROM effects WHERE key = ?", (key,))
        return None if row is None else dict(json.loads(row[0]))

    async def record_effect(self, key: str | None, result: dict[str, Any], now: datetime) -> None:
        """Remember that the write under ``key`` was done (same transaction as the write)."""
        if key is not None:
            await self.execute(
                "INSERT INTO effects (key, result, at) VALUES (?, ?, ?)",
                (key, json.dumps(result, ensure_ascii=False), ts(now)),
            )


class Connector(Protocol):
    """One backend's connection(s): what :class:`Engine` needs of it."""

    dialect: str
    #: The database as messages name it (a file path, or a URL without its password).
    name: str

    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...
    async def fetchone(self, sql: Text, params: Sequence[Any] = ()) -> Any: ...
    async def fetchall(self, sql: Text, params: Sequence[Any] = ()) -> list[Any]: ...
    async def execute(self, sql: Text, params: Sequence[Any] = ()) -> Done: ...
    async def run(self, program: Program[T]) -> T: ...
    async def close(self) -> None: ...
    def migration_lock(self) -> AbstractAsyncContextManager[None]: ...
    async def applied_migrations(self, now: datetime) -> set[int]: ...
    async def mark_migrated(self, db: Tx, migration: Migration, now: datetime) -> None: ...
    def migration_script(self, migration: Migration) -> str: ...


class Engine:
    """The connector under every store, its transactions and the migrations.

    Built by a backend's ``open`` (``SqliteStorage.open``, ``PostgresStorage.open``); close with
    :meth:`close`."""

    def __init__(self, connector: Connector) -> None:
        self._connector = connector
        self.dialect = connector.dialect

    @property
    def name(self) -> str:
        return self._connector.name

    async def close(self) -> None:
        await self._connector.close()

    async def schema_version(self) -> int:
        """The latest migration applied (0: none)."""
        row = await self._fetchone("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        return int(row[0]) if row else 0

    async def migrations_applied(self, *, since: datetime) -> list[tuple[int, str]]:
        """The migrations applied at or after ``since`` (version, name), in order."""
        rows = await self._fetchall(
            "SELECT version, name FROM schema_migrations WHERE applied_at >= ? ORDER BY version",
            (ts(since),),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def _migrate(self, now: datetime) -> None:
        """Apply the migrations this database lacks, one process at a time (SQLite's write
        lock per migration, PostgreSQL's advisory lock for the whole run); refuse a database
        written by a newer qingshou."""
        migrations = load_migrations(self.dialect)
        latest = migrations[-1].version
        async with self._connector.migration_lock():
            applied = await self._connector.applied_migrations(now)
            newest = max(applied, default=0)
            if newest > latest:
                raise SchemaTooNewError(
                    f"database {self.name} has schema version {newest}, but this qingshou "
                    f"knows only up to {latest}: it was written by a newer version. Upgrade "
                    "qingshou, or restore a backup made by this version."
                )
            for migration in migrations:
                if migration.version in applied:
                    continue
                async with self._tx() as db:
                    # Another process (the CLI beside the bot) may have applied it meanwhile.
                    row = await db.fetchone(
                        "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
                    )
                    if row is not None:
                        continue
                    await db.executescript_in_tx(self._connector.migration_script(migration))
                    await self._connector.mark_migrated(db, migration, now)
                    await db.execute(
                        "INSERT INTO audit (at, action, entity, entity_id, detail) "
                        "VALUES (?, 'migrate', 'schema', ?, ?)",
                        (ts(now), str(migration.version), json.dumps({"name": migration.name})),
                    )

    # -- statements ------------------------------------------------------------------------

    def _tx(self) -> AbstractAsyncContextManager[Tx]:
        """A write transaction (the backend's single writer held until it ends)."""
        return self._connector.transaction()

    async def _fetchone(self, sql: Text, params: Sequence[Any] = ()) -> Any:
        return await self._connector.fetchone(sql, params)

    async def _fetchall(self, sql: Text, params: Sequence[Any] = ()) -> list[Any]:
        return await self._connector.fetchall(sql, params)

    async def _execute(self, sql: Text, params: Sequence[Any] = ()) -> Done:
        """A single statement, its own transaction."""
        return await self._connector.execute(sql, params)

    async def _insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A single ``INSERT`` of one row, its own transaction: its new ``id``."""
        row = await self._connector.fetchone(f"{sql} RETURNING id", params)
        return int(row[0])

    async def _execute_returning(self, sql: Text, params: Sequence[Any] = ()) -> list[Any]:
        """A single write with ``RETURNING``: its rows."""
        return await self._connector.fetchall(sql, params)

    async def _run(self, program: Program[T]) -> T:
        """A program outside any transaction (it may open its own with ``BEGIN IMMEDIATE``)."""
        return await self._connector.run(program)


__all__ = ["Connector", "Engine", "Migration", "Tx", "dt", "load_migrations", "ts"]
