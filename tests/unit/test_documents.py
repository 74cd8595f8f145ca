"""The papers of issue 19 as a reader sees them: the text pypdf reads out of the PDF the bot
makes, in 简体, 繁體 and English — names, every instalment's date and amount, 大写, and nothing
internal (no fen, no role codes, no markup a borrower's name smuggled in)."""

import io
import re
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from bot.documents import (
    Issuer,
    agreement_paper,
    file_name,
    notice_paper,
    render_pdf,
    render_source,
    rmb_words,
)
from bot.domain.casefile import CaseFile, CaseSummary, PartyRecord
from bot.domain.cases import Borrower, Case, CaseStatus, Loan, PartyRole, RelatedParty
from bot.domain.commitments import Commitment, CommitmentStatus, Instalment, InstalmentStatus

TODAY = date(2026, 12, 8)
ISSUER = Issuer("东城信用社", "010-12345678", "张伟")


def _file(borrower: str = "郑海", guarantors: tuple[str, ...] = ("李保", "王强")) -> CaseFile:
    now = datetime(2026, 12, 8, 1, tzinfo=UTC)
    parties = (
        PartyRecord(7, RelatedParty(PartyRole.SPOUSE, "吴敏")),
        *(
            PartyRecord(10 + i, RelatedParty(PartyRole.GUARANTOR, name))
            for i, name in enumerate(guarantors)
        ),
        PartyRecord(20, RelatedParty(PartyRole.FAMILY, "郑小海")),
    )
    summary = CaseSummary(
        1, "DC2024-0521", borrower, None, CaseStatus.OPEN, 1, "东城组", 2, "张伟",
        5_000_000, 5_000_000, 321_540, date(2024, 3, 1), None, None, frozenset(), False,
        False, None, has_guarantor=True, paid_since_figures=800_000,
    )  # fmt: skip
    case = Case(
        Borrower(borrower, id_number="110101198001011234"),
        Loan("DC2024-0521", 5_000_000, date(2024, 3, 1), 5_000_000, 321_540),
        related_parties=tuple(r.party for r in parties),
    )
    return CaseFile(summary, case, parties, (), (), now, now)


def _commitment(money_today: int, dues: list[tuple[date, int]]) -> Commitment:
    now = datetime(2026, 12, 8, 2, tzinfo=UTC)
    instalments = tuple(
        Instalment(100 + i, 5, i + 1, d, a, 0, InstalmentStatus.OPEN)
        for i, (d, a) in enumerate(dues)
    )
    return Commitment(
        5, 1, None, 2, "张伟", now, None, None, money_today, sum(a for _, a in dues), {},
        CommitmentStatus.AGREED, None, None, None, None, instalments,
    )  # fmt: skip


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


DUES = [(date(2026, 12, 25), 500_000), (date(2027, 1, 25), 500_000), (date(2027, 2, 25), 300_050)]


def _agreement(file: CaseFile | None = None):
    file = file or _file()
    return agreement_paper(
        file, _commitment(500_000, DUES), owed_before=4_521_540, today=TODAY, issuer=ISSUER
    )


def test_the_agreement_in_simplified_chinese_names_every_party_instalment_and_amount():
    text = _text(render_pdf("zh_Hans", "agreement", _agreement()))
    assert "还款协议" in text
    for name in ("郑海", "吴敏", "李保", "王强", "东城信用社"):
        assert name in text
    assert "郑小海" not in text  # family are not parties to the agreement
    assert "DC2024-0521" in text
    assert "¥45,215.40" in text
    assert "肆万伍仟贰佰壹拾伍元肆角" in text
    assert "¥5,000.00" in text
    assert "2026年12月8日" in text
    for day, amount in [
        ("2026年12月25日周五", "¥5,000.00"),
        ("2027年1月25日周一", "¥5,000.00"),
        ("2027年2月25日周四", "¥3,000.50"),
    ]:
        line = next(line for line in text.splitlines() if day in line)
        assert amount in line, line
    assert "叁仟元伍角" in text  # the last instalment in words
    # What the plan leaves open is written as still owed: 45,215.40 − 5,000 − 13,000.50.
    assert "¥27,214.90" in text
    assert "担保责任" in text
    assert "签字" in text


def test_the_agreement_in_traditional_chinese_uses_traditional_words_and_numerals():
    text = _text(render_pdf("zh_Hant", "agreement", _agreement()))
    assert "還款協議" in text
    assert "擔保人" in text
    assert "肆萬伍仟貳佰壹拾伍元肆角" in text
    assert "2027年1月25日週一" in text


