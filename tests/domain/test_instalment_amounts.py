"""parse_instalment_amount: one instalment (or today's money) in fen, for /commit and /outcome.

The borrower in these tests owes ¥100,000.00 (``DEBT``); with the default factor 3 anything
above ¥300,000.00 is taken for a typo.
"""

from __future__ import annotations

import pytest

from bot.domain.money import AmountError, parse_instalment_amount

DEBT = 10_000_000  # ¥100,000.00 in fen


def refused(code: str, text: str, **kwargs: object) -> AmountError:
    with pytest.raises(AmountError) as info:
        parse_instalment_amount(text, debt=kwargs.pop("debt", DEBT), **kwargs)  # type: ignore[arg-type]
    assert info.value.code == code, info.value
    assert info.value.params["value"] == text
    return info.value


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("5000", 500_000),
        ("5,000.50", 500_050),
        ("¥5000", 500_000),
        ("￥5,000", 500_000),
        ("5千", 500_000),
        ("五千", 500_000),
        ("伍仟元整", 500_000),
        ("1.2万", 1_200_000),
        ("一万二", 1_200_000),
        ("兩萬", 2_000_000),
        ("５０００", 500_000),
        ("5 000", 500_000),  # a blank as thousands separator: one amount
        ("¥1 000", 100_000),
        ("5000 元", 500_000),
        ("RMB 5000", 500_000),
        ("0.01", 1),
        ("30万", 30_000_000),  # exactly debt × 3: still accepted
    ],
)
def test_one_amount(text, fen):
    assert parse_instalment_amount(text, debt=DEBT) == fen


@pytest.mark.parametrize("text", ["-500", "负五千", "-¥5000", "(500)"])
def test_negative_amounts(text):
    refused("amount.negative", text)


@pytest.mark.parametrize("text", ["0", "0.00", "零", "¥0"])
def test_zero_is_no_instalment(text):
    refused("amount.zero", text)


def test_zero_is_allowed_for_todays_money_when_said():
    assert parse_instalment_amount("0", debt=DEBT, allow_zero=True) == 0


@pytest.mark.parametrize("text", ["1,2,3", "1000 2000", "1000和2000", "1000/2000", "一千和两千"])
def test_several_numbers_in_one_field(text):
    refused("amount.several", text)


@pytest.mark.parametrize("text", ["12,34", "500、300", "1000 and 2000", "1000;2000", "5 10"])
def test_more_ways_of_typing_several_numbers(text):
    refused("amount.several", text)


@pytest.mark.parametrize("text", ["一些", "some", "几千", "1e9", "a lot", "负数", ""])
def test_words_and_exponents_are_not_amounts(text):
    code = "amount.empty" if not text else "amount.unparseable"
    refused(code, text)


def test_absurd_above_debt_times_factor():
    e = refused("amount.absurd", "1000000000")  # ¥1,000,000,000.00 for a ¥100,000 debt
    assert e.params["limit"] == str(DEBT * 3)
    assert e.params["debt"] == str(DEBT)
    refused("amount.absurd", "300000.01")


def test_the_factor_is_the_callers():
    assert parse_instalment_amount("150000", debt=DEBT, absurd_factor=2) == 15_000_000
    refused("amount.absurd", "200000.01", absurd_factor=2)


def test_above_the_debt_within_the_factor_passes():
    # The plan's total against the debt is the caller's check (over it is refused there).
    assert parse_instalment_amount("150000", debt=DEBT) == 15_000_000


def test_with_no_debt_any_positive_amount_is_absurd():
    refused("amount.absurd", "1", debt=0)
    assert parse_instalment_amount("0", debt=0, allow_zero=True) == 0


def test_too_precise_and_too_large_come_from_parse_amount():
    refused("amount.too_precise", "5000.001")
    refused("amount.too_large", "10000000000000")
