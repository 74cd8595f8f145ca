"""The one import path of the ledger, used by the bot, the command line and the benchmark.

parse (in a thread: an XLSX of 100 000 rows takes about 30 s of CPU) → plan against the stored
cases and the team's collectors (pure, bot/domain/importing.py) → write in one transaction
(storage, which plans again inside it). The dry run stops after the plan. Also here: the error
report, a CSV (UTF-8 with a BOM, so Excel shows Chinese) with one line per refused row or
warning and the reason in the reader's language; and the bot's two steps (:func:`preview`,
:func:`apply_pending`), so that the handler only parses the update, calls, renders and replies.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from bot.domain.casefile import local_date
from bot.domain.importing import ImportPlan, plan_import
from bot.domain.ledger import (
    LedgerError,
    LedgerField,
    LedgerParseResult,
    RowError,
    RowErrorCode,
    parse_ledger,
)
from bot.i18n import N_
from bot.storage import ImportRecord, Storage

__all__ = [
    "FIELD_NAMES",
    "ImportOutcome",
    "Preview",
    "apply_pending",
    "column_mapping",
    "error_report",
    "import_bytes",
    "missing_columns",
    "parse_in_thread",
    "prepare_import",
    "preview",
    "reason_text",
]

#: A translator of marked messages (``context.label`` or ``Renderer.label`` bound to a locale).
Label = Callable[[str], str]

#: The ledger's fields as a person names them (missing columns, error reasons).
FIELD_NAMES: dict[LedgerField, str] = {
    LedgerField.CONTRACT_NO: N_("contract number"),
    LedgerField.LOAN_RECEIPT_NO: N_("loan receipt number"),
    LedgerField.BORROWER: N_("borrower"),
    LedgerField.ID_NUMBER: N_("ID number"),
    LedgerField.PHONE: N_("phone"),
    LedgerField.ADDRESS: N_("address"),
    LedgerField.BUSINESS: N_("business"),
    LedgerField.PRODUCT: N_("loan product"),
    LedgerField.PRINCIPAL_OUTSTANDING: N_("principal outstanding"),
    LedgerField.OVERDUE_PRINCIPAL: N_("overdue principal"),
    LedgerField.OVERDUE_INTEREST: N_("overdue interest"),
    LedgerField.OVERDUE_SINCE: N_("overdue since"),
    LedgerField.DAYS_PAST_DUE: N_("days past due"),
    LedgerField.AS_OF: N_("as-of date"),
    LedgerField.MATURITY: N_("maturity"),
    LedgerField.GUARANTOR: N_("guarantor"),
    LedgerField.COLLATERAL: N_("collateral"),
    LedgerField.COLLATERAL_VALUE: N_("collateral value"),
    LedgerField.COLLECTOR: N_("collector"),
    LedgerField.LOAN_OFFICER: N_("loan officer"),
    LedgerField.SPOUSE: N_("spouse"),
    LedgerField.SPOUSE_PHONE: N_("spouse's phone"),
}

_REASONS: dict[str, str] = {
    RowErrorCode.MISSING_FIELD: N_("%(column)s is empty"),
    RowErrorCode.BAD_DATE: N_("%(column)s: “%(value)s” is not a date (write it like 2024-03-05)"),
    RowErrorCode.BAD_ID_NUMBER: N_(
        "%(column)s: “%(value)s” was cut off by Excel; format the column as text"
    ),
    RowErrorCode.DUPLICATE_CONTRACT: N_(
        "contract %(value)s appears a second time (first on line %(detail)s)"
    ),
    RowErrorCode.OVERDUE_EXCEEDS_BALANCE: N_(
        "%(column)s “%(value)s” is more than the balance “%(detail)s”"
    ),
    RowErrorCode.DATE_IN_FUTURE: N_("%(column)s: “%(value)s” is after today"),
    RowErrorCode.BAD_CONTRACT_NO: N_(
        "%(column)s: “%(value)s” was cut off by Excel; format the column as text"
    ),
    RowErrorCode.BAD_CHARACTERS: N_(
        "the line holds bad characters (bytes that are not UTF-8); correct them and save the "
        "file again"
    ),
    RowErrorCode.BAD_DAYS: N_("%(column)s: “%(value)s” is not a whole number of days"),
    RowErrorCode.DAYS_MISMATCH: N_(
        "%(column)s: “%(value)s” days, but the as-of date and the overdue date are %(detail)s "
        "days apart"
    ),
    RowErrorCode.UNKNOWN_COLLECTOR: N_(
        "no lead: “%(value)s” is not a collector of this team (imported without a lead; "
        "use /assign)"
    ),
    RowErrorCode.OTHER_TEAM: N_("contract %(value)s is already a case of another team"),
    # bad_amount, by the amount error's code:
    "amount.negative": N_("%(column)s: “%(value)s” is negative"),
    "amount.too_precise": N_("%(column)s: “%(value)s” has fractions of a fen"),
    "amount.too_large": N_("%(column)s: “%(value)s” is too large for a loan"),
    "amount.unparseable": N_("%(column)s: “%(value)s” is not an amount"),
}

_REPORT_TITLES = (N_("line"), N_("column"), N_("value"), N_("reason"))


def reason_text(error: RowError, columns: dict[LedgerField, str], label: Label) -> str:
    """Why a row was refused, in the reader's language, naming the column as the file does."""
    if error.code is RowErrorCode.BAD_AMOUNT:
        key = error.detail if error.detail in _REASONS else "amount.unparseable"
    else:
        key = error.code
    column = ""
    if error.field is not None:
        column = columns.get(error.field) or label(FIELD_NAMES[error.field])
    return label(_REASONS[key]) % {
        "column": column,
        "value": error.value,
        "detail": error.detail or "",
    }


