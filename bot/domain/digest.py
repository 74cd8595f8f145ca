"""The supervisor's daily digest (issue 11): its figures as records, its days, and when it is due.

Everything here is pure: storage fills the records with SQL aggregates (never a Python loop
over every case), templates show them, :mod:`reminders.digest` decides with :func:`digest_due`.

The digest's days are the cooperative's LOCAL calendar days. What happened (money recorded,
promises kept / broken / unconfirmed, meetings, changes, late reminders) is counted over the
*span* since the recipient's previous digest up to now (:meth:`DigestDay.of`): a promise broken
at 09:00 is in that evening's digest, and in no other. With no previous digest the span starts
at the beginning of yesterday; it never reaches back more than ``CHART_DAYS`` days. The rates
and the chart are windows of N local days that end with yesterday (today is still running and
would make them move while the supervisor reads them). Each local day is turned into its UTC
instants here with zoneinfo, so a 23- or 25-hour day (a DST change) is exactly that long.

Definitions, so that the figures mean one thing everywhere:

- *collected*: payments with an amount above 0 recorded in the span (``recorded_at``);
  *on the spot*: those recorded at the meeting itself (/outcome, the money today of /commit),
  as opposed to paid later and answered to a reminder — goal 1 of the cooperative.
- *kept / broken / unconfirmed*: instalments that left 'open' in the span (``settled_at``).
- *meetings*: meetings recorded in the span (``meetings.at``: a meeting typed in this morning
  about last night is in this evening's digest, not lost between two).
- *late reminders*: reminders given up in the span because they came due while no process was
  polling and were too old to send when one started (reminders/due.py).
- *kept rate* over N days: kept ÷ (kept + partial + broken + unconfirmed) among the instalments
  settled in the window; None when nothing was settled (shown as "—", not 0 %).
- *promises due*: instalments still open (or partly paid) due today, and due from today to six
  days on (the next seven days).
- *stalled* (策略2): an open case with three or more meetings since its last commitment became
  agreed (all its meetings if none ever did) and none of them agreed.
- *untouched*: an open case whose last contact (else its import) is ``untouched_days`` or more
  days old.
- *urgent without prep* (策略11): an open case more than 90 days past due, or with assets moving,
  the borrower unreachable or other creditors pressing, that has no prep at all.
- *legal clocks* (issue 19, :mod:`bot.domain.legal`): of the open cases, every clock whose last
  day is from today to ``LEGAL_SOON`` days on (the limitation of a case — a mortgage's deadline
  is the same day, 第419条 —, the guarantee period of a guarantor not yet claimed against, a
  claimed guarantor's own limitation), those within ``LEGAL_URGENT`` days counted apart, and
  those whose last day was one of the ``LEGAL_LAPSED_DAYS`` days before today (lost this week).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from bot.domain.legal import (
    AlertAction,
    ClaimState,
    GuaranteeKind,
    LegalAlert,
    LegalClocks,
    legal_alerts,
)

T = TypeVar("T")

#: Meetings without agreement from which a case is stalled (策略2).
STALLED_MEETINGS = 3
#: Days past due from which a case is urgent whatever else it shows (the 90-day band).
URGENT_DPD = 90
#: Deterioration flags that make a case urgent (they cannot wait: see bot.domain.queue).
URGENT_FLAGS = ("assets_moving", "unreachable", "other_creditors")
#: Items of each list shown in the digest itself; the drill-down buttons show more.
LIST_LIMIT = 5
#: Items a drill-down list shows (each with a button to its card).
DRILL_LIMIT = 20
#: Days of the chart.
CHART_DAYS = 30
#: A legal clock ending within this many days is on the digest's legal list ...
LEGAL_SOON = 90
#: ... and within this many, counted apart as urgent.
LEGAL_URGENT = 30
#: A clock whose last day was one of this many days before today "lapsed this week".
LEGAL_LAPSED_DAYS = 7


class DrillDown(StrEnum):
    """The digest's drill-down lists (callback data values: short ASCII words)."""

    BROKEN = "broken"
    STALLED = "stalled"
    UNTOUCHED = "untouch"
    UNPREPARED = "unprep"
    COLLECTOR = "coll"
    LEGAL_URGENT = "lg30"  # legal clocks ending within LEGAL_URGENT days
    LEGAL_SOON = "lg90"  # ... within LEGAL_SOON days
    LEGAL_LAPSED = "lglost"  # ... ended in the last LEGAL_LAPSED_DAYS days


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant the local ``day`` starts (zoneinfo: a 23- or 25-hour day is exactly
    that long between two midnights)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DigestDay:
    """The local days a digest speaks of, with their UTC bounds, and the span it counts
    (``since`` up to ``until``, UTC; None: the start of yesterday, the start of today)."""

    today: date
    tz: ZoneInfo
    since: datetime | None = None
    until: datetime | None = None

    @property
    def span_start(self) -> datetime:
        """The first instant the digest counts (UTC)."""
        return self.since if self.since is not None else self.start(self.yesterday)

    @property
    def span_end(self) -> datetime:
        """The instant after the last one the digest counts (UTC)."""
        return self.until if self.until is not None else self.start(self.today)

    @property
    def span_start_local(self) -> datetime:
        """:attr:`span_start` on the cooperative's wall clock (the headings say it)."""
        return self.span_start.astimezone(self.tz)

    @property
    def yesterday(self) -> date:
        return self.today - timedelta(days=1)

    @property
    def week_end(self) -> date:
        """The last day of "the next seven days" (today included)."""
        return self.today + timedelta(days=6)

    def start(self, day: date) -> datetime:
        return local_midnight(day, self.tz)

    def days_back(self, n: int) -> date:
        """The first day of the window of ``n`` days that ends yesterday."""
        return self.today - timedelta(days=n)

    def rate_start(self, n: int) -> date:
        """The first day of a kept rate's ``n`` days, which end with the digest's span (today
        so far): the evening's rate holds the promise broken this morning, as the evening's
        counts do (issue 16: "违约2" beside "守约率 7天100%")."""
        return self.today - timedelta(days=n - 1)

    @classmethod
    def of(cls, now: datetime, tz: ZoneInfo, *, since: datetime | None = None) -> DigestDay:
        """The digest made at ``now`` for someone whose previous digest was made at ``since``.

        The span is ``since`` up to ``now``; with no previous digest (None), from the start of
        yesterday (the first digest shows yesterday and today so far). A previous digest more
        than ``CHART_DAYS`` days ago (a long leave) is cut to that many days: the 30-day
        figures are the longest the storage reads. A ``since`` after ``now`` (a clock moved
        back) gives an empty span at ``now``.
        """
        today = now.astimezone(tz).date()
        floor = local_midnight(today - timedelta(days=CHART_DAYS), tz)
        start = local_midnight(today - timedelta(days=1), tz) if since is None else since
        return cls(today, tz, min(max(start, floor), now), now)


