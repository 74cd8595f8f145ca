from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from bot.domain.cases import PartyRole
from bot.domain.ledger import (
    CellDateError,
    LedgerError,
    LedgerField,
    RowError,
    open_ledger,
    parse_ledger,
    parse_ledger_date,
    parse_party_list,
)

F = LedgerField
HEADER = (
    "合同号,借款人,身份证号,联系电话,贷款余额,逾期本金,欠息,逾期日期,到期日,"
    "担保人,抵押物,抵押物估值,清收人员,配偶,配偶电话"
)
GOOD = (
    'HT-001,张三,330102199001011234,13800000000,"100,000.00",50000,1200.50,2024-03-05,'
    "2024-12-31,李四(13911112222)；王五,商铺一间,80万,王经理,赵六,13700000000"
)


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    wb.close()
    return buf.getvalue()


def codes(errors: Sequence[RowError]) -> list[tuple[int, str, str | None]]:
    return [(e.line, e.code.value, e.field.value if e.field else None) for e in errors]


# --- a good row, every field -----------------------------------------------------------------


def test_good_row_becomes_domain_objects() -> None:
    result = parse_ledger(csv_bytes(HEADER, GOOD))
    assert result.errors == []
    [row] = result.rows
    assert row.line == 2
    assert row.borrower.name == "张三"
    assert row.borrower.id_number == "330102199001011234"
    assert row.borrower.phone == "13800000000"
    loan = row.loan
    assert loan.contract_no == "HT-001"
    assert loan.principal_outstanding == 10_000_000
    assert loan.overdue_principal == 5_000_000
    assert loan.overdue_interest == 120_050
    assert loan.overdue_since == date(2024, 3, 5)
    assert loan.maturity == date(2024, 12, 31)
    assert row.security.guarantees == "李四(13911112222)；王五"
    assert row.security.collateral_description == "商铺一间"
    assert row.security.collateral_value == 80_000_000
    assert row.collector == "王经理"
    assert [(p.role, p.name, p.phone) for p in row.related_parties] == [
        (PartyRole.GUARANTOR, "李四", "13911112222"),
        (PartyRole.GUARANTOR, "王五", None),
        (PartyRole.SPOUSE, "赵六", "13700000000"),
    ]
    assert result.columns[F.CONTRACT_NO] == "合同号"
    assert result.columns[F.COLLECTOR] == "清收人员"
    assert result.unmapped_columns == []


# --- encodings and formats -------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(encoding: str) -> None:
    result = parse_ledger(csv_bytes(HEADER, GOOD, encoding=encoding))
    assert [r.borrower.name for r in result.rows] == ["张三"]
    assert result.columns[F.CONTRACT_NO] == "合同号"  # no BOM glued to the first header


def test_tab_separated() -> None:
    data = csv_bytes("合同号\t借款人\t逾期本金\t逾期日期", "HT1\t张三\t5000\t2024/3/5")
    assert parse_ledger(data).rows[0].loan.overdue_principal == 500_000


def test_xlsx_with_native_cells() -> None:
    data = xlsx_bytes(
        [
            ["合同号", "借款人", "身份证号", "贷款余额", "逾期本金", "欠息", "逾期日期", "到期日"],
            ["HT1", "张三", "33010219900101123X", 100000, 50000.5, 0.1 + 0.2, datetime(2024, 3, 5),
             date(2025, 1, 1)],
            [20240001, "李四", None, 8000, 8000, None, 20240306, 45658],
        ]
    )  # fmt: skip
    result = parse_ledger(data)
    assert result.errors == []
    first, second = result.rows
    assert first.loan.overdue_principal == 5_000_050
    assert first.loan.overdue_interest == 30  # 0.30000000000000004 -> 0.30
    assert first.loan.overdue_since == date(2024, 3, 5)
    assert first.loan.maturity == date(2025, 1, 1)
    assert first.borrower.id_number == "33010219900101123X"
    assert second.loan.contract_no == "20240001"
    assert second.loan.overdue_since == date(2024, 3, 6)  # 8-digit number cell
    assert second.loan.maturity == date(2025, 1, 1)  # Excel serial 45658


