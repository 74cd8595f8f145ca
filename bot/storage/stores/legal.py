"""Legal clocks' facts and papers (issue 19): guarantee facts, issued and filed documents, and the
batched read of everything :mod:`bot.domain.legal` needs for one case or a viewer's cases.

Interruptions come from what is stored already: agreed commitments (the day agreed, the last
instalment's date), payments of a positive amount (by the borrower, or by the party a
commitment was promised by), and filed documents. A meeting is not read: without signed paper it
is not a demand. The SQL is plain enough for PostgreSQL (RETURNING, ON CONFLICT, no JSON
functions); the read is seven statements whatever the number of cases (no N+1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from bot.domain.legal import (
    DocumentKind,
    GuaranteeKind,
    GuarantorFacts,
    LegalDocument,
    LegalEvent,
    LegalEventKind,
    LegalFacts,
    Suspension,
    clock_ends,
    document_event,
)
from bot.domain.people import User
from bot.storage.connector import Program, all_, done, many, one
from bot.storage.errors import StorageError
from bot.storage.stores.base import Engine, Tx, dt, ts
from bot.storage.stores.scope import _OPEN_ONLY, _scope

_DOC_COLUMNS = (
    "d.id, d.case_id, d.kind, d.party_id, p.name, d.commitment_id, d.issued_at, d.issued_by, "
    "d.signed_on, d.evidence_file_id, d.filed_by, d.filed_at"
)
_DOC_FROM = "legal_documents d LEFT JOIN case_parties p ON p.id = d.party_id"


def _day(value: str | None) -> date | None:
    return None if not value else date.fromisoformat(value)


def _document(r: Sequence[Any]) -> LegalDocument:
    issued_at = dt(r[6])
    assert issued_at is not None
    return LegalDocument(
        id=int(r[0]),
        case_id=int(r[1]),
        kind=DocumentKind(r[2]),
        party_id=None if r[3] is None else int(r[3]),
        party_name=r[4],
        commitment_id=None if r[5] is None else int(r[5]),
        issued_at=issued_at,
        issued_by=None if r[7] is None else int(r[7]),
        signed_on=_day(r[8]),
        evidence_file_id=r[9],
        filed_by=None if r[10] is None else int(r[10]),
        filed_at=dt(r[11]),
    )


async def _one_document(db: Tx, document_id: int) -> LegalDocument | None:
    row = await db.fetchone(
        f"SELECT {_DOC_COLUMNS} FROM {_DOC_FROM} WHERE d.id = ?", (document_id,)
    )
    return None if row is None else _document(row)


def _utc_day(value: str | None) -> date | None:
    moment = dt(value)
    return None if moment is None else moment.astimezone(UTC).date()


class SqlLegal(Engine):
    """The legal verbs: guarantee facts, documents, and the clocks' facts."""

    async def set_guarantee_facts(
        self,
        case_id: int,
        party_id: int,
        *,
        kind: GuaranteeKind | None = None,
        agreed_end: date | None = None,
        by_user_id: int | None,
        now: datetime,
        source: str = "asked",
    ) -> GuarantorFacts | None:
        """Record what is known of a guarantee (None leaves a fact as it is); None, nothing
        written, when ``party_id`` is not a guarantor of ``case_id``."""
        if source not in ("asked", "import"):
            raise StorageError(f"unknown source of guarantee facts: {source}")
        async with self._tx() as db:
            party = await db.fetchone(
                "SELECT name FROM case_parties WHERE id = ? AND case_id = ? AND role = 'guarantor'",
                (party_id, case_id),
            )
            if party is None:
                return None
            await db.execute(
                "INSERT INTO guarantee_facts (party_id, case_id, kind, agreed_end, source, "
                "set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (party_id) DO UPDATE SET "
                "kind = COALESCE(excluded.kind, guarantee_facts.kind), "
                "agreed_end = COALESCE(excluded.agreed_end, guarantee_facts.agreed_end), "
                "source = excluded.source, set_by = excluded.set_by, set_at = excluded.set_at",
                (
                    party_id,
                    case_id,
                    None if kind is None else kind.value,
                    None if agreed_end is None else agreed_end.isoformat(),
                    source,
                    by_user_id,
                    ts(now),
                ),
            )
            await db.audit(
                now,
                by_user_id,
                "guarantee_facts",
                "case",
                case_id,
                {
                    "party_id": party_id,
                    "kind": None if kind is None else kind.value,
                    "agreed_end": None if agreed_end is None else agreed_end.isoformat(),
                },
            )
            row = await db.fetchone(
                "SELECT kind, agreed_end FROM guarantee_facts WHERE party_id = ?", (party_id,)
            )
        assert row is not None
        return GuarantorFacts(
            party_id=party_id,
            name=str(party[0]),
            kind=None if row[0] is None else GuaranteeKind(row[0]),
            agreed_end=_day(row[1]),
        )

    async def issue_document(
        self,
        case_id: int,
        kind: DocumentKind,
        addressee: int | None,
        commitment_id: int | None,
        by_user_id: int | None,
        now: datetime,
    ) -> int:
        """Record a paper issued for ``case_id`` to ``addressee`` (a related party's id; None:
        the borrower), for ``commitment_id`` when it is an agreement; its id. Refused
        (:class:`StorageError`) when the addressee or the commitment is not of this case."""
        async with self._tx() as db:
            case = await db.fetchone("SELECT id FROM cases WHERE id = ?", (case_id,))
            if case is None:
                raise StorageError(f"no case {case_id}")
            if addressee is not None:
                party = await db.fetchone(
                    "SELECT id FROM case_parties WHERE id = ? AND case_id = ?",
                    (addressee, case_id),
                )
                if party is None:
                    raise StorageError(f"party {addressee} is not of case {case_id}")
            if commitment_id is not None:
                found = await db.fetchone(
                    "SELECT id FROM commitments WHERE id = ? AND case_id = ?",
                    (commitment_id, case_id),
                )
                if found is None:
                    raise StorageError(f"commitment {commitment_id} is not of case {case_id}")
            row = await db.fetchone(
                "INSERT INTO legal_documents (case_id, kind, party_id, commitment_id, issued_at, "
                "issued_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (case_id, kind.value, addressee, commitment_id, ts(now), by_user_id),
            )
            assert row is not None
            document_id = int(row[0])
            await db.audit(
                now,
                by_user_id,
                "document_issued",
                "case",
                case_id,
                {"document_id": document_id, "kind": kind.value, "party_id": addressee},
            )
        return document_id

    async def file_signed_copy(
        self,
        document_id: int,
        signed_on: date,
        file_id: str,
        by_user_id: int | None,
        now: datetime,
        key: str | None = None,
    ) -> LegalDocument | None:
        """File the signed copy of a document: the day it was signed and its photo. Filed once:
        a document filed already (or a replayed ``key``) is returned as it stands, unchanged.
        None if there is no such document."""
        async with self._tx() as db:
            done = await db.effect(key)
            if done is not None:
                return await _one_document(db, int(done["document_id"]))
            result = await db.execute(
                "UPDATE legal_documents SET signed_on = ?, evidence_file_id = ?, filed_by = ?, "
                "filed_at = ? WHERE id = ? AND signed_on IS NULL",
                (signed_on.isoformat(), file_id, by_user_id, ts(now), document_id),
            )
            doc = await _one_document(db, document_id)
            if doc is None:
                return None
            if result.rowcount > 0:
                await db.audit(
                    now,
                    by_user_id,
                    "document_filed",
                    "case",
                    doc.case_id,
                    {"document_id": document_id, "signed_on": signed_on.isoformat()},
                )
            await db.record_effect(key, {"document_id": document_id}, now)
        return doc

    async def record_suspension(
        self,
        case_id: int,
        started_on: date,
        *,
        reason: str,
        ended_on: date | None = None,
        by_user_id: int | None,
        now: datetime,
    ) -> int:
        """Record a suspension of the case's limitation (第194条) by hand; its id.
        :class:`StorageError` when there is no such case or it ends before it starts."""
        if ended_on is not None and ended_on < started_on:
            raise StorageError("a suspension cannot end before it starts")
        async with self._tx() as db:
            if await db.fetchone("SELECT id FROM cases WHERE id = ?", (case_id,)) is None:
                raise StorageError(f"no case {case_id}")
            row = await db.fetchone(
                "INSERT INTO legal_suspensions (case_id, started_on, ended_on, reason, "
                "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    case_id,
                    started_on.isoformat(),
                    None if ended_on is None else ended_on.isoformat(),
                    reason,
                    by_user_id,
                    ts(now),
                ),
            )
            assert row is not None
            await db.audit(
                now,
                by_user_id,
                "limitation_suspended",
                "case",
                case_id,
                {"suspension_id": int(row[0]), "started_on": started_on.isoformat()},
            )
        return int(row[0])

    async def end_suspension(
        self, suspension_id: int, ended_on: date, *, by_user_id: int | None, now: datetime
    ) -> bool:
        """Record the day a suspension's cause ended (once); False if there is no such
        suspension still open, or it would end before it started."""
        async with self._tx() as db:
            done = await db.execute(
                "UPDATE legal_suspensions SET ended_on = ? "
                "WHERE id = ? AND ended_on IS NULL AND started_on <= ?",
                (ended_on.isoformat(), suspension_id, ended_on.isoformat()),
            )
            if done.rowcount == 0:
                return False
            row = await db.fetchone(
                "SELECT case_id FROM legal_suspensions WHERE id = ?", (suspension_id,)
            )
            assert row is not None
            await db.audit(
                now,
                by_user_id,
                "limitation_suspension_ended",
                "case",
                int(row[0]),
                {"suspension_id": suspension_id, "ended_on": ended_on.isoformat()},
            )
        return True

    async def get_document(self, document_id: int) -> LegalDocument | None:
        """One document (callers check access through the case)."""
        row = await self._fetchone(
            f"SELECT {_DOC_COLUMNS} FROM {_DOC_FROM} WHERE d.id = ?", (document_id,)
        )
        return None if row is None else _document(row)

    async def case_documents(self, case_id: int) -> list[LegalDocument]:
        """The case's documents, oldest first (callers check access through the case)."""
        rows = await self._fetchall(
            f"SELECT {_DOC_COLUMNS} FROM {_DOC_FROM} WHERE d.case_id = ? "
            "ORDER BY d.issued_at, d.id",
            (case_id,),
        )
        return [_document(r) for r in rows]

    async def legal_facts(self, case_id: int) -> LegalFacts | None:
        """What the clocks of ``case_id`` read (None: no such case)."""
        facts = await self._run(read_legal_facts("c.id = ?", [case_id]))
        return facts[0] if facts else None

    async def legal_facts_of(
        self, viewer: User, *, include_closed: bool = False
    ) -> list[LegalFacts]:
        """What the clocks of every case ``viewer`` may see read (open cases unless
        ``include_closed``), in case id order: six statements, whatever the number of cases."""
        where, params = _scope(viewer)
        if not include_closed:
            where += f" AND {_OPEN_ONLY}"
        return await self._run(read_legal_facts(where, params))


