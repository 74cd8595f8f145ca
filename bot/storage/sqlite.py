"""SQLite storage through aiosqlite. All SQL of the application lives in this package.

One connection in WAL mode, foreign keys on, a busy timeout for the CLI writing beside the bot.
Writes that read before they write run in ``BEGIN IMMEDIATE`` transactions under one asyncio lock,
because coroutines share the connection and must not interleave inside a transaction. Methods are
verbs and return dataclasses, never rows.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.domain.people import (
    DEFAULT_INVITE_TTL,
    Invite,
    InviteProblem,
    Role,
    Team,
    User,
    invite_problem,
    new_invite_code,
)
from bot.storage.cases import CaseStorage

BUSY_TIMEOUT_MS = 5000


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer qingshou; refusing beats corrupting it."""


class StorageError(RuntimeError):
    """A request that contradicts what is stored (unknown team, ...)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor_id: int | None
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message waiting to be sent to ``user_id`` (rendered at send time in their language)."""

    id: int
    user_id: int
    telegram_id: int
    locale: str | None
    template: str
    params: dict[str, Any]
    not_before: datetime
    attempts: int


def ts(value: datetime) -> str:
    """Store a time: aware datetimes only, always as UTC text that sorts chronologically."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to storage; pass an aware UTC time")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def load_migrations() -> list[Migration]:
    """The numbered ``migrations/NNNN_name.sql`` files, in order."""
    found = []
    for entry in resources.files("bot.storage").joinpath("migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("migrations must be numbered 0001, 0002, ... without gaps")
    return found


_USER_COLUMNS = """
    u.id, u.telegram_id, u.name, u.username, u.role, u.team_id, t.name, u.locale,
    u.telegram_locale, u.active, u.blocked_at, u.created_at, u.staff_name
"""
_USER_FROM = "users u LEFT JOIN teams t ON t.id = u.team_id"
#: Admins, then supervisors, then collectors: the order a list of people reads in.
_ROLE_ORDER = "CASE u.role WHEN 'admin' THEN 0 WHEN 'supervisor' THEN 1 ELSE 2 END"

_INVITE_SELECT = """
    SELECT i.code, i.role, i.team_id, t.name, i.created_by, i.created_at, i.expires_at,
           i.used_by, i.used_at, i.staff_name
    FROM invites i LEFT JOIN teams t ON t.id = i.team_id