def test_xlsx_float_id_number_was_destroyed_by_excel() -> None:
    data = xlsx_bytes(
        [["合同号", "借款人", "身份证号", "逾期本金", "逾期日期"],
         ["HT1", "张三", 3.30102199001011e17, 100, "2024-03-05"]]
    )  # fmt: skip
    result = parse_ledger(data)
    assert codes(result.errors) == [(2, "bad_id_number", "id_number")]


def test_xlsx_line_numbers_follow_excel_rows_with_gaps() -> None:
    data = xlsx_bytes(
        [["某某信用社逾期贷款清单"], [], ["合同号", "借款人", "逾期本金", "逾期日期"],
         ["HT1", "张三", 100, "2024-03-05"], [], ["HT2", "李四", "x", "2024-03-05"]]
    )  # fmt: skip
    result = parse_ledger(data)
    assert result.header_line == 3
    assert [r.line for r in result.rows] == [4]
    assert codes(result.errors) == [(6, "bad_amount", "overdue_principal")]


def test_broken_xlsx_and_old_xls_and_empty() -> None:
    with pytest.raises(LedgerError) as info:
        parse_ledger(b"PK\x03\x04 not really a zip")
    assert info.value.code == "ledger.unreadable"
    with pytest.raises(LedgerError) as info:
        parse_ledger(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert info.value.code == "ledger.xls_unsupported"
    for empty in (b"", b"  \n\n", b"\xef\xbb\xbf,,,\n,,\n"):
        with pytest.raises(LedgerError) as info:
            parse_ledger(empty)
        assert info.value.code == "ledger.empty"


def test_undecodable_csv() -> None:
    with pytest.raises(LedgerError) as info:
        parse_ledger(b"\x80\x80\x80\xff\xff,\n")
    assert info.value.code == "ledger.unreadable"


# --- headers ---------------------------------------------------------------------------------


def test_english_headers_any_case_spacing_and_width() -> None:
    data = csv_bytes(
        "Contract No, BORROWER ,Ｐｈｏｎｅ,Overdue_Principal,overdue-since,Collector",
        "C1,Zhang San,138,5000,2024-03-05,@wang",
    )
    result = parse_ledger(data)
    assert result.columns == {
        F.CONTRACT_NO: "Contract No",
        F.BORROWER: "BORROWER",
        F.PHONE: "Ｐｈｏｎｅ",
        F.OVERDUE_PRINCIPAL: "Overdue_Principal",
        F.OVERDUE_SINCE: "overdue-since",
        F.COLLECTOR: "Collector",
    }
    assert result.rows[0].collector == "@wang"


def test_header_units_in_brackets() -> None:
    data = csv_bytes(
        "合同编号,客户名称,贷款余额（万元）,逾期本金(元),逾期起始日", "HT1,张三,12.5,3000,20240305"
    )
    loan = parse_ledger(data).rows[0].loan
    assert loan.principal_outstanding == 12_500_000
    assert loan.overdue_principal == 300_000


def test_more_specific_alias_wins_over_column_order() -> None:
    data = csv_bytes("合同编号,合同号,借款人,逾期本金,逾期日期", "X9,HT1,张三,100,2024-03-05")
    result = parse_ledger(data)
    assert result.columns[F.CONTRACT_NO] == "合同号"
    assert result.rows[0].loan.contract_no == "HT1"
    assert result.unmapped_columns == ["合同编号"]


def test_title_rows_above_the_header() -> None:
    data = csv_bytes(
        "XX农村信用合作社逾期贷款清单",
        "统计日期：2024年6月30日",
        HEADER,
        GOOD,
        "合计,,,,,100000,50000,,,,,,,,",
    )
    result = parse_ledger(data)
    assert result.header_line == 3
    assert [r.line for r in result.rows] == [4]
    assert result.skipped_lines == 1
    assert result.errors == []


def test_missing_required_column() -> None:
    with pytest.raises(LedgerError) as info:
        parse_ledger(csv_bytes("合同号,借款人,贷款余额", "HT1,张三,100"))
    assert info.value.code == "ledger.missing_columns"
    assert info.value.params == {
        "missing": "overdue_since|days_past_due",
        "line": "1",
        "rows": "20",
    }
    with pytest.raises(LedgerError) as info:
        parse_ledger(csv_bytes("合同号,借款人,逾期日期", "HT1,张三,2024-01-01"))
    assert info.value.params["missing"] == "overdue_principal|principal_outstanding"


def test_only_principal_column_stands_for_overdue_principal() -> None:
    data = csv_bytes("合同号,借款人,本金余额,逾期日期", "HT1,张三,8000,2024-03-05")
    loan = parse_ledger(data).rows[0].loan
    assert loan.overdue_principal == loan.principal_outstanding == 800_000


def test_missing_principal_column_defaults_to_overdue_principal() -> None:
    data = csv_bytes("合同号,借款人,逾期本金,逾期日期", "HT1,张三,8000,2024-03-05")
    loan = parse_ledger(data).rows[0].loan
    assert loan.principal_outstanding == loan.overdue_principal == 800_000
    assert loan.overdue_interest == 0
    assert loan.maturity is None


# --- bad rows --------------------------------------------------------------------------------


def test_bad_rows_are_reported_and_good_rows_still_come_through() -> None:
    data = csv_bytes(
        "合同号,借款人,贷款余额,逾期本金,欠息,逾期日期,身份证号",
        "HT1,张三,10000,5000,0,2024-03-05,",  # 2 good
        "HT2,李四,10000,-5,abc,2024-13-01,3.30102E+17",  # 3 four problems
        ",,10000,5000,0,,",  # 4 missing contract, borrower, date
        "HT1,张三,10000,5000,0,2024-03-05,",  # 5 duplicate of line 2
        "HT5,王五,1000,5000,0,2024-03-05,",  # 6 overdue > balance
        "HT6,赵六,9000,9000,1.234,2024-03-05,",  # 7 fraction of a fen
        "HT7,孙七,9000,9000,0,2024年3月5日,",  # 8 good
    )
    result = parse_ledger(data)
    assert [r.line for r in result.rows] == [2, 8]
    assert codes(result.errors) == [
        (3, "bad_amount", "overdue_principal"),
        (3, "bad_amount", "overdue_interest"),
        (3, "bad_date", "overdue_since"),
        (3, "bad_id_number", "id_number"),
        (4, "missing_field", "contract_no"),
        (4, "missing_field", "borrower"),
        (4, "missing_field", "overdue_since"),
        (5, "duplicate_contract", "contract_no"),
        (6, "overdue_exceeds_balance", "overdue_principal"),
        (7, "bad_amount", "overdue_interest"),
    ]
    by_line = {(e.line, e.field): e for e in result.errors}
    assert by_line[3, F.OVERDUE_PRINCIPAL].detail == "amount.negative"
    assert by_line[3, F.OVERDUE_PRINCIPAL].value == "-5"
    assert by_line[3, F.OVERDUE_INTEREST].detail == "amount.unparseable"
    assert by_line[5, F.CONTRACT_NO].detail == "2"
    assert by_line[7, F.OVERDUE_INTEREST].detail == "amount.too_precise"
    assert set(result.error_rows) == {3, 4, 5, 6, 7}
    assert result.error_rows[3][1] == "李四"


def test_duplicates_ignore_spaces_and_width() -> None:
    data = csv_bytes(
        "合同号,借款人,逾期本金,逾期日期", "HT1,张三,1,2024-03-05", "ＨＴ 1,张三,1,2024-03-05"
    )
    result = parse_ledger(data)
    assert codes(result.errors) == [(3, "duplicate_contract", "contract_no")]


def test_overdue_date_after_import_day() -> None:
    data = csv_bytes(
        "合同号,借款人,逾期本金,逾期日期", "HT1,张三,1,2024-07-01", "HT2,李四,1,2024-06-30"
    )
    today = date(2024, 6, 30)
    result = parse_ledger(data, today=today)
    assert codes(result.errors) == [(2, "date_in_future", "overdue_since")]
    assert [r.loan.contract_no for r in result.rows] == ["HT2"]
    assert len(parse_ledger(data).rows) == 2  # no today, no check


def test_line_numbers_count_records_not_physical_lines() -> None:
    data = csv_bytes(
        "合同号,借款人,地址,逾期本金,逾期日期",
        'HT1,张三,"某某村\n3组",100,2024-03-05',
        "HT2,李四,,oops,2024-03-05",
    )
    result = parse_ledger(data)
    assert result.rows[0].borrower.address == "某某村\n3组"
    assert codes(result.errors) == [(3, "bad_amount", "overdue_principal")]


def test_short_rows_are_padded_with_blanks() -> None:
    data = csv_bytes("合同号,借款人,逾期本金,逾期日期,担保人,清收人员", "HT1,张三,100,2024-03-05")
    row = parse_ledger(data).rows[0]
    assert row.collector is None
    assert row.related_parties == ()


# --- dates and parties -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-05", "2024/3/5", "2024.3.5", "20240305", "2024年3月5日", "2024 年 3 月 5 日",
        "２０２４－０３－０５", "2024-03-05 00:00:00", "2024/3/5 14:30", 20240305, 45356, 45356.0,
        datetime(2024, 3, 5, 9, 0), date(2024, 3, 5),
    ],
)  # fmt: skip
def test_dates(value: object) -> None:
    assert parse_ledger_date(value) == date(2024, 3, 5)


