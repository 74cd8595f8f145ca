"""The legal clocks' words (issue 19), as a collector reads them: the card's line in the form the
issue gives, and the outcome's reminder that a meeting alone restarts nothing."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from bot.domain.legal import LegalEvent, LegalEventKind, LegalFacts, legal_clocks
from bot.render import Renderer
from tests.unit.test_templates import SAMPLES

RENDERER = Renderer(ZoneInfo("Asia/Shanghai"))


def test_the_card_line_names_the_deadline_and_the_paper_that_set_it() -> None:
    facts = LegalFacts(
        1,
        maturity=date(2024, 3, 1),
        overdue_since=None,
        events=(LegalEvent(date(2025, 3, 1), LegalEventKind.AGREEMENT_SIGNED),),
    )
    source = '{% import "cases/_legal.j2" as lg %}{{ lg.limitation(c, today) }}'
    clock = legal_clocks(facts, date(2026, 12, 8)).limitation
    zh = RENDERER._envs["zh_Hans"].from_string(source).render(c=clock, today=date(2026, 12, 8))
    assert zh == "⚖️ 诉讼时效至2028年3月1日 · 上次中断：2025年3月1日（还款协议）"
    en = RENDERER._envs["en"].from_string(source).render(c=clock, today=date(2026, 12, 8))
    assert en == (
        "⚖️ Limitation until Mar 1, 2028 · last restarted Mar 1, 2025 "
        "by a signed repayment agreement"
    )


def test_a_meeting_without_money_is_told_it_restarts_nothing() -> None:
    [sample] = [s for s in SAMPLES["outcome/saved"] if not s["money"]][:1]
    text = RENDERER.render("zh_Hans", "outcome/saved", **sample)
    assert "仅有面谈不能中断诉讼时效" in text
    [paid] = [s for s in SAMPLES["outcome/saved"] if s["money"]][:1]
    assert "诉讼时效" not in RENDERER.render("zh_Hans", "outcome/saved", **paid)
