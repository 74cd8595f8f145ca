"""The one import path of the ledger, used by the bot, the command line and the benchmark.

parse and plan in a child process (:func:`plan_in_process`) → write in one transaction
(storage, which plans again inside it). The dry run stops after the plan.

Why a process. An XLSX of 100 000 rows takes about 30 s of CPU to parse; in a thread it held
the GIL against the event loop, and a hostile 1 000 000-row file made everyone else's replies
25 times slower. A child process has its own interpreter (forked from a clean fork server
that has the parser imported, or spawned: never a fork of the bot with its threads, event
loop and database handles), a wall-clock limit (killed when it is exceeded) and a memory
limit, and one file is read at a time so two uploads cannot take both cores. What the child
cannot read comes back as a :class:`LedgerError` with a reason, never as a crash of the bot.

Also here: the error report, a CSV (UTF-8 with a BOM, so Excel shows Chinese) with one line
per refused row or warning and the reason in the reader's language; and the bot's two steps
(:func:`preview`, :func:`apply_pending`), so that the handler only parses the update, calls,
renders and replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import io
import logging
import multiprocessing
import os
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from typing import TYPE_CHECKING, Any

from bot.domain.casefile import local_date
from bot.domain.importing import CollectorRef, ImportPlan, StoredCase, plan_import
from bot.domain.ledger import (
    DEFAULT_MAX_ROWS,
    LedgerError,
    LedgerField,
    RowError,
    RowErrorCode,
    parse_ledger,
)
from bot.i18n import N_
from bot.storage import ImportRecord, Storage

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from bot.config import Settings

log = logging.getLogger(__name__)

__all__ = [
    "FIELD_NAMES",
    "ImportLimits",
    "ImportOutcome",
    "Preview",
    "apply_pending",
    "column_mapping",
    "defuse_cell",
    "error_report",
    "import_bytes",
    "missing_columns",
    "plan_in_process",
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
    RowErrorCode.NO_COLLECTOR: N_(
        "no lead: the collector cell is empty (imported without a lead; use /assign)"
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
        writer.writerow([defuse_cell(c) for c in record])
    return out.getvalue().encode("utf-8-sig")


#: What makes Excel, LibreOffice or WPS run a cell as a formula (or DDE command) on opening.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse_cell(cell: str) -> str:
    """A cell for a CSV that people open in a spreadsheet: one that would start a formula
    (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``, ``+``, ``-``, ``@``, a tab or CR) gets a
    leading ``'``, so it shows as the text it is. Every CSV we write goes through this."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """How much reading one file may take. ``max_rows``: data rows (``QINGSHOU_IMPORT_MAX_ROWS``);
    ``seconds``: wall-clock time of the parse and plan, after which the child is killed;
    ``memory_bytes``: the child's address space (``None``: unlimited)."""

    max_rows: int = DEFAULT_MAX_ROWS
    seconds: float = 180.0
    memory_bytes: int | None = 3 * 1024**3

    @classmethod
    def from_settings(cls, settings: Settings) -> ImportLimits:
        return cls(max_rows=settings.import_max_rows)


#: How much lower than the bot a reader child runs (``nice``): a file being parsed takes the
#: CPU the bot leaves, not the other way round.
CHILD_NICENESS = 10


