"""Money: parse what a collector or a ledger writes, format for the three UI locales.

Money is always an ``int`` in fen (分): 1 yuan (元) = 100 fen. Nothing here uses ``float`` for
arithmetic; Chinese numerals go through ``cn2an`` and are brought back to ``Decimal`` at once.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

import cn2an
from babel.numbers import format_currency

from bot.domain.errors import DomainError

__all__ = [
    "MAX_YUAN",
    "AmountError",
    "format_amount",
    "parse_amount",
    "parse_instalment_amount",
    "yuan_to_fen",
]

#: Anything above one trillion yuan (10^12 元) is a typo or garbage, not a loan.
MAX_YUAN = 10**12


class AmountError(DomainError):
    """An amount could not be accepted.

    Codes: ``amount.empty``, ``amount.unparseable``, ``amount.negative``,
    ``amount.too_precise`` (more than 2 decimals, i.e. below one fen), ``amount.too_large``
    (above :data:`MAX_YUAN`). ``params["value"]`` is the text as given.

    :func:`parse_instalment_amount` adds ``amount.several`` (several numbers in one field),
    ``amount.zero`` and ``amount.absurd`` (with ``params["limit"]`` and ``params["debt"]`` in
    fen, as strings).
    """


# Currency words around the number. Order matters: longest first.
_PREFIXES = ("人民币", "rmb", "cny", "¥")
_SUFFIXES = ("元整", "圆整", "块钱", "人民币", "rmb", "cny", "yuan", "元", "圆", "块", "整")
_NEGATIVE_MARKS = ("-", "−", "负", "－")
_MULTIPLIERS = {"千": 1_000, "万": 10_000, "亿": 100_000_000, "百": 100}

# Traditional forms a 繁體 user may type; cn2an knows only the simplified ones.
_TRADITIONAL = str.maketrans(
    {
        "萬": "万",
        "億": "亿",
        "兩": "两",
        "貳": "贰",
        "參": "叁",
        "陸": "陆",
        "圓": "圆",
        "點": "点",
        "塊": "块",
        "幣": "币",
        "〇": "零",
    }
)

_ARABIC = re.compile(
    r"""^(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d*)?   # 12,345.60
        |\d+(?:\.\d*)?                          # 12345.6 / 5000.
        |\.\d+)                                 # .5
        (?P<unit>[百千万亿])?$""",
    re.VERBOSE,
)
_FAST = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{0,2}))?([千万亿])?")
_CN_DIGITS = set("零一二两三四五六七八九壹贰叁肆伍陆柒捌玖")
_CN_UNITS = set("十拾百佰千仟万亿点")
_CN_CHARS = _CN_DIGITS | _CN_UNITS
_MIXED_CHARS = _CN_CHARS | set("0123456789.")


def parse_amount(text: str) -> int:
    """Parse an amount of yuan as people write it and return it in fen.

    Accepted: ``12,345.60``, ``12345.6``, ``¥5000``, ``￥5,000.00``, ``RMB 5000``, ``5000元``,
    ``5000.5元``, full-width ``５０００``, unit multipliers ``1.2万`` (12 000 yuan) and
    ``3.5千``, Chinese numerals ``五千``, ``一万二千五百元``, ``两万``, colloquial ``一万二``
    (12 000), financial capitals ``壹万贰仟`` and ``伍仟元整``, traditional ``兩萬``, and mixed
    ``1万2千``.

    Edge cases:

    - Zero (``0``, ``零``) is accepted; whether zero makes sense is the caller's decision.
    - Whitespace anywhere is ignored (``5 000``); thousands separators must be in groups of three
      (``1,2345`` is refused as ``amount.unparseable``).
    - A bare string of Chinese digits without units (``一二三``) is refused as ambiguous.
    - The fraction is checked after the multiplier: ``1.23456万`` is 12 345.60 yuan, fine;
      ``1.234元`` is ``amount.too_precise``.
    - ``-5``, ``负五千``, ``(500)`` raise ``amount.negative`` — money owed is never negative.
    - Above :data:`MAX_YUAN` raises ``amount.too_large``.

    Raises :class:`AmountError` with ``params={"value": text}``.
    """
    m = _FAST.fullmatch(text)
    if m is not None:  # fast path for the common ledger forms: "50000", "12,345.6", "80万"
        mult = _MULTIPLIERS[m[3]] if m[3] else 1
        fen = (int(m[1].replace(",", "")) * 100 + int((m[2] or "").ljust(2, "0"))) * mult
        if fen > MAX_YUAN * 100:
            raise AmountError("amount.too_large", {"value": text})
        return fen
    params = {"value": text}
    s = _normalise(text)
    if not s:
        raise AmountError("amount.empty", params)

    negative = False
    if s.startswith("(") and s.endswith(")"):  # accounting negative: (500)
        negative, s = True, s[1:-1]
    for mark in _NEGATIVE_MARKS:
        if s.startswith(mark):
            negative, s = True, s[len(mark) :]
            break
    s = _strip_currency(s)
    for mark in _NEGATIVE_MARKS:  # "¥-5" as well as "-¥5"
        if s.startswith(mark):
            negative, s = True, s[len(mark) :]
            break
    if s.startswith("+"):
        s = s[1:]
    if not s:
        raise AmountError("amount.unparseable" if not negative else "amount.negative", params)

    yuan = _to_yuan(s, params)
    if negative and yuan != 0:
        raise AmountError("amount.negative", params)
    if yuan > MAX_YUAN:
        raise AmountError("amount.too_large", params)
    return yuan_to_fen(yuan, params)


# What separates several amounts typed in one field: "1000和2000", "1000/2000", "1,2,3".
_SEVERAL_SPLIT = re.compile(r"[,、;/+&和与及跟或]|\band\b|\bor\b|\s+", re.IGNORECASE)
_NUMERIC = re.compile(r"[0-9零一二两三四五六七八九十拾百佰千仟万亿壹贰叁肆伍陆柒捌玖]")
_GROUP_TAIL = re.compile(r"\d{3}(?:\.\d*)?\D*")


def parse_instalment_amount(
    text: str, *, debt: int, allow_zero: bool = False, absurd_factor: int = 3
) -> int:
    """Parse one instalment (or today's money) in fen: :func:`parse_amount`, then the checks
    an instalment needs. ``debt`` is what the borrower owes, in fen.

    Edge cases:

    - Several numbers in one field are ``amount.several``, not glued together: ``1,2,3``,
      ``1000 2000``, ``1000和2000``, ``1000/2000``, ``一千和两千``. Thousands groups stay one
      amount: ``5,000.50``, ``5 000``, ``¥1 000 000``.
    - Zero is ``amount.zero`` unless ``allow_zero`` (today's money may be zero, said aloud).
    - More than ``debt × absurd_factor`` is ``amount.absurd`` (a typo: 50000 for 5000.0);
      with ``debt == 0`` every positive amount is absurd. Over the debt but within the factor
      passes: the plan's total is checked against the debt by the caller.
    - Words (``一些``, ``some``, ``几千``), exponents (``1e9``) are ``amount.unparseable``;
      negatives (``-500``, ``负五千``) ``amount.negative``, as in :func:`parse_amount`.
    """
    params = {"value": text}
    folded = unicodedata.normalize("NFKC", text).translate(_TRADITIONAL).strip()
    if _several(folded):
        raise AmountError("amount.several", params)
    try:
        fen = parse_amount(text)
    except AmountError as error:
        if error.code == "amount.unparseable" and _several_pieces(folded):
            raise AmountError("amount.several", params) from None
        raise
    if fen == 0 and not allow_zero:
        raise AmountError("amount.zero", params)
    limit = debt * absurd_factor
    if fen > limit:
        raise AmountError("amount.absurd", {**params, "limit": str(limit), "debt": str(debt)})
    return fen


def _several(s: str) -> bool:
    """Numbers separated by blanks that are not thousands groups: ``1000 2000``, ``5 10``."""
    tokens = s.split()
    numeric = [i for i, token in enumerate(tokens) if _NUMERIC.search(token)]
    if len(numeric) < 2:
        return False
    first = tokens[numeric[0]]
    head = re.search(r"(\d+)(?:\D*)$", first)
    grouped = (
        head is not None
        and len(head[1]) <= 3
        and re.fullmatch(r"\D*\d{1,3}", first) is not None
        and all(_GROUP_TAIL.fullmatch(tokens[i]) for i in numeric[1:])
        and numeric == list(range(numeric[0], numeric[-1] + 1))
    )
    return not grouped


def _several_pieces(s: str) -> bool:
    """At least two of the pieces between separators are amounts on their own."""
    pieces = [p for p in _SEVERAL_SPLIT.split(s) if p and p.strip()]
    amounts = 0
    for piece in pieces:
        try:
            parse_amount(piece)
        except AmountError:
            continue
        amounts += 1
    return amounts >= 2


def yuan_to_fen(yuan: Decimal, params: dict[str, str] | None = None) -> int:
    """Convert a non-negative ``Decimal`` of yuan to fen.

    Raises ``amount.too_precise`` when the value has a fraction of a fen (``0.001``); trailing
    zeros are fine (``5.000``).
    """
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise AmountError("amount.too_precise", params or {"value": str(yuan)})
    return int(fen)


def format_amount(fen: int, locale: str) -> str:
    """Format fen as CNY for a UI locale, with Babel.

    Babel (2.19) prints ``CN¥12,345.60`` for ``en`` and for ``zh_Hant`` (whose default territory
    is Taiwan, where the yuan is foreign), and ``¥12,345.60`` for ``zh_Hans_CN``. Locales may be
    written with ``-`` or ``_`` (``zh-Hans-CN``). Negative amounts are formatted with a minus
    sign (``-¥5.00``) — they appear only as differences, never as a debt.
    """
    value = Decimal(fen).scaleb(-2)
    return format_currency(value, "CNY", locale=locale.replace("-", "_"))


def _normalise(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)  # full-width digits, ￥ -> ¥, ， -> ,
    s = s.translate(_TRADITIONAL)
    s = "".join(s.split())
    return s.casefold()


def _strip_currency(s: str) -> str:
    for prefix in _PREFIXES:
        if s.startswith(prefix):
            s = s[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        if s.endswith(suffix):
            s = s[: -len(suffix)]
            break
    return s


def _to_yuan(s: str, params: dict[str, str]) -> Decimal:
    m = _ARABIC.match(s)
    if m is not None:
        number = Decimal(m["num"].replace(",", ""))
        unit = m["unit"]
        return number * _MULTIPLIERS[unit] if unit else number
    chars = set(s)
    if chars <= _CN_CHARS:
        if not chars & _CN_UNITS and len(s) > 1:  # "一二三": digits read one by one
            raise AmountError("amount.unparseable", params)
        return _cn2an(s, "normal", params)
    if chars <= _MIXED_CHARS and chars & _CN_UNITS and chars & set("0123456789"):
        return _cn2an(s, "smart", params)  # "1万2千"
    raise AmountError("amount.unparseable", params)


def _cn2an(s: str, mode: str, params: dict[str, str]) -> Decimal:
    try:
        value = cn2an.cn2an(s, mode)
    except (ValueError, KeyError, IndexError, TypeError):
        raise AmountError("amount.unparseable", params) from None
    if not isinstance(value, int | float):
        raise AmountError("amount.unparseable", params)
    try:
        # repr() of a float is its shortest round-trip form: 250.5, 0.05, 1234.56.
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise AmountError("amount.unparseable", params) from None
    if not result.is_finite():
        raise AmountError("amount.unparseable", params)
    if result < 0:
        raise AmountError("amount.negative", params)
    return result
