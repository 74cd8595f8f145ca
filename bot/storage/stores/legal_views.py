"""Where the legal clocks show beyond the card and /today (issue 19): the digest's legal list and
the export's sheet of clocks. Both read the facts through :class:`SqlLegal`'s batched read.

The digest must stay fast for a team of 100,000 cases (bench/digest_bench.py), and building
every case's clocks in Python would not: one statement first picks the cases whose clocks *can*
end in the digest's window — a generous superset worked out from the profile's periods and the
window's bounds, each bound widened by a few days so month-end clamping never drops a case — and
only those cases' facts are read (a fixed number of statements per chunk of ids) and their
clocks worked out exactly by :mod:`bot.domain.legal`. Why the superset holds:

- a case's limitation ends ``limitation_months`` after its due date or after the start of the
  latest event that restarted it, never earlier than after the due date: it can end in the
  window only if the due date is at most the window's end less the period, and the due date or
  some later event (a payment, an agreed plan or its last instalment, a signed paper) is at
  least the window's start less the period; a mortgage ends with it (第419条);
- a claimed guarantor's own limitation runs from a signed paper addressed to them (第694条):
  the same bounds, with that paper's day in place of the due date;
- a guarantee period ends on its agreed end, or ``guarantee_default_months`` after the due
  date (第692条).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, cast

from bot.domain.digest import LEGAL_LAPSED_DAYS, LEGAL_SOON, LegalCase, LegalClockKind
from bot.domain.legal import (
    CN_CIVIL_CODE,
    DueBasis,
    GuaranteeKind,
    GuarantorFacts,
    LegalClocks,
    LegalEvent,
    LegalFacts,
    LegalProfile,
    LimitationClock,
    add_months,
    document_event,
    legal_clocks,
)
from bot.domain.people import User
from bot.storage.export_records import ExportClock
from bot.storage.stores.cases import _OPEN_ONLY, _scope
from bot.storage.stores.exports import _scope as _export_scope
from bot.storage.stores.exports import person_sql
from bot.storage.stores.legal import (
    _DOC_COLUMNS,
    _DOC_FROM,
    SqlLegal,
    _day,
    _document,
    ids_in,
    read_legal_facts,
)

__all__ = ["SqlLegalViews"]

#: Days each bound of the superset is widened by (month ends: 31 Mar less a month is 28 Feb).
_SLACK = 5
#: Case ids per batched read of the facts (well under SQLite's bound on parameters).
CHUNK = 900

_DUE = "COALESCE(c.maturity, c.overdue_since)"
# The cases of a scope whose clocks can end between the window's bounds (see the module's text),
# each with ``full``: its limitation (or a claimed guarantor's own) can, so every fact is read;
# else only a guarantee period can, and the guarantees and signed papers are enough.
_FULL = f"""
  ({_DUE} <= :lim_hi
   AND ({_DUE} >= :lim_lo
        OR EXISTS (SELECT 1 FROM payments y WHERE y.case_id = c.id AND y.received_on >= :lim_lo
                   AND y.amount > 0)
        OR EXISTS (SELECT 1 FROM legal_documents d WHERE d.case_id = c.id
                   AND d.signed_on >= :lim_lo)
        OR EXISTS (SELECT 1 FROM commitments m WHERE m.case_id = c.id AND m.agreed_at >= :lim_lo)
        OR EXISTS (SELECT 1 FROM commitments m JOIN instalments i ON i.commitment_id = m.id
                   WHERE m.case_id = c.id AND m.agreed_at IS NOT NULL AND i.due_on >= :lim_lo)
        OR c.id IN (SELECT s.case_id FROM legal_suspensions s))
   AND NOT EXISTS (SELECT 1 FROM payments y LEFT JOIN commitments m ON m.id = y.commitment_id
                   WHERE y.case_id = c.id AND y.amount > 0 AND y.received_on > :lim_hi
                   AND y.received_on < :gap_hi AND m.promised_by_party IS NULL)
   AND NOT EXISTS (SELECT 1 FROM legal_documents d WHERE d.case_id = c.id
                   AND (d.party_id IS NULL OR d.kind = 'court_filing')
                   AND d.signed_on > :lim_hi AND d.signed_on < :gap_hi)
   AND NOT EXISTS (SELECT 1 FROM commitments m LEFT JOIN meetings mt ON mt.id = m.meeting_id
                   WHERE m.case_id = c.id AND m.agreed_at > :lim_hi AND m.agreed_at < :gap_hi
                   AND m.promised_by_party IS NULL
                   AND COALESCE(mt.held_on, substr(m.agreed_at, 1, 10)) > :lim_hi
                   AND COALESCE(mt.held_on, substr(m.agreed_at, 1, 10)) < :gap_hi))
  OR c.id IN (SELECT d.case_id FROM legal_documents d
              WHERE d.party_id IS NOT NULL AND d.signed_on <= :lim_hi)