@pytest.mark.parametrize(
    "value", ["05/03/2024", "3/5/2024", "24-3-5", "2024-02-30", "1899-12-31", "soon", "", 12, True]
)
def test_bad_dates(value: object) -> None:
    with pytest.raises(CellDateError) as info:
        parse_ledger_date(value)
    assert info.value.code == "date.unparseable"


def test_party_list() -> None:
    parties = parse_party_list(
        "张三(138 0000 0000)；李四、王五（0571-8888）,,(139)", PartyRole.GUARANTOR
    )
    assert [(p.name, p.phone) for p in parties] == [
        ("张三", "13800000000"),
        ("李四", None),
        ("王五", "0571-8888"),
        ("", "139"),
    ]
    assert parse_party_list("", PartyRole.GUARANTOR) == []


# --- review fixes: Excel, encodings, units, keys, dates ----------------------------------------


def test_xlsx_with_a_wrong_dimension_tag_is_read_whole() -> None:
    """Some exporters write <dimension ref="A1"/>; read-only openpyxl would see one cell."""
    good = xlsx_bytes(
        [["合同号", "借款人", "逾期本金", "逾期日期"], ["HT1", "张三", 100, "2024-03-05"],
         ["HT2", "李四", 200, "2024-03-06"]]
    )  # fmt: skip
    src, out = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                content, n = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', content)
                assert n == 1
            dst.writestr(item, content)
    result = parse_ledger(out.getvalue())
    assert [r.loan.contract_no for r in result.rows] == ["HT1", "HT2"]


