"""Export reads: every sheet of an export as batches of rows, in the viewer's scope.

Each iterator pages by primary key (``WHERE x.id > last ORDER BY x.id LIMIT batch``), one
awaited statement per batch under the engine's lock, so a 100 000-case export never holds more
than one batch in memory and the bot's other chats get the connection between batches. The
scope is decided in SQL: a supervisor sees their own team (another ``team_id`` finds nothing),
an admin one team or all of them, anyone else (collectors, switched-off people) nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from bot.domain.people import Role, User
from bot.storage.export_records import (
    ExportApproval,
    ExportCase,
    ExportCommitment,
    ExportInstalment,
    ExportMeeting,
    ExportPayment,
    ExportPeriod,
)
from bot.storage.stores.base import Engine, ts

__all__ = ["DEFAULT_BATCH", "SqlExports", "person_sql"]

#: Rows per statement: large enough that the per-call cost of aiosqlite vanishes.
DEFAULT_BATCH = 2000

T = TypeVar("T")


def person_sql(alias: str) -> str:
    """How an export names the user ``alias``: as the cooperative's books do."""
    return (
        f"COALESCE({alias}.staff_name, '@' || {alias}.username, CAST({alias}.telegram_id AS TEXT))"
    )


def _scope(viewer: User, team_id: int | None) -> tuple[str, list[Any]]:
    """The SQL condition on ``c`` (the case) for what ``viewer`` may export."""
    if not viewer.active:
        return "1 = 0", []
    if viewer.role is Role.ADMIN:
        return ("1 = 1", []) if team_id is None else ("c.team_id = ?", [team_id])
    if viewer.role is Role.SUPERVISOR and viewer.team_id is not None:
        if team_id is not None and team_id != viewer.team_id:
            return "1 = 0", []
        return "c.team_id = ?", [viewer.team_id]
    return "1 = 0", []


