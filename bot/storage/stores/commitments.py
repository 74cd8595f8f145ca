"""Meetings, payments, repayment commitments, instalments and approvals (issue 9).

Every verb is one transaction: a commitment is written with its instalments, the money received
today, its approval request and the outbox call that tells the supervisor; an answer changes
the approval (compare-and-set on its status), its commitment and the call that tells the
collector. Instalment rows are what the reminders (issue 10) are built on: nothing is deleted,
an ended commitment's open instalments become 'cancelled'.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from bot.domain.commitments import (
    Achieved,
    Approval,
    ApprovalReason,
    ApprovalStatus,
    Commitment,
    CommitmentStatus,
    Instalment,
    InstalmentStatus,
    Meeting,
    NewCommitment,
    NewMeeting,
    NewPayment,
)
from bot.domain.people import Role, User
from bot.domain.reminders import ReminderPolicy
from bot.storage.protocol import APPROVAL_ID, COMMITMENT_ID, OutboxCall
from bot.storage.records import StepDue
from bot.storage.stores.base import Engine, Tx, dt, ts
from bot.storage.stores.cases import _scope
from bot.storage.stores.instalments import settle_from_payment
from bot.storage.stores.reminders import add_reminders, retire_reminders

_MEETING_SQL = (
    "SELECT m.id, m.case_id, m.author_id, u.name, m.at, m.held_on, m.kind, m.venue, "
    "m.attendees, m.step_achieved, m.moved, m.stance, m.next_step, m.next_on, m.prep_id, "
    "m.agreement, (SELECT COALESCE(SUM(p.amount), 0) FROM payments p WHERE p.meeting_id = m.id) "
    "FROM meetings m LEFT JOIN users u ON u.id = m.author_id "
)

_COMMITMENT_SQL = (
    "SELECT k.id, k.case_id, k.meeting_id, k.created_by, u.name, k.created_at, "
    "k.promised_by_party, cp.name, k.money_today, k.total, k.plan, k.status, k.approval_id, "
    "k.replaces, k.end_reason, k.ended_at "
    "FROM commitments k LEFT JOIN users u ON u.id = k.created_by "
    "LEFT JOIN case_parties cp ON cp.id = k.promised_by_party "
)

_INSTALMENT_SQL = (
    "SELECT id, commitment_id, seq, due_on, amount, paid, status FROM instalments "
    "WHERE commitment_id IN ({}) ORDER BY commitment_id, seq"
)

_APPROVAL_SQL = (
    "SELECT a.id, a.case_id, a.team_id, a.requested_by, r.name, a.requested_at, a.reasons, "
    "a.proposal, a.flow_id, a.commitment_id, a.status, a.answered_by, s.name, a.answered_at, "
    "a.counter, a.reminded_at, r.telegram_id, c.borrower_name, c.contract_no "
    "FROM approvals a JOIN users r ON r.id = a.requested_by "
    "JOIN cases c ON c.id = a.case_id "
    "LEFT JOIN users s ON s.id = a.answered_by "
)

_ANSWERS = frozenset({ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.COUNTERED})


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _meeting(r: Sequence[Any]) -> Meeting:
    return Meeting(
        id=r[0],
        case_id=r[1],
        author_id=r[2],
        author_name=r[3] or "",
        at=datetime.fromisoformat(r[4]),
        held_on=date.fromisoformat(r[5]),
        kind=r[6],
        venue=r[7],
        attendees=r[8],
        step_achieved=None if r[9] is None else Achieved(r[9]),
        moved=r[10],
        stance=r[11],
        next_step=r[12],
        next_on=None if r[13] is None else date.fromisoformat(r[13]),
        prep_id=r[14],
        agreement=bool(r[15]),
        paid_today=int(r[16]),
    )


def _instalment(r: Sequence[Any]) -> Instalment:
    return Instalment(
        id=r[0],
        commitment_id=r[1],
        seq=r[2],
        due_on=date.fromisoformat(r[3]),
        amount=r[4],
        paid=r[5],
        status=InstalmentStatus(r[6]),
    )


def _approval(r: Sequence[Any]) -> Approval:
    return Approval(
        id=r[0],
        case_id=r[1],
        team_id=r[2],
        requested_by=r[3],
        requested_by_name=r[4] or "",
        requested_at=datetime.fromisoformat(r[5]),
        reasons=frozenset(ApprovalReason(code) for code in r[6].split(",") if code),
        proposal=json.loads(r[7]),
        flow_id=r[8],
        commitment_id=r[9],
        status=ApprovalStatus(r[10]),
        answered_by=r[11],
        answered_by_name=r[12],
        answered_at=dt(r[13]),
        counter=None if r[14] is None else json.loads(r[14]),
        reminded_at=dt(r[15]),
        requester_telegram_id=r[16],
        borrower_name=r[17] or "",
        contract_no=r[18] or "",
    )


async def _commitments(db: Tx, where: str, params: Sequence[Any]) -> list[Commitment]:
    rows = await db.fetchall(_COMMITMENT_SQL + where, params)
    if not rows:
        return []
    ids = [r[0] for r in rows]
    parts: dict[int, list[Instalment]] = {i: [] for i in ids}
    for r in await db.fetchall(_INSTALMENT_SQL.format(",".join("?" * len(ids))), ids):
        parts[r[1]].append(_instalment(r))
    return [
        Commitment(
            id=r[0],
            case_id=r[1],
            meeting_id=r[2],
            created_by=r[3],
            created_by_name=r[4] or "",
            created_at=datetime.fromisoformat(r[5]),
            promised_by_party=r[6],
            promised_by_name=r[7],
            money_today=r[8],
            total=r[9],
            plan=json.loads(r[10]),
            status=CommitmentStatus(r[11]),
            approval_id=r[12],
            replaces=r[13],
            end_reason=r[14],
            ended_at=dt(r[15]),
            instalments=tuple(parts[r[0]]),
        )
        for r in rows
    ]


async def _one_commitment(db: Tx, commitment_id: int) -> Commitment | None:
    found = await _commitments(db, "WHERE k.id = ?", (commitment_id,))
    return found[0] if found else None


async def _one_approval(db: Tx, approval_id: int) -> Approval | None:
    row = await db.fetchone(_APPROVAL_SQL + "WHERE a.id = ?", (approval_id,))
    return None if row is None else _approval(row)


#: Payload fields that hold what people wrote (a concession's detail, a note): never filled,
#: so a collector who types "{approval_id}" keeps their words.
_WORDS = frozenset({"text", "caption"})


def _fill(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with the id slots of its strings filled in (dicts and lists walked), except
    in the message's words."""
    if isinstance(value, str):
        for slot, text in ids.items():
            value = value.replace(slot, text)
        return value
    if isinstance(value, dict):
        return {k: v if k in _WORDS else _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fill(v, ids) for v in value]
    return value