#: Cases whose facts one statement reads by id (SQLite takes 32 766 parameters).
_CHUNK = 2000


def ids_in(ids: Sequence[int]) -> str:
    """The condition on ``cases c`` for these case ids (one parameter each)."""
    return f"c.id IN ({', '.join('?' * len(ids))})"


def refresh_legal_ends(where: str, params: Sequence[Any]) -> Program[int]:
    """Work out again the stored clock ends (``cases.legal_ends``) of the cases ``where``
    selects whose facts changed since (``legal_fresh = 0``: a trigger clears it whenever the
    queue's key is marked stale); how many. A program, inside the caller's write transaction."""
    ids = [
        int(r[0])
        for r in (
            yield all_(f"SELECT c.id FROM cases c WHERE {where} AND c.legal_fresh = 0", params)
        )
    ]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        facts = yield from read_legal_facts(ids_in(chunk), chunk)
        if facts:
            yield many(
                "UPDATE cases SET legal_ends = ?, legal_fresh = 1 WHERE id = ?",
                [(",".join(d.isoformat() for d in clock_ends(f)), f.case_id) for f in facts],
            )
    return len(ids)


def refresh_legal_in_tx(where: str, params: Sequence[Any]) -> Program[None]:
    """:func:`refresh_legal_ends` in a write transaction of its own, only if a case needs it
    (a read that finds nothing stale writes nothing)."""
    stale = yield one(f"SELECT 1 FROM cases c WHERE {where} AND c.legal_fresh = 0 LIMIT 1", params)
    if stale is None:
        return
    yield done("BEGIN IMMEDIATE")
    try:
        yield from refresh_legal_ends(where, params)
    except BaseException:
        yield done("ROLLBACK")
        raise
    yield done("COMMIT")


