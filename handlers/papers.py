"""The papers of issue 19: "📨 Serve a notice" on the card (or ``/notice <case>``) and the
photo of a signed copy sent back.

Read the two flows at the bottom first. A notice goes to one person — the borrower, or one
guarantor, each on their own paper (策略9) — and comes as a PDF document to print; the
agreement of a ``/commit`` comes the same way (handlers/commit.py). The collector has it
signed and sends a photo: the bot asks which paper it is (buttons: the person's papers still
waiting for their signed copy), the day it was signed (today by default), files it, and says
what changed — the limitation period restarted from the signing day, or the guarantor's claim
recorded in time (or too late).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar

from telegram import Update

from bot.context import QingshouContext
from bot.domain.casefile import CaseFile, local_date
from bot.domain.cases import PartyRole
from bot.domain.dates import DateError, parse_past_date
from bot.domain.legal import DocumentKind
from bot.flows import (
    ENGINE,
    Buttons,
    DateInput,
    Draft,
    Flow,
    FlowRun,
    Option,
    Refusal,
    Reply,
    Step,
    decode_with,
    register,
)
from bot.i18n import N_
from bot.lookup import case_entry, case_to_act_on
from bot.papers import send_notice, signed_copy_effect, unsigned_papers
from bot.routes import NOTICE

#: The borrower's option among the addressees (a party id is never 0).
BORROWER = 0

# -- serving a notice ---------------------------------------------------------------------------


def _people_of(raw: Any) -> tuple[tuple[int, str], ...]:
    return tuple((int(i), str(name)) for i, name in raw)


@dataclass(frozen=True, kw_only=True)
class NoticeDraft(Draft):
    """The case's guarantors to choose among (id, name), then the person chosen (0: the
    borrower)."""

    VERSION: ClassVar[int] = 1

    borrower: str = ""
    guarantors: tuple[tuple[int, str], ...] = field(default=(), metadata=decode_with(_people_of))
    addressee: int | None = None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


NoticeRun = FlowRun[NoticeDraft]


async def _notice_load(run: NoticeRun) -> dict[str, Any] | None:
    case_file = await case_to_act_on(run.context, run.case_id)
    if case_file is None:
        return None
    return {"summary": case_file.summary, "case_file": case_file}


#: The words after each person's name on the buttons.
BORROWER_WORD, GUARANTOR_WORD = N_("Borrower"), N_("Guarantor")


async def _addressees(run: NoticeRun) -> list[Option]:
    borrower, guarantor = run.context.label(BORROWER_WORD), run.context.label(GUARANTOR_WORD)
    options = [Option(BORROWER, BORROWER, f"👤 {run.draft.borrower} · {borrower}", translate=False)]
    options += [
        Option(i, i, f"🛡 {name} · {guarantor}", translate=False) for i, name in run.draft.guarantors
    ]
    return options


async def _serve(run: NoticeRun) -> Reply:
    """Issue the notice to the chosen person and send its PDF (a replay sends nothing more)."""
    case_file: CaseFile = run.params["case_file"]
    chosen = run.draft.addressee
    addressee = chosen or None
    name = dict(run.draft.guarantors).get(chosen or 0, case_file.summary.borrower_name)
    try:
        await send_notice(run.context, case_file, addressee, now=run.now, key=run.key)
    except LookupError:  # the guarantor left the case since the question was asked
        return Reply(run.context.render("papers/notice_lost", summary=case_file.summary))
    return Reply(
        run.context.render(
            "papers/notice_sent",
            summary=case_file.summary,
            name=name,
            guarantor=addressee is not None,
        )
    )


async def start_notice(update: Update, context: QingshouContext, case_file: CaseFile) -> None:
    """Ask whom the notice is for: the borrower or one of the case's guarantors."""
    guarantors = tuple(
        (p.id, p.party.name) for p in case_file.parties if p.party.role is PartyRole.GUARANTOR
    )
    draft = NoticeDraft(borrower=case_file.summary.borrower_name, guarantors=guarantors[:12])
    await ENGINE.start(update, context, NOTICE_FLOW, draft, case_id=case_file.id)


NOTICE_FLOW: Flow[NoticeDraft] = register(
    Flow(
        name="notice",
        title=N_("Collection notice"),
        draft=NoticeDraft,
        # ``/notice <name, contract or phone>``, and "📨 Serve a notice" on a card.
        entry=case_entry(
            start_notice, command="notice", button=NOTICE, icon="📨", usage="papers/notice_usage"
        ),
        steps=(Step("addressee", "papers/ask_addressee", Buttons(_addressees)),),
        load=_notice_load,
        on_finish=_serve,
        lost="papers/notice_lost",
    )
)


# -- the signed copy sent back ------------------------------------------------------------------

TODAY, YESTERDAY, OTHER_DAY = "today", "yesterday", "other"


def _papers_of(raw: Any) -> tuple[tuple[int, str, str], ...]:
    return tuple((int(i), str(label), str(issued)) for i, label, issued in raw)


