"""Telegram text formatting: HTML / MarkdownV2 / Markdown parsing into (text, entities).

The emulator must refuse exactly what Telegram refuses, otherwise a bot that emits broken
markup passes its tests and fails in production.  The HTML parser follows the algorithm of
Telegram's own server (tdlib ``parse_html``): the same supported tags, the same attribute
handling and the same error wording (``Unsupported start tag "foo" at byte offset 10``), with
byte offsets counted in UTF-8 like the real server.  Entity offsets and lengths are counted in
UTF-16 code units, as the Bot API specifies, so an emoji counts as 2 and a Chinese character
as 1.

One deliberate deviation: Telegram silently keeps an unknown ``&name;`` as literal text.  With
``strict_entities=True`` (the emulator default) it is refused instead, because a bot that does
not escape ``&`` will sooner or later produce ``&lt`` by accident and show garbage.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Entity = dict[str, Any]

MAX_TEXT_UTF16 = 4096
MAX_CAPTION_UTF16 = 1024

_SUPPORTED_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\f\v"
_VALID_ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)
# Entity types inside which nothing else may be nested, and which auto-detection must skip.
_OPAQUE_TYPES = frozenset({"code", "pre"})
_LINKLIKE_TYPES = frozenset(
    {
        "code",
        "pre",
        "text_link",
        "text_mention",
        "url",
        "email",
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "custom_emoji",
    }
)


class EntityParseError(ValueError):
    """Markup Telegram would refuse; ``str(exc)`` is the detail after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units — the unit of Telegram's limits and offsets."""
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, start: int, end: int) -> str:
    """``text[start:end]`` where the bounds are UTF-16 code-unit offsets."""
    raw = text.encode("utf-16-le")
    return raw[start * 2 : end * 2].decode("utf-16-le", errors="replace")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def normalize_url(url: str) -> str | None:
    """The URL Telegram would store for a link, or None if Telegram would reject it.

    Telegram accepts bare domains (``example.com``) and adds ``http://``; it appends ``/``
    when the path is empty.  ``tg://`` links are kept verbatim.
    """
    url = url.strip()
    if not url or any(c in url for c in " \n\t"):
        return None
    lower = url.lower()
    if lower.startswith("tg://") or lower.startswith("ton://"):
        return url
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    host = parts.hostname or ""
    if not host or ("." not in host and host != "localhost") or host.startswith("."):
        return None
    if not re.fullmatch(r"[A-Za-z0-9.\-_\u00a0-\uffff]+", host):
        return None
    if not parts.path and not parts.query and not parts.fragment:
        url += "/"
    return url


# --------------------------------------------------------------------------------------------
# HTML


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    byte_offset: int
    has_argument: bool = False


