"""The ledger import's writes, batch by batch: what a batch of rows finds stored (the ledger
hash compared by the database), and the batch statements that write it.

An import streams: the reader hands on a few thousand rows at a time, each batch is planned
against the cases it names (one query) and written (one ``executemany`` per kind of write), all
inside one ``BEGIN IMMEDIATE`` transaction, so a kill at any point leaves the database as it
was. The import's own row is created inside that transaction too when there is no pending one
(``qingshou import``): a killed import leaves nothing behind. A dry run reads the same way,
without a transaction and without writing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

from bot.domain.casefile import ledger_gaps
from bot.domain.importing import (
    BatchPlan,
    CollectorRef,
    StagedRow,
    StoredState,
    plan_batch,
)
from bot.domain.ledger import LedgerField
from bot.storage.connector import Sql, Text
from bot.storage.errors import StorageError
from bot.storage.records import NewOutboxMessage
from bot.storage.stores.base import Engine, Tx, ts

__all__ = ["SqlImportSink", "SqlImports"]

#: The stored cases one batch names, each with "same ledger hash" decided by the database.
#: ``?1``: a JSON array of ``[key, hash]`` pairs; the loop runs over it and looks each key up
#: by the unique index on ``contract_no``.
_STORED_SQL = Sql(
    sqlite="SELECT c.contract_no, c.id, c.team_id, c.lead_id, c.ledger_hash IS (j.value ->> 1) "
    "FROM json_each(?1) j CROSS JOIN cases c ON c.contract_no = (j.value ->> 0)",
    postgresql="SELECT c.contract_no, c.id, c.team_id, c.lead_id, "
    "c.ledger_hash IS NOT DISTINCT FROM (j.value ->> 1) "
    "FROM jsonb_array_elements(?1::jsonb) j JOIN cases c ON c.contract_no = (j.value ->> 0)",
)
_IDS_SQL = Sql(
    sqlite="SELECT c.contract_no, c.id FROM json_each(?1) j CROSS JOIN cases c "
    "ON c.contract_no = j.value",
    postgresql="SELECT c.contract_no, c.id FROM jsonb_array_elements_text(?1::jsonb) AS j(value) "
    "JOIN cases c ON c.contract_no = j.value",
)
_COLLECTORS_SQL = (
    "SELECT id, staff_name, username, telegram_id FROM users "
    "WHERE team_id = ? AND role = 'collector' AND active = 1 ORDER BY id"
)
#: The team's open cases the file does not name (``?2``: a JSON array of every key in it).
_ABSENT_SQL = (
    "SELECT COUNT(*) FROM cases WHERE team_id = ?1 "
    "AND status NOT IN ('settled', 'written_off') "
    "AND contract_no NOT IN (SELECT value FROM json_each(?2))"
)
#: The raw fingerprints (bot.domain.ledger) of the team's cases whose line, read again
#: unchanged, is not parsed: with a lead, and overdue since no later than ``?2`` (today).
_KNOWN_SQL = Sql(
    sqlite="SELECT group_concat(ledger_raw_hash, '') FROM cases WHERE team_id = ?1 "
    "AND lead_id IS NOT NULL AND ledger_raw_hash IS NOT NULL AND overdue_since <= ?2",
    postgresql="SELECT string_agg(ledger_raw_hash, '') FROM cases WHERE team_id = ?1 "
    "AND lead_id IS NOT NULL AND ledger_raw_hash IS NOT NULL AND overdue_since <= ?2",
)
#: The cases of lines known unchanged: what the unchanged rows' statement of ``_write`` does,
#: the as-of date being the stored one (the same line). ``?3``: a JSON array of their keys.
_KEEP_SQL = (
    "UPDATE cases SET import_id = ?1, imported_at = ?2, "
    "figures_at = COALESCE(figures_at, imported_at) "
    "WHERE contract_no IN (SELECT value FROM json_each(?3))"
)
#: The unique key of a related party (migration 0003): role and name, and for a party known
#: only by phone (empty name), the phone.
_PARTY_KEY = "(case_id, role, name, (CASE WHEN name = '' THEN ifnull(phone, '') ELSE '' END))"

Fetch = Callable[[Text, Sequence[Any]], Awaitable[list[Any]]]


class SqlImportSink:
    """One import in progress: :meth:`add` plans (and, when writing, writes) a batch;
    :meth:`finish` counts the absent cases and, when writing, marks the import applied, sets
    the cases' ledger gaps, tells each collector of their new cases once, and audits."""

    def __init__(
        self,
        fetch: Fetch,
        tx: Tx | None,
        *,
        team_id: int,
        import_id: int | None,
        actor_id: int | None,
        now: datetime,
        notify: bool,
    ) -> None:
        self._fetch = fetch
        self._tx = tx
        self.team_id = team_id
        self.import_id = import_id
        self._actor_id = actor_id
        self._now = now
        self._now_s = ts(now)
        self._notify = notify
        self._per_lead: dict[int, int] = {}

    async def collectors(self) -> list[CollectorRef]:
        """The team's active collectors (inside the import's transaction when it writes)."""
        rows = await self._fetch(_COLLECTORS_SQL, (self.team_id,))
        return [CollectorRef(r[0], r[1], r[2], r[3]) for r in rows]

    async def known_lines(self, today: date) -> str:
        """The raw fingerprints of the team's cases a line read again leaves unchanged."""
        found = await self._fetch(_KNOWN_SQL, (self.team_id, today.isoformat()))
        return str(found[0][0] or "") if found else ""

    async def keep(self, keys: Sequence[str]) -> None:
        """The cases of lines known unchanged, marked as imported by this import."""
        if self._tx is not None and keys:
            params = (self.import_id, self._now_s, json.dumps(list(keys), ensure_ascii=False))
            await self._tx.execute(_KEEP_SQL, params)

    async def add(
        self, rows: Sequence[StagedRow], *, key_field: LedgerField, has_collector_column: bool
    ) -> BatchPlan:
        """Plan ``rows`` against the cases as they are now, and write them when writing."""
        stored: dict[str, StoredState] = {}
        if rows:
            pairs = json.dumps([(r.key, r.digest) for r in rows], ensure_ascii=False)
            for r in await self._fetch(_STORED_SQL, (pairs,)):
                stored[r[0]] = StoredState(r[1], r[2], r[3], bool(r[4]))
        plan = plan_batch(
            rows,
            stored,
            team_id=self.team_id,
            key_field=key_field,
            has_collector_column=has_collector_column,
        )
        if self._tx is not None:
            await self._write(self._tx, plan)
        return plan

    async def _write(self, db: Tx, plan: BatchPlan) -> None:
        """The batch statements of a planned batch (see ``apply_import`` for the rules)."""
        assert self.import_id is not None
        team_id, import_id, now_s = self.team_id, self.import_id, self._now_s
        new, updated, unchanged = plan.new, plan.updated, plan.unchanged
        await db.executemany(
            "INSERT INTO cases (contract_no, team_id, lead_id, borrower_name, "
            "borrower_id_number, borrower_phone, borrower_address, borrower_business, "
            "product, principal_outstanding, overdue_principal, overdue_interest, "
            "overdue_since, maturity, guarantees, collateral_description, collateral_value, "
            "contract_ref, loan_officer, ledger_as_of, "
            "ledger_hash, import_id, created_at, imported_at, ledger_raw_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.key,
                    team_id,
                    lead,
                    *r.values,
                    r.as_of,
                    r.digest,
                    import_id,
                    now_s,
                    now_s,
                    r.raw_hash,
                )
                for r, _, lead in new
            ],
        )
        # The right-hand sides read the row before the update. Newer export: a different
        # as-of date when the row has one, else a different total overdue amount.
        await db.executemany(
            "UPDATE cases SET previous_overdue_amount = CASE WHEN "
            "(?1 IS NOT NULL AND ledger_as_of IS NOT ?1) OR "
            "(?1 IS NULL AND overdue_principal + overdue_interest <> ?2) "
            "THEN overdue_principal + overdue_interest ELSE previous_overdue_amount END, "
            "ledger_as_of = COALESCE(?1, ledger_as_of), "
            "borrower_name = ?3, borrower_id_number = ?4, borrower_phone = ?5, "
            "borrower_address = ?6, borrower_business = ?7, product = ?8, "
            "principal_outstanding = ?9, overdue_principal = ?10, overdue_interest = ?11, "
            "overdue_since = ?12, maturity = ?13, guarantees = ?14, "
            "collateral_description = ?15, collateral_value = ?16, contract_ref = ?17, "
            "loan_officer = ?18, ledger_hash = ?19, import_id = ?20, imported_at = ?21, "
            "figures_at = ?21, ledger_raw_hash = ?23 "
            "WHERE id = ?22",
            [
                (
                    r.as_of,
                    r.total_overdue,
                    *r.values,
                    r.digest,
                    import_id,
                    now_s,
                    case_id,
                    r.raw_hash,
                )
                for r, case_id, _ in updated
            ],
        )
        # Same ledger fields, so the same amount: only a newer as-of date moves the signal.
        await db.executemany(
            "UPDATE cases SET previous_overdue_amount = CASE WHEN "
            "?1 IS NOT NULL AND ledger_as_of IS NOT ?1 "
            "THEN overdue_principal + overdue_interest ELSE previous_overdue_amount END, "
            "ledger_as_of = COALESCE(?1, ledger_as_of), import_id = ?2, imported_at = ?3, "
            "figures_at = COALESCE(figures_at, imported_at), ledger_raw_hash = ?5 "
            "WHERE id = ?4",
            [(r.as_of, import_id, now_s, case_id, r.raw_hash) for r, case_id, _ in unchanged],
        )
        await db.executemany(
            "UPDATE cases SET lead_id = ? WHERE id = ? AND lead_id IS NULL",
            [(lead, case_id) for _, case_id, lead in updated if lead is not None],
        )
        ids: dict[str, int] = {}
        if new:
            keys = json.dumps([r.key for r, _, _ in new], ensure_ascii=False)
            ids = {r[0]: r[1] for r in await db.fetchall(_IDS_SQL, (keys,))}
        touched = [
            (ids[r.key] if case_id is None else case_id, r, lead)
            for r, case_id, lead in (*new, *updated)
        ]
        # Parties the ledger listed before: unmarked here, marked again if still listed.
        await db.executemany(
            "UPDATE case_parties SET in_ledger = 0 WHERE case_id = ? AND in_ledger = 1",
            [(case_id,) for _, case_id, _ in updated],
        )
        await db.executemany(
            "INSERT INTO case_parties (case_id, role, name, phone, ledger_phone, in_ledger, "
            "created_at) VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5) "
            f"ON CONFLICT {_PARTY_KEY} DO UPDATE SET in_ledger = 1, "
            "phone = CASE WHEN case_parties.phone IS NULL "
            "OR case_parties.phone IS case_parties.ledger_phone "
            "THEN COALESCE(excluded.phone, case_parties.phone) ELSE case_parties.phone END, "
            "ledger_phone = COALESCE(excluded.phone, case_parties.ledger_phone)",
            [
                (case_id, role, name, phone, now_s)
                for case_id, r, _ in touched
                for role, name, phone in r.parties
            ],
        )
        # The file's guarantee kind and agreed period, for every guarantor of its row (issue 19);
        # a fact the file leaves empty keeps what was known (asked in the bot, or an earlier
        # file).
        await db.executemany(
            "INSERT INTO guarantee_facts (party_id, case_id, kind, agreed_end, source, set_by, "
            "set_at) SELECT p.id, p.case_id, ?3, ?4, 'import', ?5, ?6 FROM case_parties p "
            "WHERE p.case_id = ?1 AND p.role = 'guarantor' AND p.name = ?2 "
            "ON CONFLICT (party_id) DO UPDATE SET "
            "kind = COALESCE(excluded.kind, guarantee_facts.kind), "
            "agreed_end = COALESCE(excluded.agreed_end, guarantee_facts.agreed_end), "
            "source = excluded.source, set_by = excluded.set_by, set_at = excluded.set_at",
            [
                (case_id, name, *r.guarantee, self._actor_id, now_s)
                for case_id, r, _ in touched
                if r.guarantee != (None, None)
                for role, name, _ in r.parties
                if role == "guarantor"
            ],
        )
        # History only for leads that were set: a new case with a lead, or the UPDATE
        # above (inside this transaction, the planned lead_id IS NULL holds).
        await db.executemany(
            "INSERT INTO case_leads (case_id, from_id, to_id, by_id, at, reason) "
            "SELECT ?1, NULL, ?2, ?3, ?4, 'import' WHERE EXISTS "
            "(SELECT 1 FROM cases WHERE id = ?1 AND lead_id = ?2)",
            [(case_id, lead, self._actor_id, now_s) for case_id, _, lead in touched if lead],
        )
        for _, _, lead in touched:
            if lead is not None:
                self._per_lead[lead] = self._per_lead.get(lead, 0) + 1

    async def finish(
        self, *, keys: Sequence[str], columns: Mapping[LedgerField, str], summary: dict[str, int]
    ) -> dict[str, int]:
        """``summary`` with ``absent`` counted (the team's open cases ``keys`` leave out);
        when writing, the import recorded as applied with it."""
        found = await self._fetch(_ABSENT_SQL, (self.team_id, json.dumps(list(keys))))
        summary = {**summary, "absent": int(found[0][0])}
        db = self._tx
        if db is None:
            return summary
        import_id, now, now_s = self.import_id, self._now, self._now_s
        await db.execute(
            "UPDATE imports SET status = 'applied', data = NULL, team_id = ?, summary = ?, "
            "decided_by = ?, decided_at = ? WHERE id = ?",
            (self.team_id, json.dumps(summary), self._actor_id, now_s, import_id),
        )
        # Which facts this file had no column for (the card says "not in the file").
        await db.execute(
            "UPDATE cases SET ledger_gaps = ? WHERE import_id = ?",
            (",".join(sorted(ledger_gaps(columns))), import_id),
        )
        team = await db.fetchone("SELECT name FROM teams WHERE id = ?", (self.team_id,))
        for collector_id, count in sorted(self._per_lead.items()) if self._notify else ():
            await db.enqueue(
                NewOutboxMessage(
                    collector_id,
                    "imports/new_cases",
                    {"count": count, "team": team[0] if team else "", "import_id": import_id},
                ),
                now=now,
            )
        await db.audit(
            now, self._actor_id, "import", "import", import_id, {"team_id": self.team_id, **summary}
        )
        return summary


