"""Sample parameters for the /outcome, /commit and approval templates (see test_templates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from bot.domain.commitments import (
    Achieved,
    Approval,
    ApprovalReason,
    ApprovalStatus,
    Commitment,
    CommitmentStatus,
    Instalment,
    InstalmentStatus,
    Meeting,
)
from bot.domain.dates import Due, working_day
from bot.domain.plans import Plan, check_plan
from bot.domain.prep import MeetingStep
from handlers.commit import CommitDraft
from handlers.outcome import OutcomeDraft
from tests.unit.case_template_samples import CASE_SAMPLES, EVIL, summary
from tests.unit.dates_template_samples import REFUSALS

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
DUES = [Due(date(2026, 12, 25)), Due(date(2027, 1, 31), True), Due(date(2027, 4, 25))]
AMOUNTS = [100_000, 100_000, 150_000]
CHECK = check_plan(money_today=50_000, amounts=AMOUNTS, dues=DUES, debt=900_000,
                   today=date(2026, 11, 30), bottom=600_000, fee_waiver=True)  # fmt: skip
PLAN = {"kind": "monthly", "day": 31, "count": 3, "weekday": None, "until": None,
        "dues": [[d.date.isoformat(), d.short_month] for d in DUES]}  # fmt: skip
#: The flow's draft, read from a row of the untyped flow as it was stored before drafts had types.
DATA = CommitDraft.from_legacy({"money": 50_000, "plan": PLAN, "_replaces": 1,
                                "_replaces_on": "2026-11-01", "_supervisor": EVIL,
                                "_prep": {"step": "sign_agreement"}})  # fmt: skip

#: The outcome flow's draft, read from a row of the untyped flow (the prep's answers as "_prep").
OUTCOME_DATA = OutcomeDraft.from_legacy({"_prep": {"step": "sign_agreement"}, "_owed": 900_000})


def approval(status: ApprovalStatus, counter: dict[str, object] | None = None) -> Approval:
    return Approval(1, 1, 1, 2, EVIL, NOW, frozenset(ApprovalReason), {"money_today": 50_000,
                    "dues": [["2026-12-25", 100_000]], "gap": 550_000, "months": 5}, 3, 4,
                    status, 5, EVIL, NOW, counter, None, 100002, EVIL, "HT<1>&")  # fmt: skip


#: A request the collector put in words (the card's 🔒 Ask the supervisor), each answer.
WORDED = [
    replace(approval(status), proposal={"detail": EVIL}, reasons=frozenset({"fee_waiver"}))
    for status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED)
]


APPROVALS = [
    approval(ApprovalStatus.PENDING),
    approval(ApprovalStatus.APPROVED),
    approval(ApprovalStatus.REJECTED),
    approval(ApprovalStatus.COUNTERED, {"amount": 700_000}),
    approval(ApprovalStatus.COUNTERED, {"date": "2026-12-20"}),
]
COMMITMENT = Commitment(
    4, 1, None, 2, EVIL, NOW, None, None, 50_000, 350_000, PLAN, CommitmentStatus.AGREED, None,
    None, None, None,
    tuple(Instalment(i, 4, i, d.date, a, 0, InstalmentStatus.OPEN)
          for i, (d, a) in enumerate(zip(DUES, AMOUNTS, strict=True), 1)),
)  # fmt: skip
MEETING = Meeting(1, 1, 2, EVIL, NOW, date(2026, 11, 30), "result", "office", EVIL,
                  Achieved.PARTLY, EVIL, "evasive", EVIL, date(2026, 12, 9), None, False,
                  150_000)  # fmt: skip
COMMIT_STEPS = ("money", "channel", "plan", "split", "total", "amounts", "promised_by")
OUTCOME_STEPS = ("kind", "venue", "attendees", "achieved", "moved", "stance", "money",
                 "channel", "receipt", "next_step", "next_on")  # fmt: skip
PARAMS = {"summary": summary(), "progress": (3, 9)}
KNOWN = {"venue": "office", "kind": "result", "attendees": EVIL}

COMMIT_SAMPLES: dict[str, list[dict[str, object]]] = {
    "commit/ask": [{**PARAMS, "step": step, "data": DATA, "known": 150_000,
                    "dues": list(zip(DUES, AMOUNTS, strict=True))} for step in COMMIT_STEPS],
    "commit/summary": [
        {**PARAMS, "data": DATA, "dues": list(zip(DUES, AMOUNTS, strict=True)), "check": CHECK,
         "workdays": {d.date: working_day(d.date) for d in DUES}},
        {**PARAMS, "data": CommitDraft.from_legacy({"plan": {"kind": "dates", "dues": []}}),
         "dues": [], "check": None,
         "workdays": {}},
    ],
    "commit/approval": [{"approval": a, "data": DATA} for a in [None, *APPROVALS]],
    "commit/approval_request": [{"summary": summary(), "approval": a, "proposal": a.proposal,
                                 "again": again}
                                for a in APPROVALS[:1] for again in (False, True)]
    + [{"summary": summary(), "approval": APPROVALS[0], "proposal": {"detail": EVIL},
        "again": False}],
    "commit/withdrawn": [{"approval": APPROVALS[0], "borrower": EVIL, "contract": "HT<1>&",
                          "for_collector": who} for who in (False, True)],
    "commit/answered": [{"approval": a} for a in [*APPROVALS[1:], *WORDED]],
    "commit/answer_for_collector": [{"approval": a} for a in [*APPROVALS[1:], *WORDED]],
    "commit/counter_ask": [{"summary": summary()}],
    "commit/counter_refused": [{"error": e, "text": EVIL} for e in REFUSALS[:3]],
    "commit/date_refused": [{"error": e} for e in REFUSALS[:5]],
    "commit/already_answered": [{}],
    "commit/stored": [{"summary": summary(), "commitment": COMMITMENT}],
    "commit/lost": [{"text": "", "data": {}}],
    "commit/usage": [{}, {"example": "HT<1>&"}],
    "commit/over_debt": [{"amount": 1_000_000, "remaining": 700_000}],
    "commit/too_small": [{"amount": 300, "count": 6}],
    "commit/bad_list": [{"text": EVIL, "count": 3}],
    "commit/cancel_reason": [{"summary": summary(), "commitment": COMMITMENT, "data": {}}],
    "commit/cancelled": [{"summary": summary(), "commitment": COMMITMENT}],
    "flows/send_a_photo": [{}],
    "commit/concession_ask": [{"summary": summary(), "step": step, "data": {}}
                              for step in ("kinds", "detail")],
    "commit/concession_sent": [{"summary": summary(), "name": name} for name in (EVIL, None)],
    "outcome/ask": [{**PARAMS, "step": step, "data": OUTCOME_DATA,
                     "known": KNOWN.get(step)} for step in OUTCOME_STEPS],
    "outcome/saved": [{"summary": summary(), "meeting": MEETING, "money": money, "count": count,
                       "stalled": count >= 3} for money, count in ((150_000, 1), (0, 3))]
    + [{"summary": summary(), "meeting": replace(MEETING, next_step=step.value), "money": 0,
        "count": 1, "stalled": False} for step in MeetingStep],
    "outcome/lost": [{"text": "", "data": {}}],
    "outcome/usage": [{}, {"example": "HT<1>&"}],
}  # fmt: skip

# A card with a meeting, the open commitment and earlier ones (added to the card's samples).
_CARD = CASE_SAMPLES["cases/card"][0]
CASE_SAMPLES["cases/card"].append({
    **_CARD, "meetings": [MEETING], "current": COMMITMENT, "unsettled": 3, "stalled": True,
    "commitments": [COMMITMENT,
                    replace(COMMITMENT, status=CommitmentStatus.CANCELLED, end_reason=EVIL),
                    replace(COMMITMENT, status=CommitmentStatus.AMENDED)],
})  # fmt: skip

# Issue 16: a rule typed without its count ("每周三") is kept; only the count is asked.
COMMIT_SAMPLES["commit/count_label"] = [{"n": n} for n in (1, 6)]
COMMIT_SAMPLES["commit/ask"].append(
    {
        **PARAMS,
        "step": "plan",
        "data": replace(DATA, plan=Plan.awaiting_count(EVIL)),
        "known": None,
        "dues": [],
    }
)
