"""Every message the bot sends is a Jinja2 template under ``templates/``, rendered here.

Templates are HTML for Telegram's ``parse_mode=HTML`` and autoescaped, so a borrower's name with
``<`` or ``&`` in it can never break a message. Words go through the gettext catalogs
(``{{ _("...") }}`` and ``{% trans %}``); one template serves all three languages.

Fitting, in one place. Telegram refuses a text over 4 096 UTF-16 units and a caption over 1 024
(counted on what it shows: tags dropped, entities decoded). :meth:`Renderer.render` therefore
never returns more: a render that is too long is cut at a line end and ends with "…" on a line
of its own — or with the template's own tail, ``<name>_cut.html.j2``, when there is one (the
case card says "the card was shortened"). Templates whose name ends in ``_caption`` are fitted
to the caption limit. A single line too long to keep (a 5 000-character search echoed back) is
cut inside, but never inside a tag or an entity, and every tag still open is closed, so the
HTML stays valid. :func:`split_message` (and :meth:`Renderer.render_parts`) turns a long list
into several messages instead, never cutting a line.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_currency, format_decimal
from markupsafe import Markup

import templates as _templates_pkg
from bot.i18n import SUPPORTED_LOCALES, babel_locale, translations

TEMPLATE_DIR = Path(_templates_pkg.__file__).parent

#: Telegram's limits, in UTF-16 code units of the text as shown.
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
#: What ends a message that was cut.
CUT_MARK = "…"
#: A line longer than this is prose (a note, an echo) and is cut inside rather than dropped;
#: shorter lines are structure ("Balance: …") and are kept whole or not at all.
_LONG_LINE = 200
#: Cutting inside a line that would keep less than this is not worth it: the line is dropped.
_MIN_PIECE = 40

_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);"
)


def _units(text: str) -> int:
    """UTF-16 code units of plain text (an emoji outside the BMP counts two)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def visible_len(text: str) -> int:
    """The length Telegram counts for ``text`` sent with ``parse_mode=HTML``: UTF-16 units of
    what it shows, tags dropped and entities (``&lt;``) decoded."""
    total, pos = 0, 0
    for m in _TOKEN.finditer(text):
        total += _units(text[pos : m.start()])
        if m[0].startswith("&"):
            total += _units(html.unescape(m[0]))
        pos = m.end()
    return total + _units(text[pos:])


def _cells(ch: str) -> int:
    if unicodedata.combining(ch) or ch in "\u200d\ufe0e\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" or ord(ch) > 0xFFFF else 1


def cells(text: object) -> int:
    """How wide ``text`` is on a phone, in cells: a Chinese character or an emoji two, other
    characters one (the measure of tests/unit/test_prep_brief.py)."""
    return sum(_cells(ch) for ch in str(text))


def fit(text: object, room: int) -> str:
    """``text`` on one line of ``room`` cells: line breaks become spaces; too long, it is cut
    and ends with "…" (a filter for words people typed, before they are escaped)."""
    flat = " ".join(str(text).split())
    if cells(flat) <= room:
        return flat
    used, out = 1, []  # the "…" takes one cell
    for ch in flat:
        used += _cells(ch)
        if used > room:
            break
        out.append(ch)
    return "".join(out).rstrip() + "…"


_OpenTags = list[tuple[str, str]]  # (tag name, the opening tag as written)


def _track(line: str, stack: _OpenTags) -> None:
    """Update ``stack`` with the tags ``line`` opens and closes."""
    for m in _TOKEN.finditer(line):
        if m[0].startswith("&"):
            continue
        name = m[2].lower()
        if not m[1]:
            stack.append((name, m[0]))
            continue
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] == name:
                del stack[i:]
                break


def _closing(stack: _OpenTags) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _opening(stack: _OpenTags) -> str:
    return "".join(tag for _, tag in stack)


def _joins(ch: str) -> bool:
    """A character that belongs to the one before it (accents, emoji modifiers and joiners)."""
    return (
        unicodedata.combining(ch) > 0
        or ch in "\u200d\ufe0e\ufe0f\u20e3"
        or "\U0001f3fb" <= ch <= "\U0001f3ff"
        or "\U000e0020" <= ch <= "\U000e007f"
    )


