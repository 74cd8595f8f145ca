"""The SQLite backend itself: URLs, pragmas, migrations, locking, errors, backups.

What every backend must do is in tests/contract; these tests look at the database file (through
the test-support helpers of bot.storage.testing, never the driver directly).
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.people import Role
from bot.imports import import_bytes
from bot.storage import (
    SchemaTooNewError,
    StorageError,
    StorageUnavailableError,
    UnknownStorageURLError,
    open_storage,
    storage_path,
)
from bot.storage.sqlite import connector as engine
from bot.storage.sqlite import load_migrations, split_statements
from bot.storage.testing import (
    connect_file,
    execute_file,
    held_transaction,
    query_file,
    rows,
    uncommitted_write,
)

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
async def storage(tmp_path):
    s = await open_storage(f"sqlite:///{tmp_path}/q.db", now=NOW)
    yield s
    await s.close()


def test_storage_urls_name_relative_absolute_and_bare_paths():
    assert storage_path("sqlite:///data/q.db") == Path("data/q.db")
    assert storage_path("sqlite:////var/lib/q.db") == Path("/var/lib/q.db")
    assert storage_path("q.db") == Path("q.db")
    assert storage_path("/srv/q.db") == Path("/srv/q.db")
    for bad in ("mysql://x", "sqlite://host/q.db", "sqlite:///", "", "postgres ql://x"):
        with pytest.raises(UnknownStorageURLError, match="sqlite:///relative/path"):
            storage_path(bad)
    # A PostgreSQL URL is no file: open_storage gives it to the PostgreSQL backend.
    with pytest.raises(UnknownStorageURLError, match="PostgreSQL URL"):
        storage_path("postgresql://u@h/db")


async def test_an_unknown_scheme_is_refused_at_start_and_names_every_form(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for bad in ("mysql://u@h/db", "postgresq://u@h/db", "redis://h"):
        with pytest.raises(UnknownStorageURLError, match="postgresql://user:password@host"):
            await open_storage(bad, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert list(tmp_path.iterdir()) == []  # no folder named after the scheme


async def test_every_url_form_opens_the_same_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite:///rel/q.db", f"sqlite:///{tmp_path}/rel/q.db", "rel/q.db"):
        s = await open_storage(url, now=NOW)
        await s.ensure_team("A", now=NOW)
        await s.close()
    assert query_file(tmp_path / "rel" / "q.db", "SELECT count(*) FROM teams") == [(1,)]


async def test_new_database_is_migrated_to_the_latest_version(storage):
    assert await storage.schema_version() == load_migrations()[-1].version
    log = await storage.audit_log(entity="schema")
    assert [e.action for e in log] == ["migrate"] * len(load_migrations())


async def test_pragmas_wal_and_foreign_keys(storage, tmp_path):
    assert query_file(tmp_path / "q.db", "PRAGMA journal_mode") == [("wal",)]
    with pytest.raises(StorageError, match="FOREIGN KEY"):
        await storage.add_user(telegram_id=1, name="x", role=Role.COLLECTOR, team_id=999, now=NOW)


def _insert_then_raise(db: Path, team: str) -> None:
    with connect_file(db) as con:
        con.execute("INSERT INTO teams (name, created_at) VALUES (?, 'x')", (team,))
        raise RuntimeError("seeding stopped")


async def test_a_file_connection_commits_on_leaving_and_rolls_back_on_raising(storage, tmp_path):
    db = tmp_path / "q.db"
    with connect_file(db) as con:  # a fresh connection: foreign keys off, no pragma set
        assert con.execute("PRAGMA foreign_keys").fetchone() == (0,)
        con.execute("INSERT INTO teams (name, created_at) VALUES ('A', 'x')")
    with pytest.raises(RuntimeError, match="seeding stopped"):
        _insert_then_raise(db, "B")
    with connect_file(db, autocommit=True) as con:
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO teams (name, created_at) VALUES (?, 'x')", [("C",), ("D",)])
        con.execute("COMMIT")
    assert query_file(db, "SELECT name FROM teams ORDER BY id") == [("A",), ("C",), ("D",)]
    with pytest.raises(StorageError, match="no such table"), connect_file(db) as con:
        con.execute("SELECT * FROM nowhere")


async def test_reopening_applies_nothing_twice(tmp_path):
    s = await open_storage(f"{tmp_path}/q.db", now=NOW)
    await s.close()
    s = await open_storage(f"{tmp_path}/q.db", now=NOW)
    assert len(await s.audit_log(entity="schema")) == len(load_migrations())
    await s.close()


async def test_the_bot_and_the_cli_migrating_at_once_apply_each_migration_once(tmp_path):
    opened = await asyncio.gather(*(open_storage(f"{tmp_path}/q.db", now=NOW) for _ in range(3)))
    try:
        versions = [e.entity_id for e in await opened[0].audit_log(entity="schema")]
        assert sorted(versions, key=int) == [str(m.version) for m in load_migrations()]
    finally:
        for s in opened:
            await s.close()


async def test_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "q.db"
    execute_file(path, "PRAGMA user_version = 999")
    with pytest.raises(SchemaTooNewError, match="999"):
        await open_storage(str(path), now=NOW)


async def test_a_file_that_is_not_a_database_is_unavailable(tmp_path):
    (tmp_path / "q.db").write_bytes(b"this is a spreadsheet, not a database" * 100)
    with pytest.raises(StorageUnavailableError, match=r"q\.db"):
        await open_storage(f"{tmp_path}/q.db", now=NOW)
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageUnavailableError):
        await open_storage(f"{tmp_path}/file/q.db", now=NOW)


async def test_a_database_locked_beyond_the_busy_timeout_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 50)
    s = await open_storage(f"{tmp_path}/q.db", now=NOW)
    try:
        with uncommitted_write(tmp_path / "q.db", "INSERT INTO meta VALUES ('cli', 'x')"):
            with pytest.raises(StorageUnavailableError, match="locked"):
                await s.set_meta("bot_username", "b")
            assert await s.get_meta("cli") is None  # WAL: reads go on meanwhile
        await s.set_meta("bot_username", "b")  # and writes once the other writer is done
    finally:
        await s.close()


async def test_migration_5_keeps_queued_messages_as_template_rows(tmp_path):
    path = tmp_path / "q.db"
    for migration in load_migrations()[:4]:
        for statement in split_statements(migration.sql):
            execute_file(path, statement)
    execute_file(path, "PRAGMA user_version = 4")
    execute_file(path, "INSERT INTO users (id, telegram_id, role, created_at) "
                       "VALUES (1, 4242, 'admin', '2026-11-30T00:00:00+00:00')")  # fmt: skip
    execute_file(path, "INSERT INTO outbox (user_id, template, params, not_before, created_at) "
                       "VALUES (1, 'notify/invite_used', '{\"name\": \"李\"}', "
                       "'2026-11-30T00:00:00+00:00', '2026-11-30T00:00:00+00:00')")  # fmt: skip
    s = await open_storage(str(path), now=NOW)
    try:
        [m] = await s.due_outbox(NOW)
        assert (m.kind, m.chat_id, m.telegram_id, m.template, m.params) == (
            "template", 4242, 4242, "notify/invite_used", {"name": "李"})  # fmt: skip
        indexes = await rows(s, "SELECT name FROM sqlite_master WHERE tbl_name = 'outbox' "
                                "AND type = 'index' ORDER BY name")  # fmt: skip
        # 0005 rebuilt the table with its indexes; later migrations add their own beside them.
        assert {("outbox_calls",), ("outbox_due",)} <= set(indexes)
    finally:
        await s.close()


async def test_backup_is_a_consistent_openable_copy(storage, tmp_path):
    await storage.ensure_team("备份组", now=NOW)
    dest = tmp_path / "copy" / "backup.db"
    with uncommitted_write(tmp_path / "q.db", "INSERT INTO meta VALUES ('uncommitted', 'x')"):
        await storage.backup(dest)
    copy = await open_storage(str(dest), now=NOW)
    assert [t.name for t in await copy.list_teams()] == ["备份组"]
    assert await copy.get_meta("uncommitted") is None
    await copy.close()
    assert query_file(dest, "PRAGMA integrity_check") == [("ok",)]


async def test_a_read_never_sees_another_coroutines_uncommitted_write(storage):
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_writer():
        async with held_transaction(storage) as db:
            await db.execute("INSERT INTO teams (name, created_at) VALUES ('ghost', 'x')")
            entered.set()
            await release.wait()
            raise RuntimeError("rolled back")

    writer = asyncio.create_task(slow_writer())
    await entered.wait()
    reader = asyncio.create_task(storage.list_teams())
    inbox = asyncio.create_task(storage.inbox_counts())
    await asyncio.sleep(0.05)
    release.set()
    with pytest.raises(RuntimeError):
        await writer
    assert [t.name for t in await reader] == []
    assert (await inbox)["pending"] == 0


async def test_a_single_statement_write_does_not_join_another_coroutines_transaction(storage):
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_writer():
        async with held_transaction(storage):
            entered.set()
            await release.wait()
            raise RuntimeError("rolled back")

    from bot.storage import InboxUpdate

    writer = asyncio.create_task(slow_writer())
    await entered.wait()
    store = asyncio.create_task(storage.store_updates([InboxUpdate(1, 7, "{}")], now=NOW))
    await asyncio.sleep(0.05)
    release.set()
    with pytest.raises(RuntimeError):
        await writer
    assert await store == [1]
    assert (await storage.inbox_counts())["pending"] == 1  # not rolled back with the other


async def test_the_ledger_view_of_parties_is_marked_in_the_database(storage):
    team = await storage.ensure_team("南城组", now=NOW)
    head = "合同号,借款人,逾期本金,逾期日期,担保人\n"

    async def load(text):
        imp = await import_bytes(
            storage, text.encode(), file_name="t.csv", team_id=team.id, actor_id=None,
            now=NOW, today=NOW.date(), dry_run=False,
        )  # fmt: skip
        assert not imp.plan.errors

    await load(head + 'P1,甲,100,2026-10-01,"张三(138);(139);(137)"\n')
    await load(head + 'P1,甲,100,2026-10-01,"张三(188);(139)"\n')
    marked = await rows(storage, "SELECT name, phone, in_ledger FROM case_parties ORDER BY id")
    assert marked == [("张三", "188", 1), ("", "139", 1), ("", "137", 0)]


async def test_a_statement_is_one_trip_to_the_connections_thread(storage, monkeypatch):
    """Issue 17: a read was three trips to aiosqlite's thread (execute, fetch, close) and a
    write two; each trip is a wake-up of the event loop. Now a statement that may wait for
    another process's lock (an autocommit write, BEGIN, COMMIT) is one trip, and one that
    cannot (a read; a statement inside a transaction, which holds the write lock) none."""
    from bot.storage.sqlite.connector import TX_STATEMENTS_HERE

    conn = storage._conn
    trips = []
    real = type(conn)._execute

    async def counted(self, fn, *args, **kwargs):
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(type(conn), "_execute", counted)
    assert await storage._fetchall("SELECT 1 UNION SELECT 2") == [(1,), (2,)]
    assert await storage._fetchone("SELECT 3") == (3,)
    assert trips == []
    done = await storage._execute("INSERT INTO teams (name, created_at) VALUES ('东城', 'x')")
    assert (done.rowcount, done.lastrowid > 0) == (1, True)
    rows = await storage._execute_returning(
        "UPDATE teams SET name = '西城' WHERE name = '东城' RETURNING name"
    )
    assert rows == [("西城",)]
    assert trips == ["_statement"] * 2  # the write, the write with RETURNING
    trips.clear()
    async with held_transaction(storage) as db:
        assert await db.fetchone("SELECT name FROM teams WHERE name = '西城'") == ("西城",)
        await db.execute("UPDATE teams SET name = '东城' WHERE name = '西城'")
    assert trips == ["_statement"] * 2  # BEGIN, COMMIT
    assert await storage._fetchone("SELECT name FROM teams WHERE name = '东城'") == ("东城",)
    trips.clear()
    # A long transaction lets the event loop run: past the first statements, each is a trip.
    async with held_transaction(storage) as db:
        for _ in range(TX_STATEMENTS_HERE + 3):
            await db.fetchone("SELECT 1")
    assert trips == ["_statement"] * (1 + 3 + 1)
