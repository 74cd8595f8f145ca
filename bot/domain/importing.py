"""What an import of the ledger changes: the upsert decisions, before anything is written.

:func:`plan_import` takes the parsed file (bot/domain/ledger.py), a snapshot of the stored cases
(contract number -> :class:`StoredCase`) and the team's active collectors, and sorts every good
row into new / updated / unchanged, or refuses it with a :class:`RowError` (unknown collector,
contract of another team). The dry run shows the plan; the real import writes it.

Upsert by the case key (借据号, else 合同号: see bot/domain/ledger.py). A re-import (tomorrow's
export) overwrites only what the ledger owns — balances, dates, the borrower's details, the
security — and keeps what collectors recorded (notes, party attitudes, status, lead changes).

The lead. Only the collector column (清收人员 / 清收人 / 催收人) sets it, and only for a case that
has none (a new case, or one stored without a lead): a supervisor's reassignment in the bot wins
over a stale ledger column (strategy 12, 一以贯之), and the column is not even looked at for a case
that has a lead. The column names a collector of the team by the name on the cooperative's books
(``users.staff_name``: given by the inviter, else the Telegram name at joining, never changed by
Telegram afterwards), by ``@username`` or by Telegram id — never by the Telegram display name,
which its owner can set to anything. A name that matches nobody does not refuse the row: the
case is imported without a lead and the dry run warns (the supervisor uses /assign).
客户经理 / 管户人 / 责任人 is the loan officer, not the collector: it never sets the lead.

The import streams (bot/imports.py): the reader stages each good row once
(:func:`stage_row`: plain values and the ledger hash), and each batch is decided by
:func:`plan_batch` against the stored cases it names, read inside the write transaction, so a
concurrent import or /assign since the dry run cannot make the write fail or record a lead
change that did not happen. :func:`plan_import` makes the same decisions for a whole parsed
file at once (small files: tests, the demo).
"""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from bot.domain.cases import Security
from bot.domain.ledger import (
    LedgerField,
    LedgerParseResult,
    LedgerRow,
    RowError,
    RowErrorCode,
)
from bot.domain.people import Role, User

__all__ = [
    "ACCEPTED_SUFFIXES",
    "LINE_HASH_WIDTH",
    "TELEGRAM_DOWNLOAD_LIMIT",
    "BatchPlan",
    "CollectorRef",
    "FileProblem",
    "ImportPlan",
    "PlannedRow",
    "RowChange",
    "StagedRow",
    "StoredCase",
    "StoredState",
    "check_upload",
    "collector_matcher",
    "ledger_hash",
    "ledger_values",
    "match_collector",
    "may_decide_import",
    "original_cells",
    "plan_batch",
    "plan_import",
    "stage_row",
]

#: Telegram lets a bot download files of at most 20 MB (a 100 000-row XLSX is about 8 MB, the
#: same rows as CSV about 19 MB). Only uploads through the bot have this limit; ``qingshou
#: import`` on the server reads any size.
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024
ACCEPTED_SUFFIXES = (".csv", ".xlsx")


class FileProblem(StrEnum):
    """Why an uploaded file is refused before it is read. Each has a message."""

    WRONG_TYPE = "wrong_type"  # not .csv / .xlsx
    XLS = "xls"  # the old binary Excel format: save as .xlsx or CSV
    TOO_BIG = "too_big"
    EMPTY = "empty"


def check_upload(
    file_name: str | None, size: int | None, *, max_bytes: int | None = None
) -> FileProblem | None:
    """Refuse by name and size, before downloading. ``size`` may be unknown (``None``);
    ``max_bytes`` is the limit of the way the file came (``TELEGRAM_DOWNLOAD_LIMIT`` for the
    bot; ``None``, no limit, for the command line).

    The content decides in the end (:func:`bot.domain.ledger.parse_ledger` detects CSV or XLSX
    from the bytes); the name only catches the obvious mistakes early: a photo, a PDF, a .xls.
    """
    name = (file_name or "").casefold().strip()
    if size is not None and max_bytes is not None and size > max_bytes:
        return FileProblem.TOO_BIG
    if size == 0:
        return FileProblem.EMPTY
    if name.endswith(".xls"):
        return FileProblem.XLS
    if not name.endswith(ACCEPTED_SUFFIXES):
        return FileProblem.WRONG_TYPE
    return None