def read_legal_facts(where: str, params: Sequence[Any]) -> Program[list[LegalFacts]]:
    """What the clocks of the cases ``where`` (on ``cases c``) selects read, in case id order:
    six statements whatever their number. Synchronous, on the connection's own thread (the
    verbs above, and the queue's refresh inside its transaction).

    The day a plan was agreed is its meeting's day, else the day of its money today, else
    the UTC date it was agreed on: storage knows no time zone, and for the cooperative's
    (east of UTC) that date is never later than the local one, so a deadline counted from it
    is never later than the true one. (A plan's restart counts from its last instalment
    anyway, 第189条; the day agreed only decides whether it came in time.)"""

    chosen = f"SELECT c.id FROM cases c WHERE {where}"
    cases = yield all_(
        "SELECT c.id, c.maturity, c.overdue_since, c.collateral_description, c.borrower_name, "
        "c.contract_no FROM cases c "
        f"WHERE {where} ORDER BY c.id",
        params,
    )
    if not cases:
        return []
    parties = yield all_(
        "SELECT p.case_id, p.id, p.role, p.name, g.kind, g.agreed_end FROM case_parties p "
        "LEFT JOIN guarantee_facts g ON g.party_id = p.id "
        f"WHERE p.case_id IN ({chosen}) AND p.role IN ('guarantor', 'mortgagor') "
        "ORDER BY p.case_id, p.id",
        params,
    )
    commitments = yield all_(
        "SELECT m.case_id, m.id, m.promised_by_party, m.agreed_at, m.status, "
        # By the case's payments (payments_case): there is no index on commitment_id.
        "COALESCE(mt.held_on, (SELECT MIN(y.received_on) FROM payments y "
        "WHERE y.case_id = m.case_id AND y.commitment_id = m.id AND y.source = 'commit')), "
        "(SELECT MAX(i.due_on) FROM instalments i WHERE i.commitment_id = m.id) "
        "FROM commitments m LEFT JOIN meetings mt ON mt.id = m.meeting_id "
        f"WHERE m.case_id IN ({chosen}) AND m.agreed_at IS NOT NULL",
        params,
    )
    payments = yield all_(
        "SELECT y.case_id, m.promised_by_party, y.received_on, MIN(y.id) FROM payments y "
        "LEFT JOIN commitments m ON m.id = y.commitment_id "
        f"WHERE y.case_id IN ({chosen}) AND y.amount > 0 "
        "GROUP BY y.case_id, m.promised_by_party, y.received_on",
        params,
    )
    suspended = yield all_(
        "SELECT s.case_id, s.started_on, s.ended_on FROM legal_suspensions s "
        f"WHERE s.case_id IN ({chosen}) ORDER BY s.case_id, s.started_on",
        params,
    )
    documents = yield all_(
        f"SELECT {_DOC_COLUMNS} FROM {_DOC_FROM} "
        f"WHERE d.case_id IN ({chosen}) AND d.signed_on IS NOT NULL",
        params,
    )
    guarantors: dict[int, list[GuarantorFacts]] = defaultdict(list)
    mortgagors: dict[int, list[tuple[int | None, str]]] = defaultdict(list)
    for case_id, party_id, role, name, kind, agreed_end in parties:
        if role == "guarantor":
            guarantors[case_id].append(
                GuarantorFacts(
                    party_id=int(party_id),
                    name=str(name),
                    kind=None if kind is None else GuaranteeKind(kind),
                    agreed_end=_day(agreed_end),
                )
            )
        else:
            mortgagors[case_id].append((int(party_id), str(name)))
    events: dict[int, list[LegalEvent]] = defaultdict(list)
    for case_id, commitment_id, party, agreed_at, status, held_on, last_due in commitments:
        agreed_on = _day(held_on) or _utc_day(agreed_at)
        assert agreed_on is not None
        events[case_id].append(
            LegalEvent(
                on=agreed_on,
                kind=LegalEventKind.COMMITMENT,
                party_id=None if party is None else int(party),
                # A plan still in force counts from its last instalment (第189条); a replaced
                # or cancelled one only from the day it was agreed.
                runs_from=_day(last_due) if status == "agreed" else None,
                commitment_id=int(commitment_id),
            )
        )
    for case_id, party, received_on, payment_id in payments:
        on = _day(received_on)
        assert on is not None
        events[case_id].append(
            LegalEvent(
                on=on,
                kind=LegalEventKind.PAYMENT,
                party_id=None if party is None else int(party),
                payment_id=int(payment_id),
            )
        )
    for row in documents:
        event = document_event(_document(row))
        if event is not None:
            events[int(row[1])].append(event)
    suspensions: dict[int, list[Suspension]] = defaultdict(list)
    for case_id, started_on, ended_on in suspended:
        start = _day(started_on)
        assert start is not None
        suspensions[case_id].append(Suspension(start, _day(ended_on)))
    out = []
    for case_id, maturity, overdue_since, collateral, borrower, contract in cases:
        if collateral and not mortgagors.get(case_id):
            # Collateral with no mortgagor named: the borrower's own (第419条 all the same).
            mortgagors[case_id].append((None, str(collateral)))
        out.append(
            LegalFacts(
                case_id=int(case_id),
                maturity=_day(maturity),
                overdue_since=_day(overdue_since),
                guarantors=tuple(guarantors.get(case_id, ())),
                mortgagors=tuple(mortgagors.get(case_id, ())),
                events=tuple(sorted(events.get(case_id, ()), key=lambda e: (e.on, e.kind))),
                suspensions=tuple(suspensions.get(case_id, ())),
                borrower_name=str(borrower),
                contract_no=str(contract),
            )
        )
    return out
