"""What a new user tripped over in the sandbox (issue 7, item 6): each as the user sees it.

Most go through the bot and the emulator as a person would; a few check a rendered message or
a catalog directly, where that is what the person reads (the import's dry run, the Chinese
wording of every message).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.clock import ManualClock
from bot.domain.casefile import LedgerGap, card_view, ledger_gaps
from bot.domain.cases import CaseStatus, Security
from bot.domain.importing import ImportPlan
from bot.domain.ledger import LedgerField
from bot.domain.people import Role
from bot.domain.queue import RankedCase, select_today
from bot.domain.urgency import ScorePart, UrgencyFacts, UrgencyScore, score_case
from bot.i18n import SUPPORTED_LOCALES
from bot.imports import column_mapping
from bot.menu import commands_for
from bot.render import TEMPLATE_DIR, Renderer
from bot.sandbox import BOT_USERNAME, DEMO_PEOPLE, seed_demo
from bot.storage import NewOutboxMessage, SqliteStorage
from tests.e2e.conftest import START, TOKEN, World
from tests.e2e.seed import TODAY, case_id, ledger, row
from tests.unit.case_template_samples import FILE, RECORD, VIEW
from tests.unit.test_templates import SAMPLES
from tgemu import Emulator, EmulatorConfig
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
    text = renderer.render("en", "cases/card", v=VIEW, f=FILE, s=FILE.summary)
    history = text.split("Lead collector changes</b>")[1].strip().splitlines()
    assert len(history) == min(3, len(FILE.leads))
    assert all(re.match(r"Nov 30, 2026 \d", line) for line in history)


async def test_users_header_and_people_are_on_separate_lines(world: World, bot):
    admin = await world.member(Role.ADMIN, "王主任", team=None)
    await world.member(Role.SUPERVISOR, "李组长")
    await admin.send("/users")
    listing = await admin.expect("Everyone")
    lines = listing.text.splitlines()
    assert lines[0] == "Everyone (2)"
    assert "◆ 李组长 · 东城" in lines


# -- a first message in the person's Telegram language ------------------------------------


async def test_demo_people_get_their_first_message_in_their_telegram_language(tmp_path):
    clock = ManualClock(START)
    storage = await SqliteStorage.open(tmp_path / "demo.db", now=START)
    try:
        async with Emulator(EmulatorConfig(port=0)) as emulator:
            emulator.add_bot(TOKEN, username=BOT_USERNAME, first_name="清收")
            people = await seed_demo(storage, emulator, clock)
        chen = await storage.get_user_by_telegram_id(people["collector2"].id)
        zhang = await storage.get_user_by_telegram_id(people["collector"].id)
        assert chen is not None
        assert zhang is not None
        assert chen.effective_locale("zh_Hant") == "en"
        assert zhang.effective_locale("en") == "zh_Hans"
        # The outbox (an assignment notice before their first /start) renders in it.
        await storage.enqueue(NewOutboxMessage(chen.id, "notify/invite_used", {}), now=START)
        (item,) = await storage.due_outbox(START + timedelta(seconds=1))
        assert item.locale == "en"
    finally:
        await storage.close()
    assert {p.language_code for p in DEMO_PEOPLE} >= {"en", "zh-hans"}


# -- what a mistyped command probably meant -----------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("/case王建国", "Did you mean /case 王建国?"),
        ("/caes", "Did you mean /cases?"),
        ("/todya", "Did you mean /today?"),
        ("/note王建国 电话未接", "Did you mean /note 王建国 电话未接?"),
    ],
)
async def test_a_mistyped_command_gets_what_was_probably_meant(world: World, bot, typed, meant):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await zhang.send(typed)
    reply = await zhang.expect_next()
    assert reply.text.splitlines() == [meant, "Send /help to see what I can do."]


async def test_a_collector_is_not_offered_a_supervisors_command(world: World, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await zhang.send("/assing HT1")  # close to /assign, which collectors cannot use
    reply = await zhang.expect_next()
    assert reply.text == "I did not understand that. Send /help to see what I can do."


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
    text = renderer.render("en", "cases/card", v=card_view(bare, TODAY, TZ), f=bare, s=gaps)
    assert "Principal outstanding: not in the file" in text
    assert "Guarantees: not in the file" in text
    assert "Collateral: not in the file" in text
    known = renderer.render("en", "cases/card", v=VIEW, f=FILE, s=FILE.summary)
    assert "not in the file" not in known


def test_no_mostly_on_credit_reason_when_the_file_had_no_security_columns():
    facts = UrgencyFacts(overdue_since=date(2026, 10, 1), overdue_amount=5_000_000)
    assert "fallback.weak" in [p.code for p in score_case(facts, TODAY).parts]
    unknown = replace(facts, security_unknown=True)
    assert "fallback.weak" not in [p.code for p in score_case(unknown, TODAY).parts]
    summary = replace(FILE.summary, ledger_gaps=frozenset({LedgerGap.COLLATERAL}))
    assert summary.urgency_facts(UTC).security_unknown
    assert not FILE.summary.urgency_facts(UTC).security_unknown


# -- the card on one screen, /today without gaps ------------------------------------------


async def test_card_shows_the_unknowns_as_a_count_and_a_button_that_lists_them(world, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "王建国", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await zhang.send("/case 王建国")
    card = await zhang.expect("HT1")
    assert "Still unknown before the meeting: " in card.text
    assert "how the business is doing" not in card.text
    (label,) = [label for r in card.buttons for label, _ in r if label.startswith("❓")]
    count = int(re.search(r"\((\d+)\)", label)[1])
    assert f"Still unknown before the meeting: {count} items" in card.text
    assert (f"❓ Still unknown ({count})", f"cs.u:{await case_id(world, 'HT1')}") in [
        b for r in card.buttons for b in r
    ]
    await zhang.press(label, card)
    checklist = await zhang.expect("Still unknown: find out before the meeting")
    assert "how the business is doing" in checklist.text
    assert len([line for line in checklist.text.splitlines() if line.startswith("• ")]) == count


def test_today_is_numbered_one_to_n_without_gaps():
    quiet = UrgencyScore(10, (ScorePart("dpd.over_0", 10),), 5)
    urgent = UrgencyScore(10, (ScorePart("deterioration.assets_moving", 40),), 5)
    ranked = [RankedCase(i, f"case{i}", quiet) for i in range(1, 9)]
    ranked[6] = RankedCase(7, "case7", urgent)  # past the five, but it cannot wait
    today = select_today(ranked, capacity=5)
    assert [r.rank for r in today] == [1, 2, 3, 4, 5]
    assert [r.case for r in today] == ["case1", "case2", "case3", "case4", "case7"]


async def test_today_does_not_repeat_the_long_explanation(world: World, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await zhang.send("/today")
    today = await zhang.expect("Today")
    assert "then the most urgent others up to five" not in today.text
    assert "Contact counts from the last note" not in today.text
    assert today.text.splitlines()[2].startswith("1. 张三")
    await zhang.send("/help")
    help_text = (await zhang.expect("How the lists are made")).text
    assert "then the most urgent others up to five" in help_text
    assert "Contact counts from the last note" in help_text


# -- switching a person off ---------------------------------------------------------------


async def test_switching_off_asks_first_warns_of_their_open_cases_and_leads_back(world, bot):
    admin = await world.member(Role.ADMIN, "王主任", team=None)
    await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [
        row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000, collector="张伟"),
        row(3, "HT2", "李四", dpd=20, overdue_yuan=5_000, collector="张伟"),
    ])  # fmt: skip
    admin_user = world.members[admin.id]
    settled = await case_id(world, "HT2")
    await world.storage.set_case_flags(
        settled, status=CaseStatus.SETTLED, actor_id=admin_user.id, now=START
    )
    await admin.send("/users")
    listing = await admin.expect("Everyone")
    await admin.press("张伟", listing)
    card = await admin.expect("Access: on")
    assert ["◀ Back to the list"] in [[label for label, _ in r] for r in card.buttons]

    await admin.press("Switch access off", card)
    confirm = await admin.expect("Switch off access for 张伟?")
    assert "Open cases with 张伟 as lead collector: 1." in confirm.text  # HT2 is settled
    assert (await world.storage.get_user_by_telegram_id(_telegram_id(world, "张伟"))).active

    await admin.press("No, keep their access", confirm)
    kept = await admin.expect("Access: on")
    assert (await world.storage.get_user_by_telegram_id(_telegram_id(world, "张伟"))).active

    await admin.press("Switch access off", kept)
    await admin.expect("Switch off access for 张伟?")
    await admin.press("Yes, switch access off")
    done = await admin.expect("Access switched off")
    assert "Open cases that still name 张伟 as lead collector: 1." in done.text
    assert not (await world.storage.get_user_by_telegram_id(_telegram_id(world, "张伟"))).active

    await admin.press("◀ Back to the list", done)
    back = await admin.expect("Everyone")
    assert "张伟 · 东城 · switched off" in back.text


def _telegram_id(world: World, name: str) -> int:
    return next(u.telegram_id for u in world.members.values() if u.name == name)


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


async def test_a_literal_closing_tag_in_a_note_is_not_a_tappable_command(world: World, bot):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    await ledger(world, "东城", [row(2, "HT1", "王建国", dpd=40, overdue_yuan=9_000,
                                      collector="张伟")])  # fmt: skip
    await world.storage.add_note(world.members[zhang.id], await case_id(world, "HT1"),
                                 "他说 </b> 是什么意思", now=START)  # fmt: skip
    await zhang.send("/case HT1")
    card = await zhang.expect("HT1")
    assert "他说 </b> 是什么意思" in card.text
    assert [e for e in card.entities if e["type"] == "bot_command"] == []


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


async def test_a_ledger_without_balance_and_security_columns_shows_not_in_the_file(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    await supervisor.send("/start")
    await supervisor.expect()
    csv = "合同号,借款人,逾期本金,逾期日期\nHT1,王建国,9000,2026-10-01\n".encode()
    await supervisor.send_document("ledger.csv", csv, "text/csv")
    await supervisor.expect("Reading")  # its own message, before the dry run
    await supervisor.expect("Dry run", timeout=15)
    await supervisor.expect("now? New cases")  # the question, under the file of refused rows
    await supervisor.press("Import")
    await supervisor.expect("Imported", timeout=15)
    await supervisor.send("/case HT1")
    card = await supervisor.expect("HT1")
    assert "Principal outstanding: not in the file" in card.text
    assert "Collateral: not in the file" in card.text
    assert "mostly on credit" not in card.text
