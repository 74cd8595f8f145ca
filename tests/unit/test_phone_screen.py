"""One phone screen, without a browser (issue 16, item 6): the screens a person opens most fit.

The browser test (tests/browser/test_webchat_phone_screen.py) measures the demo's messages at
375×667 CSS px: one screen is 616 px less the input bar, about 29 lines of 20.7 px. Here every
sample of those templates, in every language, is counted as a phone would wrap it: about 20
Chinese characters or 46 Latin ones a line, an expandable quote folded to its first three
lines (as Telegram shows it until tapped).
"""

from __future__ import annotations

import math
import unicodedata
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import SUPPORTED_LOCALES
from bot.render import Renderer
from tests.unit.test_templates import SAMPLES
from tgemu import parse_html

#: Lines of text on one 375×667 screen less the input bar (616 px at 20.7 px a line).
ONE_SCREEN_LINES = 29
#: A line of the web chat's bubble at 375 px: about 300 px of text at 15 px.
LINE_WIDTH = 300.0
FOLDED_LINES = 3

#: The screens checked: the card and the first messages a newcomer reads.
SCREENS = ("cases/card", "help/help", "start/welcome", "start/joined", "commit/summary")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(ZoneInfo("Asia/Shanghai"))


def _width(char: str) -> float:
    """Rough advance at 15 px: a full-width (CJK) character 15 px, anything else 6.5 px."""
    return 15.0 if unicodedata.east_asian_width(char) in "WF" else 6.5


def phone_lines(html: str) -> int:
    """How many lines ``html`` takes in a 375 px phone's bubble."""
    text, entities = parse_html(html)
    utf16 = text.encode("utf-16-le")
    pieces, last = [], 0
    for e in sorted(entities, key=lambda e: e["offset"]):
        if e["type"] != "expandable_blockquote" or e["offset"] < last:
            continue
        start, end = e["offset"], e["offset"] + e["length"]
        pieces.append(utf16[last * 2 : start * 2].decode("utf-16-le"))
        folded = utf16[start * 2 : end * 2].decode("utf-16-le").split("\n")[:FOLDED_LINES]
        pieces.append("\n".join(line[:40] for line in folded))  # three short lines at most
        last = end
    pieces.append(utf16[last * 2 :].decode("utf-16-le"))
    shown = "".join(pieces)
    return sum(
        max(1, math.ceil(sum(_width(c) for c in line) / LINE_WIDTH)) for line in shown.split("\n")
    )


def test_phone_lines_wraps_as_a_phone_does():
    assert phone_lines("一行") == 1
    assert phone_lines("字" * 21) == 2  # 20 characters a line
    assert phone_lines("a" * 46 + "\n\nb") == 3
    folded = "<blockquote expandable>" + "\n".join(["很长的一行"] * 10) + "</blockquote>"
    assert phone_lines("标题\n" + folded) == 1 + FOLDED_LINES


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("name", SCREENS)
def test_the_screens_people_open_most_fit_one_phone_screen(renderer: Renderer, name, locale):
    heights = [phone_lines(renderer.render(locale, name, **p)) for p in SAMPLES[name]]
    assert max(heights) <= ONE_SCREEN_LINES, (name, locale, heights)
