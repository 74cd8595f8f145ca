"""People and invites: teams, users (roles, languages, blocked/switched off), one-time invites."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

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
from bot.storage.errors import StorageError
from bot.storage.records import NewOutboxMessage
from bot.storage.stores.base import Engine, Tx, dt, ts

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
        blocked_at=dt(row[10]),
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
        used_at=dt(row[8]),
        staff_name=row[9],
    )


class SqlPeople(Engine):
    """Teams, users and invites."""

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
            cur = await db.insert(
                "INSERT INTO teams (name, created_at) VALUES (?, ?)", (name, ts(now))
            )
            team = Team(cur, name)
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
                    cur = await db.insert(
                        "INSERT INTO users (telegram_id, role, created_at) VALUES (?, 'admin', ?)",
                        (tid, ts(now)),
                    )
                    await db.audit(
                        now,
                        None,
                        "create",
                        "user",
                        cur,
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
            cur = await db.insert(
                "INSERT INTO users (telegram_id, name, staff_name, role, team_id, locale, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (telegram_id, name, staff_name or name, role.value, team_id, locale, ts(now)),
            )
            user_id = cur
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

    async def team_collectors(self, team_id: int) -> list[User]:
        """Active collectors of a team, by name (the assign buttons)."""
        return [
            u
            for u in await self.list_users(team_id=team_id)
            if u.role is Role.COLLECTOR and u.active
        ]

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
        key: str | None = None,
    ) -> Invite:
        """A fresh one-time invite. Supervisors and collectors must belong to a team.

        ``staff_name`` is the invitee's name on the cooperative's books, if the inviter knows it.
        ``key`` makes it idempotent: an invite already made under ``key`` is returned again.
        """
        if role is not Role.ADMIN and team_id is None:
            raise StorageError(f"a {role.value} invite needs a team")
        if ttl <= timedelta(0):
            raise StorageError("an invite must be valid for some time")
        code = new_invite_code()
        async with self._tx() as db:
            earlier = await db.effect(key)
            if earlier is not None:
                code = str(earlier["code"])
                row = await db.fetchone(_INVITE_SELECT + " WHERE i.code = ?", (code,))
                if row is None:
                    raise StorageError(f"the invite made under {key!r} is gone")
                return _invite(row)
            await db.record_effect(key, {"code": code}, now)
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
        db: Tx,
        invite: Invite,
        telegram_id: int,
        name: str,
        username: str | None,
        telegram_locale: str | None,
        now: datetime,
    ) -> int:
        cur = await db.insert(
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
        user_id = cur
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
                NewOutboxMessage(
                    invite.created_by,
                    "notify/invite_used",
                    {
                        "name": invite.staff_name or name,
                        "role": invite.role.value,
                        "team": invite.team_name,
                    },
                ),
                now=now,
            )
        return user_id
