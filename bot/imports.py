"""The one import path of the ledger, used by the bot, the command line and the benchmark.

parse (in a thread: an XLSX of 100 000 rows takes about 30 s of CPU) → plan against the stored
cases and the team's collectors (pure, bot/domain/importing.py) → write in one transaction
(storage). The dry run stops after the plan. Also here: the error report, a CSV (UTF-8 with a
BOM, so Excel shows Chinese) with one line per refused row and the reason in the reader's
language.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.importing import ImportPlan, plan_import
from bot.domain.ledger import LedgerField, LedgerParseResult, RowError, RowErrorCode, parse_ledger
from bot.i18n import N_
from bot.storage import Storage

__all__ = [
    "FIELD_NAMES",
    "ImportOutcome",
    "error_report",
    "import_bytes",
    "parse_in_thread",
    "prepare_import",
    "reason_text",
]

#: A translator of marked messages (``context.label`` or ``Renderer.label`` bound to a locale).
Label = Callable[[str], str]

#: The ledger's fields as a person names them (missing columns, error reasons).
FIELD_NAMES: dict[LedgerField, str] = {
    LedgerField.CONTRACT_NO: N_("contract number"),
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
    LedgerField.MATURITY: N_("maturity"),
    LedgerField.GUARANTOR: N_("guarantor"),
    LedgerField.COLLATERAL: N_("collateral"),
    LedgerField.COLLATERAL_VALUE: N_("collateral value"),
    LedgerField.COLLECTOR: N_("collector"),
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
    RowErrorCode.UNKNOWN_COLLECTOR: N_(
        "%(column)s: “%(value)s” is not an active collector of this team"
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
    """The refused rows as CSV: line, column, value, reason, then the row as it was in the
    file under its original header. Cells Excel would run as formulas are defused with ``'``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([*(label(t) for t in _REPORT_TITLES), *plan.header])
    for err in plan.errors:
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
