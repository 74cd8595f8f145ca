"""Dates and repayment schedules as collectors type them, checked against strategy 5 (忌华而不实).

Strategy 5 of the source document: debtors stall, so every instalment is pinned to an exact
calendar date or a fixed weekday / day of the month ("every Wednesday", "the 25th of each
month") — never "this weekend", "end of next month", "early next year", "every month end",
"every half year". This module is the one place that reads such words, for /commit, /outcome,
/prep, approvals (a counter-offer's date) and the ledger import.

Pure: ``today`` is passed in; no clock, no I/O. Refusals are :class:`DateError` with a code and
string params, turned into words by ``templates/commit/_dates.j2``.

One rule for every "next X" form: a named weekday (``周五``, ``Friday``) or a day of the month
(``25号``, ``the 25th``) never means today — today is ``今天`` / ``today``, and today's money is
its own step of /commit. The same holds for the first instalment of a recurring plan.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import chinese_calendar

from bot.domain.errors import DomainError

__all__ = [
    "HORIZON_YEARS",
    "MAX_INSTALMENTS",
    "SUPPORTED_REGIONS",
    "VAGUE_PHRASES",
    "DateError",
    "Due",
    "GridDay",
    "Recurrence",
    "WorkdayCheck",
    "calendar_years",
    "find_vague",
    "month_grid",
    "parse_date",
    "parse_dates",
    "parse_past_date",
    "parse_schedule",
    "parse_written_date",
    "schedule_dates",
    "shift_month",
    "working_day",
]

#: A date further out than this many years is a typo (2062 for 2026), not a promise.
HORIZON_YEARS = 5
#: More instalments than this in one plan is refused (``schedule.too_many``): five years monthly.
MAX_INSTALMENTS = 60
#: Regions whose public holidays :func:`working_day` knows.
SUPPORTED_REGIONS = ("CN",)

VagueKind = Literal["period_end", "period", "someday"]


class DateError(DomainError):
    """A date or a schedule could not be accepted. ``params["text"]`` is always the text given.

    Codes and their other params:

    - ``date.vague`` — ``phrase`` (the vague words as typed), ``kind``: ``period_end`` (月底,
      end of month), ``period`` (下半年, this weekend) or ``someday`` (过段时间, soon);
    - ``date.past`` — ``date`` (ISO): an explicit date before today;
    - ``date.too_far`` — ``date`` (ISO), ``years``: beyond :data:`HORIZON_YEARS`;
    - ``date.ambiguous`` — ``first``, ``second`` (ISO): ``03/04`` may be 4 March or 3 April;
    - ``date.no_such_day`` — a date that does not exist (2026-02-30, 每月32号);
    - ``date.unparseable`` — nothing recognisable;
    - ``schedule.no_count`` — a recurring day without a number of instalments or an end date;
    - ``schedule.count_and_until`` — both a number and an end date (which one counts?);
    - ``schedule.until_before_first`` — ``until``, ``first`` (ISO): no instalment would fall due;
    - ``schedule.too_many`` — ``count``, ``limit``: over :data:`MAX_INSTALMENTS`.
    """


# ---------------------------------------------------------------------------------------------
# The refusal list (data). Each entry is a regular expression (most are plain words) and the kind
# of vagueness. Matching ignores case and width (NFKC) and runs over every language's list,
# whatever the user's language, so a 繁體 phrase typed in a 简体 session is refused too.
# ---------------------------------------------------------------------------------------------

_ZH_HANS: tuple[tuple[str, VagueKind], ...] = (
    ("月底", "period_end"),
    ("月末", "period_end"),
    ("下月末", "period_end"),
    ("下个月底", "period_end"),
    ("年底", "period_end"),
    ("年末", "period_end"),
    ("季度末", "period_end"),
    ("每季度末", "period_end"),
    ("每月底", "period_end"),
    ("每个月底", "period_end"),
    ("年初", "period"),
    ("明年初", "period"),
    ("下半年", "period"),
    ("上半年", "period"),
    ("月中", "period"),
    ("月初", "period"),
    ("中旬", "period"),
    ("下旬", "period"),
    ("上旬", "period"),
    ("这周末", "period"),
    ("本周末", "period"),
    ("下周末", "period"),
    ("周末", "period"),
    ("每半年", "period"),
    ("每季度", "period"),
    ("下个?月(?![0-9一二三四五六七八九十廿卅]|底|末|初|中)", "period"),
    ("下周(?![一二三四五六日天1-7])", "period"),
    ("明年(?![0-9一二三四五六七八九十]+月)", "period"),
    # A month's part, with the month it belongs to: quoted whole (下个月中旬, not 月中).
    ("(?:下个?|这个?|本|[0-9一二三四五六七八九十]+)月(?:上旬|中旬|下旬|初|中)", "period"),
    # A festival or a season is a stretch of time, not a day (春节后, 开春, 秋收以后).
    (
        "(?:春节|过年|过完年|年|国庆|中秋|端午|清明|五一|元旦)(?:以后|之后|后|前后|前|左右)",
        "period",
    ),
    ("开春|开年|秋收(?:以后|之后|后)?", "period"),
    ("(?:明年|今年)?(?:春|夏|秋|冬)天", "period"),
    ("过段时间", "someday"),
    ("过几天", "someday"),
    ("过阵子", "someday"),
    ("以后", "someday"),
    ("有钱了", "someday"),
    ("有钱再", "someday"),
    ("尽快", "someday"),
    ("最近", "someday"),
    ("改天", "someday"),
    ("到时候", "someday"),
)

_ZH_HANT: tuple[tuple[str, VagueKind], ...] = (
    ("月底", "period_end"),
    ("月末", "period_end"),
    ("下月末", "period_end"),
    ("下個月底", "period_end"),
    ("年底", "period_end"),
    ("年末", "period_end"),
    ("季度末", "period_end"),
    ("每季度末", "period_end"),
    ("每月底", "period_end"),
    ("每個月底", "period_end"),
    ("年初", "period"),
    ("明年初", "period"),
    ("下半年", "period"),
    ("上半年", "period"),
    ("月中", "period"),
    ("月初", "period"),
    ("中旬", "period"),
    ("下旬", "period"),
    ("上旬", "period"),
    ("這週末", "period"),
    ("本週末", "period"),
    ("下週末", "period"),
    ("週末", "period"),
    ("每半年", "period"),
    ("每季度", "period"),
    ("下個?月(?![0-9一二三四五六七八九十廿卅]|底|末|初|中)", "period"),
    ("下週(?![一二三四五六日天1-7])", "period"),
    ("明年(?![0-9一二三四五六七八九十]+月)", "period"),
    ("(?:下個?|這個?|本|[0-9一二三四五六七八九十]+)月(?:上旬|中旬|下旬|初|中)", "period"),
    (
        "(?:春節|過年|過完年|年|國慶|中秋|端午|清明|五一|元旦)(?:以後|之後|後|前後|前|左右)",
        "period",
    ),
    ("開春|開年|秋收(?:以後|之後|後)?", "period"),
    ("(?:明年|今年)?(?:春|夏|秋|冬)天", "period"),
    ("過段時間", "someday"),
    ("過幾天", "someday"),
    ("過陣子", "someday"),
    ("以後", "someday"),
    ("有錢了", "someday"),
    ("有錢再", "someday"),
    ("盡快", "someday"),
    ("最近", "someday"),
    ("改天", "someday"),
    ("到時候", "someday"),
)

_EN: tuple[tuple[str, VagueKind], ...] = (
    (r"\bend of (?:the |this |next )?month\b", "period_end"),
    (r"\bmonth[- ]end\b", "period_end"),
    (r"\bend of (?:the |this |next )?year\b", "period_end"),
    (r"\byear[- ]end\b", "period_end"),
    (r"\bend of (?:the |this |next )?quarter\b", "period_end"),
    (r"\bevery month[- ]end\b", "period_end"),
    (r"\bevery end of (?:the )?month\b", "period_end"),
    (r"\bnext (?:spring|summer|autumn|fall|winter)\b", "period"),
    (r"\bthis (?:spring|summer|autumn|fall|winter)\b", "period"),
    (r"\bin (?:the )?(?:spring|summer|autumn|fall|winter)\b", "period"),
    (r"\bearly next (?:year|month|week)\b", "period"),
    (r"\b(?:early|late) in the (?:year|month)\b", "period"),
    (r"\bmid[- ]?month\b", "period"),
    (r"\bmiddle of (?:the |next )?month\b", "period"),
    (r"\bbeginning of (?:the |next )?(?:month|year)\b", "period"),
    (r"\bthis weekend\b", "period"),
    (r"\b(?:at|on|over) the weekend\b", "period"),
    (r"\bweekend\b", "period"),
    (r"\bnext (?:week|month|year)\b", "period"),
    (r"\bevery half[- ]year\b", "period"),
    (r"\bhalf[- ]yearly\b", "period"),
    (r"\bevery quarter\b", "period"),
    (r"\b(?:early|mid|late)[- ]?(?:next |this )?(?:week|month|year)\b", "period"),
    (
        r"\b(?:early|mid|late)[- ]?(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|"
        r"june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b",
        "period",
    ),
    (
        r"\b(?:after|before|around) (?:the )?(?:chinese new year|new year|spring festival|"
        r"national day|mid-autumn festival|harvest|holidays?)\b",
        "period",
    ),
    (r"\bsoon\b", "someday"),
    (r"\blater\b", "someday"),
    (r"\bsome ?day\b", "someday"),
    (r"\bin a few days\b", "someday"),
    (r"\bwhen (?:i|he|she|they|we) can\b", "someday"),
    (r"\bwhen (?:i|he|she|they|we) (?:have|get|has) (?:the )?money\b", "someday"),
    (r"\bas soon as possible\b", "someday"),
    (r"\basap\b", "someday"),
    (r"\bone of these days\b", "someday"),
)

#: Vague or period-end phrases refused as dates (strategy 5), per UI language: (regex, kind).
VAGUE_PHRASES: Mapping[str, tuple[tuple[str, VagueKind], ...]] = {
    "zh_Hans": _ZH_HANS,
    "zh_Hant": _ZH_HANT,
    "en": _EN,
}

_VAGUE = [
    (re.compile(pattern, re.IGNORECASE), kind)
    for entries in VAGUE_PHRASES.values()
    for pattern, kind in entries
]


def find_vague(text: str) -> tuple[str, VagueKind] | None:
    """The vague phrase in ``text`` and its kind, or ``None``.

    Of several matches the longest wins (``下个月底`` rather than ``月底``), then the leftmost.
    Width and case are ignored: ``ＥＮＤ of month`` is found; the phrase is returned as typed
    after width folding. Words inside other words are not matched in English (``soonest``
    is not ``soon``).
    """
    s = _fold(text)
    best: tuple[int, int, str, VagueKind] | None = None
    for pattern, kind in _VAGUE:
        m = pattern.search(s)
        if m is None or not m.group(0):
            continue
        key = (-(m.end() - m.start()), m.start())
        if best is None or key < best[:2]:
            best = (key[0], key[1], m.group(0), kind)
    return None if best is None else (best[2].strip(), best[3])


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A fixed weekday (``weekly``, ``weekday`` 0 = Monday) or day of the month (``monthly``,
    ``day`` 1..31), with a number of instalments ``count`` or an inclusive end date ``until``
    (exactly one of them). Built by :func:`parse_schedule`, or by a flow from buttons; an
    inconsistent one raises ``ValueError`` (a programming error, not a user's)."""

    kind: Literal["weekly", "monthly"]
    weekday: int | None = None
    day: int | None = None
    count: int | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.kind == "weekly":
            if self.weekday is None or not 0 <= self.weekday <= 6 or self.day is not None:
                raise ValueError(f"a weekly rule needs a weekday 0..6 and no day: {self!r}")
        elif self.kind == "monthly":
            if self.day is None or not 1 <= self.day <= 31 or self.weekday is not None:
                raise ValueError(f"a monthly rule needs a day 1..31 and no weekday: {self!r}")
        else:
            raise ValueError(f"unknown kind {self.kind!r}")
        if (self.count is None) == (self.until is None):
            raise ValueError(f"give exactly one of count and until: {self!r}")
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be at least 1: {self!r}")