def test_numeric_amounts_round_to_the_fen_half_up_text_stays_strict() -> None:
    data = xlsx_bytes(
        [["合同号", "借款人", "逾期本金", "欠息", "逾期日期"],
         ["HT1", "张三", 1234.5678, 0.125, "2024-03-05"],
         ["HT2", "李四", "1234.567", 1, "2024-03-05"]]
    )  # fmt: skip
    result = parse_ledger(data)
    [row] = result.rows
    assert row.loan.overdue_principal == 123_457  # a formula's result: rounded
    assert row.loan.overdue_interest == 13  # 0.125 yuan: half up, not to even
    assert [(e.line, e.detail) for e in result.errors] == [(3, "amount.too_precise")]


def test_long_contract_numbers_cut_by_excel_are_refused() -> None:
    data = xlsx_bytes(
        [["合同号", "借款人", "逾期本金", "逾期日期"],
         [1.23456789012346e17, "张三", 100, "2024-03-05"],
         [1234567890123456, "李四", 100, "2024-03-05"],
         ["1.23457E+17", "王五", 100, "2024-03-05"],
         [20240001, "赵六", 100, "2024-03-05"],
         ["2024E001", "钱七", 100, "2024-03-05"]]
    )  # fmt: skip
    result = parse_ledger(data)
    assert codes(result.errors) == [
        (2, "bad_contract_no", "contract_no"),
        (3, "bad_contract_no", "contract_no"),
        (4, "bad_contract_no", "contract_no"),
    ]
    assert [r.loan.contract_no for r in result.rows] == ["20240001", "2024E001"]


