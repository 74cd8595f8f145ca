"""The /prep brief fits one phone screen in every language, and every code has its words.

A brief is read on a phone minutes before a meeting (issue 8): at most 25 lines on a 375 px
screen, well under Telegram's 4 096 characters. Lines are counted twice: the lines of the text,
and the lines a 375 px phone shows once long lines wrap (:func:`screen_lines`). The web chat
(tgemu/static/style.css) draws a bubble at most 82 % of a 375 px pane, in a 15 px font:
about 270 px of text. A Chinese character (or an emoji) takes two cells, anything else one;
Latin text wraps at spaces, Chinese anywhere. A typical phone font (Roboto, SF, Noto Sans) fits
about 36 cells a line; DejaVu Sans, the wide default of a bare Debian, about 33 (calibrated in
headless Chromium: the fullest English brief measured 24.9 line heights there, the model says
25 at 33 cells). The brief must fit at both widths.
"""

from __future__ import annotations

import math
import unicodedata
from zoneinfo import ZoneInfo

import pytest

from bot.domain.prep import (
    Approach,
    Business,
    Capacity,
    Character,
    Concession,
    FigureField,
    FigureProblem,
    FileQuality,
    LegalQuestion,
    MeetingKind,
    MeetingStep,
    OpenQuestion,
    Suggestion,
    TalkingPoint,
    Venue,
    Warning,
    WeakPoint,
)
from bot.i18n import SUPPORTED_LOCALES
from bot.render import Renderer
from tests.unit.prep_template_samples import (
    FULL_BRIEF,
    FULL_BRIEF_EN,
    LONG_SUMMARY,
    PREP_SAMPLES,
)
from tgemu import parse_html, utf16_len

MAX_LINES = 25
MAX_CHARS = 1500  # "well under 4 096": a brief is read, not scrolled
CELLS_PER_LINE = 36  # 375 px phone, 15 px font (see the module docstring)
WIDE_FONT_CELLS = 33  # the same with DejaVu Sans


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(ZoneInfo("Asia/Shanghai"))


def cells(ch: str) -> int:
    if unicodedata.combining(ch) or ch in "\u200d\ufe0e\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" or ord(ch) > 0xFFFF else 1


def screen_lines(line: str, width: int = CELLS_PER_LINE) -> int:
    """How many lines ``line`` takes on the phone: Latin words wrap whole, CJK anywhere."""
    rows, used = 1, 0
    for word in _pieces(line):
        size = sum(cells(ch) for ch in word)
        if used + size > width and used:
            rows, used = rows + 1, 0
            word = word.lstrip(" ")
            size = sum(cells(ch) for ch in word)
        if size > width:  # a word longer than a line breaks inside
            rows += math.ceil(size / width) - 1
            size %= width
        used += size
    return rows


def _pieces(line: str) -> list[str]:
    """Words with their leading space; every wide character a piece of its own."""
    out: list[str] = []
    for ch in line:
        wide = cells(ch) == 2
        if not out or wide or ch == " " or cells(out[-1][-1]) == 2:
            out.append(ch)
        else:
            out[-1] += ch
    return out


def full_brief(renderer: Renderer, locale: str) -> str:
    """The fullest brief: every field filled, long Chinese names, the step typed in the
    collector's language."""
    brief = FULL_BRIEF_EN if locale == "en" else FULL_BRIEF
    text, _ = parse_html(renderer.render(locale, "prep/brief", brief=brief, summary=LONG_SUMMARY))
    return text


def measure(renderer: Renderer, locale: str) -> tuple[int, int, int, int]:
    """Text lines, phone lines (typical font, wide font) and characters of the fullest brief."""
    text = full_brief(renderer, locale)
    lines = text.split("\n")
    phone = sum(screen_lines(x) for x in lines)
    wide = sum(screen_lines(x, WIDE_FONT_CELLS) for x in lines)
    return len(lines), phone, wide, utf16_len(text)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_fullest_brief_fits_one_phone_screen(renderer: Renderer, locale: str) -> None:
    """Every field filled, the longest names: ≤ 25 lines at 375 px, well under 4 096."""
    text_lines, phone, wide, chars = measure(renderer, locale)
    print(f"{locale}: {text_lines} text lines, {phone} phone lines ({wide} wide), {chars} chars")
    assert phone <= MAX_LINES
    assert wide <= MAX_LINES
    assert text_lines <= phone
    assert chars <= MAX_CHARS


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("params", PREP_SAMPLES["prep/brief"])
def test_every_sample_brief_fits(renderer: Renderer, locale: str, params: dict) -> None:
    text, _ = parse_html(renderer.render(locale, "prep/brief", **params))
    assert sum(screen_lines(x) for x in text.split("\n")) <= MAX_LINES


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_brief_keeps_the_order_of_the_plan(renderer: Renderer, locale: str) -> None:
    """Figures (opening ≥ target ≥ bottom), money today, the step, kind and venue, the
    approach and its points, the questions, the warnings, then what is still unknown."""
    text = full_brief(renderer, locale)
    marks = ["≥", "💵", "🎯", "📍", "👥", "🗣", "• ", "❓", "🔒", "⚠️", "❔"]
    at = [text.index(m) for m in marks]
    assert at == sorted(at)
    opening, target, bottom = (text.index(a) for a in ("1,234,567.89", "999,999.99", "888,888.88"))
    assert opening < target < bottom
    assert text.count("⚠️") == len(FULL_BRIEF.warnings) == 3
    assert text.count("• ") == 2
    assert text.count("❓") == 3


