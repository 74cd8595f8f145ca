"""Sample parameters for the flow engine's templates and the flows' own (see test_templates)."""

from __future__ import annotations

from bot.domain.prep import (
    Approach,
    Character,
    FigureField,
    FigureProblem,
    PrepAnswers,
    Suggestion,
    talking_points,
)
from handlers.prep import PrepDraft
from tests.unit.case_template_samples import EVIL, FILE, NOW, PREPS, summary

#: Every step of the /prep flow (handlers/prep.py), each with and without a known answer.
PREP_STEPS = {
    "capacity": "partial", "business": "declining", "character": "vain", "weak_points": None,
    "file_quality": "gaps", "parties": None, "social_relations": EVIL, "legal_questions": None,
    "bottom": 600_000, "target": 800_000, "opening": 900_000, "needs_approval": None,
    "kind": None, "venue": None, "step": None, "attendees": None, "qa": None,
    "approach": "flattery", "open_questions": None, "pre_chat_by": None, "money_today": None,
    "approach_reason": None,
}  # fmt: skip
#: The flow's draft, read from a row of the untyped flow as it was stored before drafts had types.
PREP_DATA = PrepDraft.from_legacy({
    "_parties": [[1, EVIL, "guarantor"], [2, "李四", "spouse"]],
    "_prev": {"approach": "pressure"},
    "weak_points_text": EVIL, "bottom": 600_000, "target": 800_000, "kind": "result",
})  # fmt: skip


def _ask(step: str, known: object, first: bool) -> dict[str, object]:
    answers = PrepAnswers(character=Character.VAIN)
    return {
        "summary": summary(), "case_file": FILE, "step": step, "answers": answers,
        "suggested": Approach.FLATTERY, "points": talking_points(Approach.FLATTERY)[:3],
        "previous": PREPS[0] if first else None, "data": PREP_DATA, "known": known,
        "progress": (1 if first else 5, 22),
    }  # fmt: skip


LONG = "很长的笔记。" * 900  # far over 4096 characters: the renderer must fit it

FLOW_SAMPLES: dict[str, list[dict[str, object]]] = {
    "flows/cancelled": [{"title": EVIL}],
    "flows/nothing_open": [{}],
    "flows/already_done": [{}],
    "flows/expired": [{"title": EVIL, "text": EVIL}, {"title": "Note", "text": ""}],
    "flows/outdated": [{"title": EVIL}, {"title": "Note"}],
    "flows/conflict": [{"current": EVIL, "new": "Note"}],
    "flows/tap_a_button": [{"options": [EVIL, "李娜"]}],
    "flows/send_text": [{}],
    "flows/one_line": [{"text": EVIL + "\nsecond line"}],
    "flows/too_long": [{"size": 3001, "limit": 3000, "text": EVIL}],
    "flows/bad_amount": [
        {"text": EVIL, "reason": reason}
        for reason in ("amount.negative", "amount.too_large", "amount.too_precise", "amount.x")
    ],
    "flows/amount_too_small": [{"minimum": 100}],
    "notes/ask_text": [{"summary": summary(), "data": {}}],
    "notes/choose_case": [
        {"data": {"query": EVIL, "text": EVIL}},
        {"data": {"query": "张三", "text": ""}},
    ],
    "notes/lost": [{"text": EVIL, "data": {}}, {"text": "", "data": {"text": EVIL}}],
    "assign/lost": [{"text": EVIL, "data": {}}, {"text": "", "data": {}}],
    "errors/set_aside": [{}],
    "flows/resume": [{"title": EVIL, "progress": (3, 22), "answered": 2, "since": NOW}],
    "prep/ask": [
        _ask(step, known, first)
        for step, value in PREP_STEPS.items()
        for known, first in ((None, step == "capacity"), (value, False))
    ],
    "prep/label": [
        {"kind": kind, "code": code}
        for kind, code in (
            ("capacity", "full"),
            ("stance", "hostile"),
            ("role", "guarantor"),
            ("approach", "pressure"),
            ("question_short", "pay_today"),
            ("money_today", 0),
            ("suggestion", Suggestion("half_overdue", 450_000)),
        )
    ],
    "prep/lost": [{"text": "", "data": {}}],
    "prep/not_lead": [{"summary": summary()}],
    "prep/no_cases": [{}],
    "prep/choose": [{}],
    "prep/brief_usage": [{}],
    "prep/brief_which": [{"query": EVIL}],
    "prep/no_brief": [{"summary": summary()}],
    "prep/figure_refused": [
        {
            "problem": FigureProblem(
                FigureField.OPENING, "figure.opening_below_target", {"target": 800_000}
            )
        },
        {"problem": FigureProblem(FigureField.BOTTOM, "figure.not_positive", {})},
    ],
    "prep/money_today_too_much": [{"amount": 2_000_000, "owed": 900_000}],
}
