"""The digest's figures (issue 11), each an SQL aggregate over an index: no query walks every
case in Python, so a team of 100,000 cases with a year of history is read in well under 2 s
(bench/digest_bench.py). Definitions of each figure: :mod:`bot.domain.digest`.

The run row and the digest's outbox rows are written in one transaction (:meth:`record_digest`):
the unique (user, local date) key is what makes the digest go out exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from bot.domain.digest import (
    CHART_DAYS,
    DRILL_LIMIT,
    LEGAL_URGENT,
    LIST_LIMIT,
    STALLED_MEETINGS,
    URGENT_DPD,
    URGENT_FLAGS,
    ApprovalItem,
    BrokenItem,
    CaseItem,
    ChangeItem,
    CollectorLine,
    CooperativeDigest,
    Counted,
    DayPoint,
    DigestDay,
    DigestMessage,
    DigestRecipient,
    DigestSettings,
    DrillDown,
    LegalItem,
    LegalLists,
    Rate,
    TeamDigest,
    TeamLine,
    Unreachable,
    legal_lists,
)
from bot.storage.records import NewOutboxMessage
from bot.storage.stores.base import ts
from bot.storage.stores.legal_views import SqlLegalViews

#: Case statuses still being worked (the digest's lists and counts of open cases).
_OPEN = "('open', 'negotiating', 'under_agreement')"
#: Instalment statuses that count in the kept rate's denominator.
_SETTLED = "('kept', 'partial', 'broken', 'unconfirmed')"
_NAME = "COALESCE(NULLIF({u}.staff_name, ''), {u}.name)"
_LEAD = _NAME.format(u="lu")
_URGENT = " OR ".join(
    [
        "c.overdue_since <= :dpd_since",
        *(f"(',' || c.deterioration || ',') LIKE '%,{flag},%'" for flag in URGENT_FLAGS),
    ]
)

# A case's meetings since its last agreed commitment, none of them agreed (策略2): a meeting
# after which no commitment of its case became agreed (an anti-join on two covering indexes,
# one pass over the meetings in case order), three or more per open case of the team.
_STALLED = f"""
WITH counted AS (
    SELECT m.case_id, COUNT(*) AS n FROM meetings m INDEXED BY meetings_agreement
    LEFT JOIN commitments k INDEXED BY commitments_agreed
           ON k.case_id = m.case_id AND k.agreed_at > m.at
    WHERE m.agreement = 0 AND k.id IS NULL
    GROUP BY m.case_id HAVING COUNT(*) >= {STALLED_MEETINGS}
), mine AS MATERIALIZED (
    SELECT counted.case_id, counted.n FROM counted
    JOIN cases c INDEXED BY cases_team_of ON c.id = counted.case_id
    WHERE c.team_id = :team AND c.status IN {_OPEN}
)
SELECT c.id, c.contract_no, c.borrower_name, {_LEAD}, x.n, (SELECT COUNT(*) FROM mine)
FROM (SELECT case_id, n FROM mine ORDER BY n DESC, case_id LIMIT :limit) x
JOIN cases c ON c.id = x.case_id LEFT JOIN users lu ON lu.id = c.lead_id
ORDER BY x.n DESC, c.id
"""

_CONTACT = "COALESCE(c.last_contact_at, c.created_at)"
_UNTOUCHED_WHERE = f"c.team_id = :team AND c.status IN {_OPEN} AND {_CONTACT} < :cutoff"
_UNTOUCHED = f"""
SELECT c.id, c.contract_no, c.borrower_name, {_LEAD}, {_CONTACT},
       (SELECT COUNT(*) FROM cases c INDEXED BY cases_digest WHERE {_UNTOUCHED_WHERE})
FROM (SELECT c.id FROM cases c INDEXED BY cases_digest WHERE {_UNTOUCHED_WHERE}
      ORDER BY {_CONTACT}, c.id LIMIT :limit) x