async def _call(
    db: Tx,
    notify: OutboxCall | Sequence[OutboxCall] | None,
    now: datetime,
    *,
    approval_id: int | None = None,
    commitment_id: int | None = None,
) -> None:
    """Write each call of ``notify`` as an outbox row of kind 'call' (the row ``defer_call``
    writes), in the interactive lane: someone is waiting for it."""
    calls = () if notify is None else (notify,) if isinstance(notify, OutboxCall) else notify
    ids = {
        slot: str(value)
        for slot, value in ((APPROVAL_ID, approval_id), (COMMITMENT_ID, commitment_id))
        if value is not None
    }
    for call in calls:
        payload = _fill(call.payload, ids)
        await db.execute(
            "INSERT INTO outbox (user_id, chat_id, kind, method, payload, not_before, "
            "created_at, priority) "
            "VALUES ((SELECT id FROM users WHERE telegram_id = ?1), ?1, 'call', ?2, ?3, ?4, ?4, 0)",
            (call.chat_id, call.method, json.dumps(payload, ensure_ascii=False), ts(now)),
        )


async def _end_instalments(db: Tx, commitment_id: int) -> None:
    await db.execute(
        "UPDATE instalments SET status = 'cancelled' WHERE commitment_id = ? "
        "AND status IN ('open', 'partial', 'unconfirmed')",
        (commitment_id,),
    )