#: Every macro of templates/prep/_words.j2 and every code it must put into words.
WORDS: list[tuple[str, list[object]]] = [
    ("capacity", list(Capacity)),
    ("business", list(Business)),
    ("character", list(Character)),
    ("weak_point", list(WeakPoint)),
    ("file_quality", list(FileQuality)),
    ("legal", list(LegalQuestion)),
    ("concession", list(Concession)),
    ("kind", list(MeetingKind)),
    ("venue", list(Venue)),
    ("step", [s for s in MeetingStep if s is not MeetingStep.OTHER]),
    ("approach", list(Approach)),
    ("point", list(TalkingPoint)),
    ("question", list(OpenQuestion)),
    ("warning", list(Warning)),
    ("figure", list(FigureField)),
    ("strategy", list(range(1, 13))),
    (
        "suggestion",
        [
            Suggestion(c, 100)
            for c in (
                "full_overdue",
                "overdue_principal",
                "half_overdue",
                "quarter_overdue",
                "same_as_target",
                "same_as_bottom",
                "same_as_opening",
            )
        ],
    ),
    (
        "figure_problem",
        [
            FigureProblem(FigureField(f), c, {"debt": 1, "bottom": 2, "target": 3, "opening": 4})
            for f, c in (
                ("bottom", "figure.not_positive"),
                ("bottom", "figure.bottom_above_debt"),
                ("target", "figure.target_above_debt"),
                ("opening", "figure.opening_above_debt"),
                ("target", "figure.target_below_bottom"),
                ("opening", "figure.opening_below_target"),
                ("opening", "figure.opening_below_bottom"),
                ("bottom", "figure.bottom_above_target"),
                ("bottom", "figure.bottom_above_opening"),
                ("target", "figure.target_above_opening"),
            )
        ],
    ),
]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize(("macro", "values"), WORDS, ids=[m for m, _ in WORDS])
def test_every_code_has_words_in_every_language(
    renderer: Renderer, locale: str, macro: str, values: list[object]
) -> None:
    words = renderer._envs[locale].get_template("prep/_words.j2").module
    said = [str(getattr(words, macro)(v)) for v in values]
    for value, text in zip(values, said, strict=True):
        assert text.strip(), f"{macro}({value!r}) has no words"
        # A code without words falls back to the code itself, which has no Chinese in it.
        if locale != "en":
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), f"{macro}({value!r})"
    assert len(set(said)) == len(said), f"two codes of {macro} read the same"


def test_a_figure_refusal_gives_the_rule_of_strategy_10(renderer: Renderer) -> None:
    words = renderer._envs["zh_Hans"].get_template("prep/_words.j2").module
    problem = FigureProblem(FigureField.OPENING, "figure.opening_below_target", {"target": 800_000})
    text = str(words.figure_problem(problem))
    assert text.startswith("开价不能低于目标（¥8,000.00）")
    assert text.endswith("（策略10 取上求中）")
    hant = renderer._envs["zh_Hant"].get_template("prep/_words.j2").module
    assert "「勉強」" in str(hant.figure_problem(problem))


def test_the_other_step_is_the_collectors_own_words(renderer: Renderer) -> None:
    words = renderer._envs["en"].get_template("prep/_words.j2").module
    assert str(words.step(MeetingStep.OTHER, "get the car keys")) == "get the car keys"
    assert str(words.step(None, "x" * 60)).endswith("…")
    assert str(words.concession(Concession.LONG_PLAN, 6)) == "instalments over 6 months"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_brief_shows_what_the_collector_prepared_one_line_each(
    renderer: Renderer, locale: str
) -> None:
    """Issue 16: the expected questions with our answers (策略2), the no-precedent line (策略8),
    the weak points and the social relations are on the brief, each on one phone line at the
    wide font (long words cut with "…")."""
    text = full_brief(renderer, locale)
    lines = text.split("\n")
    prepared = [x for x in lines if x.startswith(("💬", "🔑"))]
    assert len([x for x in prepared if x.startswith("💬")]) == len(FULL_BRIEF.qa) == 3
    assert any("🤝" in x for x in prepared)
    for line in prepared:
        assert screen_lines(line, WIDE_FONT_CELLS) == 1, line
        assert line.endswith("…"), line  # the sample's words are long: cut, not wrapped
    precedent = renderer.render(locale, "prep/label", kind="point", code="no_precedent")
    assert sum(1 for x in lines if precedent in x) == 1
