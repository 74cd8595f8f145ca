"""/export through the emulator over HTTP: the file comes back as a document, and what it holds
is checked against the test's own seed (not against the product's queries)."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from datetime import date, timedelta

import httpx
import openpyxl

from bot.domain.commitments import (
    Achieved,
    ApprovalReason,
    Channel,
    NewCommitment,
    NewInstalment,
    NewMeeting,
    NewPayment,
)
from bot.domain.people import Role
from tests.e2e.conftest import START, TOKEN, World
from tests.e2e.seed import TODAY, case_id, ledger, row

#: What the seed writes inside the last 30 days (1–30 Nov 2026) for team 东城, counted here.
EAST_CASES = 4
EAST_MEETINGS_IN_RANGE = 3  # a fourth was held 40 days ago
EAST_PAYMENTS_IN_RANGE = 3  # ¥500, ¥0 ("said nothing") and the commitment's ¥1,000 today
EAST_COMMITMENTS = 1
EAST_INSTALMENTS_IN_RANGE = 1  # the second falls due on 20 December
EAST_APPROVALS = 1
WEST_CASES = 2
WEST_MEETINGS_IN_RANGE = 1


async def download(world: World, file_id: str) -> bytes:
    """Fetch a document the bot sent, as any Bot API client would (getFile, then the file)."""
    base = world.emulator.api_base_url
    async with httpx.AsyncClient() as http:
        meta = (await http.get(f"{base}{TOKEN}/getFile", params={"file_id": file_id})).json()
        path = meta["result"]["file_path"]
        return (await http.get(f"{world.emulator.file_base_url}{TOKEN}/{path}")).content


def meeting(days_ago: int) -> NewMeeting:
    held = TODAY - timedelta(days=days_ago)
    return NewMeeting(held, "result", "home", "=1+1 张伟", Achieved.PARTLY, "-答应先还一点",
                      "neutral", "call_again", None, None)  # fmt: skip


async def seed(world: World) -> dict[str, object]:
    supervisor = await world.member(Role.SUPERVISOR, "李组长", lang="zh_Hans")
    collector = await world.member(Role.COLLECTOR, "张伟")
    west_boss = await world.member(Role.SUPERVISOR, "王组长", team="西城")
    west_collector = await world.member(Role.COLLECTOR, "赵六", team="西城")
    admin = await world.member(Role.ADMIN, "主任", team=None)
    await ledger(world, "东城", [
        row(2, "E1", '=HYPERLINK("http://evil","点我")', dpd=40, overdue_yuan=5000,
            collector="张伟", phone="-13800000000"),
        row(3, "E2", "陈秀英", dpd=90, overdue_yuan=8000, collector="张伟"),
        row(4, "E3", "@SUM(A1)", dpd=10, overdue_yuan=3000, collector="张伟"),
        row(5, "E4", "周强", dpd=200, overdue_yuan=90000, collector=None),
    ])  # fmt: skip
    await ledger(world, "西城", [
        row(2, "W1", "西城甲", dpd=30, overdue_yuan=1000, collector="赵六"),
        row(3, "W2", "西城乙", dpd=60, overdue_yuan=2000, collector="赵六"),
    ])  # fmt: skip
    zhang = world.members[collector.id]
    storage = world.storage
    e1, e2, e3 = [await case_id(world, c) for c in ("E1", "E2", "E3")]
    # Meetings: three in November, one 40 days ago (outside "last 30 days").
    cash = NewPayment(500 * 100, Channel.CASH, TODAY - timedelta(days=5))
    m1 = await storage.add_meeting(zhang, e1, meeting(5), cash, now=START - timedelta(days=5))
    await storage.add_meeting(zhang, e2, meeting(3), NewPayment(0, None, TODAY - timedelta(days=3)),
                              now=START - timedelta(days=3))  # fmt: skip
    await storage.add_meeting(zhang, e3, meeting(40), None, now=START - timedelta(days=40))
    m4 = await storage.add_meeting(zhang, e2, meeting(1), None, now=START - timedelta(days=1))
    assert m1 is not None
    assert m4 is not None
    dues = (TODAY - timedelta(days=0), TODAY + timedelta(days=20))
    commitment = await storage.add_commitment(
        zhang, e2,
        NewCommitment(money_today=1000 * 100, money_channel=Channel.TRANSFER,
                      promised_by_party=None, plan={"kind": "dates", "text": "test"},
                      instalments=tuple(NewInstalment(d, 2000 * 100) for d in dues),
                      meeting_id=m4.id),
        needs_approval=frozenset(), proposal={}, flow_id=None, notify=None,
        now=START - timedelta(days=1), today=TODAY - timedelta(days=1),
    )  # fmt: skip
    assert commitment is not None
    approval = await storage.request_approval(
        zhang, e1, frozenset({ApprovalReason.FEE_WAIVER}), {"text": "+免除罚息"},
        flow_id=None, notify=None, now=START - timedelta(days=2),
    )  # fmt: skip
    assert approval is not None
    w1 = await case_id(world, "W1")
    await storage.add_meeting(world.members[west_collector.id], w1, meeting(2), None,
                              now=START - timedelta(days=2))  # fmt: skip
    return {"supervisor": supervisor, "collector": collector, "admin": admin,
            "west_boss": west_boss, "west_collector": west_collector}  # fmt: skip


def data_rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(min_row=2, values_only=True) if any(v is not None for v in r)]


async def test_supervisor_exports_the_team_as_xlsx_in_their_language(world, bot):
    people = await seed(world)
    supervisor = people["supervisor"]
    await supervisor.send("/export")
    await supervisor.expect("导出哪个时间段？")
    await supervisor.press("最近30天")
    await supervisor.expect("选择格式")
    await supervisor.press("Excel（XLSX）")
    doc = await supervisor.expect("案件：4")
    assert doc.document is not None
    assert doc.document["file_name"] == "qingshou-东城-2026-11-01_2026-11-30.xlsx"
    assert "面谈记录：3" in doc.text
    await supervisor.expect("导出文件已发送")
    wb = openpyxl.load_workbook(io.BytesIO(await download(world, doc.document["file_id"])))
    assert wb.sheetnames == ["案件", "面谈记录", "还款协议", "分期", "收款记录", "请示记录",
                             "法律时效"]  # fmt: skip
    cases = wb["案件"]
    header = [c.value for c in cases[1]]
    # The ledger's own headers: the cases sheet imports back.
    assert header[:5] == ["合同号", "借款人", "电话", "小组", "清收人员"]
    assert {"贷款余额", "逾期日期", "逾期天数"} <= set(header)
    rows = data_rows(cases)
    assert len(rows) == EAST_CASES
    assert {r[0] for r in rows} == {"E1", "E2", "E3", "E4"}  # no 西城 case
    by_contract = {r[0]: r for r in rows}
    assert by_contract["E1"][1] == '\'=HYPERLINK("http://evil","点我")'
    assert by_contract["E1"][2] == "'-13800000000"
    assert by_contract["E3"][1] == "'@SUM(A1)"
    assert by_contract["E2"][4] == "张伟"
    assert by_contract["E2"][header.index("逾期本金")] == 8000
    assert by_contract["E2"][header.index("逾期天数")] == 90
    counts = {name: len(data_rows(wb[name])) for name in wb.sheetnames}
    assert counts == {
        "案件": EAST_CASES, "面谈记录": EAST_MEETINGS_IN_RANGE, "还款协议": EAST_COMMITMENTS,
        "分期": EAST_INSTALMENTS_IN_RANGE, "收款记录": EAST_PAYMENTS_IN_RANGE,
        "请示记录": EAST_APPROVALS,
        "法律时效": EAST_CASES,  # one limitation each; no guarantor, no collateral
    }  # fmt: skip
    # Issue 16: codes in the reader's words (the sheets said home / result / partly / neutral
    # and fee_waiver, the database's codes).
    meetings = wb["面谈记录"]
    heads = [c.value for c in meetings[1]]
    first = data_rows(meetings)[0]
    assert [first[heads.index(h)] for h in ("类型", "地点", "目标达成", "态度")] == [
        "成果性谈话", "借款人家中", "部分达到", "中立",
    ]  # fmt: skip
    asks = wb["请示记录"]
    (request,) = data_rows(asks)
    assert request[[c.value for c in asks[1]].index("请示原因")] == "减免费用"
    payments = wb["收款记录"]
    amount = [c.value for c in payments[1]].index("金额")
    assert sorted(r[amount] for r in data_rows(payments)) == [0, 500, 1000]
    for ws in wb.worksheets:  # nothing a spreadsheet would run
        for line in ws.iter_rows(values_only=True):
            for cell in line:
                if isinstance(cell, str):
                    assert not cell.startswith(("=", "+", "-", "@")), cell
        for line in ws.iter_rows():
            assert all(c.data_type != "f" for c in line)


async def test_a_collector_is_refused_politely(world, bot):
    people = await seed(world)
    collector = people["collector"]
    await collector.send("/export")
    refusal = await collector.expect("Exports are for supervisors and admins")
    assert refusal.document is None
    await world.assert_silent(collector)


async def test_admin_exports_all_teams_as_csv(world, bot):
    people = await seed(world)
    admin = people["admin"]
    await admin.send("/export")
    await admin.expect("Which team's cases")
    await admin.press("All teams")
    await admin.expect("Which period?")
    await admin.press("Last 30 days")
    await admin.expect("Which format?")
    await admin.press("CSV (ZIP)")
    doc = await admin.expect("Cases: 6")
    assert doc.document is not None
    assert doc.document["file_name"] == "qingshou-All_teams-2026-11-01_2026-11-30.zip"
    await admin.expect("Here is the export")
    archive = zipfile.ZipFile(io.BytesIO(await download(world, doc.document["file_id"])))
    names = archive.namelist()
    assert names == ["1-Cases.csv", "2-Meetings.csv", "3-Commitments.csv", "4-Instalments.csv",
                     "5-Payments.csv", "6-Approval requests.csv", "7-Legal clocks.csv"]  # fmt: skip
    texts = {n: archive.read(n) for n in names}
    assert all(t.startswith(b"\xef\xbb\xbf") for t in texts.values())  # Excel reads the UTF-8
    lines = {n: t.decode("utf-8-sig").strip().splitlines() for n, t in texts.items()}
    assert lines["1-Cases.csv"][0].startswith("Contract no.,Borrower,Phone,Team,Collector")
    assert len(lines["1-Cases.csv"]) - 1 == EAST_CASES + WEST_CASES
    assert len(lines["2-Meetings.csv"]) - 1 == EAST_MEETINGS_IN_RANGE + WEST_MEETINGS_IN_RANGE
    # The legal clocks, in words: each case's limitation, counted from its missed due date (the
    # ledger has no 到期日) or restarted by a payment since.
    legal = lines["7-Legal clocks.csv"]
    assert legal[0] == (
        "Contract no.,Borrower,Team,Collector,Clock,Guarantor or mortgagor,"
        "Guarantee kind,Last day,Days left,State,Set by,Counted from,Evidence"
    )
    assert len(legal) - 1 == EAST_CASES + WEST_CASES
    for line in legal[1:]:
        assert ",Limitation period,,," in line, line
        assert re.search(",running,(the missed due date|a payment|a repayment plan agreed),", line)
    assert any("(the ledger gives no due date)" in line for line in legal)
    assert any("Payment received on Nov 25, 2026" in line for line in legal)
    # A plan counts from its last instalment (第189条): 陈秀英's, agreed 29 Nov, from 20 Dec.
    (plan,) = [line for line in legal if "Repayment plan agreed on Nov 29, 2026" in line]
    assert ",2029-12-20,1116,running,a repayment plan agreed,2026-12-20," in plan


async def test_admin_picks_one_team_and_types_the_dates(world, bot):
    people = await seed(world)
    admin = people["admin"]
    await admin.send("/export")
    await admin.expect("Which team's cases")
    await admin.press("西城")
    await admin.expect("Which period?")
    await admin.press("Other dates…")
    await admin.expect("From which day?")
    await admin.send("2026-12-05")
    await admin.expect("has not come yet")
    await admin.send("Nov 20")
    await admin.expect("to which day?")
    await admin.send("Nov 10")
    await admin.expect("comes before the first day")
    await admin.send("today")
    question = await admin.expect("Which format?")
    assert "西城" in question.text
    await admin.press("Excel (XLSX)")
    doc = await admin.expect("Cases: 2")
    assert doc.document is not None
    assert doc.document["file_name"] == "qingshou-西城-2026-11-20_2026-11-30.xlsx"
    await admin.expect("Here is the export")
    wb = openpyxl.load_workbook(io.BytesIO(await download(world, doc.document["file_id"])))
    assert len(data_rows(wb["Cases"])) == WEST_CASES
    assert len(data_rows(wb["Meetings"])) == WEST_MEETINGS_IN_RANGE
    assert date(2026, 11, 28) == data_rows(wb["Meetings"])[0][5].date()


async def test_the_sandbox_demo_has_weeks_of_history_and_exports_it(tmp_path, pace):
    """The demo cooperative's past (bot.sandbox.demo.seed_demo_history), as 李组长 exports it."""
    from bot.config import load_settings
    from bot.sandbox import BOT_USERNAME, TEAM, start_sandbox
    from tgemu import EmulatorClient, EmulatorConfig, Person

    async with start_sandbox(
        replace(load_settings({}), **pace.settings()),
        emulator_config=EmulatorConfig(port=0, **pace.emulator_config()),
        db_path=tmp_path / "s.db",
    ) as sandbox:
        storage = sandbox.storage
        team = await storage.find_team(TEAM)
        assert team is not None
        (waiting,) = await storage.pending_approvals(team_id=team.id)  # for 李组长
        assert waiting.requested_by_name == "张伟"
        async with EmulatorClient(sandbox.emulator.url) as client:
            boss = Person(client, sandbox.people["supervisor"].id, BOT_USERNAME, name="李组长")
            await boss.send("/export")
            await boss.press("最近30天", await boss.expect("导出哪个时间段？"))
            await boss.press("Excel（XLSX）", await boss.expect("选择格式"))
            doc = await boss.expect("案件：8", timeout=15)
            await boss.expect("导出文件已发送")
            assert doc.document is not None
            async with httpx.AsyncClient(base_url=sandbox.emulator.url) as http:
                got = await http.get(f"/control/files/{doc.document['file_id']}",
                                     params={"download": "1"})  # fmt: skip
            wb = openpyxl.load_workbook(io.BytesIO(got.content))
    counts = {name: len(data_rows(wb[name])) for name in wb.sheetnames}
    # 周强 27 and 20 days ago (34 is outside); the week: 郑海 6 days ago, 孙丽 6 and 1, 吴敏 3,
    # 陈秀英 yesterday. Plans: 郑海's (approved), 孙丽's two, 吴敏's, 陈秀英's; instalments due
    # by today: 郑海's three, 孙丽's first, 吴敏's first. Requests: 郑海's plan
    # below the target, 王建国's fee waiver (waiting).
    # Legal clocks: 8 limitations, 4 mortgages, the periods of 4 guarantors (李明, 陈大勇,
    # 陈小勇, 孙伟).
    assert counts == {"案件": 8, "面谈记录": 7, "还款协议": 5, "分期": 5, "收款记录": 8,
                      "请示记录": 2, "法律时效": 16}  # fmt: skip
    instalments = wb["分期"]
    header = [c.value for c in instalments[1]]
    rows = data_rows(instalments)
    status = {(r[header.index("借款人")], r[header.index("状态")]) for r in rows}
    assert status == {
        ("郑海", "已守约"),
        ("郑海", "违约"),
        ("郑海", "在办"),  # due today, not answered yet
        ("孙丽", "已守约"),  # paid in part, the rest at yesterday's meeting
        ("吴敏", "部分还款"),
    }
    broken = next(r for r in rows if r[header.index("状态")] == "违约")
    assert broken[header.index("未还原因")] == "目前没钱"
    assert broken[header.index("结清时间")] is not None
    assert broken[header.index("答复时间")] is not None


