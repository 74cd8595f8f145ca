"""Parse the cooperative's loan-ledger export (贷款台账 / 逾期贷款清单) into case rows.

Input is the file an admin uploads: CSV bytes (UTF-8 with or without BOM, or GB18030 as Excel
on a Chinese Windows saves it) or XLSX bytes. Output is a :class:`LedgerParseResult`: the good
rows as domain objects, one :class:`RowError` per problem (with the line number a person sees in
Excel: the header is line 1 when it is the first row), and which header was used for each field.

Only parsing happens here. Matching collectors to users, upserting cases, deciding what an
import changes: that needs the database and lives elsewhere.

Design points:

- Streaming: rows are read one at a time (``csv.reader`` / openpyxl ``read_only=True``) and each
  is parsed in constant time; duplicate detection is a dict. 100 000 rows of CSV parse in a
  few seconds (``bench/ledger_data.py`` checks it; ``python -m bench.import_bench`` measures
  the whole import).
- A bad row never stops the import: every problem of the row is reported, the row is left out,
  and the other rows come through. A row with any error is left out entirely — importing half a
  row of a bank's ledger would be worse than asking for the file to be fixed.
- Header rows need not be the first row: core-banking exports often put a title and a date
  above the header. The first of the first 20 rows (:data:`HEADER_SCAN_ROWS`) that names every
  required column is taken; a file without one is refused there, not read to its end.
- Hostile files are refused with a reason, never read without bounds: at most
  :data:`MAX_COLUMNS` columns, at most ``max_rows`` data rows (the caller's setting,
  ``QINGSHOU_IMPORT_MAX_ROWS``), an XLSX whose parts unpack to more than
  :data:`MAX_UNPACKED_BYTES` is not opened, and XML with entity declarations (the "billion
  laughs" bomb) is refused by defusedxml, which openpyxl uses when it is installed. openpyxl's
  read-only mode would parse a whole sheet just to size it when the sheet has no
  ``<dimension>`` (files written in openpyxl's write-only mode, some exporters): the sheet is
  opened without that scan (:class:`_UnsizedSheet`).
- Headers match case-, space-, width- and punctuation-insensitively, and a unit in brackets
  is understood: ``贷款余额(万元)`` multiplies the column's amounts by 10 000.
- Total lines (合计 / 总计 / 小计 with no contract number) and blank lines are skipped silently.

The case key. A row is one overdue loan. When the file has a 借据号 (loan receipt) column, the
receipt number is the key: one contract (合同号) can have several drawdowns, each with its own
receipt, balance and overdue date; the contract number is kept beside it for people to read
(``LedgerRow.contract_ref``). Without a 借据号 column the contract number is the key. Switching
an existing team from contract-keyed to receipt-keyed files makes new cases: do it once, early.

Dates. ``overdue_since`` is the missed due date (逾期日期 / 到期未还日), and days past due are
counted from it by the cooperative's calendar (``today``, from its time zone). Some core systems
write 逾期起始日 as the first day overdue, one day later: it is taken as given (DPD then reads one
day short). A 逾期天数 column is the source when there is no overdue-date column (overdue since
= 数据日期, or else today, minus the days); with both, and a 数据日期, they are cross-checked and a
row that disagrees by more than one day (the two conventions above) is refused. 数据日期 (the
export's as-of date) is kept: it tells a newer export from the same file sent again.

Collector columns. 清收人员 / 清收人 / 催收人 (collector) names the lead collector. 客户经理 /
管户人 / 责任人 is the loan officer who manages the loan at the branch — often not the person who
collects it — and is kept for the card only (``LedgerRow.loan_officer``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from operator import itemgetter
from typing import Any

from bot.domain.cases import Borrower, Loan, PartyRole, RelatedParty, Security
from bot.domain.errors import DomainError
from bot.domain.legal import add_months, parse_guarantee_kind
from bot.domain.money import MAX_YUAN, AmountError, parse_amount, yuan_to_fen

__all__ = [
    "BATCH_ROWS",
    "DEFAULT_MAX_ROWS",
    "HEADER_ALIASES",
    "HEADER_SCAN_ROWS",
    "MAX_COLUMNS",
    "MAX_UNPACKED_BYTES",
    "PARSER_VERSION",
    "REQUIRED_FIELDS",
    "CellDateError",
    "LedgerBatch",
    "LedgerError",
    "LedgerField",
    "LedgerParseResult",
    "LedgerReading",
    "LedgerRow",
    "RowError",
    "RowErrorCode",
    "open_ledger",
    "parse_ledger",
    "parse_ledger_date",
    "parse_party_list",
]


class LedgerError(DomainError):
    """The file as a whole cannot be read. Codes:

    - ``ledger.empty`` — no bytes, or no non-blank row.
    - ``ledger.xls_unsupported`` — an old binary ``.xls``; save it as ``.xlsx`` or CSV.
    - ``ledger.unreadable`` — ``params["reason"]`` says why: ``zip`` (not a valid XLSX: a
      broken zip or missing parts), ``xml`` (damaged XML inside), ``unsafe`` (XML entity
      declarations: an entity-expansion bomb), ``workbook`` (XML that is no spreadsheet),
      ``encoding`` (CSV neither UTF-8 nor GB18030), ``csv`` (malformed CSV).
    - ``ledger.too_large`` — the XLSX unpacks to more than ``params["mb"]`` MB.
    - ``ledger.too_many_columns`` — a row has cells beyond column ``params["max"]``
      (``params["line"]``).
    - ``ledger.too_many_rows`` — more than ``params["max"]`` data rows.
    - ``ledger.no_header`` — the first ``params["rows"]`` rows are blank.
    - ``ledger.missing_columns`` — no header row names every required column;
      ``params["missing"]`` is a comma-separated list of what is missing, from the row that came
      closest, each a :class:`LedgerField` value or alternatives joined by ``|``
      (``overdue_principal|principal_outstanding``: either column would do),
      ``params["line"]`` that row's line and ``params["rows"]`` how many rows were searched.
    """


class CellDateError(DomainError):
    """A ledger cell that should hold a date could not be read (not to be confused with
    :class:`bot.domain.dates.DateError`, a date a person typed): code ``date.unparseable``,
    ``params["value"]``."""


class LedgerField(StrEnum):
    """A field of the ledger that the parser understands."""

    CONTRACT_NO = "contract_no"  # 合同号
    LOAN_RECEIPT_NO = "loan_receipt_no"  # 借据号: the key when present (see the module doc)
    BORROWER = "borrower"  # 借款人
    ID_NUMBER = "id_number"  # 身份证号
    PHONE = "phone"  # 电话
    ADDRESS = "address"  # 地址
    BUSINESS = "business"  # 经营项目
    PRODUCT = "product"  # 贷款品种
    PRINCIPAL_OUTSTANDING = "principal_outstanding"  # 贷款余额
    OVERDUE_PRINCIPAL = "overdue_principal"  # 逾期本金
    OVERDUE_INTEREST = "overdue_interest"  # 欠息
    OVERDUE_SINCE = "overdue_since"  # 逾期日期
    DAYS_PAST_DUE = "days_past_due"  # 逾期天数
    AS_OF = "as_of"  # 数据日期: the export's as-of date
    MATURITY = "maturity"  # 到期日
    GUARANTOR = "guarantor"  # 担保人
    GUARANTEE_KIND = "guarantee_kind"  # 保证方式: 一般保证 / 连带责任保证 (issue 19)
    GUARANTEE_PERIOD = "guarantee_period"  # 保证期间: an end date or a length from the due date
    COLLATERAL = "collateral"  # 抵押物
    COLLATERAL_VALUE = "collateral_value"  # 抵押物估值
    COLLECTOR = "collector"  # 清收人员: sets the lead collector
    LOAN_OFFICER = "loan_officer"  # 客户经理 / 管户人: kept for the card, not the lead
    SPOUSE = "spouse"  # 配偶
    SPOUSE_PHONE = "spouse_phone"  # 配偶电话


class RowErrorCode(StrEnum):
    """Why a row was left out. Values are stable: the UI translates them."""

    MISSING_FIELD = "missing_field"  # a required cell is empty
    BAD_AMOUNT = "bad_amount"  # detail: the AmountError code, e.g. "amount.negative"
    BAD_DATE = "bad_date"
    BAD_ID_NUMBER = "bad_id_number"  # e.g. 3.30102E+17: Excel destroyed the last digits
    BAD_CONTRACT_NO = "bad_contract_no"  # a long number Excel cut to 15 digits
    BAD_CHARACTERS = "bad_characters"  # bytes that are not UTF-8 in a UTF-8 file (U+FFFD)
    BAD_DAYS = "bad_days"  # 逾期天数 is not a whole number of days
    DAYS_MISMATCH = "days_mismatch"  # 逾期天数 disagrees with 数据日期 − 逾期日期; detail: days
    DUPLICATE_CONTRACT = "duplicate_contract"  # detail: line of the first occurrence
    OVERDUE_EXCEEDS_BALANCE = "overdue_exceeds_balance"  # 逾期本金 > 贷款余额
    DATE_IN_FUTURE = "date_in_future"  # overdue_since after the import day
    # Decided when the rows meet the database (bot/domain/importing.py), not by the parser:
    UNKNOWN_COLLECTOR = "unknown_collector"  # a warning: the case is imported without a lead
    NO_COLLECTOR = "no_collector"  # a warning: the collector cell is empty, imported without one
    OTHER_TEAM = "other_team"  # the contract is already a case of another team


#: Header names per field, most specific first. When two columns match the same field, the one
#: matching the earlier alias wins (合同号 beats 合同编号); on a tie, the leftmost column.
HEADER_ALIASES: Mapping[LedgerField, tuple[str, ...]] = {
    LedgerField.CONTRACT_NO: (
        "合同号",
        "合同编号",
        "借款合同号",
        "借款合同编号",
        "贷款合同号",
        "合同号码",
        "contract_no",
        "contract",
        "contract number",
        "loan_no",
    ),
    LedgerField.LOAN_RECEIPT_NO: (
        "借据号",
        "借据编号",
        "借据号码",
        "贷款借据号",
        "loan_receipt_no",
        "receipt_no",
        "drawdown_no",
    ),
    LedgerField.BORROWER: (
        "借款人",
        "借款人姓名",
        "借款人名称",
        "客户名称",
        "客户姓名",
        "户名",
        "姓名",
        "borrower",
        "borrower_name",
        "customer",
        "customer_name",
        "name",
    ),
    LedgerField.ID_NUMBER: (
        "身份证号",
        "身份证号码",
        "证件号码",
        "证件号",
        "身份证",
        "借款人身份证号",
        "统一社会信用代码",
        "id_number",
        "id_no",
        "id_card",
    ),
    LedgerField.PHONE: (
        "电话",
        "手机",
        "手机号",
        "手机号码",
        "联系电话",
        "借款人电话",
        "联系方式",
        "phone",
        "mobile",
        "tel",
        "telephone",
    ),
    LedgerField.ADDRESS: ("地址", "住址", "家庭住址", "联系地址", "居住地址", "address"),
    LedgerField.BUSINESS: ("经营", "经营项目", "经营范围", "主营业务", "职业", "business"),
    LedgerField.PRODUCT: (
        "产品",
        "贷款品种",
        "贷款产品",
        "产品名称",
        "贷款种类",
        "product",
        "loan_type",
    ),
    LedgerField.PRINCIPAL_OUTSTANDING: (
        "贷款余额",
        "本金余额",
        "借款余额",
        "余额",
        "principal_outstanding",
        "outstanding_principal",
        "principal",
        "balance",
        "loan_balance",
    ),
    LedgerField.OVERDUE_PRINCIPAL: (
        "逾期本金",
        "逾期本金余额",
        "逾期金额",
        "overdue_principal",
        "overdue_amount",
    ),
    LedgerField.OVERDUE_INTEREST: (
        "欠息",
        "逾期利息",
        "欠息金额",
        "拖欠利息",
        "应收未收利息",
        "overdue_interest",
        "interest_due",
        "interest",
    ),
    LedgerField.OVERDUE_SINCE: (
        "逾期日期",
        "逾期起始日",
        "逾期起始日期",
        "逾期开始日期",
        "逾期起日",
        "overdue_since",
        "overdue_date",
        "past_due_since",
    ),
    LedgerField.DAYS_PAST_DUE: (
        "逾期天数",
        "逾期天",
        "本金逾期天数",
        "days_past_due",
        "overdue_days",
        "dpd",
    ),
    LedgerField.AS_OF: (
        "数据日期",
        "统计日期",
        "报表日期",
        "数据截止日期",
        "as_of",
        "as_of_date",
        "data_date",
    ),
    LedgerField.MATURITY: (
        "到期日",
        "到期日期",
        "贷款到期日",
        "借款到期日",
        "合同到期日",
        "maturity",
        "maturity_date",
        "due_date",
    ),
    LedgerField.GUARANTOR: ("担保人", "保证人", "担保人姓名", "guarantor", "guarantors"),
    LedgerField.GUARANTEE_KIND: (
        "保证方式",
        "保证类型",
        "保证责任方式",
        "保证形式",
        "担保方式",
        "guarantee_kind",
        "guarantee_type",
    ),
    LedgerField.GUARANTEE_PERIOD: (
        "保证期间",
        "保证期限",
        "保证期",
        "保证期间截止日",
        "保证到期日",
        "guarantee_period",
        "guarantee_end",
    ),
    LedgerField.COLLATERAL: ("抵押物", "抵押物名称", "抵押品", "押品", "collateral"),
    LedgerField.COLLATERAL_VALUE: (
        "抵押物估值",
        "抵押物价值",
        "抵押物评估值",
        "评估价值",
        "押品价值",
        "collateral_value",
    ),
    LedgerField.COLLECTOR: (
        "清收人员",
        "清收人",
        "催收人",
        "催收人员",
        "清收责任人",
        "collector",
    ),
    LedgerField.LOAN_OFFICER: (
        "客户经理",
        "管户客户经理",
        "管户人",
        "管户经理",
        "责任人",
        "loan_officer",
        "officer",
        "account_manager",
    ),
    LedgerField.SPOUSE: ("配偶", "配偶姓名", "spouse", "spouse_name"),
    LedgerField.SPOUSE_PHONE: ("配偶电话", "配偶手机", "配偶联系电话", "spouse_phone"),
}

#: A header row must name, for each of these groups, at least one of the fields.
REQUIRED_FIELDS: tuple[tuple[LedgerField, ...], ...] = (
    (LedgerField.CONTRACT_NO, LedgerField.LOAN_RECEIPT_NO),
    (LedgerField.BORROWER,),
    (LedgerField.OVERDUE_SINCE, LedgerField.DAYS_PAST_DUE),
    (LedgerField.OVERDUE_PRINCIPAL, LedgerField.PRINCIPAL_OUTSTANDING),
)
_AMOUNT_FIELDS = (
    LedgerField.PRINCIPAL_OUTSTANDING,
    LedgerField.OVERDUE_PRINCIPAL,
    LedgerField.OVERDUE_INTEREST,
    LedgerField.COLLATERAL_VALUE,
)
#: The header must be among the first rows: a file without one is refused after these.
HEADER_SCAN_ROWS = 20
#: A ledger has a few dozen columns; a row with a value beyond this column is refused.
MAX_COLUMNS = 1000
#: Data rows read when the caller sets no cap (the bot's is ``QINGSHOU_IMPORT_MAX_ROWS``).
DEFAULT_MAX_ROWS = 200_000
#: An XLSX whose parts unpack to more than this is not opened (a zip bomb; a real 200 000-row
#: ledger unpacks to about 100 MB).
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
#: This many blank rows in a row end the data: spreadsheets carry formatted empty rows to the
#: bottom of the sheet, which are not a million lines of ledger.
_BLANK_RUN_END = 10_000
_TOTAL_WORDS = frozenset({"合计", "总计", "小计", "total", "subtotal", "sum"})


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem on one line. ``line`` is the row number a person sees in Excel (or the CSV
    record number, which is the same thing: a quoted cell spanning two physical lines is still
    one row). ``field`` is ``None`` only for problems of the row as a whole. ``value`` is the
    cell as text. ``detail`` refines the code: the amount error code for ``bad_amount``, the
    first line for ``duplicate_contract``."""

    line: int
    code: RowErrorCode
    field: LedgerField | None
    value: str
    detail: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent between processes by the thousand (bot/imports.py): a constructor call unpickles
        # several times faster than a slotted dataclass's default __setstate__.
        return RowError, (self.line, self.code, self.field, self.value, self.detail)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """A good row: the case data ready for storage. ``collector`` is the collector as the
    ledger names them (a name, a Telegram @username or an id), unresolved; ``None`` if blank.

    ``loan.contract_no`` is the case key: the 借据号 when the file has one, else the 合同号;
    ``contract_ref`` is then the 合同号 for display (``None`` when the key is the 合同号).
    ``related_parties`` holds guarantors (from the 担保人 column) and the spouse. ``as_of`` is
    the row's 数据日期, if the file gives one; ``loan_officer`` its 客户经理."""

    line: int
    borrower: Borrower
    loan: Loan
    security: Security
    related_parties: tuple[RelatedParty, ...]
    collector: str | None
    contract_ref: str | None = None
    loan_officer: str | None = None
    as_of: date | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # The parse runs in a child process and its rows come back by the hundred thousand: one
        # flat tuple per row (plain values; enum members are pickled once and memoised) instead
        # of five nested dataclasses, each with the default __getstate__/__setstate__ that walk
        # dataclasses.fields() per object. Every field goes, by name: a field added later too.
        values: list[Any] = []
        for name in _ROW:
            value = getattr(self, name)
            if name in _NESTED:
                value = tuple(getattr(value, n) for n in _NESTED[name][1])
            elif name == "related_parties":
                value = tuple(tuple(getattr(p, n) for n in _PARTY) for p in value)
            values.append(value)
        return _rebuild_row, tuple(values)


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclass_fields(cls))


