"""Words typed under a reminder (issue 16): which are an answer, in every language, whichever
language the collector chose, and what amount they carry (the shared amount parser)."""

from __future__ import annotations

from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import SUPPORTED_LOCALES
from bot.render import Renderer
from handlers.instalments import read_typed

RENDERER = Renderer(ZoneInfo("Asia/Shanghai"))


def _context(locale: str) -> SimpleNamespace:
    return SimpleNamespace(renderer=RENDERER, label=lambda message: RENDERER.label(locale, message))


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("paid", ("paid", None)),
        ("Paid.", ("paid", None)),
        ("Paid in full", ("paid", None)),
        ("paid 700", ("partial", 70_000)),
        ("paid ¥1,200.50", ("partial", 120_050)),
        ("partial", ("partial", None)),
        ("missed", ("missed", None)),
        ("not paid", ("missed", None)),
        ("已还", ("paid", None)),
        ("还了", ("paid", None)),
        ("已还。", ("paid", None)),
        ("已全额还款", ("paid", None)),  # the button's own words
        ("还了500", ("partial", 50_000)),
        ("已还700", ("partial", 70_000)),  # as /help says it
        ("已還700", ("partial", 70_000)),
        ("部分 700", ("partial", 70_000)),
        ("部分七百", ("partial", 70_000)),
        ("部分5百", ("partial", 50_000)),
        ("部分", ("partial", None)),
        ("没还", ("missed", None)),
        ("已還", ("paid", None)),
        ("還了", ("paid", None)),
        ("沒還", ("missed", None)),
        ("部分 1萬", ("partial", 1_000_000)),
    ],
)
def test_an_answer_in_any_language_is_read_whichever_language_is_chosen(locale, typed, read):
    assert read_typed(_context(locale), typed) == read


@pytest.mark.parametrize(
    "typed",
    ["hello", "700", "1", "", "  ", "missed 700", "paid tomorrow", "已还吗", "部分 0",
     "他说下周一定会还一部分，但是今天没钱，我明天再打电话确认一下"],
)  # fmt: skip
def test_other_words_are_no_answer(typed):
    assert read_typed(_context("zh_Hans"), typed) is None
