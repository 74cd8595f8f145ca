"""Cases end to end: import the ledger (bot and command line), the queue, the card, access.

Through the emulator over HTTP, as people would: a supervisor sends the ledger, collectors read
their queue, another collector tries to open a case that is not theirs.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from bot.cli import run_import
from bot.domain.casefile import LeadReason
from bot.domain.cases import Attitude, CaseStatus, PartyRole, RelatedParty
from bot.domain.people import Role
from bot.domain.queue import rank_queue
from tests.e2e.conftest import START, TOKEN, World

SHANGHAI = ZoneInfo("Asia/Shanghai")

HEADER = ["合同号", "借款人", "联系电话", "贷款余额", "逾期本金", "欠息", "逾期日期", "担保人",
          "配偶", "清收人员", "客户经理"]  # fmt: skip
COLLECTORS = ("张伟", "李娜")
#: Lines (as Excel numbers them, header = 1) that are wrong on purpose, and why.
BAD = {
    12: "amount",  # 逾期本金 "oops"
    57: "duplicate",  # contract of line 2 again
    101: "missing",  # no borrower
    150: "collector",  # 清收人员 nobody knows: imported without a lead, with a warning
}
REFUSED = {line for line, why in BAD.items() if why != "collector"}


def ledger_rows(n: int = 200, *, bump: int = 0) -> list[list[object]]:
    """``n`` data rows; ``bump`` yuan is added to every overdue principal (tomorrow's export)."""
    rows: list[list[object]] = []
    for i in range(n):
        line = i + 2
        since = date(2026, 11, 29) - timedelta(days=(i * 7) % 400 + 1)
        overdue = 10_000 + i * 500 + bump
        row: list[object] = [
            f"HT{i:05d}", f"借款人{i}", f"138{i:08d}", f"{overdue + 50_000:,}.00", f"{overdue}",
            f"{i % 90}.50", since.isoformat(), f"担保人{i}(139{i:08d})", f"配偶{i}",
            COLLECTORS[i % 2], "王经理",
        ]  # fmt: skip
        if BAD.get(line) == "amount":
            row[4] = "oops"
        elif BAD.get(line) == "duplicate":
            row[0] = "HT00000"
        elif BAD.get(line) == "missing":
            row[1] = ""
        elif BAD.get(line) == "collector":
            row[9] = "路人甲"
        rows.append(row)
    return rows


def as_csv(rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def as_xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def download(world: World, file_id: str) -> bytes:
    """Fetch a document the bot sent, the way any Bot API client would (getFile + download)."""
    base = world.emulator.api_base_url
    async with httpx.AsyncClient() as http:
        meta = (await http.get(f"{base}{TOKEN}/getFile", params={"file_id": file_id})).json()
        path = meta["result"]["file_path"]
        return (await http.get(f"{world.emulator.file_base_url}{TOKEN}/{path}")).content


def report_lines(content: bytes) -> dict[int, list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "the error report must open in Excel (BOM)"
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return {int(r[0]): r for r in rows[1:]}


async def team(world: World):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    zhang = await world.member(Role.COLLECTOR, COLLECTORS[0])
    li = await world.member(Role.COLLECTOR, COLLECTORS[1])
    admin = await world.member(Role.ADMIN, "主任", team=None)
    return supervisor, zhang, li, world.members[admin.id]


async def test_supervisor_imports_csv_dry_run_then_import_and_reimport_keeps_records(world, bot):
    supervisor, zhang, li, admin = await team(world)
    boss = world.members[supervisor.id]
    await zhang.send("/start")  # a bot may write only to people who opened its chat
    await zhang.expect()

    await supervisor.send_document("台账.csv", as_csv(ledger_rows(), "gb18030"), "text/csv")
    await supervisor.expect("Reading")  # its own message, before the dry run
    preview = await supervisor.expect("Dry run", timeout=15)
    assert "New cases: 197" in preview.text  # line 150 comes in, without a lead
    assert "Refused rows: 3" in preview.text
    assert "Without a lead: 1" in preview.text
    assert "“贷款余额” → principal outstanding" in preview.text
    assert "comes from the column “清收人员”" in preview.text
    doc = await supervisor.expect("Refused rows: 3")
    assert doc.document is not None
    assert doc.document["file_name"] == "台账-errors.csv"
    lines = report_lines(await download(world, doc.document["file_id"]))
    assert set(lines) == set(BAD)
    assert "is not an amount" in lines[12][3]
    assert lines[12][2] == "oops"
    assert "appears a second time (first on line 2)" in lines[57][3]
    assert "借款人 is empty" in lines[101][3]
    assert "no lead: “路人甲” is not a collector of this team" in lines[150][3]
    assert await world.storage.list_cases(admin) == []  # a dry run writes nothing
    question = await supervisor.expect("into team 东城 now? New cases: 197")
    assert [t for row in question.buttons for t, _ in row] == ["Import", "✖ Cancel"]

    await supervisor.press("Import")
    done = await supervisor.expect("Imported", timeout=15)
    # The question said "Importing…" while the file was written (in place, spinner stopped).
    assert any("Importing “台账.csv”" in (h.get("text") or "") for h in done.raw["history"])
    assert "New cases: 197" in done.text
    stored = {c.contract_no: c for c in await world.storage.list_cases(admin)}
    assert len(stored) == 197
    assert "HT00010" not in stored
    assert stored["HT00148"].lead_id is None  # the unknown collector's row
    first = stored["HT00000"]
    assert (first.overdue_principal, first.lead_name) == (10_000 * 100, "张伟")
    case_file = await world.storage.get_case(admin, first.id)
    assert case_file is not None
    assert {(p.party.role.value, p.party.name) for p in case_file.parties} == {
        ("guarantor", "担保人0"), ("spouse", "配偶0"),
    }  # fmt: skip
    # Each collector is told once how many new cases they lead.
    mine = sum(1 for c in stored.values() if c.lead_name == "张伟")
    await world.tick()
    told = await zhang.expect("gave you new cases to lead")
    assert f": {mine}." in told.text

    # Collectors and the supervisor record things; tomorrow's export must not wipe them.
    await zhang.send("/note HT00000 妻子说下周发工资")
    await zhang.expect("Note saved")
    now = world.clock.now()
    second = stored["HT00002"]
    assert await world.storage.assign_lead(
        boss, second.id, world.members[li.id].id, LeadReason.WORKLOAD, now=now
    )
    await world.storage.add_party(
        first.id, RelatedParty(PartyRole.GUARANTOR, "担保人0", "13900000000",
                               attitude=Attitude.COOPERATIVE), actor_id=None, now=now,
    )  # fmt: skip
    await world.storage.set_case_flags(
        first.id, status=CaseStatus.NEGOTIATING, actor_id=None, now=now
    )
    await world.tick()
    await zhang.expect_next("组长 gave 借款人2 (HT00002) to 李娜 (reason: workload)")

    tomorrow = as_csv(ledger_rows(bump=2_000))
    await supervisor.send_document("台账.csv", tomorrow, "text/csv")
    await supervisor.expect("Reading")
    preview = await supervisor.expect("Dry run", timeout=15)
    assert "New cases: 0" in preview.text
    assert "Updated: 197" in preview.text
    assert (await supervisor.expect("Refused rows: 3")).document is not None  # the report again
    await supervisor.expect("now? New cases")  # the question, under the file of refused rows
    await supervisor.press("Import")
    await supervisor.expect("Imported", timeout=15)
    after = await world.storage.get_case(admin, first.id)
    assert after is not None
    assert after.summary.overdue_principal == 12_000 * 100
    assert after.summary.previous_overdue_amount == 10_000 * 100 + 50
    assert [n.text for n in after.notes] == ["妻子说下周发工资"]
    assert after.summary.lead_name == "张伟"
    assert after.summary.status is CaseStatus.NEGOTIATING
    guarantor = next(p.party for p in after.parties if p.party.role is PartyRole.GUARANTOR)
    assert guarantor.attitude is Attitude.COOPERATIVE
    reassigned = await world.storage.get_case(admin, second.id)
    assert reassigned is not None
    assert reassigned.summary.lead_name == "李娜"
    assert [h.reason for h in reassigned.leads] == [LeadReason.WORKLOAD, LeadReason.IMPORT]

    # The same file sent again: nothing changed, and "debt growing" stays.
    await supervisor.send_document("台账.csv", tomorrow, "text/csv")
    await supervisor.expect("Reading")
    preview = await supervisor.expect("Dry run", timeout=15)
    assert "Unchanged: 197" in preview.text
    assert (await supervisor.expect("Refused rows: 3")).document is not None
    await supervisor.expect("now? New cases")  # the question, under the file of refused rows
    await supervisor.press("Import")
    await supervisor.expect("Imported", timeout=15)
    again = await world.storage.get_case(admin, first.id)
    assert again is not None
    assert again.summary.previous_overdue_amount == 10_000 * 100 + 50
    assert again.summary.growth == 2_000 * 100


async def test_xlsx_with_native_number_and_date_cells_through_the_bot(world, bot):
    supervisor, _zhang, _li, admin = await team(world)
    rows: list[list[object]] = [
        ["HT1", "张三", 13800000000, 60000.0, 10000, 12.345, datetime(2026, 10, 1), "担保人",
         "配偶", "张伟", "王经理"],
        ["HT2", "李四", None, 50000, 1234.5678, None, datetime(2026, 9, 1, 0, 0), None, None,
         "李娜", None],
    ]  # fmt: skip
    await supervisor.send_document("x.xlsx", as_xlsx(rows))
    await supervisor.expect("Reading")
    preview = await supervisor.expect("Dry run", timeout=15)
    assert "New cases: 2" in preview.text
    assert "Refused rows: 0" in preview.text
    await supervisor.expect("now? New cases")  # the question comes last
    await supervisor.press("Import")
    await supervisor.expect("Imported", timeout=15)
    stored = {c.contract_no: c for c in await world.storage.list_cases(admin)}
    one, two = stored["HT1"], stored["HT2"]
    assert (one.principal_outstanding, one.overdue_principal, one.overdue_interest) == (
        6_000_000, 1_000_000, 1_235,  # 12.345 yuan, a formula's result: half up to the fen
    )  # fmt: skip
    assert one.overdue_since == date(2026, 10, 1)
    assert one.borrower_phone == "13800000000"
    assert one.lead_name == "张伟"
    assert two.overdue_principal == 123_457
    assert two.lead_name == "李娜"


async def test_command_line_imports_xlsx_and_reports_bad_lines(world, tmp_path):
    _supervisor, _zhang, _li, admin = await team(world)
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(as_xlsx(ledger_rows()))
    out = io.StringIO()
    outcome = await run_import(
        world.storage, path, team="东城", dry_run=False, now=START,
        tz=SHANGHAI, locale="zh_Hans", out=out,
    )  # fmt: skip
    assert outcome.applied == {
        "new": 197, "updated": 0, "unchanged": 0, "refused": 3, "no_lead": 1, "absent": 0,
    }  # fmt: skip
    assert "197 new" in out.getvalue()
    assert "3 refused" in out.getvalue()
    assert len(await world.storage.list_cases(admin)) == 197
    lines = report_lines((tmp_path / "ledger-errors.csv").read_bytes())
    assert set(lines) == set(BAD)
    assert "不是金额" in lines[12][3]  # the reason column is in the operator's language

    again = await run_import(
        world.storage, path, team="东城", dry_run=True, now=START,
        tz=SHANGHAI, locale="en", out=out,
    )  # fmt: skip
    assert again.applied is None
    assert again.plan.summary()["unchanged"] == 197


async def test_collector_queue_is_ordered_by_urgency_and_others_cannot_open_it(world, bot):
    supervisor, zhang, li, admin = await team(world)
    await supervisor.send_document("ledger.csv", as_csv(ledger_rows(40)), "text/csv")
    await supervisor.expect("Reading")
    await supervisor.expect("Dry run", timeout=15)
    assert (await supervisor.expect("Refused rows: 1")).document is not None  # line 12
    await supervisor.expect("now? New cases")  # the question comes last
    await supervisor.press("Import")
    await supervisor.expect("Imported", timeout=15)
    assert await world.tick() == 0  # neither collector has opened the chat: nobody can be told

    await zhang.send("/cases")
    queue = await zhang.expect("Cases by urgency")
    assert "page 1 of 2" in queue.text  # 19 cases of his, ten a page
    assert "Why:" in queue.text
    assert "days past due" in queue.text
    case_buttons = [row[0] for row in queue.buttons if row[0][0] not in ("◀", "▶")]
    assert len(case_buttons) == 10
    assert queue.buttons[-1] == [("▶", "cs.l:q:1")]
    # Ordered by urgency: first the case whose guarantor's period (6 months from the due date:
    # the file gives no agreed period) ends soonest within 10 days (issue 19), and among the
    # others the one overdue longest (all else equal).
    first_label, first_data = case_buttons[0]
    mine = {c.contract_no: c for c in await world.storage.list_cases(world.members[zhang.id])}
    assert len(mine) == 19  # 20 rows of his, one refused (line 12)
    today = START.astimezone(ZoneInfo("Asia/Shanghai")).date()
    ranked = rank_queue(list(mine.values()), today, ZoneInfo("Asia/Shanghai"))
    oldest = ranked[0].case
    legal = [p.code for p in ranked[0].score.parts if p.code.startswith("legal.")]
    assert legal == ["legal.within_10"]
    assert first_label == f"1. {oldest.borrower_name} · {oldest.contract_no}"
    assert [r.case.contract_no for r in ranked[:10]] == [
        label.split(" · ")[1] for label, _ in case_buttons
    ]

    await zhang.press(first_label)
    card = await zhang.expect(oldest.contract_no)
    assert "Meetings: none recorded yet." in card.text
    assert "Still unknown" in card.text
    # The parties are in the file, one tap from the card (issue 16: the card fits one screen).
    await zhang.press("📄 Full file", card)
    details = await zhang.expect("Related parties")
    assert "Guarantor: 担保人" in details.text
    await zhang.expect("Why now")
    await zhang.press("❓", card)
    assert "how the business is doing" in (await zhang.expect("Still unknown: find out")).text

    await zhang.press("▶", queue)
    page2 = await zhang.expect("page 2 of 2")
    assert page2.buttons[-1] == [("◀", "cs.l:q:0")]

    # Li may not open Zhang's case: not by name, not by number, not by a forged button.
    await li.send(f"/case {oldest.borrower_name}")
    assert "No case of yours matches" in (await li.expect()).text
    await li.send(f"/case {oldest.contract_no}")
    assert "No case of yours matches" in (await li.expect()).text
    await li.send("/cases")
    own = await li.expect("Cases by urgency")
    await li.press_data(own.message_id, first_data)
    assert "No such case among yours" in (await li.expect_toast())["text"]
    await li.press_data(own.message_id, f"ac:{oldest.id}")  # the card's 👤 Lead collector
    assert "No such case among yours" in (await li.expect_toast())["text"]
    await li.press_data(own.message_id, f"as:u:{oldest.id}:{world.members[li.id].id}")  # old form
    assert "no longer valid" in (await li.expect_toast())["text"]
    assert (await world.storage.get_case(admin, oldest.id)).summary.lead_name == "张伟"

    # The supervisor sees the team's; /today lists the cases to work today, numbered 1..n; the
    # rule that chose them is in /help, not repeated on every list.
    await supervisor.send("/today")
    today = await supervisor.expect("Today")
    ranks = [int(line.split(".")[0]) for line in today.text.splitlines() if line[:1].isdigit()]
    assert ranks == list(range(1, len(ranks) + 1))
    assert "then the most urgent others up to five" not in today.text
    await supervisor.send("/help")
    assert "then the most urgent others up to five" in (await supervisor.expect("/today")).text


async def test_reassignment_warns_asks_why_records_and_tells_both(world, bot):
    supervisor, zhang, li, admin = await team(world)
    await supervisor.send_document("ledger.csv", as_csv(ledger_rows(4)), "text/csv")
    await supervisor.expect("Reading")
    await supervisor.expect("Dry run", timeout=15)
    await supervisor.expect("now? New cases")  # the question comes last
    await supervisor.press("Import")
    await supervisor.expect("Imported", timeout=15)
    assert await world.tick() == 0  # neither collector has opened the chat: nobody can be told

    await zhang.send("/assign HT00000")  # also opens his chat, so the bot may write to him
    assert "Only supervisors and admins" in (await zhang.expect()).text
    await li.send("/start")
    await li.expect("Welcome")
    # Her "new cases" notice waited for her to open the chat; /start released it.
    assert await world.tick() == 1
    await li.expect("gave you new cases to lead: 2")

    await supervisor.send("/assign HT00000")
    choose = await supervisor.expect("Who should lead this case instead?")
    assert [t for row in choose.buttons for t, _ in row] == ["李娜", "✖ Cancel"]
    await supervisor.press("李娜")
    warning = await supervisor.expect("Change the lead collector?")
    assert "teaches the debtor that stalling works" in warning.text
    await supervisor.press("Workload")
    await supervisor.expect("李娜 now leads 借款人0 (HT00000)")

    case = (await world.storage.find_cases(admin, "HT00000"))[0]
    assert case.lead_name == "李娜"
    history = (await world.storage.get_case(admin, case.id)).leads
    assert next((h.from_name, h.to_name, h.reason.value, h.by_name) for h in history) == (
        "张伟", "李娜", "workload", "组长",
    )  # fmt: skip
    await world.tick()
    await li.expect("made you the lead collector of 借款人0")
    await zhang.expect("gave 借款人0 (HT00000) to 李娜")


async def test_note_button_waits_for_the_next_message_in_the_database(world, bot):
    supervisor, zhang, _li, admin = await team(world)
    await supervisor.send_document("ledger.csv", as_csv(ledger_rows(2)), "text/csv")
    await supervisor.expect("Reading")
    await supervisor.expect("Dry run", timeout=15)
    await supervisor.expect("now? New cases")  # the question comes last
    await supervisor.press("Import")
    await supervisor.expect("Imported", timeout=15)
    assert await world.tick() == 0  # 张伟 has not opened the chat yet: he cannot be told

    await zhang.send("/case 借款人0")
    await zhang.expect("HT00000")
    await zhang.press("📝 Note")
    await zhang.expect("as your next message")
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert state is not None
    case = (await world.storage.find_cases(admin, "HT00000"))[0]
    assert (state.flow, state.step, state.case_id) == ("note", "text", case.id)
    await zhang.send("担保人态度配合，愿意陪同去借款人家")
    await zhang.expect("Note saved")
    notes = (await world.storage.get_case(admin, case.id)).notes
    assert [n.text for n in notes] == ["担保人态度配合，愿意陪同去借款人家"]
    await zhang.send("hello")
    await zhang.expect("/help")  # nothing waits any more


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("scan.pdf", b"%PDF-1.4", "is not a ledger I can read"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "old Excel file"),
        ("cols.csv", "姓名,金额\n张三,100\n".encode(), "lacks columns I need: contract number"),
        ("junk.xlsx", b"PK\x03\x04 not really a zip", "cannot be read"),
    ],
)
async def test_wrong_files_are_refused_with_the_reason(world, bot, name, content, expected):
    supervisor = await world.member(Role.SUPERVISOR, "组长")
    await supervisor.send_document(name, content)
    if name.endswith((".csv", ".xlsx")):  # the others are refused by name, before reading
        await supervisor.expect("Reading")
    refusal = await supervisor.expect(expected, timeout=10)
    assert refusal.buttons == []


async def test_collectors_cannot_import_and_see_words_in_their_language(world, bot):
    collector = await world.member(Role.COLLECTOR, "张伟", lang="zh_Hans")
    await collector.send_document("ledger.csv", as_csv(ledger_rows(2)), "text/csv")
    assert "只有主管和管理员可以导入台账" in (await collector.expect()).text
    await collector.send("/cases")
    assert "没有未结案件" in (await collector.expect()).text