def _decode_html_entity(text: str, i: int) -> tuple[str | None, int, str]:
    """Decode the entity starting at ``text[i] == "&"``.

    Returns (character or None, index after it, the raw entity text) following tdlib: the
    trailing ``;`` is optional, and an unknown entity yields None.
    """
    n = len(text)
    j = i + 1
    value = 0
    if j < n and text[j] == "#":
        j += 1
        digits_start = j
        if j < n and text[j] in "xX":
            j += 1
            digits_start = j
            while j < n and text[j] in "0123456789abcdefABCDEF":
                j += 1
            digits = text[digits_start:j]
            value = int(digits, 16) if digits and len(digits) <= 8 else 0
        else:
            while j < n and text[j].isdigit() and text[j].isascii():
                j += 1
            digits = text[digits_start:j]
            value = int(digits) if digits and len(digits) <= 8 else 0
        raw_end = j + 1 if j < n and text[j] == ";" else j
        if value == 0 or value >= 0x110000 or 0xD800 <= value <= 0xDFFF:
            return None, raw_end, text[i:raw_end]
        return chr(value), raw_end, text[i:raw_end]
    while j < n and text[j].isascii() and text[j].isalpha():
        j += 1
    name = text[i + 1 : j]
    raw_end = j + 1 if j < n and text[j] == ";" else j
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], raw_end, text[i:raw_end]
    return None, raw_end, text[i:raw_end]


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[Entity]]:
    """Parse Telegram-flavoured HTML into plain text and MessageEntity dicts.

    Raises EntityParseError with tdlib's wording for anything the real server refuses.
    """
    out: list[str] = []
    out_len16 = 0
    stack: list[_OpenTag] = []
    entities: list[Entity] = []
    n = len(text)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal out_len16
        out.append(chunk)
        out_len16 += utf16_len(chunk)

    while i < n:
        c = text[i]
        if c == "&":
            ch, end, raw = _decode_html_entity(text, i)
            if ch is not None:
                emit(ch)
                i = end
                continue
            if strict_entities and len(raw) > 1:
                raise EntityParseError(
                    f'Unsupported HTML entity "{raw}" at byte offset {_byte_offset(text, i)}'
                    " (escape a literal & as &amp;)"
                )
            emit("&")
            i += 1
            continue
        if c != "<":
            emit(c)
            i += 1
            continue
        begin = i
        begin_byte = _byte_offset(text, begin)
        if i + 1 < n and text[i + 1] == "/":
            # End tag.
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {begin_byte}")
            i += 2
            name_start = i
            while i < n and text[i] not in _SPACES and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n or text[i] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {begin_byte}")
            i += 1
            open_tag = stack.pop()
            if end_name and end_name != open_tag.name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {begin_byte}, expected "
                    f'"</{open_tag.name}>", found "</{end_name}>"'
                )
            _close_html_tag(open_tag, out_len16, "".join(out), entities)
            continue
        # Start tag.
        i += 1
        name_start = i
        while i < n and text[i] not in _SPACES and text[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin_byte}")
        tag = text[name_start:i].lower()
        if tag not in _SUPPORTED_HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin_byte}')
        argument = ""
        has_argument = False
        while text[i] != ">":
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin_byte}")
            if text[i] == ">":
                break
            attr_start = i
            while i < n and text[i] not in _SPACES and text[i] not in "=>":
                i += 1
            attr_name = text[attr_start:i].lower()
            if not attr_name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {begin_byte}'
                )
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin_byte}")
            if text[i] != "=":
                if tag == "blockquote" and attr_name == "expandable":
                    argument, has_argument = "expandable", True
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {begin_byte}"
                )
            i += 1
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin_byte}")
            if text[i] not in "'\"":
                token_start = i
                while i < n and (text[i].isascii() and (text[i].isalnum() or text[i] in ".-")):
                    i += 1
                value = text[token_start:i].lower()
                if i >= n or (text[i] not in _SPACES and text[i] != ">"):
                    raise EntityParseError(
                        f"Unexpected end of name token at byte offset "
                        f"{_byte_offset(text, token_start)}"
                    )
            else:
                quote = text[i]
                i += 1
                chars: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        ch, end, _raw = _decode_html_entity(text, i)
                        if ch is not None:
                            chars.append(ch)
                            i = end
                            continue
                    chars.append(text[i])
                    i += 1
                if i < n:
                    i += 1
                value = "".join(chars)
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin_byte}")
            if tag == "a" and attr_name == "href":
                argument, has_argument = value, True
            elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                argument, has_argument = value[len("language-") :], True
            elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                argument, has_argument = value[len("tg-") :], True
            elif tag == "tg-emoji" and attr_name == "emoji-id":
                argument, has_argument = value, True
            elif tag == "blockquote" and attr_name == "expandable":
                argument, has_argument = "expandable", True
        i += 1  # skip ">"
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin_byte}'
            )
        if tag == "tg-emoji" and not argument.isdigit():
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {begin_byte}'
            )
        stack.append(_OpenTag(tag, argument, out_len16, begin_byte, has_argument))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    plain = "".join(out)
    return plain, _finish_entities(entities)


