"""Exports: the team's cases and their history as an XLSX workbook or CSV, for /export and
``qingshou export``.

Seven sheets — cases (as they stand now), then the meetings, commitments, instalments, payments
and approval requests of a period (local days, inclusive), and the legal clocks of the open
cases as of today with their evidence (issue 19) — with the column headers and sheet
names in the reader's language (the gettext catalogs). Rows come from storage in batches
(:class:`bot.storage.protocol.ExportStore`); each batch becomes cell values in a worker thread
and goes down a pipe to a child process that writes the workbook with xlsxwriter in
``constant_memory`` mode (:mod:`bot.xlsx_writer`): a 600 000-row export never builds the
workbook in memory and never holds the event loop, so the bot's other chats go on meanwhile.

Every text cell is defused (:func:`bot.imports.defuse_cell`): a borrower named
``=cmd|' /C calc'!A0`` or a phone ``-138…`` opens as that text, never as a formula. Money is a
number in yuan (two decimals), days are dates, times are the cooperative's local time.
People are named as the cooperative's books name them, never by their Telegram name.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import html
import io
import json
import logging
import re
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from bot.domain.cases import days_past_due
from bot.i18n import N_, gettext
from bot.imports import defuse_cell
from bot.storage.export_records import ExportPeriod

if TYPE_CHECKING:
    from bot.domain.people import User
    from bot.storage import Storage

log = logging.getLogger(__name__)

__all__ = [
    "BOT_MAX_ROWS",
    "FORMATS",
    "PRESETS",
    "SHEETS",
    "TELEGRAM_UPLOAD_LIMIT",
    "Column",
    "ExportFailed",
    "ExportFile",
    "ExportRequest",
    "ExportTooLarge",
    "Sheet",
    "build_export",
    "export_filename",
    "make_period",
    "preset_period",
    "write_csv",
    "write_csv_zip",
    "write_xlsx",
]

Format = Literal["xlsx", "csv"]
FORMATS: tuple[Format, ...] = ("xlsx", "csv")
#: Bots may send documents up to 50 MB (Bot API sendDocument).
TELEGRAM_UPLOAD_LIMIT = 50 * 1024 * 1024
#: Excel keeps at most this many characters in a cell.
_CELL_MAX = 32_767
#: Characters an XLSX cannot hold (control characters except tab, line feed, return).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Kind = Literal["text", "money", "date", "time", "int", "bool", "word"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: the record's attribute (or ``get``), its header (translated), its kind."""

    field: str
    header: str
    kind: Kind = "text"
    width: int = 14
    get: Callable[[Any, ExportRequest], Any] | None = None


RowsFn = Callable[["Storage", "ExportRequest"], AsyncIterator[list[Any]]]


@dataclass(frozen=True, slots=True)
class Sheet:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: RowsFn


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """Who exports what: ``viewer``'s scope narrowed to ``team_id`` (None: all they may see),
    the ``period``, the zone for times, ``today`` for days past due, the reader's language."""

    viewer: User
    team_id: int | None
    period: ExportPeriod
    tz: tzinfo
    today: date
    locale: str
    sheets: tuple[str, ...] = ()
    #: Stop (:class:`ExportTooLarge`) once this many rows are written: the bot's file must fit
    #: Telegram's 50 MB, and a year of a very large team does not (the CLI has no limit).
    max_rows: int | None = None

    def chosen(self) -> tuple[Sheet, ...]:
        if not self.sheets:
            return SHEETS
        return tuple(s for s in SHEETS if s.key in self.sheets)


class ExportTooLarge(Exception):
    """The export passed its ``max_rows``; ``rows`` were written when it stopped."""

    def __init__(self, rows: int, limit: int) -> None:
        super().__init__(f"export stopped after {rows} rows (limit {limit})")
        self.rows = rows
        self.limit = limit


