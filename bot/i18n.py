"""Languages: English, 简体中文 and 繁體中文, each a gettext catalog under ``templates/locale``.

The ``.po`` files are the source of truth and are compiled in memory at start-up, so there is no
build step and no binary ``.mo`` file to forget. Messages are rendered by Jinja2 with the i18n
extension (see :mod:`bot.render`); the few words that live in Python (button labels) are marked
with :func:`N_` so that extraction finds them too.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

if TYPE_CHECKING:
    from bot.domain.people import User

#: Our locale ids, in the order a language picker shows them.
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "zh_Hans", "zh_Hant")

#: Each language's own name, as its speakers write it (shown on the /lang buttons).
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}

#: The Babel locale used for numbers, money and dates in each language. 繁體 is for mainland
#: readers (the cooperative is on the mainland): zh_Hant_CN prints CNY as "¥" and 24-hour time,
#: where zh_Hant_TW would print "CN¥" and "下午3:05".
BABEL_LOCALES: dict[str, str] = {"en": "en", "zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_CN"}

_TRADITIONAL_REGIONS = {"tw", "hk", "mo", "hant"}


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def normalise_locale(code: str | None) -> str | None:
    """Map a Telegram ``language_code`` or an operator's setting to one of ours.

    ``zh``, ``zh-CN``, ``zh-hans``, ``zh_SG`` → ``zh_Hans``; ``zh-TW``, ``zh-HK``, ``zh-Hant`` →
    ``zh_Hant``; ``en``/``en-GB`` → ``en``. Anything else → ``None`` (the caller falls back).
    """
    if not code:
        return None
    parts = code.strip().replace("-", "_").lower().split("_")
    if parts[0] == "en":
        return "en"
    if parts[0] == "zh":
        return "zh_Hant" if _TRADITIONAL_REGIONS.intersection(parts[1:]) else "zh_Hans"
    return None


def resolve_locale(user: User | None, telegram_language: str | None, default: str) -> str:
    """/lang choice, then Telegram's current language (even before the profile catches up)."""
    return (user.locale if user else None) or normalise_locale(telegram_language) or default


def babel_locale(locale: str) -> Locale:
    """The Babel ``Locale`` for formatting in one of our languages."""
    return Locale.parse(BABEL_LOCALES.get(locale, "en"))


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog for ``locale`` (English falls back to the msgids themselves)."""
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    po_path = resources.files("templates").joinpath("locale", locale, "LC_MESSAGES", "messages.po")
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=BABEL_LOCALES[locale])
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf)


def gettext(locale: str, message: str) -> str:
    """Translate one marked message (a button label) into ``locale``."""
    return translations(locale).gettext(message)
