"""Digest records for the template and chart tests: a team of ``n`` collectors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.digest import (
    ApprovalItem,
    BrokenItem,
    CaseItem,
    ChangeItem,
    CollectorLine,
    Counted,
    DayPoint,
    DigestDay,
    LegalClockKind,
    LegalItem,
    LegalLists,
    Rate,
    TeamDigest,
    Unreachable,
)
from bot.domain.legal import AlertAction, GuaranteeKind

TODAY = date(2026, 12, 1)
DAY = DigestDay(TODAY, ZoneInfo("Asia/Shanghai"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def collector_name(i: int) -> str:
    return f"{SURNAMES[i % len(SURNAMES)]}{'伟芳娜敏静丽强磊军洋'[i // len(SURNAMES) % 10]}{i}"


def legal_item(
    clock: LegalClockKind,
    days: int,
    party: str | None = None,
    kind: GuaranteeKind | None = None,
    *,
    borrower: str = "王建国",
    mortgage: bool = False,
) -> LegalItem:
    """A line of the digest's legal list ``days`` from its end (negative: lapsed)."""
    action = {
        LegalClockKind.LIMITATION: AlertAction.RESTART_LIMITATION,
        LegalClockKind.GUARANTEE: AlertAction.CLAIM_GUARANTOR
        if kind is GuaranteeKind.JOINT
        else AlertAction.FIND_KIND,
        LegalClockKind.GUARANTOR_LIMITATION: AlertAction.RESTART_GUARANTOR,
    }[clock]
    return LegalItem(2, "DC2023-0042", borrower, "张伟", clock, TODAY + timedelta(days=days),
                     days, action, party, kind, mortgage)  # fmt: skip


LEGAL = LegalLists(
    Counted(
        [
            legal_item(LegalClockKind.GUARANTEE, 10, "李保", GuaranteeKind.JOINT),
            legal_item(LegalClockKind.GUARANTEE, 10, "赵某"),
            legal_item(LegalClockKind.LIMITATION, 45, mortgage=True),
            legal_item(LegalClockKind.GUARANTOR_LIMITATION, 60, "钱担", GuaranteeKind.JOINT),
            legal_item(LegalClockKind.LIMITATION, 83),
        ],
        12,
    ),
    2,
    Counted([legal_item(LegalClockKind.LIMITATION, -3, borrower="孙老板")], 1),
)


def team_digest(n: int = 10) -> TeamDigest:
    case = CaseItem(1, "DC2024-0001", "王建国 <&>", "张伟", 4)
    return TeamDigest(
        team_id=1,
        team_name="东城组",
        day=DAY,
        collected=1_234_500,
        payments=5,
        on_spot=987_600,
        due_today=3,
        due_today_amount=450_000,
        due_week=9,
        due_week_amount=1_500_000,
        kept=4,
        broken=1,
        unconfirmed=2,
        rate7=Rate(3, 4),
        rate30=Rate(0, 0),
        broken_list=Counted(
            [
                BrokenItem(
                    1,
                    "DC2024-0001",
                    "王建国",
                    "张伟",
                    50_000,
                    TODAY - timedelta(days=1),
                    "no_money,later",
                    "下周发工资",
                )
            ],
            7,
        ),
        approvals=Counted(
            [
                ApprovalItem(
                    9,
                    1,
                    "DC2024-0001",
                    "王建国",
                    "张伟",
                    datetime(2026, 11, 30, tzinfo=UTC),
                    reasons=("fee_waiver",),
                    proposal={"detail": "明天若当场还3万，罚息18,000元能否免除？"},
                )
            ],
            1,
        ),
        stalled=Counted([case], 1),
        untouched=Counted([case], 12),
        unprepared=Counted([case], 2),
        changes=Counted(
            [
                ChangeItem(1, "DC2024-0001", "王建国", "lead", "张伟", "李娜", "workload", None),
                ChangeItem(
                    1, "DC2024-0001", "王建国", "approach", "pressure", "sympathy", None, "态度软化"
                ),
            ],
            2,
        ),
        unreachable=[Unreachable(5, "赵六", True, 2)],
        collectors=[
            CollectorLine(i + 10, collector_name(i), 100_000 * i, Rate(i % 5, 4), i % 3, 20 + i)
            for i in range(n)
        ],
        series=[DayPoint(TODAY - timedelta(days=30 - i), 10_000 * i, 50_000) for i in range(30)],
        legal=LEGAL,
    )
