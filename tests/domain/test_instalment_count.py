"""Issue 16: a count on its own completes a rule typed without one (``每周三`` → ``6``)."""

from __future__ import annotations

import pytest

from bot.domain.dates import parse_count


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("6", 6),
        ("六", 6),
        ("十二", 12),
        ("6期", 6),
        ("共6期", 6),
        ("共八期", 8),
        ("×4", 4),
        ("x4", 4),
        ("6次", 6),
        ("6 instalments", 6),
        ("12 installments", 12),
        ("共6期。", 6),
        (4, 4),
    ],
)
def test_a_count_alone_is_read(text, count):
    assert parse_count(text) == count


@pytest.mark.parametrize("text", ["每周三 共4期", "every Friday ×3", "12月25日", "0", 0, "", "abc"])
def test_anything_else_is_not_a_count(text):
    assert parse_count(text) is None