class _Tally:
    """Rows written so far across the sheets, against the request's limit."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.rows = 0

    def add(self, n: int) -> None:
        self.rows += n
        if self.limit is not None and self.rows > self.limit:
            raise ExportTooLarge(self.rows, self.limit)


#: Rows the bot puts in one file: about 30 MB of XLSX, well within Telegram's 50 MB.
BOT_MAX_ROWS = 600_000


@dataclass(frozen=True, slots=True)
class ExportFile:
    data: bytes
    filename: str
    counts: dict[str, int] = field(default_factory=dict)


# -- periods -----------------------------------------------------------------------------------


def make_period(start: date, end: date, tz: tzinfo) -> ExportPeriod:
    """The local days ``start``..``end`` (inclusive) and the UTC instants that bound them."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    since = datetime.combine(start, time(), tz).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), time(), tz).astimezone(UTC)
    return ExportPeriod(start, end, since, until)


#: The periods /export offers with a tap, in order.
PRESETS: tuple[tuple[str, str], ...] = (
    ("7d", N_("Last 7 days")),
    ("30d", N_("Last 30 days")),
    ("this_month", N_("This month")),
    ("last_month", N_("Last month")),
    ("this_year", N_("This year")),
)


def preset_period(name: str, today: date) -> tuple[date, date]:
    """The days of a preset, today included: ``7d`` is today and the six days before it;
    ``last_month`` the whole previous calendar month; ``this_month``/``this_year`` from the
    1st (1 January) to today."""
    if name == "7d":
        return today - timedelta(days=6), today
    if name == "30d":
        return today - timedelta(days=29), today
    if name == "this_month":
        return today.replace(day=1), today
    if name == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if name == "this_year":
        return date(today.year, 1, 1), today
    raise ValueError(f"unknown period {name!r}")


# -- the sheets --------------------------------------------------------------------------------


def _dpd(record: Any, request: ExportRequest) -> int:
    return days_past_due(record.overdue_since, request.today)


@functools.lru_cache(maxsize=4096)
def _cell_words(locale: str, kind: str, value_json: str, status: str | None) -> str:
    """A stored code in the reader's words (templates/export/cell): the same words the bot's
    messages use, so a sheet never shows ``office``, ``sign_agreement`` or a proposal's JSON.
    Few distinct values repeat over many rows: cached."""
    from zoneinfo import ZoneInfo

    renderer = _renderer(ZoneInfo("UTC"))
    text = renderer.render(
        locale, "export/cell", kind=kind, value=json.loads(value_json), status=status
    )
    return html.unescape(text).strip()


@functools.cache
def _renderer(tz: Any) -> Any:
    from bot.render import Renderer

    return Renderer(tz)


def _worded(kind: str, field: str) -> Callable[[Any, ExportRequest], str | None]:
    """A column whose stored code (or JSON, for ``proposal`` and ``counter``) is shown in the
    reader's words; free text a collector typed is kept as typed."""

    def get(record: Any, request: ExportRequest) -> str | None:
        value = getattr(record, field)
        if value is None or value == "":
            return None
        if kind in ("proposal", "counter") and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return str(value)
            if not isinstance(value, dict) or not value:
                return None
        status = getattr(record, "status", None)
        return _cell_words(
            request.locale,
            kind,
            json.dumps(value, sort_keys=True),
            None if status is None else str(status),
        )

    return get


