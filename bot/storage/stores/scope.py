"""Which cases a viewer sees, as SQL: shared by the case store and the legal store (a
condition both backends take: PostgreSQL wants ``1 = 0``, not SQLite's bare ``0``)."""

from __future__ import annotations

from typing import Any

from bot.domain.people import Role, User

_OPEN_ONLY = "c.status NOT IN ('settled', 'written_off')"


def _scope(viewer: User) -> tuple[str, list[Any]]:
    """The SQL condition for the cases ``viewer`` may see (mirrors ``may_view_case``)."""
    if not viewer.active:
        return "1 = 0", []
    if viewer.role is Role.ADMIN:
        return "1 = 1", []
    if viewer.role is Role.SUPERVISOR:
        if viewer.team_id is None:
            return "1 = 0", []
        return "c.team_id = ?", [viewer.team_id]
    return "c.lead_id = ?", [viewer.id]