JOIN cases c ON c.id = x.id LEFT JOIN users lu ON lu.id = c.lead_id
ORDER BY {_CONTACT}, c.id
"""

_UNPREPARED_WHERE = f"""c.team_id = :team AND c.status IN {_OPEN} AND ({_URGENT})
  AND NOT EXISTS (SELECT 1 FROM preps p WHERE p.case_id = c.id)"""
_UNPREPARED = f"""
WITH u AS MATERIALIZED (
    SELECT c.id, c.overdue_since FROM cases c INDEXED BY cases_digest WHERE {_UNPREPARED_WHERE}
)
SELECT c.id, c.contract_no, c.borrower_name, {_LEAD}, c.overdue_since,
       (SELECT COUNT(*) FROM u)
FROM (SELECT id FROM u ORDER BY overdue_since, id LIMIT :limit) x
JOIN cases c ON c.id = x.id LEFT JOIN users lu ON lu.id = c.lead_id
ORDER BY c.overdue_since, c.id
"""

_BROKEN = f"""
SELECT c.id, c.contract_no, c.borrower_name, {_LEAD}, i.amount - i.paid, i.due_on,
       i.miss_reason, i.miss_note
FROM instalments i JOIN commitments k ON k.id = i.commitment_id
JOIN cases c ON c.id = k.case_id LEFT JOIN users lu ON lu.id = c.lead_id
WHERE i.settled_at >= :s0 AND i.settled_at < :s1 AND i.status = 'broken' AND c.team_id = :team
ORDER BY i.amount - i.paid DESC, i.id LIMIT :limit
"""

# Per lead collector (the collector lines), summed up for the team's figures: the span's
# counts (since the previous digest up to now) and the rates' 7 and 30 days (ending with the
# span: today so far).
_IN_SPAN = "i.settled_at >= :s0 AND i.settled_at < :s1"
_IN_DAYS = "i.settled_at < :s1"
_IN_30 = f"i.settled_at >= :d30 AND {_IN_DAYS}"
_SETTLED_COUNTS = f"""
SELECT c.lead_id, COALESCE(SUM(i.status = 'kept' AND {_IN_SPAN}), 0),
       COALESCE(SUM(i.status = 'broken' AND {_IN_SPAN}), 0),
       COALESCE(SUM(i.status = 'unconfirmed' AND {_IN_SPAN}), 0),
       COALESCE(SUM(i.status = 'kept' AND i.settled_at >= :d7 AND {_IN_DAYS}), 0),
       COALESCE(SUM(i.status IN {_SETTLED} AND i.settled_at >= :d7 AND {_IN_DAYS}), 0),
       COALESCE(SUM(i.status = 'kept' AND {_IN_30}), 0),
       COALESCE(SUM(i.status IN {_SETTLED} AND {_IN_30}), 0)
FROM instalments i JOIN commitments k ON k.id = i.commitment_id JOIN cases c ON c.id = k.case_id
WHERE i.settled_at >= :lo AND i.settled_at < :hi AND c.team_id = :team
GROUP BY c.lead_id
"""

# The payments of the chart's 30 days per day (by the day received): the chart's series.
_PAYMENTS = """
SELECT p.received_on, c.lead_id, p.source IN ('outcome', 'commit'), SUM(p.amount), COUNT(*)
FROM payments p INDEXED BY payments_received_digest
JOIN cases c INDEXED BY cases_team_of ON c.id = p.case_id
WHERE p.received_on BETWEEN :d30d AND :y AND p.amount > 0 AND c.team_id = :team
GROUP BY 1, 2, 3
"""

# The money recorded in the span per lead and "on the spot": the team's and each collector's.
_RECORDED = """
SELECT c.lead_id, p.source IN ('outcome', 'commit'), SUM(p.amount), COUNT(*)
FROM payments p INDEXED BY payments_recorded_digest
JOIN cases c INDEXED BY cases_team_of ON c.id = p.case_id
WHERE p.recorded_at >= :s0 AND p.recorded_at < :s1 AND p.amount > 0 AND c.team_id = :team
GROUP BY 1, 2
"""

# The instalments due from the chart's first day to the end of the next seven, per day and
# live or not: what was promised per day, and what is due today and this week.
_INSTALMENTS = """
SELECT i.due_on, i.status IN ('open', 'partial'), SUM(i.amount), COUNT(*), SUM(i.amount - i.paid)
FROM instalments i INDEXED BY instalments_due_digest
JOIN commitments k INDEXED BY commitments_case_of ON k.id = i.commitment_id
JOIN cases c INDEXED BY cases_team_of ON c.id = k.case_id
WHERE i.due_on BETWEEN :d30d AND :week_end AND i.status <> 'cancelled' AND c.team_id = :team
GROUP BY 1, 2
"""

_APPROVALS = f"""
SELECT a.id, a.case_id, c.contract_no, c.borrower_name, {_NAME.format(u="r")}, a.requested_at,
       COUNT(*) OVER (), a.reasons, a.proposal
