"""The storage contract: every backend must pass these tests, through ``open_storage`` and the
``Storage`` Protocol's methods only (no SQL, no backend internals).

A new backend adds its name to ``BACKENDS`` and a branch to ``backend`` that returns a URL for a
fresh, empty database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from bot.domain.people import Role, Team, User
from bot.storage import Storage, open_storage

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path) -> Callable[[str], str]:
    """A function giving the URL of a fresh database named ``name`` on this backend.

    PostgreSQL: a database of its own on this worker's throwaway cluster
    (``tests/pg_cluster.py``), copied from the migrated template; skipped, with the reason,
    where the server's binaries are missing."""
    if request.param == "sqlite":
        return lambda name="q": f"sqlite:///{tmp_path / name}.db"
    if request.param == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        urls: dict[str, str] = {}
        return lambda name="q": urls.setdefault(name, cluster.fresh_url())
    raise AssertionError(f"unknown backend {request.param}")


@pytest.fixture
async def storage(backend) -> AsyncIterator[Storage]:
    s = await open_storage(backend("q"), now=NOW)
    yield s
    await s.close()


async def team_and_collector(
    s: Storage, *, telegram_id: int = 7, team: str = "A"
) -> tuple[Team, User]:
    t = await s.ensure_team(team, now=NOW)
    u = await s.add_user(
        telegram_id=telegram_id, name=f"c{telegram_id}", role=Role.COLLECTOR, team_id=t.id, now=NOW
    )
    return t, u
