"""Meeting preparations (/prep): completed interviews, kept per case.

A prep is written in one transaction with what it teaches the rest of the case: the stance of
each related party it asked about (策略9), the urgency inputs the ledger cannot give (策略11:
business sliding, a strong guarantor, a high cost of default), and — when the approach differs
from the previous prep's — an audit entry for the change (策略12).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.casefile import PrepRecord, parse_deterioration
from bot.domain.cases import Attitude
from bot.domain.people import User
from bot.domain.prep import PrepAnswers, UrgencyFromPrep
from bot.storage.connector import Sql
from bot.storage.stores.base import Engine, ts
from bot.storage.stores.cases import PREP_SQL, _prep, _scope


class SqlPreps(Engine):
    """The /prep verbs."""

    async def add_prep(
        self,
        viewer: User,
        case_id: int,
        answers: PrepAnswers,
        *,
        approach_reason: str | None,
        urgency: UrgencyFromPrep,
        now: datetime,
        key: str | None = None,
    ) -> PrepRecord | None:
        """Store a completed prep of a case ``viewer`` may see (None, nothing written, if not).

        With ``key``, a prep already stored under it is returned instead of storing a second.
        Party stances are written only for parties of this case (a forged id changes nothing).
        """
        where, params = _scope(viewer)
        async with self._tx() as db:
            done = await db.effect(key)
            if done is not None:
                row = await db.fetchone(PREP_SQL + "WHERE p.id = ?", (done["prep_id"],))
                return None if row is None else _prep(row)
            case = await db.fetchone(
                f"SELECT c.id, c.deterioration FROM cases c WHERE c.id = ? AND {where}",
                [case_id, *params],
            )
            if case is None:
                return None
            previous = await db.fetchone(
                "SELECT approach FROM preps WHERE case_id = ? ORDER BY at DESC, id DESC LIMIT 1",
                (case_id,),
            )
            approach = answers.chosen_approach
            before = None if previous is None else str(previous[0])
            changed = before is not None and before != approach.value
            cur = await db.insert(
                "INSERT INTO preps (case_id, author_id, at, answers, approach, previous_approach, "
                "approach_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    case_id,
                    viewer.id,
                    ts(now),
                    json.dumps(answers.to_json(), ensure_ascii=False),
                    approach.value,
                    before,
                    approach_reason if changed else None,
                ),
            )
            prep_id = cur
            await _stances(db, case_id, answers.party_stances)
            flags = urgency.deterioration(parse_deterioration(case[1]))
            await db.execute(
                Sql(
                    sqlite="UPDATE cases SET deterioration = ?, "
                    "strong_guarantor = MAX(strong_guarantor, ?), "
                    "high_default_cost = MAX(high_default_cost, ?) WHERE id = ?",
                    postgresql="UPDATE cases SET deterioration = ?, "
                    "strong_guarantor = GREATEST(strong_guarantor, ?), "
                    "high_default_cost = GREATEST(high_default_cost, ?) WHERE id = ?",
                ),
                (
                    ",".join(sorted(f.value for f in flags)),
                    int(bool(urgency.strong_guarantor)),
                    int(bool(urgency.high_default_cost)),
                    case_id,
                ),
            )
            await db.audit(
                now,
                viewer.id,
                "prep",
                "case",
                case_id,
                {"prep_id": prep_id, "approach": approach.value},
            )
            if changed:
                await db.audit(
                    now,
                    viewer.id,
                    "approach_change",
                    "case",
                    case_id,
                    {"from": before, "to": approach.value, "reason": approach_reason},
                )
            await db.record_effect(key, {"prep_id": prep_id}, now)
            row = await db.fetchone(PREP_SQL + "WHERE p.id = ?", (prep_id,))
        assert row is not None
        return _prep(row)

    async def preps_of(self, case_id: int, *, limit: int = 10) -> list[PrepRecord]:
        """The case's preparations, newest first (callers check access through get_case)."""
        rows = await self._fetchall(
            PREP_SQL + "WHERE p.case_id = ? ORDER BY p.at DESC, p.id DESC LIMIT ?",
            (case_id, limit),
        )
        return [_prep(r) for r in rows]


async def _stances(db: Any, case_id: int, stances: Mapping[int, Attitude]) -> None:
    if stances:
        await db.executemany(
            "UPDATE case_parties SET attitude = ? WHERE id = ? AND case_id = ?",
            [(stance.value, party_id, case_id) for party_id, stance in stances.items()],
        )