def may_decide_import(user: User, team_id: int | None) -> bool:
    """Who may choose the team of, apply or cancel a pending import: an active admin any
    (also one whose team is not chosen yet), an active supervisor only their own team's."""
    if not user.active:
        return False
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.SUPERVISOR and team_id is not None and team_id == user.team_id


@dataclass(frozen=True, slots=True)
class CollectorRef:
    """An active collector of the team, as the ledger's collector column may name them.

    ``staff_name`` is the name on the cooperative's books (``users.staff_name``), never the
    Telegram display name."""

    user_id: int
    staff_name: str | None
    username: str | None
    telegram_id: int


@dataclass(frozen=True, slots=True)
class StoredCase:
    """What the plan needs to know about a case already stored. ``closed``: settled or
    written off (not expected in an export of overdue loans)."""

    case_id: int
    team_id: int
    lead_id: int | None
    ledger_hash: str
    closed: bool = False


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

    def __reduce__(self) -> tuple[Any, ...]:
        # Plans come back from the parsing process by the hundred thousand rows: a constructor
        # call unpickles several times faster than a slotted dataclass's default __setstate__.
        return PlannedRow, (self.row, self.change, self.case_id, self.set_lead, self.ledger_hash)


@dataclass(slots=True)
class ImportPlan:
    """The dry run: what an import would do, every refused row with its reason, and the
    warnings (rows imported without a lead: ``unknown_collector``, ``no_collector``).

    ``absent`` counts the team's open cases that this file does not name: the import leaves
    them as they are (an export of overdue loans drops a loan that was repaid, but also one the
    export forgot), the dry run says how many. ``parsed`` is kept to plan again at write time.
    ``counts`` is set only on a plan :meth:`without_rows` (for showing, never for writing).
    """

    team_id: int
    rows: list[PlannedRow]
    errors: list[RowError]
    warnings: list[RowError] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    columns: dict[LedgerField, str] = field(default_factory=dict)
    units: dict[LedgerField, int] = field(default_factory=dict)
    error_rows: dict[int, list[str]] = field(default_factory=dict)
    unmapped_columns: list[str] = field(default_factory=list)
    skipped_lines: int = 0
    absent: int = 0
    parsed: LedgerParseResult | None = None
    counts: dict[str, int] | None = None

    def count(self, change: RowChange) -> int:
        if self.counts is not None:
            return self.counts[change.value]
        return sum(1 for r in self.rows if r.change is change)

    def without_rows(self) -> ImportPlan:
        """The same plan for the dry run's screen and error report: the counts kept, the good
        rows and the parsed file dropped. Sending 100 000 planned rows between processes costs
        seconds of pickling; the screen needs none of them. It cannot be written
        (:meth:`replan` refuses it)."""
        return dataclasses.replace(self, rows=[], parsed=None, counts=self.summary())

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
            "no_lead": len(self.warnings),
            "absent": self.absent,
        }

    def mapping(self) -> list[tuple[str, LedgerField, int]]:
        """How the columns were read, in the file's order: (header, field, unit multiplier)."""
        return [(header, f, self.units.get(f, 1)) for f, header in self.columns.items()]

    @property
    def key_field(self) -> LedgerField:
        """Which column keys the cases: 借据号 when the file has one, else 合同号."""
        if LedgerField.LOAN_RECEIPT_NO in self.columns:
            return LedgerField.LOAN_RECEIPT_NO
        return LedgerField.CONTRACT_NO

    def replan(
        self, *, existing: Mapping[str, StoredCase], collectors: Sequence[CollectorRef]
    ) -> ImportPlan:
        """The same file planned against the cases as they are now (at write time)."""
        if self.counts is not None:
            raise ValueError("a plan without its rows is for showing only; plan the file again")
        if self.parsed is None:
            return self
        return plan_import(
            self.parsed, team_id=self.team_id, existing=existing, collectors=collectors
        )


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


