"""The one import path of the ledger, used by the bot, the command line and the benchmark.

:func:`stream_import`: a reader (a child process) parses the file a batch of a few thousand
rows at a time, stages and hashes each row once, and sends the batch on as plain values; the
bot plans each batch against the cases it names (one query; the ledger hash compared by the
database) and writes it with batch statements, every batch inside one transaction
(``Storage.importing``), while the reader parses the next. Nothing whole crosses between the
processes (no plan, no snapshot of every case), and nothing is planned twice. The dry run
reads the same way and writes nothing; a kill at any point leaves the database as it was.

Why a process. An XLSX of 100 000 rows takes about 30 s of CPU to parse; in a thread it held
the GIL against the event loop, and a hostile 1 000 000-row file made everyone else's replies
25 times slower. A child process has its own interpreter (forked from a clean fork server
that has the parser imported, or spawned: never a fork of the bot with its threads, event
loop and database handles), a wall-clock limit (killed when it is exceeded) and a memory
limit, and one file is read at a time so two uploads cannot take both cores. What the child
cannot read comes back as a :class:`LedgerError` with a reason, never as a crash of the bot.
``qingshou import`` takes the same path. ``in_process=False`` reads in a thread instead:
lighter (no second interpreter, no copy of the file) but slower, as parse and write then share
one interpreter (bench/import_bench.py measures both).

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
import queue
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain.casefile import local_date
from bot.domain.importing import (
    LINE_HASH_WIDTH,
    CollectorRef,
    ImportPlan,
    collector_matcher,
    original_cells,
    stage_row,
)
from bot.domain.ledger import (
    DEFAULT_MAX_ROWS,
    LedgerError,
    LedgerField,
    RowError,
    RowErrorCode,
    open_ledger,
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
    "prepare_import",
    "preview",
    "reason_text",
    "stream_import",
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
    LedgerField.GUARANTEE_KIND: N_("guarantee kind"),
    LedgerField.GUARANTEE_PERIOD: N_("guarantee period"),
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


#: What the reader sends for a file: first ("head", _Head), then ("batch", …) per batch, then
#: ("end",); or, instead of the rest, ("ledger", code, params) or ("crash", traceback).
Message = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Head:
    header: list[str]
    columns: dict[LedgerField, str]
    units: dict[LedgerField, int]
    unmapped_columns: list[str]
    key_field: LedgerField


def _known_lines(known: str) -> frozenset[str]:
    """The raw fingerprints the storage sends (``ImportSink.known_lines``: fixed-width hex
    digests, one string), as a set."""
    width = LINE_HASH_WIDTH
    return frozenset(known[i : i + width] for i in range(0, len(known), width))


def _read(
    source: bytes | str,
    today: date,
    collectors: Sequence[CollectorRef],
    max_rows: int,
    known: str = "",
) -> Iterator[Message]:
    """Read ``source`` (the file's bytes, or its path) batch by batch: every row parsed,
    staged and hashed once, here; only plain values leave (:class:`StagedRow`). A line whose
    raw fingerprint is in ``known`` (stored, and unchanged if written again) is not parsed:
    only its key leaves."""
    unchanged = _known_lines(known)
    del known
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    reading = open_ledger(data, today=today, max_rows=max_rows)
    del data, source  # the reading holds the decoded text (or the workbook) from here on
    yield (
        "head",
        _Head(
            reading.header,
            reading.columns,
            reading.units,
            reading.unmapped_columns,
            reading.key_field,
        ),
    )
    match = collector_matcher(collectors)
    for batch in reading.batches(unchanged=unchanged):
        staged = [
            stage_row(row, match, digest)
            for row, digest in zip(batch.rows, batch.raw_hashes, strict=True)
        ]
        yield (
            "batch",
            staged,
            batch.errors,
            batch.error_rows,
            batch.keys,
            batch.skipped_lines,
            batch.done,
            batch.unchanged_keys,
        )
    yield ("end",)


def _messages(
    source: bytes | str,
    today: date,
    collectors: Sequence[CollectorRef],
    max_rows: int,
    memory_bytes: int | None,
    known: str = "",
) -> Iterator[Message]:
    """:func:`_read`, with whatever goes wrong as the last message instead of an exception."""
    try:
        yield from _read(source, today, collectors, max_rows, known)
    except LedgerError as exc:
        yield ("ledger", exc.code, exc.params)
    except MemoryError:
        yield ("ledger", "ledger.too_large", {"mb": str((memory_bytes or 0) // 2**20)})
    except BaseException:
        yield ("crash", traceback.format_exc())


def _child(
    conn: Connection,
    memory_bytes: int | None,
    source: bytes | str,
    today: date,
    collectors: Sequence[CollectorRef],
    max_rows: int,
    known: str,
) -> None:
    """The child process: send the messages of :func:`_read` as they come. The parent writes
    batch *n* while this reads batch *n + 1*; the pipe holds back a reader that runs ahead."""
    # Short-lived, memory-capped, and what it builds has no cycles: the cyclic collector would
    # only rescan the heap again and again.
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
    try:
        for message in _messages(source, today, collectors, max_rows, memory_bytes, known):
            try:
                conn.send(message)
            except MemoryError:
                conn.send(("ledger", "ledger.too_large", {"mb": str((memory_bytes or 0) // 2**20)}))
                return
    except (BrokenPipeError, OSError):  # the parent stopped listening (killed, cancelled)
        pass
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


class _Reader:
    """The messages of one file, from a child process (``in_process=False``: from a thread
    of this process, lighter but slower; for a caller with no event loop to keep free).
    Within ``limits.seconds`` of wall clock, else ``ledger.too_slow`` and the child killed;
    :meth:`close` kills it too."""

    def __init__(
        self,
        source: bytes | str,
        *,
        today: date,
        collectors: Sequence[CollectorRef],
        limits: ImportLimits,
        in_process: bool,
        known: str = "",
    ) -> None:
        self._limits = limits
        self._deadline = time.monotonic() + limits.seconds
        self._stop = threading.Event()
        self._process: BaseProcess | None = None
        self._receiver: Connection | None = None
        self._queue: queue.Queue[Message] | None = None
        self._args: tuple[bytes | str, date, list[CollectorRef], int, str] | None = (
            source,
            today,
            list(collectors),
            limits.max_rows,
            known,
        )
        self._in_process = in_process
        self._started = False

    def _start(self) -> None:
        """Start the child (in a worker thread: starting one can take a while)."""
        assert self._args is not None
        source, today, collectors, max_rows, known = self._args
        self._args = None
        if not self._in_process:
            self._queue = queue.Queue(maxsize=2)
            messages = _messages(source, today, collectors, max_rows, None, known)
            threading.Thread(
                target=self._pump,
                args=(messages, self._queue),
                name="qingshou-import",
                daemon=True,
            ).start()
            return
        context = _process_context()
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_child,
            args=(sender, self._limits.memory_bytes, source, today, collectors, max_rows, known),
            name="qingshou-import",
            daemon=True,
        )
        try:
            process.start()
        except OSError:  # the fork server died (killed by someone): the next file starts anew
            log.exception("could not start the import reader")
            receiver.close()
            sender.close()
            raise LedgerError("ledger.reader_failed") from None
        sender.close()
        self._process, self._receiver = process, receiver
        if self._stop.is_set():  # cancelled while starting
            self._kill()

    def _pump(self, messages: Iterator[Message], out: queue.Queue[Message]) -> None:
        for message in messages:
            while not self._stop.is_set():
                try:
                    out.put(message, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if self._stop.is_set():
                return

    def _next(self) -> Message:
        """The next message (in a worker thread)."""
        if not self._started:
            self._started = True
            self._start()
        if self._queue is not None:
            while True:
                if self._stop.is_set():
                    raise LedgerError("ledger.reader_failed")
                if time.monotonic() >= self._deadline:
                    raise self._too_slow()
                try:
                    return self._queue.get(timeout=0.1)
                except queue.Empty:
                    continue
        receiver = self._receiver
        assert receiver is not None
        while not receiver.poll(max(0.0, min(0.1, self._deadline - time.monotonic()))):
            if self._stop.is_set():
                raise LedgerError("ledger.reader_failed")
            if time.monotonic() >= self._deadline:
                raise self._too_slow()
        try:
            message: Message = receiver.recv()
        except (EOFError, OSError):  # died without a word: killed (out of memory), or cancelled
            process = self._process
            if process is not None:
                process.join(5)
                log.warning("import reader exited with %s and no answer", process.exitcode)
            raise LedgerError("ledger.reader_failed") from None
        return message

    def _too_slow(self) -> LedgerError:
        self._kill()
        return LedgerError("ledger.too_slow", {"seconds": f"{self._limits.seconds:g}"})

    async def next(self) -> Message:
        message = await asyncio.to_thread(self._next)
        if message[0] == "ledger":
            raise LedgerError(message[1], message[2])
        if message[0] == "crash":
            log.error("the import reader failed on a file:\n%s", message[1])
            raise LedgerError("ledger.reader_failed")
        return message

    def _kill(self) -> None:
        self._stop.set()
        process = self._process
        if process is not None and process.is_alive():
            process.kill()

    def close(self) -> None:
        """Stop reading: the child killed, its pipe closed (also after a cancellation)."""
        self._kill()
        if self._receiver is not None:
            self._receiver.close()
        if self._process is not None:
            self._process.join(5)


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


#: Told how far an import has got: the fraction of the file read (``None`` when the file does
#: not say) and the rows read so far.
Progress = Callable[[float | None, int], None]


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    plan: ImportPlan
    import_id: int | None
    applied: dict[str, int] | None  # None: a dry run


async def stream_import(
    storage: Storage,
    source: bytes | Path,
    *,
    team_id: int,
    today: date,
    now: datetime,
    actor_id: int | None,
    write: bool,
    import_id: int | None = None,
    file_name: str = "",
    limits: ImportLimits | None = None,
    progress: Progress | None = None,
    in_process: bool = True,
) -> ImportOutcome | None:
    """The one import path: the file read batch by batch (in a child process, or a thread
    with ``in_process=False``), each batch planned against the cases it names and, with
    ``write``, written, all in one transaction (see :meth:`Storage.importing`). The plan that
    comes back has no rows, only their counts (:meth:`ImportPlan.summary`), the refused rows
    and the warnings. ``None``: the pending ``import_id`` was decided meanwhile.

    One file at a time: a second waits for the first. Raises :class:`LedgerError` for a file
    that cannot be read (nothing written: the transaction is rolled back)."""
    limits = limits or ImportLimits()
    async with (
        _reader_lock(),
        storage.importing(
            team_id=team_id,
            import_id=import_id,
            file_name=file_name,
            actor_id=actor_id,
            now=now,
            write=write,
        ) as sink,
    ):
        if sink is None:
            return None
        reader = _Reader(
            source if isinstance(source, bytes) else str(source),
            today=today,
            collectors=await sink.collectors(),
            limits=limits,
            in_process=in_process,
            known=await sink.known_lines(today),
        )
        try:
            head: _Head = (await reader.next())[1]
            plan = ImportPlan(
                team_id=team_id,
                rows=[],
                errors=[],
                header=head.header,
                columns=head.columns,
                units=head.units,
                unmapped_columns=head.unmapped_columns,
            )
            has_collector_column = LedgerField.COLLECTOR in head.columns
            counts = {"new": 0, "updated": 0, "unchanged": 0}
            keys: list[str] = []
            read = 0
            while (message := await reader.next())[0] == "batch":
                _, staged, errors, error_rows, batch_keys, skipped, done, unchanged = message
                plan.errors.extend(errors)
                plan.error_rows.update(error_rows)
                plan.skipped_lines += skipped
                keys.extend(batch_keys)
                decided = await sink.add(
                    staged, key_field=head.key_field, has_collector_column=has_collector_column
                )
                counts["new"] += len(decided.new)
                counts["updated"] += len(decided.updated)
                counts["unchanged"] += len(decided.unchanged)
                if unchanged:  # lines known unchanged, not parsed
                    await sink.keep(unchanged)
                    counts["unchanged"] += len(unchanged)
                plan.errors.extend(decided.errors)
                plan.warnings.extend(decided.warnings)
                for row in decided.refused:
                    plan.error_rows[row.line] = original_cells(row, head.header, head.columns)
                read += len(staged) + len(error_rows) + len(unchanged)
                if progress is not None:
                    progress(done, read)
        finally:
            reader.close()
        plan.errors.sort(key=lambda e: e.line)
        summary = await sink.finish(
            keys=keys,
            columns=plan.columns,
            summary={
                **counts,
                "refused": plan.refused_lines,
                "no_lead": len(plan.warnings),
            },
        )
        plan.absent = summary["absent"]
        plan.counts = summary
        return ImportOutcome(plan, sink.import_id, summary if write else None)


async def prepare_import(
    storage: Storage,
    data: bytes,
    *,
    team_id: int,
    today: date,
    limits: ImportLimits | None = None,
) -> ImportPlan:
    """The dry run: the file read, and row by row what the import would do, nothing written."""
    outcome = await stream_import(
        storage,
        data,
        team_id=team_id,
        today=today,
        now=datetime.combine(today, datetime.min.time(), tzinfo=UTC),
        actor_id=None,
        write=False,
        limits=limits,
    )
    assert outcome is not None
    return outcome.plan


async def import_bytes(
    storage: Storage,
    data: bytes | Path,
    *,
    file_name: str,
    team_id: int,
    actor_id: int | None,
    now: datetime,
    today: date,
    dry_run: bool = False,
    limits: ImportLimits | None = None,
    progress: Progress | None = None,
    in_process: bool = True,
) -> ImportOutcome:
    """Read and (unless ``dry_run``) write an import in one go: the command line's path.
    The import's row is created inside the write's transaction: a kill leaves none."""
    outcome = await stream_import(
        storage,
        data,
        team_id=team_id,
        today=today,
        now=now,
        actor_id=actor_id,
        write=not dry_run,
        file_name=file_name,
        limits=limits,
        progress=progress,
        in_process=in_process,
    )
    assert outcome is not None  # no pending import to be decided meanwhile
    return outcome


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
    """ "Import" pressed: read the file again, planning and writing it batch by batch in one
    transaction (the cases may have changed since the dry run). ``None`` when the import was
    decided meanwhile. Raises :class:`LedgerError` (after cancelling the import) if the file no
    longer reads under the current rules (nothing written)."""
    assert record.team_id is not None
    assert record.data is not None
    try:
        outcome = await stream_import(
            storage,
            record.data,
            team_id=record.team_id,
            today=local_date(now, tz),
            now=now,
            actor_id=actor_id,
            write=True,
            import_id=record.id,
            limits=limits,
        )
    except LedgerError:
        await storage.cancel_import(record.id, actor_id=actor_id, now=now)
        raise
    if outcome is None:
        return None
    # The queue's sort keys of the cases written, in batches that let other updates in (the
    # import's triggers marked them stale: a read before this would work them out itself).
    await storage.refresh_queue(today=local_date(now, tz), tz=tz)
    return outcome.applied
