"""The ledger's guarantee columns (issue 19): 保证方式 and 保证期间 / 保证期限 read for every
guarantor of the row, with synonyms as the other columns take them; a missing column or an
empty cell is "not in the file", never a default (第686条)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.cases import Security
from bot.domain.importing import ledger_hash
from bot.domain.ledger import LedgerField, guarantee_months, parse_ledger
from bot.domain.legal import GuaranteeKind

BASE = "合同号,借款人,逾期本金,逾期日期,到期日,担保人"


def parse(header: str, *rows: str):
    return parse_ledger(("\n".join((header, *rows)) + "\n").encode("utf-8"))


def test_the_kind_and_an_agreed_end_date_are_read() -> None:
    result = parse(
        BASE + ",保证方式,保证期间",
        "HT-1,张三,5000,2026-01-15,2026-01-15,李保、王担,连带责任保证,2028-01-15",
    )
    assert result.errors == []
    [row] = result.rows
    assert row.security.guarantee_kind is GuaranteeKind.JOINT
    assert row.security.guarantee_end == date(2028, 1, 15)
    assert result.columns[LedgerField.GUARANTEE_KIND] == "保证方式"
    assert result.columns[LedgerField.GUARANTEE_PERIOD] == "保证期间"


@pytest.mark.parametrize(
    ("header", "kind_cell", "period_cell", "kind", "end"),
    [
        ("保证方式,保证期限", "一般保证", "两年", GuaranteeKind.GENERAL, date(2028, 1, 15)),
        ("保证类型,保证期", "連帶責任保證", "6个月", GuaranteeKind.JOINT, date(2026, 7, 15)),
        ("担保方式,保证期间", "保证", "主债务履行期届满之日起三年", None, date(2029, 1, 15)),
        ("guarantee_type,guarantee_period", "joint", "3 years", GuaranteeKind.JOINT,
         date(2029, 1, 15)),
        ("保证方式,保证期间", "", "", None, None),
    ],
)  # fmt: skip
def test_synonyms_and_lengths_counted_from_the_due_date(
    header: str, kind_cell: str, period_cell: str, kind: GuaranteeKind | None, end: date | None
) -> None:
    result = parse(
        f"{BASE},{header}", f"HT-1,张三,5000,2026-01-15,2026-01-15,李保,{kind_cell},{period_cell}"
    )
    assert result.errors == []
    [row] = result.rows
    assert (row.security.guarantee_kind, row.security.guarantee_end) == (kind, end)


def test_missing_columns_are_not_in_the_file() -> None:
    [row] = parse(BASE, "HT-1,张三,5000,2026-01-15,2026-01-15,李保").rows
    assert row.security.guarantee_kind is None
    assert row.security.guarantee_end is None


def test_a_length_with_no_due_date_on_the_row_is_not_in_the_file() -> None:
    result = parse(
        "合同号,借款人,逾期本金,逾期日期,担保人,保证期间", "HT-1,张三,5000,2026-01-15,李保,两年"
    )
    assert result.errors == []
    assert result.rows[0].security.guarantee_end is None


def test_an_unreadable_period_is_refused_with_its_reason() -> None:
    result = parse(BASE + ",保证期间", "HT-1,张三,5000,2026-01-15,2026-01-15,李保,按合同")
    assert result.rows == []
    [error] = result.errors
    assert (error.code.value, error.field, error.value) == (
        "bad_date",
        LedgerField.GUARANTEE_PERIOD,
        "按合同",
    )


@pytest.mark.parametrize(
    ("text", "months"),
    [("2年", 24), ("两年", 24), ("十八个月", 18), ("二十四个月", 24), ("6 months", 6),
     ("1 year", 12), ("按合同", None), ("0年", None)],
)  # fmt: skip
def test_guarantee_lengths(text: str, months: int | None) -> None:
    assert guarantee_months(text) == months


def test_a_file_without_the_columns_hashes_as_before_and_one_with_them_differs() -> None:
    [row] = parse(BASE, "HT-1,张三,5000,2026-01-15,2026-01-15,李保").rows
    before = ledger_hash(row)
    # The digest main's code (before these columns) gave this row: stored hashes stay valid.
    assert before == "ab9cf5bc28f9b10bff16d08000897c98"
    sec = row.security
    told = type(row)(
        **{
            **{f: getattr(row, f) for f in row.__dataclass_fields__},
            "security": Security(
                sec.guarantees, sec.collateral_description, sec.collateral_value,
                GuaranteeKind.JOINT, None,
            ),
        }
    )  # fmt: skip
    assert ledger_hash(told) != before
