"""Files that cannot be parsed are refused with a reason, fast, and never with a traceback."""

from __future__ import annotations

import csv
import io
import time
from datetime import date

import pytest

from bot.domain.importing import plan_import
from bot.domain.ledger import HEADER_SCAN_ROWS, MAX_COLUMNS, LedgerError, parse_ledger
from bot.imports import error_report
from tests.domain import hostile_files as hf

HEADER = "合同号,借款人,逾期本金,逾期日期,清收人员"


def refusal(data: bytes, **kwargs: int) -> tuple[str, dict[str, str]]:
    with pytest.raises(LedgerError) as info:
        parse_ledger(data, today=date(2026, 12, 1), **kwargs)
    return info.value.code, info.value.params


def test_openpyxl_uses_defusedxml():
    """defusedxml is a dependency so that openpyxl parses every part through it."""
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (hf.bad_zip, "zip"),
        (hf.truncated_zip, "zip"),
        (hf.bad_xml, "xml"),
        (hf.entity_bomb, "unsafe"),
    ],
)
def test_broken_files_are_refused_with_the_reason(make, reason):
    start = time.perf_counter()
    assert refusal(make()) == ("ledger.unreadable", {"reason": reason})
    assert time.perf_counter() - start < 5  # the bomb is never expanded


def test_ten_thousand_columns_are_refused():
    code, params = refusal(hf.wide(10_000))
    assert code == "ledger.too_many_columns"
    assert params == {"columns": "10000", "max": str(MAX_COLUMNS), "line": "1"}


def test_wide_csv_is_refused_too_but_empty_cells_out_there_are_harmless():
    wide = ",".join(["x"] * (MAX_COLUMNS + 5))
    assert refusal(f"{wide}\n".encode())[0] == "ledger.too_many_columns"
    padded = HEADER + "," * (MAX_COLUMNS + 50) + "\nHT1,张三,100,2026-01-05,张伟\n"
    assert len(parse_ledger(padded.encode()).rows) == 1


def test_a_million_headerless_rows_are_refused_at_the_header_in_well_under_a_second():
    data = hf.headerless(1_000_000)
    assert len(data) < 4_000_000  # about 2.6 MB
    start = time.perf_counter()
    code, params = refusal(data)
    elapsed = time.perf_counter() - start
    assert code == "ledger.missing_columns"
    assert params["rows"] == str(HEADER_SCAN_ROWS)
    # Before: openpyxl parsed the whole sheet to size it (10-150 s) before the first row.
    assert elapsed < 3, f"took {elapsed:.1f}s"


def test_the_header_must_be_in_the_first_rows():
    blank_top = "\n" * 25 + HEADER + "\nHT1,张三,100,2026-01-05,张伟\n"
    assert refusal(blank_top.encode()) == ("ledger.no_header", {"rows": str(HEADER_SCAN_ROWS)})
    just_in = "\n" * (HEADER_SCAN_ROWS - 1) + HEADER + "\nHT1,张三,100,2026-01-05,张伟\n"
    assert parse_ledger(just_in.encode()).header_line == HEADER_SCAN_ROWS


def test_the_row_cap_stops_a_big_file_and_blank_and_total_lines_do_not_count():
    rows = [f"HT{i},张三,100,2026-01-05,张伟" for i in range(11)]
    data = "\n".join([HEADER, *rows]).encode()
    assert refusal(data, max_rows=10) == ("ledger.too_many_rows", {"max": "10"})
    padded = "\n".join([HEADER, *rows[:10], "", "", "合计,,1000,,"]).encode()
    assert len(parse_ledger(padded, max_rows=10).rows) == 10


def test_an_xlsx_that_declares_more_rows_than_the_cap_is_refused_before_reading():
    data = hf.headerless(2_000, dimension=True)
    assert refusal(data, max_rows=100) == ("ledger.too_many_rows", {"max": "100"})


def test_an_empty_collector_cell_counts_and_lists_as_no_lead_like_an_unknown_one():
    data = (
        HEADER
        + "\nHT1,甲,100,2026-01-05,路人甲\nHT2,乙,200,2026-01-05,\nHT3,丙,300,2026-01-05,  \n"
    ).encode()
    plan = plan_import(parse_ledger(data), team_id=1, existing={}, collectors=[])
    assert plan.summary()["no_lead"] == 3
    report = error_report(plan, lambda m: m).decode("utf-8-sig")
    lines = {int(r[0]): r for r in list(csv.reader(io.StringIO(report)))[1:]}
    assert lines[2][3].startswith("no lead: “路人甲” is not a collector")
    assert (
        lines[3][3]
        == lines[4][3]
        == ("no lead: the collector cell is empty (imported without a lead; use /assign)")
    )
    # The dry-run screen's plan (no rows sent between processes) keeps the same counts.
    assert plan.without_rows().summary() == plan.summary()


def test_without_a_collector_column_no_row_is_warned():
    data = "合同号,借款人,逾期本金,逾期日期\nHT1,甲,100,2026-01-05\n".encode()
    plan = plan_import(parse_ledger(data), team_id=1, existing={}, collectors=[])
    assert plan.warnings == []


def test_a_plan_without_rows_cannot_be_written():
    data = (HEADER + "\nHT1,甲,100,2026-01-05,\n").encode()
    plan = plan_import(parse_ledger(data), team_id=1, existing={}, collectors=[])
    with pytest.raises(ValueError, match="for showing only"):
        plan.without_rows().replan(existing={}, collectors=[])
