"""Messages that read well, checked on the rendered text a person reads (issue 7, item 6: what a
new user tripped over): one column per line in the import's dry run, full-width colons and no
stray spaces in Chinese, menus that speak to their reader, command entities as Telegram makes
them."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.domain.casefile import LedgerGap, card_view, ledger_gaps
from bot.domain.cases import Security
from bot.domain.importing import ImportPlan
from bot.domain.ledger import LedgerField
from bot.domain.people import Role
from bot.domain.queue import RankedCase, select_today
from bot.domain.urgency import ScorePart, UrgencyFacts, UrgencyScore, score_case
from bot.i18n import SUPPORTED_LOCALES
from bot.imports import column_mapping
from bot.menu import commands_for
from bot.render import TEMPLATE_DIR, Renderer
from tests.e2e.seed import TODAY
from tests.unit.case_template_samples import FILE, RECORD, VIEW
from tests.unit.test_templates import SAMPLES
from tgemu.formatting import detect_entities

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
CJK = r"[\u3400-\u9fff]"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TZ)


# -- lines running together ---------------------------------------------------------------


def test_import_dry_run_lists_each_column_on_its_own_line(renderer):
    plan = ImportPlan(
        team_id=1,
        rows=[],
        errors=[],
        columns={LedgerField.CONTRACT_NO: "合同号", LedgerField.BORROWER: "借款人"},
        unmapped_columns=["备注"],
    )
    counts = {"new": 1, "updated": 0, "unchanged": 0, "refused": 0, "no_lead": 0, "absent": 0}
    text = renderer.render(
        "zh_Hans",
        "imports/preview",
        record=RECORD,
        summary=counts,
        plan=plan,
        mapping=column_mapping(plan, lambda m: renderer.label("zh_Hans", m)),
        can_import=True,
    )
    lines = text.splitlines()
    assert "“合同号” → 合同号" in lines
    assert "“借款人” → 借款人" in lines
    assert "未使用的列：备注" in lines


def test_errors_caption_is_two_sentences_on_two_lines(renderer):
    text = renderer.render("en", "imports/errors_caption", refused=2, no_lead=1)
    assert text.splitlines() == [
        "Refused rows: 2. Each line says why; correct them and send the file again.",
        "Rows without a lead: 1. They are imported; give them a lead with /assign.",
    ]


def test_lead_changes_on_the_card_are_one_per_line(renderer):
    # The history is one tap from the card (📄), so the card fits one phone screen.
    text = renderer.render("en", "cases/history", card=VIEW, case_file=FILE, summary=FILE.summary)
    history = text.split("Lead collector changes</b>")[1].strip().splitlines()
    assert len(history) == min(3, len(FILE.leads))
    assert all(re.match(r"Nov 30, 2026 \d", line) for line in history)


# -- facts the file did not have ----------------------------------------------------------


def test_ledger_gaps_come_from_the_files_columns():
    full = [f.value for f in LedgerField]
    assert ledger_gaps(full) == frozenset()
    bare = ["contract_no", "borrower", "overdue_principal", "overdue_since"]
    assert ledger_gaps(bare) == frozenset(LedgerGap)
    assert ledger_gaps([*bare, "collateral_value", "guarantor"]) == {LedgerGap.BALANCE}
    assert ledger_gaps([]) == frozenset()  # rows made in code (demo, tests), not from a file


def test_a_card_says_not_in_the_file_instead_of_guessing(renderer):
    gaps = replace(FILE.summary, ledger_gaps=frozenset(LedgerGap))
    bare = replace(
        FILE,
        summary=gaps,
        case=replace(FILE.case, security=Security("", None, None)),
    )
    text = renderer.render(
        "en", "cases/file", card=card_view(bare, TODAY, TZ), case_file=bare, summary=gaps
    )
    assert "Principal outstanding: not in the file" in text
    assert "Guarantees: not in the file" in text
    assert "Collateral: not in the file" in text
    known = renderer.render("en", "cases/file", card=VIEW, case_file=FILE, summary=FILE.summary)
    assert "not in the file" not in known


def test_no_mostly_on_credit_reason_when_the_file_had_no_security_columns():
    facts = UrgencyFacts(overdue_since=date(2026, 10, 1), overdue_amount=5_000_000)
    assert "fallback.weak" in [p.code for p in score_case(facts, TODAY).parts]
    unknown = replace(facts, security_unknown=True)
    assert "fallback.weak" not in [p.code for p in score_case(unknown, TODAY).parts]
    summary = replace(FILE.summary, ledger_gaps=frozenset({LedgerGap.COLLATERAL}))
    assert summary.urgency_facts(UTC).security_unknown
    assert not FILE.summary.urgency_facts(UTC).security_unknown


def test_today_is_numbered_one_to_n_without_gaps():
    quiet = UrgencyScore(10, (ScorePart("dpd.over_0", 10),), 5)
    urgent = UrgencyScore(10, (ScorePart("deterioration.assets_moving", 40),), 5)
    ranked = [RankedCase(i, f"case{i}", quiet) for i in range(1, 9)]
    ranked[6] = RankedCase(7, "case7", urgent)  # past the five, but it cannot wait
    today = select_today(ranked, capacity=5)
    assert [r.rank for r in today] == [1, 2, 3, 4, 5]
    assert [r.case for r in today] == ["case1", "case2", "case3", "case4", "case7"]


# -- Chinese punctuation and terms --------------------------------------------------------


def _rendered(renderer: Renderer, locale: str) -> list[tuple[str, str]]:
    out = []
    for name, samples in SAMPLES.items():
        if not (TEMPLATE_DIR / f"{name}.html.j2").exists():
            continue
        for params in samples:
            out.append((name, renderer.render(locale, name, **params)))
    return out


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_chinese_messages_use_full_width_colons_and_no_stray_spaces(renderer, locale):
    bad = []
    for name, text in _rendered(renderer, locale):
        plain = re.sub(r"<[^>]+>", "", text)
        for pattern in (CJK + r":", r"： ", "紧急", "緊急"):
            if re.search(pattern, plain):
                bad.append((name, pattern, plain[:80]))
    assert bad == []


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_chinese_catalogs_put_no_space_between_a_name_and_the_words_around_it(locale):
    names = r"%\((?:by|borrower|to|column|current|new|name|previous|lead|team|date|when)\)s"
    pattern = re.compile(f"{names} +{CJK}|{CJK} +{names}")
    path = ROOT / "templates" / "locale" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh)
    spaced = [m.string for m in catalog if m.id and pattern.search(str(m.string))]
    assert spaced == []
    column_empty = catalog.get("%(column)s is empty")
    assert column_empty is not None
    assert column_empty.string == {"zh_Hans": "%(column)s为空", "zh_Hant": "%(column)s為空"}[locale]


def test_a_collectors_help_offers_only_what_collectors_can_do(renderer):
    from tests.unit.test_templates import user

    for locale in SUPPORTED_LOCALES:
        text = renderer.render(locale, "help/help", user=user(Role.COLLECTOR))
        for command in ("/assign", "/invite", "/users"):
            assert command not in text
    english = renderer.render("en", "help/help", user=user(Role.COLLECTOR))
    assert "Send the ledger" not in english
    assert "counter-offer (an amount or a date)" not in english
    for command in ("/prep", "/brief", "/outcome", "/commit"):  # the collector's own work
        assert command in english
    supervisor = renderer.render("en", "help/help", user=user(Role.SUPERVISOR))
    assert "counter-offer (an amount or a date)" in supervisor
    assert "/assign" in supervisor


def test_each_menu_speaks_to_its_reader(renderer):
    def menu(role: Role, locale: str = "en") -> dict[str, str]:
        return {c.command: c.description for c in commands_for(role, locale, renderer)}

    assert menu(Role.COLLECTOR)["cases"] == "My cases, most urgent first"
    assert menu(Role.SUPERVISOR)["cases"] == "My team's cases, most urgent first"
    assert menu(Role.ADMIN)["cases"] == "All cases, most urgent first"
    assert menu(Role.SUPERVISOR, "zh_Hans")["cases"] == "本组案件，最紧迫的在前"
    for role in Role:
        assert not any("(" in d for d in menu(role).values()), menu(role)


# -- the web chat: emoji glyphs, and no command made of "</b>" ----------------------------


def test_bot_command_entities_follow_telegrams_word_boundary_rule():
    def commands(text: str) -> list[str]:
        return [
            text[e["offset"] : e["offset"] + e["length"]]
            for e in detect_entities(text, [])
            if e["type"] == "bot_command"
        ]

    assert commands("电话未接 </b> 明天再打") == []
    assert commands("a/b and /b> and x</i>") == []
    assert commands("/case王建国") == []
    assert commands("send /help, or (/cases)") == ["/help", "/cases"]
    assert commands("/start@qingshou_bot now") == ["/start@qingshou_bot"]


def test_the_web_chat_has_an_emoji_font_next_to_the_cjk_one():
    css = (ROOT / "tgemu" / "static" / "style.css").read_text(encoding="utf-8")
    stack = re.search(r"font-family:([^;]+);", css)[1]
    fonts = [f.strip().strip('"') for f in stack.split(",")]
    assert "Noto Sans CJK SC" in fonts
    assert "Noto Color Emoji" in fonts
    assert fonts.index("Noto Color Emoji") > fonts.index("Noto Sans CJK SC")
    assert fonts[-1] == "sans-serif"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "fonts-noto-color-emoji" in ci
    assert "fonts-noto-cjk" in ci