#: The words for the codes a sheet's status, channel, source and reason columns hold, so a
#: reader sees 已守约 / kept, not the database's code ("word" columns; an unknown code as is).
WORDS: dict[str, str] = {
    # cases
    "open": N_("open"),
    "negotiating": N_("in negotiation"),
    "under_agreement": N_("under agreement"),
    "settled": N_("settled"),
    "legal": N_("legal action"),
    "written_off": N_("written off"),
    # instalments
    "kept": N_("kept"),
    "partial": N_("paid in part"),
    "broken": N_("broken"),
    "unconfirmed": N_("unconfirmed"),
    "cancelled": N_("cancelled"),
    # commitments
    "pending_approval": N_("waiting for the supervisor"),
    "agreed": N_("agreed"),
    "rejected": N_("rejected"),
    "amended": N_("amended"),
    # approval requests
    "pending": N_("waiting"),
    "approved": N_("approved"),
    "countered": N_("counter-offered"),
    "withdrawn": N_("withdrawn"),
    # payments: channel, and what recorded them
    "cash": N_("Cash"),
    "transfer": N_("Transfer"),
    "pos": N_("POS card"),
    "other": N_("Other"),
    "outcome": N_("meeting outcome"),
    "commit": N_("money today"),
    "reminder": N_("answer to a reminder"),
    # why an instalment was missed (the same words as the reminder's buttons)
    "no_money": N_("No money now"),
    "unreachable": N_("Could not reach them"),
    "refused": N_("Refuses to pay"),
    "later": N_("Promises a later day"),
    "dispute": N_("Disputes the debt"),
    # legal clocks (issue 19): which clock, where it stands, what set its last day
    "limitation": N_("Limitation period"),
    "guarantee": N_("Guarantee period"),
    "guarantor_limitation": N_("Guarantor's own limitation"),
    "mortgage": N_("Mortgage (enforce within the limitation)"),
    "running": N_("running"),
    "expired": N_("out of time"),
    "suspended": N_("suspended"),
    "no_due_date": N_("no due date in the file"),
    "claimed": N_("claimed in time"),
    "lapsed": N_("lapsed: the guarantor is free"),
    "kind_unknown": N_("running, guarantee kind not in the file"),
    "due_date": N_("the due date"),
    "agreed_period": N_("the agreed guarantee period"),
    "overdue_since": N_("the missed due date"),
    "payment": N_("a payment"),
    "commitment": N_("a repayment plan agreed"),
    "agreement_signed": N_("a signed repayment agreement"),
    "notice_signed": N_("a signed collection notice"),
    "suit": N_("a suit filed"),
    "meeting": N_("a meeting"),
    "joint": N_("joint liability guarantee"),
    "general": N_("general guarantee"),
}

#: The evidence of what set a clock's last day, in words (a date in the reader's format).
_EVIDENCE: dict[str, str] = {
    "due_date": N_("Due date %(day)s in the ledger"),
    "agreed_period": N_("Guarantee period agreed to end on %(day)s"),
    "overdue_since": N_("Overdue since %(day)s (the ledger gives no due date)"),
    "payment": N_("Payment received on %(day)s"),
    "commitment": N_("Repayment plan agreed on %(day)s"),
    "agreement_signed": N_("Repayment agreement signed on %(day)s"),
    "notice_signed": N_("Collection notice receipt signed on %(day)s"),
    "suit": N_("Suit filed on %(day)s"),
    "meeting": N_("Meeting on %(day)s"),
}


def _words(codes: str, locale: str) -> str:
    """A "word" cell's code in the reader's words; several codes (why an instalment was missed:
    ``no_money,refused``) each in words, joined the language's way; an unknown code as is."""
    words = [gettext(locale, WORDS[c]) if c in WORDS else c for c in codes.split(",") if c]
    return gettext(locale, ", ").join(words)


def _evidence(record: Any, request: ExportRequest) -> str | None:
    """ "Repayment agreement signed on Jun 15, 2025 · signed copy's photo filed": what set a
    clock's last day, on its day, and whether the signed paper is on file."""
    # A sheet's row has every field; a single cell rendered alone (the labels test) may not.
    on, filed = getattr(record, "set_on", None), getattr(record, "evidence", False)
    document = getattr(record, "document", None)
    if record.set_by is None or on is None:
        return None
    from babel.dates import format_date

    from bot.i18n import babel_locale

    day = format_date(on, "medium", locale=babel_locale(request.locale))
    text = gettext(request.locale, _EVIDENCE.get(record.set_by, "%(day)s")) % {"day": day}
    if filed:
        text += gettext(request.locale, " · ") + gettext(
            request.locale, N_("signed copy's photo filed")
        )
    elif document is not None:
        text += gettext(request.locale, " · ") + gettext(
            request.locale, N_("no photo of the signed copy")
        )
    return text


def _guarantee_kind(record: Any, request: ExportRequest) -> str | None:
    """A guarantor's kind in words; "not in the file" for a guarantor whose kind the file does
    not give (never assumed); empty on other clocks."""
    if record.guarantee_kind is not None:
        return _words(record.guarantee_kind, request.locale)
    if record.clock == "guarantee":
        return gettext(request.locale, N_("not in the file, never assumed"))
    return None


