"""What the fuzzer sent, answered with a clear message through the strict emulator.

The emulator refuses any text over 4 096 UTF-16 units with 400 "message is too long", as
Telegram does; before the renderer fitted every message, each of these paths ended in the
generic apology. Files that cannot be parsed get "cannot be read", the reason and what to do,
and their pending import is closed with its stored file dropped.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from dataclasses import replace
from datetime import date

import pytest

from bot.app import build_application
from bot.cli import main as cli_main
from bot.domain.ledger import MAX_COLUMNS
from bot.domain.people import Role
from bot.imports import import_bytes
from bot.runner import running
from tests.domain import hostile_files as hf
from tests.e2e.conftest import START
from tgemu import utf16_len

GENERIC_APOLOGY = "went wrong"
HEADER = ["合同号", "借款人", "联系电话", "逾期本金", "逾期日期", "清收人员"]


def ledger(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def fits(text: str) -> None:
    assert utf16_len(text) <= 4096
    assert GENERIC_APOLOGY not in text


async def test_case_with_a_4000_character_query_answers_not_found_cut_with_an_ellipsis(world, bot):
    collector = await world.member(Role.COLLECTOR, "张伟")
    query = "王" * 4080  # the longest a Telegram user can send after "/case "
    await collector.send(f"/case {query}")
    reply = await collector.expect("No case of yours matches")
    fits(reply.text)
    assert reply.text.endswith("\n…")
    assert "王" * 3000 in reply.text  # the query is echoed, cut, not dropped


async def test_a_long_note_echoed_back_is_cut_with_an_ellipsis(world, bot):
    collector = await world.member(Role.COLLECTOR, "张伟")
    note = "电话未接，明天再去。" * 400  # 4 000 characters
    await collector.send(f"/note NOSUCH {note}")
    reply = await collector.expect("No case of yours matches")
    fits(reply.text)
    assert reply.text.endswith("\n…")
    assert "电话未接，明天再去。" * 100 in reply.text


async def test_a_preview_of_a_file_with_a_thousand_columns_fits_and_keeps_its_buttons(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    extra = [f"备注栏目第{i}列（不导入）" for i in range(MAX_COLUMNS - len(HEADER))]
    rows = [[f"HT{i:05d}", f"借款人{i}", "13800000000", "1000", "2026-01-05", "张伟"]
            + [""] * len(extra) for i in range(300)]  # fmt: skip
    await supervisor.send_document("宽表.csv", ledger(rows, HEADER + extra), "text/csv")
    await supervisor.expect("Reading")
    preview = await supervisor.expect("Dry run", timeout=30)
    fits(preview.text)
    assert "New cases: 300" in preview.text
    assert preview.text.endswith("…")
    assert preview.buttons == []  # the question comes last, under the file of refused rows
    report = await supervisor.expect("Rows without a lead: 300")  # 张伟 is nobody here
    assert utf16_len(report.text) <= 1024  # a caption
    assert GENERIC_APOLOGY not in report.text
    question = await supervisor.expect("New cases: 300")
    assert [label for row in question.buttons for label, _ in row] == ["Import", "✖ Cancel"]


@pytest.mark.parametrize(
    ("name", "make", "why"),
    [
        ("bad.xlsx", hf.bad_zip, "not a valid XLSX file"),
        ("half.xlsx", hf.truncated_zip, "not a valid XLSX file"),
        ("broken.xlsx", hf.bad_xml, "its XML is broken"),
        ("bomb.xlsx", hf.entity_bomb, "XML entity declarations"),
        ("wide.xlsx", lambda: hf.wide(10_000), "values beyond column 1000"),
        (
            "blank.csv",
            lambda: b"\n" * 30 + "合同号,借款人\n".encode(),
            "the first 20 rows are empty",
        ),
    ],
)
async def test_a_file_that_cannot_be_parsed_is_refused_and_its_import_closed(
    world, bot, name, make, why
):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    await supervisor.send_document(name, make())
    await supervisor.expect("Reading")
    refusal = await supervisor.expect("cannot be read", timeout=20)
    assert why in refusal.text
    assert "What to do:" in refusal.text
    assert refusal.buttons == []
    fits(refusal.text)
    record = await world.storage.get_import(1)
    assert record is not None
    assert (record.status, record.data) == ("cancelled", None)  # closed, its file dropped


async def test_the_reason_is_in_the_senders_language(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "组长", lang="zh_Hant")
    await supervisor.send_document("bomb.xlsx", hf.entity_bomb())
    await supervisor.expect("正在讀取")
    refusal = await supervisor.expect("無法讀取", timeout=20)
    assert "XML 實體聲明" in refusal.text
    assert "怎麼辦" in refusal.text


async def test_a_million_headerless_rows_are_refused_in_seconds_while_others_are_answered(
    world, bot
):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    collector = await world.member(Role.COLLECTOR, "张伟")
    data = hf.headerless(1_000_000)
    start = time.perf_counter()
    await supervisor.send_document("百万行.xlsx", data)
    await collector.send("/help")
    helped = await collector.expect(timeout=5)
    help_seconds = time.perf_counter() - start
    await supervisor.expect("Reading", timeout=10)
    refusal = await supervisor.expect("lacks columns I need", timeout=30)
    refused_seconds = time.perf_counter() - start
    assert "must be among the first 20 rows" in refusal.text
    assert helped.text
    assert help_seconds < 3, f"/help took {help_seconds:.1f}s while the file was read"
    assert refused_seconds < 15, f"refused after {refused_seconds:.1f}s"
    record = await world.storage.get_import(1)
    assert record is not None
    assert (record.status, record.data) == ("cancelled", None)


async def test_the_row_cap_refuses_a_long_file_with_the_number(world, settings, clock, storage):
    capped = replace(settings, import_max_rows=50)
    app = build_application(capped, clock=clock, storage=storage)
    async with running(app, poll_timeout=1):
        supervisor = await world.member(Role.SUPERVISOR, "组长")
        rows = [[f"HT{i:05d}", f"借款人{i}", "", "1000", "2026-01-05", ""] for i in range(51)]
        await supervisor.send_document("长.csv", ledger(rows), "text/csv")
        await supervisor.expect("Reading")
        refusal = await supervisor.expect("cannot be read", timeout=20)
        assert "more than 50 rows of data" in refusal.text
        assert "QINGSHOU_IMPORT_MAX_ROWS" in refusal.text


async def test_export_of_hostile_names_reads_back_as_text_with_staff_names(world, tmp_path):
    storage = world.storage
    team = await storage.ensure_team("东城", now=START)
    # A collector who set their Telegram name to a formula: the export uses the staff name.
    await storage.add_user(telegram_id=501, name='=HYPERLINK("http://evil","点我")',
                           role=Role.COLLECTOR, team_id=team.id, now=START,
                           staff_name="张伟")  # fmt: skip
    # One whose staff name itself starts like a formula: defused.
    await storage.add_user(telegram_id=502, name="李娜", role=Role.COLLECTOR, team_id=team.id,
                           now=START, staff_name="+SUM(1,2)")  # fmt: skip
    data = ledger([
        ["HT1", "=cmd|' /C calc'!A0", "-13800000000", "1000", "2026-01-05", "张伟"],
        ["HT2", "@SUM(A1:A9)", "\t138", "2000", "2026-01-05", "+SUM(1,2)"],
    ])  # fmt: skip
    outcome = await import_bytes(storage, data, file_name="x.csv", team_id=team.id,
                                 actor_id=None, now=START, today=date(2026, 11, 30))  # fmt: skip
    assert outcome.applied is not None
    assert outcome.applied["new"] == 2
    out = tmp_path / "export.csv"
    db = str(tmp_path / "e2e.db")
    assert await asyncio.to_thread(cli_main, ["export", "--db", db, "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    by_contract = {r["合同号"]: r for r in rows}
    assert by_contract["HT1"]["借款人"] == "'=cmd|' /C calc'!A0"
    assert by_contract["HT1"]["电话"] == "'-13800000000"
    assert by_contract["HT1"]["清收人员"] == "张伟"  # not the Telegram display name
    assert by_contract["HT2"]["借款人"] == "'@SUM(A1:A9)"
    assert by_contract["HT2"]["清收人员"] == "'+SUM(1,2)"
    for row in rows:  # nothing a spreadsheet would run
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