@dataclass(frozen=True, slots=True)
class Due:
    """One instalment's date. ``short_month``: the rule's day (29–31) does not exist in that
    month, so the instalment falls on its last day — the summary says so (never silently)."""

    date: date
    short_month: bool = False


@dataclass(frozen=True, slots=True)
class WorkdayCheck:
    """Whether a date is a working day in the region, and if not, why and the next one.

    ``reason``: ``"weekend"``, ``"holiday"`` or ``None`` (a working day). ``holiday``: the
    holiday's English name as the calendar package gives it (``"National Day"``,
    ``"Spring Festival"``), for the template to translate. ``next_working_day`` is ``None`` on
    a working day. ``known`` is ``False`` for a year the package has no data for: then only
    weekends and the fixed-date statutory holidays are checked, and the words say so.
    """

    is_working_day: bool
    reason: Literal["weekend", "holiday"] | None
    next_working_day: date | None
    known: bool = True
    holiday: str | None = None


@dataclass(frozen=True, slots=True)
class GridDay:
    """One day of :func:`month_grid`: ``past`` days are shown disabled, ``today`` marked,
    ``working`` is ``False`` on weekends and public holidays (调休 workdays are working)."""

    day: date
    past: bool
    today: bool
    working: bool


# ---------------------------------------------------------------------------------------------
# Reading text
# ---------------------------------------------------------------------------------------------