@dataclass(frozen=True, slots=True)
class Rate:
    """Promises kept among those settled in a window."""

    kept: int
    settled: int

    @property
    def percent(self) -> int | None:
        """Rounded half up; None when nothing was settled."""
        if self.settled <= 0:
            return None
        return (200 * self.kept + self.settled) // (2 * self.settled)


@dataclass(frozen=True, slots=True)
class CaseItem:
    """A case in a list: ``detail`` is the list's number (meetings, days untouched, days past
    due)."""

    case_id: int
    contract_no: str
    borrower_name: str
    lead_name: str | None
    detail: int = 0


@dataclass(frozen=True, slots=True)
class BrokenItem:
    """A promise broken in the span, with the collector's reason (instalments.miss_reason)."""

    case_id: int
    contract_no: str
    borrower_name: str
    lead_name: str | None
    amount: int
    due_on: date
    reason: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class ApprovalItem:
    """A request waiting for the supervisor's answer."""

    id: int
    case_id: int
    contract_no: str
    borrower_name: str
    requested_by_name: str
    requested_at: datetime
    #: Why it needs the supervisor (ApprovalReason codes) and what was asked (the request's
    #: proposal: a detail line, or money today and the instalments), so the digest can say it.
    reasons: tuple[str, ...] = ()
    proposal: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChangeItem:
    """A change of lead collector or of approach (策略12) made in the span."""

    case_id: int
    contract_no: str
    borrower_name: str
    kind: str  # 'lead' | 'approach'
    before: str | None
    after: str | None
    reason: str | None  # a lead change's LeadReason code
    note: str | None  # the words given (an approach's reason, a lead change's "other")


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A team member the bot cannot reach: a blocked chat, or reminders given up (dead)."""

    user_id: int
    name: str
    blocked: bool
    dead_reminders: int


@dataclass(frozen=True, slots=True)
class CollectorLine:
    """One collector: collected in the span, kept rate over 30 days, meetings recorded in the
    span, open cases now."""

    user_id: int
    name: str
    collected: int
    rate: Rate
    meetings: int
    open_cases: int


@dataclass(frozen=True, slots=True)
class DayPoint:
    """One day of the chart: money received, and the instalments that fell due that day."""

    day: date
    collected: int
    promised: int


@dataclass(frozen=True, slots=True)
class Counted(Generic[T]):
    """The first items of a list and how many there are in all."""

    items: Sequence[T]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.items))


class LegalClockKind(StrEnum):
    """Which clock a legal list's line is about."""

    LIMITATION = "limitation"  # 诉讼时效 of the case (and its mortgage's deadline, 第419条)
    GUARANTEE = "guarantee"  # 保证期间 of one guarantor
    GUARANTOR_LIMITATION = "guarantor_limitation"  # a claimed guarantor's own 诉讼时效 (第694条)