def _close_html_tag(tag: _OpenTag, end16: int, plain: str, entities: list[Entity]) -> None:
    offset = tag.utf16_offset
    length = end16 - offset
    if length <= 0:
        return
    name = tag.name
    if name in _SIMPLE_TAG_TYPES:
        entities.append({"type": _SIMPLE_TAG_TYPES[name], "offset": offset, "length": length})
    elif name == "a":
        href = tag.argument if tag.has_argument else utf16_slice(plain, offset, end16)
        user_match = re.fullmatch(r"tg://user\?id=(\d+)", href.strip())
        if user_match:
            entities.append(
                {
                    "type": "text_mention",
                    "offset": offset,
                    "length": length,
                    "user": {"id": int(user_match.group(1)), "is_bot": False, "first_name": ""},
                }
            )
            return
        url = normalize_url(href)
        if url is not None:
            entities.append({"type": "text_link", "offset": offset, "length": length, "url": url})
    elif name == "code":
        entities.append(
            {"type": "code", "offset": offset, "length": length, "_language": tag.argument}
        )
    elif name == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == offset
            and last["length"] == length
        ):
            entities.pop()
            entity: Entity = {"type": "pre", "offset": offset, "length": length}
            if last.get("_language"):
                entity["language"] = last["_language"]
            entities.append(entity)
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif name == "blockquote":
        kind = "expandable_blockquote" if tag.argument == "expandable" else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif name == "tg-emoji":
        entities.append(
            {
                "type": "custom_emoji",
                "offset": offset,
                "length": length,
                "custom_emoji_id": tag.argument,
            }
        )


def _finish_entities(entities: list[Entity]) -> list[Entity]:
    """Sort like Telegram (offset asc, outer first) and drop what Telegram drops."""
    cleaned = [{k: v for k, v in e.items() if not k.startswith("_")} for e in entities]
    cleaned.sort(key=lambda e: (e["offset"], -e["length"]))
    result: list[Entity] = []
    opaque: list[Entity] = []
    for e in cleaned:
        inside_opaque = any(
            o["offset"] <= e["offset"] and e["offset"] + e["length"] <= o["offset"] + o["length"]
            for o in opaque
        )
        if inside_opaque:
            continue
        result.append(e)
        if e["type"] in _OPAQUE_TYPES:
            opaque.append(e)
    return result


# --------------------------------------------------------------------------------------------
# MarkdownV2 and legacy Markdown