# Traditional forms of the words the grammar reads (the vague list has its own 繁體 data).
_TRADITIONAL = str.maketrans(
    {
        "週": "周",
        "禮": "礼",
        "後": "后",
        "個": "个",
        "號": "号",
        "這": "这",
        "們": "们",
        "時": "时",
        "間": "间",
        "兩": "两",
        "幾": "几",
        "過": "过",
        "錢": "钱",
        "盡": "尽",
        "陣": "阵",
        "為": "为",
        "〇": "零",
    }
)

_CN_DIGIT = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_CN_DIGIT |= {"八": 8, "九": 9}
_NUM = r"(\d{1,3}|[零一二两三四五六七八九十廿卅]{1,4})"
_WEEKDAY_CN = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_WEEKDAY_CN |= {str(i): i - 1 for i in range(1, 8)}
_WEEKDAY_EN = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_MONTH_EN = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_WD_EN = "|".join(sorted(_WEEKDAY_EN, key=len, reverse=True))
_MON_EN = "|".join(sorted(_MONTH_EN, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"


def _fold(text: str) -> str:
    """Width-folded (NFKC: ２５号 → 25号, ／ → /), spaces collapsed, no space beside a Chinese
    character (``12 月 25 日`` → ``12月25日``)."""
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"\s+", " ", s).strip()
    return re.sub(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])", "", s)


def _norm(text: str) -> str:
    """:func:`_fold`, traditional characters to simplified, lower case, closing punctuation
    (``。``, ``!``, ``.``) dropped."""
    s = _fold(text).translate(_TRADITIONAL).lower()
    return s.rstrip("。.!！?？;；,，")


