"""Demo cases for the sandbox: eight realistic overdue loans of a rural credit cooperative.

They go through the real import path (yesterday's export, then today's, so that growth of the
debt shows in the queue), then get what collectors would have recorded: related parties with
attitudes, deterioration flags, a last contact. Running it again on the same database only
updates the same eight cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.casefile import local_date
from bot.domain.cases import Attitude, Borrower, Loan, PartyRole, RelatedParty, Security
from bot.domain.commitments import (
    Achieved,
    ApprovalReason,
    Channel,
    NewCommitment,
    NewInstalment,
    NewMeeting,
    NewPayment,
)
from bot.domain.importing import plan_import
from bot.domain.ledger import LedgerParseResult, LedgerRow
from bot.domain.people import User
from bot.domain.prep import (
    Business,
    Capacity,
    Character,
    Concession,
    Figures,
    FileQuality,
    MeetingKind,
    MeetingStep,
    PrepAnswers,
    Venue,
    WeakPoint,
    urgency_inputs,
)
from bot.domain.urgency import Deterioration
from bot.storage import Storage
from bot.storage.sqlite.engine import ts

__all__ = [
    "DEMO_CASES",
    "DEMO_COMMITTED",
    "DEMO_HISTORY_KEY",
    "DEMO_PREPARED",
    "DEMO_WAITING",
    "seed_demo_cases",
    "seed_demo_history",
]

_TZ = ZoneInfo("Asia/Shanghai")
_WAN = 10_000 * 100  # fen in 1万 yuan


@dataclass(frozen=True)
class _Demo:
    contract_no: str
    borrower: Borrower
    product: str
    principal: int
    overdue_principal: int
    interest: int
    dpd: int
    guarantees: str
    collateral: str | None
    collateral_value: int | None
    spouse: tuple[str, str | None] | None
    collector: int | None  # index into the collectors given, None: unassigned
    yesterday_overdue: int | None = None  # overdue principal in yesterday's export
    extra_parties: tuple[RelatedParty, ...] = ()
    flags: frozenset[Deterioration] = frozenset()
    strong_guarantor: bool = False
    high_default_cost: bool = False
    contacted_days_ago: int | None = None


DEMO_CASES: tuple[_Demo, ...] = (
    _Demo(
        "DC2023-0417",
        Borrower("周强", "330102197803150031", "13905710417", "城东街道建设路18号", "装修公司"),
        "个人经营贷款",
        150 * _WAN,
        120 * _WAN,
        9 * _WAN,
        96,
        "",
        "厂房（城东工业园3号）",
        80 * _WAN,
        ("吴丽华", "13905710418"),
        0,
        yesterday_overdue=110 * _WAN,
        flags=frozenset({Deterioration.ASSETS_MOVING, Deterioration.OTHER_CREDITORS}),
        high_default_cost=True,
        contacted_days_ago=20,
    ),
    _Demo(
        "DC2024-0102",
        Borrower("王建国", "330102196805120011", "13805710102", "城东街道市场路6号", "建材店"),
        "个人经营贷款",
        40 * _WAN,
        32 * _WAN,
        18_000 * 100,
        215,
        "李明(13605710555)",
        "商铺（市场路6号）",
        60 * _WAN,
        ("刘芳", "13805710103"),
        0,
        strong_guarantor=True,
        contacted_days_ago=35,
    ),
    _Demo(
        "DC2024-0233",
        Borrower("赵磊", "330102198511020052", "13705710233", "城北村5组", "货运物流"),
        "汽车消费贷款",
        15 * _WAN,
        15 * _WAN,
        int(1.2 * _WAN),
        201,
        "",
        None,
        None,
        ("钱芳", None),
        1,
        extra_parties=(
            RelatedParty(
                PartyRole.MORTGAGOR,
                "赵大海",
                "13705710234",
                "父亲",
                Attitude.COOPERATIVE,
                "愿意协助劝说",
            ),
        ),
        flags=frozenset({Deterioration.BORROWER_UNREACHABLE}),
    ),
    _Demo(
        "DC2024-0318",
        Borrower("陈秀英", "330102197209080027", "13605710318", "城南村12组", "生猪养殖"),
        "农户小额贷款",
        8 * _WAN,
        8 * _WAN,
        3_200 * 100,
        47,
        "陈大勇(13605710319)；陈小勇",
        None,
        None,
        None,
        1,
        flags=frozenset({Deterioration.BUSINESS_SLIDING}),
    ),
    _Demo(
        "DC2024-0521",
        Borrower("郑海", "330102197901230013", "13505710521", "茶山村2组", "茶叶种植"),
        "农户小额贷款",
        22 * _WAN,
        22 * _WAN,
        int(1.1 * _WAN),
        133,
        "孙伟(13505710522)",
        None,
        None,
        ("林梅", "13505710523"),
        0,
        flags=frozenset({Deterioration.GUARANTOR_WEAKENING}),
        contacted_days_ago=16,
    ),
    _Demo(
        "DC2024-0690",
        Borrower("孙丽", "330102199003300048", "13405710690", "城西街道文化路22号", "餐馆"),
        "个人经营贷款",
        6 * _WAN,
        5 * _WAN,
        1_500 * 100,
        13,
        "",
        None,
        None,
        ("黄涛", "13405710691"),
        1,
        yesterday_overdue=4 * _WAN,
        contacted_days_ago=3,
    ),
    _Demo(
        "DC2024-0755",
        Borrower("吴敏", None, "13305710755", None, "便利超市"),
        "个人消费贷款",
        3 * _WAN,
        3 * _WAN,
        400 * 100,
        6,
        "",
        None,
        None,
        None,
        0,
    ),
    _Demo(
        "DC2024-0812",
        Borrower("冯军", "330102198107070039", "13205710812", "城北村8组", "货车运输"),
        "汽车消费贷款",
        9 * _WAN,
        6 * _WAN,
        2_800 * 100,
        62,
        "",
        "货车（浙A·8G812）",
        None,
        None,
        None,
    ),
)


def _row(
    line: int, demo: _Demo, collectors: Sequence[User], today: date, *, old: bool
) -> LedgerRow:
    overdue = demo.yesterday_overdue if old and demo.yesterday_overdue else demo.overdue_principal
    parties = [
        RelatedParty(PartyRole.GUARANTOR, g.split("(")[0], g.split("(")[1].rstrip(")"))
        if "(" in g
        else RelatedParty(PartyRole.GUARANTOR, g)
        for g in demo.guarantees.split("；")
        if g
    ]
    if demo.spouse:
        parties.append(RelatedParty(PartyRole.SPOUSE, demo.spouse[0], demo.spouse[1]))
    collector = None
    if demo.collector is not None and collectors:
        chosen = collectors[demo.collector % len(collectors)]
        collector = chosen.staff_name or chosen.name
    return LedgerRow(
        line=line,
        borrower=demo.borrower,
        loan=Loan(
            contract_no=demo.contract_no,
            overdue_principal=overdue,
            overdue_since=today - timedelta(days=demo.dpd - (1 if old else 0)),
            principal_outstanding=demo.principal,
            overdue_interest=demo.interest,
            product=demo.product,
        ),
        security=Security(demo.guarantees, demo.collateral, demo.collateral_value),
        related_parties=tuple(parties),
        collector=collector,
    )


async def seed_demo_cases(
    storage: Storage, *, team_id: int, collectors: list[User], now: datetime
) -> int:
    """Create (or refresh) the demo cases of ``team_id``, led by ``collectors`` in turn (one
    case stays unassigned, for /assign). Returns how many demo cases were written.

    Collectors are matched by name, so give them distinct names.
    """
    today = local_date(now, _TZ)
    refs = await storage.collector_refs(team_id)
    for old, at in ((True, now - timedelta(days=1)), (False, now)):
        rows = [_row(i, d, collectors, today, old=old) for i, d in enumerate(DEMO_CASES, 2)]
        parsed = LedgerParseResult(rows=rows, errors=[], columns={})
        plan = plan_import(
            parsed, team_id=team_id, existing=await storage.import_snapshot(), collectors=refs
        )
        import_id = await storage.create_import(
            team_id=team_id, created_by=None, file_name="demo-ledger.csv", data=None, now=at
        )
        await storage.apply_import(plan, import_id=import_id, actor_id=None, now=at, notify=False)
    snapshot = await storage.import_snapshot()
    for demo in DEMO_CASES:
        case_id = snapshot[demo.contract_no].case_id
        for party in demo.extra_parties:
            await storage.add_party(case_id, party, actor_id=None, now=now)
        await storage.set_case_flags(
            case_id,
            deterioration=demo.flags,
            strong_guarantor=demo.strong_guarantor,
            high_default_cost=demo.high_default_cost,
            last_contact_at=(
                None
                if demo.contacted_days_ago is None
                else now - timedelta(days=demo.contacted_days_ago)
            ),
            actor_id=None,
            now=now,
        )
    await _seed_demo_prep(storage, snapshot[DEMO_PREPARED].case_id, collectors, now=now)
    await _seed_demo_commitment(storage, snapshot[DEMO_COMMITTED].case_id, collectors, now=now)
    return len(DEMO_CASES)


#: The demo case with yesterday's meeting and an agreed plan whose first instalment is due
#: tomorrow (its card shows both; reminders will fire on it).
DEMO_COMMITTED = "DC2024-0318"


async def _seed_demo_commitment(
    storage: Storage, case_id: int, collectors: list[User], *, now: datetime
) -> None:
    """陈秀英 paid ¥2,000 at yesterday's meeting and promised ¥1,500 on three dates (once)."""
    if len(collectors) < 2 or await storage.commitments_of(case_id, limit=1):
        return
    lead = collectors[1]
    today = local_date(now, _TZ)
    yesterday = today - timedelta(days=1)
    meeting = await storage.add_meeting(
        lead,
        case_id,
        NewMeeting(
            yesterday,
            "result",
            "office",
            "Chen Jing；陈秀英、担保人陈大勇",
            Achieved.YES,
            "同意分三期还清欠息，担保人陈大勇到场确认",
            "cooperative",
            "sign_agreement",
            None,
            None,
        ),
        NewPayment(2_000 * 100, Channel.CASH, yesterday),
        now=now - timedelta(days=1),
    )
    if meeting is None:
        return
    dues = [today + timedelta(days=1), today + timedelta(days=29), today + timedelta(days=57)]
    await storage.add_commitment(
        lead,
        case_id,
        NewCommitment(
            money_today=2_000 * 100,
            money_channel=None,  # recorded with the meeting
            promised_by_party=None,
            plan={"kind": "dates", "text": "demo", "dues": [[d.isoformat(), False] for d in dues]},
            instalments=tuple(NewInstalment(d, 1_500 * 100) for d in dues),
            meeting_id=meeting.id,
        ),
        needs_approval=frozenset(),
        proposal={},
        flow_id=None,
        notify=None,
        now=now - timedelta(days=1),
        today=yesterday,
    )