def _child(
    conn: Connection,
    memory_bytes: int | None,
    data: bytes,
    today: date,
    team_id: int,
    existing: Mapping[str, StoredCase],
    collectors: Sequence[CollectorRef],
    max_rows: int,
    rows: bool,
) -> None:
    """The child process: parse and plan, send back ("ok", plan) — without its rows unless
    ``rows`` —, ("ledger", code, params) or ("crash", traceback)."""
    # Short-lived, memory-capped, and what it builds has no cycles: the cyclic collector would
    # only rescan the growing heap again and again (a third of the parse and pickling time).
    gc.disable()
    # Behind the bot for the CPU: on a small server the parse must not slow everyone's replies.
    with contextlib.suppress(AttributeError, OSError):  # no nice() on this platform
        os.nice(CHILD_NICENESS)
    if memory_bytes is not None:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        except (ImportError, ValueError, OSError):  # not on this platform: the time limit stays
            pass
    result: tuple[Any, ...]
    try:
        parsed = parse_ledger(data, today=today, max_rows=max_rows)
        del data
        plan = plan_import(parsed, team_id=team_id, existing=existing, collectors=collectors)
        result = ("ok", plan if rows else plan.without_rows())
    except LedgerError as exc:
        result = ("ledger", exc.code, exc.params)
    except MemoryError:
        result = ("ledger", "ledger.too_large", {"mb": str((memory_bytes or 0) // 2**20)})
    except BaseException:
        result = ("crash", traceback.format_exc())
    try:
        conn.send(result)
    except MemoryError:  # the plan was too big to send back
        conn.send(("ledger", "ledger.too_large", {"mb": str((memory_bytes or 0) // 2**20)}))
    finally:
        conn.close()


def _process_context() -> ForkServerContext | SpawnContext:
    """Fork server where there is one (Linux, macOS): each reader is forked from a clean
    single-threaded server that has already imported the parser, so a file costs no interpreter
    start-up (half a second of CPU that the bot's other chats would feel); else spawn. Never a
    plain fork of the bot: it has threads and an event loop."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["bot.imports"])
        return context
    return multiprocessing.get_context("spawn")


def _run_child(
    args: tuple[Any, ...], limits: ImportLimits, started: list[BaseProcess], stop: threading.Event
) -> ImportPlan:
    """Start the child, wait for its answer within the time limit (in a worker thread).

    ``stop`` is set when the waiting task was cancelled: the child is killed, also one this
    thread starts only after the cancellation (a slow start on a busy machine).
    """
    context = _process_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child,
        args=(sender, limits.memory_bytes, *args),
        name="qingshou-import",
        daemon=True,
    )
    try:
        process.start()
    except OSError:  # the fork server died (killed by someone): the next file starts a new one
        log.exception("could not start the import reader")
        receiver.close()
        sender.close()
        raise LedgerError("ledger.reader_failed") from None
    started.append(process)
    sender.close()
    try:
        deadline = time.monotonic() + limits.seconds
        while not receiver.poll(max(0.0, min(0.1, deadline - time.monotonic()))):
            if stop.is_set():
                raise LedgerError("ledger.reader_failed")
            if time.monotonic() >= deadline:
                raise LedgerError("ledger.too_slow", {"seconds": f"{limits.seconds:g}"})
        try:
            # Unpickling 100 000 planned rows makes millions of objects; the cyclic collector
            # would run over the whole heap many times meanwhile (more than half the time).
            collecting = gc.isenabled()
            gc.disable()
            try:
                answer = receiver.recv()
            finally:
                if collecting:
                    gc.enable()
        except (EOFError, OSError):  # died without a word: killed (out of memory), or cancelled
            process.join(5)
            log.warning("import reader exited with %s and no answer", process.exitcode)
            raise LedgerError("ledger.reader_failed") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if answer[0] == "ok":
        plan: ImportPlan = answer[1]
        return plan
    if answer[0] == "ledger":
        raise LedgerError(answer[1], answer[2])
    log.error("the import reader failed on a file:\n%s", answer[1])
    raise LedgerError("ledger.reader_failed")


_one_file_at_a_time: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
_locks_guard = threading.Lock()


def _reader_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    with _locks_guard:
        lock = _one_file_at_a_time.get(loop)
        if lock is None:
            lock = _one_file_at_a_time[loop] = asyncio.Lock()
    return lock


async def plan_in_process(
    data: bytes,
    *,
    today: date,
    team_id: int,
    existing: Mapping[str, StoredCase],
    collectors: Sequence[CollectorRef],
    limits: ImportLimits | None = None,
    rows: bool = True,
) -> ImportPlan:
    """Parse ``data`` and plan it against ``existing`` in a child process, one file at a time;
    the event loop only waits. ``rows=False``: the plan comes back
    :meth:`~bot.domain.importing.ImportPlan.without_rows` (for a dry run: much less to send).
    Raises :class:`LedgerError` for a file that cannot be read (its codes, and
    ``ledger.too_slow``, ``ledger.reader_failed``)."""
    limits = limits or ImportLimits()
    started: list[BaseProcess] = []
    stop = threading.Event()
    args = (data, today, team_id, dict(existing), list(collectors), limits.max_rows, rows)
    async with _reader_lock():
        try:
            return await asyncio.to_thread(_run_child, args, limits, started, stop)
        except asyncio.CancelledError:  # shutting down: do not leave the child reading
            stop.set()
            for process in started:
                if process.is_alive():
                    process.kill()
            raise


async def prepare_import(
    storage: Storage,
    data: bytes,
    *,
    team_id: int,
    today: date,
    limits: ImportLimits | None = None,
    rows: bool = True,
) -> ImportPlan:
    """The dry run: parse, then decide row by row what the import would do (in a child).
    ``rows=False`` for a plan that is only shown (see :func:`plan_in_process`)."""
    existing = await storage.import_snapshot()
    collectors = await storage.collector_refs(team_id)
    return await plan_in_process(
        data,
        today=today,
        team_id=team_id,
        existing=existing,
        collectors=collectors,
        limits=limits,
        rows=rows,
    )


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
    limits: ImportLimits | None = None,
) -> ImportOutcome:
    """Plan and (unless ``dry_run``) apply an import in one go: the command line's path."""
    plan = await prepare_import(storage, data, team_id=team_id, today=today, limits=limits)
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
    cancelled and its file dropped; ``missing`` and ``line`` explain a missing column,
    ``params`` holds the error's other details: the row cap, the column count). ``report`` is
    the CSV of refused rows and warnings, ``None`` when there are none."""

    plan: ImportPlan | None
    summary: dict[str, int] = field(default_factory=dict)
    report: bytes | None = None
    can_import: bool = False
    problem: str | None = None
    missing: list[str] = field(default_factory=list)
    line: str | None = None
    mapping: list[tuple[str, str, int]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)


async def preview(
    storage: Storage,
    record: ImportRecord,
    *,
    now: datetime,
    tz: tzinfo,
    label: Label,
    actor_id: int | None,
    limits: ImportLimits | None = None,
) -> Preview:
    """Parse and plan a pending import (in a child process), keep the counts with it, and
    build what the dry run shows. A file with no importable row is cancelled at once: there is
    nothing to confirm; so is a file that cannot be read (its stored copy is dropped), and,
    before the error goes on to the error handler, one whose reading failed in any other way:
    no import is left pending without buttons."""
    assert record.team_id is not None
    assert record.data is not None
    try:
        plan = await prepare_import(
            storage,
            record.data,
            team_id=record.team_id,
            today=local_date(now, tz),
            limits=limits,
            rows=False,
        )
    except LedgerError as exc:
        await storage.cancel_import(record.id, actor_id=actor_id, now=now)
        return Preview(
            plan=None,
            problem=exc.code,
            missing=missing_columns(exc.params.get("missing", ""), label),
            line=exc.params.get("line"),
            params=dict(exc.params),
        )
    except Exception:
        await storage.cancel_import(record.id, actor_id=actor_id, now=now)
        raise
    summary = plan.summary()
    await storage.record_preview(record.id, summary)
    can_import = bool(summary["new"] or summary["updated"] or summary["unchanged"])
    if not can_import:
        await storage.cancel_import(record.id, actor_id=None, now=now)
    report = error_report(plan, label) if plan.errors or plan.warnings else None
    return Preview(plan, summary, report, can_import, mapping=column_mapping(plan, label))


async def apply_pending(
    storage: Storage,
    record: ImportRecord,
    *,
    actor_id: int,
    now: datetime,
    tz: tzinfo,
    limits: ImportLimits | None = None,
) -> dict[str, int] | None:
    """ "Import" pressed: parse and plan again (the cases may have changed since the dry run)
    and write. ``None`` when the import was decided meanwhile. Raises :class:`LedgerError`
    (after cancelling the import) if the file no longer reads under the current rules."""
    assert record.team_id is not None
    assert record.data is not None
    try:
        plan = await prepare_import(
            storage,
            record.data,
            team_id=record.team_id,
            today=local_date(now, tz),
            limits=limits,
        )
    except LedgerError:
        await storage.cancel_import(record.id, actor_id=actor_id, now=now)
        raise
    return await storage.apply_import(plan, import_id=record.id, actor_id=actor_id, now=now, tz=tz)