_CONTRACT = Column("contract_no", N_("Contract no."), width=16)
_BORROWER = Column("borrower_name", N_("Borrower"), width=12)
_TEAM = Column("team", N_("Team"), width=10)

#: The workbook's sheets, in order. The cases sheet's headers in Chinese are the ones the
#: ledger import reads (合同号, 借款人, 贷款余额, …), so an export imports back.
SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "cases",
        N_("Cases"),
        (
            _CONTRACT,
            _BORROWER,
            Column("borrower_phone", N_("Phone"), width=14),
            _TEAM,
            Column("lead", N_("Collector"), width=12),
            Column("status", N_("Status"), "word", 14),
            Column("product", N_("Product"), width=14),
            Column("principal_outstanding", N_("Principal outstanding"), "money"),
            Column("overdue_principal", N_("Overdue principal"), "money"),
            Column("overdue_interest", N_("Overdue interest"), "money"),
            Column("overdue_since", N_("Overdue since"), "date", 12),
            Column("dpd", N_("Days past due"), "int", 10, get=_dpd),
            Column("collateral_value", N_("Collateral value"), "money"),
            Column("last_contact_at", N_("Last contact"), "time", 17),
        ),
        lambda st, r: st.export_cases(r.viewer, team_id=r.team_id),
    ),
    Sheet(
        "meetings",
        N_("Meetings"),
        (
            Column("id", N_("Meeting no."), "int", 10),
            _CONTRACT,
            _BORROWER,
            _TEAM,
            Column("author", N_("Collector"), width=12),
            Column("held_on", N_("Held on"), "date", 12),
            Column("kind", N_("Kind"), width=14, get=_worded("meeting_kind", "kind")),
            Column("venue", N_("Venue"), get=_worded("venue", "venue")),
            Column("attendees", N_("Attendees"), width=24),
            Column(
                "step_achieved",
                N_("Step achieved"),
                width=10,
                get=_worded("achieved", "step_achieved"),
            ),
            Column("moved", N_("What moved"), width=30),
            Column("stance", N_("Stance"), get=_worded("stance", "stance")),
            Column("next_step", N_("Next step"), width=24, get=_worded("step", "next_step")),
            Column("next_on", N_("Next on"), "date", 12),
            Column("agreement", N_("Agreement"), "bool", 10),
            Column("recorded_at", N_("Recorded at"), "time", 17),
        ),
        lambda st, r: st.export_meetings(r.viewer, r.period, team_id=r.team_id),
    ),
    Sheet(
        "commitments",
        N_("Commitments"),
        (
            Column("id", N_("Commitment no."), "int", 10),
            _CONTRACT,
            _BORROWER,
            _TEAM,
            Column("created_by", N_("Collector"), width=12),
            Column("created_at", N_("Made at"), "time", 17),
            Column("money_today", N_("Money today"), "money"),
            Column("total", N_("Instalments total"), "money"),
            Column("instalments", N_("Instalments"), "int", 10),
            Column("status", N_("Status"), "word", 16),
            Column("agreed_at", N_("Agreed at"), "time", 17),
            Column("replaces", N_("Replaces commitment"), "int", 10),
            Column("ended_at", N_("Ended at"), "time", 17),
            Column(
                "end_reason", N_("Why it ended"), width=24, get=_worded("end_reason", "end_reason")
            ),
        ),
        lambda st, r: st.export_commitments(r.viewer, r.period, team_id=r.team_id),
    ),
    Sheet(
        "instalments",
        N_("Instalments"),
        (
            Column("commitment_id", N_("Commitment no."), "int", 10),
            Column("seq", N_("Instalment"), "int", 8),
            _CONTRACT,
            _BORROWER,
            _TEAM,
            Column("collector", N_("Collector"), width=12),
            Column("due_on", N_("Due on"), "date", 12),
            Column("amount", N_("Amount"), "money"),
            Column("paid", N_("Paid"), "money"),
            Column("status", N_("Status"), "word", 12),
            Column("settled_at", N_("Settled at"), "time", 17),
            Column("answered_at", N_("Answered at"), "time", 17),
            Column("miss_reason", N_("Why missed"), "word", 16),
            Column("miss_note", N_("Note"), width=24),
        ),
        lambda st, r: st.export_instalments(r.viewer, r.period, team_id=r.team_id),
    ),
    Sheet(
        "payments",
        N_("Payments"),
        (
            Column("id", N_("Payment no."), "int", 10),
            _CONTRACT,
            _BORROWER,
            _TEAM,
            Column("received_on", N_("Received on"), "date", 12),
            Column("amount", N_("Amount"), "money"),
            Column("channel", N_("Channel"), "word", 10),
            Column("source", N_("Recorded with"), "word", 12),
            Column("recorded_by", N_("Collector"), width=12),
            Column("recorded_at", N_("Recorded at"), "time", 17),
            Column("commitment_id", N_("Commitment no."), "int", 10),
            Column("instalment_id", N_("Instalment id"), "int", 10),
        ),
        lambda st, r: st.export_payments(r.viewer, r.period, team_id=r.team_id),
    ),
    Sheet(
        "approvals",
        N_("Approval requests"),
        (
            Column("id", N_("Request no."), "int", 10),
            _CONTRACT,
            _BORROWER,
            _TEAM,
            Column("requested_by", N_("Collector"), width=12),
            Column("requested_at", N_("Asked at"), "time", 17),
            Column(
                "reasons", N_("Why it needs approval"), width=24, get=_worded("reasons", "reasons")
            ),
            Column("status", N_("Status"), "word", 12),
            Column("answered_by", N_("Answered by"), width=12),
            Column("answered_at", N_("Answered at"), "time", 17),
            Column("commitment_id", N_("Commitment no."), "int", 10),
            Column("proposal", N_("Proposal"), width=40, get=_worded("proposal", "proposal")),
            Column("counter", N_("Counter-offer"), width=24, get=_worded("counter", "counter")),
        ),
        lambda st, r: st.export_approvals(r.viewer, r.period, team_id=r.team_id),
    ),
    Sheet(
        "legal",
        N_("Legal clocks"),
        (
            _CONTRACT,
            _BORROWER,
            _TEAM,
            Column("lead", N_("Collector"), width=12),
            Column("clock", N_("Clock"), "word", 22),
            Column("party", N_("Guarantor or mortgagor"), width=16),
            Column("guarantee_kind", N_("Guarantee kind"), width=16, get=_guarantee_kind),
            Column("deadline", N_("Last day"), "date", 12),
            Column("days_left", N_("Days left"), "int", 10),
            Column("state", N_("State"), "word", 18),
            Column("set_by", N_("Set by"), "word", 20),
            Column("counted_from", N_("Counted from"), "date", 12),
            Column("evidence", N_("Evidence"), width=44, get=_evidence),
        ),
        lambda st, r: st.export_legal(r.viewer, r.today, team_id=r.team_id),
    ),
)