_CLOCK_OF_ACTION = {
    AlertAction.RESTART_LIMITATION: LegalClockKind.LIMITATION,
    AlertAction.CLAIM_GUARANTOR: LegalClockKind.GUARANTEE,
    AlertAction.SUE_DEBTOR: LegalClockKind.GUARANTEE,
    AlertAction.FIND_KIND: LegalClockKind.GUARANTEE,
    AlertAction.RESTART_GUARANTOR: LegalClockKind.GUARANTOR_LIMITATION,
}


@dataclass(frozen=True, slots=True)
class LegalItem:
    """A legal clock on the digest's list: the case, the clock (``party_name`` the guarantor's
    for a guarantor's clock), its last day, the days left (negative once lapsed) and what the
    collector does before it (:class:`AlertAction`; for a lapsed clock, what was not done)."""

    case_id: int
    contract_no: str
    borrower_name: str
    lead_name: str | None
    clock: LegalClockKind
    deadline: date
    days_left: int
    action: AlertAction
    party_name: str | None = None
    kind: GuaranteeKind | None = None
    mortgage: bool = False  # the case has a mortgage: its deadline is the limitation's


@dataclass(frozen=True, slots=True)
class LegalLists:
    """The digest's legal list: clocks ending within ``LEGAL_SOON`` days (nearest first; the
    first of them are those within ``LEGAL_URGENT``), and those that lapsed this week."""

    soon: Counted[LegalItem]
    urgent: int
    lapsed: Counted[LegalItem]

    @property
    def empty(self) -> bool:
        return not self.soon.total and not self.lapsed.total


NO_LEGAL = LegalLists(Counted((), 0), 0, Counted((), 0))


@dataclass(frozen=True, slots=True)
class LegalCase:
    """What a legal list shows of a case beside its clocks."""

    case_id: int
    contract_no: str
    borrower_name: str
    lead_name: str | None


def lapsed_clocks(clocks: Iterable[LegalClocks], today: date, days: int) -> list[LegalAlert]:
    """The clocks whose last day was one of the ``days`` days before ``today`` and that ended
    unstopped: a limitation now out of time (the debtor may refuse to pay, 第192条), a guarantee
    period ended without the claim or suit it needed (the guarantor is free, 第693条), a claimed
    guarantor's own limitation out of time. Each with the action that was not taken; nearest
    (latest) last day first. A guarantor claimed in time is not here: the period did its work."""
    out: list[LegalAlert] = []
    first = today - timedelta(days=days)

    def lost(deadline: date | None) -> bool:
        return deadline is not None and first <= deadline < today

    for case in clocks:
        lim = case.limitation
        if lost(lim.deadline):
            assert lim.deadline is not None
            out.append(
                LegalAlert(
                    case.case_id,
                    lim.deadline,
                    (lim.deadline - today).days,
                    AlertAction.RESTART_LIMITATION,
                )
            )
        for g in case.guarantors:
            if g.state is ClaimState.LAPSED and lost(g.period_end):
                assert g.period_end is not None
                action = {
                    GuaranteeKind.JOINT: AlertAction.CLAIM_GUARANTOR,
                    GuaranteeKind.GENERAL: AlertAction.SUE_DEBTOR,
                    None: AlertAction.FIND_KIND,
                }[g.kind]
                out.append(
                    LegalAlert(
                        case.case_id,
                        g.period_end,
                        (g.period_end - today).days,
                        action,
                        g.party_id,
                        g.name,
                        g.kind,
                    )
                )
            own = g.own_limitation
            if g.state is ClaimState.CLAIMED and own is not None and lost(own.deadline):
                assert own.deadline is not None
                out.append(
                    LegalAlert(
                        case.case_id,
                        own.deadline,
                        (own.deadline - today).days,
                        AlertAction.RESTART_GUARANTOR,
                        g.party_id,
                        g.name,
                        g.kind,
                    )
                )
    out.sort(key=lambda a: (-a.days_left, a.party_name is not None, a.party_name or "", a.case_id))
    return out