_ROW = _names(LedgerRow)
_NESTED: dict[str, tuple[type, tuple[str, ...]]] = {
    "borrower": (Borrower, _names(Borrower)),
    "loan": (Loan, _names(Loan)),
    "security": (Security, _names(Security)),
}
_PARTY = _names(RelatedParty)


def _rebuild_row(*values: Any) -> LedgerRow:
    """The inverse of :meth:`LedgerRow.__reduce__`."""
    kwargs: dict[str, Any] = {}
    for name, value in zip(_ROW, values, strict=True):
        if name in _NESTED:
            value = _NESTED[name][0](*value)
        elif name == "related_parties":
            value = tuple(RelatedParty(*p) for p in value)
        kwargs[name] = value
    return LedgerRow(**kwargs)


@dataclass(slots=True)
class LedgerParseResult:
    """Everything the import screen needs.

    ``columns`` maps each recognised field to the original header text; ``unmapped_columns``
    lists headers that were ignored (to show "these columns were not imported").
    ``error_rows`` keeps the original cells of lines with errors only, for the error report.
    ``skipped_lines`` counts blank and total lines. ``units`` is the multiplier a header's
    unit gave an amount column (``贷款余额(万元)`` -> 10 000); ``keys`` every case key the file
    names, good row or not (to tell which stored cases the export leaves out).
    """

    rows: list[LedgerRow]
    errors: list[RowError]
    columns: dict[LedgerField, str]
    header: list[str] = field(default_factory=list)
    header_line: int = 1
    unmapped_columns: list[str] = field(default_factory=list)
    error_rows: dict[int, list[str]] = field(default_factory=dict)
    skipped_lines: int = 0
    units: dict[LedgerField, int] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)