def _number(s: str) -> int:
    """``25``, ``二十五``, ``廿五``, ``十``, ``三十一``, ``两`` → int (0..99)."""
    if s.isdigit():
        return int(s)
    s = s.replace("廿", "二十").replace("卅", "三十")
    if "十" in s:
        tens, _, ones = s.partition("十")
        if len(tens) > 1 or len(ones) > 1:
            raise ValueError(s)
        value = (_CN_DIGIT[tens] if tens else 1) * 10 + (_CN_DIGIT[ones] if ones else 0)
        return value
    if len(s) == 1:
        return _CN_DIGIT[s]
    raise ValueError(s)


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    """``(year, month)`` moved by ``delta`` months: ``shift_month(2026, 12, 1) == (2027, 1)``."""
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _next_weekday(today: date, weekday: int) -> date:
    """The next ``weekday`` strictly after ``today`` (a Wednesday's "Wednesday" is in 7 days)."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _next_day_of_month(today: date, day: int) -> date:
    """The next date strictly after ``today`` whose day of the month is ``day``; a month too
    short for it is skipped (``31号`` on 5 Nov is 31 Dec)."""
    year, month = today.year, today.month
    for _ in range(14):
        if day <= _last_day(year, month):
            candidate = date(year, month, day)
            if candidate > today:
                return candidate
        year, month = shift_month(year, month, 1)
    raise AssertionError("unreachable: every day 1..31 occurs within 14 months")


def _make(year: int, month: int, day: int, params: dict[str, str]) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError("date.no_such_day", params) from None


def _yearless(month: int, day: int, today: date, params: dict[str, str]) -> date:
    """``12月25日`` / ``Dec 25`` / ``12/25``: this year's if still ahead (today included),
    else next year's. 29 February without a year is the next one that exists."""
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise DateError("date.no_such_day", params)
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:
            if day > _last_day(2024, month):  # 31 April never exists; 29 Feb in leap years
                raise DateError("date.no_such_day", params) from None
            continue
        if candidate >= today:
            return candidate
    raise DateError("date.no_such_day", params)


def _check(d: date, today: date, params: dict[str, str]) -> date:
    if d < today:
        raise DateError("date.past", {**params, "date": d.isoformat()})
    if d > _add_years(today, HORIZON_YEARS):
        raise DateError(
            "date.too_far", {**params, "date": d.isoformat(), "years": str(HORIZON_YEARS)}
        )
    return d


_RELATIVE = {
    "今天": 0,
    "今日": 0,
    "today": 0,
    "明天": 1,
    "明日": 1,
    "tomorrow": 1,
    "后天": 2,
    "后日": 2,
    "day after tomorrow": 2,
    "the day after tomorrow": 2,
    "大后天": 3,
}
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_SLASH_YEAR = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
_SLASH = re.compile(r"(\d{1,2})[/.-](\d{1,2})")
_CN_FULL = re.compile(rf"(?:(\d{{4}})年|(今年|明年))?{_NUM}月{_NUM}(?:日|号)?")
_CN_NEXT_MONTH = re.compile(rf"下个?月(?:的)?{_NUM}(?:日|号)")
_CN_THIS_MONTH = re.compile(rf"(?:本月|这个?月)(?:的)?{_NUM}(?:日|号)")
_CN_DAY = re.compile(rf"{_NUM}(?:日|号)")
_CN_WEEKDAY = re.compile(r"(下下个?|下个?|这个?|本)?(?:周|星期|礼拜)([一二三四五六日天1-7])")
_EN_WEEKDAY = re.compile(rf"(?:on )?(?:(next|this|coming|this coming) )?({_WD_EN})\.?")
_EN_MONTH_DAY = re.compile(
    rf"(?:on |by )?({_MON_EN})\.? (?:the )?(\d{{1,2}}){_ORD}(?:,? (\d{{4}}))?"
)
_EN_DAY_MONTH = re.compile(
    rf"(?:on |by )?(?:the )?(\d{{1,2}}){_ORD} (?:of )?({_MON_EN})\.?(?:,? (\d{{4}}))?"
)
_EN_DAY = re.compile(rf"(?:on |by )?(?:the )?(\d{{1,2}}){_ORD}(?: of (?:the|this) month)?")


def parse_date(text: str, today: date) -> date:
    """Read one exact date; raise :class:`DateError` otherwise.

    Accepted (full-width digits and 繁體 alike): ``2026-12-25``, ``2026/12/25``,
    ``2026年12月25日``, ``明年3月5日``, ``12月25日`` / ``12月25号`` / ``十二月二十五日``,
    ``25/12/2026`` and ``12/25/2026`` and ``12/25`` where the order is clear, ``25号`` /
    ``25日`` / ``the 25th``,
    ``下个月10号``, ``本月28号``, ``今天`` ``明天`` ``后天`` ``大后天`` ``today`` ``tomorrow``,
    ``周五`` / ``星期五`` / ``礼拜五`` / ``週五`` / ``Friday`` / ``this Friday``, ``下周三`` /
    ``next Wednesday``, ``这周五`` / ``本周五``, ``Dec 25`` / ``25 Dec`` / ``December 25th, 2027``.

    Edge cases:

    - Vague words are looked for first (:data:`VAGUE_PHRASES`): ``12月底`` is ``date.vague``,
      not a parse error, so the collector learns why.
    - A weekday or a day of the month alone is the next one **after** today: ``周三`` said on a
      Wednesday is next week's, ``25号`` said on the 25th is next month's. ``今天`` is today.
    - ``下周三`` is the Wednesday of next week (Monday–Sunday weeks): said on a Monday it is
      nine days ahead, said on a Sunday three. ``next Wednesday`` reads the same way; the
      summary shows the date with its weekday, so a different meaning is caught there.
      ``这周三`` is this week's, and ``date.past`` once it has gone by.
    - A day of the month a month does not have is skipped to the next month that has it
      (``31号`` on 5 Nov → 31 Dec); ``本月31号`` in November is ``date.no_such_day``.
    - A date without a year is this year's if still ahead (today included), else next year's:
      ``1/15`` typed on 1 Dec 2026 is 15 Jan 2027. With a year, a date before today is
      ``date.past``.
    - ``a/b`` with both parts ≤ 12 and different is ``date.ambiguous`` (``03/04``); ``04/04``
      is fine. ``2026-02-30`` and ``2月30日`` are ``date.no_such_day``.
    - Beyond :data:`HORIZON_YEARS` is ``date.too_far``.
    """
    params = {"text": text}
    vague = find_vague(text)
    if vague is not None:
        raise DateError("date.vague", {**params, "phrase": vague[0], "kind": vague[1]})
    s = _norm(text)
    if not s:
        raise DateError("date.unparseable", params)
    return _check(_read_date(s, today, params), today, params)


