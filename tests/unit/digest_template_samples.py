"""Sample parameters for the digest's and /settings' templates (see test_templates): a full
team digest, an empty one, the cooperative's, each drill-down list, hostile names."""

from __future__ import annotations

import dataclasses
import html
from datetime import date, time

from bot.domain.digest import (
    BrokenItem,
    CaseItem,
    CooperativeDigest,
    Counted,
    DigestSettings,
    LegalClockKind,
    LegalLists,
    Rate,
    TeamLine,
)
from bot.domain.legal import GuaranteeKind
from tests.domain.digest_samples import DAY, LEGAL, legal_item, team_digest
from tests.unit.case_template_samples import EVIL

FULL = team_digest(10)
EMPTY = dataclasses.replace(
    team_digest(0), collected=0, payments=0, on_spot=0, broken_list=Counted([], 0),
    approvals=Counted([], 0), stalled=Counted([], 0), untouched=Counted([], 0),
    unprepared=Counted([], 0), changes=Counted([], 0), unreachable=[], late_reminders=0,
)  # fmt: skip
LATE = dataclasses.replace(FULL, unreachable=[], late_reminders=3)
CASES = Counted([CaseItem(1, "DC<1>&", EVIL, EVIL, 42), CaseItem(2, "DC2", "王建国", None, 3)], 30)
BROKEN = Counted(
    [BrokenItem(1, "DC<1>&", EVIL, "张伟", 50_000, date(2026, 11, 30), "no_money,other", EVIL)], 1
)

EVIL_LEGAL = Counted(
    [
        dataclasses.replace(legal_item(LegalClockKind.GUARANTEE, 0, EVIL), contract_no="DC<1>&"),
        legal_item(LegalClockKind.GUARANTOR_LIMITATION, 1, EVIL, GuaranteeKind.JOINT,
                   borrower=EVIL),
    ],
    30,
)  # fmt: skip
LAPSED = Counted([legal_item(LegalClockKind.GUARANTEE, -2, EVIL, GuaranteeKind.GENERAL)], 1)

DIGEST_SAMPLES: dict[str, list[dict[str, object]]] = {
    "digest/legal": [
        {"legal": LEGAL},
        {"legal": LegalLists(EVIL_LEGAL, 2, Counted([], 0))},
        {"legal": LegalLists(Counted([], 0), 0, LAPSED)},
    ],
    "digest/team": [{"digest": FULL}, {"digest": EMPTY}, {"digest": LATE}],
    "digest/cooperative": [
        {
            "digest": CooperativeDigest(
                DAY,
                [
                    TeamLine(1, "东城组", 1_234_500, Rate(3, 4), 1, 2, 12, 300),
                    TeamLine(2, EVIL, 0, Rate(0, 0), 0, 0, 0, 0),
                ],
            )
        },
        {"digest": CooperativeDigest(DAY, [])},
    ],
    "digest/list": [
        {"kind": kind, "items": CASES, "who": None, "days": 14, "day": DAY}
        for kind in ("stalled", "untouch", "unprep")
    ]
    + [
        {"kind": "coll", "items": CASES, "who": EVIL, "days": 14, "day": DAY},
        {"kind": "broken", "items": BROKEN, "who": None, "days": 14, "day": DAY},
        {"kind": "broken", "items": Counted([], 0), "who": None, "days": 14, "day": DAY},
        {"kind": "lg30", "items": EVIL_LEGAL, "who": None, "days": 14, "day": DAY},
        {"kind": "lg90", "items": Counted([], 0), "who": None, "days": 14, "day": DAY},
        {"kind": "lglost", "items": LAPSED, "who": None, "days": 14, "day": DAY},
    ],
    "digest/approval": [
        {"borrower": EVIL, "contract": "DC<1>&", "name": EVIL, "asked": "2026-11-30"},
        {
            "borrower": EVIL,
            "contract": "DC<1>&",
            "name": EVIL,
            "asked": "2026-11-30",
            "reasons": ["fee_waiver"],
            "proposal": {"detail": EVIL},
        },
        {
            "borrower": EVIL,
            "contract": "DC<1>&",
            "name": EVIL,
            "asked": "2026-11-30",
            "reasons": ["below_bottom", "below_target", "long_plan", "first_date_late"],
            "proposal": {
                "money_today": 300_000,
                "dues": [["2026-12-25", 500_000], ["2027-01-25", 500_000]],
                "gap": 2_040_000,
                "months": 2,
            },
        },
    ],
    "digest/chart_caption": [
        {"team": EVIL, "day": "2026-12-01"},
        {"team": "东城组", "day": "2026-12-01"},
    ],
    "digest/part": [{"text": f"📊 <b>东城组</b>\n💰 昨日：¥12,345.00 {html.escape(EVIL)}"}],
    "digest/no_team": [{}],
    "digest/not_allowed": [{}],
    "settings/show": [
        {"current": DigestSettings(), "default": time(18, 0)},
        {"current": DigestSettings(time(20, 15), True), "default": time(18, 0)},
    ],
    "settings/saved": [{"current": DigestSettings(time(7, 5), False), "default": time(18, 0)}],
    "settings/ask_time": [{}],
    "settings/not_allowed": [{}],
    "settings/time_refused": [{"text": EVIL}],
}