def test_loan_receipt_number_keys_the_case_and_the_contract_is_kept_for_display() -> None:
    data = csv_bytes(
        "合同号,借据号,借款人,逾期本金,逾期日期",
        "HT1,JJ1,张三,100,2024-03-05",
        "HT1,JJ2,张三,200,2024-04-05",  # a second drawdown of the same contract
        "HT2,,李四,300,2024-03-05",  # no receipt: the contract number is the key
        "HT3,JJ1,王五,400,2024-03-05",
    )
    result = parse_ledger(data)
    assert [(r.loan.contract_no, r.contract_ref) for r in result.rows] == [
        ("JJ1", "HT1"), ("JJ2", "HT1"), ("HT2", None),
    ]  # fmt: skip
    assert codes(result.errors) == [(5, "duplicate_contract", "loan_receipt_no")]
    assert result.keys == {"JJ1", "JJ2", "HT2"}


def test_one_bad_byte_refuses_only_its_line_of_a_utf8_file() -> None:
    data = csv_bytes(HEADER, GOOD, GOOD.replace("HT-001", "HT-002")).replace(
        "赵六,13700000000\nHT-002".encode(), b"\xff\xfe,13700000000\nHT-002"
    )
    result = parse_ledger(data)
    assert codes(result.errors) == [(2, "bad_characters", None)]
    assert [r.loan.contract_no for r in result.rows] == ["HT-002"]
    assert result.rows[0].related_parties[-1].name == "赵六"


def test_gb18030_with_its_bom() -> None:
    data = "\ufeff".encode("gb18030") + csv_bytes(HEADER, GOOD, encoding="gb18030")
    result = parse_ledger(data)
    assert result.columns[F.CONTRACT_NO] == "合同号"
    assert [r.borrower.name for r in result.rows] == ["张三"]


def test_a_cell_with_its_own_unit_in_a_unit_column_is_not_multiplied_twice() -> None:
    data = csv_bytes(
        "合同号,借款人,贷款余额(万元),逾期本金(万元),逾期日期",
        "HT1,张三,1.2万,0.5,2024-03-05",
        "HT2,李四,12000元,3千,2024-03-05",
    )
    first, second = parse_ledger(data).rows
    assert first.loan.principal_outstanding == 1_200_000  # 12 000 yuan, not 1.2 亿
    assert first.loan.overdue_principal == 500_000
    assert second.loan.principal_outstanding == 1_200_000
    assert second.loan.overdue_principal == 300_000


