"""Sample parameters for the answers to a reminder (templates/instalments, see test_templates):
every state, hostile names and words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from bot.domain.commitments import InstalmentStatus
from bot.domain.instalments import Answered, InstalmentView
from handlers.instalments import MissedDraft
from tests.unit.case_template_samples import EVIL

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
DUE = date(2026, 12, 1)

OPEN = InstalmentView(
    id=7, commitment_id=3, case_id=5, seq=1, count=6, due_on=DUE, amount=100_000, paid=0,
    status=InstalmentStatus.OPEN, commitment_status="agreed", borrower_name=EVIL,
    contract_no="HT<1>&", team_id=1, lead_id=2, answered_at=None, answered_by=None,
    miss_reasons=(), miss_note=None, settled_at=None,
)  # fmt: skip
KEPT = replace(OPEN, status=InstalmentStatus.KEPT, paid=100_000, settled_at=NOW)
PARTIAL = replace(OPEN, status=InstalmentStatus.PARTIAL, paid=30_000)
BROKEN = replace(OPEN, status=InstalmentStatus.BROKEN, settled_at=NOW, miss_reasons=("no_money",))
CANCELLED = replace(OPEN, status=InstalmentStatus.CANCELLED)
STATES = [KEPT, PARTIAL, BROKEN, CANCELLED]

INSTALMENT_SAMPLES: dict[str, list[dict[str, object]]] = {
    "instalments/label": [{"instalment": i} for i in STATES],
    "instalments/already": [{"instalment": i} for i in STATES],
    "instalments/paid_toast": [
        {"instalment": KEPT, "answer": Answered(KEPT, True, paid_now=70_000)}
    ],
    "instalments/ask_partial": [
        {"instalment": OPEN, "data": {}},
        {"instalment": PARTIAL, "data": {}},
    ],
    "instalments/partial_too_much": [{"amount": 120_000, "rest": 100_000}],
    "instalments/partial_done": [
        {"instalment": PARTIAL, "answer": Answered(PARTIAL, True, paid_now=30_000)},
        {"instalment": KEPT, "answer": Answered(KEPT, True, paid_now=70_000)},
    ],
    "instalments/ask_reason": [
        {"instalment": OPEN, "data": MissedDraft()},
        # The flow's draft, read from a row of the untyped flow.
        {
            "instalment": OPEN,
            "data": MissedDraft.from_legacy(
                {
                    "instalment_id": 1,
                    "_rest": 100_000,
                    "reason": [0],
                    "reason_text": "<i>工资</i> & 下周",
                }
            ),
        },
    ],
    "instalments/missed_done": [
        {"instalment": BROKEN, "answer": Answered(BROKEN, True, told=1), "until": DUE},
        {"instalment": BROKEN, "answer": Answered(BROKEN, True, told=0), "until": DUE},
        {"instalment": OPEN, "answer": Answered(OPEN, True, late=True), "until": DUE},
    ],
    "instalments/broken_for_supervisor": [
        {
            "borrower": EVIL,
            "contract": "HT<1>&",
            "case_id": 5,
            "seq": 1,
            "count": 6,
            "due_on": "2026-12-01",
            "amount": 100_000,
            "paid": 30_000,
            "collector": EVIL,
            "reasons": ["no_money", "unreachable", "refused", "later", "dispute", "other"],
            "note": "<b>说</b> & 月底",
        },
        {
            "borrower": "张三",
            "contract": "HT1",
            "case_id": 5,
            "seq": 2,
            "count": 2,
            "due_on": "2026-12-08",
            "amount": 100_000,
            "paid": 0,
            "collector": "张伟",
            "reasons": [],
            "note": "",
        },
    ],
    "instalments/lost": [{"text": "", "data": {}}, {"text": "<b>300</b>", "data": {}}],
    # Answers typed under a reminder (issue 16): none waits; several wait, which one?
    "instalments/typed_none": [{}],
    "instalments/typed_not_there": [{}],
    "instalments/typed_which": [{"items": [OPEN, PARTIAL]}],
}