"""


def _user(row: Sequence[Any]) -> User:
    return User(
        id=row[0],
        telegram_id=row[1],
        name=row[2],
        username=row[3],
        role=Role(row[4]),
        team_id=row[5],
        team_name=row[6],
        locale=row[7],
        telegram_locale=row[8],
        active=bool(row[9]),
        blocked_at=_dt(row[10]),
        created_at=datetime.fromisoformat(row[11]),
        staff_name=row[12],
    )


def _invite(row: Sequence[Any]) -> Invite:
    return Invite(
        code=row[0],
        role=Role(row[1]),
        team_id=row[2],
        team_name=row[3],
        created_by=row[4],
        created_at=datetime.fromisoformat(row[5]),
        expires_at=datetime.fromisoformat(row[6]),
        used_by=row[7],
        used_at=_dt(row[8]),
        staff_name=row[9],
    )


class SqliteStorage(CaseStorage):
    """The application's storage. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str, *, now: datetime | None = None) -> SqliteStorage:
        """Open (creating if needed) and migrate the database at ``path``.

        Raises :class:`SchemaTooNewError` for a database from a newer version.
        """
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA synchronous = NORMAL")
            storage = cls(conn, path)
            await storage._migrate(now or datetime.now(UTC))
        except BaseException:
            await conn.close()
            raise
        return storage

    async def close(self) -> None:
        await self._conn.close()

    async def schema_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self, now: datetime) -> None:
        migrations = load_migrations()
        latest = migrations[-1].version
        current = await self.schema_version()
        if current > latest:
            raise SchemaTooNewError(
                f"database {self.path} has schema version {current}, but this qingshou knows "
                f"only up to {latest}: it was written by a newer version. Upgrade qingshou, or "
                "restore a backup made by this version."
            )
        for migration in migrations[current:]:
            async with self._tx() as db:
                # Another process (the CLI beside the bot) may have applied it meanwhile.
                row = await db.fetchone("PRAGMA user_version")
                if row is not None and int(row[0]) >= migration.version:
                    continue
                await db.executescript_in_tx(migration.sql)
                await db.execute(f"PRAGMA user_version = {migration.version}")
                await db.execute(
                    "INSERT INTO audit (at, action, entity, entity_id, detail) "
                    "VALUES (?, 'migrate', 'schema', ?, ?)",
                    (ts(now), str(migration.version), json.dumps({"name": migration.name})),
                )

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[_Tx]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Tx(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    # Reads take the lock too: on the shared connection a read issued while another coroutine's
    # transaction is open would see its uncommitted (possibly rolled back) rows.
    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        async with self._lock, self._conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> Iterable[Any]:
        async with self._lock, self._conn.execute(sql, params) as cur:
            return await cur.fetchall()

    # -- meta ------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        row = await self._fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- teams -----------------------------------------------------------------------------

    async def ensure_team(self, name: str, *, now: datetime, actor_id: int | None = None) -> Team:
        """The team called ``name``, created (and audited) if it does not exist yet."""
        name = name.strip()
        if not name:
            raise StorageError("a team needs a name")
        async with self._tx() as db:
            row = await db.fetchone("SELECT id, name FROM teams WHERE name = ?", (name,))
            if row:
                return Team(row[0], row[1])
            cur = await db.execute(
                "INSERT INTO teams (name, created_at) VALUES (?, ?)", (name, ts(now))
            )
            team = Team(int(cur.lastrowid or 0), name)
            await db.audit(now, actor_id, "create", "team", team.id, {"name": name})
            return team

    async def find_team(self, name: str) -> Team | None:
        row = await self._fetchone("SELECT id, name FROM teams WHERE name = ?", (name.strip(),))
        return None if row is None else Team(row[0], row[1])

    async def get_team(self, team_id: int) -> Team | None:
        row = await self._fetchone("SELECT id, name FROM teams WHERE id = ?", (team_id,))
        return None if row is None else Team(row[0], row[1])

    async def list_teams(self) -> list[Team]:
        rows = await self._fetchall("SELECT id, name FROM teams ORDER BY name")
        return [Team(r[0], r[1]) for r in rows]

    # -- users -----------------------------------------------------------------------------

    async def get_user_by_telegram_id(self, telegram_id: int) -> User | None:
        row = await self._fetchone(
            f"SELECT {_USER_COLUMNS} FROM {_USER_FROM} WHERE u.telegram_id = ?", (telegram_id,)
        )
        return None if row is None else _user(row)

    async def get_user(self, user_id: int) -> User | None:
        row = await self._fetchone(
            f"SELECT {_USER_COLUMNS} FROM {_USER_FROM} WHERE u.id = ?", (user_id,)
        )
        return None if row is None else _user(row)

    async def list_users(self, *, team_id: int | None = None) -> list[User]:
        """Everyone (admins' view), or one team's members (a supervisor's view)."""
        if team_id is None:
            rows = await self._fetchall(
                f"SELECT {_USER_COLUMNS} FROM {_USER_FROM} ORDER BY {_ROLE_ORDER}, u.name, u.id"
            )
        else:
            rows = await self._fetchall(
                f"SELECT {_USER_COLUMNS} FROM {_USER_FROM} WHERE u.team_id = ? "
                f"ORDER BY {_ROLE_ORDER}, u.name, u.id",
                (team_id,),
            )
        return [_user(r) for r in rows]

    async def ensure_admins(self, telegram_ids: Iterable[int], *, now: datetime) -> None:
        """Make the operator's ``QINGSHOU_ADMINS`` admins (existing users are promoted)."""
        async with self._tx() as db:
            for tid in sorted(set(telegram_ids)):
                row = await db.fetchone(
                    "SELECT id, role, active FROM users WHERE telegram_id = ?", (tid,)
                )
                if row is None:
                    cur = await db.execute(
                        "INSERT INTO users (telegram_id, role, created_at) VALUES (?, 'admin', ?)",
                        (tid, ts(now)),
                    )
                    await db.audit(
                        now,
                        None,
                        "create",
                        "user",
                        cur.lastrowid,
                        {"role": "admin", "source": "QINGSHOU_ADMINS"},
                    )
                elif row[1] != "admin" or not row[2]:
                    await db.execute(
                        "UPDATE users SET role = 'admin', active = 1, deactivated_at = NULL "
                        "WHERE id = ?",
                        (row[0],),
                    )
                    await db.audit(
                        now,
                        None,
                        "promote",
                        "user",
                        row[0],
                        {"role": "admin", "source": "QINGSHOU_ADMINS"},
                    )

    async def add_user(
        self,
        *,
        telegram_id: int,
        name: str,
        role: Role,
        team_id: int | None,
        now: datetime,
        actor_id: int | None = None,
        locale: str | None = None,
        staff_name: str | None = None,
    ) -> User:
        """Register someone directly (the sandbox's demo people, tests)."""
        async with self._tx() as db:
            cur = await db.execute(
                "INSERT INTO users (telegram_id, name, staff_name, role, team_id, locale, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (telegram_id, name, staff_name or name, role.value, team_id, locale, ts(now)),
            )
            user_id = int(cur.lastrowid or 0)
            await db.audit(
                now, actor_id, "create", "user", user_id, {"role": role.value, "team_id": team_id}
            )
        user = await self.get_user(user_id)
        assert user is not None
        return user

    async def update_profile(
        self, user_id: int, *, name: str, username: str | None, telegram_locale: str | None
    ) -> None:
        """Keep the name and language Telegram reports (not audited: nobody decided it)."""
        async with self._tx() as db:
            await db.execute(
                "UPDATE users SET name = ?, username = ?, telegram_locale = ? WHERE id = ?",
                (name, username, telegram_locale, user_id),
            )

    async def set_locale(self, user_id: int, locale: str, *, now: datetime) -> None:
        async with self._tx() as db:
            await db.execute("UPDATE users SET locale = ? WHERE id = ?", (locale, user_id))
            await db.audit(now, user_id, "set_locale", "user", user_id, {"locale": locale})

    async def set_active(
        self, user_id: int, active: bool, *, actor_id: int | None, now: datetime
    ) -> User:
        """Deactivate or reactivate a user; returns the user as stored afterwards."""
        async with self._tx() as db:
            await db.execute(
                "UPDATE users SET active = ?, deactivated_at = ? WHERE id = ?",
                (int(active), None if active else ts(now), user_id),
            )
            await db.audit(
                now, actor_id, "activate" if active else "deactivate", "user", user_id, {}
            )
        user = await self.get_user(user_id)
        if user is None:
            raise StorageError(f"no user {user_id}")
        return user

    async def set_blocked(self, telegram_id: int, blocked: bool, *, now: datetime) -> bool:
        """Record that a user blocked (or unblocked) the bot; True if that changed anything."""
        async with self._tx() as db:
            if blocked:
                cur = await db.execute(
                    "UPDATE users SET blocked_at = ? WHERE telegram_id = ? AND blocked_at IS NULL",
                    (ts(now), telegram_id),
                )
            else:
                cur = await db.execute(
                    "UPDATE users SET blocked_at = NULL WHERE telegram_id = ? "
                    "AND blocked_at IS NOT NULL",
                    (telegram_id,),
                )
            changed = cur.rowcount > 0
            if changed:
                row = await db.fetchone(
                    "SELECT id FROM users WHERE telegram_id = ?", (telegram_id,)
                )
                await db.audit(
                    now,
                    None,
                    "blocked" if blocked else "unblocked",
                    "user",
                    row[0] if row else None,
                    {"telegram_id": telegram_id},
                )
            return changed

    # -- invites ---------------------------------------------------------------------------

    async def create_invite(
        self,
        *,
        role: Role,
        team_id: int | None,
        created_by: int | None,
        now: datetime,
        ttl: timedelta = DEFAULT_INVITE_TTL,
        staff_name: str | None = None,
    ) -> Invite:
        """A fresh one-time invite. Supervisors and collectors must belong to a team.

        ``staff_name`` is the invitee's name on the cooperative's books, if the inviter knows it.
        """
        if role is not Role.ADMIN and team_id is None:
            raise StorageError(f"a {role.value} invite needs a team")
        if ttl <= timedelta(0):
            raise StorageError("an invite must be valid for some time")
        code = new_invite_code()
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO invites (code, role, team_id, created_by, created_at, expires_at, "
                "staff_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    code,
                    role.value,
                    team_id,
                    created_by,
                    ts(now),
                    ts(now + ttl),
                    (staff_name or "").strip() or None,
                ),
            )
            await db.audit(
                now,
                created_by,
                "create",
                "invite",
                code[:4] + "…",
                {"role": role.value, "team_id": team_id},
            )
        invite = await self.get_invite(code)
        assert invite is not None
        return invite

    async def get_invite(self, code: str) -> Invite | None:
        row = await self._fetchone(_INVITE_SELECT + " WHERE i.code = ?", (code,))
        return None if row is None else _invite(row)

    async def redeem_invite(
        self,
        code: str,
        *,
        telegram_id: int,
        name: str,
        username: str | None,
        telegram_locale: str | None,
        now: datetime,
    ) -> User | InviteProblem:
        """Join with ``code``: checks and uses the invite and creates the user atomically.

        Two people racing for one code: the transaction makes exactly one of them win. The same
        person tapping the link twice gets their membership back, not an error. An invite dies
        with its maker's rights: switched off, or no longer supervising that team.
        """
        async with self._tx() as db:
            row = await db.fetchone(_INVITE_SELECT + " WHERE i.code = ?", (code,))
            invite = None if row is None else _invite(row)
            existing = await db.fetchone(
                "SELECT id FROM users WHERE telegram_id = ?", (telegram_id,)
            )
            if invite is not None and existing is not None and invite.used_by == existing[0]:
                user_id = int(existing[0])
            else:
                maker = None
                if invite is not None and invite.created_by is not None:
                    maker_row = await db.fetchone(
                        f"SELECT {_USER_COLUMNS} FROM {_USER_FROM} WHERE u.id = ?",
                        (invite.created_by,),
                    )
                    maker = None if maker_row is None else _user(maker_row)
                problem = invite_problem(invite, now, maker=maker)
                if problem is not None:
                    return problem
                assert invite is not None
                if existing is not None:
                    raise StorageError(f"telegram id {telegram_id} is already registered")
                user_id = await self._join(
                    db, invite, telegram_id, name, username, telegram_locale, now
                )
        user = await self.get_user(user_id)
        assert user is not None
        return user

    async def _join(
        self,
        db: _Tx,
        invite: Invite,
        telegram_id: int,
        name: str,
        username: str | None,
        telegram_locale: str | None,
        now: datetime,
    ) -> int:
        cur = await db.execute(
            "INSERT INTO users (telegram_id, name, staff_name, username, role, team_id, "
            "telegram_locale, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                telegram_id,
                name,
                invite.staff_name or name,
                username,
                invite.role.value,
                invite.team_id,
                telegram_locale,
                ts(now),
            ),
        )
        user_id = int(cur.lastrowid or 0)
        await db.execute(
            "UPDATE invites SET used_by = ?, used_at = ? WHERE code = ?",
            (user_id, ts(now), invite.code),
        )
        await db.audit(
            now,
            user_id,
            "join",
            "user",
            user_id,
            {
                "role": invite.role.value,
                "team_id": invite.team_id,
                "invited_by": invite.created_by,
                "staff_name": invite.staff_name or name,
            },
        )
        if invite.created_by is not None:
            await db.enqueue(
                invite.created_by,
                "notify/invite_used",
                {"name": name, "role": invite.role.value, "team": invite.team_name},
                now,
            )
        return user_id

    # -- audit -----------------------------------------------------------------------------

    async def audit_log(self, *, entity: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """Newest first."""
        if entity is None:
            rows = await self._fetchall(
                "SELECT at, actor_id, action, entity, entity_id, detail FROM audit "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        else:
            rows = await self._fetchall(
                "SELECT at, actor_id, action, entity, entity_id, detail FROM audit "
                "WHERE entity = ? ORDER BY id DESC LIMIT ?",
                (entity, limit),
            )
        return [
            AuditEntry(datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5]))
            for r in rows
        ]

    # -- outbox ----------------------------------------------------------------------------

    async def enqueue(
        self,
        user_id: int,
        template: str,
        params: dict[str, Any],
        *,
        now: datetime,
        not_before: datetime | None = None,
    ) -> None:
        """Queue a message for ``user_id`` (delivered by reminders.outbox)."""
        async with self._tx() as db:
            await db.enqueue(user_id, template, params, now, not_before)

    async def due_outbox(self, now: datetime, *, limit: int = 100) -> list[OutboxMessage]:
        """Messages whose time has come, oldest first.

        Messages for people who were switched off or blocked the bot meanwhile are dropped
        here, not kept to arrive out of date when they come back.
        """
        async with self._tx() as db:
            await db.execute(
                "UPDATE outbox SET dropped_at = ?, "
                "last_error = 'recipient switched off or blocked' "
                "WHERE sent_at IS NULL AND dropped_at IS NULL AND not_before <= ? AND user_id IN "
                "(SELECT id FROM users WHERE active = 0 OR blocked_at IS NOT NULL)",
                (ts(now), ts(now)),
            )
        rows = await self._fetchall(
            "SELECT o.id, o.user_id, u.telegram_id, COALESCE(u.locale, u.telegram_locale), "
            "o.template, o.params, o.not_before, o.attempts "
            "FROM outbox o JOIN users u ON u.id = o.user_id "
            "WHERE o.sent_at IS NULL AND o.dropped_at IS NULL AND o.not_before <= ? "
            "ORDER BY o.not_before, o.id LIMIT ?",
            (ts(now), limit),
        )
        return [
            OutboxMessage(
                r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), datetime.fromisoformat(r[6]), r[7]
            )
            for r in rows
        ]

    async def mark_sent(self, results: Sequence[tuple[int, int]], *, now: datetime) -> None:
        """Record Telegram's message id for each sent outbox row, in one batch."""
        if not results:
            return
        async with self._tx() as db:
            await db.executemany(
                "UPDATE outbox SET sent_at = ?, message_id = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                [(ts(now), message_id, row_id) for row_id, message_id in results],
            )

    async def mark_failed(
        self, row_id: int, error: str, *, now: datetime, retry_at: datetime | None
    ) -> None:
        """A send failed: try again at ``retry_at``, or give up (dropped) when it is None."""
        async with self._tx() as db:
            if retry_at is None:
                await db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, dropped_at = ? "
                    "WHERE id = ?",
                    (error[:500], ts(now), row_id),
                )
            else:
                await db.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, not_before = ? "
                    "WHERE id = ?",
                    (error[:500], ts(retry_at), row_id),
                )

    # -- backup ----------------------------------------------------------------------------

    async def backup(self, dest: Path) -> None:
        """A consistent copy of the live database (SQLite's online backup API)."""
        await backup_database(self.path, dest)


