"""Every message in every language: a string missing from a catalog fails here, not in a chat."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import SUPPORTED_LOCALES, normalise_locale, translations

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "templates" / "locale"
METHOD_MAP = [
    ("bot/**.py", "python"),
    ("handlers/**.py", "python"),
    ("reminders/**.py", "python"),
    ("templates/**.j2", "jinja2"),
]
OPTIONS = {"templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True"}}


def extracted_msgids() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        ROOT,
        METHOD_MAP,
        OPTIONS,
        keywords={"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(locale: str):
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh)


def test_extraction_finds_the_bot_messages():
    ids = extracted_msgids()
    assert "That button is no longer valid." in ids  # from Python (N_)
    assert "This invite has expired." in ids  # from a template
    assert len(ids) > 50


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_is_in_every_catalog(locale):
    cat = catalog(locale)
    missing = sorted(m for m in extracted_msgids() if m not in cat)
    assert not missing, f"{locale} catalog lacks {missing}: run `make messages` and translate"


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_chinese_catalogs_are_translated_and_not_fuzzy(locale):
    def empty(string: str | tuple[str, ...]) -> bool:
        return not string if isinstance(string, str) else not all(string)

    untranslated = [m.id for m in catalog(locale) if m.id and (empty(m.string) or m.fuzzy)]
    assert not untranslated, f"{locale}: untranslated or fuzzy: {untranslated}"


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_placeholders_survive_translation(locale):
    import re

    def names(texts: str | tuple[str, ...]) -> set[str]:
        # A plural message: the names of its singular and plural together (zh has one form).
        texts = (texts,) if isinstance(texts, str) else texts
        return {name for text in texts for name in re.findall(r"%\(\w+\)s", text)}

    for m in catalog(locale):
        if m.id and m.string:
            forms = (m.string,) if isinstance(m.string, str) else m.string
            for form in forms:
                assert names(m.id) == names(form), m.id


def test_simplified_and_traditional_are_different_catalogs():
    assert translations("zh_Hans").gettext("Language") == "语言"
    assert translations("zh_Hant").gettext("Language") == "語言"
    assert translations("en").gettext("Language") == "Language"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("zh", "zh_Hans"),
        ("zh-hans", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-TW", "zh_Hant"),
        ("zh-hant", "zh_Hant"),
        ("zh_HK", "zh_Hant"),
        ("fr", None),
        (None, None),
        ("", None),
    ],
)
def test_telegram_language_codes(code, expected):
    assert normalise_locale(code) == expected


#: Chinese an English reader may still see: the language names in their own script, and the
#: ledger's own column headers (the file the cooperative sends is in Chinese).
_CHINESE_KEPT_IN_ENGLISH = ("简体中文", "繁體中文", "合同号", "借款人", "清收人员")


def test_english_messages_name_strategies_and_examples_in_english():
    """Issue 16: English prompts carried "策略5" and Chinese examples ("每周三 共4期")."""
    import re

    shown = []
    for message in catalog("en"):
        if not message.id:
            continue
        text = message.string or (message.id if isinstance(message.id, str) else message.id[0])
        if not isinstance(text, str):
            continue
        for kept in _CHINESE_KEPT_IN_ENGLISH:
            text = text.replace(kept, "")
        if re.search(r"[\u4e00-\u9fff]", text):
            shown.append(text)
    assert shown == []


def test_no_message_id_hides_inside_an_f_string():
    """The catalog extractor does not read inside an f-string: an N_("…") there never reaches
    the catalogs, and the Chinese button said "up to the target" (issue 16)."""
    import ast

    hidden = []
    for folder in ("bot", "handlers", "reminders"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.JoinedStr):
                    continue
                for inner in ast.walk(node):
                    func = getattr(inner, "func", None)
                    if isinstance(inner, ast.Call) and getattr(func, "id", None) in ("N_", "_"):
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == []
