"""Contract: a cancelled flow's draft kept for a later start (issue 16: /cancel during /prep
offers "keep my answers"), found again by person, flow and case until it is no longer kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.storage import KEPT_UNTIL
from tests.contract.conftest import NOW, team_and_collector

LATER = NOW + timedelta(hours=1)
DAY = NOW + timedelta(days=1)


@pytest.fixture
async def uid(storage) -> int:
    _, u = await team_and_collector(storage)
    return u.id


async def _cancelled(storage, uid, case_id=3, data=None):
    f = await storage.start_flow(uid, "prep", "target", data or {"bottom": 600_000}, now=NOW,
                                 expires_at=LATER, case_id=case_id)  # fmt: skip
    return await storage.end_flow(f.id, f.version, "cancelled", now=NOW)


async def test_a_kept_draft_is_found_by_person_flow_and_case_until_its_time(storage, uid):
    ended = await _cancelled(storage, uid)
    assert await storage.kept_flow(uid, "prep", 3, now=NOW) is None  # not kept unless asked
    kept = await storage.keep_flow_draft(ended.id, uid, until=DAY, now=NOW)
    assert kept is not None
    assert kept.data["bottom"] == 600_000
    assert KEPT_UNTIL in kept.data
    found = await storage.kept_flow(uid, "prep", 3, now=NOW)
    assert found is not None
    assert (found.id, found.step, found.status) == (ended.id, "target", "cancelled")
    assert await storage.kept_flow(uid, "prep", 4, now=NOW) is None  # another case
    assert await storage.kept_flow(uid, "commit", 3, now=NOW) is None  # another flow
    assert await storage.kept_flow(uid, "prep", 3, now=DAY) is None  # its time is up


async def test_forgetting_a_kept_draft_and_only_ones_own_cancelled_flows(storage, uid):
    ended = await _cancelled(storage, uid)
    await storage.keep_flow_draft(ended.id, uid, until=DAY, now=NOW)
    forgotten = await storage.keep_flow_draft(ended.id, uid, until=None, now=NOW)
    assert forgotten is not None
    assert KEPT_UNTIL not in forgotten.data
    assert forgotten.data["bottom"] == 600_000
    assert await storage.kept_flow(uid, "prep", 3, now=NOW) is None
    _, other = await team_and_collector(storage, telegram_id=8)
    assert await storage.keep_flow_draft(ended.id, other.id, until=DAY, now=NOW) is None
    still_open = await storage.start_flow(uid, "prep", "bottom", {}, now=NOW, expires_at=LATER,
                                          case_id=5)  # fmt: skip
    assert await storage.keep_flow_draft(still_open.id, uid, until=DAY, now=NOW) is None
