"""Case verbs of the storage: imports, the queue, the case card, notes, lead changes.

A mixin over the shared engine that :class:`bot.storage.stores.SqliteStorage` composes. Every
read that a person triggers takes the ``viewer`` and filters in SQL (a collector: own cases; a
supervisor: the team's; an admin: all), so a forged id finds nothing rather than someone else's
case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from bot.domain.casefile import (
    CaseFile,
    CaseNote,
    CaseSummary,
    LeadChange,
    LeadReason,
    PartyRecord,
    PrepRecord,
    local_date,
    may_assign,
    parse_deterioration,
    parse_ledger_gaps,
)
from bot.domain.cases import (
    Attitude,
    Borrower,
    Case,
    CaseStatus,
    Loan,
    PartyRole,
    RelatedParty,
    Security,
)
from bot.domain.importing import (
    CollectorRef,
    ImportPlan,
    StoredCase,
    collector_matcher,
    stage_row,
)
from bot.domain.ledger import LedgerField
from bot.domain.legal import nearest_end
from bot.domain.people import User
from bot.domain.prep import Approach, PrepAnswers
from bot.domain.queue import queue_key
from bot.domain.urgency import Deterioration
from bot.storage.connector import ID_VALUE, Program, all_, many
from bot.storage.records import ImportRecord, NewOutboxMessage
from bot.storage.stores.base import Tx, dt, ts
from bot.storage.stores.imports import SqlImports
from bot.storage.stores.legal import refresh_legal_ends, refresh_legal_in_tx
from bot.storage.stores.scope import _OPEN_ONLY as _OPEN_ONLY
from bot.storage.stores.scope import _scope as _scope

__all__ = ["SqlCases"]

#: How many notes and lead changes the card loads (newest first).
CARD_HISTORY = 5


def _d(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


_SUMMARY_COLUMNS = """
    c.id, c.contract_no, c.borrower_name, c.borrower_phone, c.status, c.team_id, t.name,
    c.lead_id, u.name, c.principal_outstanding, c.overdue_principal, c.overdue_interest,
    c.overdue_since, c.previous_overdue_amount, c.collateral_value, c.deterioration,
    c.strong_guarantor, c.high_default_cost, c.last_contact_at,
    c.guarantees <> '' OR EXISTS (SELECT 1 FROM case_parties g
                                  WHERE g.case_id = c.id AND g.role = 'guarantor'),
    COALESCE(c.collateral_description, '') <> '' OR COALESCE(c.collateral_value, 0) > 0,
    c.ledger_gaps,
    (SELECT group_concat(i.due_on) FROM instalments i JOIN commitments m
       ON m.id = i.commitment_id
     WHERE m.case_id = c.id AND m.status = 'agreed' AND i.status IN ('open', 'unconfirmed')),
    (SELECT COUNT(*) FROM instalments i JOIN commitments m ON m.id = i.commitment_id
     WHERE m.case_id = c.id AND i.status = 'broken'),
    (SELECT COUNT(*) FROM instalments i JOIN commitments m ON m.id = i.commitment_id
     WHERE m.case_id = c.id AND i.status = 'partial'),
    (SELECT COALESCE(SUM(p.amount), 0) FROM payments p WHERE p.case_id = c.id AND CASE
       WHEN c.ledger_as_of IS NOT NULL THEN p.received_on > c.ledger_as_of
       ELSE p.recorded_at > COALESCE(c.figures_at, c.imported_at) END),
    c.legal_ends