"""
_GUARANTEE = f"""
  ({_DUE} BETWEEN :g_lo AND :g_hi
   AND EXISTS (SELECT 1 FROM case_parties p WHERE p.case_id = c.id AND p.role = 'guarantor'))
  OR c.id IN (SELECT g.case_id FROM guarantee_facts g WHERE g.agreed_end BETWEEN :w_lo AND :w_hi)
"""
_NEAR = f"""
SELECT c.id, ({_FULL}) FROM cases c
WHERE {{where}} AND {_OPEN_ONLY} AND (({_FULL}) OR ({_GUARANTEE}))
ORDER BY c.id
"""

# The light read of a guarantee-only case: its due date, its guarantors, its signed papers.
_LIGHT_CASES = "SELECT c.id, c.maturity, c.overdue_since FROM cases c WHERE c.id IN ({ids})"
_LIGHT_GUARANTORS = """
SELECT p.case_id, p.id, p.name, g.kind, g.agreed_end FROM case_parties p
LEFT JOIN guarantee_facts g ON g.party_id = p.id
WHERE p.case_id IN ({ids}) AND p.role = 'guarantor' ORDER BY p.case_id, p.id
"""
_LIGHT_DOCUMENTS = (
    f"SELECT {_DOC_COLUMNS} FROM {_DOC_FROM} WHERE d.case_id IN ({{ids}}) "
    "AND d.signed_on IS NOT NULL"
)

_CASES = """
SELECT c.id, c.contract_no, c.borrower_name, COALESCE(NULLIF(lu.staff_name, ''), lu.name)
FROM cases c LEFT JOIN users lu ON lu.id = c.lead_id WHERE c.id IN ({ids})
"""


_EXPORT_CASES = f"""
SELECT c.id, c.contract_no, c.borrower_name, t.name, {person_sql("u")}
FROM cases c JOIN teams t ON t.id = c.team_id LEFT JOIN users u ON u.id = c.lead_id
WHERE ({{where}}) AND {_OPEN_ONLY} AND c.id > ? ORDER BY c.id LIMIT ?
"""


def _marks(ids: Sequence[int]) -> str:
    return ", ".join("?" * len(ids))


def _set_by(
    event: LegalEvent | None, due: date | None, basis: DueBasis = DueBasis.MATURITY
) -> tuple[str | None, date | None]:
    """What set a deadline and on which day: an event, else the due date — the 到期日, or the
    missed due date where the file has none (None: nothing)."""
    if event is not None:
        return event.kind.value, event.on
    if due is None:
        return None, None
    return ("overdue_since" if basis is DueBasis.OVERDUE_SINCE else "due_date"), due


def _limitation_row(
    head: tuple[int, str, str, str, str | None],
    clock: str,
    party: str | None,
    lim: LimitationClock,
    today: date,
) -> ExportClock:
    kind, on = _set_by(lim.set_by, lim.due_date, lim.due_basis)
    event = lim.set_by
    if lim.deadline is None:
        state = "suspended" if lim.suspended else "no_due_date"
    else:
        state = "expired" if lim.expired(today) else "running"
    return ExportClock(
        *head,
        clock=clock,
        party=party,
        guarantee_kind=None,
        deadline=lim.deadline,
        days_left=lim.days_left(today),
        state=state,
        set_by=kind,
        set_on=on,
        counted_from=on if event is None else event.start,
        document=None if event is None or event.document_id is None else kind,
        evidence=event is not None and event.evidence is not None,
    )


def export_rows(
    head: tuple[int, str, str, str, str | None], clocks: LegalClocks, today: date
) -> list[ExportClock]:
    """The rows of one case's clocks: its limitation, each guarantor's period (and, once
    claimed, the guarantor's own limitation), each mortgage (the limitation's day)."""
    lim = clocks.limitation
    rows = [_limitation_row(head, LegalClockKind.LIMITATION.value, None, lim, today)]
    for g in clocks.guarantors:
        # Claimed: the claim is the evidence. Else the period's end comes from the contract's
        # agreed period, or from the due date (6 months on, 第692条).
        if g.claim is not None:
            kind, on = _set_by(g.claim, None)
        elif g.period_agreed:
            kind, on = "agreed_period", g.period_end
        else:
            kind, on = _set_by(None, lim.due_date, lim.due_basis)
        rows.append(
            ExportClock(
                *head,
                clock=LegalClockKind.GUARANTEE.value,
                party=g.name,
                guarantee_kind=None if g.kind is None else g.kind.value,
                deadline=g.period_end,
                days_left=None if g.period_end is None else (g.period_end - today).days,
                state=g.state.value,
                set_by=kind,
                set_on=on,
                counted_from=on if g.claim is None else g.claim.start,
                document=None if g.claim is None or g.claim.document_id is None else kind,
                evidence=g.claim is not None and g.claim.evidence is not None,
            )
        )
        if g.own_limitation is not None:
            rows.append(
                _limitation_row(
                    head,
                    LegalClockKind.GUARANTOR_LIMITATION.value,
                    g.name,
                    g.own_limitation,
                    today,
                )
            )
    for m in clocks.mortgages:
        row = _limitation_row(head, "mortgage", m.name, lim, today)
        rows.append(row)
    return rows


def _near_params(w_lo: date, w_hi: date, profile: LegalProfile) -> dict[str, str]:
    slack = timedelta(days=_SLACK)
    months = profile.limitation_months
    g_months = profile.guarantee_default_months
    return {
        # A limitation can end in the window only if counted from a day up to lim_hi...
        "lim_hi": (add_months(w_hi, -months) + slack).isoformat(),
        # ...from a day no earlier than lim_lo...
        "lim_lo": (add_months(w_lo, -months) - slack).isoformat(),
        # ...and with no restarting act of the borrower between lim_hi and gap_hi: an act on a
        # day up to the last day D puts D at least a period after it (an act in time restarts
        # the period; one after it only counts when a later agreement revives it, 第192条).
        "gap_hi": (w_lo - slack).isoformat(),
        "g_lo": (add_months(w_lo, -g_months) - slack).isoformat(),
        "g_hi": (add_months(w_hi, -g_months) + slack).isoformat(),
        "w_lo": w_lo.isoformat(),
        "w_hi": w_hi.isoformat(),
    }


class SqlLegalViews(SqlLegal):
    """The legal clocks of many cases at once: those near their end (the digest), all of them
    with their evidence (the export)."""

    async def _facts(self, ids: Sequence[int]) -> list[LegalFacts]:
        """Every fact the clocks of ``ids`` read (:func:`read_legal_facts`: six statements)."""
        return await self._run(read_legal_facts(ids_in(ids), ids))

    async def _clocks_of(
        self,
        ids: Sequence[int],
        today: date,
        profile: LegalProfile,
        *,
        light: frozenset[int] = frozenset(),
    ) -> tuple[list[LegalClocks], dict[int, LegalCase]]:
        """The clocks of ``ids`` and what a list shows of each case: per chunk of ids, the
        facts' fixed number of statements and one for the cases' names. The cases in
        ``light`` have only their guarantee periods worked out, from a lighter read."""
        clocks: list[LegalClocks] = []
        cases: dict[int, LegalCase] = {}
        heavy = [i for i in ids if i not in light]
        for start in range(0, len(heavy), CHUNK):
            chunk = heavy[start : start + CHUNK]
            facts = await self._facts(chunk)
            clocks.extend(legal_clocks(f, today, profile) for f in facts)
        only = sorted(light)
        for start in range(0, len(only), CHUNK):
            clocks.extend(await self._guarantee_clocks(only[start : start + CHUNK], today, profile))
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start : start + CHUNK])
            rows = await self._fetchall(_CASES.format(ids=_marks(chunk)), chunk)
            cases.update({int(r[0]): LegalCase(int(r[0]), r[1], r[2], r[3]) for r in rows})
        return clocks, cases

    async def _guarantee_clocks(
        self, ids: list[int], today: date, profile: LegalProfile
    ) -> list[LegalClocks]:
        """The guarantee periods of ``ids`` alone (three statements): a guarantor's period and
        claim read only the due date, the guarantee's facts and the signed papers (a notice or
        agreement to the guarantor, a suit); no limitation is worked out here (its deadline
        left None), since the cases' payments and plans are not read."""
        marks = _marks(ids)
        cases = await self._fetchall(_LIGHT_CASES.format(ids=marks), ids)
        guarantors: dict[int, list[GuarantorFacts]] = {}
        for case_id, party_id, name, kind, agreed_end in await self._fetchall(
            _LIGHT_GUARANTORS.format(ids=marks), ids
        ):
            guarantors.setdefault(int(case_id), []).append(
                GuarantorFacts(
                    int(party_id),
                    str(name),
                    None if kind is None else GuaranteeKind(kind),
                    _day(agreed_end),
                )
            )
        events: dict[int, list[LegalEvent]] = {}
        for row in await self._fetchall(_LIGHT_DOCUMENTS.format(ids=marks), ids):
            event = document_event(_document(row))
            if event is not None:
                events.setdefault(int(row[1]), []).append(event)
        none = LimitationClock(None, None, None, DueBasis.UNKNOWN)
        out = []
        for case_id, maturity, overdue_since in cases:
            facts = LegalFacts(
                case_id=int(case_id),
                maturity=_day(maturity),
                overdue_since=_day(overdue_since),
                guarantors=tuple(guarantors.get(int(case_id), ())),
                events=tuple(sorted(events.get(int(case_id), ()), key=lambda e: (e.on, e.kind))),
            )
            full = legal_clocks(facts, today, profile)
            out.append(
                LegalClocks(
                    full.case_id,
                    none,
                    tuple(replace(g, own_limitation=None) for g in full.guarantors),
                )
            )
        return out

    async def near_legal_clocks(
        self,
        where: str,
        params: Sequence[Any],
        today: date,
        *,
        profile: LegalProfile = CN_CIVIL_CODE,
    ) -> tuple[list[LegalClocks], dict[int, LegalCase]]:
        """The clocks of the open cases matching ``where`` (an SQL condition on cases ``c``)
        that can end from ``LEGAL_LAPSED_DAYS`` days before ``today`` to ``LEGAL_SOON`` days
        after it (a superset: the domain decides), with what a list shows of each case."""
        w_lo = today - timedelta(days=LEGAL_LAPSED_DAYS)
        w_hi = today + timedelta(days=LEGAL_SOON)
        # Named parameters throughout: the scope's own ``?`` become :scope0, :scope1, ...
        named = where
        for i in range(len(params)):
            named = named.replace("?", f":scope{i}", 1)
        bound = {
            **_near_params(w_lo, w_hi, profile),
            **{f"scope{i}": v for i, v in enumerate(params)},
        }
        rows = await self._fetchall(_NEAR.format(where=named), cast(Sequence[Any], bound))
        light = frozenset(int(r[0]) for r in rows if not r[1])
        return await self._clocks_of([int(r[0]) for r in rows], today, profile, light=light)

    async def legal_clocks_of(
        self,
        viewer: User,
        today: date,
        *,
        profile: LegalProfile = CN_CIVIL_CODE,
    ) -> tuple[list[LegalClocks], dict[int, LegalCase]]:
        """Every clock of the open cases ``viewer`` may see, with what a list shows of each
        case (the export's sheet of clocks)."""
        where, params = _scope(viewer)
        rows = await self._fetchall(
            f"SELECT c.id FROM cases c WHERE {where} AND {_OPEN_ONLY} ORDER BY c.id", params
        )
        return await self._clocks_of([int(r[0]) for r in rows], today, profile)

    async def export_legal(
        self,
        viewer: User,
        today: date,
        *,
        team_id: int | None = None,
        batch: int = 500,
        profile: LegalProfile = CN_CIVIL_CODE,
    ) -> AsyncIterator[list[ExportClock]]:
        """Every clock of the open cases in the export's scope with what set it, as of
        ``today``, a batch of cases at a time (the facts' fixed statements per batch)."""
        where, params = _export_scope(viewer, team_id)
        sql = _EXPORT_CASES.format(where=where)
        last = 0
        while True:
            cases = await self._fetchall(sql, [*params, last, batch])
            if not cases:
                return
            ids = [int(r[0]) for r in cases]
            facts = await self._facts(ids)
            heads = {int(r[0]): (int(r[0]), r[1], r[2], r[3], r[4]) for r in cases}
            rows: list[ExportClock] = []
            for f in facts:
                rows.extend(export_rows(heads[f.case_id], legal_clocks(f, today, profile), today))
            yield rows
            if len(cases) < batch:
                return
            last = ids[-1]
