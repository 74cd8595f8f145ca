"""Sample parameters for the flow engine's templates and the flows' own (see test_templates)."""

from __future__ import annotations

from tests.unit.case_template_samples import EVIL, summary

LONG = "很长的笔记。" * 900  # far over 4096 characters: the renderer must fit it

FLOW_SAMPLES: dict[str, list[dict[str, object]]] = {
    "flows/cancelled": [{"title": EVIL}],
    "flows/nothing_open": [{}],
    "flows/already_done": [{}],
    "flows/expired": [{"title": EVIL, "text": EVIL}, {"title": "Note", "text": ""}],
    "flows/conflict": [{"current": EVIL, "new": "Note"}],
    "flows/tap_a_button": [{"options": [EVIL, "李娜"]}],
    "flows/send_a_file": [{}],
    "flows/send_a_location": [{}],
    "flows/send_text": [{}],
    "flows/one_line": [{"text": EVIL + "\nsecond line"}],
    "flows/too_long": [{"size": 3001, "limit": 3000, "text": EVIL}],
    "flows/bad_amount": [
        {"text": EVIL, "reason": reason}
        for reason in ("amount.negative", "amount.too_large", "amount.too_precise", "amount.x")
    ],
    "flows/amount_too_small": [{"minimum": 100}],
    "notes/ask_text": [{"s": summary(), "data": {}}],
    "notes/choose_case": [
        {"data": {"query": EVIL, "text": EVIL}},
        {"data": {"query": "张三", "text": ""}},
    ],
    "notes/lost": [{"text": EVIL, "data": {}}, {"text": "", "data": {"text": EVIL}}],
    "assign/lost": [{"text": EVIL, "data": {}}, {"text": "", "data": {}}],
    "errors/set_aside": [{}],
}
