"""Every message the bot sends is a Jinja2 template under ``templates/``, rendered here.

Templates are HTML for Telegram's ``parse_mode=HTML`` and autoescaped, so a borrower's name with
``<`` or ``&`` in it can never break a message. Words go through the gettext catalogs
(``{{ _("...") }}`` and ``{% trans %}``); one template serves all three languages.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

import templates as _templates_pkg
from bot.i18n import SUPPORTED_LOCALES, babel_locale, translations

TEMPLATE_DIR = Path(_templates_pkg.__file__).parent


class Renderer:
    """Renders templates per language, with money and time shown the user's way."""

    def __init__(self, tz: ZoneInfo, template_dir: Path = TEMPLATE_DIR) -> None:
        self.tz = tz
        self._envs = {loc: self._make_env(loc, template_dir) for loc in SUPPORTED_LOCALES}

    def _make_env(self, locale: str, template_dir: Path) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(template_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            extensions=["jinja2.ext.i18n"],
        )
        env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
        bl = babel_locale(locale)
        tz = self.tz

        def money(fen: int) -> str:
            return format_currency(fen / 100, "CNY", locale=bl)

        def number(value: int | float) -> str:
            return format_decimal(value, locale=bl)

        def local_dt(value: datetime) -> str:
            # Date as the locale writes it, time to the minute: seconds mean nothing here.
            local = value.astimezone(tz)
            date_part = format_date(local.date(), "medium", locale=bl)
            return f"{date_part} {format_time(local, 'short', tzinfo=tz, locale=bl)}"

        def local_date(value: date | datetime) -> str:
            if isinstance(value, datetime):
                value = value.astimezone(tz).date()
            return format_date(value, "medium", locale=bl)

        env.filters.update(money=money, number=number, local_dt=local_dt, local_date=local_date)
        env.globals["locale"] = locale
        return env

    def render(self, locale: str, name: str, /, **context: Any) -> str:
        """Render ``templates/<name>.html.j2`` in ``locale``; surrounding blank space stripped."""
        env = self._envs.get(locale) or self._envs["en"]
        return env.get_template(f"{name}.html.j2").render(**context).strip()

    def label(self, locale: str, message: str) -> str:
        """Translate a short label (a button) marked with ``N_`` in Python code."""
        return translations(locale if locale in self._envs else "en").gettext(message)