_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2: bold, italic, underline, strikethrough, spoiler, code, pre, links.

    Every reserved character outside an entity marker must be escaped with ``\\`` — the most
    common reason real bots get "can't parse entities" from Telegram.  Block quotations and
    custom emoji are not supported by this parser (they are refused as reserved characters).
    """
    out: list[str] = []
    out_len16 = 0
    stack: list[tuple[str, int, int, str]] = []  # type, utf16 offset, byte offset, argument
    entities: list[Entity] = []
    n = len(text)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal out_len16
        out.append(chunk)
        out_len16 += utf16_len(chunk)

    while i < n:
        c = text[i]
        top = stack[-1][0] if stack else None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            emit(text[i + 1])
            i += 2
            continue
        if top in ("code", "pre") and c != "`":
            emit(c)
            i += 1
            continue
        if c not in _MDV2_RESERVED:
            emit(c)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        closes = (
            (top == "bold" and c == "*")
            or (top == "italic" and c == "_" and nxt != "_")
            or (top == "underline" and c == "_" and nxt == "_")
            or (top == "strikethrough" and c == "~")
            or (top == "spoiler" and c == "|" and nxt == "|")
            or (top == "code" and c == "`")
            or (top == "pre" and text.startswith("```", i))
            or (top == "text_link" and c == "]")
        )
        if closes and stack:
            kind, offset, _byte, argument = stack.pop()
            step = {"underline": 2, "spoiler": 2, "pre": 3}.get(kind, 1)
            i += step
            entity: Entity = {"type": kind, "offset": offset, "length": out_len16 - offset}
            if kind == "pre" and argument:
                entity["language"] = argument
            if kind == "text_link":
                if i < n and text[i] == "(":
                    j = i + 1
                    url_chars: list[str] = []
                    while j < n and text[j] != ")":
                        if text[j] == "\\" and j + 1 < n:
                            url_chars.append(text[j + 1])
                            j += 2
                            continue
                        url_chars.append(text[j])
                        j += 1
                    if j >= n:
                        raise EntityParseError(
                            f"Can't find end of a URL at byte offset {_byte_offset(text, i)}"
                        )
                    i = j + 1
                    raw_url = "".join(url_chars)
                    user_match = re.fullmatch(r"tg://user\?id=(\d+)", raw_url)
                    if user_match:
                        entity = {
                            "type": "text_mention",
                            "offset": offset,
                            "length": out_len16 - offset,
                            "user": {
                                "id": int(user_match.group(1)),
                                "is_bot": False,
                                "first_name": "",
                            },
                        }
                    else:
                        url = normalize_url(raw_url)
                        if url is None:
                            continue
                        entity["url"] = url
                else:
                    continue
            if entity["length"] > 0:
                entities.append(entity)
            continue
        byte = _byte_offset(text, i)
        if c == "_" and nxt == "_":
            stack.append(("underline", out_len16, byte, ""))
            i += 2
        elif c == "_":
            stack.append(("italic", out_len16, byte, ""))
            i += 1
        elif c == "*":
            stack.append(("bold", out_len16, byte, ""))
            i += 1
        elif c == "~":
            stack.append(("strikethrough", out_len16, byte, ""))
            i += 1
        elif c == "|" and nxt == "|":
            stack.append(("spoiler", out_len16, byte, ""))
            i += 2
        elif c == "[":
            stack.append(("text_link", out_len16, byte, ""))
            i += 1
        elif text.startswith("```", i):
            j = i + 3
            while j < n and text[j] not in "\n `":
                j += 1
            language = ""
            if j < n and text[j] == "\n":
                language = text[i + 3 : j]
                j += 1
            else:
                j = i + 3
            stack.append(("pre", out_len16, byte, language))
            i = j
        elif c == "`":
            stack.append(("code", out_len16, byte, ""))
            i += 1
        else:
            raise EntityParseError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
    if stack:
        kind, _offset, byte, _arg = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {byte}"
        )
    return "".join(out), _finish_entities(entities)


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown: ``*bold*``, ``_italic_``, `` `code` ``, pre blocks, links.

    Entities cannot nest; ``\\`` escapes ``_ * ` [`` outside entities.  An unclosed marker is
    refused with Telegram's "Can't find end of the entity starting at byte offset N".
    """
    out: list[str] = []
    out_len16 = 0
    entities: list[Entity] = []
    n = len(text)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal out_len16
        out.append(chunk)
        out_len16 += utf16_len(chunk)

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            emit(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            emit(c)
            i += 1
            continue
        begin_byte = _byte_offset(text, i)
        offset = out_len16
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {begin_byte}"
                )
            body = text[i + 3 : end]
            language = ""
            if "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    language, body = first, rest
            emit(body)
            entity: Entity = {"type": "pre", "offset": offset, "length": out_len16 - offset}
            if language:
                entity["language"] = language
            entities.append(entity)
            i = end + 3
            continue
        if c == "[":
            end = text.find("]", i + 1)
            if end < 0 or end + 1 >= n or text[end + 1] != "(":
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {begin_byte}"
                )
            url_end = text.find(")", end + 2)
            if url_end < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {begin_byte}"
                )
            emit(text[i + 1 : end])
            url = normalize_url(text[end + 2 : url_end])
            if url is not None:
                entities.append(
                    {
                        "type": "text_link",
                        "offset": offset,
                        "length": out_len16 - offset,
                        "url": url,
                    }
                )
            i = url_end + 1
            continue
        end = text.find(c, i + 1)
        if end < 0:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {begin_byte}"
            )
        emit(text[i + 1 : end])
        kind = {"*": "bold", "_": "italic", "`": "code"}[c]
        entities.append({"type": kind, "offset": offset, "length": out_len16 - offset})
        i = end + 1
    return "".join(out), _finish_entities([e for e in entities if e["length"] > 0])


