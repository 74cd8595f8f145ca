"""Sample parameters for the case, assign and import templates (used by test_templates.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from bot.domain.casefile import (
    CaseFile,
    CaseNote,
    CaseSummary,
    LeadChange,
    LeadReason,
    LedgerGap,
    PartyRecord,
    PrepRecord,
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
from bot.domain.commitments import InstalmentStatus
from bot.domain.dates import DateError
from bot.domain.importing import ImportPlan
from bot.domain.instalments import InstalmentView
from bot.domain.legal import (
    GuaranteeKind,
    GuarantorFacts,
    LegalEvent,
    LegalEventKind,
    LegalFacts,
    legal_alerts,
    legal_clocks,
)
from bot.domain.prep import Approach, Character, PrepAnswers
from bot.domain.queue import RankedCase, page_of
from bot.domain.unknowns import Unknown, UnknownFact
from bot.domain.urgency import WEIGHTS, Deterioration, ScorePart, UrgencyScore
from bot.storage import ImportRecord
from bot.storage.records import StepDue

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
EVIL = "<b>Bad & Co</b>"


def summary(lead: str | None = EVIL) -> CaseSummary:
    return CaseSummary(
        id=7,
        contract_no="HT<1>&",
        borrower_name=EVIL,
        borrower_phone="138",
        status=CaseStatus.OPEN,
        team_id=1,
        team_name="东城<&>",
        lead_id=1 if lead else None,
        lead_name=lead,
        principal_outstanding=5_000_000,
        overdue_principal=4_000_000,
        overdue_interest=12_345,
        overdue_since=date(2026, 1, 5),
        previous_overdue_amount=3_000_000,
        collateral_value=None,
        deterioration=frozenset({Deterioration.BUSINESS_SLIDING}),
        strong_guarantor=False,
        high_default_cost=False,
        last_contact_at=None,
    )


ALL_PARTS = tuple(ScorePart(code, points) for code, points in WEIGHTS.items())
SCORE = UrgencyScore(sum(p.points for p in ALL_PARTS), ALL_PARTS, 329)
PARTY = RelatedParty(PartyRole.GUARANTOR, EVIL, "139", "兄弟<&>", Attitude.HOSTILE, EVIL)
CASE = Case(
    Borrower(EVIL, "3301", None, EVIL, None),
    Loan("HT<1>&", 4_000_000, date(2026, 1, 5), 5_000_000, 12_345, EVIL, date(2027, 1, 1)),
    Security(EVIL, EVIL, None),
    (PARTY,),
)
FILE = CaseFile(
    summary=summary(),
    case=CASE,
    parties=(
        *tuple(
            PartyRecord(i, RelatedParty(role, EVIL if i else ""))
            for i, role in enumerate(PartyRole)
        ),
        PartyRecord(9, PARTY),
    ),
    notes=(CaseNote(NOW, 1, EVIL, EVIL),),
    leads=(
        *(LeadChange(NOW, 1, EVIL, 2, EVIL, 3, EVIL, r) for r in LeadReason),
        LeadChange(NOW, 1, EVIL, 2, EVIL, 3, EVIL, LeadReason.OTHER, EVIL),
    ),
    created_at=NOW,
    imported_at=NOW,
    note_count=9,
)
UNKNOWNS = tuple(
    [UnknownFact(u, PartyRole.SPOUSE, EVIL, 1, 1, 1) for u in Unknown]
    + [
        UnknownFact(Unknown.PARTIES, PartyRole.GUARANTOR, None, 12, p, a)
        for p, a in ((12, 12), (3, 12), (12, 0), (0, 5), (2, 3))
    ]
)
PREPS = (
    PrepRecord(2, 1, NOW, 1, EVIL, PrepAnswers(character=Character.VAIN), Approach.FLATTERY,
               Approach.PRESSURE, EVIL),
    PrepRecord(1, 1, NOW, 1, EVIL, PrepAnswers(), Approach.PRESSURE),
)  # fmt: skip
PREPARED = replace(FILE, preps=PREPS)
#: A card's meetings and commitments when there are none (tests/unit/commit_template_samples
#: adds a card with both).
NO_MEETINGS = {"meetings": [], "commitments": [], "current": None, "unsettled": 0, "stalled": False}
VIEW = card_view(FILE, date(2026, 11, 30), UTC)

# Legal clocks (issue 19) on 30 Nov 2026: a loan due 1 Mar 2024, restarted by a signed agreement;
# a joint guarantor claimed, a general one running, one whose kind the file does not give, one
# lapsed. And a case with no due date at all, and one whose limitation ran out.
_LEGAL_ON = date(2026, 11, 30)
LEGAL_FACTS = LegalFacts(
    case_id=1,
    maturity=date(2026, 6, 8),
    overdue_since=date(2026, 6, 8),
    guarantors=(
        GuarantorFacts(11, "李保<b>", GuaranteeKind.JOINT),
        GuarantorFacts(12, "王担", GuaranteeKind.GENERAL),
        GuarantorFacts(13, "赵某"),
        GuarantorFacts(14, "钱某", GuaranteeKind.JOINT, agreed_end=date(2026, 10, 1)),
    ),
    mortgagors=((None, "商铺一间"),),
    events=(
        LegalEvent(date(2026, 9, 15), LegalEventKind.AGREEMENT_SIGNED, evidence="f"),
        LegalEvent(date(2026, 9, 1), LegalEventKind.NOTICE_SIGNED, party_id=11),
    ),
    borrower_name="王建国",
    contract_no="HT<2024>&001",
)
LEGAL = legal_clocks(LEGAL_FACTS, _LEGAL_ON)
LEGAL_PLAIN = legal_clocks(
    LegalFacts(2, maturity=date(2024, 12, 20), overdue_since=None, borrower_name="周强"), _LEGAL_ON
)
LEGAL_LOST = legal_clocks(
    LegalFacts(3, maturity=date(2023, 1, 5), overdue_since=None, guarantors=(
        GuarantorFacts(15, "孙保", GuaranteeKind.JOINT),)), _LEGAL_ON
)  # fmt: skip
LEGAL_UNDATED = legal_clocks(
    LegalFacts(4, maturity=None, overdue_since=None, guarantors=(GuarantorFacts(16, "吴某"),)),
    _LEGAL_ON,
)
#: /today's legal list: every action, the nearest first.
LEGAL_ALERTS = legal_alerts(
    [
        LEGAL,
        LEGAL_PLAIN,
        legal_clocks(
            LegalFacts(5, maturity=date(2026, 6, 10), overdue_since=None, guarantors=(
                GuarantorFacts(17, "李保", GuaranteeKind.JOINT),
                GuarantorFacts(18, "郑某"),
            ), borrower_name="郑海", contract_no="DC2024-0521"),
            _LEGAL_ON,
        ),
        legal_clocks(
            LegalFacts(6, maturity=date(2023, 12, 10), overdue_since=None, borrower_name="吴敏",
                       contract_no="DC2023-0007",
                       events=(LegalEvent(date(2024, 1, 5), LegalEventKind.NOTICE_SIGNED,
                                          party_id=19),),
                       guarantors=(GuarantorFacts(19, "冯保", GuaranteeKind.JOINT),)),
            _LEGAL_ON,
        ),
    ],
    _LEGAL_ON,
    30,
)  # fmt: skip
EMPTY = CaseFile(summary(None), Case(Borrower(EVIL), CASE.loan), (), (), (), NOW, NOW)
RECORD = ImportRecord(1, 1, "东城<&>", 1, NOW, "台账<&>.csv", None, "pending", {})
COUNTS = {"new": 3, "updated": 2, "unchanged": 1, "refused": 4, "no_lead": 2, "absent": 5}
NO_COUNTS = {"new": 0, "updated": 0, "unchanged": 0, "refused": 0, "no_lead": 0, "absent": 0}
PLAN = ImportPlan(team_id=1, rows=[], errors=[], unmapped_columns=[EVIL, "备注"])
MAPPING = [(EVIL, "borrower", 1), ("贷款余额(万元)", EVIL, 10_000), ("欠息(千元)", "x", 1_000)]


def _plan(columns: dict[str, str]) -> ImportPlan:
    from bot.domain.ledger import LedgerField

    return ImportPlan(
        team_id=1, rows=[], errors=[], columns={LedgerField(k): v for k, v in columns.items()}
    )


RANKED = [RankedCase(i, summary(), SCORE) for i in range(1, 13)]
TO_ANSWER = [
    InstalmentView(
        id=7, commitment_id=3, case_id=5, seq=seq, count=6, due_on=due, amount=100_000,
        paid=paid, status=InstalmentStatus.OPEN, commitment_status="agreed", borrower_name=EVIL,
        contract_no="HT<1>&", team_id=1, lead_id=2, answered_at=None, answered_by=None,
        miss_reasons=(), miss_note=None, settled_at=None,
    )
    for seq, due, paid in ((1, date(2026, 11, 25), 30_000), (2, date(2026, 12, 1), 0))
]  # fmt: skip
STEPS = [
    StepDue(5, EVIL, "HT<1>&", "sign_agreement", date(2026, 12, 1)),
    StepDue(6, EVIL, "HT<2>&", f"约担保人{EVIL}", date(2026, 11, 28)),
    StepDue(7, EVIL, "HT<3>&", None, date(2026, 11, 30)),
]
BROKEN = [
    replace(TO_ANSWER[0], status=InstalmentStatus.BROKEN, miss_reasons=reasons)
    for reasons in (("no_money", "dispute"), ())
]


def _user(role: str):
    from bot.domain.people import Role, User

    return User(1, 100001, EVIL, "evil", Role(role), 1, "东城<&>", None, "en", True, None, NOW)


CASE_SAMPLES: dict[str, list[dict[str, object]]] = {
    "cases/queue": [
        {"page": page_of(RANKED, 0), "today": False, "staff": True},
        {"page": page_of(RANKED, 1), "today": True, "staff": False},
        {"page": page_of([], 0), "today": True, "staff": False},
        {"page": page_of([], 0), "today": False, "staff": True},
        # /today with payments to answer: one due today, one from before with no answer.
        *(
            {
                "page": page,
                "today": True,
                "staff": False,
                "to_answer": TO_ANSWER,
                "broken": BROKEN,
                "steps": STEPS,
                "on": date(2026, 12, 1),
            }
            for page in (page_of(RANKED, 0), page_of([], 0))
        ),
        # /today with legal deadlines (issue 19): every action, and "and n more".
        *(
            {
                "page": page,
                "today": True,
                "staff": False,
                "legal": LEGAL_ALERTS,
                "more_legal": more,
                "on": date(2026, 11, 30),
            }
            for page, more in ((page_of(RANKED, 0), 0), (page_of([], 0), 3))
        ),
    ],
    "cases/card": [
        {
            "card": card_view(PREPARED, date(2026, 11, 30), UTC),
            "case_file": PREPARED,
            "summary": PREPARED.summary,
            **NO_MEETINGS,
        },
        {
            "card": replace(VIEW, score=SCORE, unknowns=UNKNOWNS, more_parties=4, more_notes=6),
            "case_file": FILE,
            "summary": FILE.summary,
            "legal": LEGAL,
            **NO_MEETINGS,
        },
        *(
            {"card": VIEW, "case_file": FILE, "summary": FILE.summary, "legal": legal}
            for legal in (LEGAL_PLAIN, LEGAL_LOST, LEGAL_UNDATED)
        ),
        {
            "card": replace(
                card_view(EMPTY, date(2026, 11, 30), UTC), score=UrgencyScore(0, (), 0), unknowns=()
            ),
            "case_file": EMPTY,
            "summary": EMPTY.summary,
            **NO_MEETINGS,
        },
        {  # a file without balance, collateral and guarantor columns
            "card": VIEW,
            "case_file": FILE,
            "summary": replace(FILE.summary, ledger_gaps=frozenset(LedgerGap)),
        },
        *(
            {  # money recorded since the ledger, a plan's next date (passed, today, later), broken
                "card": VIEW,
                "case_file": FILE,
                "summary": replace(
                    FILE.summary,
                    paid_since_figures=300_000,
                    broken_promises=2,
                    promise_dates=(due, date(2027, 1, 25)),
                ),
                "legal": LEGAL,
                **NO_MEETINGS,
            }
            for due in (date(2026, 11, 25), date(2026, 11, 30), date(2026, 12, 25))
        ),
    ],
    "cases/card_cut": [{"summary": summary()}],
    # The card's 📄: the same case files, the rest of what is known about them.
    "cases/unknowns": [{"summary": summary(), "unknowns": u} for u in (UNKNOWNS, ())],
    "cases/usage": [{}, {"example": "HT<1>&"}],
    "cases/not_found": [{"query": EVIL}, {"query": EVIL, "text": EVIL}],
    "cases/choose": [{"query": EVIL, "more": m} for m in (True, False)],
    "cases/note_saved": [{"summary": summary(), "text": EVIL}],
    "cases/note_usage": [{}],
    "assign/usage": [{}],
    "assign/not_allowed": [{}],
    "assign/choose_collector": [
        {"summary": summary(lead), "has_choice": c} for lead in (EVIL, None) for c in (True, False)
    ],
    "assign/warning": [{"summary": summary(), "target": _user("collector")}],
    "assign/done": [
        {
            "summary": summary(),
            "change": LeadChange(NOW, f, EVIL if f else None, 2, EVIL, 3, EVIL, r, n),
        }
        for f in (1, None)
        for r, n in ((LeadReason.WORKLOAD, None), (LeadReason.OTHER, EVIL))
    ],
    "assign/cancelled": [{"summary": summary()}],
    "assign/reason_prompt": [{"summary": summary(), "target": _user("collector")}],
    "assign/reason_lost": [{"text": EVIL}],
    "assign/notify_new": [
        {
            "by": EVIL,
            "borrower": EVIL,
            "contract_no": "HT<1>",
            "reason": r.value,
            "case_id": 1,
            "previous": p,
        }
        for r in LeadReason
        for p in (EVIL, None)
    ],
    "assign/notify_previous": [
        {
            "by": EVIL,
            "borrower": EVIL,
            "contract_no": "HT<1>",
            "reason": "workload",
            "case_id": 1,
            "to": EVIL,
            "note": EVIL,
        }
    ],
    "imports/not_allowed": [{}],
    "imports/refused": [
        {"problem": p, "file_name": EVIL} for p in ("too_big", "xls", "empty", "wrong_type")
    ],
    "imports/choose_team": [{"data": {"file_name": EVIL}, "teams": t} for t in ([], ["x"])],
    "imports/decide": [
        {"data": {"file_name": EVIL, "team_name": EVIL, "summary": {"new": 3, "updated": 0}}}
    ],
    "imports/lost": [{"data": {}, "text": ""}],
    "imports/reading": [{"record": RECORD}],
    "imports/unreadable": [
        {"record": RECORD, "code": c, "missing": ["contract number", "borrower"], "line": "1"}
        for c in ("ledger.missing_columns", "ledger.xls_unsupported", "ledger.empty", "x")
    ]
    + [
        {"record": RECORD, "code": c, "missing": [], "line": None, "params": p}
        for c, p in (
            ("ledger.no_header", {"rows": "20"}),
            ("ledger.too_many_rows", {"max": "200000"}),
            ("ledger.too_many_columns", {"columns": "10000", "max": "1000", "line": "1"}),
            ("ledger.too_large", {"mb": "512"}),
            ("ledger.too_slow", {"seconds": "180"}),
            ("ledger.reader_failed", {}),
            *(
                ("ledger.unreadable", {"reason": r})
                for r in ("zip", "xml", "unsafe", "workbook", "encoding", "csv")
            ),
        )
    ],
    "imports/preview": [
        {"record": RECORD, "summary": COUNTS, "plan": PLAN, "mapping": MAPPING, "can_import": c}
        for c in (True, False)
    ]
    + [
        {
            "record": RECORD,
            "summary": NO_COUNTS,
            "plan": _plan(cols),
            "mapping": [],
            "can_import": True,
        }
        for cols in ({"collector": EVIL, "loan_receipt_no": EVIL}, {"loan_officer": EVIL})
    ],
    "imports/errors_caption": [{"refused": 4, "no_lead": n} for n in (0, 2)]
    + [{"refused": 0, "no_lead": 2}],
    "imports/new_cases": [{"count": 3, "team": EVIL, "import_id": 1}],
    "imports/importing": [{"record": RECORD}],
    "imports/applied": [{"record": RECORD, "summary": COUNTS}],
    "imports/cancelled": [{"record": RECORD}],
    "imports/already_done": [{"record": RECORD}],
    # A ledger sent while another question was open (issue 16).
    "imports/held": [{"file_name": EVIL}],
    "imports/held_offer": [{"file_name": EVIL}],
    "imports/held_discarded": [{"file_name": EVIL}],
    "imports/held_gone": [{}],
}

# The guarantee kind asked from the card (handlers/guarantee.py, issue 19).
_GUARANTOR = GuarantorFacts(11, "李保<b>", GuaranteeKind.JOINT)
CASE_SAMPLES["guarantee/choose_guarantor"] = [{"summary": summary(), "count": 2}]
CASE_SAMPLES["guarantee/ask_kind"] = [
    {"summary": summary(), "guarantor": g, "count": 1} for g in (_GUARANTOR, None)
]
CASE_SAMPLES["guarantee/done"] = [
    {"summary": summary(), "guarantor": g, "silent": silent}
    for g, silent in (
        (_GUARANTOR, False),
        (GuarantorFacts(12, "王担", GuaranteeKind.GENERAL), True),
        (GuarantorFacts(13, "李保", GuaranteeKind.JOINT, date(2027, 6, 30)), False),
    )
]
CASE_SAMPLES["guarantee/ask_period"] = [{"summary": summary(), "guarantor": _GUARANTOR}]
CASE_SAMPLES["guarantee/ask_end"] = [{}]
CASE_SAMPLES["guarantee/bad_end"] = [
    {
        "error": DateError(
            "date.ambiguous", {"text": "03/04", "first": "2027-03-04", "second": "2027-04-03"}
        )
    },
    {"error": DateError("date.unparseable", {"text": "<b>明年夏天</b> & co"})},
]
CASE_SAMPLES["guarantee/not_yet"] = [{"summary": summary(), "guarantor": _GUARANTOR}]
CASE_SAMPLES["guarantee/lost"] = [{}]

# The card's 📄 (cases/file, cases/history) renders the same case files as the card.
CASE_SAMPLES["cases/file"] = CASE_SAMPLES["cases/card"]
CASE_SAMPLES["cases/history"] = CASE_SAMPLES["cases/card"]