# ---------------------------------------------------------------------------------------------
# Entry point


#: Part of every line's raw fingerprint (:meth:`LedgerReading.raw_hash`): raise it with any change
#: that could read the same cells into a different row (a rule, a format accepted or refused),
#: so that no line of an older import counts as unchanged without being parsed again.
PARSER_VERSION = 1

#: Good and bad rows handed on together: enough for batch statements to pay off, small
#: enough that a batch in flight is a few MB however long the file.
BATCH_ROWS = 5000


@dataclass(slots=True)
class LedgerBatch:
    """Consecutive data lines of the file: the good rows, the problems of the others (with
    their original cells, for the error report), every key the lines name (good row or not),
    the blank and total lines skipped, and how far through the file the batch ends (0-1;
    ``None`` when the file does not say: an XLSX without a ``<dimension>``). Lines whose raw
    fingerprint the caller knows are not parsed: their keys are in ``unchanged_keys``."""

    rows: list[LedgerRow]
    errors: list[RowError]
    error_rows: dict[int, list[str]]
    keys: list[str]
    skipped_lines: int
    done: float | None
    #: With ``unchanged`` given to :meth:`LedgerReading.batches`: each good row's raw
    #: fingerprint (beside ``rows``), and the keys of the lines left unparsed as unchanged.
    raw_hashes: list[str] = field(default_factory=list)
    unchanged_keys: list[str] = field(default_factory=list)


def parse_ledger(
    data: bytes, *, today: date | None = None, max_rows: int = DEFAULT_MAX_ROWS
) -> LedgerParseResult:
    """Parse a ledger export (CSV or XLSX, detected from the bytes, not the file name).

    With ``today`` given, a row whose overdue date lies after it is refused
    (``date_in_future``); without it, that check is skipped. The function never reads the clock.
    More than ``max_rows`` data rows (blank and total lines not counted) refuse the file.

    Everything at once; the import reads in batches (:func:`open_ledger`).
    Raises :class:`LedgerError` for problems of the whole file (see its codes).
    """
    reading = open_ledger(data, today=today, max_rows=max_rows)
    result = reading.result()
    for batch in reading.batches():
        result.rows.extend(batch.rows)
        result.errors.extend(batch.errors)
        result.error_rows.update(batch.error_rows)
        result.keys.update(batch.keys)
        result.skipped_lines += batch.skipped_lines
    return result


def open_ledger(
    data: bytes, *, today: date | None = None, max_rows: int = DEFAULT_MAX_ROWS
) -> LedgerReading:
    """The file with its header found (what :func:`parse_ledger` says of the header is known
    here: columns, units, a missing column refused), its rows still to be read in batches
    (:meth:`LedgerReading.batches`), so that a large file is never held parsed whole.

    Raises :class:`LedgerError` for problems of the whole file; a problem found further down
    (too many rows or columns, a damaged sheet) is raised by the batches when they reach it.
    """
    if not data.strip():
        raise LedgerError("ledger.empty")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise LedgerError("ledger.xls_unsupported")
    if data.startswith(b"PK\x03\x04"):
        return _open_xlsx(data, today, max_rows)
    text = _decode(data)
    sample = text[:8192]
    delimiter = max(",\t;", key=sample.count)
    lines = _Lines(text)
    try:
        return LedgerReading(
            csv.reader(lines, delimiter=delimiter),
            today,
            max_rows,
            check_characters=_REPLACEMENT in text,
            progress=lines.done,
        )
    except csv.Error:
        raise LedgerError("ledger.unreadable", {"reason": "csv"}) from None


