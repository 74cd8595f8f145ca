"""``qingshou db copy``: move a cooperative between backends (SQLite to PostgreSQL and back).

Both databases are opened (and so migrated) to this qingshou's schema; the target must be
empty (nothing but the migrations' own audit rows). Every table is copied row for row with its
ids, in an order that satisfies the foreign keys (a reference that goes forward, a
commitment's approval, is filled in afterwards), in batches; the derived queue counts are
copied last over what the triggers counted meanwhile, the identity sequences on PostgreSQL set
past the copied ids, and the row counts of every table compared at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.errors import StorageError
from bot.storage.stores import SqlStorage

#: Tables in an order their foreign keys allow. A table a later migration adds and this list
#: does not name is copied after these (add it here where its references need it earlier).
COPY_ORDER = (
    "teams",
    "users",
    "invites",
    "audit",
    "meta",
    "imports",
    "cases",
    "case_parties",
    "case_notes",
    "case_leads",
    "flows",
    "effects",
    "inbox",
    "outbox",
    "preps",
    "meetings",
    "commitments",
    "instalments",
    "payments",
    "approvals",
    "reminders",
    "digest_runs",
    "user_settings",
    "held_files",
    "queue_counts",
)
#: Columns that reference a table copied later: written NULL, then set once it is there.
DEFERRED = {"commitments": ("approval_id",)}
#: Not copied: each database keeps its own record of the migrations applied to it.
SKIPPED = ("schema_migrations",)
BATCH = 2000
#: The key a table is read in order of, where its first column is not one alone.
ORDER_KEYS = {"queue_counts": "team_id, lead_id"}


@dataclass(frozen=True, slots=True)
class TableCopied:
    table: str
    source_rows: int
    target_rows: int


async def tables(storage: SqlStorage) -> list[str]:
    if storage.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        sql = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    return sorted(str(r[0]) for r in await storage._fetchall(sql))


async def columns(storage: SqlStorage, table: str) -> list[str]:
    if storage.dialect == "sqlite":
        return [str(r[1]) for r in await storage._fetchall(f"PRAGMA table_info({table})")]
    rows = await storage._fetchall(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        (table,),
    )
    return [str(r[0]) for r in rows]


async def _count(storage: SqlStorage, table: str) -> int:
    row = await storage._fetchone(f"SELECT COUNT(*) FROM {table}")
    return int(row[0])


async def refuse_non_empty(target: SqlStorage) -> None:
    """Refuse a target holding anything but what its migrations wrote."""
    for table in await tables(target):
        if table in SKIPPED:
            continue
        if table == "audit":
            n = int(
                (await target._fetchone("SELECT COUNT(*) FROM audit WHERE action <> 'migrate'"))[0]
            )
        else:
            n = await _count(target, table)
        if n:
            raise StorageError(
                f"the target {target.name} is not empty ({table}: {n} rows); copy only into "
                "a new database"
            )


async def copy_database(
    source: SqlStorage,
    target: SqlStorage,
    *,
    now: datetime,
    progress: Callable[[str, int], None] | None = None,
) -> list[TableCopied]:
    """Copy every row of ``source`` into the empty ``target``; the per-table row counts."""
    await refuse_non_empty(target)
    have = set(await tables(source)) - set(SKIPPED)
    order = [t for t in COPY_ORDER if t in have] + sorted(have - set(COPY_ORDER))
    missing = have - set(await tables(target))
    if missing:
        raise StorageError(f"the target has no table {', '.join(sorted(missing))}")
    # Read before the target's transaction: on SQLite a read waits for the connection's lock.
    shared: dict[str, list[str]] = {}
    for table in order:
        theirs = set(await columns(target, table))
        shared[table] = [c for c in await columns(source, table) if c in theirs]
    afterwards: list[tuple[str, list[tuple[Any, ...]]]] = []
    async with target._tx() as db:
        # The target's migration rows go; the source's own history comes with its audit.
        await db.execute("DELETE FROM audit")
        for table in order:
            names = shared[table]
            deferred = [c for c in DEFERRED.get(table, ()) if c in names]
            if table == "queue_counts":
                # Derived, kept by triggers that fired as the cases came: the source's own.
                await db.execute("DELETE FROM queue_counts")
            cols = ", ".join(names)
            marks = ", ".join("?" for _ in names)
            order_by = ORDER_KEYS.get(table, names[0])
            offset = 0
            while True:
                rows = await source._fetchall(
                    f"SELECT {cols} FROM {table} ORDER BY {order_by} LIMIT ? OFFSET ?",
                    (BATCH, offset),
                )
                if not rows:
                    break
                values = [_without(r, names, deferred) for r in rows]
                await db.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)
                if deferred:
                    sets = ", ".join(f"{c} = ?" for c in deferred)
                    key = names[0]
                    later = [
                        (*(r[names.index(c)] for c in deferred), r[0])
                        for r in rows
                        if any(r[names.index(c)] is not None for c in deferred)
                    ]
                    if later:
                        afterwards.append((f"UPDATE {table} SET {sets} WHERE {key} = ?", later))
                offset += len(rows)
                if progress is not None:
                    progress(table, offset)
        for sql, values in afterwards:
            await db.executemany(sql, values)
        if target.dialect == "postgresql":
            await _reset_identities(db)
    copied = [TableCopied(t, await _count(source, t), await _count(target, t)) for t in order]
    wrong = [c for c in copied if c.source_rows != c.target_rows]
    if wrong:
        raise StorageError(
            "row counts differ after the copy: "
            + ", ".join(f"{c.table} {c.source_rows} vs {c.target_rows}" for c in wrong)
        )
    await target.set_meta("copied_from", f"{source.name} at {now.isoformat()}")
    return copied


def _without(row: Any, names: list[str], deferred: list[str]) -> tuple[Any, ...]:
    if not deferred:
        return tuple(row)
    return tuple(None if n in deferred else v for n, v in zip(names, row, strict=True))


async def _reset_identities(db: Any) -> None:
    rows = await db.fetchall(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    for table, column in rows:
        await db.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
        )