def legal_lists(
    clocks: Iterable[LegalClocks],
    cases: Mapping[int, LegalCase],
    today: date,
) -> tuple[list[LegalItem], int, list[LegalItem]]:
    """The digest's legal lines of ``clocks`` as of ``today``: every clock ending within
    ``LEGAL_SOON`` days, nearest first (so those within ``LEGAL_URGENT`` days come first), how
    many of them end within ``LEGAL_URGENT``, and the clocks that lapsed in the
    ``LEGAL_LAPSED_DAYS`` days before today, latest first. A case with a mortgage says so on
    its limitation's line: the mortgage must be enforced by the same day (第419条)."""
    clocks = list(clocks)
    mortgaged = {c.case_id for c in clocks if c.mortgages}

    def item(a: LegalAlert) -> LegalItem:
        c = cases[a.case_id]
        clock = _CLOCK_OF_ACTION[a.action]
        return LegalItem(
            case_id=a.case_id,
            contract_no=c.contract_no,
            borrower_name=c.borrower_name,
            lead_name=c.lead_name,
            clock=clock,
            deadline=a.deadline,
            days_left=a.days_left,
            action=a.action,
            party_name=a.party_name,
            kind=a.kind,
            mortgage=clock is LegalClockKind.LIMITATION and a.case_id in mortgaged,
        )

    soon = legal_alerts(clocks, today, LEGAL_SOON)
    urgent = sum(1 for a in soon if a.days_left <= LEGAL_URGENT)
    lapsed = lapsed_clocks(clocks, today, LEGAL_LAPSED_DAYS)
    return [item(a) for a in soon], urgent, [item(a) for a in lapsed]


@dataclass(frozen=True, slots=True)
class TeamDigest:
    """A team's day at a glance."""

    team_id: int
    team_name: str
    day: DigestDay
    collected: int
    payments: int
    on_spot: int
    due_today: int
    due_today_amount: int
    due_week: int
    due_week_amount: int
    kept: int
    broken: int
    unconfirmed: int
    rate7: Rate
    rate30: Rate
    broken_list: Counted[BrokenItem]
    approvals: Counted[ApprovalItem]
    stalled: Counted[CaseItem]
    untouched: Counted[CaseItem]
    unprepared: Counted[CaseItem]
    changes: Counted[ChangeItem]
    unreachable: Sequence[Unreachable]
    collectors: Sequence[CollectorLine]
    series: Sequence[DayPoint] = field(default_factory=tuple)
    untouched_days: int = 14
    #: Reminders that came due while no process polled and were too old to send when one
    #: started (reminders/due.py), given up in the span: left to this digest.
    late_reminders: int = 0
    #: The legal clocks near their end or lapsed this week (issue 19).
    legal: LegalLists = NO_LEGAL

    @property
    def on_spot_percent(self) -> int | None:
        """The share of the span's money collected on the spot, rounded half up."""
        if self.collected <= 0:
            return None
        return (200 * self.on_spot + self.collected) // (2 * self.collected)


@dataclass(frozen=True, slots=True)
class TeamLine:
    """One team in the cooperative-wide digest."""

    team_id: int
    name: str
    collected: int
    rate30: Rate
    broken: int
    approvals: int
    untouched: int
    open_cases: int


@dataclass(frozen=True, slots=True)
class CooperativeDigest:
    """All teams, one line each (admins)."""

    day: DigestDay
    teams: Sequence[TeamLine]

    @property
    def collected(self) -> int:
        return sum(t.collected for t in self.teams)

    @property
    def rate30(self) -> Rate:
        return Rate(
            sum(t.rate30.kept for t in self.teams), sum(t.rate30.settled for t in self.teams)
        )


@dataclass(frozen=True, slots=True)
class DigestRecipient:
    """Someone who gets a digest today and has not had it yet: their own time (None: the
    cooperative's) and weekend mute (/settings)."""

    user_id: int
    role: str
    team_id: int | None
    locale: str | None
    digest_time: time | None
    mute_weekends: bool


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """A person's own digest settings."""

    digest_time: time | None = None
    mute_weekends: bool = False


