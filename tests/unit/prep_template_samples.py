"""Sample parameters for the /prep templates of bot.domain.prep (used by test_templates.py and
test_prep_brief.py): the fullest brief the interview can produce, an empty one, a visit, and one
per approach."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.cases import Attitude
from bot.domain.prep import (
    Approach,
    Brief,
    Business,
    Capacity,
    Character,
    Concession,
    Figures,
    FileQuality,
    LegalQuestion,
    MeetingKind,
    MeetingStep,
    OpenQuestion,
    PrepAnswers,
    Venue,
    WeakPoint,
    build_brief,
)
from tests.unit.case_template_samples import EVIL, summary

#: Longest names a brief meets: a business borrower, a colleague with a long name.
LONG_BORROWER = "呼和浩特市赛罕区鑫源达建材经营部有限责任公司"
LONG_NAME = "欧阳娜娜娜娜娜娜娜娜娜娜娜娜娜娜"
LONG_TEXT = "先让担保人当面确认代偿意愿并签字，再谈分期的具体日期和金额" * 3
LONG_TEXT_EN = "get the guarantor to confirm in writing that he will pay, then fix the dates " * 3

#: Every field of the interview answered, the longest way: money today 0 at a result meeting
#: in the borrower's home, two meetings behind, every concession needing the supervisor.
FULL_ANSWERS = PrepAnswers(
    capacity=Capacity.PARTIAL,
    capacity_amount=300_000,
    business=Business.DECLINING,
    character=Character.RESOLUTE,
    weak_points=frozenset(WeakPoint),
    weak_points_text=LONG_TEXT,
    file_quality=FileQuality.DEFECTS,
    party_stances={1: Attitude.COOPERATIVE, 2: Attitude.HOSTILE},
    social_relations=LONG_TEXT,
    legal_questions=frozenset(LegalQuestion),
    figures=Figures(bottom=88_888_888, target=99_999_999, opening=123_456_789),
    needs_approval=frozenset(Concession),
    kind=MeetingKind.RESULT,
    venue=Venue.HOME,
    attendees=LONG_TEXT,
    step=MeetingStep.MEET_GUARANTOR,
    step_text=LONG_TEXT,
    qa=((LONG_TEXT, LONG_TEXT),) * 3,
    pre_chat_by=LONG_NAME,
    money_today=0,
)
FULL_BRIEF = build_brief(FULL_ANSWERS, unknown_count=14, meetings_without_agreement=3)
#: The same, as a collector using the bot in English types it (names stay Chinese).
FULL_BRIEF_EN = replace(FULL_BRIEF, step_text=LONG_TEXT_EN)
LONG_SUMMARY = replace(summary(), borrower_name=LONG_BORROWER)


def _brief(**kw: object) -> Brief:
    return build_brief(PrepAnswers(**kw), unknown_count=3, meetings_without_agreement=0)  # type: ignore[arg-type]


PREP_SAMPLES: dict[str, list[dict[str, object]]] = {
    "prep/brief": [
        {"brief": FULL_BRIEF, "summary": LONG_SUMMARY},
        {"brief": FULL_BRIEF_EN, "summary": LONG_SUMMARY},
        {"brief": replace(FULL_BRIEF, pre_chat_by=EVIL, step_text=EVIL), "summary": summary()},
        {
            "brief": build_brief(PrepAnswers(), unknown_count=0, meetings_without_agreement=0),
            "summary": summary(),
        },
        {
            "brief": _brief(
                kind=MeetingKind.INVESTIGATIVE,
                venue=Venue.BUSINESS,
                step=MeetingStep.OTHER,
                step_text=EVIL,
                figures=Figures(bottom=100),
                money_today=12_345,
                open_questions=(OpenQuestion.FAMILY_VIEW,),
            ),
            "summary": summary(),
        },
        *(
            {
                "brief": _brief(approach=a, step=step, kind=MeetingKind.RESULT, venue=Venue.OFFICE),
                "summary": summary(),
            }
            for a, step in zip(Approach, MeetingStep, strict=False)
        ),
    ],
    # Issue 16: a prep stopped with /cancel keeps its answers for the next /prep, if asked.
    "prep/keep_draft": [{"title": EVIL, "answered": n} for n in (1, 7)],
    "prep/draft_kept": [
        {"summary": s, "until": datetime(2026, 12, 9, 1, 0, tzinfo=UTC)} for s in (summary(), None)
    ],
    "prep/draft_discarded": [{}],
    "prep/resumed": [
        {"since": datetime(2026, 12, 8, 1, 0, tzinfo=UTC), "n": 11, "total": 22, "answered": n}
        for n in (1, 9)
    ],
}
