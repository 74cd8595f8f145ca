"""HTML / MarkdownV2 parsing: entities with UTF-16 offsets, and every refusal Telegram gives."""

from __future__ import annotations

import pytest

from tgemu.formatting import (
    EntityParseError,
    entities_to_html,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    parse_text,
    utf16_len,
)


def test_utf16_length_counts_emoji_as_two_and_chinese_as_one() -> None:
    assert utf16_len("清收") == 2
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b") == 4


def test_nested_tags_produce_entities_with_utf16_offsets() -> None:
    text, entities = parse_html("😀 <b>清收 <i>逾期 😀</i></b> <u>x</u>")
    assert text == "😀 清收 逾期 😀 x"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 8},
        {"type": "italic", "offset": 6, "length": 5},
        {"type": "underline", "offset": 12, "length": 1},
    ]


@pytest.mark.parametrize(
    ("markup", "entity_type"),
    [
        ("<b>x</b>", "bold"),
        ("<strong>x</strong>", "bold"),
        ("<i>x</i>", "italic"),
        ("<em>x</em>", "italic"),
        ("<u>x</u>", "underline"),
        ("<ins>x</ins>", "underline"),
        ("<s>x</s>", "strikethrough"),
        ("<strike>x</strike>", "strikethrough"),
        ("<del>x</del>", "strikethrough"),
        ("<tg-spoiler>x</tg-spoiler>", "spoiler"),
        ('<span class="tg-spoiler">x</span>', "spoiler"),
        ("<code>x</code>", "code"),
        ("<pre>x</pre>", "pre"),
        ("<blockquote>x</blockquote>", "blockquote"),
        ("<blockquote expandable>x</blockquote>", "expandable_blockquote"),
    ],
)
def test_every_supported_tag(markup: str, entity_type: str) -> None:
    text, entities = parse_html(markup)
    assert text == "x"
    assert [e["type"] for e in entities] == [entity_type]


def test_links_pre_language_custom_emoji_and_html_entities() -> None:
    text, entities = parse_html(
        '<a href="https://example.com/a?b=1&amp;c=2">link</a> '
        '<pre><code class="language-python">print(1)</code></pre> '
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> '
        "&lt;tag&gt; &amp; &quot;q&quot; &#20013;&#x6587;"
    )
    assert text == 'link print(1) 👍 <tag> & "q" 中文'
    assert entities[0] == {
        "type": "text_link",
        "offset": 0,
        "length": 4,
        "url": "https://example.com/a?b=1&c=2",
    }
    assert entities[1] == {"type": "pre", "offset": 5, "length": 8, "language": "python"}
    assert entities[2]["type"] == "custom_emoji"
    assert entities[2]["custom_emoji_id"] == "5368324170671202286"


@pytest.mark.parametrize(
    ("markup", "detail"),
    [
        ("Hello <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 6'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("清收 <b", "Unclosed start tag at byte offset 7"),
        ("<b x>y</b>", "Expected equal sign"),
        ('<span class="bold">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("AT&T rocks", 'Unsupported HTML entity "&T"'),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;"'),
    ],
)
def test_invalid_html_is_refused(markup: str, detail: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(markup)
    assert detail in str(caught.value)


def test_lone_ampersand_before_non_letter_is_literal_like_telegram() -> None:
    assert parse_html("Q & A")[0] == "Q & A"


def test_render_roundtrip() -> None:
    source = '<b>清收 <i>😀</i></b> <a href="https://example.com/">x</a> 1 &lt; 2'
    text, entities = parse_html(source)
    assert entities_to_html(text, entities) == source


def test_trimming_shifts_entities() -> None:
    text, entities = parse_text("  \n<b>hi</b> there \n", "HTML")
    assert text == "hi there"
    assert entities == [{"type": "bold", "offset": 0, "length": 2}]


def test_markdown_v2_entities() -> None:
    text, entities = parse_markdown_v2(r"*bold* _it_ __u__ ~s~ ||sp|| `c\`` [l](https://a.com) 1\.")
    assert text == "bold it u s sp c` l 1."
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]


@pytest.mark.parametrize(
    ("markup", "detail"),
    [
        ("Done.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("1-2", "Character '-' is reserved"),
        ("*bold", "Can't find end of Bold entity at byte offset 0"),
        ("x _it", "Can't find end of Italic entity at byte offset 2"),
    ],
)
def test_markdown_v2_refusals(markup: str, detail: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_markdown_v2(markup)
    assert detail in str(caught.value)


def test_legacy_markdown() -> None:
    assert parse_markdown("*b* _i_ `c`")[1][0] == {"type": "bold", "offset": 0, "length": 1}
    with pytest.raises(EntityParseError, match="Can't find end of the entity starting"):
        parse_markdown("*unclosed")


def test_commands_urls_mentions_are_detected() -> None:
    _text, entities = parse_text("/start now, see https://example.com. @qingshou_bot", None)
    assert [e["type"] for e in entities] == ["bot_command", "url", "mention"]
