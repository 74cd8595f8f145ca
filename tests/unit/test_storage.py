import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.people import InviteProblem, Role
from bot.storage import SchemaTooNewError, SqliteStorage, StorageError
from bot.storage.sqlite import load_migrations

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
async def storage(tmp_path):
    s = await SqliteStorage.open(tmp_path / "q.db", now=NOW)
    yield s
    await s.close()


async def test_new_database_is_migrated_to_the_latest_version(storage):
    assert await storage.schema_version() == load_migrations()[-1].version
    log = await storage.audit_log(entity="schema")
    assert [e.action for e in log] == ["migrate"] * len(load_migrations())


async def test_pragmas_wal_and_foreign_keys(storage, tmp_path):
    raw = sqlite3.connect(tmp_path / "q.db")
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    with pytest.raises(StorageError, match="FOREIGN KEY"):
        await storage.add_user(telegram_id=1, name="x", role=Role.COLLECTOR, team_id=999, now=NOW)


async def test_reopening_applies_nothing_twice(tmp_path):
    s = await SqliteStorage.open(tmp_path / "q.db", now=NOW)
    await s.close()
    s = await SqliteStorage.open(tmp_path / "q.db", now=NOW)
    assert len(await s.audit_log(entity="schema")) == len(load_migrations())
    await s.close()


async def test_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "q.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 999")
    raw.close()
    with pytest.raises(SchemaTooNewError, match="999"):
        await SqliteStorage.open(path, now=NOW)


async def test_invite_is_redeemed_once_and_notifies_its_maker(storage):
    team = await storage.ensure_team("东城", now=NOW)
    sup = await storage.add_user(
        telegram_id=10, name="Li", role=Role.SUPERVISOR, team_id=team.id, now=NOW
    )
    inv = await storage.create_invite(
        role=Role.COLLECTOR, team_id=team.id, created_by=sup.id, now=NOW
    )
    user = await storage.redeem_invite(
        inv.code, telegram_id=11, name="Zhang", username="zh", telegram_locale="zh_Hans", now=NOW
    )
    assert not isinstance(user, InviteProblem)
    assert (user.role, user.team_name, user.name) == (Role.COLLECTOR, "东城", "Zhang")
    again = await storage.redeem_invite(
        inv.code, telegram_id=12, name="Chen", username=None, telegram_locale=None, now=NOW
    )
    assert again is InviteProblem.USED
    assert await storage.get_user_by_telegram_id(12) is None
    queued = await storage.due_outbox(NOW)
    assert [(m.telegram_id, m.template, m.params["name"]) for m in queued] == [
        (10, "notify/invite_used", "Zhang")
    ]
    actions = [e.action for e in await storage.audit_log(entity="user")]
    assert "join" in actions


async def test_expired_and_unknown_invites(storage):
    team = await storage.ensure_team("A", now=NOW)
    inv = await storage.create_invite(
        role=Role.COLLECTOR, team_id=team.id, created_by=None, now=NOW, ttl=timedelta(hours=1)
    )
    later = NOW + timedelta(hours=1)
    kw = {"telegram_id": 5, "name": "x", "username": None, "telegram_locale": None}
    assert await storage.redeem_invite(inv.code, now=later, **kw) is InviteProblem.EXPIRED
    assert await storage.redeem_invite("nope-nope-nope", now=NOW, **kw) is InviteProblem.UNKNOWN


async def test_collector_invite_needs_a_team(storage):
    with pytest.raises(StorageError):
        await storage.create_invite(role=Role.COLLECTOR, team_id=None, created_by=None, now=NOW)


async def test_admins_from_settings_are_created_and_promoted(storage):
    team = await storage.ensure_team("A", now=NOW)
    await storage.add_user(telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id, now=NOW)
    await storage.ensure_admins([7, 8], now=NOW)
    assert (await storage.get_user_by_telegram_id(7)).role is Role.ADMIN
    assert (await storage.get_user_by_telegram_id(8)).role is Role.ADMIN