async def test_an_export_whose_writer_dies_is_reported_in_words_and_the_next_one_works(
    world, bot, monkeypatch
):
    """Issue 17: the workbook is written by a child process. If it dies half-way (the kernel's
    out-of-memory killer, an operator's kill), the supervisor reads in their language that
    nothing was sent and what to do, gets no half file, and the next export works."""
    from bot.child import Child

    people = await seed(world)
    supervisor = people["supervisor"]
    real = Child._send

    def send_then_die(self, make):
        real(self, make)
        self.kill()  # after the first sheet's header: the writer is gone mid-export
        self._process.join(10)

    monkeypatch.setattr(Child, "_send", send_then_die)
    await supervisor.send("/export")
    await supervisor.press("最近30天", await supervisor.expect("导出哪个时间段？"))
    await supervisor.press("Excel（XLSX）", await supervisor.expect("选择格式"))
    failed = await supervisor.expect("这次没能写出导出文件")
    assert failed.document is None
    assert "请再试一次" in failed.text
    monkeypatch.undo()
    await supervisor.send("/export")
    await supervisor.press("最近30天", await supervisor.expect("导出哪个时间段？"))
    await supervisor.press("Excel（XLSX）", await supervisor.expect("选择格式"))
    doc = await supervisor.expect("案件：4")
    assert doc.document is not None
    await supervisor.expect("导出文件已发送")