def _cut_line(line: str, room: int, stack: _OpenTags) -> str:
    """The longest start of ``line`` that shows at most ``room`` units, cut between tags and
    entities (never inside one) and never between a character and what joins it (an emoji's
    skin tone, a ZWJ sequence). ``stack`` is updated with the tags the piece leaves open."""
    out: list[str] = []
    used, pos = 0, 0
    tokens = list(_TOKEN.finditer(line))
    for m in [*tokens, None]:
        plain = line[pos : m.start() if m else len(line)]
        taken = 0
        while taken < len(plain):
            end = taken + 1
            while end < len(plain) and (_joins(plain[end]) or plain[end - 1] == "\u200d"):
                end += 1
            size = _units(plain[taken:end])
            if used + size > room:
                out.append(plain[:taken])
                return "".join(out)
            used += size
            taken = end
        out.append(plain)
        if m is None:
            break
        if m[0].startswith("&"):
            size = _units(html.unescape(m[0]))
            if used + size > room:
                return "".join(out)
            used += size
        else:
            _track(m[0], stack)
        out.append(m[0])
        pos = m.end()
    return "".join(out)


def fit_message(text: str, tail: str = CUT_MARK, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` if Telegram shows it within ``limit``; else its first whole lines and ``tail``
    on a line of its own. A long line (prose: a note, a query echoed back) that does not fit
    is cut inside, between tags and entities; a short one is dropped whole. Tags still open at
    the cut are closed, so the result is valid HTML whenever ``text`` was."""
    if len(text) * 2 <= limit or visible_len(text) <= limit:
        return text
    room = limit - visible_len(tail) - 1
    kept: list[str] = []
    stack: _OpenTags = []
    used = 0
    for line in text.split("\n"):
        join = 1 if kept else 0
        size = visible_len(line)
        if used + join + size <= room:
            kept.append(line)
            _track(line, stack)
            used += join + size
            continue
        left = room - used - join
        if (not kept or size > _LONG_LINE) and left >= min(_MIN_PIECE, room):
            kept.append(_cut_line(line, left, stack))
        break
    body = "\n".join(kept).rstrip("\n") + _closing(stack)
    return f"{body}\n{tail}" if body else tail


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` as messages of at most ``limit`` each, split between paragraphs (blank lines)
    where it can and between lines where it must, never inside a line — except a single line
    longer than ``limit``, which is fitted with "…". Tags open across a split are closed at
    the end of one message and opened again at the start of the next."""
    if visible_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    reopen = ""  # tags open at the start of the current message
    stack: _OpenTags = []

    def flush() -> None:
        nonlocal current, used, reopen
        body = "\n".join(current).strip("\n")
        if _TOKEN.sub("", body).strip():  # Telegram refuses a message with nothing to show
            parts.append(reopen + body + _closing(stack))
        current, used, reopen = [], 0, _opening(stack)

    for block in text.split("\n\n"):
        lines = block.split("\n")
        size = visible_len(block)
        sep = 2 if current else 0
        if used + sep + size > limit and current:
            flush()
            sep = 0
        if size <= limit:
            if current:
                current.append("")
            current.extend(lines)
            for line in lines:
                _track(line, stack)
            used += sep + size
            continue
        for line in lines:  # a block longer than a message: split it between lines
            line_size = visible_len(line)
            join = 1 if current else 0
            if used + join + line_size > limit and current:
                flush()
                join = 0
            if line_size > limit:
                fitted = fit_message(_opening(stack) + line, CUT_MARK, limit)
                parts.append(fitted)
                _track(line, stack)
                current, used, reopen = [], 0, _opening(stack)
                continue
            current.append(line)
            _track(line, stack)
            used += join + line_size
    flush()
    return parts


def _cached_gettext(gettext: Callable[[str], str]) -> Callable[..., str]:
    """``_`` for the templates: Jinja's own (newstyle: the translation, marked safe, then
    ``%`` with the variables — always, so "%%" is one "%"), with the result of a call without
    variables kept per message id. A card makes fifty such calls; each went through two
    context calls, a Markup and a ``%`` (issue 17: Jinja was most of a card's CPU)."""
    done: dict[str, str] = {}

    @jinja2.pass_context
    def _(context: jinja2.runtime.Context, message: str, /, **variables: Any) -> str:
        if variables or not context.eval_ctx.autoescape:
            return cast(str, context.call(context.resolve("gettext"), message, **variables))
        text = done.get(message)
        if text is None:
            text = done[message] = Markup(gettext(message)) % {}
        return text

    return _


class Renderer:
    """Renders templates per language, with money and time shown the user's way."""

    def __init__(self, tz: ZoneInfo, template_dir: Path = TEMPLATE_DIR) -> None:
        self.tz = tz
        self._envs = {loc: self._make_env(loc, template_dir) for loc in SUPPORTED_LOCALES}
        self._template_dir = template_dir

    def _make_env(self, locale: str, template_dir: Path) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(template_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            extensions=["jinja2.ext.i18n"],
            # Templates ship with the code and never change while it runs: no stat() of the
            # file on every render to see whether it did (issue 17, CPU per update).
            auto_reload=False,
        )
        catalog = translations(locale)
        env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
        env.globals["_"] = _cached_gettext(catalog.gettext)
        bl = babel_locale(locale)
        tz = self.tz

        # Babel formats a sum or a date in tens of microseconds and a card shows several: the
        # same value in the same language is the same text (issue 17, CPU per update).
        @functools.lru_cache(maxsize=4096)
        def money(fen: int) -> str:
            return format_currency(fen / 100, "CNY", locale=bl)

        @functools.lru_cache(maxsize=4096)
        def number(value: int | float) -> str:
            return format_decimal(value, locale=bl)

        @functools.lru_cache(maxsize=4096)
        def local_dt(value: datetime) -> str:
            # Date as the locale writes it, time to the minute: seconds mean nothing here.
            local = value.astimezone(tz)
            date_part = format_date(local.date(), "medium", locale=bl)
            return f"{date_part} {format_time(local, 'short', tzinfo=tz, locale=bl)}"

        @functools.lru_cache(maxsize=4096)
        def local_date(value: date | datetime) -> str:
            if isinstance(value, datetime):
                value = value.astimezone(tz).date()
            return format_date(value, "medium", locale=bl)

        # Weekday names in the language's own script: zh_Hant formats like zh_Hans_CN elsewhere
        # (for the yuan), which would write 周五 where a 繁體 reader expects 週五.
        wl = Locale.parse("zh_Hant") if locale == "zh_Hant" else bl

        @functools.lru_cache(maxsize=4096)
        def weekday_date(value: date | datetime | str, year: bool = True) -> str:
            # "Fri, Dec 25, 2026" / "2026年12月25日周五" / "2026年12月25日週五"; an ISO string
            # is read too, since DomainError params are strings.
            if isinstance(value, str):
                value = date.fromisoformat(value)
            elif isinstance(value, datetime):
                value = value.astimezone(tz).date()
            return format_skeleton("yMMMEd" if year else "MMMEd", value, locale=wl)

        env.filters.update(
            cells=cells,
            fit=fit,
            money=money,
            number=number,
            local_dt=local_dt,
            local_date=local_date,
            weekday_date=weekday_date,
        )
        env.globals["locale"] = locale
        return env

    def _render(self, locale: str, name: str, context: dict[str, Any]) -> str:
        env = self._envs.get(locale) or self._envs["en"]
        return env.get_template(f"{name}.html.j2").render(**context).strip()

    def render(self, locale: str, name: str, /, **context: Any) -> str:
        """Render ``templates/<name>.html.j2`` in ``locale``, surrounding blank space stripped,
        fitted to Telegram's limit (a caption's for ``*_caption`` templates): see the module
        docstring. The tail of a cut render is ``<name>_cut`` rendered with the same context
        when that template exists, else "…"."""
        text = self._render(locale, name, context)
        limit = CAPTION_LIMIT if name.endswith("_caption") else MESSAGE_LIMIT
        if len(text) * 2 <= limit or visible_len(text) <= limit:
            return text
        tail = CUT_MARK
        if (self._template_dir / f"{name}_cut.html.j2").is_file():
            tail = self._render(locale, f"{name}_cut", context)
        return fit_message(text, tail, limit)

    def render_parts(self, locale: str, name: str, /, **context: Any) -> list[str]:
        """Render like :meth:`render`, but as several messages when it is too long for one
        (a digest, a long list): split between paragraphs or lines, never inside a line."""
        return split_message(self._render(locale, name, context))

    def label(self, locale: str, message: str) -> str:
        """Translate a short label (a button) marked with ``N_`` in Python code."""
        return translations(locale if locale in self._envs else "en").gettext(message)