async def test_deactivate_and_blocked_are_recorded(storage):
    team = await storage.ensure_team("A", now=NOW)
    u = await storage.add_user(
        telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id, now=NOW
    )
    off = await storage.set_active(u.id, False, actor_id=None, now=NOW)
    assert not off.active
    assert await storage.set_blocked(7, True, now=NOW)
    assert not await storage.set_blocked(7, True, now=NOW)  # already recorded
    assert (await storage.get_user(u.id)).blocked_at == NOW
    actions = [e.action for e in await storage.audit_log(entity="user", limit=10)]
    assert actions[:2] == ["blocked", "deactivate"]


async def test_outbox_batches_and_retries(storage):
    team = await storage.ensure_team("A", now=NOW)
    u = await storage.add_user(
        telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id, now=NOW
    )
    for i in range(3):
        await storage.enqueue(u.id, "notify/invite_used", {"i": i}, now=NOW)
    await storage.enqueue(u.id, "x", {}, now=NOW, not_before=NOW + timedelta(days=1))
    due = await storage.due_outbox(NOW)
    assert [m.params["i"] for m in due] == [0, 1, 2]
    await storage.mark_sent([(due[0].id, 501), (due[1].id, 502)], now=NOW)
    await storage.mark_failed(due[2].id, "boom", now=NOW, retry_at=NOW + timedelta(minutes=1))
    assert await storage.due_outbox(NOW) == []
    assert [m.id for m in await storage.due_outbox(NOW + timedelta(minutes=1))] == [due[2].id]


async def test_naive_times_are_refused(storage):
    with pytest.raises(ValueError, match="naive"):
        await storage.ensure_team("A", now=datetime(2026, 1, 1))


async def test_backup_is_a_consistent_openable_copy(storage, tmp_path):
    await storage.ensure_team("备份组", now=NOW)
    dest = tmp_path / "copy" / "backup.db"
    await storage.backup(dest)
    copy = await SqliteStorage.open(dest, now=NOW)
    assert [t.name for t in await copy.list_teams()] == ["备份组"]
    await copy.close()


async def test_two_people_racing_for_one_invite_exactly_one_wins(storage):
    import asyncio

    team = await storage.ensure_team("A", now=NOW)
    inv = await storage.create_invite(
        role=Role.COLLECTOR, team_id=team.id, created_by=None, now=NOW
    )
    results = await asyncio.gather(
        *(
            storage.redeem_invite(
                inv.code,
                telegram_id=100 + i,
                name=f"p{i}",
                username=None,
                telegram_locale=None,
                now=NOW,
            )
            for i in range(5)
        )
    )
    winners = [r for r in results if not isinstance(r, InviteProblem)]
    assert len(winners) == 1
    assert results.count(InviteProblem.USED) == 4
    assert len(await storage.list_users()) == 1


async def test_queued_messages_for_switched_off_people_are_dropped(storage):
    team = await storage.ensure_team("A", now=NOW)
    u = await storage.add_user(
        telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id, now=NOW
    )
    await storage.enqueue(u.id, "notify/invite_used", {}, now=NOW)
    await storage.set_active(u.id, False, actor_id=None, now=NOW)
    assert await storage.due_outbox(NOW) == []
    await storage.set_active(u.id, True, actor_id=None, now=NOW)
    assert await storage.due_outbox(NOW) == []  # dropped, not delivered late


async def test_a_read_never_sees_another_coroutines_uncommitted_write(storage):
    import asyncio

    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_writer():
        async with storage._tx() as db:
            await db.execute("INSERT INTO teams (name, created_at) VALUES ('ghost', 'x')")
            entered.set()
            await release.wait()
            raise RuntimeError("rolled back")

    writer = asyncio.create_task(slow_writer())
    await entered.wait()
    reader = asyncio.create_task(storage.list_teams())
    await asyncio.sleep(0.05)
    release.set()
    with pytest.raises(RuntimeError):
        await writer
    assert [t.name for t in await reader] == []


async def test_invite_needs_a_positive_lifetime(storage):
    with pytest.raises(StorageError):
        await storage.create_invite(
            role=Role.ADMIN, team_id=None, created_by=None, now=NOW, ttl=timedelta(0)
        )