def _read_date(s: str, today: date, params: dict[str, str]) -> date:
    if s in _RELATIVE:
        return today + timedelta(days=_RELATIVE[s])
    if m := _ISO.fullmatch(s):
        return _make(int(m[1]), int(m[2]), int(m[3]), params)
    if m := _SLASH_YEAR.fullmatch(s):
        month, day = _order(int(m[1]), int(m[2]), int(m[3]), params)
        return _make(int(m[3]), month, day, params)
    if m := _SLASH.fullmatch(s):
        month, day = _order(int(m[1]), int(m[2]), today.year, params)
        return _yearless(month, day, today, params)
    try:
        if m := _CN_FULL.fullmatch(s):
            month, day = _number(m[3]), _number(m[4])
            if m[1] or m[2]:
                year = int(m[1]) if m[1] else today.year + (m[2] == "明年")
                return _make(year, month, day, params)
            return _yearless(month, day, today, params)
        if m := _CN_NEXT_MONTH.fullmatch(s):
            year, month = shift_month(today.year, today.month, 1)
            return _make(year, month, _number(m[1]), params)
        if m := _CN_THIS_MONTH.fullmatch(s):
            return _make(today.year, today.month, _number(m[1]), params)
        if m := _CN_DAY.fullmatch(s):
            return _day_of_month(_number(m[1]), today, params)
    except DateError:
        raise
    except (ValueError, KeyError):  # a Chinese numeral _number cannot read ("十十")
        raise DateError("date.unparseable", params) from None
    if m := _CN_WEEKDAY.fullmatch(s):
        return _weekday(m[1] or "", _WEEKDAY_CN[m[2]], today)
    if m := _EN_WEEKDAY.fullmatch(s):
        prefix = {"next": "下", "this": "", "coming": "", "this coming": ""}.get(m[1] or "", "")
        return _weekday(prefix, _WEEKDAY_EN[m[2]], today)
    if m := _EN_MONTH_DAY.fullmatch(s):
        return _en_date(_MONTH_EN[m[1]], int(m[2]), m[3], today, params)
    if m := _EN_DAY_MONTH.fullmatch(s):
        return _en_date(_MONTH_EN[m[2]], int(m[1]), m[3], today, params)
    if m := _EN_DAY.fullmatch(s):
        if not re.search(r"st|nd|rd|th|the|on|by", s):  # a bare "25" is not a date
            raise DateError("date.unparseable", params)
        return _day_of_month(int(m[1]), today, params)
    raise DateError("date.unparseable", params)


def _order(a: int, b: int, year: int, params: dict[str, str]) -> tuple[int, int]:
    """(month, day) of ``a/b``: the part above 12 is the day; both ≤ 12 and different is
    ambiguous (month/day in American use, day/month in British)."""
    if a > 12 >= b:
        return b, a
    if b > 12 >= a or a == b:
        return a, b
    if a > 12 and b > 12:
        raise DateError("date.no_such_day", params)
    first, second = (date(year, a, b), date(year, b, a))
    raise DateError(
        "date.ambiguous", {**params, "first": first.isoformat(), "second": second.isoformat()}
    )


def _day_of_month(day: int, today: date, params: dict[str, str]) -> date:
    if not 1 <= day <= 31:
        raise DateError("date.no_such_day", params)
    return _next_day_of_month(today, day)


def _weekday(prefix: str, weekday: int, today: date) -> date:
    monday = today - timedelta(days=today.weekday())
    if prefix.startswith("下下"):
        return monday + timedelta(days=14 + weekday)
    if prefix.startswith("下"):
        return monday + timedelta(days=7 + weekday)
    if prefix.startswith(("这", "本")):
        return monday + timedelta(days=weekday)  # may be past: _check says so
    return _next_weekday(today, weekday)


def _en_date(month: int, day: int, year: str | None, today: date, params: dict[str, str]) -> date:
    if year:
        return _make(int(year), month, day, params)
    return _yearless(month, day, today, params)


def parse_dates(text: str, today: date) -> list[date]:
    """A list of exact dates (``12月25日、1月10日``, ``Dec 25, Jan 10``; separated by ``、 ， , ;
    ；`` or a new line), each read by :func:`parse_date`, sorted, duplicates dropped. The first
    refusal raises, with ``params["text"]`` the piece it refused. ``Dec 25, 2027`` keeps its
    year: a comma followed by four digits is not a separator.
    """
    # "Dec 25, 2027" keeps its year; "2027-03-28, 2027-10-31" is two dates.
    pieces = [
        p for p in re.split(r"[、，;；\n]|,(?!\s*\d{4}\b(?![-/.年]))", _fold(text)) if p.strip()
    ]
    if not pieces:
        raise DateError("date.unparseable", {"text": text})
    return sorted({parse_date(p.strip(), today) for p in pieces})


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------

