"""Contract: what several bot processes (replicas) on one database share — a lease per chat for
its updates, leases taken back by a restarted replica, the send window, flood control per chat,
the strangers' quiet period, the replicas alive. The last test runs real processes on one
database."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from bot.storage import InboxUpdate, NewOutboxMessage
from tests.contract.conftest import NOW, team_and_collector

LEASE = timedelta(seconds=15)
LATER = NOW + timedelta(seconds=1)


def _u(update_id: int, chat_id: int | None = 7) -> InboxUpdate:
    return InboxUpdate(update_id, chat_id, json.dumps({"update_id": update_id}))


async def test_a_chat_is_held_by_one_replica_and_its_updates_come_oldest_first(storage):
    await storage.store_updates([_u(3), _u(1), _u(2, chat_id=8)], now=NOW)
    first = await storage.claim_chat(7, holder="a", now=NOW, lease=LEASE)
    assert (first.update_id, first.chat_id, first.attempts) == (1, 7, 1)
    # Another replica (with update 3 of the same chat in hand) must leave the chat alone.
    assert await storage.claim_chat(7, holder="b", now=NOW, lease=LEASE) is None
    # Chat 8 is free for anyone.
    assert (await storage.claim_chat(8, holder="b", now=NOW, lease=LEASE)).update_id == 2
    await storage.finish_update(1, now=LATER)
    # The holder's next claim hands the lease on to the chat's next update...
    assert (await storage.claim_chat(7, holder="a", now=LATER, lease=LEASE)).update_id == 3
    await storage.finish_update(3, now=LATER)
    # ... and with nothing left the lease is gone: anyone may take the chat's next update.
    assert await storage.claim_chat(7, holder="a", now=LATER, lease=LEASE) is None
    await storage.store_updates([_u(4)], now=LATER)
    assert (await storage.claim_chat(7, holder="b", now=LATER, lease=LEASE)).update_id == 4


async def test_the_next_claim_marks_the_update_just_handled_in_the_same_transaction(storage):
    await storage.store_updates([_u(1), _u(2)], now=NOW)
    await storage.claim_chat(7, holder="a", now=NOW, lease=LEASE)
    nxt = await storage.claim_chat(
        7, holder="a", now=NOW, lease=LEASE, finished=1, handled_at=LATER
    )
    assert nxt.update_id == 2
    assert await storage.claim_chat(7, holder="a", now=NOW, lease=LEASE, finished=2) is None
    assert await storage.inbox_counts() == {"pending": 0, "handled": 2, "set_aside": 0}


async def test_an_update_stored_while_the_chat_is_held_is_left_to_the_holder(storage):
    """The race of two replicas: B stores update 2 while A handles update 1 of the same chat;
    B's claim fails, and A's claim after update 1 finds update 2."""
    await storage.store_updates([_u(1)], now=NOW)
    assert (await storage.claim_chat(7, holder="a", now=NOW, lease=LEASE)).update_id == 1
    await storage.store_updates([_u(2)], now=NOW)
    assert await storage.claim_chat(7, holder="b", now=NOW, lease=LEASE) is None
    await storage.finish_update(1, now=NOW)
    assert (await storage.claim_chat(7, holder="a", now=NOW, lease=LEASE)).update_id == 2


async def test_a_lease_that_ran_out_goes_to_another_replica_and_renewal_keeps_it(storage):
    await storage.store_updates([_u(1)], now=NOW)
    await storage.claim_chat(7, holder="a", now=NOW, lease=LEASE)
    assert await storage.renew_chat(7, holder="a", until=NOW + 2 * LEASE)
    assert not await storage.renew_chat(7, holder="b", until=NOW + 2 * LEASE)
    assert await storage.claim_chat(7, holder="b", now=NOW + LEASE, lease=LEASE) is None
    taken = await storage.claim_chat(7, holder="b", now=NOW + 2 * LEASE, lease=LEASE)
    assert (taken.update_id, taken.attempts) == (1, 2)  # a's attempt counted too
    assert not await storage.renew_chat(7, holder="a", until=NOW + 3 * LEASE)
    await storage.release_chat(7, holder="b")
    assert (await storage.claim_chat(7, holder="a", now=NOW + 2 * LEASE, lease=LEASE)) is not None


async def test_an_update_of_no_chat_has_its_own_lease(storage):
    await storage.store_updates([_u(5, chat_id=None)], now=NOW)
    assert (await storage.claim_lone_update(5, holder="a", now=NOW, lease=LEASE)).attempts == 1
    assert await storage.claim_lone_update(5, holder="b", now=NOW, lease=LEASE) is None
    assert (await storage.claim_lone_update(5, holder="a", now=NOW, lease=LEASE)).attempts == 2
    await storage.finish_update(5, now=NOW)
    assert await storage.claim_lone_update(5, holder="a", now=NOW, lease=LEASE) is None


async def test_the_sweep_lists_what_nobody_holds(storage):
    await storage.store_updates(
        [_u(1), _u(2), _u(3, chat_id=8), _u(4, chat_id=None), _u(5, chat_id=9)], now=NOW
    )
    await storage.claim_chat(9, holder="b", now=NOW, lease=LEASE)
    assert await storage.inbox_to_sweep(holder="a", now=NOW) == [(7, 1), (8, 3), (None, 4)]
    # The holder's own chats are its to sweep (a restart), and leases that ran out anyone's.
    assert (9, 5) in await storage.inbox_to_sweep(holder="b", now=NOW)
    assert (9, 5) in await storage.inbox_to_sweep(holder="a", now=NOW + LEASE)
    assert await storage.inbox_to_sweep(holder="a", now=NOW, limit=1) == [(7, 1)]


async def test_a_restarted_replica_takes_back_its_own_leases_at_once(storage):
    _, user = await team_and_collector(storage)
    for i in range(3):
        await storage.enqueue(NewOutboxMessage(user.id, "notify/invite_used", {"i": i}), now=NOW)
    await storage.store_updates([_u(1), _u(2, chat_id=8)], now=NOW)
    mine = await storage.claim_outbox(NOW, limit=1, lease=LEASE, holder="a")
    await storage.claim_chat(7, holder="a", now=NOW, lease=LEASE)
    await storage.claim_chat(8, holder="b", now=NOW, lease=LEASE)
    await storage.ensure_send_places(2)
    turn = await storage.take_send_place(holder="a", now=NOW, ttl=LEASE, places=2)
    assert turn.place is not None
    # Killed: nothing of a's is due again before its leases run out...
    assert await storage.claim_outbox(NOW, holder="b") == []
    assert await storage.claim_chat(7, holder="b", now=NOW, lease=LEASE) is None
    # ... until a comes back as itself.
    counts = await storage.take_back_leases("a", now=NOW)
    assert counts == {"chats": 1, "inbox": 1, "outbox": 1, "reminders": 0, "places": 1}
    # (The chat's later rows had waited behind a's: they come too, in order.)
    taken = [m.id for m in await storage.claim_outbox(NOW, holder="b")]
    assert taken[:1] == [m.id for m in mine]
    assert len(taken) == 3
    assert (await storage.claim_chat(7, holder="b", now=NOW, lease=LEASE)).update_id == 1
    assert await storage.claim_chat(8, holder="a", now=NOW, lease=LEASE) is None  # still b's
    # Its send place still counts for a second (a send just before the kill).
    again = await storage.take_send_place(holder="b", now=NOW, ttl=LEASE, places=2)
    assert again.place is not None
    full = await storage.take_send_place(holder="b", now=NOW, ttl=LEASE, places=2)
    assert (full.place, full.wait_until) == (None, NOW + timedelta(seconds=1))


async def test_the_send_window_is_shared_and_a_place_counts_a_second_after_its_answer(storage):
    await storage.ensure_send_places(3)
    await storage.ensure_send_places(3)  # idempotent
    taken = [await storage.take_send_place(holder=h, now=NOW, ttl=LEASE, places=3) for h in "abc"]
    assert sorted(t.place for t in taken) == [0, 1, 2]
    full = await storage.take_send_place(holder="d", now=NOW, ttl=LEASE, places=3)
    assert full.place is None
    assert full.wait_until == NOW + LEASE  # all on their way
    await storage.release_send_place(taken[1].place, holder="b", until=LATER)
    assert (await storage.take_send_place(holder="d", now=NOW, ttl=LEASE, places=3)).place is None
    again = await storage.take_send_place(holder="d", now=LATER, ttl=LEASE, places=3)
    assert again.place == taken[1].place
    # Releasing somebody else's place does nothing.
    await storage.release_send_place(taken[0].place, holder="x", until=NOW)
    assert (await storage.take_send_place(holder="d", now=LATER, ttl=LEASE, places=3)).place is None


async def test_an_outbox_send_leaves_a_place_for_a_reply(storage):
    await storage.ensure_send_places(2)
    bulk = await storage.take_send_place(holder="a", now=NOW, ttl=LEASE, places=2, keep_free=1)
    assert bulk.place is not None
    more = await storage.take_send_place(holder="a", now=NOW, ttl=LEASE, places=2, keep_free=1)
    assert more.place is None
    reply = await storage.take_send_place(holder="a", now=NOW, ttl=LEASE, places=2)
    assert reply.place is not None


async def test_flood_control_of_one_chat_holds_that_chat_only(storage):
    await storage.ensure_send_places(5)
    await storage.hold_chat(7, until=NOW + timedelta(seconds=130))
    await storage.hold_chat(7, until=NOW + timedelta(seconds=10))  # never shortened
    held = await storage.take_send_place(holder="a", now=NOW, ttl=LEASE, places=5, chat_id=7)
    assert held == held.__class__(None, NOW + timedelta(seconds=130), chat_held=True)
    other = await storage.take_send_place(holder="a", now=NOW, ttl=LEASE, places=5, chat_id=8)
    assert other.place is not None
    later = NOW + timedelta(seconds=131)
    turn = await storage.take_send_place(holder="a", now=later, ttl=LEASE, places=5, chat_id=7)
    assert turn.place is not None


async def test_each_chats_pace_is_shared_a_burst_then_one_a_second(storage):
    await storage.ensure_send_places(30)

    async def take(holder: str, at: timedelta, chat: int = 7):
        return await storage.take_send_place(
            holder=holder, now=NOW + at, ttl=LEASE, places=30, chat_id=chat, chat_rate=1.0
        )

    # Three at once (the burst), from two replicas together...
    assert [(await take(h, timedelta(0))).place is not None for h in "aba"] == [True] * 3
    fourth = await take("b", timedelta(0))
    assert (fourth.place, fourth.chat_paced) == (None, True)
    assert fourth.wait_until == NOW + timedelta(seconds=1)
    assert (await take("a", timedelta(0), chat=8)).place is not None  # another chat: its own
    # ... then one a second.
    assert (await take("b", timedelta(seconds=1))).place is not None
    assert (await take("a", timedelta(seconds=1.5))).place is None
    assert (await take("a", timedelta(seconds=2))).place is not None
    # Flood control empties the bucket: after the hold, one at a time again.
    await storage.hold_chat(7, until=NOW + timedelta(seconds=10))
    held = await take("a", timedelta(seconds=5))
    assert held.chat_held
    assert (await take("a", timedelta(seconds=10))).place is None  # no tokens yet
    assert (await take("a", timedelta(seconds=11))).place is not None


async def test_two_replicas_racing_never_share_a_place_a_chat_or_a_token(backend):
    """Two handles on one database (each its own connection, or pool on PostgreSQL) asking at
    once: each send place is given once, a chat goes to one of them, and a chat's burst of
    three is three sends in all (PostgreSQL: FOR UPDATE SKIP LOCKED / FOR UPDATE beside the
    writer lock)."""
    from bot.storage import open_storage

    a = await open_storage(backend("race"), now=NOW)
    b = await open_storage(backend("race"), now=NOW)
    try:
        await a.ensure_send_places(5)
        both = [(a, "a"), (b, "b")] * 6
        turns = await asyncio.gather(
            *(s.take_send_place(holder=h, now=NOW, ttl=LEASE, places=5) for s, h in both)
        )
        assert sorted(t.place for t in turns if t.place is not None) == [0, 1, 2, 3, 4]

        await a.store_updates([_u(1), _u(2)], now=NOW)
        claims = await asyncio.gather(
            *(s.claim_chat(7, holder=h, now=NOW, lease=LEASE) for s, h in both)
        )
        winners = {h for (_, h), item in zip(both, claims, strict=True) if item is not None}
        assert len(winners) == 1
        assert {item.update_id for item in claims if item is not None} == {1}

        paced = await asyncio.gather(
            *(
                s.take_send_place(
                    holder=h, now=LATER + LEASE, ttl=LEASE, places=5, chat_id=9, chat_rate=1.0
                )
                for s, h in both
            )
        )
        assert sum(t.place is not None for t in paced) == 3
        assert sum(t.chat_paced for t in paced) == 9
    finally:
        await a.close()
        await b.close()


async def test_a_stranger_is_answered_once_per_quiet_period(storage):
    quiet = timedelta(minutes=10)
    assert await storage.answer_stranger(42, now=NOW, quiet=quiet)
    assert not await storage.answer_stranger(42, now=NOW + timedelta(minutes=9), quiet=quiet)
    assert await storage.answer_stranger(43, now=NOW, quiet=quiet)
    assert await storage.answer_stranger(42, now=NOW + quiet, quiet=quiet)


async def test_replicas_report_themselves_and_old_state_is_pruned(storage):
    assert await storage.get_replica("r1") is None
    await storage.beat_replica("r1", host="h", pid=10, now=NOW, until=NOW + LEASE)
    await storage.beat_replica("r1", host="h", pid=10, now=LATER, until=LATER + LEASE)
    seen = await storage.get_replica("r1")
    assert (seen.host, seen.pid, seen.started_at, seen.seen_until) == ("h", 10, NOW, LATER + LEASE)
    await storage.beat_replica("r1", host="h", pid=11, now=LATER, until=LATER + LEASE)
    assert (await storage.get_replica("r1")).started_at == LATER  # a new process
    await storage.answer_stranger(42, now=NOW, quiet=timedelta(minutes=10))
    await storage.hold_chat(7, until=LATER)
    day = NOW + timedelta(days=1)
    assert await storage.prune_replica_state(now=day, before=day) == 3
    assert await storage.get_replica("r1") is None


_WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from datetime import UTC, datetime, timedelta
    from bot.storage import open_storage

    async def main(url, holder, out):
        s = await open_storage(url, now=datetime.now(UTC))
        log = []
        idle = 0
        while idle < 20:
            work = await s.inbox_to_sweep(holder=holder, now=datetime.now(UTC), limit=5)
            if not work:
                idle += 1
                await asyncio.sleep(0.01)
                continue
            idle = 0
            for chat, _first in work:
                lease = timedelta(seconds=30)
                item = await s.claim_chat(chat, holder=holder, now=datetime.now(UTC), lease=lease)
                while item is not None:
                    start = time.monotonic()
                    await asyncio.sleep(0.002)  # handling
                    log.append([chat, item.update_id, start, time.monotonic(), holder])
                    await s.finish_update(item.update_id, now=datetime.now(UTC))
                    item = await s.claim_chat(chat, holder=holder, now=datetime.now(UTC),
                                              lease=lease)
        await s.close()
        with open(out, "w") as f:
            json.dump(log, f)

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
    """
)


def test_several_processes_on_one_database_handle_each_update_once_in_chat_order(
    backend, tmp_path: Path
):
    from bot.storage import open_storage

    url = backend("shared")
    chats, per_chat = 6, 25
    updates = [_u(n * chats + c + 1, 100 + c) for n in range(per_chat) for c in range(chats)]

    async def store() -> None:
        storage = await open_storage(url, now=NOW)
        await storage.store_updates(updates, now=NOW)
        await storage.close()

    asyncio.run(store())
    outs = [tmp_path / f"w{i}.json" for i in range(3)]
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, url, f"r{i}", str(out)])
        for i, out in enumerate(outs)
    ]
    for proc in procs:
        assert proc.wait(120) == 0
    log = [row for out in outs for row in json.loads(out.read_text())]
    assert sorted(row[1] for row in log) == sorted(u.update_id for u in updates)  # each once
    assert len({row[4] for row in log}) > 1  # the work was shared
    for chat in range(100, 100 + chats):
        rows = sorted((r for r in log if r[0] == chat), key=lambda r: r[2])
        assert [r[1] for r in rows] == sorted(r[1] for r in rows)  # in order
        for earlier, later in itertools.pairwise(rows):
            assert earlier[3] <= later[2]  # never two at once