FROM approvals a JOIN cases c ON c.id = a.case_id JOIN users r ON r.id = a.requested_by
WHERE a.team_id = :team AND a.status = 'pending'
ORDER BY a.requested_at, a.id LIMIT :limit
"""

_CHANGES = f"""
SELECT * FROM (
    SELECT l.at AS at, c.id, c.contract_no, c.borrower_name, 'lead',
           {_NAME.format(u="f")}, {_NAME.format(u="t")}, l.reason, l.note
    FROM case_leads l JOIN cases c ON c.id = l.case_id
    LEFT JOIN users f ON f.id = l.from_id JOIN users t ON t.id = l.to_id
    WHERE l.at >= :s0 AND l.at < :s1 AND l.from_id IS NOT NULL AND c.team_id = :team
    UNION ALL
    SELECT p.at, c.id, c.contract_no, c.borrower_name, 'approach', p.previous_approach,
           p.approach, NULL, p.approach_reason
    FROM preps p JOIN cases c ON c.id = p.case_id
    WHERE p.at >= :s0 AND p.at < :s1 AND p.previous_approach IS NOT NULL
      AND p.previous_approach <> p.approach AND c.team_id = :team
) AS changes ORDER BY at
"""

_UNREACHABLE = f"""
SELECT u.id, {_NAME.format(u="u")}, u.blocked_at IS NOT NULL,
       (SELECT COUNT(*) FROM reminders r WHERE r.status = 'dead' AND r.collector_id = u.id
        AND r.done_at >= :s0)
FROM users u
WHERE u.team_id = :team AND u.active = 1 AND (u.blocked_at IS NOT NULL OR EXISTS (
    SELECT 1 FROM reminders r WHERE r.status = 'dead' AND r.collector_id = u.id
    AND r.done_at >= :s0))
ORDER BY 2, u.id
"""

# Reminders that came due while no process was polling and were too old to send when one
# started (reminders/due.py leaves them to this digest), given up in the span.
_LATE = """
SELECT COUNT(*) FROM reminders r INDEXED BY reminders_late
JOIN instalments i ON i.id = r.instalment_id
JOIN commitments k INDEXED BY commitments_case_of ON k.id = i.commitment_id
JOIN cases c INDEXED BY cases_team_of ON c.id = k.case_id
WHERE r.status = 'late' AND r.done_at >= :s0 AND r.done_at < :s1 AND c.team_id = :team
"""

_COLLECTORS = f"""
SELECT u.id, {_NAME.format(u="u")} FROM users u
WHERE u.team_id = :team AND u.role = 'collector' AND u.active = 1
ORDER BY 2, u.id
"""

_BY_AUTHOR_MEETINGS = """
SELECT m.author_id, COUNT(*) FROM meetings m INDEXED BY meetings_recorded
JOIN cases c ON c.id = m.case_id
WHERE m.at >= :s0 AND m.at < :s1 AND c.team_id = :team GROUP BY m.author_id
"""

_BY_LEAD_OPEN = f"""
SELECT c.lead_id, COUNT(*) FROM cases c INDEXED BY cases_digest
WHERE c.team_id = :team AND c.status IN {_OPEN} GROUP BY c.lead_id
"""

_COLLECTOR_CASES = f"""
SELECT c.id, c.contract_no, c.borrower_name, {_LEAD}, c.overdue_since, COUNT(*) OVER ()
FROM cases c LEFT JOIN users lu ON lu.id = c.lead_id
WHERE c.team_id = :team AND c.lead_id = :collector AND c.status IN {_OPEN}
ORDER BY c.overdue_since, c.id LIMIT :limit
"""

# The cooperative: one line per team, each figure grouped by team in one statement.
_TEAMS = "SELECT id, name FROM teams ORDER BY name, id"
_TEAM_COLLECTED = """
SELECT c.team_id, SUM(p.amount) FROM payments p INDEXED BY payments_recorded_digest
JOIN cases c ON c.id = p.case_id
WHERE p.recorded_at >= :s0 AND p.recorded_at < :s1 AND p.amount > 0 GROUP BY c.team_id
"""
_TEAM_SETTLED = f"""
SELECT c.team_id, COALESCE(SUM(i.status = 'kept' AND {_IN_30}), 0),
       COALESCE(SUM(i.status IN {_SETTLED} AND {_IN_30}), 0),
       COALESCE(SUM(i.status = 'broken' AND {_IN_SPAN}), 0)
