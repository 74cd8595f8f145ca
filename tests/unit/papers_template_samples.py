"""Sample parameters for the papers' messages (templates/papers, issue 19; see test_templates)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.dates import DateError
from bot.domain.legal import (
    ClaimState,
    DocumentKind,
    DueBasis,
    GuaranteeKind,
    GuarantorClock,
    LegalDocument,
    LegalEvent,
    LegalEventKind,
    LimitationClock,
)
from bot.papers import Filed
from tests.unit.case_template_samples import EVIL, summary

AT = datetime(2026, 11, 30, 1, tzinfo=UTC)
SIGNED = date(2026, 11, 30)


def _document(kind: DocumentKind, party: str | None) -> LegalDocument:
    return LegalDocument(
        id=3, case_id=1, kind=kind, party_id=None if party is None else 7, party_name=party,
        commitment_id=None, issued_at=AT, issued_by=2, signed_on=SIGNED,
        evidence_file_id="photo", filed_by=2, filed_at=AT,
    )  # fmt: skip


NOTICE = _document(DocumentKind.COLLECTION_NOTICE, None)
AGREEMENT = _document(DocumentKind.REPAYMENT_AGREEMENT, None)
TO_GUARANTOR = _document(DocumentKind.COLLECTION_NOTICE, EVIL)
EVENT = LegalEvent(SIGNED, LegalEventKind.NOTICE_SIGNED, document_id=3)


def _limitation(set_by: LegalEvent | None) -> LimitationClock:
    return LimitationClock(date(2029, 11, 30), set_by, date(2024, 3, 1), DueBasis.MATURITY)


def _guarantor(state: ClaimState, kind: GuaranteeKind | None) -> GuarantorClock:
    claimed = state is ClaimState.CLAIMED
    return GuarantorClock(
        party_id=7, name=EVIL, kind=kind,
        period_end=None if state is ClaimState.NO_DUE_DATE else date(2026, 12, 10),
        period_agreed=False, state=state, claim=EVENT if claimed else None,
        own_limitation=_limitation(EVENT) if claimed else None,
    )  # fmt: skip


FILED = [
    Filed(NOTICE, summary(), _limitation(EVENT), None),
    Filed(AGREEMENT, summary(), _limitation(None), None),
    Filed(NOTICE, summary(), LimitationClock(None, None, None, DueBasis.UNKNOWN), None),
    *(
        Filed(TO_GUARANTOR, summary(), None, _guarantor(state, kind))
        for state, kind in [
            (ClaimState.CLAIMED, GuaranteeKind.JOINT),
            (ClaimState.LAPSED, GuaranteeKind.JOINT),
            (ClaimState.KIND_UNKNOWN, None),
            (ClaimState.RUNNING, GuaranteeKind.GENERAL),
            (ClaimState.NO_DUE_DATE, None),
        ]
    ),
]

PAPERS_SAMPLES: dict[str, list[dict[str, object]]] = {
    "papers/agreement_caption": [
        {"borrower": EVIL, "contract": "HT1", "spouses": [EVIL], "guarantors": [EVIL, "李保"]},
        {"borrower": "张三", "contract": "HT1", "spouses": [], "guarantors": []},
    ],
    "papers/notice_caption": [
        {"name": EVIL, "guarantor": g, "contract": "HT1"} for g in (True, False)
    ],
    "papers/notice_usage": [{"example": "HT1"}, {}],
    "papers/ask_addressee": [{"summary": summary(), "data": {}}],
    "papers/notice_sent": [
        {"summary": summary(), "name": EVIL, "guarantor": g} for g in (True, False)
    ],
    "papers/notice_lost": [{"summary": summary(), "text": "", "data": {}}],
    "papers/bad_date": [
        {"error": DateError("date.future", {"text": "2027-01-05", "date": "2027-01-05"})},
        {
            "error": DateError(
                "date.ambiguous", {"text": "03/04", "first": "2026-03-04", "second": "2026-04-03"}
            )
        },
        {"error": DateError("date.unparseable", {"text": EVIL})},
    ],
    "papers/signed_before_issue": [{"issued": SIGNED, "day": date(2026, 11, 29)}],
    "papers/ask_document": [{"today": SIGNED, "data": {}}],
    "papers/ask_when": [{"today": SIGNED, "data": {}}],
    "papers/filing_lost": [{"text": "", "data": {}}],
    "papers/already_filed": [{"document": NOTICE, "summary": summary()}],
    "papers/nothing_to_file": [{}],
    "papers/filed": [{"filed": f, "summary": summary()} for f in FILED],
}