async def _agree(db: Tx, commitment_id: int, actor_id: int, now: datetime) -> None:
    """The commitment became agreed: its meeting's flag, and the promise it replaces amended."""
    await db.execute(
        "UPDATE commitments SET status = 'agreed', agreed_at = ? WHERE id = ?",
        (ts(now), commitment_id),
    )
    await db.execute(
        "UPDATE meetings SET agreement = 1 "
        "WHERE id = (SELECT meeting_id FROM commitments WHERE id = ?)",
        (commitment_id,),
    )
    row = await db.fetchone(
        "SELECT o.id, o.status FROM commitments k JOIN commitments o ON o.id = k.replaces "
        "WHERE k.id = ? AND o.status IN ('agreed', 'pending_approval')",
        (commitment_id,),
    )
    if row is not None:
        await _end(db, row[0], "amended", f"replaced by {commitment_id}", actor_id, now)


async def _end(
    db: Tx, commitment_id: int, status: str, reason: str | None, actor_id: int, now: datetime
) -> None:
    """End a commitment: its open instalments cancelled, a request still waiting withdrawn."""
    await db.execute(
        "UPDATE commitments SET status = ?, end_reason = ?, ended_at = ?, ended_by = ? "
        "WHERE id = ?",
        (status, reason, ts(now), actor_id, commitment_id),
    )
    await _end_instalments(db, commitment_id)
    await retire_reminders(db, commitment_id=commitment_id, now=now)
    await db.execute(
        "UPDATE approvals SET status = 'withdrawn', answered_at = ? "
        "WHERE commitment_id = ? AND status = 'pending'",
        (ts(now), commitment_id),
    )