_UNTIL = re.compile(
    r"(?:直到|截至|截止到?|到|至|\buntil\b|\btill\b|\bthrough\b|\bthru\b|\bto\b)(.+)$"
)
_COUNT = (
    re.compile(rf"[×x*]\s*{_NUM}\s*(?:期|次|times|instalments?|installments?|payments?)?"),
    re.compile(rf"共\s*{_NUM}\s*(?:期|次|个月|个?星期|周)?"),
    re.compile(rf"{_NUM}\s*(?:期|次|个月|个星期)"),
    re.compile(r"\bfor\s+(\d{1,3})\s*(?:months?|weeks?|times|instalments?|installments?)\b"),
    re.compile(r"(\d{1,3})\s*(?:times|instalments?|installments?|payments?|months|weeks)\b"),
)
_WEEKLY_CN = re.compile(r"每(?:一)?个?(?:周|星期|礼拜)([一二三四五六日天1-7])")
_WEEKLY_EN = (
    re.compile(rf"(?:every|each) ({_WD_EN})"),
    re.compile(rf"(?:on )?({_WD_EN})s"),
    re.compile(rf"(?:weekly|every week) on ({_WD_EN})s?"),
    re.compile(rf"({_WD_EN})s? (?:weekly|every week)"),
)
_MONTHLY_CN = re.compile(rf"每(?:一)?个?月(?:的)?{_NUM}(?:日|号)?")
_MONTHLY_EN = (
    re.compile(rf"(?:on )?(?:the )?(\d{{1,2}}){_ORD} (?:day )?(?:of )?(?:each|every|the) month"),
    re.compile(rf"(?:on )?(?:the )?(\d{{1,2}}){_ORD} (?:monthly|every month|each month)"),
    re.compile(rf"monthly (?:on )?(?:the )?(\d{{1,2}}){_ORD}"),
    re.compile(rf"(?:every|each) month (?:on )?(?:the )?(\d{{1,2}}){_ORD}"),
)


def parse_schedule(text: str, today: date) -> date | Recurrence:
    """One exact date (as :func:`parse_date`) or a recurring fixed day with its length.

    Recurring: ``每周三`` / ``每个星期三`` / ``每週三`` / ``every Wednesday`` / ``Wednesdays``;
    ``每月25号`` / ``每月25日`` / ``每个月25号`` / ``the 25th of each month`` / ``25th monthly``.
    Length: a count (``×6``, ``x6``, ``*6``, ``共6期``, ``6期``, ``6次``, ``6个月``, ``共六期``,
    ``6 times``, ``6 instalments``, ``for 6 months``) or an inclusive end date (``到2027年5月25日``,
    ``至2027-05-25``, ``until 2027-05-25``, ``till May 25``), read by :func:`parse_date`.

    Edge cases:

    - Vague words first: ``每月底``, ``每个月底``, ``every month end``, ``每半年``, ``每季度末``
      are ``date.vague`` — a period end is not a fixed day.
    - A recurring day with neither count nor end date is ``schedule.no_count``; with both,
      ``schedule.count_and_until``.
    - The end date must leave at least one instalment (``schedule.until_before_first``) and be
      within :data:`HORIZON_YEARS`; more than :data:`MAX_INSTALMENTS` is ``schedule.too_many``.
    - ``每月31号`` is accepted: short months fall on their last day, flagged in :class:`Due`.
    - ``每月0号`` / ``每月32号`` are ``date.no_such_day``.
    """
    params = {"text": text}
    vague = find_vague(text)
    if vague is not None:
        raise DateError("date.vague", {**params, "phrase": vague[0], "kind": vague[1]})
    s = _norm(text)
    rest, until = s, None
    if m := _UNTIL.search(s):
        core = s[: m.start()]
        if _rule(_strip_count(core)[0]) is not None:
            until = parse_date(re.sub(r"为?止$", "", m[1]).strip(" ,，"), today)
            rest = core
    rest, count = _strip_count(rest)
    rule = _rule(rest)
    if rule is None:
        if count is not None or until is not None:
            raise DateError("date.unparseable", params)
        return parse_date(text, today)
    kind, value = rule
    if value is None:
        raise DateError("date.no_such_day", params)
    if count is None and until is None:
        raise DateError("schedule.no_count", params)
    if count is not None and until is not None:
        raise DateError("schedule.count_and_until", params)
    if count is not None and count > MAX_INSTALMENTS:
        raise DateError(
            "schedule.too_many", {**params, "count": str(count), "limit": str(MAX_INSTALMENTS)}
        )
    if count == 0:
        raise DateError("schedule.no_count", params)
    if kind == "weekly":
        recurrence = Recurrence("weekly", weekday=value, count=count, until=until)
    else:
        recurrence = Recurrence("monthly", day=value, count=count, until=until)
    dues = schedule_dates(recurrence, today)
    if not dues:
        first = _first(recurrence, today)
        raise DateError(
            "schedule.until_before_first",
            {**params, "until": str(until), "first": first.isoformat()},
        )
    if len(dues) > MAX_INSTALMENTS:
        raise DateError(
            "schedule.too_many", {**params, "count": str(len(dues)), "limit": str(MAX_INSTALMENTS)}
        )
    _check(dues[-1].date, today, params)
    return recurrence