class _Directory:
    """The team's collectors indexed three ways; a name two people share matches nobody."""

    def __init__(self, collectors: Sequence[CollectorRef]) -> None:
        self.by_name: dict[str, list[CollectorRef]] = {}
        self.by_username: dict[str, CollectorRef] = {}
        self.by_telegram_id: dict[int, CollectorRef] = {}
        for c in collectors:
            if c.staff_name and _key(c.staff_name):
                self.by_name.setdefault(_key(c.staff_name), []).append(c)
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
    id (digits), or the name on the cooperative's books (``staff_name``, ignoring spaces, width
    and case) — never the Telegram display name, which its owner controls. ``None`` when nobody
    matches or the name is ambiguous (two collectors called 张伟): guessing would give a case to
    the wrong person."""
    return _Directory(collectors).match(text)


def _guarantee_material(sec: Security) -> tuple[Any, ...]:
    if sec.guarantee_kind is None and sec.guarantee_end is None:
        return ()
    return (
        None if sec.guarantee_kind is None else sec.guarantee_kind.value,
        None if sec.guarantee_end is None else sec.guarantee_end.isoformat(),
    )


def ledger_hash(row: LedgerRow) -> str:
    """A fingerprint of the ledger-owned fields, to tell "unchanged" from "updated" without
    reading every stored column back. The collector column is left out: it does not change
    a case that already has a lead."""
    return _ledger_hash(row, _parties(row))


def _parties(row: LedgerRow) -> tuple[tuple[str, str, str | None], ...]:
    # ``_value_``: the member's value without the ``value`` property's descriptor call (three
    # parties a row, twice each, on 100 000 rows).
    return tuple((p.role._value_, p.name, p.phone) for p in row.related_parties)


def _ledger_hash(row: LedgerRow, parties: tuple[tuple[str, str, str | None], ...]) -> str:
    b, loan, sec = row.borrower, row.loan, row.security
    material = repr(
        (
            b.name,
            b.id_number,
            b.phone,
            b.address,
            b.business,
            loan.contract_no,
            loan.product,
            loan.principal_outstanding,
            loan.overdue_principal,
            loan.overdue_interest,
            loan.overdue_since.isoformat(),
            loan.maturity.isoformat() if loan.maturity else None,
            sec.guarantees,
            sec.collateral_description,
            sec.collateral_value,
            parties,
            row.contract_ref,
            row.loan_officer,
            # Only when the file says them: a ledger without these columns hashes as it always
            # did (no case of an older import turns "updated" for nothing).
            *_guarantee_material(sec),
        )
    )
    return hashlib.blake2b(material.encode("utf-8"), digest_size=16).hexdigest()


def lead_to_set(
    line: int,
    collector: str | None,
    matched: int | None,
    *,
    has_collector_column: bool,
    warnings: list[RowError],
) -> int | None:
    """The lead collector an import sets for a case that has none (new, or stored without
    one): ``matched``, the user the row's ``collector`` cell names. An empty cell in a file with
    a collector column, or a name that matches nobody, is a warning (the case is imported
    without a lead), never a refusal. The whole-file plan and the batch plan both decide so."""
    if collector is None:
        if has_collector_column:
            warnings.append(RowError(line, RowErrorCode.NO_COLLECTOR, LedgerField.COLLECTOR, ""))
        return None
    if matched is None:
        warnings.append(
            RowError(line, RowErrorCode.UNKNOWN_COLLECTOR, LedgerField.COLLECTOR, collector)
        )
    return matched


def plan_import(
    parsed: LedgerParseResult,
    *,
    team_id: int,
    existing: Mapping[str, StoredCase],
    collectors: Sequence[CollectorRef],
) -> ImportPlan:
    """Decide what importing ``parsed`` into ``team_id`` does.

    Refused here (besides the parser's refusals, which are kept): ``other_team`` — the key is
    a case of another team; an import never moves a case between teams (that would take it
    from its collector without a word).

    Warned, not refused: ``unknown_collector`` — the row would set the lead (a new case, or
    one without a lead) but its collector cell names nobody, a name two collectors share, a
    supervisor, or someone switched off; ``no_collector`` — the same row with its collector
    cell empty. Either way the case comes in without a lead, and both are counted and listed
    alike ("no lead": /assign later). For a case that has a lead the collector cell is not read
    at all. A file without a collector column warns about nothing: the dry run says that no
    column sets the lead.
    """
    directory = _Directory(collectors)
    has_collector_column = LedgerField.COLLECTOR in parsed.columns
    plan = ImportPlan(
        team_id=team_id,
        rows=[],
        errors=list(parsed.errors),
        header=parsed.header,
        columns=dict(parsed.columns),
        units=dict(parsed.units),
        error_rows=dict(parsed.error_rows),
        unmapped_columns=list(parsed.unmapped_columns),
        skipped_lines=parsed.skipped_lines,
        parsed=parsed,
    )
    for row in parsed.rows:
        stored = existing.get(row.loan.contract_no)
        if stored is not None and stored.team_id != team_id:
            plan.errors.append(
                RowError(
                    row.line,
                    RowErrorCode.OTHER_TEAM,
                    plan.key_field,
                    row.loan.contract_no,
                )
            )
            plan.error_rows[row.line] = _original_cells(row, parsed)
            continue
        digest = ledger_hash(row)
        lead = None
        if stored is None or stored.lead_id is None:
            matched = directory.match(row.collector) if row.collector is not None else None
            lead = lead_to_set(
                row.line,
                row.collector,
                matched.user_id if matched is not None else None,
                has_collector_column=has_collector_column,
                warnings=plan.warnings,
            )
        if stored is None:
            plan.rows.append(PlannedRow(row, RowChange.NEW, None, lead, digest))
            continue
        change = (
            RowChange.UNCHANGED
            if stored.ledger_hash == digest and lead is None
            else RowChange.UPDATED
        )
        plan.rows.append(PlannedRow(row, change, stored.case_id, lead, digest))
    plan.absent = sum(
        1
        for key, stored in existing.items()
        if stored.team_id == team_id and not stored.closed and key not in parsed.keys
    )
    plan.errors.sort(key=lambda e: e.line)
    return plan


def _original_cells(row: LedgerRow, parsed: LedgerParseResult) -> list[str]:
    """The parser keeps original cells only for its own bad rows; for a row refused here the
    report shows the fields it understood, under the original header."""
    values: dict[LedgerField, str | None] = {
        LedgerField.LOAN_RECEIPT_NO if row.contract_ref else LedgerField.CONTRACT_NO: (
            row.loan.contract_no
        ),
        LedgerField.CONTRACT_NO if row.contract_ref else LedgerField.LOAN_RECEIPT_NO: (
            row.contract_ref
        ),
        LedgerField.BORROWER: row.borrower.name,
        LedgerField.COLLECTOR: row.collector,
    }
    by_header = {parsed.columns[f]: v for f, v in values.items() if f in parsed.columns}
    return [by_header.get(h) or "" for h in parsed.header]


# ---------------------------------------------------------------------------------------------
# The streaming import: the file read in batches, each planned against the database as it is


def ledger_values(row: LedgerRow) -> tuple[Any, ...]:
    """The ledger-owned columns of a case, in the order storage writes them: borrower name,
    id number, phone, address, business; product, principal outstanding, overdue principal,
    overdue interest, overdue since, maturity (ISO dates); guarantees, collateral description,
    collateral value; contract ref, loan officer."""
    b, loan, sec = row.borrower, row.loan, row.security
    return (
        b.name,
        b.id_number,
        b.phone,
        b.address,
        b.business,
        loan.product,
        loan.principal_outstanding,
        loan.overdue_principal,
        loan.overdue_interest,
        loan.overdue_since.isoformat(),
        loan.maturity.isoformat() if loan.maturity else None,
        sec.guarantees,
        sec.collateral_description,
        sec.collateral_value,
        row.contract_ref,
        row.loan_officer,
    )


#: The characters of a line's raw fingerprint (a 128-bit digest in hex): the storage hands the
#: stored ones to the reader as one string of them end to end.
LINE_HASH_WIDTH = 32


class StagedRow(NamedTuple):
    """A good row as the reader hands it on: plain values, ready for the batch statements,
    hashed once. ``lead`` is the collector the collector cell names (``None``: nobody, or
    the cell is empty); whether it becomes the lead is decided against the database.
    ``raw_hash``: the fingerprint of the line as it was in the file
    (:meth:`bot.domain.ledger.LedgerReading.raw_hash`), stored with the case so that the same
    line in a later file is known unchanged without parsing it; ``None`` when unknown."""

    key: str
    line: int
    digest: str
    as_of: str | None
    total_overdue: int
    lead: int | None
    collector: str | None
    values: tuple[Any, ...]
    parties: tuple[tuple[str, str, str | None], ...]
    contract_ref: str | None
    #: The file's 保证方式 and agreed 保证期间 end for the row's guarantors (None: not in it).
    guarantee: tuple[str | None, str | None] = (None, None)
    raw_hash: str | None = None


class _Matcher:
    """:class:`_Directory` with its answers kept: a ledger names the same few collectors on
    every line."""

    def __init__(self, collectors: Sequence[CollectorRef]) -> None:
        self._directory = _Directory(collectors)
        self._seen: dict[str, int | None] = {}

    def __call__(self, text: str) -> int | None:
        try:
            return self._seen[text]
        except KeyError:
            found = self._directory.match(text)
            user_id = self._seen[text] = None if found is None else found.user_id
            return user_id


def stage_row(
    row: LedgerRow, match: Callable[[str], int | None], raw_hash: str | None = None
) -> StagedRow:
    """``row`` as the batch statements take it; ``match`` names a collector's user id;
    ``raw_hash`` the fingerprint of its line, when known."""
    parties = _parties(row)
    return StagedRow(
        row.loan.contract_no,
        row.line,
        _ledger_hash(row, parties),
        None if row.as_of is None else row.as_of.isoformat(),
        row.loan.total_overdue,
        None if row.collector is None else match(row.collector),
        row.collector,
        ledger_values(row),
        parties,
        row.contract_ref,
        (
            None if row.security.guarantee_kind is None else row.security.guarantee_kind.value,
            None if row.security.guarantee_end is None else row.security.guarantee_end.isoformat(),
        ),
        raw_hash,
    )


def collector_matcher(collectors: Sequence[CollectorRef]) -> Callable[[str], int | None]:
    """What :func:`stage_row` matches a collector cell with (see :func:`match_collector`)."""
    return _Matcher(collectors)


@dataclass(frozen=True, slots=True)
class StoredState:
    """A stored case as one batch of an import meets it: whose it is, its lead, and whether
    its ledger hash equals the row's (compared by the database)."""

    case_id: int
    team_id: int
    lead_id: int | None
    same_hash: bool


@dataclass(slots=True)
class BatchPlan:
    """What one batch does: ``(row, case_id, set_lead)`` per kind of change (``case_id`` is
    ``None`` for a new case), and the rows refused (another team's contract) or warned about
    (imported without a lead)."""

    new: list[tuple[StagedRow, int | None, int | None]] = field(default_factory=list)
    updated: list[tuple[StagedRow, int | None, int | None]] = field(default_factory=list)
    unchanged: list[tuple[StagedRow, int | None, int | None]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    refused: list[StagedRow] = field(default_factory=list)


def plan_batch(
    rows: Sequence[StagedRow],
    stored: Mapping[str, StoredState],
    *,
    team_id: int,
    key_field: LedgerField,
    has_collector_column: bool,
) -> BatchPlan:
    """The decisions of :func:`plan_import` for one batch of staged rows, against the stored
    cases the batch names (``stored``, by key). The same rules: another team's contract is
    refused; the collector cell is read only for a case without a lead (new, or stored
    without one), and a cell that names nobody, or an empty one, is a warning, not a refusal;
    "unchanged" means the same ledger hash and no lead to set."""
    plan = BatchPlan()
    for row in rows:
        state = stored.get(row.key)
        if state is not None and state.team_id != team_id:
            plan.errors.append(RowError(row.line, RowErrorCode.OTHER_TEAM, key_field, row.key))
            plan.refused.append(row)
            continue
        lead = None
        if state is None or state.lead_id is None:
            lead = lead_to_set(
                row.line,
                row.collector,
                row.lead,
                has_collector_column=has_collector_column,
                warnings=plan.warnings,
            )
        if state is None:
            plan.new.append((row, None, lead))
        elif state.same_hash and lead is None:
            plan.unchanged.append((row, state.case_id, None))
        else:
            plan.updated.append((row, state.case_id, lead))
    return plan


def original_cells(
    row: StagedRow, header: Sequence[str], columns: Mapping[LedgerField, str]
) -> list[str]:
    """A staged row refused at the database (another team's contract), for the error report:
    the fields it understood, under the original header (as :func:`plan_import` does)."""
    values: dict[LedgerField, str | None] = {
        LedgerField.LOAN_RECEIPT_NO if row.contract_ref else LedgerField.CONTRACT_NO: row.key,
        LedgerField.CONTRACT_NO if row.contract_ref else LedgerField.LOAN_RECEIPT_NO: (
            row.contract_ref
        ),
        LedgerField.BORROWER: row.values[0],
        LedgerField.COLLECTOR: row.collector,
    }
    by_header = {columns[f]: v for f, v in values.items() if f in columns}
    return [by_header.get(h) or "" for h in header]
