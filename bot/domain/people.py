"""People and access: roles, teams, invites. Pure rules; storage keeps the rows.

Admission is by invite only. An invite is a one-time code with an expiry, made by an admin (any
role) or a supervisor (collectors of their own team only), redeemed with ``/start CODE`` through
the deep link ``https://t.me/<bot>?start=CODE``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    """What a person may do. The Chinese names are the ones the cooperative uses."""

    ADMIN = "admin"  # 管理员
    SUPERVISOR = "supervisor"  # 上级 / 主管
    COLLECTOR = "collector"  # 清收人员


#: How long an invite stays valid unless its maker says otherwise.
DEFAULT_INVITE_TTL = timedelta(hours=72)
#: Telegram deep-link payloads allow 1-64 characters of A-Z a-z 0-9 _ -.
INVITE_CODE_BYTES = 12


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class User:
    """A person known to the bot. ``locale`` is their /lang choice, if they made one."""

    id: int
    telegram_id: int
    name: str
    username: str | None
    role: Role
    team_id: int | None
    team_name: str | None
    locale: str | None
    telegram_locale: str | None
    active: bool
    blocked_at: datetime | None
    created_at: datetime
    #: The name on the cooperative's books; Telegram renames never change it.
    staff_name: str | None = None

    def effective_locale(self, default: str) -> str:
        """/lang choice first, then Telegram's language, then the cooperative's default."""
        return self.locale or self.telegram_locale or default


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    role: Role
    team_id: int | None
    team_name: str | None
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    used_by: int | None
    used_at: datetime | None
    staff_name: str | None = None


class InviteProblem(StrEnum):
    """Why an invite cannot be redeemed; each has a message in the catalogs."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"  # its maker has lost the right to invite


def new_invite_code() -> str:
    """A fresh, unguessable code that fits a Telegram deep link (16 URL-safe characters)."""
    return secrets.token_urlsafe(INVITE_CODE_BYTES)


def invite_problem(
    invite: Invite | None, now: datetime, *, maker: User | None = None
) -> InviteProblem | None:
    """Return why ``invite`` is not usable at ``now``, or ``None`` if it is.

    An invite that expires exactly at ``now`` is already expired (the boundary belongs to the
    future, as with any deadline). An invite made in the bot (``maker`` given) is void once
    its maker may no longer make it: switched off, or moved off the team. Invites from the
    command line have no maker and stand on their own.
    """
    if invite is None:
        return InviteProblem.UNKNOWN
    if invite.used_by is not None:
        return InviteProblem.USED
    if now >= invite.expires_at:
        return InviteProblem.EXPIRED
    if maker is not None and not may_invite(maker, invite.role, invite.team_id):
        return InviteProblem.REVOKED
    return None


def may_invite(actor: User, role: Role, team_id: int | None) -> bool:
    """Admins may invite anyone anywhere; a supervisor only collectors into their own team."""
    if not actor.active:
        return False
    if actor.role is Role.ADMIN:
        return True
    return (
        actor.role is Role.SUPERVISOR
        and role is Role.COLLECTOR
        and team_id is not None
        and team_id == actor.team_id
    )


def may_manage(actor: User, target: User, configured_admins: frozenset[int] = frozenset()) -> bool:
    """Admins may switch anyone's access off or on, except their own and the operator's
    admins (``QINGSHOU_ADMINS``, restored at every start anyway); nobody else may."""
    return (
        actor.active
        and actor.role is Role.ADMIN
        and actor.id != target.id
        and target.telegram_id not in configured_admins
    )


def deep_link(bot_username: str | None, code: str) -> str:
    """The link that opens the bot with ``/start CODE``."""
    return f"https://t.me/{bot_username or '<bot_username>'}?start={code}"


def is_invite_code(text: str) -> bool:
    """Whether ``text`` could be an invite code (deep-link payload alphabet, sane length)."""
    return 8 <= len(text) <= 64 and all(c.isascii() and (c.isalnum() or c in "_-") for c in text)