def test_the_agreement_in_english():
    text = _text(render_pdf("en", "agreement", _agreement()))
    assert "Repayment agreement" in text
    for name in ("郑海", "吴敏", "李保", "王强"):
        assert name in text
    for expected in ("Dec 25, 2026", "Jan 25, 2027", "Feb 25, 2027", "CN¥3,000.50"):
        assert expected in text
    assert not re.search(
        r"[\u4e00-\u9fff]{2,}(?<!郑海)(?<!吴敏)(?<!李保)(?<!王强)", _strip_names(text)
    )


def _strip_names(text: str) -> str:
    for word in ("郑海", "吴敏", "李保", "王强", "东城信用社"):
        text = text.replace(word, "")
    return text


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant", "en"])
@pytest.mark.parametrize("name", ["notice", "agreement"])
def test_no_internal_codes_or_fen_on_the_paper(locale, name):
    file = _file()
    paper = (
        _agreement(file)
        if name == "agreement"
        else notice_paper(file, 10, today=TODAY, issuer=ISSUER)
    )
    text = _text(render_pdf(locale, name, paper))
    for code in ("guarantor", "spouse", "borrower", "None", "4521540", "500000", "321540"):
        if locale == "en" and code in ("guarantor", "spouse", "borrower"):
            continue  # English words in English
        assert code not in text, code
    assert "#" not in text
    assert "%(" not in text


def test_the_notice_to_a_guarantor_names_them_the_borrower_and_the_demand():
    paper = notice_paper(_file(), 10, today=TODAY, issuer=ISSUER)
    text = _text(render_pdf("zh_Hans", "notice", paper))
    assert "催收通知书" in text
    assert "回执" in text
    assert "致：李保" in text
    assert "担保" in text
    assert "郑海" in text
    assert "DC2024-0521" in text
    assert "¥45,215.40" in text
    assert "肆万伍仟贰佰壹拾伍元肆角" in text
    assert "−¥8,000.00" in text  # repaid since the ledger's figures
    assert "2026年12月15日前" in text  # a fixed day to pay by (策略5)
    assert "010-12345678" in text
    assert "张伟" in text
    assert "王强" not in text  # one notice per person (策略9)


def test_the_notice_to_the_borrower_in_english():
    paper = notice_paper(_file(), None, today=TODAY, issuer=ISSUER)
    text = _text(render_pdf("en", "notice", paper))
    assert "Collection notice" in text
    assert "To: 郑海" in text
    assert "(borrower)" in text
    assert "CN¥45,215.40" in text
    assert "December 15, 2026" in text
    assert "Receipt" in text
    assert "In words" not in text  # 大写 is a Chinese paper's


def test_a_party_not_on_the_case_is_refused():
    with pytest.raises(LookupError):
        notice_paper(_file(), 999, today=TODAY, issuer=ISSUER)


def test_a_name_full_of_typst_markup_is_printed_as_it_is():
    hostile = '*郑_海* // #panic("x") $x$ <a> @b [c] \\ "q"'
    paper = _agreement(_file(borrower=hostile, guarantors=("李#保",)))
    text = _text(render_pdf("zh_Hans", "agreement", paper))
    assert hostile.replace(" ", "") in text.replace(" ", "").replace("\n", "")
    assert "李#保" in text


def test_without_the_cooperatives_name_the_paper_says_our_cooperative():
    paper = notice_paper(_file(), None, today=TODAY, issuer=Issuer("", "", "张伟"))
    assert "本社" in _text(render_pdf("zh_Hans", "notice", paper))
    assert "Contact: our cooperative" in _text(render_pdf("en", "notice", paper))


def test_the_markup_holds_every_value_as_a_string_literal():
    source = render_source(
        "zh_Hans", "notice", notice_paper(_file(), 11, today=TODAY, issuer=ISSUER)
    )
    assert '#"致：王强";' in source


def test_amounts_in_words():
    assert rmb_words(5_321_540, "zh_Hans") == "伍万叁仟贰佰壹拾伍元肆角"
    assert rmb_words(5_321_540, "zh_Hant") == "伍萬參仟貳佰壹拾伍元肆角"
    assert rmb_words(0, "zh_Hans") == "零元整"
    assert rmb_words(100_000_001, "zh_Hans") == "壹佰万元零壹分"
    assert rmb_words(5_000, "en") == ""


def test_the_file_name_says_the_paper_the_person_and_the_day():
    paper = notice_paper(_file(), 10, today=TODAY, issuer=ISSUER)
    assert file_name("notice", paper, "zh_Hans") == "催收通知书-李保-2026-12-08.pdf"
    assert file_name("agreement", _agreement(), "en") == "Repayment_agreement-郑海-2026-12-08.pdf"