"""
#: How many columns _SUMMARY_COLUMNS reads (a case file's own columns follow them).
_SUMMARY_WIDTH = 27
_SUMMARY_FROM = "cases c JOIN teams t ON t.id = c.team_id LEFT JOIN users u ON u.id = c.lead_id"


def _summary(r: Sequence[Any]) -> CaseSummary:
    return CaseSummary(
        id=r[0],
        contract_no=r[1],
        borrower_name=r[2],
        borrower_phone=r[3],
        status=CaseStatus(r[4]),
        team_id=r[5],
        team_name=r[6],
        lead_id=r[7],
        lead_name=r[8],
        principal_outstanding=r[9],
        overdue_principal=r[10],
        overdue_interest=r[11],
        overdue_since=date.fromisoformat(r[12]),
        previous_overdue_amount=r[13],
        collateral_value=r[14],
        deterioration=parse_deterioration(r[15]),
        strong_guarantor=bool(r[16]),
        high_default_cost=bool(r[17]),
        last_contact_at=dt(r[18]),
        has_guarantor=bool(r[19]),
        has_collateral=bool(r[20]),
        ledger_gaps=parse_ledger_gaps(r[21]),
        promise_dates=tuple(sorted(date.fromisoformat(d) for d in (r[22] or "").split(",") if d)),
        broken_promises=r[23],
        partial_promises=r[24],
        paid_since_figures=r[25],
        legal_ends=tuple(date.fromisoformat(d) for d in (r[26] or "").split(",") if d),
    )


PREP_SQL = (
    "SELECT p.id, p.case_id, p.at, p.author_id, u.name, p.answers, p.approach, "
    "p.previous_approach, p.approach_reason FROM preps p LEFT JOIN users u ON u.id = p.author_id "
)


def _prep(r: Sequence[Any]) -> PrepRecord:
    return PrepRecord(
        id=r[0],
        case_id=r[1],
        at=datetime.fromisoformat(r[2]),
        author_id=r[3],
        author_name=r[4],
        answers=PrepAnswers.from_json(json.loads(r[5])),
        approach=Approach(r[6]),
        previous_approach=None if r[7] is None else Approach(r[7]),
        approach_reason=r[8],
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlCases(SqlImports):
    """The case verbs: imports, the queue, the case card, notes, lead changes."""

    # -- imports ---------------------------------------------------------------------------

    async def create_import(
        self,
        *,
        team_id: int | None,
        created_by: int | None,
        file_name: str,
        data: bytes | None,
        now: datetime,
    ) -> int:
        """Keep an uploaded file until it is imported or cancelled (survives a restart)."""
        async with self._tx() as db:
            cur = await db.insert(
                "INSERT INTO imports (team_id, created_by, created_at, file_name, data) "
                "VALUES (?, ?, ?, ?, ?)",
                (team_id, created_by, ts(now), file_name, data),
            )
            return cur

    async def get_import(self, import_id: int) -> ImportRecord | None:
        row = await self._fetchone(
            "SELECT i.id, i.team_id, t.name, i.created_by, i.created_at, i.file_name, i.data, "
            "i.status, i.summary FROM imports i LEFT JOIN teams t ON t.id = i.team_id "
            "WHERE i.id = ?",
            (import_id,),
        )
        if row is None:
            return None
        return ImportRecord(
            id=row[0],
            team_id=row[1],
            team_name=row[2],
            created_by=row[3],
            created_at=datetime.fromisoformat(row[4]),
            file_name=row[5],
            data=None if row[6] is None else bytes(row[6]),
            status=row[7],
            summary=json.loads(row[8]),
        )

    async def set_import_team(self, import_id: int, team_id: int) -> bool:
        """An admin chose the team of a pending import; False if it is no longer pending."""
        async with self._tx() as db:
            cur = await db.execute(
                "UPDATE imports SET team_id = ? WHERE id = ? AND status = 'pending'",
                (team_id, import_id),
            )
            return cur.rowcount > 0

    async def record_preview(self, import_id: int, summary: dict[str, int]) -> None:
        async with self._tx() as db:
            await db.execute(
                "UPDATE imports SET summary = ? WHERE id = ?", (json.dumps(summary), import_id)
            )

    async def cancel_import(self, import_id: int, *, actor_id: int | None, now: datetime) -> bool:
        """Drop a pending import (and its file); False if it was already decided."""
        async with self._tx() as db:
            cur = await db.execute(
                "UPDATE imports SET status = 'cancelled', data = NULL, decided_by = ?, "
                "decided_at = ? WHERE id = ? AND status = 'pending'",
                (actor_id, ts(now), import_id),
            )
            if cur.rowcount:
                await db.audit(now, actor_id, "cancel", "import", import_id, {})
            return cur.rowcount > 0

    async def import_snapshot(self) -> dict[str, StoredCase]:
        """Every stored case by its key (借据号 or 合同号): what an import plan compares against."""
        return _snapshot(await self._fetchall(_SNAPSHOT_SQL))

    async def collector_refs(self, team_id: int) -> list[CollectorRef]:
        """The team's active collectors, for matching the ledger's collector column: by the
        name on the cooperative's books (``staff_name``), never the Telegram display name."""
        return _collector_refs(await self._fetchall(_COLLECTORS_SQL, (team_id,)))

    async def apply_import(
        self,
        plan: ImportPlan,
        *,
        import_id: int,
        actor_id: int | None,
        now: datetime,
        notify: bool = True,
        tz: tzinfo | None = None,
    ) -> dict[str, int] | None:
        """Write ``plan`` in one transaction; ``None`` if the import is no longer pending (a
        second press of "Import", or a cancel that came first).

        With the cooperative's ``tz``, the queue's sort keys of the cases written are worked
        out in the same transaction (issue 17); without it, the first read of the queue does it.

        The plan is made again inside the transaction (``BEGIN IMMEDIATE``: no other writer in
        between) against the cases and collectors as they are now, so an import or /assign
        since the dry run cannot make an INSERT collide or a lead change be recorded twice.

        New cases are inserted; updated ones get the ledger's fields. The growth signal
        (``previous_overdue_amount``) moves to the stored amount only for a newer export: a
        different 数据日期 when the row has one, else a different amount — so sending the same
        file twice keeps "debt growing". The lead is set only where there is none (``WHERE
        lead_id IS NULL``), with one history row each. Related parties from the ledger are
        upserted (a phone-only party keyed by its phone; a corrected phone replaces the stored
        one only while that is still the ledger's); parties the ledger no longer lists are
        marked ``in_ledger = 0``, not deleted; collectors' attitudes and notes stay. Each
        collector who got new cases is told once (outbox, same transaction; not with
        ``notify=False``, for the sandbox's demo cases). Batch statements
        only: one ``executemany`` per kind of write, never one awaited statement per row.
        """
        if plan.counts is not None:
            raise ValueError("a plan without its rows is for showing only; plan the file again")
        parsed = plan.parsed
        rows = parsed.rows if parsed is not None else [p.row for p in plan.rows]
        keys = parsed.keys if parsed is not None else {p.row.loan.contract_no for p in plan.rows}
        parser_errors = list(parsed.errors) if parsed is not None else list(plan.errors)
        async with self.importing(
            team_id=plan.team_id,
            import_id=import_id,
            file_name="",
            actor_id=actor_id,
            now=now,
            write=True,
            notify=notify,
        ) as sink:
            if sink is None:
                return None
            match = collector_matcher(await sink.collectors())
            done = await sink.add(
                [stage_row(r, match) for r in rows],
                key_field=plan.key_field,
                has_collector_column=LedgerField.COLLECTOR in plan.columns,
            )
            summary = {
                "new": len(done.new),
                "updated": len(done.updated),
                "unchanged": len(done.unchanged),
                "refused": len({e.line for e in (*parser_errors, *done.errors)}),
                "no_lead": len(done.warnings),
            }
            result = await sink.finish(keys=sorted(keys), columns=plan.columns, summary=summary)
        if tz is not None and result is not None:
            # The queue's sort keys of the cases written (the triggers marked them stale).
            async with self._tx() as db:
                await refresh_in(db, today=local_date(now, tz), tz=tz)
        return result

    # -- reading cases ---------------------------------------------------------------------

    async def list_cases(
        self, viewer: User, *, include_closed: bool = False, team_id: int | None = None
    ) -> list[CaseSummary]:
        """The cases ``viewer`` may see (open ones unless ``include_closed``), by id."""
        where, params = _scope(viewer)
        if not include_closed:
            where += f" AND {_OPEN_ONLY}"
        if team_id is not None:
            where += " AND c.team_id = ?"
            params.append(team_id)
        await self._fresh_legal(where, params)
        rows = await self._fetchall(
            f"SELECT {_SUMMARY_COLUMNS} FROM {_SUMMARY_FROM} WHERE {where} ORDER BY c.id", params
        )
        return [_summary(r) for r in rows]

    async def _fresh_legal(self, where: str, params: Sequence[Any]) -> None:
        """Bring the stored clock ends of the cases ``where`` selects up to date (issue 19), so
        the summaries read next score as the queue does."""
        await self._run(refresh_legal_in_tx(where, params))

    async def find_cases(self, viewer: User, query: str, *, limit: int = 20) -> list[CaseSummary]:
        """Cases ``viewer`` may see whose contract number, borrower name or phone contains
        ``query``; an exact contract number comes first, then by name."""
        text = query.strip()
        if not text:
            return []
        where, params = _scope(viewer)
        like = _like(text)
        rows = await self._fetchall(
            f"SELECT {_SUMMARY_COLUMNS} FROM {_SUMMARY_FROM} WHERE {where} AND ("
            "lower(c.contract_no) = lower(?) OR c.contract_no LIKE ? ESCAPE '\\' "
            "OR c.borrower_name LIKE ? ESCAPE '\\' OR c.borrower_phone LIKE ? ESCAPE '\\') "
            "ORDER BY lower(c.contract_no) = lower(?) DESC, c.borrower_name, c.id LIMIT ?",
            [*params, text, like, like, like, text, limit],
        )
        return [_summary(r) for r in rows]

    async def get_case(self, viewer: User, case_id: int) -> CaseFile | None:
        """The whole case file, or ``None`` when it does not exist or ``viewer`` may not see
        it (the two are not told apart: a forged id learns nothing)."""
        where, params = _scope(viewer)
        await self._fresh_legal("c.id = ?", [case_id])
        row = await self._fetchone(
            f"SELECT {_SUMMARY_COLUMNS}, c.borrower_id_number, c.borrower_address, "
            "c.borrower_business, c.product, c.maturity, c.guarantees, "
            "c.collateral_description, c.created_at, c.imported_at "
            f"FROM {_SUMMARY_FROM} WHERE c.id = ? AND {where}",
            [case_id, *params],
        )
        if row is None:
            return None
        summary = _summary(row)
        extra = row[_SUMMARY_WIDTH:]
        party_rows = await self._fetchall(
            "SELECT id, role, name, phone, relationship, attitude, notes FROM case_parties "
            "WHERE case_id = ? ORDER BY CASE role WHEN 'spouse' THEN 0 WHEN 'guarantor' THEN 1 "
            "WHEN 'mortgagor' THEN 2 ELSE 3 END, id",
            (case_id,),
        )
        parties = tuple(
            PartyRecord(
                r[0],
                RelatedParty(PartyRole(r[1]), r[2], r[3], r[4], Attitude(r[5]), r[6]),
            )
            for r in party_rows
        )
        note_rows = await self._fetchall(
            "SELECT n.at, n.author_id, u.name, n.text FROM case_notes n "
            "LEFT JOIN users u ON u.id = n.author_id WHERE n.case_id = ? "
            "ORDER BY n.at DESC, n.id DESC LIMIT ?",
            (case_id, CARD_HISTORY),
        )
        notes = tuple(CaseNote(datetime.fromisoformat(r[0]), r[1], r[2], r[3]) for r in note_rows)
        lead_rows = await self._fetchall(_LEADS_SQL, (case_id, CARD_HISTORY))
        leads = tuple(_lead_change(r) for r in lead_rows)
        prep_rows = await self._fetchall(
            PREP_SQL + "WHERE p.case_id = ? ORDER BY p.at DESC, p.id DESC LIMIT ?",
            (case_id, CARD_HISTORY),
        )
        case = Case(
            borrower=Borrower(
                summary.borrower_name, extra[0], summary.borrower_phone, extra[1], extra[2]
            ),
            loan=Loan(
                contract_no=summary.contract_no,
                overdue_principal=summary.overdue_principal,
                overdue_since=summary.overdue_since,
                principal_outstanding=summary.principal_outstanding,
                overdue_interest=summary.overdue_interest,
                product=extra[3],
                maturity=_d(extra[4]),
            ),
            security=Security(extra[5], extra[6], summary.collateral_value),
            related_parties=tuple(p.party for p in parties),
            status=summary.status,
            lead_collector=None if summary.lead_id is None else str(summary.lead_id),
        )
        return CaseFile(
            summary=summary,
            case=case,
            parties=parties,
            notes=notes,
            leads=leads,
            created_at=datetime.fromisoformat(extra[7]),
            imported_at=datetime.fromisoformat(extra[8]),
            note_count=await self.count_notes(case_id),
            preps=tuple(_prep(r) for r in prep_rows),
        )

    async def count_notes(self, case_id: int) -> int:
        row = await self._fetchone("SELECT COUNT(*) FROM case_notes WHERE case_id = ?", (case_id,))
        return int(row[0])

    # -- collectors' records ---------------------------------------------------------------

    async def add_note(
        self, viewer: User, case_id: int, text: str, *, now: datetime, key: str | None = None
    ) -> bool:
        """Record a note on a case ``viewer`` may see; False (nothing written) otherwise.

        A note counts as contact with the case: it moves ``last_contact_at`` (the urgency
        score's "untouched" parts) in the same transaction, so the two never disagree. With
        ``key``, a note already stored under it is not stored again (True: it is there).
        """
        where, params = _scope(viewer)
        async with self._tx() as db:
            if await db.effect(key) is not None:
                return True
            row = await db.fetchone(
                f"SELECT c.id FROM cases c WHERE c.id = ? AND {where}", [case_id, *params]
            )
            if row is None:
                return False
            await db.record_effect(key, {"case_id": case_id}, now)
            await db.execute(
                "INSERT INTO case_notes (case_id, author_id, at, text) VALUES (?, ?, ?, ?)",
                (case_id, viewer.id, ts(now), text),
            )
            await db.execute(
                "UPDATE cases SET last_contact_at = ? WHERE id = ? "
                "AND (last_contact_at IS NULL OR last_contact_at < ?)",
                (ts(now), case_id, ts(now)),
            )
            await db.audit(now, viewer.id, "note", "case", case_id, {"chars": len(text)})
        return True

    async def add_party(
        self, case_id: int, party: RelatedParty, *, actor_id: int | None, now: datetime
    ) -> int:
        """Add a related party (or update the one with the same role and name)."""
        async with self._tx() as db:
            row = await db.fetchone(
                "INSERT INTO case_parties (case_id, role, name, phone, relationship, attitude, "
                "notes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT {_PARTY_KEY} DO UPDATE SET "
                "phone = COALESCE(excluded.phone, case_parties.phone), "
                "relationship = COALESCE(excluded.relationship, case_parties.relationship), "
                "attitude = excluded.attitude, notes = excluded.notes RETURNING id",
                (
                    case_id,
                    party.role.value,
                    party.name,
                    party.phone,
                    party.relationship,
                    party.attitude.value,
                    party.notes,
                    ts(now),
                ),
            )
            await db.audit(
                now,
                actor_id,
                "party",
                "case",
                case_id,
                {"role": party.role.value, "attitude": party.attitude.value},
            )
        assert row is not None
        return int(row[0])

    async def set_case_flags(
        self,
        case_id: int,
        *,
        deterioration: Iterable[Deterioration] = (),
        strong_guarantor: bool = False,
        high_default_cost: bool = False,
        status: CaseStatus | None = None,
        last_contact_at: datetime | None = None,
        actor_id: int | None,
        now: datetime,
    ) -> None:
        """Record what collectors learned that the ledger cannot say (urgency inputs)."""
        flags = ",".join(sorted(d.value for d in deterioration))
        async with self._tx() as db:
            await db.execute(
                "UPDATE cases SET deterioration = ?, strong_guarantor = ?, "
                "high_default_cost = ?, status = COALESCE(?, status), "
                "last_contact_at = COALESCE(?, last_contact_at) WHERE id = ?",
                (
                    flags,
                    int(strong_guarantor),
                    int(high_default_cost),
                    None if status is None else status.value,
                    None if last_contact_at is None else ts(last_contact_at),
                    case_id,
                ),
            )
            await db.audit(
                now,
                actor_id,
                "flags",
                "case",
                case_id,
                {
                    "deterioration": flags,
                    "strong_guarantor": strong_guarantor,
                    "high_default_cost": high_default_cost,
                },
            )

    async def assign_lead(
        self,
        actor: User,
        case_id: int,
        collector_id: int,
        reason: LeadReason,
        *,
        now: datetime,
        note: str | None = None,
        key: str | None = None,
    ) -> LeadChange | None:
        """Make ``collector_id`` the case's lead collector, record who, when and why, and tell
        the new lead and the previous one (outbox, same transaction). ``note`` is the
        supervisor's own words for :attr:`LeadReason.OTHER`.

        Returns ``None`` and writes nothing when ``actor`` may not assign in the case's team,
        the collector is not an active collector of that team, or is already the lead. With
        ``key``, a change already made under it is not made again: the case's latest lead
        change is returned instead.
        """
        async with self._tx() as db:
            if await db.effect(key) is not None:
                latest = await db.fetchall(_LEADS_SQL, (case_id, 1))
                return _lead_change(latest[0]) if latest else None
            row = await db.fetchone(
                "SELECT team_id, lead_id, contract_no, borrower_name FROM cases WHERE id = ?",
                (case_id,),
            )
            if row is None or not may_assign(actor, row[0]):
                return None
            team_id, previous, contract_no, borrower = row
            target = await db.fetchone(
                "SELECT name FROM users WHERE id = ? AND team_id = ? AND role = 'collector' "
                "AND active = 1",
                (collector_id, team_id),
            )
            if target is None or previous == collector_id:
                return None
            prev_row = None
            if previous is not None:
                prev_row = await db.fetchone("SELECT name FROM users WHERE id = ?", (previous,))
            await db.record_effect(key, {"case_id": case_id, "to": collector_id}, now)
            await db.execute("UPDATE cases SET lead_id = ? WHERE id = ?", (collector_id, case_id))
            await db.execute(
                "INSERT INTO case_leads (case_id, from_id, to_id, by_id, at, reason, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (case_id, previous, collector_id, actor.id, ts(now), reason.value, note),
            )
            await db.audit(
                now,
                actor.id,
                "assign",
                "case",
                case_id,
                {"from": previous, "to": collector_id, "reason": reason.value, "note": note},
            )
            params = {
                "contract_no": contract_no,
                "borrower": borrower,
                "by": actor.name,
                "reason": reason.value,
                "note": note,
                "case_id": case_id,
            }
            await db.enqueue(
                NewOutboxMessage(
                    collector_id,
                    "assign/notify_new",
                    {**params, "previous": prev_row[0] if prev_row else None},
                ),
                now=now,
            )
            if previous is not None:
                await db.enqueue(
                    NewOutboxMessage(
                        previous, "assign/notify_previous", {**params, "to": target[0]}
                    ),
                    now=now,
                )
        return LeadChange(
            now,
            previous,
            prev_row[0] if prev_row else None,
            collector_id,
            target[0],
            actor.id,
            actor.name,
            reason,
            note,
        )