SHEET_KEYS: tuple[str, ...] = tuple(s.key for s in SHEETS)


def headers(sheet: Sheet, locale: str) -> list[str]:
    return [gettext(locale, c.header) for c in sheet.columns]


def sheet_title(sheet: Sheet, locale: str) -> str:
    """The sheet's name in ``locale``, within Excel's rules (31 characters, no ``[]:*?/\\``)."""
    return re.sub(r"[\[\]:*?/\\]", " ", gettext(locale, sheet.title))[:31]


# -- cells -------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    text = _ILLEGAL.sub("", str(value))
    return defuse_cell(text)[:_CELL_MAX]


def _local(value: datetime, tz: tzinfo) -> datetime:
    return value.astimezone(tz).replace(tzinfo=None, microsecond=0)


def _values(sheet: Sheet, record: Any, request: ExportRequest) -> list[Any]:
    """A record's cells as Python values: text defused, money in yuan, local naive times."""
    out: list[Any] = []
    for column in sheet.columns:
        value = column.get(record, request) if column.get else getattr(record, column.field)
        if value is None or value == "":
            out.append(None)
        elif column.kind == "text":
            out.append(_text(value))
        elif column.kind == "money":
            out.append(value / 100)
        elif column.kind == "time":
            out.append(_local(value, request.tz))
        elif column.kind == "bool":
            out.append(1 if value else 0)
        elif column.kind == "word":
            out.append(_text(_words(str(value), request.locale)))
        else:
            out.append(value)
    return out