@dataclass(frozen=True, kw_only=True)
class SignedDraft(Draft):
    """The photo (Telegram's file id), the papers it may be for (document id, the button's
    words, the local day it was issued), then the answers: which paper, and when signed."""

    VERSION: ClassVar[int] = 1

    file_id: str = ""
    papers: tuple[tuple[int, str, str], ...] = field(default=(), metadata=decode_with(_papers_of))
    document: int | None = None
    when: str | None = None
    signed_on: str | None = None  # the typed day, ISO (a draft holds JSON values)

    LEGACY_SAME_NAMES: ClassVar[bool] = True

    def issued_on(self) -> date | None:
        found = [issued for i, _, issued in self.papers if i == self.document]
        return date.fromisoformat(found[0]) if found else None


SignedRun = FlowRun[SignedDraft]


def _today(run: FlowRun[Any]) -> date:
    return local_date(run.now, run.context.settings.tz)


async def _signed_load(run: SignedRun) -> dict[str, Any] | None:
    return {"today": _today(run)}


async def _paper_options(run: SignedRun) -> list[Option]:
    return [Option(i, i, label, translate=False) for i, label, _ in run.draft.papers]


async def _day_options(run: SignedRun) -> list[Option]:
    today = _today(run)
    issued = run.draft.issued_on() or today
    options = [Option(0, TODAY, N_("Signed today"))]  # not "Today": /today's title
    if issued < today:  # signed before it was printed: impossible
        options.append(Option(1, YESTERDAY, N_("Yesterday")))
    options.append(Option(2, OTHER_DAY, N_("Another day")))
    return options


def _parse_day(text: str, today: date) -> date | Refusal:
    try:
        return parse_past_date(text, today)
    except DateError as exc:
        return Refusal("papers/bad_date", {"error": exc})


def _not_before_issue(day: date, run: SignedRun) -> date | Refusal:
    issued = run.draft.issued_on()
    if issued is not None and day < issued:
        return Refusal("papers/signed_before_issue", {"issued": issued, "day": day})
    return day


async def _file(run: SignedRun) -> Reply:
    """File the photo as the paper's signed copy (keyed: once) and say what changed."""
    context = run.context
    user = context.user
    assert user is not None
    draft = run.draft
    today = _today(run)
    typed = date.fromisoformat(draft.signed_on) if draft.signed_on else today
    signed_on = {TODAY: today, YESTERDAY: today - timedelta(days=1)}.get(draft.when or "", typed)
    document = (
        None if draft.document is None else await context.storage.get_document(draft.document)
    )
    case_file = None if document is None else await case_to_act_on(context, document.case_id)
    if document is None or case_file is None:
        return Reply(context.render("papers/filing_lost"))
    if document.filed and document.evidence_file_id != draft.file_id:
        return Reply(
            context.render("papers/already_filed", document=document, summary=case_file.summary)
        )
    filed = await context.storage.file_signed_copy(
        document.id, signed_on, draft.file_id, user.id, run.now, key=run.key
    )
    if filed is None:
        return Reply(context.render("papers/filing_lost"))
    effect = await signed_copy_effect(context, filed, case_file.summary, today=today)
    return Reply(context.render("papers/filed", filed=effect, summary=case_file.summary))


def _paper_label(context: QingshouContext, kind: DocumentKind, person: str, case: str) -> str:
    title = N_("Notice") if kind is DocumentKind.COLLECTION_NOTICE else N_("Agreement")
    return f"{context.label(title)} · {person} · {case}"


def _image_file_id(update: Update) -> str | None:
    """The file id of a photo, or of an image sent as a file; None for anything else."""
    message = update.effective_message
    if message is None:
        return None
    if message.photo:
        return message.photo[-1].file_id
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        return document.file_id
    return None


async def signed_copy(update: Update, context: QingshouContext) -> bool:
    """A photo (or an image file) with no question open: ask which paper's signed copy it is,
    if any waits. False for another kind of file (a ledger), which is not for this flow."""
    file_id = _image_file_id(update)
    message = update.effective_message
    if file_id is None or message is None:
        return False
    papers = await unsigned_papers(context)
    if not papers:
        await message.reply_text(context.render("papers/nothing_to_file"))
        return True
    tz = context.settings.tz
    choices = tuple(
        (
            p.document.id,
            _paper_label(
                context,
                p.document.kind,
                p.document.party_name or p.summary.borrower_name,
                p.summary.contract_no,
            ),
            local_date(p.document.issued_at, tz).isoformat(),
        )
        for p in papers
    )
    await ENGINE.start(update, context, SIGNED_FLOW, SignedDraft(file_id=file_id, papers=choices))
    return True


SIGNED_FLOW: Flow[SignedDraft] = register(
    Flow(
        name="signed_copy",
        title=N_("Signed copy"),
        draft=SignedDraft,
        # Started by a photo sent with no question open (handlers/__init__.py).
        steps=(
            Step("document", "papers/ask_document", Buttons(_paper_options)),
            Step("when", "papers/ask_when", Buttons(_day_options, columns=2)),
            Step(
                "signed_on",
                "papers/ask_when",
                DateInput(_parse_day, calendar=True, validate=_not_before_issue),
                skip=lambda run: run.draft.when != OTHER_DAY,
            ),
        ),
        load=_signed_load,
        on_finish=_file,
        lost="papers/filing_lost",
        expires=timedelta(days=1),
    )
)