class _Lines:
    """The lines of a decoded CSV for ``csv.reader``, ends kept (a quoted cell may span
    lines), sliced one at a time from the text instead of copied into a ``StringIO``
    (which holds four bytes a character); knows how far it has got. Text with no ``\\n``
    (old Mac files end lines with ``\\r`` alone) goes through ``StringIO``'s own splitting."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._at = 0
        self._size = max(1, len(text))
        self._lines: Iterator[str] | None = (
            None if "\n" in text else iter(io.StringIO(text, newline=""))
        )

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._lines is not None:
            return next(self._lines)
        text, start = self._text, self._at
        end = text.find("\n", start) + 1
        if not end:
            if start >= len(text):
                raise StopIteration
            end = len(text)
        self._at = end
        return text[start:end]

    def done(self) -> float | None:
        return None if self._lines is not None else self._at / self._size


_REPLACEMENT = "\ufffd"


def _decode(data: bytes) -> str:
    """UTF-8 first; GB18030 (a superset of GBK/GB2312) as the fallback; a BOM is dropped.

    A UTF-8 file with a few bad bytes (one damaged cell) is still UTF-8: it is decoded with
    U+FFFD in their place, and only the lines holding one are refused (``bad_characters``).
    "A few": at most one U+FFFD for ten good non-ASCII characters. A GB18030 file read as
    UTF-8 turns nearly every Chinese character into U+FFFD (GBK byte pairs are almost never
    valid UTF-8), so it falls through to GB18030, which must decode strictly.
    GB18030 has its own BOM (``84 31 95 33``), which decodes to U+FEFF.

    Every step runs in the codecs' C loops (a strict decode, ``count``, an ASCII encode that
    drops the rest): a 100 000-row file is told in a fraction of a second, never one Python
    call per character.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        return data.decode("gb18030").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise LedgerError("ledger.unreadable", {"reason": "encoding"}) from None


#: How much of a file :func:`_mostly_utf8` decodes at a time.
_DECODE_STEP = 1 << 20


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few bad bytes (see :func:`_decode`): at most one U+FFFD for ten good
    non-ASCII characters, counted a megabyte at a time (the codec's incremental decoder, the
    same characters as decoding it whole), so that a GB18030 file is not held a second time
    as replacement characters."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    bad = non_ascii = 0
    size = len(data)
    for start in range(0, size, _DECODE_STEP):
        chunk = decoder.decode(data[start : start + _DECODE_STEP], start + _DECODE_STEP >= size)
        if start == 0:
            chunk = chunk.removeprefix("\ufeff")
        bad += chunk.count(_REPLACEMENT)
        non_ascii += len(chunk) - len(chunk.encode("ascii", errors="ignore"))
    return bad * 10 <= non_ascii - bad