def _csv_cell(value: Any, kind: Kind) -> Any:
    if value is None:
        return ""
    if kind == "money":
        return f"{value:.2f}"
    if kind == "time":
        return value.strftime("%Y-%m-%d %H:%M")
    if kind == "date":
        return value.isoformat()
    return value


# -- writers -----------------------------------------------------------------------------------


async def _in_thread(write: Callable[[Any], None], batch: Any) -> None:
    """``write(batch)`` in a worker thread that keeps nothing of the batch once it returns.

    ``asyncio.to_thread(write, batch)`` would leave the batch in the executor's work item, which
    its thread drops only a moment after the awaiting coroutine has gone on: under load, two
    batches back could still be alive when the third is fetched. Handed over in a box the
    thread empties, the batch lives exactly as long as ``write`` needs it.
    """
    box = [batch]
    del batch
    await asyncio.to_thread(lambda: write(box.pop()))


#: The writer process's memory cap: constant_memory keeps it near 32 MiB at any size.
WRITER_MEMORY_BYTES: int | None = 1024**3
#: How much lower than the bot the writer runs (``nice``): a large export takes the CPU the
#: bot's chats leave. (The benchmark sets 0 to compare writers at equal priority.)
WRITER_NICENESS = 10
#: The bot's XLSX export's wall-clock limit, after which the writer is killed (a writer that
#: hangs): 600 000 rows cost about 80 s of CPU (a third in the bot, the rest in the writer); a
#: two-core server crowded twenty to one (the benchmark's machine) took 100 s per 100 000.
WRITER_SECONDS = 1800.0


class ExportFailed(Exception):
    """The workbook could not be written: its writer crashed, was killed (out of memory), or
    took longer than :data:`WRITER_SECONDS`. Nothing was left behind."""


def _row_maker(sheet: Sheet, request: ExportRequest) -> Callable[[Any], list[Any]]:
    return lambda record: _values(sheet, record, request)


async def write_xlsx(
    storage: Storage, request: ExportRequest, dest: Path, *, seconds: float | None = WRITER_SECONDS
) -> dict[str, int]:
    """Write the workbook to ``dest``; rows per sheet. ``seconds``: the wall-clock limit
    (``None`` for none: the command line's export of any size).

    Rows come from storage in batches; each batch becomes cell values (the reader's words,
    local times, yuan) and goes down a pipe in a worker thread; a child process writes them
    with xlsxwriter (:mod:`bot.xlsx_writer`), so the loop only waits. The file appears at
    ``dest`` complete or not at all: on any error or a cancellation the writer is killed and
    its work directory removed. Raises :class:`ExportTooLarge`, :class:`ExportFailed`.
    """
    from bot.child import Child, ChildGone
    from bot.xlsx_writer import OUT_NAME, close_message, sheet_message, write_workbook

    counts: dict[str, int] = {}
    tally = _Tally(request.max_rows)
    workdir = Path(tempfile.mkdtemp(prefix="qingshou-xlsx-"))
    try:
        async with asyncio.timeout(seconds) as limit:
            try:
                async with Child(
                    write_workbook,
                    (str(workdir), WRITER_MEMORY_BYTES, WRITER_NICENESS),
                    name="qingshou-export-writer",
                ) as writer:
                    for sheet in request.chosen():
                        await writer.send(
                            functools.partial(
                                sheet_message,
                                sheet_title(sheet, request.locale),
                                [defuse_cell(h) for h in headers(sheet, request.locale)],
                                [c.width for c in sheet.columns],
                                [c.kind for c in sheet.columns],
                            )
                        )
                        to_row = _row_maker(sheet, request)
                        count = 0
                        async for batch in sheet.rows(storage, request):
                            tally.add(len(batch))
                            count += len(batch)
                            await writer.send(_rows_message(to_row, batch))
                            del batch
                        counts[sheet.key] = count
                    await writer.send(close_message)
                    usage = await writer.finish()
                    log.info("export written: %s", usage, extra={"writer_usage": usage})
            except ChildGone as exc:
                log.error("the export's writer failed:\n%s", exc.detail)
                raise ExportFailed(str(exc)) from None
        await asyncio.to_thread(shutil.move, workdir / OUT_NAME, dest)
    except TimeoutError:
        if limit.expired():
            raise ExportFailed(f"the writer took more than {seconds:g} s") from None
        raise
    finally:
        await asyncio.shield(asyncio.to_thread(shutil.rmtree, workdir, True))
    return counts


