from __future__ import annotations

import pytest

from bot.domain.errors import DomainError
from bot.domain.money import AmountError, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12,345.60", 1_234_560),
        ("12345.6", 1_234_560),
        ("¥5000", 500_000),
        ("￥5,000.00", 500_000),
        ("RMB 5000", 500_000),
        ("rmb5000", 500_000),
        ("CNY 5000", 500_000),
        ("人民币5000元", 500_000),
        ("5000元", 500_000),
        ("5000.5元", 500_050),
        ("1.2万", 1_200_000),
        ("3.5千", 350_000),
        ("12万", 12_000_000),
        ("1.23456万", 1_234_560),
        ("五千", 500_000),
        ("五千块", 500_000),
        ("一万二千五百元", 1_250_000),
        ("一万二", 1_200_000),
        ("两万", 2_000_000),
        ("壹万贰仟", 1_200_000),
        ("伍仟元整", 500_000),
        ("叁万伍仟肆佰", 3_540_000),
        ("兩萬", 2_000_000),
        ("1万2千", 1_200_000),
        ("二百五十点五", 25_050),
        ("零点零五", 5),
        ("５０００", 500_000),
        ("５，０００．５０", 500_050),
        (" 5 000 ", 500_000),
        ("+5000", 500_000),
        ("0", 0),
        ("零", 0),
        (".5", 50),
        ("1000000000000", 100_000_000_000_000),  # exactly 10^12 yuan: the limit itself
    ],
)
def test_parse_amount_accepts(text: str, fen: int) -> None:
    assert parse_amount(text) == fen


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "amount.empty"),
        ("   ", "amount.empty"),
        ("-5", "amount.negative"),
        ("-¥5", "amount.negative"),
        ("¥-5", "amount.negative"),
        ("负五千", "amount.negative"),
        ("(500)", "amount.negative"),
        ("1.234", "amount.too_precise"),
        ("0.001元", "amount.too_precise"),
        ("一点二三四", "amount.too_precise"),
        ("abc", "amount.unparseable"),
        ("¥", "amount.unparseable"),
        ("一二三", "amount.unparseable"),
        ("1,2345", "amount.unparseable"),
        ("1e5", "amount.unparseable"),
        ("nan", "amount.unparseable"),
        ("5000 dollars", "amount.unparseable"),
        ("万", "amount.unparseable"),
        ("1.2.3", "amount.unparseable"),
        ("1000000000000.01", "amount.too_large"),
        ("10000000000000", "amount.too_large"),
        ("一万亿零一", "amount.too_large"),
    ],
)
def test_parse_amount_refuses_with_code(text: str, code: str) -> None:
    with pytest.raises(AmountError) as info:
        parse_amount(text)
    assert info.value.code == code
    assert info.value.params == {"value": text}


def test_amount_error_is_a_domain_error_with_code_as_str() -> None:
    with pytest.raises(DomainError) as info:
        parse_amount("garbage")
    assert str(info.value) == "amount.unparseable"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("fen", "locale", "expected"),
    [
        (1_234_560, "en", "CN¥12,345.60"),
        (1_234_560, "zh_Hans_CN", "¥12,345.60"),
        (1_234_560, "zh_Hant", "CN¥12,345.60"),
        (1_234_560, "zh-Hans-CN", "¥12,345.60"),
        (0, "en", "CN¥0.00"),
        (5, "zh_Hans_CN", "¥0.05"),
        (100_000_000_000_000, "en", "CN¥1,000,000,000,000.00"),
        (-500, "zh_Hans_CN", "-¥5.00"),
    ],
)
def test_format_amount(fen: int, locale: str, expected: str) -> None:
    assert format_amount(fen, locale) == expected


@pytest.mark.parametrize("text", ["12,345.60", "1.2万", "一万二千五百元", "0.05"])
def test_format_parse_round_trip(text: str) -> None:
    fen = parse_amount(text)
    assert parse_amount(format_amount(fen, "zh_Hans_CN")) == fen
