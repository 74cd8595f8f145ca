"""The papers of issue 19 as PDF files: the collection notice (催收通知书, with its 回执) and the
repayment agreement (还款协议). docs/documents.md says why Typst makes them.

Each paper is a Jinja2 template under ``templates/documents/`` that writes Typst markup, with
words from the same gettext catalogs as every message, so one template serves English, 简体中文
and 繁體中文. Every value a template prints — a name, a translated sentence, an amount — lands in
the markup as a Typst string literal (``#"…";``), never as markup: a borrower called
``*张_三* // #x`` stays those characters, as the message templates' HTML escaping keeps a ``<``.
Layout lives only in the templates' own text.

The papers are built from what the bot stores (:class:`~bot.domain.casefile.CaseFile`, a
:class:`~bot.domain.commitments.Commitment`) by :func:`notice_paper` and
:func:`agreement_paper`; :func:`render_pdf` makes the file (~15 ms, Typst compiles without
the GIL) and :func:`make_pdf` does it in a worker thread, so the event loop only awaits.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import cn2an
import jinja2
from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency

from bot.domain.casefile import CaseFile
from bot.domain.cases import PartyRole
from bot.domain.commitments import Commitment
from bot.i18n import N_, SUPPORTED_LOCALES, babel_locale, translations
from bot.render import TEMPLATE_DIR

__all__ = [
    "NOTICE_PAY_DAYS",
    "AgreementPaper",
    "Issuer",
    "NoticePaper",
    "Party",
    "PdfError",
    "agreement_paper",
    "document_fonts",
    "file_name",
    "make_pdf",
    "notice_paper",
    "render_pdf",
    "render_source",
    "rmb_words",
]

#: A notice asks for the money by a fixed day this many days after it is issued: a demand
#: with a date, never "as soon as possible" (策略5 refuses vague dates in the bot too).
NOTICE_PAY_DAYS = 7


class PdfError(Exception):
    """Typst refused the markup (a template bug): the document was not made."""


@dataclass(frozen=True, slots=True)
class Issuer:
    """Who issues the paper: the cooperative (``QINGSHOU_COOP_NAME``, empty: the template says
    "the cooperative"), how to reach it (``QINGSHOU_COOP_CONTACT``) and the collector."""

    cooperative: str
    contact: str
    collector: str


@dataclass(frozen=True, slots=True)
class Party:
    """A person on a paper. ``role`` ``None``: the borrower."""

    name: str
    role: PartyRole | None = None
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None
    party_id: int | None = None


@dataclass(frozen=True, slots=True)
class NoticePaper:
    """A collection notice to one person (策略9: the borrower, or one guarantor).

    Amounts in fen: ``balance`` the loan's balance (贷款余额), ``overdue_principal`` and
    ``overdue_interest`` the ledger's, ``paid_since`` money recorded in the bot since the
    ledger's figures, ``owed`` what is owed today (:attr:`CaseSummary.owed`)."""

    addressee: Party
    borrower: Party
    contract_no: str
    balance: int
    due_on: date | None
    overdue_principal: int
    overdue_interest: int
    paid_since: int
    owed: int
    today: date
    pay_by: date
    issuer: Issuer


@dataclass(frozen=True, slots=True)
class AgreementPaper:
    """A repayment agreement made from a commitment: the debt before today's money, the money
    today, each instalment (date, fen), what the plan leaves open, and the parties who sign."""

    borrower: Party
    spouses: tuple[Party, ...]
    guarantors: tuple[Party, ...]
    contract_no: str
    owed_before: int
    money_today: int
    instalments: tuple[tuple[date, int], ...]
    left_open: int
    today: date
    issuer: Issuer

    @property
    def planned(self) -> int:
        return sum(amount for _, amount in self.instalments)


def _borrower(file: CaseFile) -> Party:
    b = file.case.borrower
    return Party(name=b.name, id_number=b.id_number, phone=b.phone, address=b.address)


def _party(file: CaseFile, role: PartyRole) -> tuple[Party, ...]:
    return tuple(
        Party(name=r.party.name, role=role, phone=r.party.phone, party_id=r.id)
        for r in file.parties
        if r.party.role is role
    )


def notice_paper(
    file: CaseFile, addressee_id: int | None, *, today: date, issuer: Issuer
) -> NoticePaper:
    """The notice of ``file``'s loan to ``addressee_id`` (a related party's id; ``None``: the
    borrower). The due date is the loan's 到期日, else the missed due date the ledger gives.
    Raises ``LookupError`` when ``addressee_id`` is not one of the case's parties."""
    borrower = _borrower(file)
    if addressee_id is None:
        addressee = borrower
    else:
        found = [r for r in file.parties if r.id == addressee_id]
        if not found:
            raise LookupError(f"party {addressee_id} is not on case {file.id}")
        r = found[0]
        addressee = Party(name=r.party.name, role=r.party.role, phone=r.party.phone, party_id=r.id)
    s = file.summary
    loan = file.case.loan
    return NoticePaper(
        addressee=addressee,
        borrower=borrower,
        contract_no=s.contract_no,
        balance=s.principal_outstanding if s.balance_known else s.overdue_principal,
        due_on=loan.maturity or loan.overdue_since,
        overdue_principal=s.overdue_principal,
        overdue_interest=s.overdue_interest,
        paid_since=min(s.paid_since_figures, s.total_overdue),
        owed=s.owed,
        today=today,
        pay_by=today + timedelta(days=NOTICE_PAY_DAYS),
        issuer=issuer,
    )


