"""Sample parameters for the /export templates (see test_templates)."""

from __future__ import annotations

from datetime import date

from bot.domain.dates import DateError
from bot.domain.people import Team
from bot.exports import SHEETS
from tests.unit.case_template_samples import EVIL

TEAM = Team(1, EVIL)
START, END = date(2026, 11, 1), date(2026, 11, 30)
COUNTS = [(s.title, n) for s, n in zip(SHEETS, (100_000, 3, 0, 12, 7, 1), strict=True)]
REFUSED = [
    DateError("date.future", {"text": "2027-01-05", "date": "2027-01-05"}),
    DateError("date.ambiguous", {"text": "03/04", "first": "2026-03-04", "second": "2026-04-03"}),
    DateError("date.unparseable", {"text": EVIL}),
    DateError("date.vague", {"text": "月底", "phrase": "月底", "kind": "period_end"}),
]

EXPORT_SAMPLES: dict[str, list[dict[str, object]]] = {
    "export/not_allowed": [{"user": {"role": r}} for r in ("collector", "supervisor")],
    "export/choose_scope": [{"team": None, "start": None, "end": None}],
    "export/choose_period": [{"team": t, "start": None, "end": None} for t in (None, TEAM)],
    "export/ask_start": [{"team": TEAM, "start": None, "end": None}],
    "export/ask_end": [{"team": TEAM, "start": START, "end": START}],
    "export/bad_date": [{"e": e} for e in REFUSED],
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
    "export/lost": [{"text": EVIL, "data": {}}],
}
