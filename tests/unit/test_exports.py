"""Exports: periods, cells, scope, streaming, and ``qingshou export`` on the command line."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import zipfile
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.cli import main
from bot.domain.commitments import Achieved, NewMeeting, NewPayment
from bot.domain.dates import DateError, parse_past_date
from bot.domain.people import Role, User
from bot.exports import (
    SHEETS,
    ExportRequest,
    export_filename,
    headers,
    make_period,
    preset_period,
    write_csv,
    write_csv_zip,
    write_xlsx,
)
from bot.sandbox.demo import seed_demo_cases, seed_demo_history
from bot.storage import open_storage

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
TODAY = date(2026, 11, 30)


# -- periods and days --------------------------------------------------------------------------


def test_presets_count_today_in():
    assert preset_period("7d", TODAY) == (date(2026, 11, 24), TODAY)
    assert preset_period("30d", TODAY) == (date(2026, 11, 1), TODAY)
    assert preset_period("this_month", TODAY) == (date(2026, 11, 1), TODAY)
    assert preset_period("last_month", date(2026, 3, 1)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert preset_period("last_month", date(2026, 1, 15)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert preset_period("this_year", TODAY) == (date(2026, 1, 1), TODAY)
    with pytest.raises(ValueError, match="unknown period"):
        preset_period("forever", TODAY)


def test_a_period_is_local_days_bounded_in_utc_also_across_a_dst_change():
    period = make_period(date(2026, 11, 1), date(2026, 11, 30), SHANGHAI)
    assert period.since == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert period.until == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    # Berlin's clocks went back on Sunday 25 October 2026: that day has 25 hours.
    berlin = make_period(date(2026, 10, 25), date(2026, 10, 25), ZoneInfo("Europe/Berlin"))
    assert berlin.until - berlin.since == timedelta(hours=25)
    with pytest.raises(ValueError, match="before it starts"):
        make_period(TODAY, TODAY - timedelta(days=1), SHANGHAI)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-01", date(2026, 11, 1)),
        ("11月15日", date(2026, 11, 15)),
        ("12月25日", date(2025, 12, 25)),  # not yet this year: last year's
        ("25号", date(2026, 11, 25)),
        ("the 31st", date(2026, 10, 31)),  # November has no 31st
        ("周五", date(2026, 11, 27)),
        ("周一", date(2026, 11, 30)),  # today is a Monday
        ("昨天", date(2026, 11, 29)),
        ("yesterday", date(2026, 11, 29)),
        ("today", TODAY),
        ("Nov 3", date(2026, 11, 3)),
        ("2月29日", date(2024, 2, 29)),
    ],
)
def test_past_days_are_read_backwards(text, day):
    assert parse_past_date(text, TODAY) == day


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2027-01-05", "date.future"),
        ("明天", "date.future"),
        ("下周三", "date.future"),
        ("月底", "date.vague"),
        ("03/04", "date.ambiguous"),
        ("banana", "date.unparseable"),
        ("", "date.unparseable"),
    ],
)
def test_days_that_are_not_a_past_day_are_refused(text, code):
    with pytest.raises(DateError) as exc:
        parse_past_date(text, TODAY)
    assert exc.value.code == code


def test_file_names_keep_the_team_and_the_period_and_nothing_unsafe():
    period = make_period(date(2026, 11, 1), TODAY, SHANGHAI)
    assert export_filename("东城组", period, "xlsx") == "qingshou-东城组-2026-11-01_2026-11-30.xlsx"
    assert export_filename("../a b", period, "csv") == "qingshou-a_b-2026-11-01_2026-11-30.zip"


def test_headers_are_in_the_readers_language_and_import_back_in_chinese():
    from bot.domain.ledger import HEADER_ALIASES

    cases = SHEETS[0]
    assert headers(cases, "en")[:5] == ["Contract no.", "Borrower", "Phone", "Team", "Collector"]
    zh = headers(cases, "zh_Hans")
    aliases = {a for names in HEADER_ALIASES.values() for a in names}
    for header in ("合同号", "借款人", "电话", "清收人员", "贷款余额", "逾期本金", "欠息",
                   "逾期日期", "逾期天数", "抵押物估值"):  # fmt: skip
        assert header in zh
        assert header in aliases
    assert headers(cases, "zh_Hant")[0] == "合同號"


# -- against a database ------------------------------------------------------------------------


@pytest.fixture
async def demo(tmp_path):
    storage = await open_storage(str(tmp_path / "q.db"), now=NOW)
    east = await storage.ensure_team("东城组", now=NOW)
    west = await storage.ensure_team("西城组", now=NOW)
    people = {
        "boss": await storage.add_user(telegram_id=1, name="李组长", role=Role.SUPERVISOR,
                                       team_id=east.id, now=NOW),
        "zhang": await storage.add_user(telegram_id=2, name="张伟", role=Role.COLLECTOR,
                                        team_id=east.id, now=NOW),
        "chen": await storage.add_user(telegram_id=3, name="Chen Jing", role=Role.COLLECTOR,
                                       team_id=east.id, now=NOW),
        "west": await storage.add_user(telegram_id=4, name="王组长", role=Role.SUPERVISOR,
                                       team_id=west.id, now=NOW),
        "admin": await storage.add_user(telegram_id=5, name="主任", role=Role.ADMIN,
                                        team_id=None, now=NOW),
    }  # fmt: skip
    collectors = [people["zhang"], people["chen"]]
    await seed_demo_cases(storage, team_id=east.id, collectors=collectors, now=NOW)
    await seed_demo_history(storage, team_id=east.id, collectors=collectors, now=NOW)
    yield storage, people, east, west
    await storage.close()


def request(viewer: User, *, team_id=None, days=30, locale="en", sheets=()) -> ExportRequest:
    start = TODAY - timedelta(days=days - 1)
    return ExportRequest(viewer, team_id, make_period(start, TODAY, SHANGHAI), SHANGHAI, TODAY,
                         locale, tuple(sheets))  # fmt: skip


async def rows_of(storage, viewer, **kw):
    out = []
    async for batch in storage.export_cases(viewer, **kw):
        out.extend(batch)
    return out


async def test_scope_supervisor_their_team_admin_any_collector_nothing(demo):
    storage, p, east, west = demo
    assert len(await rows_of(storage, p["boss"])) == 8
    assert await rows_of(storage, p["boss"], team_id=west.id) == []  # not theirs
    assert await rows_of(storage, p["west"]) == []  # their team has no cases
    assert await rows_of(storage, p["zhang"]) == []  # collectors export nothing
    assert len(await rows_of(storage, p["admin"])) == 8
    assert len(await rows_of(storage, p["admin"], team_id=east.id)) == 8
    assert await rows_of(storage, p["admin"], team_id=west.id) == []


async def test_rows_come_in_batches_by_id_without_gaps_or_repeats(demo):
    storage, p, *_ = demo
    batches = [b async for b in storage.export_cases(p["boss"], batch=3)]
    assert [len(b) for b in batches] == [3, 3, 2]
    ids = [c.id for b in batches for c in b]
    assert ids == sorted(set(ids))
    assert len(ids) == 8
    period = request(p["boss"]).period
    meetings = [m async for b in storage.export_meetings(p["boss"], period, batch=2) for m in b]
    assert len(meetings) == 7
    assert all(period.start <= m.held_on <= period.end for m in meetings)


async def test_the_period_decides_what_history_comes_with_the_cases(demo):
    storage, p, *_ = demo
    out = io.StringIO()
    # The week: 郑海 and 孙丽 6 days ago, 吴敏 3, 孙丽 and 陈秀英 yesterday (not 周强's, older).
    assert await write_csv(storage, request(p["boss"], days=7), "meetings", out) == 5
    assert await write_csv(storage, request(p["boss"], days=7), "cases", io.StringIO()) == 8
    assert await write_csv(storage, request(p["boss"], days=60), "meetings", io.StringIO()) == 8


async def test_xlsx_is_streamed_write_only_with_defused_text_and_numbers(demo, tmp_path):
    storage, p, east, _ = demo
    await storage.add_user(telegram_id=9, name="x", role=Role.COLLECTOR, team_id=east.id,
                           now=NOW, staff_name="=HYPERLINK(\"http://evil\")")  # fmt: skip
    hostile = await storage.get_user_by_telegram_id(9)
    case = (await rows_of(storage, p["boss"]))[0]
    await storage.assign_lead(p["boss"], case.id, hostile.id, _reason(), now=NOW)
    await storage.add_meeting(hostile, case.id,
                              NewMeeting(TODAY, "result", "home", "+1 @me -x", Achieved.NO,
                                         "=1+2", None, None, None, None),
                              NewPayment(123_45, None, TODAY), now=NOW)  # fmt: skip
    dest = tmp_path / "out.xlsx"
    counts = await write_xlsx(storage, request(p["boss"], locale="zh_Hans"), dest)
    # legal: 8 limitations, 4 mortgages (theirs end with them), 4 guarantors' periods.
    assert counts == {"cases": 8, "meetings": 8, "commitments": 5, "instalments": 5,
                      "payments": 9, "approvals": 2, "legal": 16}  # fmt: skip
    with zipfile.ZipFile(dest) as zf:
        xml = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))
    assert b"<f>" not in xml  # no formula anywhere
    wb = openpyxl.load_workbook(dest)
    cases = wb["案件"]
    lead = {r[0]: r[4] for r in cases.iter_rows(min_row=2, values_only=True)}
    assert lead[case.contract_no] == '\'=HYPERLINK("http://evil")'
    meeting = [r for r in wb["面谈记录"].iter_rows(min_row=2, values_only=True)
               if r[1] == case.contract_no][-1]  # fmt: skip
    assert meeting[8] == "'+1 @me -x"
    assert meeting[10] == "'=1+2"
    payments = list(wb["收款记录"].iter_rows(min_row=2, values_only=True))
    assert 123.45 in [r[5] for r in payments]
    assert cases["H2"].number_format == "#,##0.00"
    assert cases.freeze_panes == "A2"


def _reason():
    from bot.domain.casefile import LeadReason

    return LeadReason.OTHER


async def test_the_bots_row_limit_stops_a_large_export_early(demo, tmp_path):
    from dataclasses import replace

    from bot.exports import ExportTooLarge

    storage, p, *_ = demo
    small = replace(request(p["boss"]), max_rows=10)
    for write in (write_xlsx, write_csv_zip):
        with pytest.raises(ExportTooLarge) as exc:
            await write(storage, small, tmp_path / "x")
        assert exc.value.limit == 10
    with pytest.raises(ExportTooLarge):
        await write_csv(storage, replace(small, max_rows=7), "cases", io.StringIO())


async def test_csv_zip_has_one_bom_csv_per_sheet(demo, tmp_path):
    storage, p, *_ = demo
    dest = tmp_path / "out.zip"
    counts = await write_csv_zip(storage, request(p["admin"], locale="zh_Hant"), dest)
    with zipfile.ZipFile(dest) as zf:
        names = zf.namelist()
        assert names[0] == "1-案件.csv"
        assert len(names) == len(SHEETS)
        for name, sheet in zip(names, SHEETS, strict=True):
            raw = zf.read(name)
            assert raw.startswith(b"\xef\xbb\xbf")
            rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
            assert len(rows) - 1 == counts[sheet.key]
    assert rows[0][:2] == ["合同號", "借款人"]  # the last sheet: the legal clocks


class _Batch(list):
    """A batch that can be watched (weakref) to see that the writer lets it go."""


async def test_the_writers_stream_batch_by_batch_and_keep_none(tmp_path):
    """Storage batches pass through the writers one at a time: two batches back is garbage
    by the time the next is asked for (nothing accumulates the rows)."""
    import weakref

    from bot.storage.export_records import ExportCase

    kept_alive = []

    class Stream:
        def export_cases(self, viewer, *, team_id=None, batch=2000):
            async def batches():
                refs = []
                for b in range(6):
                    if len(refs) >= 2:
                        kept_alive.append(refs[-2]() is not None)
                    rows = _Batch(
                        ExportCase(b * 500 + i, f"C{b}-{i}", "=x", None, "T", None, "open", None,
                                   100, 100, 0, TODAY, None, None)
                        for i in range(500)
                    )  # fmt: skip
                    refs.append(weakref.ref(rows))
                    yield rows
                    del rows

            return batches()

    admin = User(1, 1, "a", None, Role.ADMIN, None, None, None, None, True, None, NOW)
    counts = await write_xlsx(Stream(), request(admin, sheets=("cases",)), tmp_path / "s.xlsx")
    assert counts == {"cases": 3000}
    with (tmp_path / "s.csv").open("w", encoding="utf-8-sig", newline="") as out:
        assert await write_csv(Stream(), request(admin), "cases", out) == 3000
    assert kept_alive == [False] * 8


# -- the command line --------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("QINGSHOU_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QINGSHOU_DB", str(tmp_path / "q.db"))

    async def seed():
        now = datetime.now(UTC)
        storage = await open_storage(str(tmp_path / "q.db"), now=now)
        try:
            team = await storage.ensure_team("东城组", now=now)
            west = await storage.ensure_team("西城组", now=now)
            del west
            # The demo's week has its supervisor: he approved 郑海's plan below the target.
            await storage.add_user(telegram_id=1, name="李组长", role=Role.SUPERVISOR,
                                   team_id=team.id, now=now)  # fmt: skip
            collectors = [
                await storage.add_user(telegram_id=2, name="张伟", role=Role.COLLECTOR,
                                       team_id=team.id, now=now),
                await storage.add_user(telegram_id=3, name="Chen Jing", role=Role.COLLECTOR,
                                       team_id=team.id, now=now),
            ]  # fmt: skip
            await seed_demo_cases(storage, team_id=team.id, collectors=collectors, now=now)
            await seed_demo_history(storage, team_id=team.id, collectors=collectors, now=now)
        finally:
            await storage.close()

    asyncio.run(seed())
    return tmp_path


def test_cli_exports_an_xlsx_of_a_team_for_a_period(env, capsys):
    out = env / "东城.xlsx"
    args = ["export", "--team", "东城组", "--from", "2000-01-01", "--out", str(out)]
    assert main([*args, "--lang", "en"]) == 0
    said = capsys.readouterr().out
    assert "8 cases, 8 meetings, 5 commitments" in said
    assert str(out) in said
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Cases", "Meetings", "Commitments", "Instalments", "Payments",
                             "Approval requests", "Legal clocks"]  # fmt: skip
    assert wb["Cases"]["A1"].value == "Contract no."


def test_cli_one_csv_sheet_to_stdout_and_a_zip_of_several(env, capsys):
    assert main(["export", "--sheet", "payments", "--from", "昨天"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("收款编号,合同号,借款人")  # QINGSHOU_LANG's default: 简体
    # Yesterday 陈秀英's ¥2,000 and 孙丽's ¥700, today 孙丽's ¥1,200.
    assert len(lines) == 1 + 3
    out = env / "x.zip"
    assert main(["export", "--out", str(out), "--sheet", "cases", "--sheet", "approvals"]) == 0
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["1-案件.csv", "2-请示记录.csv"]
    capsys.readouterr()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--team", "南城"], "no team called '南城'"),
        (["--format", "xlsx"], "needs --out"),
        (["--from", "2099-01-01"], "--from '2099-01-01': not a day up to today (date.future)"),
        (["--from", "2026-11-20", "--to", "2026-11-10"], "comes before --from"),
        (["--sheet", "cases", "--sheet", "payments"], "a CSV holds one sheet"),
        (["--sheet", "notes"], "--sheet 'notes'"),
        (["--lang", "fr"], "--lang 'fr'"),
    ],
)
def test_cli_refusals_name_the_option(env, capsys, args, problem):
    assert main(["export", *args]) == 2
    assert problem in capsys.readouterr().err


def test_cli_export_has_help(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = capsys.readouterr().out
    for option in ("--team", "--from", "--to", "--format", "--sheet", "--lang", "--out"):
        assert option in text


async def test_codes_are_words_in_the_readers_language(demo, tmp_path):
    """A supervisor reads 已守约 / 违约 / 转账, not the database's kept / broken / transfer."""
    storage, p, *_ = demo
    dest = tmp_path / "zh.xlsx"
    await write_xlsx(storage, request(p["boss"], locale="zh_Hans"), dest)
    wb = openpyxl.load_workbook(dest)
    sheet = wb["分期"]
    head = [c.value for c in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    status = {r[head.index("状态")] for r in rows}
    assert {"已守约", "违约", "部分还款"} <= status
    assert "kept" not in status
    assert "broken" not in status
    why = {r[head.index("未还原因")] for r in rows} - {None}
    assert why == {"目前没钱"}
    out = io.StringIO()
    await write_csv(storage, request(p["boss"]), "payments", out)
    assert ",Transfer," in out.getvalue()
    assert ",answer to a reminder," in out.getvalue()


async def test_no_sheet_of_the_demo_shows_a_code_or_json_in_chinese(demo, tmp_path):
    """Every cell of every sheet of the demo cooperative's export, read in Chinese: no
    snake_case code and no JSON (the demo's meetings said "call_again", a code no step has)."""
    import re

    storage, p, *_ = demo
    dest = tmp_path / "all.xlsx"
    await write_xlsx(storage, request(p["boss"], locale="zh_Hans", days=365), dest)
    code = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|[{\[]\s*\"")
    shown = set()
    for sheet in openpyxl.load_workbook(dest).worksheets:
        for row in sheet.iter_rows(min_row=2, values_only=True):
            shown |= {c for c in row if isinstance(c, str) and code.search(c)}
    assert shown == set()


# -- the writer process (issue 17: exports at writer speed, off the loop) ----------------------


def _writers():
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.name == "qingshou-export-writer"]


def _stream(batches: int, *, between=None):
    """A storage stub: ``batches`` batches of 500 cases; ``between(n)`` awaited before the
    n-th batch (n ≥ 1)."""
    from bot.storage.export_records import ExportCase

    class Stream:
        def export_cases(self, viewer, *, team_id=None, batch=2000):
            async def gen():
                for b in range(batches):
                    if b and between is not None:
                        await between(b)
                    yield [
                        ExportCase(b * 500 + i, f"C{b}-{i}", "借款人", None, "T", None, "open",
                                   None, 100, 100, 0, TODAY, None, None)
                        for i in range(500)
                    ]  # fmt: skip

            return gen()

    return Stream()


ADMIN = User(1, 1, "a", None, Role.ADMIN, None, None, None, None, True, None, NOW)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The temporary directory the export may use, watched: empty again after every export."""
    import tempfile
    from multiprocessing import util

    util.get_temp_dir()  # multiprocessing's own (the fork server's socket): where it was
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


async def _gone(process) -> bool:
    for _ in range(100):
        if not process.is_alive():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_writer_killed_mid_export_is_an_error_in_words_and_leaves_nothing(
    tmp_path, scratch
):
    """The writer is killed half-way (the out-of-memory killer, an operator): the export
    raises ExportFailed (the bot says so in words), no half file at the destination, no
    temporary file anywhere, no process left."""
    import signal

    from bot.exports import ExportFailed

    killed = []

    async def kill_the_writer(n):
        if n == 2:
            (writer,) = _writers()
            os.kill(writer.pid, signal.SIGKILL)
            killed.append(writer)
            assert await _gone(writer)

    dest = tmp_path / "out.xlsx"
    with pytest.raises(ExportFailed):
        await write_xlsx(_stream(6, between=kill_the_writer), request(ADMIN, sheets=("cases",)),
                         dest)  # fmt: skip
    assert killed
    assert not dest.exists()
    assert list(scratch.iterdir()) == []
    assert _writers() == []


async def test_a_writer_that_crashes_is_an_error_and_leaves_nothing(tmp_path, scratch, monkeypatch):
    """The writer raises (here: a sheet it cannot make): its traceback goes to the log, the
    export fails as ExportFailed, nothing is left behind."""
    import bot.xlsx_writer
    from bot.exports import ExportFailed

    real = bot.xlsx_writer.sheet_message

    def broken(title, heads, widths, kinds):
        return real(title, heads, widths[:1], kinds)

    monkeypatch.setattr(bot.xlsx_writer, "sheet_message", broken)
    dest = tmp_path / "out.xlsx"
    with pytest.raises(ExportFailed, match="ValueError"):
        await write_xlsx(_stream(3), request(ADMIN, sheets=("cases",)), dest)
    assert not dest.exists()
    assert list(scratch.iterdir()) == []
    assert _writers() == []


async def test_a_cancelled_export_stops_its_writer_and_leaves_nothing(tmp_path, scratch):
    """The bot shuts down (or the task is cancelled) during an export: the writer is killed at
    once and its temporary files removed."""
    stuck = asyncio.Event()
    seen = []

    async def hang(n):
        seen.extend(_writers())
        stuck.set()
        await asyncio.Event().wait()  # forever

    dest = tmp_path / "out.xlsx"
    task = asyncio.create_task(
        write_xlsx(_stream(3, between=hang), request(ADMIN, sheets=("cases",)), dest)
    )
    await asyncio.wait_for(stuck.wait(), 60)
    assert len(seen) == 1
    assert list(scratch.iterdir()) != []  # the writer's work directory
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _gone(seen[0])
    assert not dest.exists()
    assert list(scratch.iterdir()) == []


async def test_the_workbook_looks_as_before_widths_bold_headers_formats_and_cjk(demo, tmp_path):
    """What the reader sees is what openpyxl wrote before: every column's width, bold frozen
    headers, money as numbers with two decimals, days and local times as dates, CJK intact."""
    storage, p, *_ = demo
    dest = tmp_path / "look.xlsx"
    counts = await write_xlsx(storage, request(p["boss"], locale="zh_Hant", days=365), dest)
    wb = openpyxl.load_workbook(dest)
    assert wb.sheetnames == [
        "案件",
        "面談記錄",
        "還款協議",
        "分期",
        "收款記錄",
        "請示記錄",
        "法律時效",
    ]
    for ws, sheet in zip(wb.worksheets, SHEETS, strict=True):
        assert ws.freeze_panes == "A2"
        assert [c.value for c in ws[1]] == headers(sheet, "zh_Hant")
        assert all(c.font.bold for c in ws[1])
        widths = {}  # neighbours of one width may share a <col min= max=>
        for dim in ws.column_dimensions.values():
            widths.update(dict.fromkeys(range(dim.min, dim.max + 1), dim.width))
        assert [widths.get(i) for i in range(1, len(sheet.columns) + 1)] == [
            c.width for c in sheet.columns
        ]
        rows = list(ws.iter_rows(min_row=2))
        assert len(rows) == counts[sheet.key]
        for row in rows:
            for cell, column in zip(row, sheet.columns, strict=True):
                if cell.value is None:
                    continue
                if column.kind == "money":
                    assert isinstance(cell.value, int | float)
                    assert cell.number_format == "#,##0.00"
                elif column.kind == "date":
                    assert isinstance(cell.value, datetime)
                    assert cell.number_format == "yyyy-mm-dd"
                elif column.kind == "time":
                    assert isinstance(cell.value, datetime)
                    assert cell.number_format == "yyyy-mm-dd hh:mm"
                elif column.kind in ("text", "word"):
                    assert isinstance(cell.value, str)
    cases = wb["案件"]
    names = {r[1] for r in cases.iter_rows(min_row=2, values_only=True)}
    assert "陈秀英" in names


def test_a_sheet_past_excels_last_row_is_refused_not_cut_short(tmp_path, monkeypatch):
    """xlsxwriter drops cells past row 1 048 576 without a word; the writer refuses instead
    (the command line has no row limit), so no file silently lacks rows."""
    import bot.xlsx_writer as xw

    monkeypatch.setattr(xw, "_MAX_ROW", 3)

    messages = [xw.sheet_message("s", ["a"], [10], ["int"]), ("rows", [[1], [2]]),
                ("rows", [[3], [4]]), xw.close_message()]  # fmt: skip

    class Conn:
        def recv(self):
            return messages.pop(0)

    import gc
    import warnings

    with pytest.raises(ValueError, match="at most 3 rows") as refused:
        xw._converse(Conn(), str(tmp_path))
    # In the child the process ends here; in this test, let go of the sheet's temporary file.
    del refused
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


async def test_the_legal_sheet_shows_each_clock_and_its_evidence_in_words(demo):
    """Issue 19: a row per clock — each case's limitation (and its mortgage's, the same day),
    each guarantor's period — with what set its last day and the evidence, in the reader's
    language: 王建国's guarantor 李明, jointly liable, ten days from the agreed end; 周强's
    limitation three years from the repayment agreement he signed last June, photo filed."""
    storage, p, *_ = demo
    out = io.StringIO()
    written = await write_csv(storage, request(p["boss"], locale="zh_Hans"), "legal", out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["合同号", "借款人", "小组", "清收人员", "时效", "保证人或抵押人", "保证方式",
                       "届满日", "剩余天数", "状态", "起算事由", "起算日", "证据"]  # fmt: skip
    assert written == len(rows) - 1
    li = next(r for r in rows if r[5] == "李明")
    assert li == ["DC2024-0102", "王建国", "东城组", "张伟", "保证期间", "李明", "连带责任保证",
                  "2026-12-10", "10", "进行中", "约定的保证期间", "2026-12-10",
                  "约定保证期间至2026年12月10日"]  # fmt: skip
    zhou = [r for r in rows if r[0] == "DC2023-0417"]
    assert [r[4:] for r in zhou] == [
        ["诉讼时效", "", "", "2028-06-15", "563", "进行中", "还款协议", "2025-06-15",
         "还款协议2025年6月15日签署 · 已存签字件照片"],
        ["抵押权（须在诉讼时效内行使）", "厂房（城东工业园3号）", "", "2028-06-15", "563",
         "进行中", "还款协议", "2025-06-15", "还款协议2025年6月15日签署 · 已存签字件照片"],
    ]  # fmt: skip
    # A guarantor whose kind the ledger does not give: said so, never assumed.
    sun = next(r for r in rows if r[5] == "孙伟")
    assert (sun[6], sun[9], sun[10]) == (
        "档案未载（不作推定）",
        "进行中，保证方式档案未载",
        "逾期起始日",
    )
    # English: the same rows in words, no code anywhere.
    out = io.StringIO()
    await write_csv(storage, request(p["boss"], locale="en"), "legal", out)
    english = list(csv.reader(io.StringIO(out.getvalue())))
    li = next(r for r in english if r[5] == "李明")
    assert li[4:7] == ["Guarantee period", "李明", "joint liability guarantee"]
    zhou = next(r for r in english if r[0] == "DC2023-0417")
    assert zhou[10:] == [
        "a signed repayment agreement",
        "2025-06-15",
        "Repayment agreement signed on Jun 15, 2025 · signed copy's photo filed",
    ]
    assert not any("_" in cell for r in english[1:] for cell in r[4:])