def agreement_paper(
    file: CaseFile, commitment: Commitment, *, owed_before: int, today: date, issuer: Issuer
) -> AgreementPaper:
    """The agreement of ``commitment`` on ``file``'s loan. ``owed_before`` is what was owed
    before today's money (:meth:`CaseSummary.owed_before`); what the plan leaves unpaid is
    written down as still owed, never silently dropped."""
    instalments = tuple((i.due_on, i.amount) for i in commitment.instalments)
    planned = sum(a for _, a in instalments)
    return AgreementPaper(
        borrower=_borrower(file),
        spouses=_party(file, PartyRole.SPOUSE),
        guarantors=_party(file, PartyRole.GUARANTOR),
        contract_no=file.summary.contract_no,
        owed_before=owed_before,
        money_today=commitment.money_today,
        instalments=instalments,
        left_open=max(owed_before - commitment.money_today - planned, 0),
        today=today,
        issuer=issuer,
    )


# --- rendering ------------------------------------------------------------------------------

#: 大写 in traditional characters: cn2an writes the simplified ones.
_TRADITIONAL_DIGITS = str.maketrans({"万": "萬", "亿": "億", "贰": "貳", "叁": "參", "陆": "陸"})


def rmb_words(fen: int, locale: str) -> str:
    """The amount in capital Chinese numerals (大写), as a cheque or a contract writes it:
    ``5321540`` → ``伍万叁仟贰佰壹拾伍元肆角`` (繁體: ``伍萬參仟貳佰壹拾伍元肆角``), zero as
    ``零元整``. Empty in English."""
    if not locale.startswith("zh"):
        return ""
    words = "零元整" if fen == 0 else str(cn2an.an2cn(str(Decimal(fen).scaleb(-2)), "rmb"))
    return words.translate(_TRADITIONAL_DIGITS) if locale == "zh_Hant" else words


class _Code(str):
    """Typst code a template made on purpose (:func:`_string`): printed as it is."""

    __slots__ = ()


def _string(value: Any) -> _Code:
    """``value`` as a Typst string literal, for code (``#set document(title: …)``)."""
    text = "" if value is None else str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return _Code('"' + escaped.replace("\r", "").replace("\t", " ") + '"')


def typst_text(value: Any) -> str:
    """``value`` as a Typst string literal in markup: shown as text, whatever it holds. The
    ``;`` ends the embedded expression, so a ``.`` after it is text, not a method call."""
    if isinstance(value, _Code):
        return value
    return f"#{_string(value)};"


@functools.cache
def _env(locale: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        finalize=typst_text,
        auto_reload=False,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    bl = babel_locale(locale)
    wl: Locale = Locale.parse("zh_Hant") if locale == "zh_Hant" else bl

    def money(fen: int) -> str:
        return format_currency(Decimal(fen).scaleb(-2), "CNY", locale=bl)

    def long_date(value: date) -> str:
        return format_date(value, "long", locale=bl)

    def weekday_date(value: date) -> str:
        return format_skeleton("yMMMEd", value, locale=wl)

    env.filters.update(
        money=money,
        long_date=long_date,
        weekday_date=weekday_date,
        words=lambda fen: rmb_words(fen, locale),
        string=_string,
        numeral=lambda n: str(cn2an.an2cn(n)) if locale.startswith("zh") else str(n),
    )
    env.globals["locale"] = locale
    return env


def render_source(locale: str, name: str, paper: NoticePaper | AgreementPaper) -> str:
    """The Typst markup of ``templates/documents/<name>.typ.j2`` for ``paper`` in ``locale``."""
    env = _env(locale if locale in SUPPORTED_LOCALES else "en")
    return env.get_template(f"documents/{name}.typ.j2").render(paper=paper)


@functools.cache
def document_fonts() -> tuple[str, ...]:
    """The folders Typst reads fonts from: the Noto Serif SC / Sans SC the project ships
    (``pylopdf-fonts-zh-cn``), and nothing of the system's, so a paper is the same on every
    machine."""
    import pylopdf_fonts_zh_cn

    return (str(Path(pylopdf_fonts_zh_cn.__file__).parent),)


def render_pdf(locale: str, name: str, paper: NoticePaper | AgreementPaper) -> bytes:
    """The PDF of ``paper`` (blocking: call :func:`make_pdf` on the event loop)."""
    import typst

    source = render_source(locale, name, paper).encode()
    try:
        # The stub's one type variable covers both the source (bytes) and the folders (str).
        pdf = typst.compile(  # type: ignore[misc]
            source, font_paths=list(document_fonts()), ignore_system_fonts=True
        )
    except typst.TypstError as exc:  # a template bug, never the user's input (all escaped)
        raise PdfError(f"{name}: {exc.message}") from None
    assert isinstance(pdf, bytes)
    return pdf


async def make_pdf(locale: str, name: str, paper: NoticePaper | AgreementPaper) -> bytes:
    """:func:`render_pdf` in a worker thread: Typst releases the GIL while it compiles."""
    return await asyncio.to_thread(render_pdf, locale, name, paper)


def file_name(name: str, paper: NoticePaper | AgreementPaper, locale: str) -> str:
    """The file's name as the collector sees it in the chat: the paper, the person, the day
    (``催收通知书-李保-2026-12-08.pdf``)."""
    titles = {"notice": N_("Collection notice"), "agreement": N_("Repayment agreement")}
    title = translations(locale if locale in SUPPORTED_LOCALES else "en").gettext(titles[name])
    person = paper.addressee.name if isinstance(paper, NoticePaper) else paper.borrower.name
    safe = "".join(ch for ch in person if ch.isalnum() or ch in "·-_ ").strip() or "-"
    return f"{title}-{safe}-{paper.today.isoformat()}.pdf".replace(" ", "_")
