"""Fixtures every test directory shares."""

from __future__ import annotations

import pytest

from tests.pace import Pace, pace_of


@pytest.fixture
def pace(request: pytest.FixtureRequest) -> Pace:
    """The pace of Telegram's flood control for this test (see ``tests/pace.py``)."""
    return pace_of(request.node)


@pytest.fixture(scope="session")
def pg_cluster():  # type: ignore[no-untyped-def]
    """A throwaway PostgreSQL cluster for this test process (``tests/pg_cluster.py``), or a
    skip naming what is missing."""
    from tests import pg_cluster

    reason = pg_cluster.missing()
    if reason is not None:
        pytest.skip(reason)
    cluster = pg_cluster.start_cluster()
    yield cluster
    cluster.stop()