class SqlImports(Engine):
    """The streaming import's storage verb."""

    @asynccontextmanager
    async def importing(
        self,
        *,
        team_id: int,
        import_id: int | None,
        file_name: str,
        actor_id: int | None,
        now: datetime,
        write: bool,
        notify: bool = True,
    ) -> AsyncIterator[SqlImportSink | None]:
        """An import of ``team_id`` batch by batch. ``write=False``: a dry run (reads only, no
        transaction held). ``write=True``: one ``BEGIN IMMEDIATE`` transaction from here to
        the end of the block, committed only if the block ends normally; with ``import_id``
        the pending import is applied (``None`` is yielded when it is no longer pending: a
        second press of "Import", or a cancel that came first), without one the import's row
        is created inside the transaction (``file_name``), so a killed import leaves no row.
        """
        if not write:
            yield SqlImportSink(
                self._fetchall,
                None,
                team_id=team_id,
                import_id=import_id,
                actor_id=actor_id,
                now=now,
                notify=notify,
            )
            return
        # SQLite: every row written is its own statement, and a table with triggers gives each
        # one a statement journal (to undo that one row); kept in memory rather than in a
        # temporary file, a first import of 100 000 rows takes a third less of SQLite's time.
        # Set for the import's transaction only (it cannot change inside one), then set back.
        before = None
        if self.dialect == "sqlite":
            before = await self._fetchone("PRAGMA temp_store")
            await self._execute("PRAGMA temp_store = MEMORY")
        try:
            async with self._tx() as db:
                if import_id is None:
                    done = await db.insert(
                        "INSERT INTO imports (team_id, created_by, created_at, file_name, data) "
                        "VALUES (?, ?, ?, ?, NULL)",
                        (team_id, actor_id, ts(now), file_name),
                    )
                    import_id = done
                elif (
                    await db.fetchone(
                        "SELECT 1 FROM imports WHERE id = ? AND status = 'pending'", (import_id,)
                    )
                    is None
                ):
                    yield None
                    return
                yield SqlImportSink(
                    db.fetchall,
                    db,
                    team_id=team_id,
                    import_id=import_id,
                    actor_id=actor_id,
                    now=now,
                    notify=notify,
                )
        finally:
            if before is not None:
                with contextlib.suppress(StorageError):  # a connection gone: nothing to set back
                    await self._execute(f"PRAGMA temp_store = {int(before[0])}")
