"""Import decisions, what is still unknown, the queue's pages and today's list."""

from datetime import date

from bot.domain.cases import Attitude, Borrower, Case, Loan, PartyRole, RelatedParty, Security
from bot.domain.importing import (
    CollectorRef,
    FileProblem,
    RowChange,
    StoredCase,
    check_upload,
    ledger_hash,
    match_collector,
    plan_import,
)
from bot.domain.ledger import parse_ledger
from bot.domain.preparation import Unknown, unknown_facts
from bot.domain.queue import RankedCase, page_of, select_today
from bot.domain.urgency import ScorePart, UrgencyScore

ZHANG = CollectorRef(1, "张伟", "zhangwei", 1001)
LI = CollectorRef(2, "李娜", None, 1002)
LI_TOO = CollectorRef(3, "李娜", "lina2", 1003)

LEDGER = (
    "合同号,借款人,逾期本金,逾期日期,客户经理\n"
    "HT1,甲,1000,2026-01-05,张伟\n"
    "HT2,乙,2000,2026-01-05,@ZhangWei\n"
    "HT3,丙,3000,2026-01-05,1001\n"
    "HT4,丁,4000,2026-01-05,王五\n"
    "HT5,戊,5000,2026-01-05,\n"
).encode()


def test_collector_is_matched_by_name_username_or_telegram_id():
    assert match_collector("张 伟", [ZHANG, LI]) == ZHANG
    assert match_collector("@ZHANGWEI", [ZHANG, LI]) == ZHANG
    assert match_collector("1002", [ZHANG, LI]) == LI
    assert match_collector("王五", [ZHANG, LI]) is None


def test_a_name_two_collectors_share_matches_nobody():
    assert match_collector("李娜", [ZHANG, LI, LI_TOO]) is None
    assert match_collector("@lina2", [ZHANG, LI, LI_TOO]) == LI_TOO


def test_plan_sorts_rows_into_new_updated_unchanged_and_refused():
    parsed = parse_ledger(LEDGER)
    unchanged_hash = ledger_hash(parsed.rows[1])
    existing = {
        "HT1": StoredCase(10, team_id=7, lead_id=None, ledger_hash="old"),
        "HT2": StoredCase(11, team_id=7, lead_id=1, ledger_hash=unchanged_hash),
        "HT3": StoredCase(12, team_id=8, lead_id=1, ledger_hash="x"),
    }
    plan = plan_import(parsed, team_id=7, existing=existing, collectors=[ZHANG, LI])
    by_contract = {p.row.loan.contract_no: p for p in plan.rows}
    assert by_contract["HT1"].change is RowChange.UPDATED
    assert by_contract["HT1"].set_lead == 1
    assert by_contract["HT2"].change is RowChange.UNCHANGED
    assert by_contract["HT2"].set_lead is None
    assert by_contract["HT5"].change is RowChange.NEW
    assert by_contract["HT5"].set_lead is None
    assert [(e.line, e.code.value) for e in plan.errors] == [
        (4, "other_team"),
        (5, "unknown_collector"),
    ]
    assert plan.summary() == {"new": 1, "updated": 1, "unchanged": 1, "refused": 2}
    assert plan.error_rows[5][0] == "HT4"  # the report shows the row under its header


def test_a_stored_lead_is_kept_when_the_ledger_names_another_collector():
    parsed = parse_ledger(LEDGER)
    existing = {"HT1": StoredCase(10, team_id=7, lead_id=2, ledger_hash="old")}
    plan = plan_import(parsed, team_id=7, existing=existing, collectors=[ZHANG, LI])
    assert next(p for p in plan.rows if p.case_id == 10).set_lead is None


def test_uploads_are_checked_by_name_and_size_first():
    assert check_upload("台账.CSV", 100) is None
    assert check_upload("ledger.xlsx", None) is None
    assert check_upload("ledger.xls", 100) is FileProblem.XLS
    assert check_upload("photo.jpg", 100) is FileProblem.WRONG_TYPE
    assert check_upload("big.csv", 21 * 1024 * 1024) is FileProblem.TOO_BIG
    assert check_upload("empty.csv", 0) is FileProblem.EMPTY


def _case(**kw) -> Case:
    return Case(
        borrower=kw.get("borrower", Borrower("张三", phone="138", address="村里")),
        loan=Loan("HT1", 100, date(2026, 1, 1), 100),
        security=kw.get("security", Security()),
        related_parties=kw.get("parties", ()),
    )


def test_unknown_facts_ask_what_strategy_1_needs_and_name_the_party():
    guarantor = RelatedParty(PartyRole.GUARANTOR, "李四")
    spouse = RelatedParty(PartyRole.SPOUSE, "王五", phone="139", attitude=Attitude.COOPERATIVE)
    facts = unknown_facts(
        _case(parties=(guarantor, spouse), security=Security("李四", "住房", None))
    )
    codes = [f.code for f in facts]
    assert Unknown.BUSINESS_CONDITION in codes
    assert Unknown.CHARACTER in codes
    assert Unknown.COLLATERAL_VALUE in codes
    assert Unknown.SPOUSE not in codes  # on file, with a phone and an attitude
    assert [(f.code, f.name) for f in facts if f.name] == [
        (Unknown.PARTY_PHONE, "李四"),
        (Unknown.PARTY_ATTITUDE, "李四"),
    ]


def test_unknown_facts_without_spouse_phone_or_collateral():
    facts = [f.code for f in unknown_facts(_case(borrower=Borrower("张三")))]
    assert facts[0] is Unknown.BORROWER_PHONE
    assert Unknown.SPOUSE in facts
    assert Unknown.BORROWER_ADDRESS in facts
    assert Unknown.COLLATERAL_VALUE not in facts  # no collateral: nothing to value
    recorded = unknown_facts(_case(), known=[Unknown.CHARACTER, Unknown.REPAYMENT_CAPACITY])
    assert Unknown.CHARACTER not in [f.code for f in recorded]


def test_pages_of_ten_clamp_a_page_that_no_longer_exists():
    page = page_of(list(range(23)), 5)
    assert (page.number, page.count, page.items) == (2, 3, (20, 21, 22))
    assert page.has_previous
    assert not page.has_next
    empty = page_of([], 0)
    assert (empty.count, empty.items, empty.has_next) == (1, (), False)


def _ranked(rank: int, *codes: str) -> RankedCase[str]:
    parts = tuple(ScorePart(c, 10) for c in codes)
    return RankedCase(rank, f"case{rank}", UrgencyScore(10 * len(codes), parts, 0))


def test_today_takes_every_case_that_cannot_wait_then_fills_up_to_capacity():
    ranked = [_ranked(1, "dpd.over_180"), _ranked(2, "dpd.over_90"), _ranked(3, "dpd.over_30"),
              _ranked(4, "debt.growing_fast"), _ranked(5, "contact.never")]  # fmt: skip
    assert [r.rank for r in select_today(ranked, capacity=3)] == [1, 2, 4]
    urgent = [_ranked(i, "deterioration.assets_moving") for i in range(1, 5)]
    assert len(select_today([*urgent, _ranked(9, "dpd.over_0")], capacity=2)) == 4
