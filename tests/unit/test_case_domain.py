"""Import decisions, what is still unknown, the queue's pages and today's list."""

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.casefile import (
    CARD_NOTES,
    CARD_PARTIES,
    CaseFile,
    CaseNote,
    CaseSummary,
    LeadChange,
    LeadReason,
    PartyRecord,
    card_view,
)
from bot.domain.cases import (
    Attitude,
    Borrower,
    Case,
    CaseStatus,
    Loan,
    PartyRole,
    RelatedParty,
    Security,
)
from bot.domain.importing import (
    TELEGRAM_DOWNLOAD_LIMIT,
    CollectorRef,
    FileProblem,
    RowChange,
    StoredCase,
    check_upload,
    ledger_hash,
    match_collector,
    may_decide_import,
    plan_import,
)
from bot.domain.ledger import parse_ledger
from bot.domain.people import Role, User
from bot.domain.queue import RankedCase, page_of, select_today
from bot.domain.unknowns import Unknown, is_business_borrower, unknown_facts
from bot.domain.urgency import ScorePart, UrgencyScore
from bot.i18n import SUPPORTED_LOCALES
from bot.imports import error_report, missing_columns
from bot.render import Renderer
from handlers.cases import MESSAGE_LIMIT, fit_message
from tgemu import parse_html, utf16_len

ZHANG = CollectorRef(1, "张伟", "zhangwei", 1001)
LI = CollectorRef(2, "李娜", None, 1002)
LI_TOO = CollectorRef(3, "李娜", "lina2", 1003)

LEDGER = (
    "合同号,借款人,逾期本金,逾期日期,清收人员\n"
    "HT1,甲,1000,2026-01-05,张伟\n"
    "HT2,乙,2000,2026-01-05,@ZhangWei\n"
    "HT3,丙,3000,2026-01-05,1001\n"
    "HT4,丁,4000,2026-01-05,王五\n"
    "HT5,戊,5000,2026-01-05,\n"
).encode()


def test_collector_is_matched_by_staff_name_username_or_telegram_id():
    assert match_collector("张 伟", [ZHANG, LI]) == ZHANG
    assert match_collector("@ZHANGWEI", [ZHANG, LI]) == ZHANG
    assert match_collector("1002", [ZHANG, LI]) == LI
    assert match_collector("王五", [ZHANG, LI]) is None


def test_a_name_two_collectors_share_matches_nobody():
    assert match_collector("李娜", [ZHANG, LI, LI_TOO]) is None
    assert match_collector("@lina2", [ZHANG, LI, LI_TOO]) == LI_TOO


def test_the_telegram_display_name_never_matches():
    """users.name is whatever the person calls themselves on Telegram: anyone can rename
    themselves 张伟. Only the name on the cooperative's books counts."""
    impostor = CollectorRef(9, None, "mallory", 1009)  # Telegram name "张伟", no staff name
    assert match_collector("张伟", [impostor]) is None
    assert match_collector("张伟", [impostor, ZHANG]) == ZHANG


def test_plan_sorts_rows_into_new_updated_unchanged_refused_and_warned():
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
    # An unknown collector on a new case: imported without a lead, with a warning.
    assert by_contract["HT4"].change is RowChange.NEW
    assert by_contract["HT4"].set_lead is None
    assert [(e.line, e.code.value) for e in plan.errors] == [(4, "other_team")]
    # HT5's collector cell is empty: also without a lead, counted and listed the same way.
    assert [(e.line, e.code.value, e.value) for e in plan.warnings] == [
        (5, "unknown_collector", "王五"), (6, "no_collector", "")
    ]  # fmt: skip
    assert plan.summary() == {
        "new": 2, "updated": 1, "unchanged": 1, "refused": 1, "no_lead": 2, "absent": 0,
    }  # fmt: skip
    assert plan.error_rows[4][0] == "HT3"  # the report shows the row under its header


