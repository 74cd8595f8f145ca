"""Contract: flows (compare-and-set on version, one open and one waiting per person)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.storage import FlowConflictError
from tests.contract.conftest import NOW, team_and_collector

LATER = NOW + timedelta(hours=1)


@pytest.fixture
async def uid(storage) -> int:
    _, u = await team_and_collector(storage)
    return u.id


async def test_a_started_flow_is_open_with_its_data(storage, uid):
    f = await storage.start_flow(uid, "note", "text", {"draft": "电话未接"}, now=NOW,
                                 expires_at=LATER, case_id=3, update_id=100)  # fmt: skip
    assert (f.flow, f.step, f.data, f.case_id, f.status, f.version) == (
        "note", "text", {"draft": "电话未接"}, 3, "open", 1)  # fmt: skip
    assert (f.message_id, f.last_update_id, f.created_at, f.expires_at) == (None, 100, NOW, LATER)
    assert await storage.open_flow(uid) == f
    assert await storage.get_flow(f.id) == f
    assert await storage.waiting_flow(uid) is None
    assert await storage.get_flow(f.id + 1000) is None


async def test_only_one_open_flow_per_person(storage, uid):
    first = await storage.start_flow(uid, "invite", "role", {}, now=NOW, expires_at=LATER)
    with pytest.raises(FlowConflictError):
        await storage.start_flow(uid, "note", "text", {}, now=NOW, expires_at=LATER)
    assert await storage.open_flow(uid) == first
    # Someone else is not affected.
    _, other = await team_and_collector(storage, telegram_id=8)
    assert (await storage.start_flow(other.id, "note", "t", {}, now=NOW,
                                     expires_at=LATER)).status == "open"  # fmt: skip


async def test_one_waiting_flow_replaces_the_earlier_waiting_one(storage, uid):
    opened = await storage.start_flow(uid, "invite", "role", {"name": "王五"}, now=NOW,
                                      expires_at=LATER)  # fmt: skip
    w1 = await storage.start_flow(uid, "note", "text", {"n": 1}, now=NOW, expires_at=LATER,
                                  waiting=True)  # fmt: skip
    w2 = await storage.start_flow(uid, "note", "text", {"n": 2}, now=NOW, expires_at=LATER,
                                  waiting=True)  # fmt: skip
    assert w2.status == "waiting"
    assert (await storage.get_flow(w1.id)).status == "dropped"
    assert await storage.waiting_flow(uid) == w2
    assert await storage.open_flow(uid) == opened


async def test_advance_is_a_compare_and_set(storage, uid):
    f = await storage.start_flow(uid, "assign", "collector", {}, now=NOW, expires_at=LATER)
    assert await storage.set_flow_message(f.id, f.version, 555)
    asked = await storage.get_flow(f.id)
    assert (asked.message_id, asked.version) == (555, f.version)  # not bumped
    step = await storage.advance_flow(f.id, f.version, step="reason", data={"to": 4},
                                      now=LATER, case_id=9, update_id=101)  # fmt: skip
    assert (step.step, step.data, step.case_id, step.version) == ("reason", {"to": 4}, 9, 2)
    assert (step.message_id, step.last_update_id, step.updated_at) == (None, 101, LATER)
    assert step.expires_at == LATER  # kept when not given
    # A double tap: the same (old) version changes nothing a second time.
    assert await storage.advance_flow(f.id, f.version, step="x", data={}, now=LATER) is None
    assert await storage.set_flow_message(f.id, f.version, 556) is False
    later = LATER + timedelta(hours=1)
    moved = await storage.advance_flow(f.id, step.version, step="confirm", data={"to": 4},
                                       now=LATER, expires_at=later)  # fmt: skip
    assert (moved.case_id, moved.expires_at, moved.last_update_id) == (9, later, 101)
    assert await storage.get_flow(f.id) == moved


async def test_end_flow_open_or_waiting_with_or_without_cas(storage, uid):
    f = await storage.start_flow(uid, "note", "text", {}, now=NOW, expires_at=LATER)
    assert await storage.end_flow(f.id, f.version + 1, "done", now=LATER) is None
    ended = await storage.end_flow(f.id, f.version, "cancelled", now=LATER, update_id=7)
    assert (ended.status, ended.updated_at, ended.last_update_id) == ("cancelled", LATER, 7)
    assert await storage.open_flow(uid) is None
    assert await storage.end_flow(f.id, None, "done", now=LATER) is None  # already ended
    assert await storage.advance_flow(f.id, ended.version, step="x", data={}, now=LATER) is None
    w = await storage.start_flow(uid, "note", "text", {}, now=NOW, expires_at=LATER, waiting=True)
    assert (await storage.end_flow(w.id, None, "expired", now=LATER)).status == "expired"
    with pytest.raises(ValueError, match="open"):
        await storage.end_flow(w.id, None, "open", now=LATER)
    # The person may start a new flow now.
    assert (await storage.start_flow(uid, "note", "t", {}, now=LATER,
                                     expires_at=LATER)).status == "open"  # fmt: skip


async def test_promote_waiting_drops_the_open_one(storage, uid):
    assert await storage.promote_waiting(uid, now=NOW, expires_at=LATER) is None
    opened = await storage.start_flow(uid, "invite", "role", {}, now=NOW, expires_at=LATER)
    waiting = await storage.start_flow(uid, "note", "text", {"case": 1}, now=NOW,
                                       expires_at=NOW, waiting=True)  # fmt: skip
    promoted = await storage.promote_waiting(uid, now=LATER, expires_at=LATER + timedelta(1))
    assert (promoted.id, promoted.status, promoted.version) == (waiting.id, "open", 2)
    assert (promoted.expires_at, promoted.data) == (LATER + timedelta(1), {"case": 1})
    assert (await storage.get_flow(opened.id)).status == "dropped"
    assert await storage.open_flow(uid) == promoted
    assert await storage.waiting_flow(uid) is None


async def test_promote_without_an_open_flow(storage, uid):
    w = await storage.start_flow(uid, "note", "t", {}, now=NOW, expires_at=LATER, waiting=True)
    promoted = await storage.promote_waiting(uid, now=NOW, expires_at=LATER)
    assert (promoted.id, promoted.status) == (w.id, "open")


async def test_flow_consumed_recognises_a_replayed_update(storage, uid):
    f = await storage.start_flow(uid, "note", "text", {}, now=NOW, expires_at=LATER,
                                 update_id=200)  # fmt: skip
    assert (await storage.flow_consumed(uid, 200)).id == f.id
    # A lower id is a new update (Telegram restarts its numbering at random after a quiet
    # week), not a replay; nor is a higher one.
    assert await storage.flow_consumed(uid, 150) is None
    assert await storage.flow_consumed(uid, 201) is None
    step = await storage.advance_flow(f.id, 1, step="s", data={}, now=LATER, update_id=205)
    await storage.end_flow(f.id, step.version, "done", now=LATER, update_id=210)
    done = await storage.flow_consumed(uid, 210)
    assert (done.id, done.status) == (f.id, "done")  # any status
    g = await storage.start_flow(uid, "note", "text", {}, now=LATER + timedelta(1),
                                 expires_at=LATER, update_id=220)  # fmt: skip
    assert await storage.flow_consumed(uid, 205) is None  # moved on since: not the last
    assert (await storage.flow_consumed(uid, 220)).id == g.id
    _, other = await team_and_collector(storage, telegram_id=8)
    assert await storage.flow_consumed(other.id, 1) is None


async def test_two_concurrent_advances_of_one_version_one_wins(storage, uid):
    import asyncio

    f = await storage.start_flow(uid, "note", "text", {}, now=NOW, expires_at=LATER)
    results = await asyncio.gather(
        *(storage.advance_flow(f.id, f.version, step=f"s{i}", data={}, now=NOW)
          for i in range(5))
    )  # fmt: skip
    assert sum(r is not None for r in results) == 1


async def test_a_flows_last_update_is_forgotten_when_the_inbox_moves_to_another_bot(storage, uid):
    await storage.start_flow(uid, "note", "text", {}, now=NOW, expires_at=LATER, update_id=5)
    await storage.bind_inbox(111, now=NOW)
    assert await storage.flow_consumed(uid, 5) is not None  # the same bot: a replay
    await storage.bind_inbox(222, now=NOW)
    assert await storage.flow_consumed(uid, 5) is None  # the new bot's update 5 is new
