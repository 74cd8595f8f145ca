"""Contract: the inbox (updates stored before Telegram is told they arrived)."""

from __future__ import annotations

from datetime import timedelta

from bot.storage import InboxUpdate
from tests.contract.conftest import NOW

LATER = NOW + timedelta(minutes=5)


def _u(update_id: int, chat_id: int | None = 7, payload: str | None = None) -> InboxUpdate:
    return InboxUpdate(update_id, chat_id, payload or f'{{"update_id": {update_id}}}')


async def test_store_returns_only_the_new_updates(storage):
    assert await storage.store_updates([], now=NOW) == []
    assert await storage.store_updates([_u(3), _u(1), _u(2, None)], now=NOW) == [3, 1, 2]
    # Telegram sends the same updates again (not acknowledged yet): stored once.
    assert await storage.store_updates([_u(2), _u(3), _u(4)], now=LATER) == [4]
    assert await storage.store_updates([_u(5), _u(5)], now=LATER) == [5]
    assert await storage.inbox_counts() == {"pending": 5, "handled": 0, "set_aside": 0}


async def test_the_payload_is_kept_as_received(storage):
    raw = '{"update_id": 9, "message": {"text": "已还 5,000 元 \\"全额\\"", "x": [1, 2.50]}}'
    await storage.store_updates([InboxUpdate(9, -100123, raw)], now=NOW)
    [item] = await storage.pending_updates()
    assert (item.update_id, item.chat_id, item.payload) == (9, -100123, raw)
    assert (item.attempts, item.received_at) == (0, NOW)


async def test_pending_in_update_id_order_with_a_limit(storage):
    await storage.store_updates([_u(i) for i in (5, 2, 9, 1)], now=NOW)
    assert [i.update_id for i in await storage.pending_updates()] == [1, 2, 5, 9]
    assert [i.update_id for i in await storage.pending_updates(limit=2)] == [1, 2]


async def test_claim_counts_attempts_until_finished_or_set_aside(storage):
    await storage.store_updates([_u(1), _u(2)], now=NOW)
    assert await storage.claim_update(1) == 1
    assert await storage.claim_update(1) == 2  # a restart handling it again
    assert [i.attempts for i in await storage.pending_updates()] == [2, 0]
    await storage.finish_update(1, now=LATER)
    assert await storage.claim_update(1) is None  # handled
    await storage.set_aside_update(2, "cannot be parsed", now=LATER)
    assert await storage.claim_update(2) is None  # set aside
    assert await storage.claim_update(99) is None  # unknown
    assert await storage.pending_updates() == []
    assert await storage.inbox_counts() == {"pending": 0, "handled": 1, "set_aside": 1}
    await storage.finish_update(99, now=LATER)  # unknown: nothing to do, no error


async def test_prune_deletes_only_handled_updates_received_before(storage):
    await storage.store_updates([_u(1), _u(2), _u(3)], now=NOW)
    await storage.store_updates([_u(4)], now=LATER)
    for i in (1, 4):
        await storage.finish_update(i, now=LATER)
    await storage.set_aside_update(3, "poison", now=LATER)
    assert await storage.prune_inbox(before=LATER) == 1  # 1; not 4 (received at LATER)
    assert await storage.inbox_counts() == {"pending": 1, "handled": 1, "set_aside": 1}
    assert await storage.prune_inbox(before=LATER) == 0
    # A pruned update fetched again would be stored again: prune only what Telegram forgot.
    assert await storage.store_updates([_u(1)], now=LATER) == [1]


async def test_the_inbox_is_bound_to_one_bots_numbering(storage):
    """Telegram numbers updates per bot: a database moved to another bot forgets every update
    of the first (the new bot's update 1 is not the old one's, and the old bot's pending ones
    cannot be answered through the new one)."""
    await storage.store_updates([_u(1), _u(2), _u(3)], now=NOW)
    await storage.claim_update(1)
    await storage.finish_update(1, now=NOW)
    await storage.set_aside_update(2, "poison", now=NOW)
    assert await storage.bind_inbox(111, now=NOW) == 0  # the first bot
    assert await storage.bind_inbox(111, now=LATER) == 0  # the same bot again
    assert await storage.inbox_counts() == {"pending": 1, "handled": 1, "set_aside": 1}
    assert await storage.bind_inbox(222, now=LATER) == 3  # another bot
    assert await storage.inbox_counts() == {"pending": 0, "handled": 0, "set_aside": 0}
    assert await storage.store_updates([_u(1), _u(2), _u(3)], now=LATER) == [1, 2, 3]
    assert [i.update_id for i in await storage.pending_updates()] == [1, 2, 3]
    assert await storage.bind_inbox(222, now=LATER) == 0


async def test_pending_updates_come_in_the_order_they_came(storage):
    """After a quiet week Telegram numbers from a random id, maybe lower than the last."""
    await storage.store_updates([_u(900), _u(901)], now=NOW)
    await storage.store_updates([_u(5), _u(6)], now=LATER)
    assert [i.update_id for i in await storage.pending_updates()] == [900, 901, 5, 6]


async def test_a_large_inbox_is_pruned_whole(storage):
    n = 12_007  # more than a backend's batch (SQLite deletes 5,000 per transaction)
    await storage.store_updates([_u(i) for i in range(1, n + 1)], now=NOW)
    for i in range(1, n + 1):
        await storage.claim_update(i)
        await storage.finish_update(i, now=NOW)
    assert await storage.prune_inbox(before=LATER) == n
    assert await storage.inbox_counts() == {"pending": 0, "handled": 0, "set_aside": 0}
