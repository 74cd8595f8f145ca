"""Sample parameters for the /export templates (see test_templates)."""

from __future__ import annotations

from datetime import date

from bot.domain.commitments import Achieved, ApprovalReason
from bot.domain.dates import DateError
from bot.domain.people import Team
from bot.domain.prep import MeetingKind, MeetingStep, Venue
from bot.exports import SHEETS
from tests.unit.case_template_samples import EVIL

TEAM = Team(1, EVIL)
START, END = date(2026, 11, 1), date(2026, 11, 30)
COUNTS = [(s.title, n) for s, n in zip(SHEETS, (100_000, 3, 0, 12, 7, 1, 240_000), strict=True)]
REFUSED = [
    DateError("date.future", {"text": "2027-01-05", "date": "2027-01-05"}),
    DateError("date.ambiguous", {"text": "03/04", "first": "2026-03-04", "second": "2026-04-03"}),
    DateError("date.unparseable", {"text": EVIL}),
    DateError("date.vague", {"text": "月底", "phrase": "月底", "kind": "period_end"}),
]

#: Every value a worded spreadsheet cell can hold (bot/exports.py _worded): each enumeration's
#: members, free text kept as typed, a request's proposal and a counter-offer of each shape.
CELLS: list[tuple[str, object, str | None]] = [
    *(("venue", v.value, None) for v in Venue),
    *(("meeting_kind", k.value, None) for k in MeetingKind),
    *(("step", s.value, None) for s in MeetingStep),
    ("step", f"约担保人{EVIL}", None),
    *(("achieved", a.value, None) for a in Achieved),
    *(("stance", st, None) for st in ("cooperative", "neutral", "hostile", "evasive")),
    *(("reasons", r.value, None) for r in ApprovalReason),
    ("reasons", ",".join(r.value for r in ApprovalReason), None),
    ("proposal", {"detail": EVIL}, None),
    ("proposal", {"money_today": 300_000, "dues": [["2026-12-25", 500_000]], "gap": 100}, None),
    ("counter", {"amount": 800_000}, None),
    ("counter", {"date": "2026-12-25"}, None),
    ("counter", {"amount": 800_000, "date": "2026-12-25"}, None),
    ("end_reason", "replaced by 12", "amended"),
    ("end_reason", "countered", "rejected"),
    ("end_reason", "rejected", "rejected"),
    ("end_reason", f"借款人已还清{EVIL}", "cancelled"),
]

EXPORT_SAMPLES: dict[str, list[dict[str, object]]] = {
    "export/cell": [{"kind": k, "value": v, "status": st} for k, v, st in CELLS],
    "export/not_allowed": [{"user": {"role": r}} for r in ("collector", "supervisor")],
    "export/choose_scope": [{"team": None, "start": None, "end": None}],
    "export/choose_period": [{"team": t, "start": None, "end": None} for t in (None, TEAM)],
    "export/ask_start": [{"team": TEAM, "start": None, "end": None}],
    "export/ask_end": [{"team": TEAM, "start": START, "end": START}],
    "export/bad_date": [{"error": e} for e in REFUSED],
    "export/end_before_start": [{"start": END, "end": START}],
    "export/choose_format": [{"team": t, "start": START, "end": END} for t in (None, TEAM)],
    "export/preparing": [{"scope": EVIL, "start": START, "end": END}],
    "export/caption": [
        {"scope": EVIL, "start": START, "end": END, "counts": COUNTS, "format": f}
        for f in ("xlsx", "csv")
    ],
    "export/done": [{"filename": f"qingshou-{EVIL}.xlsx", "counts": COUNTS}],
    "export/too_big": [{"size": 73 * 1024 * 1024 + 5, "limit": 50 * 1024 * 1024}],
    "export/too_many_rows": [{"limit": 600_000}],
    "export/failed": [{}],
    "export/lost": [{"text": EVIL, "data": {}}],
}