def _rows_message(to_row: Callable[[Any], list[Any]], batch: list[Any]) -> Callable[[], Any]:
    """What the worker thread sends for ``batch``: its rows as cell values. The batch is
    handed over in a box the thread empties, so it lives exactly as long as the conversion
    (see :func:`_in_thread`)."""
    box = [batch]
    del batch

    def make() -> tuple[str, list[list[Any]]]:
        return ("rows", [to_row(record) for record in box.pop()])

    return make


async def _write_csv_rows(
    storage: Storage, request: ExportRequest, sheet: Sheet, out: IO[str], tally: _Tally
) -> int:
    writer = csv.writer(out)
    writer.writerow([defuse_cell(h) for h in headers(sheet, request.locale)])
    kinds = [c.kind for c in sheet.columns]

    def write(batch: Iterable[Any]) -> None:
        writer.writerows(
            [_csv_cell(v, k) for v, k in zip(_values(sheet, record, request), kinds, strict=True)]
            for record in batch
        )

    count = 0
    async for batch in sheet.rows(storage, request):
        tally.add(len(batch))
        await _in_thread(write, batch)
        count += len(batch)
    return count


async def write_csv(storage: Storage, request: ExportRequest, sheet_key: str, out: IO[str]) -> int:
    """One sheet as CSV on ``out`` (open it with ``encoding="utf-8-sig", newline=""`` so Excel
    reads the Chinese); returns the number of rows."""
    (sheet,) = [s for s in SHEETS if s.key == sheet_key]
    return await _write_csv_rows(storage, request, sheet, out, _Tally(request.max_rows))


async def write_csv_zip(storage: Storage, request: ExportRequest, dest: Path) -> dict[str, int]:
    """Every chosen sheet as its own CSV (UTF-8 with BOM) in one ZIP at ``dest``."""
    counts: dict[str, int] = {}
    tally = _Tally(request.max_rows)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, sheet in enumerate(request.chosen(), 1):
            name = f"{n}-{sheet_title(sheet, request.locale)}.csv"
            with (
                zf.open(name, "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,
            ):
                counts[sheet.key] = await _write_csv_rows(storage, request, sheet, text, tally)
    return counts


def export_filename(scope: str, period: ExportPeriod, fmt: Format) -> str:
    """``qingshou-东城组-2026-11-01_2026-11-30.xlsx``; a CSV export is a ZIP of CSVs."""
    safe = re.sub(r"[^\w-]+", "_", scope).strip("_") or "export"
    ext = "xlsx" if fmt == "xlsx" else "zip"
    return f"qingshou-{safe}-{period.start.isoformat()}_{period.end.isoformat()}.{ext}"


async def build_export(
    storage: Storage, request: ExportRequest, fmt: Format, *, scope: str
) -> ExportFile:
    """The whole export as bytes (to send as a document), written through a temporary file."""
    filename = export_filename(scope, request.period, fmt)
    with tempfile.TemporaryDirectory(prefix="qingshou-export-") as tmp:
        path = Path(tmp) / filename
        if fmt == "xlsx":
            counts = await write_xlsx(storage, request, path)
        else:
            counts = await write_csv_zip(storage, request, path)
        data = await asyncio.to_thread(path.read_bytes)
    return ExportFile(data, filename, counts)


def summary_counts(counts: dict[str, int]) -> Sequence[tuple[str, int]]:
    """(sheet title msgid, rows) in sheet order, for the message that goes with the file."""
    return [(s.title, counts[s.key]) for s in SHEETS if s.key in counts]