def _d(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _t(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


_CASE_SQL = f"""
SELECT x.id, x.contract_no, x.borrower_name, x.borrower_phone, t.name, {person_sql("u")},
       x.status, x.product, x.principal_outstanding, x.overdue_principal, x.overdue_interest,
       x.overdue_since, x.collateral_value, x.last_contact_at
FROM cases x JOIN teams t ON t.id = x.team_id LEFT JOIN users u ON u.id = x.lead_id
"""


def _case(r: Sequence[Any]) -> ExportCase:
    return ExportCase(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        date.fromisoformat(r[11]),
        r[12],
        _t(r[13]),
    )


_MEETING_SQL = f"""
SELECT x.id, c.contract_no, c.borrower_name, t.name, {person_sql("u")}, x.held_on, x.kind,
       x.venue, x.attendees, x.step_achieved, x.moved, x.stance, x.next_step, x.next_on,
       x.agreement, x.at
FROM meetings x JOIN cases c ON c.id = x.case_id JOIN teams t ON t.id = c.team_id
LEFT JOIN users u ON u.id = x.author_id
"""


def _meeting(r: Sequence[Any]) -> ExportMeeting:
    return ExportMeeting(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        date.fromisoformat(r[5]),
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        _d(r[13]),
        bool(r[14]),
        datetime.fromisoformat(r[15]),
    )


_COMMITMENT_SQL = f"""
SELECT x.id, c.contract_no, c.borrower_name, t.name, {person_sql("u")}, x.created_at,
       x.money_today, x.total,
       (SELECT count(*) FROM instalments i WHERE i.commitment_id = x.id),
       -- A plan the supervisor answered with a counter-offer reads so, not "rejected".
       CASE WHEN x.end_reason = 'countered' THEN 'countered' ELSE x.status END,
       x.agreed_at, x.replaces, x.ended_at, x.end_reason
FROM commitments x JOIN cases c ON c.id = x.case_id JOIN teams t ON t.id = c.team_id
LEFT JOIN users u ON u.id = x.created_by
"""


def _commitment(r: Sequence[Any]) -> ExportCommitment:
    return ExportCommitment(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        datetime.fromisoformat(r[5]),
        r[6],
        r[7],
        r[8],
        r[9],
        _t(r[10]),
        r[11],
        _t(r[12]),
        r[13],
    )


_INSTALMENT_SQL = f"""
SELECT x.id, x.commitment_id, c.contract_no, c.borrower_name, t.name, {person_sql("u")},
       x.seq, x.due_on, x.amount, x.paid, x.status, x.settled_at, x.answered_at,
       x.miss_reason, x.miss_note
FROM instalments x JOIN commitments k ON k.id = x.commitment_id
JOIN cases c ON c.id = k.case_id JOIN teams t ON t.id = c.team_id
LEFT JOIN users u ON u.id = k.created_by
"""


def _instalment(r: Sequence[Any]) -> ExportInstalment:
    return ExportInstalment(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        date.fromisoformat(r[7]),
        r[8],
        r[9],
        r[10],
        _t(r[11]),
        _t(r[12]),
        r[13],
        r[14],
    )


_PAYMENT_SQL = f"""
SELECT x.id, c.contract_no, c.borrower_name, t.name, x.received_on, x.amount, x.channel,
       x.source, {person_sql("u")}, x.recorded_at, x.commitment_id, x.instalment_id
FROM payments x JOIN cases c ON c.id = x.case_id JOIN teams t ON t.id = c.team_id
LEFT JOIN users u ON u.id = x.recorded_by
"""


def _payment(r: Sequence[Any]) -> ExportPayment:
    return ExportPayment(
        r[0],
        r[1],
        r[2],
        r[3],
        date.fromisoformat(r[4]),
        r[5],
        r[6],
        r[7],
        r[8],
        datetime.fromisoformat(r[9]),
        r[10],
        r[11],
    )


_APPROVAL_SQL = f"""
SELECT x.id, c.contract_no, c.borrower_name, t.name, {person_sql("u")}, x.requested_at,
       x.reasons, x.status, {person_sql("v")}, x.answered_at, x.commitment_id, x.proposal,
       x.counter
FROM approvals x JOIN cases c ON c.id = x.case_id JOIN teams t ON t.id = c.team_id
LEFT JOIN users u ON u.id = x.requested_by LEFT JOIN users v ON v.id = x.answered_by
"""


def _approval(r: Sequence[Any]) -> ExportApproval:
    return ExportApproval(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        datetime.fromisoformat(r[5]),
        r[6],
        r[7],
        r[8],
        _t(r[9]),
        r[10],
        r[11],
        r[12],
    )


class SqlExports(Engine):
    """The export iterators (see :class:`bot.storage.protocol.ExportStore`)."""

    async def _pages(
        self,
        select: str,
        where: str,
        params: Sequence[Any],
        convert: Callable[[Sequence[Any]], T],
        batch: int,
    ) -> AsyncIterator[list[T]]:
        sql = f"{select} WHERE ({where}) AND x.id > ? ORDER BY x.id LIMIT ?"
        last = 0
        while True:
            rows = await self._fetchall(sql, (*params, last, batch))
            if not rows:
                return
            yield [convert(r) for r in rows]
            if len(rows) < batch:
                return
            last = int(rows[-1][0])

    async def export_cases(
        self, viewer: User, *, team_id: int | None = None, batch: int = DEFAULT_BATCH
    ) -> AsyncIterator[list[ExportCase]]:
        """Every case in scope (closed ones too), as it stands now, by id."""
        cond, params = _scope(viewer, team_id)
        cond = cond.replace("c.team_id", "x.team_id")
        async for rows in self._pages(_CASE_SQL, cond, params, _case, batch):
            yield rows

    async def export_meetings(
        self,
        viewer: User,
        period: ExportPeriod,
        *,
        team_id: int | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> AsyncIterator[list[ExportMeeting]]:
        """Meetings held in the period (their local date)."""
        cond, params = _scope(viewer, team_id)
        where = f"{cond} AND x.held_on BETWEEN ? AND ?"
        args = [*params, period.start.isoformat(), period.end.isoformat()]
        async for rows in self._pages(_MEETING_SQL, where, args, _meeting, batch):
            yield rows

    async def export_commitments(
        self,
        viewer: User,
        period: ExportPeriod,
        *,
        team_id: int | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> AsyncIterator[list[ExportCommitment]]:
        """Commitments made in the period (every status: the history)."""
        cond, params = _scope(viewer, team_id)
        where = f"{cond} AND x.created_at >= ? AND x.created_at < ?"
        args = [*params, ts(period.since), ts(period.until)]
        async for rows in self._pages(_COMMITMENT_SQL, where, args, _commitment, batch):
            yield rows

    async def export_instalments(
        self,
        viewer: User,
        period: ExportPeriod,
        *,
        team_id: int | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> AsyncIterator[list[ExportInstalment]]:
        """Instalments falling due in the period, whatever became of them."""
        cond, params = _scope(viewer, team_id)
        where = f"{cond} AND x.due_on BETWEEN ? AND ?"
        args = [*params, period.start.isoformat(), period.end.isoformat()]
        async for rows in self._pages(_INSTALMENT_SQL, where, args, _instalment, batch):
            yield rows

    async def export_payments(
        self,
        viewer: User,
        period: ExportPeriod,
        *,
        team_id: int | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> AsyncIterator[list[ExportPayment]]:
        """Money received in the period (its local date; a zero "said nothing" included)."""
        cond, params = _scope(viewer, team_id)
        where = f"{cond} AND x.received_on BETWEEN ? AND ?"
        args = [*params, period.start.isoformat(), period.end.isoformat()]
        async for rows in self._pages(_PAYMENT_SQL, where, args, _payment, batch):
            yield rows

    async def export_approvals(
        self,
        viewer: User,
        period: ExportPeriod,
        *,
        team_id: int | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> AsyncIterator[list[ExportApproval]]:
        """Approval requests made in the period, answered or not."""
        cond, params = _scope(viewer, team_id)
        where = f"{cond} AND x.requested_at >= ? AND x.requested_at < ?"
        args = [*params, ts(period.since), ts(period.until)]
        async for rows in self._pages(_APPROVAL_SQL, where, args, _approval, batch):
            yield rows