_LEADS_SQL = (
    "SELECT l.at, l.from_id, f.name, l.to_id, t.name, l.by_id, b.name, l.reason, l.note "
    "FROM case_leads l LEFT JOIN users f ON f.id = l.from_id "
    "LEFT JOIN users t ON t.id = l.to_id LEFT JOIN users b ON b.id = l.by_id "
    "WHERE l.case_id = ? ORDER BY l.at DESC, l.id DESC LIMIT ?"
)


def _lead_change(r: Sequence[Any]) -> LeadChange:
    return LeadChange(
        datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], LeadReason(r[7]), r[8]
    )


#: The unique key of a related party (migration 0003): role and name, and for a party known
#: only by phone (empty name), the phone.
_PARTY_KEY = "(case_id, role, name, (CASE WHEN name = '' THEN ifnull(phone, '') ELSE '' END))"

_SNAPSHOT_SQL = (
    "SELECT contract_no, id, team_id, lead_id, ledger_hash, "
    "status IN ('settled', 'written_off') FROM cases"
)
_COLLECTORS_SQL = (
    "SELECT id, staff_name, username, telegram_id FROM users "
    "WHERE team_id = ? AND role = 'collector' AND active = 1 ORDER BY id"
)


def _snapshot(rows: Iterable[Any]) -> dict[str, StoredCase]:
    return {r[0]: StoredCase(r[1], r[2], r[3], r[4], bool(r[5])) for r in rows}