class SqlCommitments(Engine):
    """The /outcome, /commit and approval verbs."""

    # -- meetings ----------------------------------------------------------------------------

    async def add_meeting(
        self,
        viewer: User,
        case_id: int,
        meeting: NewMeeting,
        payment: NewPayment | None,
        *,
        now: datetime,
        key: str | None = None,
    ) -> Meeting | None:
        """Record a meeting of a case ``viewer`` may see, with its payment and last contact.

        None (nothing written) if not theirs; a ``prep_id`` of another case is stored as none;
        with ``key``, a meeting already stored under it is returned instead of a second one.
        """
        where, params = _scope(viewer)
        async with self._tx() as db:
            done = await db.effect(key)
            if done is not None:
                row = await db.fetchone(_MEETING_SQL + "WHERE m.id = ?", (done["meeting_id"],))
                return None if row is None else _meeting(row)
            case = await db.fetchone(
                f"SELECT c.id FROM cases c WHERE c.id = ? AND {where}", [case_id, *params]
            )
            if case is None:
                return None
            cur = await db.insert(
                "INSERT INTO meetings (case_id, author_id, prep_id, at, held_on, kind, venue, "
                "attendees, step_achieved, moved, stance, next_step, next_on) VALUES "
                "(?1, ?2, (SELECT id FROM preps WHERE id = ?3 AND case_id = ?1), "
                "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                (
                    case_id,
                    viewer.id,
                    meeting.prep_id,
                    ts(now),
                    _day(meeting.held_on),
                    meeting.kind,
                    meeting.venue,
                    meeting.attendees,
                    None if meeting.step_achieved is None else meeting.step_achieved.value,
                    meeting.moved,
                    meeting.stance,
                    meeting.next_step,
                    _day(meeting.next_on),
                ),
            )
            meeting_id = cur
            if payment is not None:
                await db.execute(
                    "INSERT INTO payments (case_id, meeting_id, amount, channel, "
                    "receipt_file_id, received_on, recorded_at, recorded_by, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'outcome')",
                    (
                        case_id,
                        meeting_id,
                        payment.amount,
                        None if payment.channel is None else payment.channel.value,
                        payment.receipt_file_id,
                        _day(payment.received_on),
                        ts(now),
                        viewer.id,
                    ),
                )
                # The money pays the case's open instalments, oldest first (issue 10).
                await settle_from_payment(db, case_id, payment.amount, now, actor_id=viewer.id)
            await db.execute(
                "UPDATE cases SET last_contact_at = ? WHERE id = ? "
                "AND (last_contact_at IS NULL OR last_contact_at < ?)",
                (ts(now), case_id, ts(now)),
            )
            await db.audit(
                now,
                viewer.id,
                "meeting",
                "case",
                case_id,
                {"meeting_id": meeting_id, "paid": None if payment is None else payment.amount},
            )
            await db.record_effect(key, {"meeting_id": meeting_id}, now)
            row = await db.fetchone(_MEETING_SQL + "WHERE m.id = ?", (meeting_id,))
        assert row is not None
        return _meeting(row)

    async def meetings_of(self, case_id: int, *, limit: int = 10) -> list[Meeting]:
        """The case's meetings, newest first (callers check access through get_case)."""
        rows = await self._fetchall(
            _MEETING_SQL + "WHERE m.case_id = ? ORDER BY m.at DESC, m.id DESC LIMIT ?",
            (case_id, limit),
        )
        return [_meeting(r) for r in rows]

    async def next_steps_due(
        self, viewer: User, *, since: date, until: date, limit: int = 10
    ) -> list[StepDue]:
        where, params = _scope(viewer)
        rows = await self._fetchall(
            "SELECT c.id, c.borrower_name, c.contract_no, m.next_step, m.next_on "
            "FROM meetings m JOIN cases c ON c.id = m.case_id "
            "WHERE m.next_on BETWEEN ? AND ? AND m.id = (SELECT n.id FROM meetings n "
            "WHERE n.case_id = m.case_id ORDER BY n.at DESC, n.id DESC LIMIT 1) "
            f"AND c.status NOT IN ('settled', 'written_off') AND {where} "
            "ORDER BY m.next_on, c.id LIMIT ?",
            [since.isoformat(), until.isoformat(), *params, limit],
        )
        return [StepDue(r[0], r[1] or "", r[2] or "", r[3], date.fromisoformat(r[4])) for r in rows]

    async def meetings_without_agreement(self, case_id: int) -> int:
        """Meetings since the case's last commitment became agreed (策略2), all if none did."""
        row = await self._fetchone(
            "SELECT COUNT(*) FROM meetings m WHERE m.case_id = ?1 AND m.agreement = 0 "
            "AND m.at > COALESCE((SELECT MAX(k.agreed_at) FROM commitments k "
            "WHERE k.case_id = ?1), '')",
            (case_id,),
        )
        return int(row[0]) if row else 0

    # -- commitments -------------------------------------------------------------------------

    async def add_commitment(
        self,
        viewer: User,
        case_id: int,
        commitment: NewCommitment,
        *,
        needs_approval: frozenset[ApprovalReason],
        proposal: dict[str, Any],
        flow_id: int | None,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
        replaces: int | None = None,
        key: str | None = None,
        today: date | None = None,
        reminders: ReminderPolicy | None = None,
    ) -> Commitment | None:
        """Store a commitment with everything it implies, in one transaction.

        Refused (None, nothing written): a case the viewer may not see; a party, meeting or
        replaced commitment that is not this case's. The replaced commitment is amended when
        the new one is agreed — now, or when the supervisor approves it. Money today is
        recorded as a payment only with a channel and above 0, received on ``today`` (else
        the meeting's date, else the UTC date of ``now``: pass ``today``).
        """
        where, params = _scope(viewer)
        async with self._tx() as db:
            done = await db.effect(key)
            if done is not None:
                return await _one_commitment(db, int(done["commitment_id"]))
            case = await db.fetchone(
                f"SELECT c.id, c.team_id FROM cases c WHERE c.id = ? AND {where}",
                [case_id, *params],
            )
            if case is None:
                return None
            if needs_approval and flow_id is not None:
                # The flow asked already and was killed before it kept the answer's id: the
                # step coming again finds that request, never writes a second one.
                asked = await db.fetchone(
                    "SELECT commitment_id FROM approvals WHERE flow_id = ? AND case_id = ? "
                    "AND status = 'pending' AND commitment_id IS NOT NULL",
                    (flow_id, case_id),
                )
                if asked is not None:
                    await db.record_effect(key, {"commitment_id": asked[0]}, now)
                    return await _one_commitment(db, int(asked[0]))
            held_on: str | None = None
            if commitment.meeting_id is not None:
                row = await db.fetchone(
                    "SELECT held_on FROM meetings WHERE id = ? AND case_id = ?",
                    (commitment.meeting_id, case_id),
                )
                if row is None:
                    return None
                held_on = row[0]
            if (
                commitment.promised_by_party is not None
                and await db.fetchone(
                    "SELECT 1 FROM case_parties WHERE id = ? AND case_id = ?",
                    (commitment.promised_by_party, case_id),
                )
                is None
            ):
                return None
            if (
                replaces is not None
                and await db.fetchone(
                    "SELECT 1 FROM commitments WHERE id = ? AND case_id = ?", (replaces, case_id)
                )
                is None
            ):
                return None
            pay = commitment.money_channel is not None and commitment.money_today > 0
            # The local date is the caller's to give (storage knows no zone); the UTC date is
            # only the last resort, wrong for the hours around local midnight.
            received_on = _day(today) or held_on or now.astimezone(UTC).date().isoformat()
            waits = bool(needs_approval)
            status = CommitmentStatus.PENDING_APPROVAL if waits else CommitmentStatus.AGREED
            cur = await db.insert(
                "INSERT INTO commitments (case_id, meeting_id, created_by, created_at, "
                "promised_by_party, money_today, total, plan, status, replaces) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    case_id,
                    commitment.meeting_id,
                    viewer.id,
                    ts(now),
                    commitment.promised_by_party,
                    commitment.money_today,
                    sum(i.amount for i in commitment.instalments),
                    json.dumps(commitment.plan, ensure_ascii=False),
                    status.value,
                    replaces,
                ),
            )
            commitment_id = cur
            await db.executemany(
                "INSERT INTO instalments (commitment_id, seq, due_on, amount) VALUES (?, ?, ?, ?)",
                [
                    (commitment_id, seq, i.due_on.isoformat(), i.amount)
                    for seq, i in enumerate(commitment.instalments, start=1)
                ],
            )
            if pay:
                assert commitment.money_channel is not None
                await db.execute(
                    "INSERT INTO payments (case_id, meeting_id, commitment_id, amount, channel, "
                    "received_on, recorded_at, recorded_by, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'commit')",
                    (
                        case_id,
                        commitment.meeting_id,
                        commitment_id,
                        commitment.money_today,
                        commitment.money_channel.value,
                        received_on,
                        ts(now),
                        viewer.id,
                    ),
                )
                # Money today pays what was still open of earlier promises (the one it
                # amends, oldest first), never this plan's own instalments.
                await settle_from_payment(
                    db,
                    case_id,
                    commitment.money_today,
                    now,
                    actor_id=viewer.id,
                    exclude_commitment=commitment_id,
                )
            approval_id: int | None = None
            if waits:
                approval_id = await _insert_approval(
                    db,
                    case_id,
                    case[1],
                    viewer,
                    needs_approval,
                    proposal,
                    flow_id,
                    commitment_id,
                    now,
                )
                await db.execute(
                    "UPDATE commitments SET approval_id = ? WHERE id = ?",
                    (approval_id, commitment_id),
                )
            else:
                await _agree(db, commitment_id, viewer.id, now)
                await add_reminders(db, commitment_id, reminders, now)
            await db.execute(
                "UPDATE cases SET last_contact_at = ? WHERE id = ? "
                "AND (last_contact_at IS NULL OR last_contact_at < ?)",
                (ts(now), case_id, ts(now)),
            )
            await _call(db, notify, now, approval_id=approval_id, commitment_id=commitment_id)
            await db.audit(
                now,
                viewer.id,
                "commitment",
                "case",
                case_id,
                {
                    "commitment_id": commitment_id,
                    "status": status.value,
                    "total": sum(i.amount for i in commitment.instalments),
                    "money_today": commitment.money_today,
                    "instalments": len(commitment.instalments),
                    "approval_id": approval_id,
                    "replaces": replaces,
                },
            )
            await db.record_effect(key, {"commitment_id": commitment_id}, now)
            found = await _one_commitment(db, commitment_id)
        assert found is not None
        return found

    async def get_commitment(self, commitment_id: int) -> Commitment | None:
        async with self._tx() as db:
            return await _one_commitment(db, commitment_id)

    async def commitments_of(self, case_id: int, *, limit: int = 10) -> list[Commitment]:
        """The case's commitments (every status: the history), newest first."""
        async with self._tx() as db:
            return await _commitments(
                db,
                "WHERE k.case_id = ? ORDER BY k.created_at DESC, k.id DESC LIMIT ?",
                (case_id, limit),
            )

    async def cancel_commitment(
        self,
        viewer: User,
        commitment_id: int,
        reason: str,
        *,
        now: datetime,
        key: str | None = None,
    ) -> Commitment | None:
        """Cancel an agreed or waiting commitment of a case ``viewer`` may see; None if not
        theirs or already ended. History is kept: status, reason, who and when."""
        where, params = _scope(viewer)
        async with self._tx() as db:
            done = await db.effect(key)
            if done is not None:
                return await _one_commitment(db, int(done["commitment_id"]))
            row = await db.fetchone(
                "SELECT k.case_id FROM commitments k JOIN cases c ON c.id = k.case_id "
                "WHERE k.id = ? AND k.status IN ('agreed', 'pending_approval') "
                f"AND {where}",
                [commitment_id, *params],
            )
            if row is None:
                return None
            await _end(db, commitment_id, "cancelled", reason, viewer.id, now)
            await db.audit(
                now,
                viewer.id,
                "commitment_cancel",
                "case",
                row[0],
                {"commitment_id": commitment_id, "reason": reason},
            )
            await db.record_effect(key, {"commitment_id": commitment_id}, now)
            return await _one_commitment(db, commitment_id)

    # -- approvals ---------------------------------------------------------------------------

    async def request_approval(
        self,
        viewer: User,
        case_id: int,
        reasons: frozenset[ApprovalReason],
        proposal: dict[str, Any],
        *,
        flow_id: int | None,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
        key: str | None = None,
    ) -> Approval | None:
        """A request not tied to a commitment, pending for the case's team; None if not theirs."""
        where, params = _scope(viewer)
        async with self._tx() as db:
            done = await db.effect(key)
            if done is not None:
                return await _one_approval(db, int(done["approval_id"]))
            case = await db.fetchone(
                f"SELECT c.id, c.team_id FROM cases c WHERE c.id = ? AND {where}",
                [case_id, *params],
            )
            if case is None:
                return None
            approval_id = await _insert_approval(
                db, case_id, case[1], viewer, reasons, proposal, flow_id, None, now
            )
            await _call(db, notify, now, approval_id=approval_id)
            await db.record_effect(key, {"approval_id": approval_id}, now)
            return await _one_approval(db, approval_id)

    async def get_approval(self, approval_id: int) -> Approval | None:
        row = await self._fetchone(_APPROVAL_SQL + "WHERE a.id = ?", (approval_id,))
        return None if row is None else _approval(row)

    async def pending_approval_of_flow(self, flow_id: int) -> Approval | None:
        """The request a collector's flow is still waiting on, if any."""
        row = await self._fetchone(
            _APPROVAL_SQL + "WHERE a.flow_id = ? AND a.status = 'pending' ORDER BY a.id DESC",
            (flow_id,),
        )
        return None if row is None else _approval(row)

    async def withdraw_approval(
        self,
        approval_id: int,
        *,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
    ) -> Approval | None:
        """Withdraw a request still waiting, its pending commitment cancelled, ``notify``
        written with it; None (nothing changed) once it was answered or withdrawn."""
        async with self._tx() as db:
            row = await db.fetchone(
                "SELECT a.commitment_id, a.requested_by, a.case_id FROM approvals a "
                "WHERE a.id = ? AND a.status = 'pending'",
                (approval_id,),
            )
            if row is None:
                return None
            commitment_id, requested_by, case_id = row
            await db.execute(
                "UPDATE approvals SET status = 'withdrawn', answered_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (ts(now), approval_id),
            )
            if commitment_id is not None:
                await db.execute(
                    "UPDATE commitments SET status = 'cancelled', end_reason = 'withdrawn', "
                    "ended_at = ?, ended_by = ? WHERE id = ? AND status = 'pending_approval'",
                    (ts(now), requested_by, commitment_id),
                )
                await _end_instalments(db, commitment_id)
                await retire_reminders(db, commitment_id=commitment_id, now=now)
            await db.audit(
                now,
                requested_by,
                "approval_withdrawn",
                "case",
                case_id,
                {"approval_id": approval_id, "commitment_id": commitment_id},
            )
            await _call(db, notify, now, approval_id=approval_id)
            found = await db.fetchone(_APPROVAL_SQL + "WHERE a.id = ?", (approval_id,))
        return None if found is None else _approval(found)

    async def answer_approval(
        self,
        supervisor: User,
        approval_id: int,
        status: ApprovalStatus,
        *,
        counter: dict[str, Any] | None,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
        reminders: ReminderPolicy | None = None,
    ) -> Approval | None:
        """Answer a pending approval once (compare-and-set), only for the supervisor's team
        (admins: any); None and nothing changed otherwise."""
        if status not in _ANSWERS:
            raise ValueError(f"an approval is answered approved, rejected or countered: {status}")
        if supervisor.role not in (Role.SUPERVISOR, Role.ADMIN):
            return None
        where, params = _scope(supervisor)
        async with self._tx() as db:
            cur = await db.execute(
                "UPDATE approvals SET status = ?, answered_by = ?, answered_at = ?, counter = ? "
                "WHERE id = ? AND status = 'pending' AND case_id IN "
                f"(SELECT c.id FROM cases c WHERE {where})",
                [
                    status.value,
                    supervisor.id,
                    ts(now),
                    None if counter is None else json.dumps(counter, ensure_ascii=False),
                    approval_id,
                    *params,
                ],
            )
            if cur.rowcount != 1:
                return None
            row = await db.fetchone(
                "SELECT a.case_id, a.commitment_id FROM approvals a "
                "JOIN commitments k ON k.id = a.commitment_id "
                "WHERE a.id = ? AND k.status = 'pending_approval'",
                (approval_id,),
            )
            if row is not None:
                if status is ApprovalStatus.APPROVED:
                    await _agree(db, row[1], supervisor.id, now)
                    await add_reminders(db, row[1], reminders, now)
                else:
                    await _end(db, row[1], "rejected", status.value, supervisor.id, now)
            await _call(
                db,
                notify,
                now,
                approval_id=approval_id,
                commitment_id=None if row is None else row[1],
            )
            found = await _one_approval(db, approval_id)
            assert found is not None
            await db.audit(
                now,
                supervisor.id,
                "approval_answer",
                "case",
                found.case_id,
                {
                    "approval_id": approval_id,
                    "status": status.value,
                    "commitment_id": found.commitment_id,
                    "counter": counter,
                },
            )
        return found

    async def pending_approvals(self, *, team_id: int | None) -> list[Approval]:
        """Unanswered requests of a team (all teams: None), oldest first."""
        if team_id is None:
            rows = await self._fetchall(
                _APPROVAL_SQL + "WHERE a.status = 'pending' ORDER BY a.requested_at, a.id"
            )
        else:
            rows = await self._fetchall(
                _APPROVAL_SQL + "WHERE a.status = 'pending' AND a.team_id = ? "
                "ORDER BY a.requested_at, a.id",
                (team_id,),
            )
        return [_approval(r) for r in rows]

    async def approvals_to_remind(self, *, asked_before: datetime) -> list[Approval]:
        """Pending, never reminded, asked before ``asked_before``; oldest first."""
        rows = await self._fetchall(
            _APPROVAL_SQL + "WHERE a.status = 'pending' AND a.reminded_at IS NULL "
            "AND a.requested_at < ? ORDER BY a.requested_at, a.id",
            (ts(asked_before),),
        )
        return [_approval(r) for r in rows]

    async def remind_approval(
        self,
        approval_id: int,
        *,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
    ) -> bool:
        """Mark it reminded and write the calls in one transaction, once (compare-and-set)."""
        async with self._tx() as db:
            cur = await db.execute(
                "UPDATE approvals SET reminded_at = ? WHERE id = ? AND status = 'pending' "
                "AND reminded_at IS NULL",
                (ts(now), approval_id),
            )
            if cur.rowcount != 1:
                return False
            await _call(db, notify, now, approval_id=approval_id)
        return True


async def _insert_approval(
    db: Tx,
    case_id: int,
    team_id: int,
    viewer: User,
    reasons: frozenset[ApprovalReason],
    proposal: dict[str, Any],
    flow_id: int | None,
    commitment_id: int | None,
    now: datetime,
) -> int:
    cur = await db.insert(
        "INSERT INTO approvals (case_id, team_id, requested_by, requested_at, reasons, "
        "proposal, flow_id, commitment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            case_id,
            team_id,
            viewer.id,
            ts(now),
            ",".join(sorted(r.value for r in reasons)),
            json.dumps(proposal, ensure_ascii=False),
            flow_id,
            commitment_id,
        ),
    )
    await db.audit(
        now,
        viewer.id,
        "approval_request",
        "case",
        case_id,
        {
            "approval_id": cur,
            "commitment_id": commitment_id,
            "reasons": sorted(r.value for r in reasons),
        },
    )
    return cur
