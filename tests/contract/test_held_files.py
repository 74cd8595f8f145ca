"""Contract: a ledger kept while another question was open (issue 16) is in storage, not in
memory: it survives closing and opening the database, is kept once per update, offered once,
and imported or discarded once, by its owner only."""

from __future__ import annotations

from datetime import timedelta

from bot.storage import open_storage
from tests.contract.conftest import NOW, team_and_collector

LATER = NOW + timedelta(minutes=5)


async def test_a_held_file_survives_a_reopen_and_is_offered_then_settled_once(backend):
    url = backend("held")
    storage = await open_storage(url, now=NOW)
    _, person = await team_and_collector(storage)
    _, other = await team_and_collector(storage, telegram_id=8)
    kept = await storage.hold_file(person.id, file_id="F1", file_name="台账.csv", file_size=120,
                                   update_id=500, now=NOW)  # fmt: skip
    # A replayed update keeps it once.
    again = await storage.hold_file(person.id, file_id="F1", file_name="台账.csv", file_size=120,
                                    update_id=500, now=LATER)  # fmt: skip
    assert again == kept
    assert (kept.file_id, kept.file_name, kept.file_size, kept.status, kept.created_at) == (
        "F1", "台账.csv", 120, "held", NOW)  # fmt: skip
    await storage.close()

    storage = await open_storage(url, now=LATER)  # a restart: nothing was in memory
    try:
        assert await storage.held_files(person.id) == [kept]
        assert await storage.held_files(other.id) == []
        await storage.mark_held_offered([kept.id], now=LATER)
        assert await storage.held_files(person.id) == []  # offered once
        # Another person's (forged) button changes nothing; the owner's tap settles it once.
        assert await storage.settle_held_file(kept.id, other.id, "imported", now=LATER) is None
        done = await storage.settle_held_file(kept.id, person.id, "imported", now=LATER)
        assert done is not None
        assert done.status == "imported"
        assert await storage.settle_held_file(kept.id, person.id, "discarded", now=LATER) is None
    finally:
        await storage.close()


async def test_a_held_file_never_offered_can_be_discarded(storage):
    _, person = await team_and_collector(storage)
    kept = await storage.hold_file(person.id, file_id="F2", file_name="x.xlsx", file_size=None,
                                   update_id=None, now=NOW)  # fmt: skip
    second = await storage.hold_file(person.id, file_id="F3", file_name="y.csv", file_size=9,
                                     update_id=None, now=LATER)  # fmt: skip
    assert [h.file_id for h in await storage.held_files(person.id)] == ["F2", "F3"]
    done = await storage.settle_held_file(kept.id, person.id, "discarded", now=LATER)
    assert done is not None
    assert done.status == "discarded"
    assert await storage.held_files(person.id) == [second]