FROM instalments i JOIN commitments k ON k.id = i.commitment_id JOIN cases c ON c.id = k.case_id
WHERE i.settled_at >= :lo AND i.settled_at < :hi GROUP BY c.team_id
"""
_TEAM_APPROVALS = (
    "SELECT team_id, COUNT(*) FROM approvals WHERE status = 'pending' GROUP BY team_id"
)
_TEAM_CASES = f"""
SELECT c.team_id, COUNT(*), COALESCE(SUM({_CONTACT} < :cutoff), 0)
FROM cases c INDEXED BY cases_digest WHERE c.status IN {_OPEN} GROUP BY c.team_id
"""


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _series(day: DigestDay, collected: dict[str, int], promised: dict[str, int]) -> list[DayPoint]:
    """The chart's 30 days, each with its money received and its instalments due."""
    first = day.days_back(CHART_DAYS)
    days = [first + timedelta(days=i) for i in range(CHART_DAYS)]
    return [
        DayPoint(d, collected.get(d.isoformat(), 0), promised.get(d.isoformat(), 0)) for d in days
    ]


class SqlDigest(SqlLegalViews):
    """The digest's figures, its runs, and each person's digest settings."""

    async def _legal(
        self, team_id: int, day: DigestDay
    ) -> tuple[list[LegalItem], int, list[LegalItem]]:
        """The team's legal lines (issue 19): every clock within the list's window, nearest
        first, how many are urgent, and those lapsed this week (bot.domain.digest)."""
        clocks, cases = await self.near_legal_clocks("c.team_id = ?", [team_id], day.today)
        return legal_lists(clocks, cases, day.today)

    # The queries use named parameters (one dict serves them all); the driver takes a mapping.
    async def _rows(self, sql: str, params: Mapping[str, Any]) -> list[Any]:
        return await self._fetchall(sql, cast(Sequence[Any], params))

    async def _row(self, sql: str, params: Mapping[str, Any]) -> Any:
        return await self._fetchone(sql, cast(Sequence[Any], params))

    def _params(
        self, team_id: int | None, day: DigestDay, *, now: datetime, untouched_days: int
    ) -> dict[str, Any]:
        return {
            "team": team_id,
            "today": day.today.isoformat(),
            "y": day.yesterday.isoformat(),
            "week_end": day.week_end.isoformat(),
            "s0": ts(day.span_start),
            "s1": ts(day.span_end),
            "lo": ts(min(day.span_start, day.start(day.rate_start(30)))),
            "hi": ts(max(day.span_end, day.start(day.today))),
            "d7": ts(day.start(day.rate_start(7))),
            "d30": ts(day.start(day.rate_start(30))),
            "d30d": day.days_back(CHART_DAYS).isoformat(),
            "cutoff": ts(now - timedelta(days=untouched_days)),
            "dpd_since": (day.today - timedelta(days=URGENT_DPD)).isoformat(),
        }

    async def team_digest(
        self,
        team_id: int,
        day: DigestDay,
        *,
        now: datetime,
        untouched_days: int,
        limit: int = LIST_LIMIT,
    ) -> TeamDigest | None:
        """The digest of one team for ``day`` (None: no such team)."""
        team = await self._fetchone("SELECT name FROM teams WHERE id = ?", (team_id,))
        if team is None:
            return None
        p = self._params(team_id, day, now=now, untouched_days=untouched_days)
        listed = {**p, "limit": limit}
        today, week_end = p["today"], p["week_end"]
        pay = await self._rows(_PAYMENTS, p)
        recorded = await self._rows(_RECORDED, p)
        collected = sum(r[2] for r in recorded)
        payments = sum(r[3] for r in recorded)
        on_spot = sum(r[2] for r in recorded if r[1])
        by_lead: dict[int | None, int] = {}
        for r in recorded:
            by_lead[r[0]] = by_lead.get(r[0], 0) + r[2]
        by_day: dict[str, int] = {}
        for r in pay:
            by_day[r[0]] = by_day.get(r[0], 0) + r[3]
        due = await self._rows(_INSTALMENTS, p)
        promised: dict[str, int] = {}
        for r in due:
            promised[r[0]] = promised.get(r[0], 0) + r[2]
        live = [r for r in due if r[1] and today <= r[0] <= week_end]
        due_today = sum(r[3] for r in live if r[0] == today)
        due_today_amount = sum(r[4] for r in live if r[0] == today)
        due_week, due_week_amount = sum(r[3] for r in live), sum(r[4] for r in live)
        settled = await self._rows(_SETTLED_COUNTS, p)
        kept, broken, unconfirmed, k7, s7, k30, s30 = (
            sum(r[n] for r in settled) for n in range(1, 8)
        )
        rates = {r[0]: Rate(r[6], r[7]) for r in settled}
        broken_rows = await self._rows(_BROKEN, listed)
        approvals = await self._rows(_APPROVALS, listed)
        changes = await self._rows(_CHANGES, p)
        unreachable = await self._rows(_UNREACHABLE, p)
        (late,) = await self._row(_LATE, p)
        soon, urgent, lost = await self._legal(team_id, day)
        return TeamDigest(
            team_id=team_id,
            team_name=team[0],
            day=day,
            collected=collected,
            payments=payments,
            on_spot=on_spot,
            due_today=due_today,
            due_today_amount=due_today_amount,
            due_week=due_week,
            due_week_amount=due_week_amount,
            kept=kept,
            broken=broken,
            unconfirmed=unconfirmed,
            rate7=Rate(k7, s7),
            rate30=Rate(k30, s30),
            broken_list=Counted(
                [
                    BrokenItem(r[0], r[1], r[2], r[3], r[4], _day(r[5]), r[6], r[7])
                    for r in broken_rows
                ],
                broken,
            ),
            approvals=Counted(
                [
                    ApprovalItem(
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        r[4],
                        datetime.fromisoformat(r[5]),
                        reasons=tuple(filter(None, r[7].split(","))),
                        proposal=dict(json.loads(r[8] or "{}")),
                    )
                    for r in approvals
                ],
                approvals[0][6] if approvals else 0,
            ),
            stalled=await self._case_list(_STALLED, listed, lambda r: int(r[4])),
            untouched=await self._case_list(
                _UNTOUCHED, listed, lambda r: (now - datetime.fromisoformat(r[4])).days
            ),
            unprepared=await self._case_list(
                _UNPREPARED, listed, lambda r: (day.today - _day(r[4])).days
            ),
            changes=Counted(
                [
                    ChangeItem(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])
                    for r in changes[:limit]
                ],
                len(changes),
            ),
            unreachable=[Unreachable(r[0], r[1], bool(r[2]), r[3]) for r in unreachable],
            collectors=await self._collector_lines(p, rates, by_lead),
            series=_series(day, by_day, promised),
            untouched_days=untouched_days,
            late_reminders=late,
            legal=LegalLists(
                Counted(soon[:limit], len(soon)), urgent, Counted(lost[:limit], len(lost))
            ),
        )

    async def _case_list(self, sql: str, params: dict[str, Any], detail: Any) -> Counted[CaseItem]:
        rows = await self._rows(sql, params)
        return Counted(
            [CaseItem(r[0], r[1], r[2], r[3], detail(r)) for r in rows], rows[0][5] if rows else 0
        )

    async def _collector_lines(
        self, p: dict[str, Any], rates: dict[int | None, Rate], collected: dict[int | None, int]
    ) -> list[CollectorLine]:
        people = await self._rows(_COLLECTORS, p)
        meetings = {r[0]: r[1] for r in await self._rows(_BY_AUTHOR_MEETINGS, p)}
        open_cases = {r[0]: r[1] for r in await self._rows(_BY_LEAD_OPEN, p)}
        return [
            CollectorLine(
                user_id=uid,
                name=name,
                collected=collected.get(uid, 0),
                rate=rates.get(uid, Rate(0, 0)),
                meetings=meetings.get(uid, 0),
                open_cases=open_cases.get(uid, 0),
            )
            for uid, name in people
        ]

    async def cooperative_digest(
        self, day: DigestDay, *, now: datetime, untouched_days: int
    ) -> CooperativeDigest:
        """Every team, one line each (the admins' digest)."""
        p = self._params(None, day, now=now, untouched_days=untouched_days)
        teams = await self._fetchall(_TEAMS)
        collected = {r[0]: r[1] for r in await self._rows(_TEAM_COLLECTED, p)}
        settled = {r[0]: r[1:] for r in await self._rows(_TEAM_SETTLED, p)}
        approvals = {r[0]: r[1] for r in await self._fetchall(_TEAM_APPROVALS)}
        cases = {r[0]: r[1:] for r in await self._rows(_TEAM_CASES, p)}
        lines = []
        for team_id, name in teams:
            kept, total, broken = settled.get(team_id, (0, 0, 0))
            open_cases, untouched = cases.get(team_id, (0, 0))
            lines.append(
                TeamLine(
                    team_id=team_id,
                    name=name,
                    collected=collected.get(team_id, 0),
                    rate30=Rate(kept, total),
                    broken=broken,
                    approvals=approvals.get(team_id, 0),
                    untouched=untouched,
                    open_cases=open_cases,
                )
            )
        return CooperativeDigest(day, lines)

    async def digest_list(
        self,
        team_id: int,
        kind: DrillDown,
        day: DigestDay,
        *,
        now: datetime,
        untouched_days: int,
        collector_id: int | None = None,
        limit: int = DRILL_LIMIT,
    ) -> Counted[CaseItem] | Counted[BrokenItem] | Counted[LegalItem]:
        """A drill-down list of one team (callers check the viewer may see the team)."""
        if kind in (DrillDown.LEGAL_URGENT, DrillDown.LEGAL_SOON, DrillDown.LEGAL_LAPSED):
            soon, _, lost = await self._legal(team_id, day)
            if kind is DrillDown.LEGAL_URGENT:
                soon = [i for i in soon if i.days_left <= LEGAL_URGENT]
            chosen = lost if kind is DrillDown.LEGAL_LAPSED else soon
            return Counted(chosen[:limit], len(chosen))
        p = {
            **self._params(team_id, day, now=now, untouched_days=untouched_days),
            "limit": limit,
            "collector": collector_id,
        }
        if kind is DrillDown.BROKEN:
            rows = await self._rows(_BROKEN, p)
            (total,) = await self._row(
                "SELECT COUNT(*) FROM instalments i JOIN commitments k ON k.id = i.commitment_id "
                "JOIN cases c ON c.id = k.case_id WHERE i.settled_at >= :s0 "
                "AND i.settled_at < :s1 AND i.status = 'broken' AND c.team_id = :team",
                p,
            )
            return Counted(
                [BrokenItem(r[0], r[1], r[2], r[3], r[4], _day(r[5]), r[6], r[7]) for r in rows],
                total,
            )
        if kind is DrillDown.STALLED:
            return await self._case_list(_STALLED, p, lambda r: int(r[4]))
        if kind is DrillDown.UNTOUCHED:
            return await self._case_list(
                _UNTOUCHED, p, lambda r: (now - datetime.fromisoformat(r[4])).days
            )
        if kind is DrillDown.UNPREPARED:
            return await self._case_list(_UNPREPARED, p, lambda r: (day.today - _day(r[4])).days)
        return await self._case_list(_COLLECTOR_CASES, p, lambda r: (day.today - _day(r[4])).days)

    # -- runs --------------------------------------------------------------------------------

    async def digest_recipients(self, local_date: date) -> list[DigestRecipient]:
        """Supervisors of a team and admins, active and reachable, without a digest run for
        ``local_date`` yet, with their own settings."""
        rows = await self._fetchall(
            "SELECT u.id, u.role, u.team_id, COALESCE(u.locale, u.telegram_locale), "
            "s.digest_time, COALESCE(s.mute_weekends, 0) "
            "FROM users u LEFT JOIN user_settings s ON s.user_id = u.id "
            "WHERE u.active = 1 AND u.blocked_at IS NULL "
            "AND (u.role = 'admin' OR (u.role = 'supervisor' AND u.team_id IS NOT NULL)) "
            "AND NOT EXISTS (SELECT 1 FROM digest_runs r WHERE r.user_id = u.id "
            "AND r.local_date = ?) ORDER BY u.id",
            (local_date.isoformat(),),
        )
        return [
            DigestRecipient(
                user_id=r[0],
                role=r[1],
                team_id=r[2],
                locale=r[3],
                digest_time=None if r[4] is None else time.fromisoformat(r[4]),
                mute_weekends=bool(r[5]),
            )
            for r in rows
        ]

    async def record_digest(
        self,
        user_id: int,
        local_date: date,
        messages: Sequence[DigestMessage],
        *,
        scope: str,
        now: datetime,
    ) -> bool:
        """The digest of ``user_id`` for ``local_date``: its run row and its outbox rows (one
        group), in one transaction. False, nothing written, if that day's digest exists."""
        group_key = f"digest:{user_id}:{local_date.isoformat()}"
        async with self._tx() as db:
            done = await db.execute(
                "INSERT INTO digest_runs (user_id, local_date, scope, created_at, group_key) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, local_date) DO NOTHING",
                (user_id, local_date.isoformat(), scope, ts(now), group_key),
            )
            if done.rowcount == 0:
                return False
            for i, m in enumerate(messages):
                await db.enqueue(
                    NewOutboxMessage(
                        user_id,
                        m.template,
                        m.params,
                        markup=m.markup,
                        media=m.media,
                        attachment=m.attachment,
                        filename=m.filename,
                        dedupe_key=f"{group_key}:{i}",
                        group_key=group_key,
                        priority=1,
                    ),
                    now=now,
                )
        return True

    async def digest_runs(self, user_id: int) -> list[tuple[date, str]]:
        """The days ``user_id`` had a digest, oldest first, with each run's group key."""
        rows = await self._fetchall(
            "SELECT local_date, group_key FROM digest_runs WHERE user_id = ? ORDER BY local_date",
            (user_id,),
        )
        return [(_day(r[0]), r[1]) for r in rows]

    async def last_digest_at(self, user_id: int, *, now: datetime) -> datetime | None:
        """When ``user_id``'s latest digest up to ``now`` was made, or None."""
        row = await self._fetchone(
            "SELECT MAX(created_at) FROM digest_runs WHERE user_id = ? AND created_at <= ?",
            (user_id, ts(now)),
        )
        return None if row is None or row[0] is None else datetime.fromisoformat(row[0])

    # -- settings ----------------------------------------------------------------------------

    async def digest_settings(self, user_id: int) -> DigestSettings:
        row = await self._fetchone(
            "SELECT digest_time, mute_weekends FROM user_settings WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return DigestSettings()
        return DigestSettings(None if row[0] is None else time.fromisoformat(row[0]), bool(row[1]))

    async def set_digest_settings(
        self, user_id: int, settings: DigestSettings, *, now: datetime
    ) -> DigestSettings:
        """Store a person's own digest time (None: the cooperative's) and weekend mute."""
        value = None if settings.digest_time is None else settings.digest_time.strftime("%H:%M")
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO user_settings (user_id, digest_time, mute_weekends, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "digest_time = excluded.digest_time, mute_weekends = excluded.mute_weekends, "
                "updated_at = excluded.updated_at",
                (user_id, value, int(settings.mute_weekends), ts(now)),
            )
            await db.audit(
                now,
                user_id,
                "digest_settings",
                "user",
                user_id,
                {"digest_time": value, "mute_weekends": settings.mute_weekends},
            )
        return settings