@dataclass(frozen=True, slots=True)
class DigestMessage:
    """One outbox row of a digest: a text part (``template`` rendered at send time) or the
    chart (``media='photo'``, the template its caption); ``markup`` with final labels."""

    template: str
    params: dict[str, Any]
    markup: dict[str, Any] | None = None
    media: str = "text"
    attachment: bytes | None = None
    filename: str | None = None


def digest_due(
    now: datetime, tz: ZoneInfo, at: time, *, mute_weekends: bool = False
) -> date | None:
    """The local date whose digest is due at ``now`` for someone whose time is ``at``, or None.

    Due from ``at`` (local wall time) until the end of that local day, so a bot that was down
    at digest time sends it at start-up the same day, and never the next day. On a DST change
    day the wall clock decides: 02:30 on a spring-forward day (a time that does not exist) is
    due from 03:00; on a fall-back day 02:30 comes twice, and the run row (one per local date)
    keeps it to one. Saturdays and Sundays give None with ``mute_weekends``.
    """
    local = now.astimezone(tz)
    if mute_weekends and local.weekday() >= 5:
        return None
    if local.time().replace(tzinfo=None) < at:
        return None
    return local.date()


_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
#: Words for a part of the day before a clock time, and whether it is after noon.
_DAY_PARTS = {
    "凌晨": False,
    "早上": False,
    "早晨": False,
    "上午": False,
    "中午": None,
    "下午": True,
    "傍晚": True,
    "晚上": True,
    "夜里": True,
    "夜裡": True,
}
_SPOKEN_TIME = re.compile(
    r"(?P<part>" + "|".join(_DAY_PARTS) + r")?\s*"
    r"(?P<h>[0-9]{1,2}|[零〇一二两兩三四五六七八九十]{1,3})\s*"
    r"(?:[点點时時:：]\s*(?P<m>[0-9]{1,2}|[零〇一二三四五六七八九十]{1,3}|半|一刻|三刻)?\s*分?)?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?",
    re.IGNORECASE,
)


def _small_number(text: str) -> int | None:
    """``7``, ``七``, ``十九``, ``二十五``, ``两``: 0–59, or None."""
    if text.isdigit():
        return int(text)
    tens, _, ones = text.partition("十")
    if "十" not in text:
        return _CN_DIGITS.get(text) if len(text) == 1 else None
    high = 1 if tens == "" else _CN_DIGITS.get(tens)
    low = 0 if ones == "" else _CN_DIGITS.get(ones)
    if high is None or low is None:
        return None
    return high * 10 + low


def parse_digest_time(text: str) -> time | None:
    """A time of day as a supervisor types it, or None if it is not one.

    ``18:00``, ``8:30``, ``0830``, ``18点``, ``18：30``, ``18点半``; spoken forms with a part of
    the day, in figures or in words: ``晚上七点`` (19:00), ``下午6点半`` (18:30), ``早上八点一刻``
    (08:15), ``中午12点`` (12:00), ``7pm``, ``7:30 pm``. ``晚上十二点`` and ``12am`` are midnight.
    """
    cleaned = text.strip()
    if cleaned.isdigit() and len(cleaned) in (3, 4):
        cleaned = f"{cleaned[:-2]}:{cleaned[-2:]}"
    found = _SPOKEN_TIME.fullmatch(cleaned)
    if found is None:
        return None
    hour = _small_number(found["h"])
    raw_minutes = found["m"]
    if raw_minutes is None:
        minutes: int | None = 0
    elif raw_minutes == "半":
        minutes = 30
    elif raw_minutes in ("一刻", "三刻"):
        minutes = 15 if raw_minutes == "一刻" else 45
    elif raw_minutes.isdigit() and len(raw_minutes) != 2:
        return None  # "18:5" is a typo, not 18:05
    else:
        minutes = _small_number(raw_minutes)
    if hour is None or minutes is None or not 0 <= minutes <= 59:
        return None
    part = found["part"]
    afternoon: bool | None = None
    if part:
        afternoon = _DAY_PARTS[part]
        if afternoon is None:  # 中午: 12 is noon, 1 is one o'clock after it
            afternoon = hour == 12 or hour < 11
    if found["ampm"]:
        afternoon = found["ampm"].lower().startswith("p")
    if afternoon is not None and not (afternoon and 13 <= hour <= 23):  # 晚上19点 is 19:00
        if not 1 <= hour <= 12:
            return None
        night = part in ("晚上", "夜里", "夜裡")
        hour = hour % 12 + (12 if afternoon and not (night and hour == 12) else 0)
    if not 0 <= hour <= 23:
        return None
    return time(hour, minutes)
