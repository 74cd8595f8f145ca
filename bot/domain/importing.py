"""What an import of the ledger changes: the upsert decisions, before anything is written.

:func:`plan_import` takes the parsed file (bot/domain/ledger.py), a snapshot of the stored cases
(contract number -> :class:`StoredCase`) and the team's active collectors, and sorts every good
row into new / updated / unchanged, or refuses it with a :class:`RowError` (unknown collector,
contract of another team). The dry run shows the plan; the real import writes it.

Upsert by contract number. A re-import (tomorrow's export) overwrites only what the ledger
owns — balances, dates, the borrower's details, the security — and keeps what collectors
recorded (notes, party attitudes, status, lead changes). The ledger's collector column sets the
lead only for a case that has none: a supervisor's reassignment in the bot wins over a stale
ledger column (strategy 12, 一以贯之).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.ledger import (
    LedgerField,
    LedgerParseResult,
    LedgerRow,
    RowError,
    RowErrorCode,
)

__all__ = [
    "ACCEPTED_SUFFIXES",
    "MAX_FILE_BYTES",
    "CollectorRef",
    "FileProblem",
    "ImportPlan",
    "PlannedRow",
    "RowChange",
    "StoredCase",
    "check_upload",
    "ledger_hash",
    "match_collector",
    "plan_import",
]

#: Telegram lets a bot download files of at most 20 MB; a 100 000-row XLSX is about 8 MB.
MAX_FILE_BYTES = 20 * 1024 * 1024
ACCEPTED_SUFFIXES = (".csv", ".xlsx")


class FileProblem(StrEnum):
    """Why an uploaded file is refused before it is read. Each has a message."""

    WRONG_TYPE = "wrong_type"  # not .csv / .xlsx
    XLS = "xls"  # the old binary Excel format: save as .xlsx or CSV
    TOO_BIG = "too_big"
    EMPTY = "empty"


def check_upload(file_name: str | None, size: int | None) -> FileProblem | None:
    """Refuse by name and size, before downloading. ``size`` may be unknown (``None``).

    The content decides in the end (:func:`bot.domain.ledger.parse_ledger` detects CSV or XLSX
    from the bytes); the name only catches the obvious mistakes early: a photo, a PDF, a .xls.
    """
    name = (file_name or "").casefold().strip()
    if size is not None and size > MAX_FILE_BYTES:
        return FileProblem.TOO_BIG
    if size == 0:
        return FileProblem.EMPTY
    if name.endswith(".xls"):
        return FileProblem.XLS
    if not name.endswith(ACCEPTED_SUFFIXES):
        return FileProblem.WRONG_TYPE
    return None


@dataclass(frozen=True, slots=True)
class CollectorRef:
    """An active collector of the team, as the ledger's collector column may name them."""

    user_id: int
    name: str
    username: str | None
    telegram_id: int


@dataclass(frozen=True, slots=True)
class StoredCase:
    """What the plan needs to know about a case already stored."""

    case_id: int
    team_id: int
    lead_id: int | None
    ledger_hash: str


