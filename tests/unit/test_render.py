"""The renderer never hands Telegram more than it accepts: fitted or split, always valid HTML.

The emulator's HTML parser is the judge (it refuses what Telegram refuses), and lengths are
what Telegram counts: UTF-16 units of the text as shown.
"""

from __future__ import annotations

from datetime import UTC, date
from zoneinfo import ZoneInfo

import pytest

from bot.domain.casefile import card_view
from bot.render import (
    CAPTION_LIMIT,
    CUT_MARK,
    MESSAGE_LIMIT,
    Renderer,
    fit_message,
    split_message,
    visible_len,
)
from tests.unit.case_template_samples import RECORD
from tests.unit.test_case_domain import _file
from tgemu import parse_html, utf16_len

EMOJI = "👨‍👩‍👧‍👦"  # one family: four people and three joiners, 11 UTF-16 units
FLAG_TONE = "👍🏽"


def shown(html: str) -> str:
    plain, _ = parse_html(html)  # raises like Telegram's "can't parse entities"
    return plain


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(ZoneInfo("Asia/Shanghai"))


def test_length_is_what_telegram_counts():
    assert visible_len("<b>a&lt;b</b>") == 3
    assert visible_len("😀") == 2 == utf16_len("😀")
    assert visible_len(EMOJI) == utf16_len(EMOJI)
    assert visible_len('<a href="https://x.y/?a=1&amp;b=2">链接</a>') == 2


def test_short_text_is_untouched():
    assert fit_message("<b>短</b>\n好") == "<b>短</b>\n好"


@pytest.mark.parametrize("unit", ["字", "😀", "a", "&lt;", EMOJI, FLAG_TONE, "é"])
def test_one_huge_line_is_cut_inside_never_inside_an_entity_or_a_character(unit):
    html = "<b>标题</b>\n<i>" + unit * 6000 + "</i>"
    fitted = fit_message(html)
    plain = shown(fitted)
    assert utf16_len(plain) <= MESSAGE_LIMIT
    assert utf16_len(plain) > MESSAGE_LIMIT - 40  # it used the room
    assert fitted.endswith("</i>\n" + CUT_MARK)  # the tag closed, then "…" on its own line
    body = plain.removesuffix("\n" + CUT_MARK).split("\n", 1)[1]
    plain_unit = shown(unit)
    assert body == plain_unit * (len(body) // len(plain_unit))  # only whole units kept


def test_many_short_lines_are_kept_whole_up_to_the_limit():
    lines = [f"<b>{i}</b> " + "字" * 50 for i in range(200)]
    fitted = fit_message("\n".join(lines), "… cut", limit=1000)
    assert visible_len(fitted) <= 1000
    assert fitted.endswith("\n… cut")
    assert all(line in lines for line in fitted.split("\n")[:-1])


def test_a_tag_open_across_lines_is_closed_at_the_cut():
    html = "<blockquote>" + "\n".join(f"第{i}行" + "好" * 30 for i in range(300)) + "</blockquote>"
    fitted = fit_message(html)
    assert utf16_len(shown(fitted)) <= MESSAGE_LIMIT
    assert "</blockquote>\n…" in fitted


def test_a_long_paragraph_after_short_lines_is_cut_inside_rather_than_dropped():
    html = "找不到“x”。\n您写的内容：\n" + "电话未接，" * 2000
    plain = shown(fit_message(html))
    assert plain.startswith("找不到“x”。\n您写的内容：\n电话未接，")
    assert utf16_len(plain) <= MESSAGE_LIMIT


def test_a_long_list_splits_between_items_and_each_part_fits():
    items = [f"<b>{i}.</b> 借款人{i} · HT{i:05d} {EMOJI}\n    逾期 {i} 天" for i in range(400)]
    parts = split_message("\n\n".join(items))
    assert len(parts) > 1
    rejoined: list[str] = []
    for part in parts:
        plain = shown(part)
        assert utf16_len(plain) <= MESSAGE_LIMIT
        rejoined.extend(p for p in plain.split("\n\n"))
    assert rejoined == [shown(item) for item in items]  # nothing lost, no item cut in two


def test_splitting_lines_inside_a_tag_reopens_it_and_never_cuts_a_line():
    lines = [f"第{i}行 " + "字" * 80 for i in range(300)]
    parts = split_message("<blockquote>" + "\n".join(lines) + "</blockquote>")
    assert len(parts) > 1
    seen: list[str] = []
    for part in parts:
        assert part.startswith("<blockquote>")
        assert part.endswith("</blockquote>")
        assert utf16_len(shown(part)) <= MESSAGE_LIMIT
        seen.extend(shown(part).split("\n"))
    assert seen == lines


def test_every_render_fits_and_a_template_with_its_own_tail_uses_it(renderer):
    text = renderer.render("zh_Hans", "cases/not_found", query="王" * 5000, text="")
    assert utf16_len(shown(text)) <= MESSAGE_LIMIT
    assert text.endswith(CUT_MARK)
    big = _file(12, 40)
    view = card_view(big, date(2026, 11, 30), UTC)
    for name in ("cases/card", "cases/file", "cases/history"):
        card = renderer.render("en", name, card=view, case_file=big, summary=big.summary)
        assert utf16_len(shown(card)) <= MESSAGE_LIMIT


def test_a_template_with_a_cut_sibling_ends_with_it_when_cut(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "long.html.j2").write_text("{% for i in range(n) %}第{{ i }}行\n{% endfor %}")
    (tmp_path / "x" / "long_cut.html.j2").write_text("… <i>{{ n }} lines, shortened</i>")
    renderer = Renderer(ZoneInfo("Asia/Shanghai"), template_dir=tmp_path)
    assert renderer.render("en", "x/long", n=3) == "第0行\n第1行\n第2行"
    cut = renderer.render("en", "x/long", n=2000)
    assert cut.endswith("\n… <i>2000 lines, shortened</i>")
    assert utf16_len(shown(cut)) <= MESSAGE_LIMIT


def test_captions_are_fitted_to_the_caption_limit(renderer):
    caption = renderer.render("en", "imports/errors_caption", refused=10**1000, no_lead=10**900)
    assert utf16_len(shown(caption)) <= CAPTION_LIMIT


def test_render_parts_gives_several_messages_each_within_the_limit(renderer):
    parts = renderer.render_parts(
        "zh_Hant",
        "imports/unreadable",
        record=RECORD,
        code="ledger.missing_columns",
        missing=["合同号" * 10] * 300,
        line="1",
    )
    assert all(utf16_len(shown(p)) <= MESSAGE_LIMIT for p in parts)


def test_gettext_kept_per_message_id_renders_as_jinjas_own_every_time(tmp_path):
    """Issue 17: ``_()`` without variables keeps its result per message id; the text must be
    what Jinja's newstyle gettext makes, on every call: ``%%`` is one ``%``, the translation
    is safe, what a variable brings in is escaped, a money amount the same each time."""
    (tmp_path / "t.html.j2").write_text(
        '{{ _("Status") }}|{{ _("100%% sure") }}|{{ _("%(days)s days past due", days=v) }}|'
        '{{ 12345 | money }}|{% autoescape false %}{{ _("Status") }}{% endautoescape %}'
    )
    renderer = Renderer(ZoneInfo("Asia/Shanghai"), template_dir=tmp_path)
    for _ in range(3):
        assert renderer.render("en", "t", v="<b>") == (
            "Status|100% sure|&lt;b&gt; days past due|CN¥123.45|Status"
        )
        assert renderer.render("zh_Hans", "t", v=3) == "状态|100% sure|逾期 3 天|¥123.45|状态"