def test_an_unknown_collector_does_not_stop_an_update_of_a_case_with_a_lead():
    parsed = parse_ledger(LEDGER)
    existing = {"HT4": StoredCase(13, team_id=7, lead_id=2, ledger_hash="old")}
    plan = plan_import(parsed, team_id=7, existing=existing, collectors=[ZHANG, LI])
    ht4 = next(p for p in plan.rows if p.case_id == 13)
    assert (ht4.change, ht4.set_lead) == (RowChange.UPDATED, None)
    assert [e.line for e in plan.warnings] == [6]  # only HT5, new with an empty collector
    assert plan.errors == []


def test_open_cases_of_the_team_missing_from_the_file_are_counted():
    parsed = parse_ledger(LEDGER)
    existing = {
        "HT1": StoredCase(10, team_id=7, lead_id=None, ledger_hash="old"),
        "GONE1": StoredCase(20, team_id=7, lead_id=1, ledger_hash="x"),
        "GONE2": StoredCase(21, team_id=7, lead_id=1, ledger_hash="x", closed=True),
        "OTHER": StoredCase(22, team_id=8, lead_id=1, ledger_hash="x"),
    }
    plan = plan_import(parsed, team_id=7, existing=existing, collectors=[ZHANG])
    assert plan.absent == 1


def test_replanning_at_write_time_sees_a_lead_given_since_the_dry_run():
    parsed = parse_ledger(LEDGER)
    dry = plan_import(parsed, team_id=7, existing={}, collectors=[ZHANG])
    assert {p.row.loan.contract_no: p.set_lead for p in dry.rows}["HT1"] == 1
    existing = {
        "HT1": StoredCase(10, team_id=7, lead_id=2, ledger_hash=ledger_hash(dry.rows[0].row))
    }
    now = dry.replan(existing=existing, collectors=[ZHANG])
    ht1 = next(p for p in now.rows if p.row.loan.contract_no == "HT1")
    assert (ht1.change, ht1.case_id, ht1.set_lead) == (RowChange.UNCHANGED, 10, None)