def parse_count(text: str | int) -> int | None:
    """A number of instalments on its own: ``6``, ``六``, ``6期``, ``共6期``, ``×6``, ``6次``,
    ``6 instalments`` (a tapped count arrives as an int). None when ``text`` is anything else
    (a whole new plan, say) or a count below 1."""
    if isinstance(text, int):
        return text if text >= 1 else None
    s = _norm(text).strip()
    count: int | None
    if re.fullmatch(_NUM, s):
        try:
            count = _number(s)
        except (ValueError, KeyError):
            return None
    else:
        rest, count = _strip_count(s)
        if rest.strip():
            return None
    return count if count is not None and count >= 1 else None


def _strip_count(s: str) -> tuple[str, int | None]:
    for pattern in _COUNT:
        if m := pattern.search(s):
            try:
                count = _number(m[1])
            except (ValueError, KeyError):
                continue
            return (s[: m.start()] + " " + s[m.end() :]), count
    return s, None


def _rule(s: str) -> tuple[Literal["weekly", "monthly"], int | None] | None:
    """The recurring core of a schedule: ("weekly", weekday) or ("monthly", day); the value is
    ``None`` for a day that no month has (0, 32)."""
    s = re.sub(r"[\s,，、;；()（）:：]+", " ", s).strip()
    s = re.sub(r"^(?:from now on |starting now )", "", s)
    if m := _WEEKLY_CN.fullmatch(s.replace(" ", "")):
        return "weekly", _WEEKDAY_CN[m[1]]
    for pattern in _WEEKLY_EN:
        if m := pattern.fullmatch(s):
            return "weekly", _WEEKDAY_EN[m[1]]
    day: str | None = None
    if m := _MONTHLY_CN.fullmatch(s.replace(" ", "")):
        day = m[1]
    else:
        for pattern in _MONTHLY_EN:
            if m := pattern.fullmatch(s):
                day = m[1]
                break
    if day is None:
        return None
    try:
        value = _number(day)
    except (ValueError, KeyError):
        return None
    return "monthly", value if 1 <= value <= 31 else None


def _first(rule: Recurrence, today: date) -> date:
    if rule.kind == "weekly":
        assert rule.weekday is not None
        return _next_weekday(today, rule.weekday)
    assert rule.day is not None
    year, month = today.year, today.month
    if min(rule.day, _last_day(year, month)) <= today.day:
        year, month = shift_month(year, month, 1)
    return date(year, month, min(rule.day, _last_day(year, month)))


def schedule_dates(rule: Recurrence, today: date) -> list[Due]:
    """The due dates of ``rule`` for a plan made on ``today``, first to last.

    - The first instalment is strictly after today: ``every Wednesday`` made on a Wednesday
      starts a week later; ``每月25号`` made on the 25th starts next month (today's money is
      the plan's first step, recorded on its own).
    - Monthly on day 29–31: a month without that day has its instalment on its last day
      (``31st monthly`` → 31 Jan, 28 Feb, 31 Mar; 29 Feb in a leap year), with
      ``short_month=True``; the next month goes back to the rule's day. Made on 30 April with
      day 31, April's "31st" is 30 April = today, so the first is 31 May.
    - With ``until``, every date on or before it (an empty list when the first is after it);
      the list stops at :data:`MAX_INSTALMENTS` + 1 so that a runaway rule is seen as too many.
    """
    out: list[Due] = []
    current = _first(rule, today)
    limit = rule.count if rule.count is not None else MAX_INSTALMENTS + 1
    year, month = current.year, current.month
    while len(out) < limit:
        if rule.until is not None and current > rule.until:
            break
        short = rule.kind == "monthly" and current.day != rule.day
        out.append(Due(current, short_month=short))
        if rule.kind == "weekly":
            current += timedelta(days=7)
        else:
            assert rule.day is not None
            year, month = shift_month(year, month, 1)
            current = date(year, month, min(rule.day, _last_day(year, month)))
    return out


# ---------------------------------------------------------------------------------------------
# Working days
# ---------------------------------------------------------------------------------------------

#: Statutory holidays on fixed Gregorian dates (《全国年节及纪念日放假办法》, as revised in
#: force from 2025): checked for years the package does not cover yet. The lunar holidays
#: (春节, 清明, 端午, 中秋) and the State Council's 调休 for a year are only known once the
#: package has that year's data.
_FIXED_HOLIDAYS = {
    (1, 1): "New Year's Day",
    (5, 1): "Labour Day",
    (5, 2): "Labour Day",
    (10, 1): "National Day",
    (10, 2): "National Day",
    (10, 3): "National Day",
}


_YEARS: list[int] = sorted({int(d.year) for d in chinese_calendar.holidays})


def calendar_years() -> tuple[int, int]:
    """First and last year the installed ``chinese-calendar`` package has holiday data for
    (2004–2026 with chinese-calendar 1.11; a newer release adds the next year once the State
    Council publishes it, usually in November)."""
    return _YEARS[0], _YEARS[-1]