class RowChange(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """A good row and what it will do. ``set_lead`` is the collector to make lead, only when
    the case has none yet (new, or stored without a lead)."""

    row: LedgerRow
    change: RowChange
    case_id: int | None
    set_lead: int | None
    ledger_hash: str


@dataclass(slots=True)
class ImportPlan:
    """The dry run: what an import would do, and every refused row with its reason."""

    team_id: int
    rows: list[PlannedRow]
    errors: list[RowError]
    header: list[str] = field(default_factory=list)
    columns: dict[LedgerField, str] = field(default_factory=dict)
    error_rows: dict[int, list[str]] = field(default_factory=dict)
    unmapped_columns: list[str] = field(default_factory=list)
    skipped_lines: int = 0

    def count(self, change: RowChange) -> int:
        return sum(1 for r in self.rows if r.change is change)

    @property
    def refused_lines(self) -> int:
        return len({e.line for e in self.errors})

    def summary(self) -> dict[str, int]:
        """Counts for the screen and the imports table."""
        return {
            "new": self.count(RowChange.NEW),
            "updated": self.count(RowChange.UPDATED),
            "unchanged": self.count(RowChange.UNCHANGED),
            "refused": self.refused_lines,
        }


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


class _Directory:
    """The team's collectors indexed three ways; a name two people share matches nobody."""

    def __init__(self, collectors: Sequence[CollectorRef]) -> None:
        self.by_name: dict[str, list[CollectorRef]] = {}
        self.by_username: dict[str, CollectorRef] = {}
        self.by_telegram_id: dict[int, CollectorRef] = {}
        for c in collectors:
            self.by_name.setdefault(_key(c.name), []).append(c)
            if c.username:
                self.by_username[c.username.casefold()] = c
            self.by_telegram_id[c.telegram_id] = c

    def match(self, text: str) -> CollectorRef | None:
        t = unicodedata.normalize("NFKC", text).strip()
        if t.startswith("@"):
            return self.by_username.get(t[1:].casefold())
        if t.isdigit() and int(t) in self.by_telegram_id:
            return self.by_telegram_id[int(t)]
        named = self.by_name.get(_key(t), [])
        return named[0] if len(named) == 1 else None


def match_collector(text: str, collectors: Sequence[CollectorRef]) -> CollectorRef | None:
    """The one active collector ``text`` names: ``@username`` (case-insensitive), a Telegram
    id (digits), or the name (ignoring spaces, width and case). ``None`` when nobody matches or
    the name is ambiguous (two collectors called 张伟): guessing would give a case to the
    wrong person."""
    return _Directory(collectors).match(text)


def ledger_hash(row: LedgerRow) -> str:
    """A fingerprint of the ledger-owned fields, to tell "unchanged" from "updated" without
    reading every stored column back. The collector column is left out: it does not change
    a case that already has a lead."""
    b, loan, sec = row.borrower, row.loan, row.security
    parties = tuple((p.role.value, p.name, p.phone) for p in row.related_parties)
    material = repr(
        (
            b.name, b.id_number, b.phone, b.address, b.business,
            loan.contract_no, loan.product, loan.principal_outstanding, loan.overdue_principal,
            loan.overdue_interest, loan.overdue_since.isoformat(),
            loan.maturity.isoformat() if loan.maturity else None,
            sec.guarantees, sec.collateral_description, sec.collateral_value, parties,
        )
    )  # fmt: skip
    return hashlib.blake2b(material.encode("utf-8"), digest_size=16).hexdigest()


def plan_import(
    parsed: LedgerParseResult,
    *,
    team_id: int,
    existing: Mapping[str, StoredCase],
    collectors: Sequence[CollectorRef],
) -> ImportPlan:
    """Decide what importing ``parsed`` into ``team_id`` does.

    Refused here (besides the parser's refusals, which are kept):

    - ``unknown_collector`` — the collector cell names nobody, a name two collectors share, a
      supervisor, or someone switched off. A blank cell is fine: the case waits for /assign.
    - ``other_team`` — the contract is a case of another team; an import never moves a case
      between teams (that would take it from its collector without a word).
    """
    directory = _Directory(collectors)
    plan = ImportPlan(
        team_id=team_id,
        rows=[],
        errors=list(parsed.errors),
        header=parsed.header,
        columns=dict(parsed.columns),
        error_rows=dict(parsed.error_rows),
        unmapped_columns=list(parsed.unmapped_columns),
        skipped_lines=parsed.skipped_lines,
    )
    for row in parsed.rows:
        errors: list[RowError] = []
        collector = None
        if row.collector is not None:
            collector = directory.match(row.collector)
            if collector is None:
                errors.append(
                    RowError(
                        row.line, RowErrorCode.UNKNOWN_COLLECTOR, LedgerField.COLLECTOR,
                        row.collector,
                    )
                )  # fmt: skip
        stored = existing.get(row.loan.contract_no)
        if stored is not None and stored.team_id != team_id:
            errors.append(
                RowError(
                    row.line, RowErrorCode.OTHER_TEAM, LedgerField.CONTRACT_NO,
                    row.loan.contract_no,
                )
            )  # fmt: skip
        if errors:
            plan.errors.extend(errors)
            plan.error_rows[row.line] = _original_cells(row, parsed)
            continue
        digest = ledger_hash(row)
        lead = collector.user_id if collector is not None else None
        if stored is None:
            plan.rows.append(PlannedRow(row, RowChange.NEW, None, lead, digest))
            continue
        set_lead = lead if stored.lead_id is None else None
        change = (
            RowChange.UNCHANGED
            if stored.ledger_hash == digest and set_lead is None
            else RowChange.UPDATED
        )
        plan.rows.append(PlannedRow(row, change, stored.case_id, set_lead, digest))
    plan.errors.sort(key=lambda e: e.line)
    return plan


def _original_cells(row: LedgerRow, parsed: LedgerParseResult) -> list[str]:
    """The parser keeps original cells only for its own bad rows; for a row refused here the
    report shows the fields it understood, under the original header."""
    values: dict[LedgerField, str | None] = {
        LedgerField.CONTRACT_NO: row.loan.contract_no,
        LedgerField.BORROWER: row.borrower.name,
        LedgerField.COLLECTOR: row.collector,
    }
    by_header = {parsed.columns[f]: v for f, v in values.items() if f in parsed.columns}
    return [by_header.get(h) or "" for h in parsed.header]