def test_interest_only_arrears_have_zero_overdue_principal() -> None:
    data = csv_bytes(
        "合同号,借款人,贷款余额,逾期本金,欠息,逾期日期",
        "HT1,张三,50000,,300,2024-03-05",
        "HT2,李四,50000,,,2024-03-05",
        "HT3,王五,,,,2024-03-05",
    )
    result = parse_ledger(data)
    assert [(r.loan.contract_no, r.loan.overdue_principal, r.loan.overdue_interest)
            for r in result.rows] == [("HT1", 0, 30_000), ("HT2", 0, 0)]  # fmt: skip
    assert codes(result.errors) == [(4, "missing_field", "overdue_principal")]


def test_collector_and_loan_officer_columns() -> None:
    data = csv_bytes(
        "合同号,借款人,逾期本金,逾期日期,客户经理,催收人", "HT1,张三,100,2024-03-05,王经理,张伟"
    )
    result = parse_ledger(data)
    assert result.columns[F.LOAN_OFFICER] == "客户经理"
    assert result.columns[F.COLLECTOR] == "催收人"
    assert (result.rows[0].collector, result.rows[0].loan_officer) == ("张伟", "王经理")


def test_days_past_due_is_the_source_without_an_overdue_date() -> None:
    data = csv_bytes(
        "合同号,借款人,逾期本金,逾期天数,数据日期",
        "HT1,张三,100,30,2024-06-30",
        "HT2,李四,100,10天,",
        "HT3,王五,100,3.5,2024-06-30",
    )
    result = parse_ledger(data, today=date(2024, 7, 2))
    first, second = result.rows
    assert (first.loan.overdue_since, first.as_of) == (date(2024, 5, 31), date(2024, 6, 30))
    assert second.loan.overdue_since == date(2024, 6, 22)  # no 数据日期: the cooperative's today
    assert codes(result.errors) == [(4, "bad_days", "days_past_due")]
    # Without a day to count from, there is no overdue date.
    assert codes(parse_ledger(data).errors)[0] == (3, "missing_field", "overdue_since")


def test_days_past_due_cross_checks_the_overdue_date_within_a_day() -> None:
    data = csv_bytes(
        "合同号,借款人,逾期本金,逾期日期,逾期天数,数据日期",
        "HT1,张三,100,2024-06-01,29,2024-06-30",  # 逾期日期 = the missed due date
        "HT2,李四,100,2024-06-01,30,2024-06-30",  # 逾期起始日 counted inclusively
        "HT3,王五,100,2024-06-01,90,2024-06-30",
    )
    result = parse_ledger(data)
    assert [r.loan.contract_no for r in result.rows] == ["HT1", "HT2"]
    assert [(e.line, e.code.value, e.value, e.detail) for e in result.errors] == [
        (4, "days_mismatch", "90", "29")
    ]


def test_a_file_read_in_batches_is_the_file_read_whole() -> None:
    """Issue 17: the import reads batch by batch; a duplicate is still told across batches,
    every line keeps its number, and the batches say how far through the file they are."""
    lines = [f"HT{i:05d},借款人{i},{1000 + i},2026-01-05" for i in range(12_000)]
    lines[11_000] = "HT00010,重复,1000,2026-01-05"  # the key of line 12 again, two batches on
    lines[7_000] = "HT07000,坏金额,oops,2026-01-05"
    data = ("合同号,借款人,逾期本金,逾期日期\n" + "\n".join(lines) + "\n").encode("gb18030")
    whole = parse_ledger(data)
    batches = list(open_ledger(data).batches(5000))
    assert len(batches) == 3
    assert [r for b in batches for r in b.rows] == whole.rows
    assert [e for b in batches for e in b.errors] == whole.errors
    assert [(e.line, e.code, e.detail) for e in whole.errors] == [
        (7002, "bad_amount", "amount.unparseable"),
        (11002, "duplicate_contract", "12"),
    ]
    assert {k for b in batches for k in b.keys} == whole.keys
    assert batches[1].error_rows == {7002: ["HT07000", "坏金额", "oops", "2026-01-05"]}
    done = [b.done or 0.0 for b in batches]
    assert done == sorted(done)
    assert done[-1] == 1.0
    assert 0 < done[0] < 1
