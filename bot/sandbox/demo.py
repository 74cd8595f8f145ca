"""Demo cases for the sandbox: eight realistic overdue loans of a rural credit cooperative.

They go through the real import path (the export of eight days ago, then of seven days ago,
so that growth of the debt shows in the queue and the week since is money recorded after the
ledger's figures), then get what collectors would have recorded: related parties with
attitudes, deterioration flags, a last contact. Running it again on the same database only
updates the same eight cases. :func:`seed_demo_history` then writes the week in the life the
sandbox opens on (once per database).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.domain.casefile import local_date
from bot.domain.cases import Attitude, Borrower, Loan, PartyRole, RelatedParty, Security
from bot.domain.commitments import (
    Achieved,
    ApprovalReason,
    ApprovalStatus,
    Channel,
    Commitment,
    Instalment,
    NewCommitment,
    NewInstalment,
    NewMeeting,
    NewPayment,
)
from bot.domain.importing import plan_import
from bot.domain.instalments import Answer, MissReason
from bot.domain.ledger import LedgerParseResult, LedgerRow
from bot.domain.legal import DocumentKind, GuaranteeKind
from bot.domain.people import Role, User
from bot.domain.plans import Plan, check_plan
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

__all__ = [
    "DEMO_BROKEN",
    "DEMO_CASES",
    "DEMO_COMMITTED",
    "DEMO_GUARANTEED",
    "DEMO_GUARANTEE_DAYS",
    "DEMO_HISTORY_KEY",
    "DEMO_PREPARED",
    "DEMO_REPLANNED",
    "DEMO_RESTARTED",
    "DEMO_STEP_TODAY",
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
    #: The ledger's legal columns (issue 19): 到期日 (a function of today), 保证方式 and the
    #: agreed 保证期间's end (days from today).
    maturity: Callable[[date], date] | None = None
    guarantee_kind: GuaranteeKind | None = None
    guarantee_end_in: int | None = None


#: The demo case whose guarantor's period ends in ten days (a joint guarantee, from the
#: ledger's columns): on /today, the card and the digest's legal list.
DEMO_GUARANTEED = "DC2024-0102"
DEMO_GUARANTEE_DAYS = 10
#: The demo case whose limitation a signed repayment agreement restarted last year.
DEMO_RESTARTED = "DC2023-0417"


def _signed_last_year(today: date) -> date:
    """The day 周强 signed his repayment agreement: 15 June of last year."""
    return date(today.year - 1, 6, 15)


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
        maturity=lambda today: _signed_last_year(today) - timedelta(days=200),
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
        maturity=lambda today: today - timedelta(days=175),
        guarantee_kind=GuaranteeKind.JOINT,
        guarantee_end_in=DEMO_GUARANTEE_DAYS,
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
            maturity=None if demo.maturity is None else demo.maturity(today),
        ),
        security=Security(
            demo.guarantees,
            demo.collateral,
            demo.collateral_value,
            demo.guarantee_kind,
            None
            if demo.guarantee_end_in is None
            else today + timedelta(days=demo.guarantee_end_in),
        ),
        related_parties=tuple(parties),
        collector=collector,
        # The export's date: a week back (yesterday's export a day before), so the week's
        # money is recorded after the ledger's figures and comes off what is owed now.
        as_of=today - timedelta(days=LEDGER_DAYS_BACK + (1 if old else 0)),
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
    await _seed_demo_agreement(storage, snapshot[DEMO_RESTARTED].case_id, collectors, now=now)
    return len(DEMO_CASES)


async def _seed_demo_agreement(
    storage: Storage, case_id: int, collectors: list[User], *, now: datetime
) -> None:
    """周强's repayment agreement, signed last June and filed with its photo (once): his loan
    fell due 200 days before it, so the limitation runs three years from the signing, not from
    the due date (第195条)."""
    documents = await storage.case_documents(case_id)
    if any(d.kind is DocumentKind.REPAYMENT_AGREEMENT for d in documents):
        return
    signed = _signed_last_year(local_date(now, _TZ))
    at = datetime.combine(signed, time(16), tzinfo=_TZ)
    lead = collectors[0].id if collectors else None
    document_id = await storage.issue_document(
        case_id, DocumentKind.REPAYMENT_AGREEMENT, None, None, lead, at - timedelta(hours=2)
    )
    await storage.file_signed_copy(document_id, signed, "demo-signed-agreement", lead, at)


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
#: The week's cases (issue 16, item 8: the sandbox shows tests/e2e/test_week_in_the_life.py's
#: week). 郑海: prepared, met with money on the spot, a plan below the target approved by the
#: supervisor, its first instalment paid, yesterday's missed — the broken promise at the top of
#: 张伟's /today — and today's due (answer it from /today). 吴敏: a plan whose first instalment
#: was paid in part this morning, and a next step set for today. 孙丽 (Chen Jing, English):
#: paid in part, prepared again, the rest paid at yesterday's meeting, a second plan that
#: replaces the first.
DEMO_BROKEN = "DC2024-0521"
DEMO_STEP_TODAY = "DC2024-0755"
DEMO_REPLANNED = "DC2024-0690"
#: How many days back the demo's ledger export is dated: the money of the week is recorded
#: after it, so the cards show what is owed now (the ledger's figures less the week's money).
LEDGER_DAYS_BACK = 7


def _dates_text(dues: Sequence[date], locale: str) -> str:
    """A plan's dates as the collector typed them: 12月2日、12月6日 / Dec 2, Dec 9."""
    if locale.startswith("zh"):
        return "、".join(f"{d.month}月{d.day}日" for d in dues)
    return ", ".join(format_date(d, "MMM d", locale=locale) for d in dues)


async def seed_demo_history(
    storage: Storage,
    *,
    team_id: int,
    collectors: list[User],
    now: datetime,
    grace_days: int = 0,
) -> bool:
    """The demo team's past, so that the sandbox opens on a week in the life (the week of
    tests/e2e/test_week_in_the_life.py): 张伟's /today with a broken promise to prepare again,
    a payment to answer today and a next step due; the cards with what was paid, promised and
    broken; 李组长's digest with the money, the broken promise and a request waiting with its
    exact ask; an export that tells it in words. Older: 周强's three meetings without an
    agreement (策略2 flags the case). Once per database (False when already there, or with no
    supervisor or fewer than two collectors).

    Everything goes through the verbs the flows call — preps, meetings with their money, plans
    checked by :func:`bot.domain.plans.check_plan` (a concession goes to the supervisor, who
    answers it), the reminders' answers (Paid / Partial / Missed) with the grace days given —
    at the times they happened, relative to ``now`` (the cooperative's days; an event "today"
    is never after ``now``). Each write has its own key, so a start that stopped half-way
    finishes on the next one without writing anything twice. What the verbs send (李组长 is
    told of the broken promise) goes out when the bot starts; the reminders of the past are
    not replayed: their answers are stored, and the rows of the instalments still open are
    written by the poller's first tick, as for any plan stored without them.
    """
    if len(collectors) < 2 or await storage.get_meta(DEMO_HISTORY_KEY) is not None:
        return False
    boss = next(
        (
            u
            for u in await storage.list_users(team_id=team_id)
            if u.role is Role.SUPERVISOR and u.active
        ),
        None,
    )
    if boss is None:
        return False
    zhang, chen = collectors[0], collectors[1]
    today = local_date(now, _TZ)
    snapshot = await storage.import_snapshot()

    def case(contract: str) -> int:
        return snapshot[contract].case_id

    def day(ago: int) -> date:
        return today - timedelta(days=ago)

    def at(ago: int, hour: int, minute: int = 0) -> datetime:
        local = datetime.combine(day(ago), time(hour, minute), _TZ)
        return min(local, now - timedelta(minutes=1))

    async def meet(
        who: User,
        contract: str,
        ago: int,
        meeting: NewMeeting,
        paid: int | None = None,
        *,
        hour: int = 17,
        channel: Channel = Channel.CASH,
    ) -> int:
        payment = None if paid is None else NewPayment(paid, channel, day(ago))
        recorded = await storage.add_meeting(
            who,
            case(contract),
            meeting,
            payment,
            now=at(ago, hour),
            key=f"demo:meeting:{contract}:{ago}",
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
        next_step: str | None,
        next_in: int | None = None,
        prep_id: int | None = None,
    ) -> NewMeeting:
        next_on = None if next_in is None else day(ago) + timedelta(days=next_in)
        return NewMeeting(
            day(ago), kind, venue, people, achieved, moved, stance, next_step, next_on, prep_id
        )

    async def prepare(who: User, contract: str, ago: int, answers: PrepAnswers) -> int:
        prep = await storage.add_prep(
            who,
            case(contract),
            answers,
            approach_reason=None,
            urgency=urgency_inputs(answers),
            now=at(ago, 9),
            key=f"demo:prep:{contract}:{ago}",
        )
        assert prep is not None
        return prep.id

    async def plan(
        who: User,
        contract: str,
        ago: int,
        meeting_id: int,
        money_today: int,
        dues: Sequence[tuple[int, int]],
        *,
        figures: Figures | None = None,
        locale: str = "zh_Hans",
        replaces: int | None = None,
    ) -> Commitment:
        """A plan agreed at the meeting ``ago`` days back: instalments (days from today, fen),
        checked as /commit checks it against the prep's figures and what is owed; what it
        asks of the supervisor is asked (and answered by :func:`approve`)."""
        dates = [day(-d) for d, _ in dues]
        amounts = [amount for _, amount in dues]
        made_on = day(ago)
        rule = Plan.of(_dates_text(dates, locale), dates, made_on)
        owed = await storage.get_case(who, case(contract))
        assert owed is not None
        check = check_plan(
            money_today=money_today,
            amounts=amounts,
            dues=rule.dues,
            debt=owed.summary.owed,
            today=made_on,
            bottom=None if figures is None else figures.bottom,
            target=None if figures is None else figures.target,
        )
        made = await storage.add_commitment(
            who,
            case(contract),
            NewCommitment(
                money_today=money_today,
                money_channel=None,  # recorded with the meeting
                promised_by_party=None,
                plan=rule.to_json(),
                instalments=tuple(
                    NewInstalment(d.date, a) for d, a in zip(rule.dues, amounts, strict=True)
                ),
                meeting_id=meeting_id,
            ),
            needs_approval=frozenset(ApprovalReason(r) for r in check.reasons),
            proposal={
                "money_today": money_today,
                "dues": [[d.date.isoformat(), a] for d, a in zip(rule.dues, amounts, strict=True)],
                "gap": check.gap,
                "months": check.months,
            },
            flow_id=None,
            notify=None,
            now=at(ago, 17, 30),
            today=made_on,
            replaces=replaces,
            key=f"demo:plan:{contract}:{ago}",
        )
        assert made is not None
        return made

    async def approve(made: Commitment, ago: int) -> None:
        if made.approval_id is not None:
            await storage.answer_approval(
                boss,
                made.approval_id,
                ApprovalStatus.APPROVED,
                counter=None,
                notify=None,
                now=at(ago, 18, 10),
            )

    async def answer(
        who: User,
        instalment: Instalment,
        ago: int,
        hour: int,
        given: Answer,
        *,
        amount: int | None = None,
        reason: Sequence[str] = (),
        note: str | None = None,
    ) -> None:
        answered = await storage.answer_instalment(
            who,
            instalment.id,
            given,
            amount=amount,
            reason=reason or None,
            note=note,
            today=day(ago),
            grace_days=grace_days,
            now=at(ago, hour),
            key=f"demo:answer:{instalment.id}:{given.value}",
        )
        assert answered is not None

    # -- Older: 周强, three meetings and no agreement (策略2 flags the case); the last 20 days
    # ago, so he is also among the cases nobody has followed up for two weeks.
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

    # -- The week. Six days ago: 张伟 prepares 郑海's meeting, collects ¥3,000 at it and
    # agrees four instalments of ¥5,000: ¥23,000 in all, below his ¥30,000 target, so the plan
    # goes to 李组长, who approves it that evening.
    zheng_figures = Figures(bottom=20_000 * 100, target=30_000 * 100, opening=50_000 * 100)
    zheng_prep = await prepare(
        zhang,
        DEMO_BROKEN,
        6,
        PrepAnswers(
            capacity=Capacity.PARTIAL,
            business=Business.RUNNING,
            character=Character.SOFT_HISTORY,
            weak_points=frozenset({WeakPoint.GUARANTOR_RELATIONSHIP}),
            file_quality=FileQuality.COMPLETE,
            social_relations="茶叶合作社的王社长跟他熟",
            figures=zheng_figures,
            needs_approval=frozenset({Concession.BELOW_TARGET}),
            kind=MeetingKind.RESULT,
            venue=Venue.HOME,
            attendees="张伟；郑海、林梅",
            step=MeetingStep.SIGN_AGREEMENT,
            qa=(("茶叶款没到，能不能缓一缓？", "先还一部分，剩下的按周分期，我帮您请示"),),
            money_today=5_000 * 100,
        ),
    )
    zheng_meeting = await meet(
        zhang,
        DEMO_BROKEN,
        6,
        held(
            6,
            "result",
            "home",
            "张伟；郑海、林梅",
            Achieved.YES,
            "当场还3千，同意分四期、每期五千",
            "cooperative",
            "按期还款，到期前电话提醒",
            prep_id=zheng_prep,
        ),
        paid=3_000 * 100,
    )
    zheng = await plan(
        zhang,
        DEMO_BROKEN,
        6,
        zheng_meeting,
        3_000 * 100,
        ((-5, 5_000 * 100), (-1, 5_000 * 100), (0, 5_000 * 100), (7, 5_000 * 100)),
        figures=zheng_figures,
    )
    await approve(zheng, 6)
    first, second, *_ = zheng.instalments
    await answer(zhang, first, 5, 9, Answer.PAID)  # five days ago: paid in full
    # Yesterday: missed, no money (the tea money has not come): the promise is broken, and
    # 李组长 is told.
    await answer(
        zhang,
        second,
        1,
        10,
        Answer.MISSED,
        reason=(MissReason.NO_MONEY.value,),
        note="茶叶款还没到，说下周一定还",
    )

    # Six days ago too: Chen Jing prepares 孙丽's meeting at the restaurant, collects ¥1,000
    # and agrees ¥1,500 a week (it reaches her target: no approval).
    sun_figures = Figures(bottom=3_000 * 100, target=5_000 * 100, opening=8_000 * 100)
    sun_prep = await prepare(
        chen,
        DEMO_REPLANNED,
        6,
        PrepAnswers(
            capacity=Capacity.PARTIAL,
            business=Business.RUNNING,
            character=Character.NOVICE_WEAK,
            figures=sun_figures,
            kind=MeetingKind.RESULT,
            venue=Venue.BUSINESS,
            attendees="Chen Jing；孙丽、黄涛",
            step=MeetingStep.MONEY_TODAY,
            money_today=1_000 * 100,
        ),
    )
    sun_meeting = await meet(
        chen,
        DEMO_REPLANNED,
        6,
        held(
            6,
            "result",
            "business",
            "Chen Jing；孙丽、黄涛",
            Achieved.YES,
            "Business is picking up; she agreed to pay every week",
            "cooperative",
            None,
            prep_id=sun_prep,
        ),
        paid=1_000 * 100,
        hour=15,
    )
    sun = await plan(
        chen,
        DEMO_REPLANNED,
        6,
        sun_meeting,
        1_000 * 100,
        ((-3, 1_500 * 100), (4, 1_500 * 100), (11, 1_500 * 100)),
        figures=sun_figures,
        locale="en",
    )
    await approve(sun, 6)
    # Three days ago: paid in part, ¥800 of ¥1,500.
    await answer(chen, sun.instalments[0], 3, 18, Answer.PARTIAL, amount=800 * 100)

    # Three days ago: 张伟 meets 吴敏 at her shop; two instalments clear the whole overdue
    # debt, the first today, and he will call in today to collect it.
    wu_meeting = await meet(
        zhang,
        DEMO_STEP_TODAY,
        3,
        held(
            3,
            "result",
            "business",
            "张伟；吴敏",
            Achieved.YES,
            "同意分两期还清逾期本息",
            "cooperative",
            "上门收款",
            3,
        ),
        hour=16,
    )
    wu = await plan(
        zhang,
        DEMO_STEP_TODAY,
        3,
        wu_meeting,
        0,
        ((0, 15_200 * 100), (7, 15_200 * 100)),
    )
    # This morning she paid ¥10,000 of today's ¥15,200 (paid in part: the rest is asked
    # about again tomorrow).
    await answer(zhang, wu.instalments[0], 0, 11, Answer.PARTIAL, amount=10_000 * 100)

    # Yesterday: Chen Jing prepares 孙丽 again (a second prep), collects the ¥700 still open
    # at the meeting (the partly paid instalment is kept) and agrees ¥2,000 a week from
    # three days on, which replaces the first plan (a second plan).
    sun_figures2 = Figures(bottom=3_000 * 100, target=4_000 * 100, opening=6_000 * 100)
    sun_prep2 = await prepare(
        chen,
        DEMO_REPLANNED,
        1,
        PrepAnswers(
            capacity=Capacity.PARTIAL,
            business=Business.RUNNING,
            character=Character.NOVICE_WEAK,
            figures=sun_figures2,
            kind=MeetingKind.RESULT,
            venue=Venue.BUSINESS,
            attendees="Chen Jing；孙丽",
            step=MeetingStep.SIGN_AGREEMENT,
            money_today=700 * 100,
        ),
    )
    sun_meeting2 = await meet(
        chen,
        DEMO_REPLANNED,
        1,
        held(
            1,
            "result",
            "business",
            "Chen Jing；孙丽",
            Achieved.YES,
            "Paid the ¥700 still open; ¥2,000 a week from now on",
            "cooperative",
            None,
            prep_id=sun_prep2,
        ),
        paid=700 * 100,
        hour=15,
        channel=Channel.TRANSFER,  # she sent it from her phone at the table
    )
    sun2 = await plan(
        chen,
        DEMO_REPLANNED,
        1,
        sun_meeting2,
        0,
        ((3, 2_000 * 100), (10, 2_000 * 100)),
        figures=sun_figures2,
        locale="en",
        replaces=sun.id,
    )
    await approve(sun2, 1)

    # 王建国's meeting is tomorrow: 张伟 asks 李组长 now whether the penalty interest may go if
    # he pays ¥30,000 on the spot. It waits for the supervisor (his digest shows it with its
    # buttons; reminded once already, so no reminder goes out at start).
    waiting = await storage.request_approval(
        zhang,
        case(DEMO_WAITING),
        frozenset({ApprovalReason.FEE_WAIVER}),
        {"detail": "明天若当场还3万，罚息18,000元能否免除？"},
        flow_id=None,
        notify=None,
        now=now - timedelta(hours=2),
        key="demo:request:waiting",
    )
    if waiting is not None:
        await storage.remind_approval(
            waiting.id, notify=None, now=now - timedelta(hours=1, minutes=30)
        )
    await storage.set_meta(DEMO_HISTORY_KEY, now.isoformat())
    return True
