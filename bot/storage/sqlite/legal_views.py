"""Where the legal clocks show beyond the card and /today (issue 19): the digest's legal list and
the export's sheet of clocks. Both read the facts through :class:`SqliteLegal`'s batched read.

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

from collections.abc import Sequence
from datetime import date, timedelta, tzinfo
from typing import Any

from bot.domain.digest import LEGAL_LAPSED_DAYS, LEGAL_SOON, LegalCase
from bot.domain.legal import CN_CIVIL_CODE, LegalClocks, LegalProfile, add_months, legal_clocks
from bot.domain.people import User
from bot.storage.sqlite.cases import _OPEN_ONLY, _scope
from bot.storage.sqlite.legal import SqliteLegal

__all__ = ["SqliteLegalViews"]

#: Days each bound of the superset is widened by (month ends: 31 Mar less a month is 28 Feb).
_SLACK = 5
#: Case ids per batched read of the facts (well under SQLite's bound on parameters).
CHUNK = 900

_DUE = "COALESCE(c.maturity, c.overdue_since)"
# The cases of a scope whose clocks can end between :w_lo and :w_hi (see the module's text).
_NEAR = f"""
SELECT c.id FROM cases c WHERE {{where}} AND {_OPEN_ONLY} AND (
  (({_DUE} <= ? OR EXISTS (SELECT 1 FROM legal_documents d WHERE d.case_id = c.id
                          AND d.party_id IS NOT NULL AND d.signed_on <= ?))
   AND ({_DUE} >= ?
        OR EXISTS (SELECT 1 FROM payments y WHERE y.case_id = c.id AND y.received_on >= ?
                   AND y.amount > 0)
        OR EXISTS (SELECT 1 FROM legal_documents d WHERE d.case_id = c.id AND d.signed_on >= ?)
        OR EXISTS (SELECT 1 FROM commitments m WHERE m.case_id = c.id AND m.agreed_at >= ?)
        OR EXISTS (SELECT 1 FROM commitments m JOIN instalments i ON i.commitment_id = m.id
                   WHERE m.case_id = c.id AND m.agreed_at IS NOT NULL AND i.due_on >= ?)))
  OR ({_DUE} BETWEEN ? AND ? AND EXISTS (SELECT 1 FROM case_parties p WHERE p.case_id = c.id
                                          AND p.role = 'guarantor'))
  OR EXISTS (SELECT 1 FROM guarantee_facts g WHERE g.case_id = c.id
             AND g.agreed_end BETWEEN ? AND ?)
)
ORDER BY c.id
"""

_CASES = """
SELECT c.id, c.contract_no, c.borrower_name, COALESCE(NULLIF(lu.staff_name, ''), lu.name)
FROM cases c LEFT JOIN users lu ON lu.id = c.lead_id WHERE c.id IN ({ids})
"""


def _near_params(w_lo: date, w_hi: date, profile: LegalProfile) -> list[str]:
    slack = timedelta(days=_SLACK)
    months = profile.limitation_months
    lim_hi = (add_months(w_hi, -months) + slack).isoformat()
    lim_lo = (add_months(w_lo, -months) - slack).isoformat()
    g_months = profile.guarantee_default_months
    g_lo = (add_months(w_lo, -g_months) - slack).isoformat()
    g_hi = (add_months(w_hi, -g_months) + slack).isoformat()
    return [lim_hi, lim_hi, lim_lo, lim_lo, lim_lo, lim_lo, lim_lo, g_lo, g_hi,
            w_lo.isoformat(), w_hi.isoformat()]  # fmt: skip


class SqliteLegalViews(SqliteLegal):
    """The legal clocks of many cases at once: those near their end (the digest), all of them
    with their evidence (the export)."""

    async def _clocks_of(
        self, ids: Sequence[int], today: date, tz: tzinfo, profile: LegalProfile
    ) -> tuple[list[LegalClocks], dict[int, LegalCase]]:
        """The clocks of ``ids`` and what a list shows of each case: per chunk of ids, the
        facts' fixed number of statements and one for the cases' names."""
        clocks: list[LegalClocks] = []
        cases: dict[int, LegalCase] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start : start + CHUNK])
            marks = ", ".join("?" * len(chunk))
            facts = await self._legal_facts(f"c.id IN ({marks})", list(chunk), tz)
            clocks.extend(legal_clocks(f, today, profile) for f in facts)
            rows = await self._fetchall(_CASES.format(ids=marks), chunk)
            cases.update({int(r[0]): LegalCase(int(r[0]), r[1], r[2], r[3]) for r in rows})
        return clocks, cases

    async def near_legal_clocks(
        self,
        where: str,
        params: Sequence[Any],
        today: date,
        *,
        tz: tzinfo,
        profile: LegalProfile = CN_CIVIL_CODE,
    ) -> tuple[list[LegalClocks], dict[int, LegalCase]]:
        """The clocks of the open cases matching ``where`` (an SQL condition on cases ``c``)
        that can end from ``LEGAL_LAPSED_DAYS`` days before ``today`` to ``LEGAL_SOON`` days
        after it (a superset: the domain decides), with what a list shows of each case."""
        w_lo = today - timedelta(days=LEGAL_LAPSED_DAYS)
        w_hi = today + timedelta(days=LEGAL_SOON)
        rows = await self._fetchall(
            _NEAR.format(where=where), [*params, *_near_params(w_lo, w_hi, profile)]
        )
        return await self._clocks_of([int(r[0]) for r in rows], today, tz, profile)

    async def legal_clocks_of(
        self,
        viewer: User,
        today: date,
        *,
        tz: tzinfo,
        profile: LegalProfile = CN_CIVIL_CODE,
    ) -> tuple[list[LegalClocks], dict[int, LegalCase]]:
        """Every clock of the open cases ``viewer`` may see, with what a list shows of each
        case (the export's sheet of clocks)."""
        where, params = _scope(viewer)
        rows = await self._fetchall(
            f"SELECT c.id FROM cases c WHERE {where} AND {_OPEN_ONLY} ORDER BY c.id", params
        )
        return await self._clocks_of([int(r[0]) for r in rows], today, tz, profile)