def _collector_refs(rows: Iterable[Any]) -> list[CollectorRef]:
    return [CollectorRef(r[0], r[1], r[2], r[3]) for r in rows]


# -- the queue's stored sort keys (issue 17; the verbs that read them: queue.py) -------------

#: Cases whose key is worked out in one statement batch.
_CHUNK = 2000
#: The open cases whose key must be worked out again on ?1 (a changed one has q_until ''): two
#: index ranges, not one scan of every case.
_STALE = (
    f"SELECT c.id FROM cases c WHERE {_OPEN_ONLY} AND c.q_until <= ?1 UNION "
    f"SELECT c.id FROM cases c WHERE {_OPEN_ONLY} AND c.q_from > ?1"
)


def refresh_sort_keys(
    today: date,
    tz: tzinfo,
    case_ids: Iterable[int] | None = None,
    *,
    limit: int | None = None,
) -> Program[int]:
    """Work out again the sort key of ``case_ids`` (default: every open case whose key changed
    or is not valid on ``today``, at most ``limit`` of them) inside the caller's transaction;
    how many were written.

    A program (:data:`bot.storage.connector.Program`): run it with ``db.run`` inside the
    write that changed the facts, or within a queue read's own transaction (SQLite runs it in
    one hop on its thread). A key whose order is unchanged (only its days moved) rewrites its
    days alone, which leaves the three queue indexes untouched.
    """
    day = today.isoformat()
    if case_ids is None:
        stale = _STALE if limit is None else f"{_STALE} LIMIT {int(limit)}"
        ids = [r[0] for r in (yield all_(stale, (day,)))]
    else:
        ids = list(case_ids)
    written = 0
    for start in range(0, len(ids), _CHUNK):
        # The clocks' ends the key's legal part reads, brought up to date first (issue 19).
        part = ids[start : start + _CHUNK]
        yield from refresh_legal_ends(f"c.id IN ({', '.join('?' * len(part))})", part)
        chunk = json.dumps(part)
        rows = yield all_(
            f"SELECT {_SUMMARY_COLUMNS}, c.q_score, c.q_since, c.q_owed, c.q_urgent "
            f"FROM {_SUMMARY_FROM} WHERE c.id IN (SELECT {ID_VALUE} FROM json_each(?))",
            (chunk,),
        )
        moved: list[tuple[Any, ...]] = []
        same: list[tuple[Any, ...]] = []
        for r in rows:
            key = _key_row(_summary(r), today, tz)
            (same if key[:4] == tuple(r[_SUMMARY_WIDTH:]) else moved).append(key)
        if moved:
            yield many(
                "UPDATE cases SET q_score = ?, q_since = ?, q_owed = ?, q_urgent = ?, "
                "q_from = ?, q_until = ?, legal_next = ? WHERE id = ?",
                moved,
            )
        if same:
            yield many(
                "UPDATE cases SET q_from = ?, q_until = ?, legal_next = ? WHERE id = ?",
                [k[4:] for k in same],
            )
        written += len(rows)
    return written


def _key_row(summary: CaseSummary, today: date, tz: tzinfo) -> tuple[Any, ...]:
    key = queue_key(summary.urgency_facts(tz), today)
    return (
        key.score,
        key.since.isoformat(),
        key.owed,
        int(key.urgent),
        key.valid_from.isoformat(),
        key.valid_until.isoformat(),
        # /today's legal list by index (issue 19): valid while the key is (it moves the day
        # after each clock's end).
        None if (nxt := nearest_end(summary.legal_ends, today)) is None else nxt.isoformat(),
        summary.id,
    )


async def refresh_in(
    db: Tx, *, today: date, tz: tzinfo, case_ids: Iterable[int] | None = None
) -> int:
    """:func:`refresh_sort_keys` inside the transaction ``db`` (a write's own): the hook a
    write that changed many cases (the import) calls before it commits."""
    return await db.run(refresh_sort_keys(today, tz, case_ids))
