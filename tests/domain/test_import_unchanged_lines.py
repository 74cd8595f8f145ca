"""A line whose raw cells are those that last wrote its case (and whose case has a lead, and an
overdue date not after today) is counted unchanged without being parsed: the database ends
exactly as if every line had been parsed, and every line that could read differently is
parsed as before (issue 17: an unchanged re-import near its floor)."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import ledger
from bot.domain.people import Role
from bot.imports import ImportLimits, import_bytes, prepare_import
from bot.storage import Storage, open_storage
from bot.storage.testing import execute_file, query_file

NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)
TODAY = date(2026, 12, 1)
HEADER = "合同号,借款人,身份证号,贷款余额,逾期本金,欠息,逾期日期,数据日期,担保人,清收人员,配偶\n"


def line(i: int, *, overdue: str = "", collector: str = "张伟") -> str:
    return (
        f'HT{i},借款人{i},33010219900101{i:04d},"{100_000 + i:,}.00",{overdue or 5000 + i},'
        f"{i}.25,2026/3/{i % 28 + 1},2026-11-30,担保人甲(139{i:08d});担保人乙,{collector},配偶{i}\n"
    )


LINES = [line(i) for i in range(1, 41)]
FILE = (HEADER + "".join(LINES)).encode("gb18030")


@dataclass
class World:
    storage: Storage
    path: Path
    team_id: int


@pytest.fixture
async def world() -> AsyncIterator[World]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.db"
        storage = await open_storage(str(path), now=NOW)
        try:
            team = await storage.ensure_team("东城", now=NOW)
            await storage.add_user(
                telegram_id=1, name="张伟", role=Role.COLLECTOR, team_id=team.id, now=NOW
            )
            yield World(storage, path, team.id)
        finally:
            await storage.close()


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The lines the parser reads (the reader runs in a thread in these tests)."""
    lines: list[int] = []
    parse = ledger._RowParser.parse

    def counting(self, line, cells, contract_no):  # type: ignore[no-untyped-def]
        lines.append(line)
        return parse(self, line, cells, contract_no)

    monkeypatch.setattr(ledger._RowParser, "parse", counting)
    return lines


async def run(w: World, data: bytes, *, today: date = TODAY, in_process: bool = False):
    outcome = await import_bytes(
        w.storage,
        data,
        file_name="台账.csv",
        team_id=w.team_id,
        actor_id=None,
        now=NOW + (today - TODAY),
        today=today,
        limits=ImportLimits(seconds=120),
        in_process=in_process,
    )
    return outcome


def dump(path: Path) -> list[list[tuple[object, ...]]]:
    """Everything an import writes about the cases, but which import wrote it last."""
    return [
        query_file(
            path,
            "SELECT contract_no, team_id, lead_id, borrower_name, borrower_id_number, "
            "principal_outstanding, overdue_principal, overdue_interest, overdue_since, "
            "guarantees, ledger_as_of, previous_overdue_amount, ledger_hash, ledger_gaps, "
            "imported_at, figures_at, q_until FROM cases ORDER BY contract_no",
        ),
        query_file(
            path,
            "SELECT case_id, role, name, phone, ledger_phone, in_ledger FROM case_parties "
            "ORDER BY case_id, role, name",
        ),
        query_file(path, "SELECT case_id, from_id, to_id, reason FROM case_leads ORDER BY id"),
        query_file(path, "SELECT cases, urgent FROM queue_counts ORDER BY team_id, lead_id"),
    ]


async def test_an_unchanged_file_is_not_parsed_again_and_ends_as_a_parsed_one(world, parsed):
    first = await run(world, FILE)
    assert first.applied is not None
    assert first.applied["new"] == 40
    assert len(parsed) == 40
    parsed.clear()

    again = await run(world, FILE)
    assert again.applied is not None
    assert (again.applied["unchanged"], again.applied["new"], again.applied["updated"]) == (
        40,
        0,
        0,
    )
    assert parsed == []  # not one line read by the parser
    skipped = dump(world.path)
    import_of = query_file(world.path, "SELECT DISTINCT import_id FROM cases")
    assert import_of == [(again.import_id,)]  # every case marked as imported by it

    # The same import once more, every line parsed (no fingerprint stored): the same database.
    execute_file(world.path, "UPDATE cases SET ledger_raw_hash = NULL")
    parsed.clear()
    full = await run(world, FILE)
    assert len(parsed) == 40
    assert full.applied is not None
    assert dict(full.applied.items()) == dict(again.applied)
    assert dump(world.path) == skipped
    # ... and that import stored the fingerprints again: the next one skips every line.
    parsed.clear()
    await run(world, FILE)
    assert parsed == []


async def test_only_the_changed_lines_are_parsed_and_updated(world, parsed):
    await run(world, FILE)
    parsed.clear()
    changed = HEADER + "".join(
        line(i, overdue="7777") if i in (3, 30) else text for i, text in enumerate(LINES, 1)
    )
    outcome = await run(world, changed.encode("gb18030"))
    assert outcome.applied is not None
    assert (outcome.applied["updated"], outcome.applied["unchanged"]) == (2, 38)
    assert parsed == [4, 31]  # the file's lines (the header is line 1)
    stored = query_file(world.path, "SELECT overdue_principal FROM cases WHERE contract_no = 'HT3'")
    assert stored == [(777_700,)]


