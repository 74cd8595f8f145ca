"""Issuing the papers of issue 19 and filing their signed copies: what the end of ``/commit``
(handlers/commit.py), the card's "📨 Serve a notice" and the filing of a photo
(handlers/papers.py) share, one layer below both.

A paper is issued (a ``legal_documents`` row, :meth:`LegalStore.issue_document`), made as a PDF
in the collector's language (:mod:`bot.documents`, in a worker thread) and queued in the outbox
as a Telegram document, so a send that fails is retried and goes out once: the outbox row's
dedupe key is the document and the finishing update's key, so a replayed update queues nothing
more, while asking again later sends the paper again. Issuing is made idempotent here, by the
paper's natural key (a commitment has one agreement; an addressee has one unsigned notice of a
day), since ``issue_document`` takes no key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.documents import (
    Issuer,
    PdfError,
    agreement_paper,
    file_name,
    make_pdf,
    notice_paper,
)
from bot.domain.casefile import CaseFile, CaseSummary, local_date
from bot.domain.commitments import Commitment, CommitmentStatus
from bot.domain.legal import (
    ClaimState,
    DocumentKind,
    GuarantorClock,
    LegalDocument,
    LimitationClock,
    legal_clocks,
)
from bot.storage.records import NewOutboxMessage
from bot.telegram_io import wake

if TYPE_CHECKING:
    from bot.context import QingshouContext

log = logging.getLogger(__name__)

__all__ = [
    "MAX_UNSIGNED",
    "Filed",
    "send_agreement",
    "send_notice",
    "signed_copy_effect",
    "unsigned_papers",
]

#: The photo's question lists at most this many papers waiting for their signed copy, newest
#: first (a collector's papers of the last weeks; older ones are rare and still on the card).
MAX_UNSIGNED = 8

#: The papers whose signed copy restarts a clock (a court filing is recorded otherwise).
SIGNABLE = (DocumentKind.COLLECTION_NOTICE, DocumentKind.REPAYMENT_AGREEMENT)


def _issuer(context: QingshouContext) -> Issuer:
    user = context.user
    assert user is not None
    settings = context.settings
    return Issuer(settings.coop_name, settings.coop_contact, user.name)


def _today(context: QingshouContext, now: datetime) -> date:
    return local_date(now, context.settings.tz)


async def _queue(
    context: QingshouContext,
    *,
    template: str,
    params: dict[str, object],
    pdf: bytes,
    filename: str,
    dedupe_key: str,
    now: datetime,
) -> None:
    user = context.user
    assert user is not None
    await context.storage.enqueue(
        NewOutboxMessage(
            user_id=user.id,
            template=template,
            params=params,
            media="document",
            attachment=pdf,
            filename=filename,
            dedupe_key=dedupe_key,
            priority=0,
        ),
        now=now,
    )
    wake(context)


async def send_agreement(
    context: QingshouContext,
    case_file: CaseFile,
    commitment: Commitment,
    *,
    owed_before: int,
    now: datetime,
    key: str,
) -> int | None:
    """Issue the repayment agreement of an agreed ``commitment`` (once per commitment) and
    queue its PDF to the collector; the document's id. None: the commitment is not agreed
    (it waits for the supervisor), or the PDF could not be made (logged; the commitment
    stands)."""
    user = context.user
    assert user is not None
    if commitment.status is not CommitmentStatus.AGREED:
        return None
    storage = context.storage
    documents = await storage.case_documents(case_file.id)
    existing = next(
        (
            d
            for d in documents
            if d.kind is DocumentKind.REPAYMENT_AGREEMENT and d.commitment_id == commitment.id
        ),
        None,
    )
    paper = agreement_paper(
        case_file,
        commitment,
        # A draft of before the debt was kept in it says 0: the plan is then the least owed.
        owed_before=max(owed_before, commitment.money_today + commitment.total),
        today=_today(context, now),
        issuer=_issuer(context),
    )
    try:
        pdf = await make_pdf(context.locale, "agreement", paper)
    except PdfError:
        log.exception("the agreement of commitment %s could not be made", commitment.id)
        return None
    document_id = (
        existing.id
        if existing is not None
        else await storage.issue_document(
            case_file.id,
            DocumentKind.REPAYMENT_AGREEMENT,
            None,
            commitment.id,
            user.id,
            now,
        )
    )
    await _queue(
        context,
        template="papers/agreement_caption",
        params={
            "borrower": paper.borrower.name,
            "contract": paper.contract_no,
            "spouses": [p.name for p in paper.spouses],
            "guarantors": [p.name for p in paper.guarantors],
        },
        pdf=pdf,
        filename=file_name("agreement", paper, context.locale),
        dedupe_key=f"paper:{document_id}:{key}",
        now=now,
    )
    return document_id


async def send_notice(
    context: QingshouContext,
    case_file: CaseFile,
    addressee: int | None,
    *,
    now: datetime,
    key: str,
) -> int:
    """Issue a collection notice to ``addressee`` (a related party's id; None: the borrower)
    and queue its PDF to the collector; the document's id. The same person's unsigned notice
    issued today is sent again rather than issued twice. Raises ``LookupError`` for a party
    not on the case, :class:`PdfError` when the PDF could not be made."""
    user = context.user
    assert user is not None
    storage = context.storage
    tz = context.settings.tz
    today = _today(context, now)
    paper = notice_paper(case_file, addressee, today=today, issuer=_issuer(context))
    pdf = await make_pdf(context.locale, "notice", paper)
    documents = await storage.case_documents(case_file.id)
    same = [
        d
        for d in documents
        if d.kind is DocumentKind.COLLECTION_NOTICE
        and d.party_id == addressee
        and not d.filed
        and local_date(d.issued_at, tz) == today
    ]
    document_id = (
        same[-1].id
        if same
        else await storage.issue_document(
            case_file.id, DocumentKind.COLLECTION_NOTICE, addressee, None, user.id, now
        )
    )
    await _queue(
        context,
        template="papers/notice_caption",
        params={
            "name": paper.addressee.name,
            "guarantor": addressee is not None,
            "contract": paper.contract_no,
        },
        pdf=pdf,
        filename=file_name("notice", paper, context.locale),
        dedupe_key=f"paper:{document_id}:{key}",
        now=now,
    )
    return document_id


@dataclass(frozen=True, slots=True)
class UnsignedPaper:
    """A paper waiting for its signed copy, with its case (for the button's words)."""

    document: LegalDocument
    summary: CaseSummary


async def unsigned_papers(
    context: QingshouContext, *, case_id: int | None = None
) -> list[UnsignedPaper]:
    """The papers of the person's cases (or of ``case_id``) still waiting for their signed
    copy, newest first, at most :data:`MAX_UNSIGNED`."""
    user = context.user
    assert user is not None
    storage = context.storage
    summaries = await storage.list_cases(user)
    if case_id is not None:
        summaries = [s for s in summaries if s.id == case_id]
    found: list[UnsignedPaper] = []
    # One read per case: a collector's open cases are tens (LegalStore has no read of a
    # viewer's unsigned papers yet; see the branch's report).
    for summary in summaries:
        for document in await storage.case_documents(summary.id):
            if document.kind in SIGNABLE and not document.filed:
                found.append(UnsignedPaper(document, summary))
    found.sort(key=lambda p: (p.document.issued_at, p.document.id), reverse=True)
    return found[:MAX_UNSIGNED]


@dataclass(frozen=True, slots=True)
class Filed:
    """What filing a signed copy changed, for the reply: the case's limitation (a paper of
    the borrower's) or the guarantor's clock (a notice to a guarantor)."""

    document: LegalDocument
    summary: CaseSummary
    limitation: LimitationClock | None
    guarantor: GuarantorClock | None

    @property
    def claimed(self) -> bool:
        return self.guarantor is not None and self.guarantor.state is ClaimState.CLAIMED


async def signed_copy_effect(
    context: QingshouContext, document: LegalDocument, summary: CaseSummary, *, today: date
) -> Filed:
    """The clocks of the case after ``document`` was filed."""
    facts = await context.storage.legal_facts(document.case_id)
    if facts is None:
        return Filed(document, summary, None, None)
    clocks = legal_clocks(facts, today)
    if document.party_id is None:
        return Filed(document, summary, clocks.limitation, None)
    guarantor = next((g for g in clocks.guarantors if g.party_id == document.party_id), None)
    return Filed(document, summary, None, guarantor)
