"""Fixtures every test directory shares."""

from __future__ import annotations

import pytest

from tests.pace import Pace, pace_of


@pytest.fixture
def pace(request: pytest.FixtureRequest) -> Pace:
    """The pace of Telegram's flood control for this test (see ``tests/pace.py``)."""
    return pace_of(request.node)