#: The demo case that is already prepared, so a newcomer sees a brief at once (/brief 王建国).
DEMO_PREPARED = "DC2024-0102"


async def _seed_demo_prep(
    storage: Storage, case_id: int, collectors: list[User], *, now: datetime
) -> None:
    """王建国's meeting tomorrow, prepared yesterday by his lead collector (once)."""
    if await storage.preps_of(case_id, limit=1) or not collectors:
        return
    lead = collectors[0]
    case_file = await storage.get_case(lead, case_id)
    if case_file is None:
        return
    guarantor = next((p.id for p in case_file.parties if p.party.role is PartyRole.GUARANTOR), None)
    answers = PrepAnswers(
        capacity=Capacity.PARTIAL,
        business=Business.RUNNING,
        character=Character.SOFT_HISTORY,
        weak_points=frozenset({WeakPoint.GUARANTOR_RELATIONSHIP, WeakPoint.REPUTATION}),
        file_quality=FileQuality.COMPLETE,
        party_stances={guarantor: Attitude.COOPERATIVE} if guarantor else {},
        social_relations="村支书老陈说话他听",
        figures=Figures(bottom=15 * _WAN, target=25 * _WAN, opening=33 * _WAN),
        needs_approval=frozenset(Concession),
        kind=MeetingKind.RESULT,
        venue=Venue.OFFICE,
        attendees="张伟、李组长；王建国、担保人李明",
        step=MeetingStep.SIGN_AGREEMENT,
        qa=(("能不能先停息？", "利息减免要上级定，我先帮您请示"),),
        pre_chat_by="李组长",
        money_today=3 * _WAN,
    )
    await storage.add_prep(
        lead,
        case_id,
        answers,
        approach_reason=None,
        urgency=urgency_inputs(answers),
        now=now - timedelta(days=1),
    )