def _xlsx_problem(exc: BaseException) -> LedgerError:
    """What went wrong inside openpyxl, as a reason a person can act on."""
    from xml.etree.ElementTree import ParseError

    if isinstance(exc, LedgerError):
        return exc
    if isinstance(exc, MemoryError):
        return LedgerError("ledger.too_large", {"mb": str(MAX_UNPACKED_BYTES // 2**20)})
    if type(exc).__module__.startswith("defusedxml"):  # EntitiesForbidden, DTDForbidden, …
        return LedgerError("ledger.unreadable", {"reason": "unsafe"})
    if isinstance(exc, ParseError):
        # Without defusedxml, expat's own guard stops the bomb ("amplification factor").
        unsafe = "amplification" in str(exc) or "entity" in str(exc).casefold()
        return LedgerError("ledger.unreadable", {"reason": "unsafe" if unsafe else "xml"})
    if isinstance(exc, zipfile.BadZipFile | zlib.error | KeyError | OSError | EOFError):
        return LedgerError("ledger.unreadable", {"reason": "zip"})
    return LedgerError("ledger.unreadable", {"reason": "workbook"})


def _guarded(rows: Iterator[Sequence[object]]) -> Iterator[Sequence[object]]:
    """openpyxl's rows, with whatever it raises on a damaged sheet turned into a reason. Only
    the reading is guarded: errors of our own row parsing still surface as what they are."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # a hostile file can make openpyxl raise anything
            raise _xlsx_problem(exc) from None
        yield row


def _declared_rows(archive: zipfile.ZipFile, path: str) -> int | None:
    """The last row the sheet's ``<dimension ref="A1:K250000">`` declares, read from the top of
    the sheet only (it comes before the data); ``None`` when there is none."""
    from openpyxl.xml.functions import iterparse

    with archive.open(path) as src:
        for _event, element in iterparse(src, events=("start",)):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "dimension":
                m = re.search(r"(\d+)$", element.get("ref", ""))
                return int(m[1]) if m else None
            if tag == "sheetData":
                return None
    return None


def _open_xlsx(data: bytes, today: date | None, max_rows: int) -> LedgerReading:
    import openpyxl  # noqa: F401 - imported lazily: only XLSX uploads pay for it
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class _UnsizedSheet(ReadOnlyWorksheet):  # type: ignore[misc]
        """A read-only sheet that does not parse the whole sheet to learn its size when there
        is no ``<dimension>``; sizes are not used here (and some exporters write wrong ones:
        ``A1`` for a full sheet)."""

        def _get_size(self) -> None:
            return None

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise LedgerError("ledger.too_large", {"mb": str(MAX_UNPACKED_BYTES // 2**20)})
        with warnings.catch_warnings():
            # "Workbook contains no default style" and similar, from files of other producers.
            warnings.simplefilter("ignore", UserWarning)
            reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            wb = reader.wb
            for sheet, rel in reader.parser.find_sheets():
                if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
                    ws = _UnsizedSheet(wb, sheet.name, rel.target, reader.shared_strings)
                    ws.sheet_state = sheet.state
                    wb._sheets.append(ws)
            if not wb._sheets:
                raise LedgerError("ledger.empty")
            active = wb.active
            ws = active if isinstance(active, _UnsizedSheet) else wb._sheets[0]
            declared = _declared_rows(reader.archive, ws._worksheet_path)
    except Exception as exc:  # a hostile file can make openpyxl raise anything
        raise _xlsx_problem(exc) from None
    try:
        if declared is not None and declared > max_rows + HEADER_SCAN_ROWS:
            raise LedgerError("ledger.too_many_rows", {"max": str(max_rows)})
        rows: Iterator[Sequence[object]] = iter(ws.iter_rows(values_only=True))
        return LedgerReading(
            _guarded(rows),
            today,
            max_rows,
            declared_rows=declared,
            on_close=reader.archive.close,
        )
    except BaseException:
        reader.archive.close()
        raise


# ---------------------------------------------------------------------------------------------
# Header


def _normalise_header(text: str) -> tuple[str, int]:
    """Return (key, unit multiplier). ``贷款余额（万元）`` -> ("贷款余额", 10000)."""
    s = unicodedata.normalize("NFKC", text).casefold().strip()
    factor = 1
    for inner in re.findall(r"[(\[【](.*?)[)\]】]", s):
        if "万元" in inner or inner.strip() == "万":
            factor = 10_000
        elif "千元" in inner:
            factor = 1_000
    s = re.sub(r"[(\[【].*?[)\]】]", "", s)
    s = re.sub(r"[\s_\-.*:#/]+", "", s)
    return s, factor


_ALIAS_INDEX: dict[str, tuple[LedgerField, int]] = {}
for _field, _aliases in HEADER_ALIASES.items():
    for _priority, _alias in enumerate(_aliases):
        _ALIAS_INDEX.setdefault(_normalise_header(_alias)[0], (_field, _priority))


@dataclass(slots=True)
class _Header:
    line: int
    cells: list[str]
    index: dict[LedgerField, int]  # field -> column index
    factor: dict[LedgerField, int]  # amount unit multiplier

    @property
    def missing(self) -> list[str]:
        """What is missing: a field value, or alternatives joined by ``|``."""
        return [
            "|".join(group) for group in REQUIRED_FIELDS if not any(f in self.index for f in group)
        ]


def _match_header(line: int, cells: Sequence[object]) -> _Header:
    texts = [_cell_text(c) for c in cells]
    best: dict[LedgerField, tuple[int, int]] = {}  # field -> (priority, column)
    factors: dict[LedgerField, int] = {}
    for col, text in enumerate(texts):
        if not text:
            continue
        key, factor = _normalise_header(text)
        hit = _ALIAS_INDEX.get(key)
        if hit is None:
            continue
        fld, priority = hit
        if fld not in best or priority < best[fld][0]:
            best[fld] = (priority, col)
            factors[fld] = factor
    return _Header(line, texts, {f: col for f, (_, col) in best.items()}, factors)


# ---------------------------------------------------------------------------------------------
# Rows


def _within_columns(line: int, cells: Sequence[object]) -> Sequence[object]:
    """``cells`` cut to :data:`MAX_COLUMNS`; a value beyond it refuses the file. (Empty cells
    out there are harmless: formatting that reaches column XFD.)"""
    if len(cells) <= MAX_COLUMNS:
        return cells
    if not _is_blank(cells[MAX_COLUMNS:]):
        raise LedgerError(
            "ledger.too_many_columns",
            {"columns": str(len(cells)), "max": str(MAX_COLUMNS), "line": str(line)},
        )
    return cells[:MAX_COLUMNS]


class LedgerReading:
    """A ledger file whose header has been found; its data rows come in batches.

    Made by :func:`open_ledger`. The header is looked for in the first
    :data:`HEADER_SCAN_ROWS` rows when the reading is made, so a file without one is refused
    before any row is read. :meth:`batches` reads the rest once, in order; duplicates are
    told across the whole file (the first line of every key is kept, nothing else).
    """

    def __init__(
        self,
        rows: Iterable[Sequence[object]],
        today: date | None,
        max_rows: int = DEFAULT_MAX_ROWS,
        *,
        check_characters: bool = False,
        progress: Callable[[], float | None] | None = None,
        declared_rows: int | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._it: Iterator[Sequence[object]] = iter(rows)
        self._today = today
        self._max_rows = max_rows
        self._check_characters = check_characters
        self._progress = progress
        self._declared = declared_rows
        self._on_close = on_close
        header = self._find_header()
        used_cols = set(header.index.values())
        self.header: list[str] = header.cells
        self.header_line = header.line
        self.columns: dict[LedgerField, str] = {
            f: header.cells[c] for f, c in sorted(header.index.items(), key=lambda x: x[1])
        }
        self.unmapped_columns = [t for c, t in enumerate(header.cells) if t and c not in used_cols]
        self.units = {f: u for f, u in header.factor.items() if u != 1}
        self._parser = _RowParser(header, today)
        self.key_field = self._parser.key_field
        # What a line's raw fingerprint covers: the mapped cells in field order, salted with
        # the parser's version and the mapping (field, header: its unit); and the day, for a
        # file whose overdue dates are counted back from it.
        hashed = sorted(header.index.items())
        self._hashed_cells = itemgetter(*(c for _, c in hashed))
        self._since_col = header.index.get(LedgerField.OVERDUE_SINCE)
        self._hashed_count = len(hashed)
        mapping = repr(tuple((f.value, header.cells[c]) for f, c in hashed))
        self._salt = f"{PARSER_VERSION}{mapping}"
        self._salt_today = f"{self._salt}{today.isoformat() if today else ''}\x1e"

    def raw_hash(self, cells: Sequence[object]) -> str:
        """The fingerprint of a data line (padded to the header's width) as it is in the file:
        two lines with the same fingerprint, read under the same header and parser, parse to
        the same row, except for a row whose overdue date is counted from today (no overdue
        date in the line), whose fingerprint includes today, and the check of the overdue
        date against today, which the caller makes on the stored row."""
        picked = self._hashed_cells(cells)
        col = self._since_col
        since = None if col is None else cells[col]
        salt = self._salt if since is not None and not _is_empty(since) else self._salt_today
        try:
            joined = "\x1f".join(picked)
            if joined.count("\x1f") != self._hashed_count - 1:  # a cell holds the separator
                joined = repr(picked)
        except TypeError:  # an XLSX line: numbers, dates, None
            joined = repr(picked)
        material = salt + "\x1e" + joined
        return hashlib.blake2b(
            material.encode("utf-8", "surrogatepass"), digest_size=16
        ).hexdigest()

    def result(self) -> LedgerParseResult:
        """The header's part of a :class:`LedgerParseResult`, with no rows yet."""
        return LedgerParseResult(
            rows=[],
            errors=[],
            columns=dict(self.columns),
            header=self.header,
            header_line=self.header_line,
            unmapped_columns=list(self.unmapped_columns),
            units=dict(self.units),
        )

    def _find_header(self) -> _Header:
        it = self._it
        closest: _Header | None = None
        line = 0
        try:
            for cells in it:
                line += 1
                cells = _within_columns(line, cells)
                if not _is_blank(cells):
                    candidate = _match_header(line, cells)
                    if not candidate.missing:
                        self._line = line
                        return candidate
                    if closest is None or len(candidate.index) > len(closest.index):
                        closest = candidate
                if line >= HEADER_SCAN_ROWS:
                    break
        except csv.Error:
            self.close()
            raise LedgerError("ledger.unreadable", {"reason": "csv"}) from None
        except BaseException:
            self.close()
            raise
        self.close()
        if closest is None:
            if line < HEADER_SCAN_ROWS:
                raise LedgerError("ledger.empty")
            raise LedgerError("ledger.no_header", {"rows": str(HEADER_SCAN_ROWS)})
        raise LedgerError(
            "ledger.missing_columns",
            {
                "missing": ",".join(closest.missing),
                "line": str(closest.line),
                "rows": str(HEADER_SCAN_ROWS),
            },
        )

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    def _done(self, line: int) -> float | None:
        if self._progress is not None:
            return self._progress()
        if self._declared:
            return min(1.0, line / self._declared)
        return None

    def batches(
        self, size: int = BATCH_ROWS, *, unchanged: Container[str] | None = None
    ) -> Iterator[LedgerBatch]:
        """The data rows, ``size`` data lines at a time (blank and total lines not counted).

        With ``unchanged`` (raw fingerprints, :meth:`raw_hash`, of lines already stored as they
        would be written again), every good row comes with its fingerprint, and a line whose
        fingerprint is in ``unchanged`` is not parsed: only its key is handed on (unless it is
        a duplicate or holds bad characters: those lines are read as always)."""
        try:
            yield from self._batches(size, unchanged)
        except csv.Error:
            raise LedgerError("ledger.unreadable", {"reason": "csv"}) from None
        finally:
            self.close()

    def _batches(self, size: int, unchanged: Container[str] | None) -> Iterator[LedgerBatch]:
        parser = self._parser
        check_characters = self._check_characters
        max_rows = self._max_rows
        first_line_of: dict[str, int] = {}
        line = self._line
        data_rows = blank_run = 0
        batch = LedgerBatch([], [], {}, [], 0, None)
        for cells in self._it:
            line += 1
            if _is_blank(cells):
                blank_run += 1
                if blank_run >= _BLANK_RUN_END:
                    break
                batch.skipped_lines += 1
                continue
            blank_run = 0
            cells = parser.pad(_within_columns(line, cells))
            contract_no = parser.key(cells)
            if parser.is_total(cells, contract_no):
                batch.skipped_lines += 1
                continue
            data_rows += 1
            if data_rows > max_rows:
                raise LedgerError("ledger.too_many_rows", {"max": str(max_rows)})
            first = first_line_of.setdefault(contract_no, line) if contract_no else line
            bad_characters = check_characters and any(
                isinstance(c, str) and _REPLACEMENT in c for c in cells
            )
            digest = ""
            if unchanged is not None:
                digest = self.raw_hash(cells)
                if digest in unchanged and first == line and not bad_characters:
                    batch.keys.append(contract_no)
                    batch.unchanged_keys.append(contract_no)
                    if len(batch.rows) + len(batch.error_rows) + len(batch.unchanged_keys) >= size:
                        batch.done = self._done(line)
                        yield batch
                        batch = LedgerBatch([], [], {}, [], 0, None)
                    continue
            row, errors = parser.parse(line, cells, contract_no)
            if bad_characters:
                row = None
                errors.append(RowError(line, RowErrorCode.BAD_CHARACTERS, None, ""))
            if contract_no:
                batch.keys.append(contract_no)
                if first != line:
                    errors.append(
                        RowError(
                            line,
                            RowErrorCode.DUPLICATE_CONTRACT,
                            parser.key_field,
                            contract_no,
                            str(first),
                        )
                    )
            if errors or row is None:
                batch.errors.extend(errors)
                batch.error_rows[line] = [_cell_text(c) for c in cells]
            else:
                batch.rows.append(row)
                if unchanged is not None:
                    batch.raw_hashes.append(digest)
            if len(batch.rows) + len(batch.error_rows) + len(batch.unchanged_keys) >= size:
                batch.done = self._done(line)
                yield batch
                batch = LedgerBatch([], [], {}, [], 0, None)
        batch.done = 1.0
        yield batch


class _F:
    """:class:`LedgerField`'s members as plain class attributes, for the row parser: a member
    looked up through the enum class is a descriptor call on every access in Python 3.11,
    a tenth of the time of a row."""

    CONTRACT_NO = LedgerField.CONTRACT_NO
    LOAN_RECEIPT_NO = LedgerField.LOAN_RECEIPT_NO
    BORROWER = LedgerField.BORROWER
    ID_NUMBER = LedgerField.ID_NUMBER
    PHONE = LedgerField.PHONE
    ADDRESS = LedgerField.ADDRESS
    BUSINESS = LedgerField.BUSINESS
    PRODUCT = LedgerField.PRODUCT
    PRINCIPAL_OUTSTANDING = LedgerField.PRINCIPAL_OUTSTANDING
    OVERDUE_PRINCIPAL = LedgerField.OVERDUE_PRINCIPAL
    OVERDUE_INTEREST = LedgerField.OVERDUE_INTEREST
    OVERDUE_SINCE = LedgerField.OVERDUE_SINCE
    DAYS_PAST_DUE = LedgerField.DAYS_PAST_DUE
    AS_OF = LedgerField.AS_OF
    MATURITY = LedgerField.MATURITY
    GUARANTOR = LedgerField.GUARANTOR
    GUARANTEE_KIND = LedgerField.GUARANTEE_KIND
    GUARANTEE_PERIOD = LedgerField.GUARANTEE_PERIOD
    COLLATERAL = LedgerField.COLLATERAL
    COLLATERAL_VALUE = LedgerField.COLLATERAL_VALUE
    COLLECTOR = LedgerField.COLLECTOR
    LOAN_OFFICER = LedgerField.LOAN_OFFICER
    SPOUSE = LedgerField.SPOUSE
    SPOUSE_PHONE = LedgerField.SPOUSE_PHONE


class _RowError(Exception):
    def __init__(self, code: RowErrorCode, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


class _RowParser:
    """Parses one row against a header. Collects every error of the row, not only the first.

    Written for throughput (100 000 rows): column positions are resolved once, each row is
    padded to the header width once, and cells are read by index.
    """

    def __init__(self, header: _Header, today: date | None) -> None:
        index = header.index
        self.width = max(index.values()) + 1
        self.today = today
        self.has_overdue_col = LedgerField.OVERDUE_PRINCIPAL in index
        self.factor = header.factor
        self.c_borrower = index[LedgerField.BORROWER]
        self.optional: dict[LedgerField, int | None] = {f: index.get(f) for f in LedgerField}
        self.c_contract = self.optional[LedgerField.CONTRACT_NO]
        self.c_receipt = self.optional[LedgerField.LOAN_RECEIPT_NO]
        self.key_field = (
            LedgerField.LOAN_RECEIPT_NO if self.c_receipt is not None else LedgerField.CONTRACT_NO
        )
        # 合计 sits in the first column (often 序号) or under the borrower's name.
        self._total_cols = (0, self.c_borrower)

    def pad(self, cells: Sequence[object]) -> Sequence[object]:
        if len(cells) >= self.width:
            return cells
        return [*cells, *([None] * (self.width - len(cells)))]

    @staticmethod
    def _number(value: object) -> str:
        text = value.strip() if isinstance(value, str) else _cell_text(value)
        if text.isascii() and " " not in text:
            return text
        return "".join(unicodedata.normalize("NFKC", text).split())

    def contract_no(self, cells: Sequence[object]) -> str:
        return "" if self.c_contract is None else self._number(cells[self.c_contract])

    def key(self, cells: Sequence[object]) -> str:
        """The case key: the 借据号 when the row has one, else the 合同号."""
        if self.c_receipt is not None:
            receipt = self._number(cells[self.c_receipt])
            if receipt:
                return receipt
        return self.contract_no(cells)

    def is_total(self, cells: Sequence[object], key: str) -> bool:
        """A total line (合计 …): ``key`` is the line's :meth:`key`."""
        contract_no = key.casefold().rstrip(":：")
        if contract_no in _TOTAL_WORDS:
            return True
        if contract_no:
            return False
        for col in self._total_cols:
            text = "".join(_cell_text(cells[col]).split()).casefold().rstrip(":：")
            if text in _TOTAL_WORDS:
                return True
        return False

    def _cell(self, cells: Sequence[object], fld: LedgerField) -> object:
        col = self.optional[fld]
        return None if col is None else cells[col]

    def _text(self, cells: Sequence[object], fld: LedgerField) -> str | None:
        col = self.optional[fld]
        return None if col is None else (_cell_text(cells[col]) or None)

    def _amount(
        self,
        line: int,
        cells: Sequence[object],
        fld: LedgerField,
        required: bool,
        errors: list[RowError],
    ) -> int | None:
        col = self.optional[fld]
        raw = None if col is None else cells[col]
        if _is_empty(raw):
            if required:
                errors.append(RowError(line, RowErrorCode.MISSING_FIELD, fld, ""))
            return None
        try:
            return _amount(raw, self.factor.get(fld, 1))
        except _RowError as exc:
            errors.append(RowError(line, exc.code, fld, _cell_text(raw), exc.detail))
            return None

    def _date(
        self, line: int, raw: object, fld: LedgerField, errors: list[RowError]
    ) -> date | None:
        try:
            return parse_ledger_date(raw)
        except CellDateError:
            errors.append(RowError(line, RowErrorCode.BAD_DATE, fld, _cell_text(raw)))
            return None

    def _guarantee_end(
        self, line: int, cells: Sequence[object], maturity: date | None, errors: list[RowError]
    ) -> date | None:
        """The agreed guarantee period's end (保证期间): a date, or a length counted from the
        due date (``2年``, ``两年``, ``6个月``, ``主债务履行期届满之日起三年``, ``3 years``); a
        length with no due date on the row is not in the file. Neither: a bad date."""
        raw = self._cell(cells, _F.GUARANTEE_PERIOD)
        if _is_empty(raw):
            return None
        try:
            return parse_ledger_date(raw)
        except CellDateError:
            pass
        months = guarantee_months(_cell_text(raw))
        if months is None:
            errors.append(
                RowError(line, RowErrorCode.BAD_DATE, _F.GUARANTEE_PERIOD, _cell_text(raw))
            )
            return None
        return None if maturity is None else add_months(maturity, months)

    def _days(self, line: int, cells: Sequence[object], errors: list[RowError]) -> int | None:
        raw = self._cell(cells, _F.DAYS_PAST_DUE)
        if _is_empty(raw):
            return None
        try:
            return _whole_days(raw)
        except _RowError as exc:
            errors.append(RowError(line, exc.code, _F.DAYS_PAST_DUE, _cell_text(raw)))
            return None

    def parse(
        self, line: int, cells: Sequence[object], contract_no: str
    ) -> tuple[LedgerRow | None, list[RowError]]:
        errors: list[RowError] = []
        fields = _F

        if not contract_no:
            errors.append(RowError(line, RowErrorCode.MISSING_FIELD, self.key_field, ""))
        contract_ref: str | None = None
        for fld, col in (
            (fields.LOAN_RECEIPT_NO, self.c_receipt),
            (fields.CONTRACT_NO, self.c_contract),
        ):
            if col is not None and _cut_by_excel(cells[col]):
                errors.append(
                    RowError(line, RowErrorCode.BAD_CONTRACT_NO, fld, _cell_text(cells[col]))
                )
        if self.c_receipt is not None and self.c_contract is not None:
            contract_ref = self.contract_no(cells) or None
            if contract_ref == contract_no:
                contract_ref = None
        name = _cell_text(cells[self.c_borrower])
        if not name:
            errors.append(RowError(line, RowErrorCode.MISSING_FIELD, fields.BORROWER, ""))

        has_overdue_col = self.has_overdue_col
        principal = self._amount(
            line, cells, fields.PRINCIPAL_OUTSTANDING, not has_overdue_col, errors
        )
        if not has_overdue_col:
            overdue_principal = principal
        elif _is_empty(self._cell(cells, fields.OVERDUE_PRINCIPAL)) and (
            not _is_empty(self._cell(cells, fields.OVERDUE_INTEREST))
            or not _is_empty(self._cell(cells, fields.PRINCIPAL_OUTSTANDING))
        ):
            overdue_principal = 0  # interest-only arrears: nothing of the principal is due yet
        else:
            overdue_principal = self._amount(line, cells, fields.OVERDUE_PRINCIPAL, True, errors)
        interest = self._amount(line, cells, fields.OVERDUE_INTEREST, False, errors)
        collateral_value = self._amount(line, cells, fields.COLLATERAL_VALUE, False, errors)

        raw_as_of = self._cell(cells, fields.AS_OF)
        as_of = None if _is_empty(raw_as_of) else self._date(line, raw_as_of, fields.AS_OF, errors)
        days = self._days(line, cells, errors)
        raw_since = self._cell(cells, fields.OVERDUE_SINCE)
        overdue_since: date | None = None
        if not _is_empty(raw_since):
            overdue_since = self._date(line, raw_since, fields.OVERDUE_SINCE, errors)
            if overdue_since is not None and days is not None and as_of is not None:
                counted = (as_of - overdue_since).days
                if abs(counted - days) > 1:  # one day: 逾期起始日 may be the first day overdue
                    errors.append(
                        RowError(
                            line,
                            RowErrorCode.DAYS_MISMATCH,
                            fields.DAYS_PAST_DUE,
                            str(days),
                            str(counted),
                        )
                    )
        elif days is not None and (as_of or self.today) is not None:
            reference = as_of or self.today
            assert reference is not None
            overdue_since = reference - timedelta(days=days)
        elif not any(e.field in (fields.AS_OF, fields.DAYS_PAST_DUE) for e in errors):
            errors.append(RowError(line, RowErrorCode.MISSING_FIELD, fields.OVERDUE_SINCE, ""))
        raw_maturity = self._cell(cells, fields.MATURITY)
        maturity = (
            None
            if _is_empty(raw_maturity)
            else self._date(line, raw_maturity, fields.MATURITY, errors)
        )
        guarantee_end = self._guarantee_end(line, cells, maturity, errors)

        id_raw = self._cell(cells, fields.ID_NUMBER)
        id_number: str | None = None
        try:
            id_number = _id_number(id_raw)
        except _RowError as exc:
            errors.append(RowError(line, exc.code, fields.ID_NUMBER, _cell_text(id_raw)))

        if (
            has_overdue_col
            and principal is not None
            and overdue_principal is not None
            and overdue_principal > principal
        ):
            errors.append(
                RowError(
                    line,
                    RowErrorCode.OVERDUE_EXCEEDS_BALANCE,
                    fields.OVERDUE_PRINCIPAL,
                    _cell_text(self._cell(cells, fields.OVERDUE_PRINCIPAL)),
                    _cell_text(self._cell(cells, fields.PRINCIPAL_OUTSTANDING)),
                )
            )
        if overdue_since is not None and self.today is not None and overdue_since > self.today:
            errors.append(
                RowError(
                    line,
                    RowErrorCode.DATE_IN_FUTURE,
                    fields.OVERDUE_SINCE,
                    _cell_text(raw_since) or overdue_since.isoformat(),
                )
            )

        if errors or overdue_principal is None or overdue_since is None:
            return None, errors

        guarantees = self._text(cells, fields.GUARANTOR) or ""
        parties = parse_party_list(guarantees, PartyRole.GUARANTOR) if guarantees else []
        spouse = self._text(cells, fields.SPOUSE)
        spouse_phone = _phone(self._cell(cells, fields.SPOUSE_PHONE))
        if spouse or spouse_phone:
            parties.append(RelatedParty(PartyRole.SPOUSE, spouse or "", phone=spouse_phone))

        row = LedgerRow(
            line=line,
            borrower=Borrower(
                name=name,
                id_number=id_number,
                phone=_phone(self._cell(cells, fields.PHONE)),
                address=self._text(cells, fields.ADDRESS),
                business=self._text(cells, fields.BUSINESS),
            ),
            loan=Loan(
                contract_no=contract_no,
                overdue_principal=overdue_principal,
                overdue_since=overdue_since,
                principal_outstanding=principal if principal is not None else overdue_principal,
                overdue_interest=interest or 0,
                product=self._text(cells, fields.PRODUCT),
                maturity=maturity,
            ),
            security=Security(
                guarantees=guarantees,
                collateral_description=self._text(cells, fields.COLLATERAL),
                collateral_value=collateral_value,
                guarantee_kind=parse_guarantee_kind(self._text(cells, fields.GUARANTEE_KIND)),
                guarantee_end=guarantee_end,
            ),
            related_parties=tuple(parties),
            collector=self._text(cells, fields.COLLECTOR),
            contract_ref=contract_ref,
            loan_officer=self._text(cells, fields.LOAN_OFFICER),
            as_of=as_of,
        )
        return row, errors


# ---------------------------------------------------------------------------------------------
# Cells

_CN_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_LENGTH = re.compile(
    r"(\d{1,3}|十[一二三四五六七八九]?|[一二两三四五六七八九]十?[一二三四五六七八九]?)\s*"
    r"(年|个月|個月|月|years?|months?)",
    re.IGNORECASE,
)


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + _CN_DIGITS.get(ones, 0)
    return _CN_DIGITS[text]


def guarantee_months(text: str) -> int | None:
    """The months a guarantee-period cell names as a length: ``2年`` and ``两年`` 24,
    ``6个月`` 6, ``十八个月`` 18, ``3 years`` 36; None when it names no length."""
    found = _LENGTH.search(text)
    if found is None:
        return None
    number = _cn_number(found.group(1))
    unit = found.group(2).lower()
    months = number * 12 if unit in ("年", "year", "years") else number
    return months if 0 < months <= 600 else None


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_blank(cells: Sequence[object]) -> bool:
    try:  # a CSV row: all text, joined and stripped in C
        return not "".join(cells).strip()  # type: ignore[arg-type]
    except TypeError:  # an XLSX row: numbers, dates, None
        return all(_is_empty(c) for c in cells)


def _cell_text(value: object) -> str:
    """A cell as text: ``None`` -> "", 12.0 -> "12", datetimes -> ISO date, strings stripped."""
    if value.__class__ is str:  # nearly every cell: first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _amount(value: object, factor: int) -> int:
    """A ledger amount cell to fen.

    A numeric XLSX cell is often a formula's result (interest accrued: 1234.5678): it is
    rounded to the fen, half up, as the bank's own statements round. A text cell is what a
    person typed and keeps the strict rule (``1.234`` is refused as too precise).

    ``factor`` is the column's unit (``贷款余额(万元)``: 10 000). A text cell that carries its own
    unit (``1.2万``, ``500元``) is taken as written, not multiplied a second time.
    """
    if value.__class__ is str:  # a CSV cell: straight to the text rule below
        pass
    elif isinstance(value, bool):
        raise _RowError(RowErrorCode.BAD_AMOUNT, "amount.unparseable")
    elif isinstance(value, int | float):
        if isinstance(value, float) and not (value == value and abs(value) != float("inf")):
            raise _RowError(RowErrorCode.BAD_AMOUNT, "amount.unparseable")
        yuan = (Decimal(repr(value)) if isinstance(value, float) else Decimal(value)) * factor
        if yuan < 0:
            raise _RowError(RowErrorCode.BAD_AMOUNT, "amount.negative")
        if yuan > MAX_YUAN:
            raise _RowError(RowErrorCode.BAD_AMOUNT, "amount.too_large")
        yuan = yuan.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        try:
            return yuan_to_fen(yuan)
        except AmountError as exc:
            raise _RowError(RowErrorCode.BAD_AMOUNT, exc.code) from None
    text = _cell_text(value)
    if factor != 1 and not _OWN_UNIT.search(text):
        text += "万" if factor == 10_000 else "千"
    try:
        return parse_amount(text)
    except AmountError as exc:
        raise _RowError(RowErrorCode.BAD_AMOUNT, exc.code) from None


#: A text amount that names its own unit: 1.2万, 3千, 500元, 兩萬, RMB.
_OWN_UNIT = re.compile(r"[千万萬亿億元圆圓块塊仟佰]|rmb|cny|yuan", re.IGNORECASE)


def _whole_days(value: object) -> int:
    """逾期天数 as a whole, non-negative number: 35, 35.0, "35", "35天"."""
    if isinstance(value, bool):
        raise _RowError(RowErrorCode.BAD_DAYS)
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            raise _RowError(RowErrorCode.BAD_DAYS)
        days = int(value)
    else:
        text = unicodedata.normalize("NFKC", _cell_text(value)).removesuffix("天").strip()
        if not text.isdigit():
            raise _RowError(RowErrorCode.BAD_DAYS)
        days = int(text)
    if not 0 <= days <= 100_000:
        raise _RowError(RowErrorCode.BAD_DAYS)
    return days


_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATE_YMD = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
#: 2024/3/5, 2024.03.05, 2024-3-5: ASCII only (the general rule normalises the rest).
_DATE_PLAIN = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", re.ASCII)


def parse_ledger_date(value: object) -> date:
    """A date cell as ledgers write it.

    Accepted: ``2024-03-05``, ``2024/3/5``, ``2024.3.5``, ``20240305``, ``2024年3月5日``, any
    of these followed by a time (``2024-03-05 00:00:00``), full-width digits, Excel date cells
    (``datetime``/``date``), an 8-digit number cell (20240305) and an Excel serial number cell
    (45356 = 2024-03-05, for a date column that lost its date format).

    Refused (``CellDateError("date.unparseable")``): day-first or month-first forms
    (``05/03/2024`` is ambiguous), two-digit years, impossible dates (``2024-02-30``), years
    outside 1900–2199.
    """
    if isinstance(value, str):
        # Fast paths: what the general rule below reads the same way (no spaces, no
        # full-width forms to normalise), without its normalisation.
        m = _DATE_ISO.fullmatch(value) or _DATE_PLAIN.fullmatch(value)
        if m is not None:
            return _ymd(m[1], m[2], m[3], {"value": value})
    params = {"value": _cell_text(value)}
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            return _from_excel_serial(value, params)
        number = int(value)
        if 19000101 <= number <= 21991231:
            return _ymd(str(number)[:4], str(number)[4:6], str(number)[6:], params)
        return _from_excel_serial(number, params)
    text = unicodedata.normalize("NFKC", _cell_text(value))
    m = _DATE_YMD.match(text) or _DATE_COMPACT.match(text)
    if m is None:
        raise CellDateError("date.unparseable", params)
    return _ymd(m[1], m[2], m[3], params)


def _ymd(y: str, m: str, d: str, params: dict[str, str]) -> date:
    try:
        result = date(int(y), int(m), int(d))
    except ValueError:
        raise CellDateError("date.unparseable", params) from None
    if not 1900 <= result.year <= 2199:
        raise CellDateError("date.unparseable", params)
    return result


def _from_excel_serial(serial: float, params: dict[str, str]) -> date:
    from openpyxl.utils.datetime import from_excel

    # 1 = 1900-01-01 ... 109572 = 2199-12-31; below 367 lies the 1900 leap-year bug, refuse.
    if not 367 <= serial <= 109572:
        raise CellDateError("date.unparseable", params)
    converted: Any = from_excel(serial)
    if isinstance(converted, datetime):
        return converted.date()
    raise CellDateError("date.unparseable", params)


_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?e[+-]?\d+$")


def _id_number(value: object) -> str | None:
    """An ID number kept as given (spaces removed, upper-cased). Refused only when Excel has
    visibly destroyed it: a float cell, or text in scientific notation (3.30102E+17) — an
    18-digit number does not fit a double, so its last digits are gone."""
    if _is_empty(value):
        return None
    if isinstance(value, float):
        raise _RowError(RowErrorCode.BAD_ID_NUMBER)
    text = _plain(value)
    text = (
        "".join(unicodedata.normalize("NFKC", _cell_text(value)).split()) if text is None else text
    ).upper()
    if _SCIENTIFIC.match(text.casefold()):
        raise _RowError(RowErrorCode.BAD_ID_NUMBER)
    return text


def _cut_by_excel(value: object) -> bool:
    """A contract or receipt number that Excel has visibly damaged: a number cell that is not
    whole or has 16 digits or more (a double keeps 15 significant digits, so the rest are
    gone), or text in scientific notation (1.23457E+17). Shorter whole numbers are fine."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return not value.is_integer() or abs(value) >= 1e15
    if isinstance(value, int):
        return len(str(abs(value))) >= 16
    if isinstance(value, str):
        return bool(_EXCEL_SCIENTIFIC.match(value.strip().casefold()))
    return False


#: How Excel shows a long number it has cut: 1.23457E+17 (not a code such as 2024E001).
_EXCEL_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?e\+\d{2}$")


def _phone(value: object) -> str | None:
    """A phone number as given, width-normalised and without spaces; not validated (landlines
    such as 0571-8888 8888 and extensions are legitimate)."""
    text = _plain(value)
    if text is None:
        text = "".join(unicodedata.normalize("NFKC", _cell_text(value)).split())
    return text or None


def _plain(value: object) -> str | None:
    """A text cell that normalising (NFKC) and removing whitespace would leave as it is, stripped:
    printable ASCII without a space (``13800000000``, ``0571-8888``); else ``None``."""
    if type(value) is not str:
        return None
    text = value.strip()
    return text if text.isascii() and text.isprintable() and " " not in text else None


_PARTY_SPLIT = re.compile(r"[;；、,，/\n]+")
_PARTY_WITH_PHONE = re.compile(r"^(.*?)\s*\(\s*([^)]*?)\s*\)\s*$")


def parse_party_list(text: str, role: PartyRole) -> list[RelatedParty]:
    """Split a 担保人-style cell into parties: ``张三(13800000000)；李四、王五（0571-8888）``.

    Separators: ``;`` ``；`` ``、`` ``,`` ``，`` ``/`` and newlines. A phone may follow each name
    in half- or full-width parentheses. Empty parts are dropped; a part that is only a phone in
    parentheses becomes a party with an empty name (the phone is worth keeping).
    """
    parties: list[RelatedParty] = []
    for part in _PARTY_SPLIT.split(unicodedata.normalize("NFKC", text)):
        part = part.strip()
        if not part:
            continue
        m = _PARTY_WITH_PHONE.match(part) if part.endswith(")") else None
        if m is not None:
            name, phone = m[1].strip(), "".join(m[2].split()) or None
        else:
            name, phone = part, None
        if name or phone:
            parties.append(RelatedParty(role, name, phone=phone))
    return parties