async def test_a_case_without_a_lead_is_read_every_time(world, parsed):
    # Nobody named 李娜 yet: the case comes in without a lead (a warning), every time the file
    # comes, until she joins; then the same line sets her as the lead.
    data = (HEADER + line(1) + line(2, collector="李娜")).encode("gb18030")
    first = await run(world, data)
    assert first.applied is not None
    assert first.applied["no_lead"] == 1
    parsed.clear()
    again = await run(world, data)
    assert again.applied is not None
    assert (again.applied["no_lead"], again.applied["unchanged"]) == (1, 2)
    assert parsed == [3]
    await world.storage.add_user(
        telegram_id=2, name="李娜", role=Role.COLLECTOR, team_id=world.team_id, now=NOW
    )
    joined = await run(world, data)
    assert joined.applied is not None
    assert (joined.applied["updated"], joined.applied["no_lead"]) == (1, 0)
    lead = query_file(
        world.path,
        "SELECT u.name FROM cases c JOIN users u ON u.id = c.lead_id WHERE c.contract_no = 'HT2'",
    )
    assert lead == [("李娜",)]


async def test_a_duplicate_of_a_known_line_is_still_refused(world, parsed):
    await run(world, FILE)
    parsed.clear()
    outcome = await run(world, FILE + LINES[4].encode("gb18030"))
    assert outcome.applied is not None
    assert (outcome.applied["unchanged"], outcome.applied["refused"]) == (40, 1)
    assert [(e.line, e.code.value) for e in outcome.plan.errors] == [(42, "duplicate_contract")]
    assert parsed == [42]


async def test_the_dry_run_counts_known_lines_unchanged_too(world):
    await run(world, FILE)
    plan = await prepare_import(world.storage, FILE, team_id=world.team_id, today=TODAY)
    assert plan.summary()["unchanged"] == 40


async def test_another_header_for_the_same_column_reads_every_line_again(world, parsed):
    await run(world, FILE)
    parsed.clear()
    renamed = FILE.decode("gb18030").replace("逾期本金", "逾期本金余额", 1).encode("gb18030")
    outcome = await run(world, renamed)
    assert outcome.applied is not None
    assert outcome.applied["unchanged"] == 40
    assert len(parsed) == 40


async def test_a_line_whose_overdue_date_is_now_in_the_future_is_parsed_and_refused(world, parsed):
    await run(world, FILE)
    parsed.clear()
    # The same file read as of a day before most of its overdue dates: parsed, and refused
    # as a full read would refuse it.
    earlier = date(2026, 3, 10)
    outcome = await run(world, FILE, today=earlier)
    assert outcome.applied is not None
    refused = {e.line for e in outcome.plan.errors if e.code.value == "date_in_future"}
    assert refused
    assert refused <= set(parsed)
    assert outcome.applied["unchanged"] == 40 - len(refused)


async def test_dates_counted_back_from_today_are_read_again_the_next_day(world, parsed):
    data = (
        "合同号,借款人,逾期本金,逾期天数,清收人员\n"
        + "".join(f"HT{i},借款人{i},{1000 + i},{30 + i},张伟\n" for i in range(5))
    ).encode()
    await run(world, data)
    parsed.clear()
    same_day = await run(world, data)
    assert same_day.applied is not None
    assert same_day.applied["unchanged"] == 5
    assert parsed == []
    next_day = await run(world, data, today=TODAY + timedelta(days=1))
    assert next_day.applied is not None
    assert next_day.applied["updated"] == 5
    assert len(parsed) == 5


async def test_the_reader_in_a_child_process_skips_the_same_lines(world):
    await run(world, FILE, in_process=True)
    outcome = await run(world, FILE, in_process=True)
    assert outcome.applied is not None
    assert outcome.applied["unchanged"] == 40
    stored = query_file(world.path, "SELECT COUNT(*) FROM cases WHERE ledger_raw_hash IS NULL")
    assert stored == [(0,)]


def test_a_fingerprint_tells_cells_apart_wherever_a_separator_falls():
    reading = ledger.open_ledger(FILE, today=TODAY)
    width = len(reading.header)
    base = next(csv.reader([LINES[0].rstrip("\n")]))
    assert len(base) == width
    borrower, collector = reading.header.index("借款人"), reading.header.index("清收人员")
    a, b = list(base), list(base)
    a[borrower], a[collector] = "甲\x1f", "张伟"
    b[borrower], b[collector] = "甲", "\x1f张伟"
    assert reading.raw_hash(a) != reading.raw_hash(b)
    assert reading.raw_hash(base) == reading.raw_hash(list(base))
    # Another day changes nothing for a line with its overdue date, a header's unit does.
    assert ledger.open_ledger(FILE, today=TODAY + timedelta(days=3)).raw_hash(base) == (
        reading.raw_hash(base)
    )
    in_wan = FILE.decode("gb18030").replace("贷款余额", "贷款余额(万元)", 1).encode("gb18030")
    assert ledger.open_ledger(in_wan, today=TODAY).raw_hash(base) != reading.raw_hash(base)