#: The meta key that says the sandbox's weeks of history were written (once per database).
DEMO_HISTORY_KEY = "demo_history"
#: The demo case whose concession waits for the supervisor (the prepared 王建国, whose brief
#: says every concession needs the supervisor: a fee waiver if he pays ¥30,000 tomorrow).
DEMO_WAITING = DEMO_PREPARED


async def seed_demo_history(
    storage: Storage, *, team_id: int, collectors: list[User], now: datetime
) -> bool:
    """A few weeks of the demo team's past, so the supervisor's digest and an export have
    something to show: meetings (周强: three without an agreement, 策略2), money received, two
    plans whose instalments were kept, paid in part and broken (with the reason), and a
    concession waiting for the supervisor. Once per database (False when already there).

    Written through the storage verbs (meetings, commitments, the request); the instalments'
    answers, which collectors give to their reminders, are set in SQL through the engine, as
    they were answered then (no reminder, no notice goes out for the past). Last contacts stay
    where :data:`DEMO_CASES` puts them; 王建国's prep and 陈秀英's plan (first instalment due
    tomorrow) are left as they are.
    """
    from bot.storage.sqlite import SqliteStorage

    if len(collectors) < 2 or await storage.get_meta(DEMO_HISTORY_KEY) is not None:
        return False
    if not isinstance(storage, SqliteStorage):  # pragma: no cover - one backend today
        return False
    zhang, chen = collectors[0], collectors[1]
    today = local_date(now, _TZ)
    snapshot = await storage.import_snapshot()

    def day(ago: int) -> date:
        return today - timedelta(days=ago)

    def at(ago: int, hour: int, minute: int = 0) -> datetime:
        local = datetime.combine(day(ago), datetime.min.time(), _TZ).replace(
            hour=hour, minute=minute
        )
        return min(local, now - timedelta(minutes=1))

    async def meet(
        who: User, contract: str, ago: int, meeting: NewMeeting, paid: int | None = None
    ) -> int:
        payment = None if paid is None else NewPayment(paid, Channel.CASH, day(ago))
        recorded = await storage.add_meeting(
            who, snapshot[contract].case_id, meeting, payment, now=at(ago, 17)
        )
        assert recorded is not None
        return recorded.id

    def held(
        ago: int,
        kind: str,
        venue: str,
        people: str,
        achieved: Achieved,
        moved: str,
        stance: str,
        next_step: str,
        next_in: int | None = None,
    ) -> NewMeeting:
        next_on = None if next_in is None else day(ago) + timedelta(days=next_in)
        return NewMeeting(
            day(ago), kind, venue, people, achieved, moved, stance, next_step, next_on, None
        )

    async def plan(
        who: User,
        contract: str,
        ago: int,
        meeting_id: int,
        money_today: int,
        dues: Sequence[tuple[int, int]],
    ) -> list[int]:
        """A plan agreed at a meeting ``ago`` days back: instalments (days from today, fen)."""
        instalments = tuple(NewInstalment(day(-d), amount) for d, amount in dues)
        made = await storage.add_commitment(
            who,
            snapshot[contract].case_id,
            NewCommitment(
                money_today=money_today,
                money_channel=None,
                promised_by_party=None,
                plan={
                    "kind": "dates",
                    "text": "demo",
                    "dues": [[i.due_on.isoformat(), False] for i in instalments],
                },
                instalments=instalments,
                meeting_id=meeting_id,
            ),
            needs_approval=frozenset(),
            proposal={},
            flow_id=None,
            notify=None,
            now=at(ago, 17, 30),
            today=day(ago),
        )
        assert made is not None
        return [i.id for i in made.instalments]

    # 周强: three meetings, no agreement (策略2 flags the case); the last one 20 days ago.
    for ago, kind, venue, achieved, moved in (
        (34, "investigative", "business", Achieved.NO, "厂房已停工，设备在往外运"),
        (27, "result", "office", Achieved.PARTLY, "承认欠款，但只肯谈停息"),
        (20, "result", "home", Achieved.NO, "配偶吴丽华表示不再担保"),
    ):
        await meet(
            zhang,
            "DC2023-0417",
            ago,
            held(ago, kind, venue, "张伟；周强", achieved, moved, "hostile", "电话跟进还款"),
            paid=0 if ago == 27 else None,
        )

    # 郑海: ¥2,000 at the meeting 25 days ago and a plan of ¥5,000 a fortnight: the first
    # kept, the second broken (no money: the tea is not sold yet), the third still ahead.
    zheng_meeting = await meet(
        zhang,
        "DC2024-0521",
        25,
        held(
            25,
            "result",
            "home",
            "张伟；郑海、林梅",
            Achieved.YES,
            "同意分三期，每期五千",
            "cooperative",
            "sign_agreement",
        ),
        paid=2_000 * 100,
    )
    fortnightly = ((-18, 5_000 * 100), (-2, 5_000 * 100), (12, 5_000 * 100))
    kept1, broken, _ = await plan(zhang, "DC2024-0521", 25, zheng_meeting, 2_000 * 100, fortnightly)
    await meet(
        zhang,
        "DC2024-0521",
        16,
        held(
            16,
            "investigative",
            "business",
            "张伟；郑海",
            Achieved.PARTLY,
            "茶叶收购款要月中才到",
            "neutral",
            "电话跟进还款",
            14,
        ),
    )

    # 孙丽: ¥1,000 at the meeting 17 days ago, ¥1,500 a week: kept, paid in part yesterday
    # (¥800), one still ahead; a visit 3 days ago about the rest.
    sun_meeting = await meet(
        chen,
        "DC2024-0690",
        17,
        held(
            17,
            "result",
            "business",
            "Chen Jing；孙丽、黄涛",
            Achieved.YES,
            "餐馆生意回暖，同意每周还",
            "cooperative",
            "sign_agreement",
        ),
        paid=1_000 * 100,
    )
    weekly = ((-10, 1_500 * 100), (-1, 1_500 * 100), (6, 1_500 * 100))
    kept2, partial, _ = await plan(chen, "DC2024-0690", 17, sun_meeting, 1_000 * 100, weekly)
    await meet(
        chen,
        "DC2024-0690",
        3,
        held(
            3,
            "investigative",
            "business",
            "Chen Jing；孙丽",
            Achieved.PARTLY,
            "答应下周补上差额",
            "cooperative",
            "电话跟进还款",
            4,
        ),
    )

    # The collectors' answers to the reminders, as they gave them then.
    async with storage._tx() as db:
        for instalment, who, status, paid, answered, settled, reason, note in (
            (kept1, zhang, "kept", 5_000 * 100, at(18, 18), at(18, 18), None, None),
            (
                broken,
                zhang,
                "broken",
                0,
                at(1, 9, 30),
                at(1, 9, 30),
                "no_money",
                "茶叶款还没收回来，说下周",
            ),
            (kept2, chen, "kept", 1_500 * 100, at(10, 18), at(10, 18), None, None),
            (partial, chen, "partial", 800 * 100, at(1, 18), None, None, None),
        ):
            await db.execute(
                "UPDATE instalments SET status = ?, paid = ?, answered_at = ?, answered_by = ?, "
                "settled_at = ?, miss_reason = ?, miss_note = ? WHERE id = ?",
                (
                    status,
                    paid,
                    ts(answered),
                    who.id,
                    None if settled is None else ts(settled),
                    reason,
                    note,
                    instalment,
                ),
            )
            if paid:
                await db.execute(
                    "INSERT INTO payments (case_id, commitment_id, instalment_id, amount, "
                    "channel, received_on, recorded_at, recorded_by, source) "
                    "SELECT k.case_id, k.id, i.id, ?, 'transfer', i.due_on, ?, ?, 'reminder' "
                    "FROM instalments i JOIN commitments k ON k.id = i.commitment_id "
                    "WHERE i.id = ?",
                    (paid, ts(answered), who.id, instalment),
                )
            # The due-day reminder each was answered from, sent then: without it the first
            # poller tick would take the partly paid one for a reminder missed while the bot
            # was down, and greet Chen Jing with a catch-up summary.
            await db.execute(
                "INSERT INTO reminders (instalment_id, kind, due_at, status, collector_id, "
                "created_at, done_at) SELECT i.id, 'due', ?, 'queued', ?, ?, ? "
                "FROM instalments i WHERE i.id = ?",
                (ts(answered), who.id, ts(answered), ts(answered), instalment),
            )
        await db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (DEMO_HISTORY_KEY, ts(now)))

    # 王建国's meeting is tomorrow: 张伟 asks 李组长 now whether the penalty interest may go if
    # he pays ¥30,000 on the spot. It waits for the supervisor (already reminded once).
    waiting = await storage.request_approval(
        zhang,
        snapshot[DEMO_WAITING].case_id,
        frozenset({ApprovalReason.FEE_WAIVER}),
        {"detail": "明天若当场还3万，罚息18,000元能否免除？"},
        flow_id=None,
        notify=None,
        now=now - timedelta(hours=2),
    )
    if waiting is not None:
        async with storage._tx() as db:
            await db.execute(
                "UPDATE approvals SET reminded_at = ? WHERE id = ?",
                (ts(now - timedelta(hours=1, minutes=30)), waiting.id),
            )
    return True
