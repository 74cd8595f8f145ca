"""Answers to reminders, and money recorded elsewhere settling instalments (issue 10).

``answer_instalment`` is one transaction: authorised by the case (a collector's own, a
supervisor's team, an admin any), a compare-and-set on the instalment's status and paid sum,
idempotent by key; the payment (source 'reminder'), the instalment's new state, its pending
reminders retired, and for a broken promise the supervisors' notice in the outbox, together.
``settle_from_payment`` is the Tx-level step /outcome and /commit call inside their own
transaction: the money pays the case's open instalments oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.domain.commitments import InstalmentStatus
from bot.domain.instalments import (
    ANSWERABLE,
    Answer,
    Answered,
    AnswerRefused,
    InstalmentView,
    Owed,
    allocate,
    answer_effect,
)
from bot.domain.people import User
from bot.storage.records import NewOutboxMessage
from bot.storage.stores.base import Engine, Tx, dt, ts
from bot.storage.stores.cases import _scope
from bot.storage.stores.reminders import retire_reminders

_ANSWERABLE = sorted(status.value for status in ANSWERABLE)

_VIEW_SQL = (
    "SELECT i.id, i.commitment_id, k.case_id, i.seq, "
    "(SELECT COUNT(*) FROM instalments n WHERE n.commitment_id = i.commitment_id), "
    "i.due_on, i.amount, i.paid, i.status, k.status, c.borrower_name, c.contract_no, c.team_id, "
    "c.lead_id, i.answered_at, i.answered_by, i.miss_reason, i.miss_note, i.settled_at "
    "FROM instalments i JOIN commitments k ON k.id = i.commitment_id "
    "JOIN cases c ON c.id = k.case_id "
)

#: The states money recorded elsewhere still pays (a broken promise stays broken).
_PAYABLE = "('open', 'partial', 'unconfirmed')"


def _view(r: Sequence[Any]) -> InstalmentView:
    return InstalmentView(
        id=r[0],
        commitment_id=r[1],
        case_id=r[2],
        seq=r[3],
        count=int(r[4]),
        due_on=date.fromisoformat(r[5]),
        amount=r[6],
        paid=r[7],
        status=InstalmentStatus(r[8]),
        commitment_status=r[9],
        borrower_name=r[10] or "",
        contract_no=r[11] or "",
        team_id=r[12],
        lead_id=r[13],
        answered_at=dt(r[14]),
        answered_by=r[15],
        miss_reasons=tuple(code for code in (r[16] or "").split(",") if code),
        miss_note=r[17],
        settled_at=dt(r[18]),
    )


async def _one(db: Tx, viewer: User, instalment_id: int) -> InstalmentView | None:
    where, params = _scope(viewer)
    row = await db.fetchone(_VIEW_SQL + f"WHERE i.id = ? AND {where}", [instalment_id, *params])
    return None if row is None else _view(row)


async def settle_from_payment(
    db: Tx,
    case_id: int,
    amount: int,
    now: datetime,
    *,
    actor_id: int | None = None,
    exclude_commitment: int | None = None,
) -> list[tuple[int, int]]:
    """Money recorded for ``case_id`` (by /outcome, or /commit's money today) pays the open
    instalments of its agreed commitments, oldest first, inside the caller's transaction: each
    fully paid one is kept (settled now, its pending reminders retired), a part leaves it
    partial. ``exclude_commitment``: the commitment the money was given beside (money today is
    not part of its own plan). Returns (instalment id, fen taken), in order."""
    if amount <= 0:
        return []
    rows = await db.fetchall(
        "SELECT i.id, i.due_on, i.seq, i.amount, i.paid FROM instalments i "
        "JOIN commitments k ON k.id = i.commitment_id "
        f"WHERE k.case_id = ?1 AND k.status = 'agreed' AND i.status IN {_PAYABLE} "
        "AND (?2 IS NULL OR k.id != ?2) ORDER BY i.due_on, i.seq, i.id",
        (case_id, exclude_commitment),
    )
    owed = [Owed(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4]) for r in rows]
    shares = allocate(amount, owed)
    if not shares:
        return []
    await db.executemany(
        "UPDATE instalments SET paid = ?, status = ?, "
        "settled_at = CASE WHEN ? = 1 THEN ? ELSE settled_at END WHERE id = ?",
        [(s.paid, "kept" if s.kept else "partial", s.kept, ts(now), s.id) for s in shares],
    )
    await retire_reminders(db, instalment_ids=[s.id for s in shares if s.kept], now=now)
    await db.audit(
        now,
        actor_id,
        "instalments_settled",
        "case",
        case_id,
        {"amount": amount, "shares": [[s.id, s.take] for s in shares]},
    )
    return [(s.id, s.take) for s in shares]


async def _tell_supervisors(
    db: Tx,
    view: InstalmentView,
    answerer: User,
    now: datetime,
    reasons: Sequence[str],
    note: str | None,
) -> int:
    """The case's team supervisors (not the one answering) learn of a broken promise."""
    if view.team_id is None:
        return 0
    rows = await db.fetchall(
        "SELECT id FROM users WHERE team_id = ? AND role = 'supervisor' AND active = 1 "
        "AND id != ? ORDER BY id",
        (view.team_id, answerer.id),
    )
    params = {
        "borrower": view.borrower_name,
        "contract": view.contract_no,
        "case_id": view.case_id,
        "seq": view.seq,
        "count": view.count,
        "due_on": view.due_on.isoformat(),
        "amount": view.amount,
        "paid": view.paid,
        "collector": answerer.name,
        "reasons": list(reasons),
        "note": note or "",
    }
    for (user_id,) in rows:
        await db.enqueue(
            NewOutboxMessage(
                user_id,
                "instalments/broken_for_supervisor",
                params,
                dedupe_key=f"broken:{view.id}:{user_id}",
            ),
            now=now,
        )
    return len(rows)


class SqlInstalments(Engine):
    """The answers to reminders (Paid in full / Partial / Missed)."""

    async def get_instalment(self, viewer: User, instalment_id: int) -> InstalmentView | None:
        async with self._tx() as db:
            return await _one(db, viewer, instalment_id)

    async def instalments_seen_by(
        self, viewer: User, instalment_ids: Sequence[int]
    ) -> list[InstalmentView]:
        ids = list(dict.fromkeys(instalment_ids))[:100]
        if not ids:
            return []
        where, params = _scope(viewer)
        rows = await self._fetchall(
            _VIEW_SQL + f"WHERE i.id IN ({','.join('?' * len(ids))}) AND {where} ORDER BY i.id",
            [*ids, *params],
        )
        return [_view(r) for r in rows]

    async def instalments_to_answer(
        self, viewer: User, *, on_or_before: date, limit: int = 10
    ) -> list[InstalmentView]:
        where, params = _scope(viewer)
        rows = await self._fetchall(
            # What an answer can still change (ANSWERABLE): a part paid leaves the rest to
            # answer, as the reminder asks it again (issue 16: /today left it out).
            _VIEW_SQL + f"WHERE i.status IN ({','.join('?' * len(_ANSWERABLE))}) "
            "AND k.status = 'agreed' "
            f"AND i.due_on <= ? AND c.status NOT IN ('settled', 'written_off') AND {where} "
            "ORDER BY i.due_on, i.id LIMIT ?",
            [*_ANSWERABLE, on_or_before.isoformat(), *params, limit],
        )
        return [_view(r) for r in rows]

    async def broken_to_follow_up(
        self, viewer: User, *, since: datetime, limit: int = 5
    ) -> list[InstalmentView]:
        where, params = _scope(viewer)
        rows = await self._fetchall(
            _VIEW_SQL + "WHERE i.status = 'broken' AND k.status = 'agreed' AND i.settled_at >= ? "
            f"AND c.status NOT IN ('settled', 'written_off') AND {where} "
            "ORDER BY i.settled_at DESC, i.id LIMIT ?",
            [ts(since), *params, limit],
        )
        return [_view(r) for r in rows]

    async def answer_instalment(
        self,
        viewer: User,
        instalment_id: int,
        answer: Answer,
        *,
        amount: int | None = None,
        reason: Sequence[str] | None = None,
        note: str | None = None,
        today: date,
        grace_days: int,
        now: datetime,
        key: str | None = None,
    ) -> Answered | None:
        async with self._tx() as db:
            done = await db.effect(key)
            view = await _one(db, viewer, instalment_id)
            if view is None:
                return None
            if done is not None:
                paid_now, told = int(done.get("paid_now", 0)), int(done.get("told", 0))
                return Answered(
                    view, changed=False, paid_now=paid_now, late=bool(done.get("late")), told=told
                )
            if view.commitment_status != "agreed":
                return Answered(view, changed=False, refused="settled")
            try:
                effect = answer_effect(
                    amount=view.amount,
                    paid=view.paid,
                    status=view.status,
                    due_on=view.due_on,
                    answer=answer,
                    today=today,
                    grace_days=grace_days,
                    payment=amount,
                )
            except AnswerRefused as exc:
                return Answered(view, changed=False, refused=exc.code)
            reasons = [str(r) for r in reason or ()] if answer is Answer.MISSED else []
            cur = await db.execute(
                "UPDATE instalments SET status = ?, paid = ?, answered_at = ?, answered_by = ?, "
                "miss_reason = CASE WHEN ? = 1 THEN ? ELSE miss_reason END, "
                "miss_note = CASE WHEN ? = 1 THEN ? ELSE miss_note END, "
                "settled_at = CASE WHEN ? = 1 THEN ? ELSE settled_at END "
                "WHERE id = ? AND status = ? AND paid = ?",
                (
                    effect.status.value,
                    effect.paid,
                    ts(now),
                    viewer.id,
                    answer is Answer.MISSED,
                    ",".join(reasons) or None,
                    answer is Answer.MISSED,
                    note or None,
                    effect.settled,
                    ts(now),
                    view.id,
                    view.status.value,
                    view.paid,
                ),
            )
            if cur.rowcount != 1:  # pragma: no cover - the transaction holds the write lock
                return Answered(view, changed=False)
            if effect.pay > 0:
                await db.execute(
                    "INSERT INTO payments (case_id, commitment_id, instalment_id, amount, "
                    "received_on, recorded_at, recorded_by, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'reminder')",
                    (
                        view.case_id,
                        view.commitment_id,
                        view.id,
                        effect.pay,
                        today.isoformat(),
                        ts(now),
                        viewer.id,
                    ),
                )
            if effect.retire:
                await retire_reminders(db, instalment_ids=[view.id], now=now)
            after = await _one(db, viewer, instalment_id)
            assert after is not None
            told = 0
            if effect.status is InstalmentStatus.BROKEN:
                told = await _tell_supervisors(db, after, viewer, now, reasons, note)
            await db.audit(
                now,
                viewer.id,
                "instalment_answer",
                "case",
                view.case_id,
                {
                    "instalment_id": view.id,
                    "answer": answer.value,
                    "status": effect.status.value,
                    "paid_now": effect.pay,
                    "late": effect.late,
                    "reasons": reasons,
                },
            )
            await db.record_effect(
                key,
                {
                    "instalment_id": view.id,
                    "paid_now": effect.pay,
                    "late": effect.late,
                    "told": told,
                },
                now,
            )
        return Answered(after, changed=True, paid_now=effect.pay, late=effect.late, told=told)