def _day_status(d: date) -> tuple[bool, str | None, bool]:
    """(working, holiday name, known) for mainland China."""
    first, last = calendar_years()
    if first <= d.year <= last:
        working = bool(chinese_calendar.is_workday(d))
        name = None
        if not working:
            on_holiday, detail = chinese_calendar.get_holiday_detail(d)
            name = str(detail) if on_holiday and detail else None
        return working, name, True
    name = _FIXED_HOLIDAYS.get((d.month, d.day))
    return d.weekday() < 5 and name is None, name, False


def working_day(d: date, *, region: str = "CN") -> WorkdayCheck:
    """Is ``d`` a working day in ``region``, and if not why and which is the next one.

    Mainland China (``CN``) from the ``chinese-calendar`` package, 调休 included: a Sunday that
    the State Council made a working day (e.g. Sunday 20 Sep 2026, before National Day) is a
    working day; a holiday on a weekend reports ``"holiday"``. For a year the package has no
    data for (``known=False``) only weekends and the fixed-date holidays (1 Jan, 1–2 May, 1–3
    Oct) are checked; the next working day offered is computed the same way. Any other region
    raises ``ValueError`` naming the supported ones.
    """
    if region not in SUPPORTED_REGIONS:
        raise ValueError(f"region {region!r} is not supported; supported: {SUPPORTED_REGIONS}")
    working, name, known = _day_status(d)
    if working:
        return WorkdayCheck(True, None, None, known=known)
    following = d + timedelta(days=1)
    while not _day_status(following)[0]:
        following += timedelta(days=1)
    reason: Literal["weekend", "holiday"] = "holiday" if name else "weekend"
    return WorkdayCheck(False, reason, following, known=known, holiday=name)


def month_grid(year: int, month: int, today: date) -> list[list[GridDay | None]]:
    """The month as weeks Monday..Sunday for an inline calendar: ``None`` for the blanks before
    the 1st and after the last day; each day knows whether it is past, today, a working day
    (mainland China, 调休 included; weekends only for years without data)."""
    weeks: list[list[GridDay | None]] = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append(
            [
                GridDay(d, d < today, d == today, _day_status(d)[0]) if d.month == month else None
                for d in week
            ]
        )
    return weeks


_PAST_RELATIVE = {
    "今天": 0,
    "今日": 0,
    "today": 0,
    "昨天": 1,
    "昨日": 1,
    "yesterday": 1,
    "前天": 2,
    "前日": 2,
}
_HAS_YEAR = re.compile(r"\d{4}|今年|明年")


def parse_past_date(text: str, today: date) -> date:
    """Read one exact day that has already come (today included): the ends of a period to look
    back on (an export), where :func:`parse_date` reads promises ahead.

    The same forms as :func:`parse_date`, plus ``昨天`` / ``前天`` / ``yesterday``; a form
    without a year is the latest such day up to today: ``11月15日`` typed on 1 Dec 2026 is
    15 Nov 2026 and ``12月25日`` is 25 Dec 2025; ``25号`` is the latest 25th (skipping months
    without that day); ``周五`` the latest Friday (today if it is one). A day after today that
    was named exactly (``2027-01-05``, ``明天``, ``下周三``, ``本月28号`` on the 1st) is
    ``date.future`` with ``date``; vague words are ``date.vague`` as for promises.
    """
    params = {"text": text}
    vague = find_vague(text)
    if vague is not None:
        raise DateError("date.vague", {**params, "phrase": vague[0], "kind": vague[1]})
    s = _norm(text)
    if not s:
        raise DateError("date.unparseable", params)
    if s in _PAST_RELATIVE:
        return today - timedelta(days=_PAST_RELATIVE[s])
    d = _read_date(s, today, params)
    if d <= today:
        return d
    future = DateError("date.future", {**params, "date": d.isoformat()})
    weekday = _CN_WEEKDAY.fullmatch(s) or _EN_WEEKDAY.fullmatch(s)
    if _HAS_YEAR.search(s) or s in _RELATIVE or _CN_NEXT_MONTH.fullmatch(s):
        raise future
    if _CN_THIS_MONTH.fullmatch(s) or (weekday and weekday[1]):
        raise future  # 本月28号, 下周三, next Friday: named exactly, and still ahead
    if weekday:
        return d - timedelta(days=7)
    if _CN_DAY.fullmatch(s) or _EN_DAY.fullmatch(s):
        year, month = today.year, today.month
        for _ in range(12):
            if d.day <= _last_day(year, month) and date(year, month, d.day) <= today:
                return date(year, month, d.day)
            year, month = shift_month(year, month, -1)
        raise DateError("date.no_such_day", params)  # pragma: no cover
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 2月29日 after this year's: the latest leap day
        year = d.year - 1
        while not calendar.isleap(year):
            year -= 1
        return date(year, 2, 29)


def parse_written_date(text: str, today: date) -> date:
    """Read one exact day as a document writes it, gone by or still ahead: the end of a
    guarantee period a contract agrees (2025-06-30 as well as 2027-06-30).

    The forms of :func:`parse_date`; a date with a year before today, refused there as
    ``date.past``, is read by :func:`parse_past_date` instead. A form without a year is the
    coming one (``6月30日`` typed on 1 Dec 2026 is 30 Jun 2027). Other refusals are
    :func:`parse_date`'s (``date.vague``, ``date.ambiguous``, ``date.unparseable``).
    """
    try:
        return parse_date(text, today)
    except DateError as exc:
        if exc.code != "date.past":
            raise
        return parse_past_date(text, today)