# --------------------------------------------------------------------------------------------
# Common post-processing


def validate_entities(text: str, raw: Any) -> list[Entity]:
    """Check an explicit ``entities`` / ``caption_entities`` array the way Telegram does."""
    if not isinstance(raw, list):
        raise EntityParseError("entities must be an Array")
    total = utf16_len(text)
    result: list[Entity] = []
    for item in raw:
        if not isinstance(item, dict):
            raise EntityParseError("entity must be an Object")
        kind = item.get("type")
        offset = item.get("offset")
        length = item.get("length")
        if kind not in _VALID_ENTITY_TYPES:
            raise EntityParseError(f"Unsupported entity type {kind!r}")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0:
            raise EntityParseError("entity offset and length must be non-negative Integers")
        end = min(offset + length, total)
        if end <= offset:
            continue
        entity = dict(item)
        entity["length"] = end - offset
        if kind == "text_link":
            url = normalize_url(str(item.get("url", "")))
            if url is None:
                continue
            entity["url"] = url
        result.append(entity)
    return _finish_entities(result)


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace like Telegram and shift/clip entities accordingly."""
    stripped_left = text.lstrip(_SPACES)
    removed16 = utf16_len(text) - utf16_len(stripped_left)
    result_text = stripped_left.rstrip(_SPACES)
    total = utf16_len(result_text)
    result: list[Entity] = []
    for e in entities:
        start = max(e["offset"] - removed16, 0)
        end = min(e["offset"] + e["length"] - removed16, total)
        if end > start:
            shifted = dict(e)
            shifted["offset"], shifted["length"] = start, end - start
            result.append(shifted)
    return result_text, result


_GENERIC_TLDS = (
    "com|net|org|info|biz|edu|gov|mil|int|name|pro|mobi|app|dev|io|ai|me|tv|co|xyz|online|"
    "site|top|shop|store|tech|cloud|page|blog|news|live|link|club|vip|work|asia|travel"
)
_BARE_DOMAIN = re.compile(
    r"(?<![\w@./:-])"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    rf"(?:{_GENERIC_TLDS}|[a-z]{{2}})"
    r"(?![\w-])(?::\d{1,5})?(?:[/?#][^\s<>\"]*)?",
    re.IGNORECASE,
)

_AUTO_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # Telegram's rule (tdlib match_bot_commands): no word character, "/", "<" or ">" right
    # before the slash or right after the command, so "</b>" typed in a note is no command.
    (
        "bot_command",
        re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>@])"),
    ),
    ("email", re.compile(r"(?<![\w.@])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("url", re.compile(r"(?<![\w@])(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)),
    # Bare domains ("example.com", "t.me/bot?start=X"): Telegram links a name ending in a
    # known top-level domain (every two-letter country code counts, so "README.md" is a link).
    ("url", _BARE_DOMAIN),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]


def detect_entities(text: str, entities: list[Entity]) -> list[Entity]:
    """Add the entities Telegram finds by itself (commands, URLs, mentions, hashtags, emails)."""
    found = list(entities)
    taken = [
        (e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _LINKLIKE_TYPES
    ]
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(0)
            if kind == "url":
                value = value.rstrip(".,;:!?)'\"")
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(value)
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return _finish_entities(found)


def parse_text(
    text: str,
    parse_mode: str | None,
    explicit_entities: Any = None,
    *,
    strict_entities: bool = True,
) -> tuple[str, list[Entity]]:
    """Turn (text, parse_mode | entities) into Telegram's stored plain text and entities.

    Raises EntityParseError for bad markup and ValueError("unsupported parse mode") for an
    unknown ``parse_mode`` value.
    """
    mode = (parse_mode or "").strip()
    if mode and mode.lower() not in ("html", "markdownv2", "markdown"):
        raise ValueError(f"unsupported parse_mode {parse_mode!r}")
    if mode.lower() == "html":
        plain, entities = parse_html(text, strict_entities=strict_entities)
    elif mode.lower() == "markdownv2":
        plain, entities = parse_markdown_v2(text)
    elif mode.lower() == "markdown":
        plain, entities = parse_markdown(text)
    elif explicit_entities is not None:
        plain, entities = text, validate_entities(text, explicit_entities)
    else:
        plain, entities = text, []
    plain, entities = trim(plain, entities)
    return plain, detect_entities(plain, entities)


# --------------------------------------------------------------------------------------------
# Rendering back to HTML (for transcripts and the web chat)

_OPEN_TAGS = {
    "bold": "<b>",
    "italic": "<i>",
    "underline": "<u>",
    "strikethrough": "<s>",
    "spoiler": "<tg-spoiler>",
    "code": "<code>",
    "blockquote": "<blockquote>",
    "expandable_blockquote": "<blockquote expandable>",
}
_CLOSE_TAGS = {
    "bold": "</b>",
    "italic": "</i>",
    "underline": "</u>",
    "strikethrough": "</s>",
    "spoiler": "</tg-spoiler>",
    "code": "</code>",
    "blockquote": "</blockquote>",
    "expandable_blockquote": "</blockquote>",
    "text_link": "</a>",
    "text_mention": "</a>",
    "custom_emoji": "</tg-emoji>",
}


def _open_tag(e: Entity) -> tuple[str, str]:
    kind = e["type"]
    if kind in _OPEN_TAGS:
        return _OPEN_TAGS[kind], _CLOSE_TAGS[kind]
    if kind == "pre":
        if e.get("language"):
            lang = html.escape(str(e["language"]))
            return f'<pre><code class="language-{lang}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{html.escape(str(e.get("url", "")))}">', "</a>"
    if kind == "text_mention":
        user_id = (e.get("user") or {}).get("id", 0)
        return f'<a href="tg://user?id={user_id}">', "</a>"
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{html.escape(str(e.get("custom_emoji_id", "")))}">', (
            "</tg-emoji>"
        )
    return "", ""


def entities_to_html(text: str, entities: Iterable[Entity]) -> str:
    """Render text + entities as Telegram HTML (the inverse of :func:`parse_html`)."""
    ordered = sorted(entities, key=lambda e: (e["offset"], -e["length"]))

    def render(start: int, end: int, ents: list[Entity]) -> str:
        parts: list[str] = []
        pos = start
        k = 0
        while k < len(ents):
            e = ents[k]
            e_start = max(e["offset"], pos)
            e_end = min(e["offset"] + e["length"], end)
            j = k + 1
            while j < len(ents) and ents[j]["offset"] < e_end:
                j += 1
            children = []
            for child in ents[k + 1 : j]:
                c_start = max(child["offset"], e_start)
                c_end = min(child["offset"] + child["length"], e_end)
                if c_end > c_start:
                    children.append({**child, "offset": c_start, "length": c_end - c_start})
            parts.append(html.escape(utf16_slice(text, pos, e_start), quote=False))
            opening, closing = _open_tag(e)
            parts.append(opening + render(e_start, e_end, children) + closing)
            pos = e_end
            k = j
        parts.append(html.escape(utf16_slice(text, pos, end), quote=False))
        return "".join(parts)

    return render(0, utf16_len(text), [e for e in ordered if e["length"] > 0])
