"""Replicas end to end with the bot on PostgreSQL (issue 18): a restarted replica takes back
what it held at once, a dead replica's stored updates are swept up, two replicas share one
send window. The same tests as tests/e2e/test_replicas.py, on a fresh database of the
throwaway cluster (tests/pg_cluster.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.storage import Storage, open_storage
from tests.e2e.conftest import START

# Re-collected here with the module's own fixtures, so they run on this module's storage.
from tests.e2e.test_replicas import held_before, settings
from tests.e2e.test_replicas import (
    test_a_restarted_replica_sends_what_it_held_at_once_and_leaves_the_others as test_pg_restarted_replica,  # noqa: E501
)
from tests.e2e.test_replicas import (
    test_stored_updates_of_a_dead_replica_are_swept_up as test_pg_dead_replica_swept,
)
from tests.e2e.test_replicas import (
    test_two_replicas_share_one_send_window as test_pg_shared_send_window,
)

__all__ = [
    "held_before",
    "settings",
    "test_pg_dead_replica_swept",
    "test_pg_restarted_replica",
    "test_pg_shared_send_window",
]


@pytest.fixture
async def storage(pg_cluster) -> AsyncIterator[Storage]:
    s = await open_storage(pg_cluster.fresh_url(), now=START)
    yield s
    await s.close()