def error_report(plan: ImportPlan, label: Label) -> bytes:
    """The refused rows and the warnings (imported without a lead) as CSV, by line: line,
    column, value, reason, then the row as it was in the file under its original header (for
    refused rows). Cells Excel would run as formulas are defused with ``'``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([*(label(t) for t in _REPORT_TITLES), *plan.header])
    for err in sorted([*plan.errors, *plan.warnings], key=lambda e: e.line):
        column = plan.columns.get(err.field, "") if err.field else ""
        record = [str(err.line), column, err.value, reason_text(err, plan.columns, label)]
        record.extend(plan.error_rows.get(err.line, ()))
        writer.writerow([_defuse(c) for c in record])
    return out.getvalue().encode("utf-8-sig")


def _defuse(cell: str) -> str:
    return "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r")) else cell


async def parse_in_thread(data: bytes, *, today: date) -> LedgerParseResult:
    """Parse off the event loop, so the bot keeps answering everyone else meanwhile.

    Raises :class:`bot.domain.ledger.LedgerError` for a file that cannot be read as a whole.
    """
    return await asyncio.to_thread(parse_ledger, data, today=today)


async def prepare_import(storage: Storage, data: bytes, *, team_id: int, today: date) -> ImportPlan:
    """The dry run: parse, then decide row by row what the import would do."""
    parsed = await parse_in_thread(data, today=today)
    existing = await storage.import_snapshot()
    collectors = await storage.collector_refs(team_id)
    return plan_import(parsed, team_id=team_id, existing=existing, collectors=collectors)


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    plan: ImportPlan
    import_id: int | None
    applied: dict[str, int] | None  # None: a dry run


async def import_bytes(
    storage: Storage,
    data: bytes,
    *,
    file_name: str,
    team_id: int,
    actor_id: int | None,
    now: datetime,
    today: date,
    dry_run: bool = False,
) -> ImportOutcome:
    """Plan and (unless ``dry_run``) apply an import in one go: the command line's path."""
    plan = await prepare_import(storage, data, team_id=team_id, today=today)
    if dry_run:
        return ImportOutcome(plan, None, None)
    import_id = await storage.create_import(
        team_id=team_id, created_by=actor_id, file_name=file_name, data=None, now=now
    )
    applied = await storage.apply_import(plan, import_id=import_id, actor_id=actor_id, now=now)
    return ImportOutcome(plan, import_id, applied)


def missing_columns(codes: str, label: Label) -> list[str]:
    """``LedgerError.params["missing"]`` in words: ``overdue_principal|principal_outstanding``
    becomes "overdue principal or principal outstanding" (either column would do)."""
    names = []
    for group in filter(None, codes.split(",")):
        alternatives = [label(FIELD_NAMES[LedgerField(f)]) for f in group.split("|")]
        names.append(label(N_(" or ")).join(alternatives))
    return names


def column_mapping(plan: ImportPlan, label: Label) -> list[tuple[str, str, int]]:
    """How the file's columns were read: (header, field in words, unit multiplier)."""
    return [(header, label(FIELD_NAMES[f]), unit) for header, f, unit in plan.mapping()]


@dataclass(frozen=True, slots=True)
class Preview:
    """The dry run of a pending import, ready to render. ``problem`` is the
    :class:`LedgerError` code when the file cannot be read at all (the import is then
    cancelled; ``missing`` and ``line`` explain a missing column). ``report`` is the CSV of
    refused rows and warnings, ``None`` when there are none."""

    plan: ImportPlan | None
    summary: dict[str, int] = field(default_factory=dict)
    report: bytes | None = None
    can_import: bool = False
    problem: str | None = None
    missing: list[str] = field(default_factory=list)
    line: str | None = None
    mapping: list[tuple[str, str, int]] = field(default_factory=list)


async def preview(
    storage: Storage, record: ImportRecord, *, now: datetime, tz: tzinfo, label: Label,
    actor_id: int | None,
) -> Preview:  # fmt: skip
    """Parse and plan a pending import (off the event loop), keep the counts with it, and
    build what the dry run shows. A file with no importable row is cancelled at once: there is
    nothing to confirm."""
    assert record.team_id is not None
    assert record.data is not None
    try:
        plan = await prepare_import(
            storage, record.data, team_id=record.team_id, today=local_date(now, tz)
        )
    except LedgerError as exc:
        await storage.cancel_import(record.id, actor_id=actor_id, now=now)
        return Preview(
            plan=None,
            problem=exc.code,
            missing=missing_columns(exc.params.get("missing", ""), label),
            line=exc.params.get("line"),
        )
    summary = plan.summary()
    await storage.record_preview(record.id, summary)
    can_import = bool(summary["new"] or summary["updated"] or summary["unchanged"])
    if not can_import:
        await storage.cancel_import(record.id, actor_id=None, now=now)
    report = error_report(plan, label) if plan.errors or plan.warnings else None
    return Preview(plan, summary, report, can_import, mapping=column_mapping(plan, label))


async def apply_pending(
    storage: Storage, record: ImportRecord, *, actor_id: int, now: datetime, tz: tzinfo
) -> dict[str, int] | None:
    """ "Import" pressed: parse and plan again (the cases may have changed since the dry run)
    and write. ``None`` when the import was decided meanwhile. Raises :class:`LedgerError`
    (after cancelling the import) if the file no longer reads under the current rules."""
    assert record.team_id is not None
    assert record.data is not None
    try:
        plan = await prepare_import(
            storage, record.data, team_id=record.team_id, today=local_date(now, tz)
        )
    except LedgerError:
        await storage.cancel_import(record.id, actor_id=actor_id, now=now)
        raise
    return await storage.apply_import(plan, import_id=record.id, actor_id=actor_id, now=now)