class _Tx:
    """The statements available inside a transaction (no nested BEGIN)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        return await self._conn.execute(sql, params)

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        async with self._conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> Iterable[Any]:
        async with self._conn.execute(sql, params) as cur:
            return await cur.fetchall()

    async def executescript_in_tx(self, script: str) -> None:
        # executescript() would COMMIT first; run statement by statement instead.
        for statement in sqlite3_split(script):
            await self._conn.execute(statement)

    async def audit(
        self,
        now: datetime,
        actor_id: int | None,
        action: str,
        entity: str,
        entity_id: int | str | None,
        detail: dict[str, Any],
    ) -> None:
        await self._conn.execute(
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

    async def enqueue(
        self,
        user_id: int,
        template: str,
        params: dict[str, Any],
        now: datetime,
        not_before: datetime | None = None,
    ) -> None:
        await self._conn.execute(
            "INSERT INTO outbox (user_id, template, params, not_before, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                user_id,
                template,
                json.dumps(params, ensure_ascii=False),
                ts(not_before or now),
                ts(now),
            ),
        )


def sqlite3_split(script: str) -> list[str]:
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
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".partial")
        tmp.unlink(missing_ok=True)
        source = sqlite3.connect(src.resolve().as_uri() + "?mode=ro", uri=True)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        tmp.replace(dest)

    await asyncio.to_thread(_copy)