def _user(role: Role, team_id: int | None, active: bool = True) -> User:
    return User(1, 1, "x", None, role, team_id, None, None, None, active, None,
                datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip


def test_who_may_decide_a_pending_import():
    assert may_decide_import(_user(Role.ADMIN, None), None)
    assert may_decide_import(_user(Role.ADMIN, None), 7)
    assert may_decide_import(_user(Role.SUPERVISOR, 7), 7)
    assert not may_decide_import(_user(Role.SUPERVISOR, 7), 8)
    assert not may_decide_import(_user(Role.SUPERVISOR, 7), None)
    assert not may_decide_import(_user(Role.COLLECTOR, 7), 7)
    assert not may_decide_import(_user(Role.ADMIN, None, active=False), 7)


def test_missing_alternatives_are_named_with_or():
    assert missing_columns("overdue_principal|principal_outstanding,borrower", str) == [
        "overdue principal or principal outstanding",
        "borrower",
    ]


def test_error_report_lists_refusals_and_warnings_by_line_and_defuses_formulas():
    data = (
        "合同号,借款人,逾期本金,逾期日期,清收人员\n"
        "HT1,张三,-500,2024-03-05,\n"
        'HT2,=HYPERLINK("x"),100,bad,\n'
        "HT3,王五,100,2024-03-05,路人甲\n"
    ).encode()
    plan = plan_import(parse_ledger(data), team_id=7, existing={}, collectors=[ZHANG])
    report = error_report(plan, str)
    assert report.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig"))))
    assert rows[0] == ["line", "column", "value", "reason", "合同号", "借款人", "逾期本金",
                       "逾期日期", "清收人员"]  # fmt: skip
    assert rows[1][:4] == ["2", "逾期本金", "'-500", "逾期本金: “-500” is negative"]
    assert rows[2][0] == "3"
    assert '\'=HYPERLINK("x")' in rows[2]  # not run as a formula
    assert rows[3][:3] == ["4", "清收人员", "路人甲"]
    assert rows[3][3].startswith("no lead: “路人甲” is not a collector of this team")


def test_a_stored_lead_is_kept_when_the_ledger_names_another_collector():
    parsed = parse_ledger(LEDGER)
    existing = {"HT1": StoredCase(10, team_id=7, lead_id=2, ledger_hash="old")}
    plan = plan_import(parsed, team_id=7, existing=existing, collectors=[ZHANG, LI])
    assert next(p for p in plan.rows if p.case_id == 10).set_lead is None


def test_uploads_are_checked_by_name_and_size_first():
    bot = TELEGRAM_DOWNLOAD_LIMIT
    assert check_upload("台账.CSV", 100, max_bytes=bot) is None
    assert check_upload("ledger.xlsx", None, max_bytes=bot) is None
    assert check_upload("ledger.xls", 100, max_bytes=bot) is FileProblem.XLS
    assert check_upload("photo.jpg", 100, max_bytes=bot) is FileProblem.WRONG_TYPE
    assert check_upload("big.csv", 21 * 1024 * 1024, max_bytes=bot) is FileProblem.TOO_BIG
    assert check_upload("empty.csv", 0, max_bytes=bot) is FileProblem.EMPTY
    # The 20 MB limit is Telegram's download limit: the command line has none.
    assert check_upload("big.csv", 21 * 1024 * 1024) is None


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
    # Strategy 1: the borrower, the file, our own bottom line and target, the law, the people.
    for code in (
        Unknown.BUSINESS_CONDITION,
        Unknown.CHARACTER,
        Unknown.COLLATERAL_VALUE,
        Unknown.BOTTOM_LINE,
        Unknown.TARGET,
        Unknown.LEGAL_QUESTIONS,
        Unknown.FILE_QUALITY,
        Unknown.SOCIAL_RELATIONS,
    ):
        assert code in codes, code
    assert Unknown.SPOUSE not in codes  # on file, with a phone and an attitude
    assert [(f.code, f.role, f.name, f.count, f.phones, f.attitudes) for f in facts if f.role] == [
        (Unknown.PARTIES, PartyRole.GUARANTOR, "李四", 1, 1, 1),
    ]


def test_unknown_facts_without_spouse_phone_or_collateral():
    facts = [f.code for f in unknown_facts(_case(borrower=Borrower("张三")))]
    assert facts[0] is Unknown.BORROWER_PHONE
    assert facts.count(Unknown.SPOUSE) == 1  # asked once: is there a spouse at all?
    assert Unknown.BORROWER_ADDRESS in facts
    assert Unknown.COLLATERAL_VALUE not in facts  # no collateral: nothing to value
    recorded = unknown_facts(_case(), known=[Unknown.CHARACTER, Unknown.REPAYMENT_CAPACITY])
    assert Unknown.CHARACTER not in [f.code for f in recorded]


def test_no_spouse_is_not_asked_about_once_recorded_or_for_a_company():
    no_spouse = unknown_facts(_case(), known=[Unknown.SPOUSE])
    assert Unknown.SPOUSE not in [f.code for f in no_spouse]
    company = Borrower("某某商贸有限公司", id_number="91330100MA27XXXX1B")
    assert is_business_borrower(company)
    assert Unknown.SPOUSE not in [f.code for f in unknown_facts(_case(borrower=company))]
    person = Borrower("张三", id_number="33010219800101123X")
    assert not is_business_borrower(person)
    assert Unknown.SPOUSE in [f.code for f in unknown_facts(_case(borrower=person))]


def test_many_parties_of_one_role_are_one_line_not_one_per_person_and_field():
    guarantors = tuple(
        RelatedParty(PartyRole.GUARANTOR, f"担保人{i}", phone="139" if i < 3 else None)
        for i in range(12)
    )
    facts = [f for f in unknown_facts(_case(parties=guarantors)) if f.code is Unknown.PARTIES]
    assert [(f.role, f.name, f.count, f.phones, f.attitudes) for f in facts] == [
        (PartyRole.GUARANTOR, None, 12, 9, 12),
    ]


def _file(parties: int, notes: int) -> CaseFile:
    now = datetime(2026, 11, 30, 1, tzinfo=UTC)
    summary = CaseSummary(
        1, "HT1", "张三", None, CaseStatus.OPEN, 1, "东城", 2, "张伟", 10_000_000, 8_000_000,
        12_345, date(2026, 1, 5), None, None, frozenset(), False, False, None,
        has_guarantor=True,
    )  # fmt: skip
    records = tuple(
        PartyRecord(i, RelatedParty(PartyRole.GUARANTOR, f"甲{i}号", notes="说" * 100))
        for i in range(parties)
    )
    case = Case(
        Borrower("张三" * 20, address="某某村" * 30, business="养殖" * 30),
        Loan("HT1", 8_000_000, date(2026, 1, 5), 10_000_000, 12_345),
        Security("担保" * 100, "住房" * 100, None),
        tuple(r.party for r in records),
    )
    note_list = tuple(CaseNote(now, 2, "张伟", "借款人说下周还" * 60) for _ in range(min(notes, 5)))
    leads = tuple(
        LeadChange(now, 2, "张伟", 3, "李娜", 4, "组长", LeadReason.OTHER, "原因" * 100)
        for _ in range(5)
    )
    return CaseFile(summary, case, records, note_list, leads, now, now, note_count=notes)


def test_the_card_caps_its_lists_and_counts_the_rest():
    view = card_view(_file(12, 40), date(2026, 11, 30), UTC)
    assert (len(view.parties), view.more_parties) == (CARD_PARTIES, 12 - CARD_PARTIES)
    assert (len(view.notes), view.more_notes) == (CARD_NOTES, 40 - CARD_NOTES)
    assert view.days_past_due == 329


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_a_card_with_12_guarantors_and_many_notes_fits_one_message(locale):
    renderer = Renderer(ZoneInfo("Asia/Shanghai"))
    case_file = _file(12, 40)
    view = card_view(case_file, date(2026, 11, 30), UTC)
    html = renderer.render(
        locale, "cases/card", card=view, case_file=case_file, summary=case_file.summary
    )
    text = fit_message(html, renderer.render(locale, "cases/card_cut", summary=case_file.summary))
    plain, _ = parse_html(text)  # still valid HTML after any cut
    assert utf16_len(text) <= MESSAGE_LIMIT
    assert "40" in plain  # "the latest 1 of 40" notes
    # The parties are in the file, one tap away (📄): only the listed ones are named; the
    # unknowns are one line for all twelve.
    for name in ("cases/file", "cases/history"):
        html = renderer.render(
            locale, name, card=view, case_file=case_file, summary=case_file.summary
        )
        assert utf16_len(fit_message(html)) <= MESSAGE_LIMIT
        parse_html(fit_message(html))
    params = {"card": view, "case_file": case_file, "summary": case_file.summary}
    details, _ = parse_html(fit_message(renderer.render(locale, "cases/file", **params)))
    assert "12" in details  # the loan's figures (the twelve are one line of the ❓ list)
    assert details.count("号 · ") == CARD_PARTIES
    assert str(12 - CARD_PARTIES) in details.splitlines()[-1]  # "…and 6 more."
    history, _ = parse_html(fit_message(renderer.render(locale, "cases/history", **params)))
    assert "40" in history  # "the latest 3 of 40" notes


def test_fit_message_cuts_at_a_line_end_and_says_so():
    lines = [f"<b>{i}</b> " + "字" * 50 for i in range(200)]
    text = fit_message("\n".join(lines), "… cut", limit=1000)
    assert utf16_len(parse_html(text)[0]) <= 1000  # what Telegram counts: the text shown
    assert text.endswith("\n… cut")
    assert all(line in lines for line in text.split("\n")[:-1])
    assert fit_message("short", "… cut") == "short"


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
    today = select_today(ranked, capacity=3)
    assert [r.case for r in today] == ["case1", "case2", "case4"]
    assert [r.rank for r in today] == [1, 2, 3]  # numbered on its own: no gap where case3 was
    urgent = [_ranked(i, "deterioration.assets_moving") for i in range(1, 5)]
    assert len(select_today([*urgent, _ranked(9, "dpd.over_0")], capacity=2)) == 4
