"""The PostgreSQL backend beside SQLite: selection by URL, migrations in their own table,
the refusal of a newer schema, ``qingshou db migrate`` / ``db copy`` / ``backup``, and the
sandbox's demo cooperative copied SQLite -> PostgreSQL -> SQLite reading the same /today,
cards and digest (the contract suite covers every storage method on both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.domain.digest import DigestDay
from bot.domain.legal import DocumentKind
from bot.domain.people import Role
from bot.sandbox import DEMO_PEOPLE, TEAM
from bot.sandbox.demo import seed_demo_cases, seed_demo_history
from bot.storage import SchemaTooNewError, Storage, StorageError, open_storage
from bot.storage.copy import copy_database
from bot.storage.postgresql import PostgresStorage
from bot.storage.stores.base import load_migrations
from bot.storage.testing import execute_file, query_file

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
LATEST = load_migrations()[-1].version


async def test_a_postgresql_url_opens_the_postgresql_backend_migrated(pg_cluster):
    s = await open_storage(pg_cluster.fresh_url(migrated=False), now=NOW)
    try:
        assert isinstance(s, PostgresStorage)
        assert await s.schema_version() == LATEST
        assert [v for v, _ in await s.migrations_applied(since=NOW)] == list(range(1, LATEST + 1))
        # Opening again applies nothing.
        again = await open_storage(s._connector.url, now=NOW + timedelta(hours=1))
        assert await again.migrations_applied(since=NOW + timedelta(hours=1)) == []
        await again.close()
    finally:
        await s.close()


async def test_a_postgresql_database_newer_than_the_code_is_refused(pg_cluster):
    url = pg_cluster.fresh_url()
    s = await open_storage(url, now=NOW)
    await s._execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', ?)",
        (LATEST + 1, NOW.isoformat()),
    )
    await s.close()
    with pytest.raises(SchemaTooNewError, match=rf"schema version {LATEST + 1}.*only up to"):
        await open_storage(url, now=NOW)


async def test_an_unreachable_server_is_refused_with_its_words(tmp_path):
    with pytest.raises(StorageError, match=r"cannot|could not|No such file|failed"):
        await open_storage(f"postgresql://nobody@/x?host={tmp_path}&connect_timeout=2", now=NOW)


async def test_two_processes_migrating_one_database_at_once_apply_each_migration_once(pg_cluster):
    import asyncio

    url = pg_cluster.fresh_url(migrated=False)
    a, b = await asyncio.gather(open_storage(url, now=NOW), open_storage(url, now=NOW))
    try:
        rows = await a._fetchall("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations")
        assert tuple(rows[0]) == (LATEST, LATEST)
        audit = await a._fetchone("SELECT COUNT(*) FROM audit WHERE action = 'migrate'")
        assert audit[0] == LATEST
    finally:
        await a.close()
        await b.close()


async def test_an_old_sqlite_file_with_user_version_gets_the_migrations_table(tmp_path):
    path = tmp_path / "old.db"
    s = await open_storage(str(path), now=NOW)
    await s.close()
    # As a qingshou from before schema_migrations left it: the version in user_version only.
    execute_file(path, "DROP TABLE schema_migrations")
    assert query_file(path, "PRAGMA user_version") == [(LATEST,)]
    s = await open_storage(str(path), now=NOW + timedelta(days=1))
    try:
        assert await s.schema_version() == LATEST
        names = query_file(path, "SELECT version, name FROM schema_migrations ORDER BY version")
        assert names == [(m.version, m.name) for m in load_migrations()]
        # Nothing was applied again (one audit row per migration, from the first opening).
        assert query_file(path, "SELECT COUNT(*) FROM audit WHERE action = 'migrate'") == [
            (LATEST,)
        ]
    finally:
        await s.close()


def test_db_migrate_applies_what_is_missing_then_says_up_to_date(pg_cluster, capsys, monkeypatch):
    url = pg_cluster.fresh_url(migrated=False)
    monkeypatch.setenv("QINGSHOU_DB", url)
    assert main(["db", "migrate"]) == 0
    out = capsys.readouterr().out
    assert "applied 0001 people" in out
    assert f"now at schema version {LATEST}" in out
    assert main(["db", "migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_backup_on_postgresql_explains_pg_dump(pg_cluster, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("QINGSHOU_DB", "postgresql://qs:secret@db.example/qingshou")
    assert main(["backup", str(tmp_path / "x.db")]) == 0
    out = capsys.readouterr().out
    assert "pg_dump --format=custom" in out
    assert "pg_restore" in out
    assert "secret" not in out
    assert not (tmp_path / "x.db").exists()


# -- the demo cooperative, copied ------------------------------------------------------------


async def _demo(url: str) -> Storage:
    s = await open_storage(url, now=NOW)
    team = await s.ensure_team(TEAM, now=NOW)
    for i, person in enumerate(DEMO_PEOPLE):
        if person.role is not None:
            await s.add_user(
                telegram_id=1000 + i,
                name=person.display_name,
                role=person.role,
                team_id=team.id if person.team else None,
                now=NOW,
            )
    collectors = [u for u in await s.list_users() if u.role is Role.COLLECTOR]
    await seed_demo_cases(s, team_id=team.id, collectors=collectors, now=NOW)
    await seed_demo_history(s, team_id=team.id, collectors=collectors, now=NOW)
    return s


async def _what_people_see(s: Storage) -> dict[str, object]:
    """/today and /cases of everyone, every card they may open, and the team's digest."""
    today = NOW.astimezone(TZ).date()
    seen: dict[str, object] = {}
    for user in await s.list_users():
        page = await s.queue_page(user, today=today, tz=TZ, today_only=True)
        seen[f"today:{user.telegram_id}"] = page
        every = await s.queue_page(user, today=today, tz=TZ, size=100)
        seen[f"cases:{user.telegram_id}"] = every
        for case in every.items:
            seen[f"card:{user.telegram_id}:{case.id}"] = await s.get_case(user, case.id)
        seen[f"legal:{user.telegram_id}"] = await s.legal_facts_of(user, include_closed=True)
    team = await s.ensure_team(TEAM, now=NOW)
    seen["digest"] = await s.team_digest(team.id, DigestDay(today, TZ), now=NOW, untouched_days=14)
    return seen


async def test_the_demo_copied_to_postgresql_and_back_shows_the_same_today_cards_digest(
    pg_cluster, tmp_path
):
    source = await _demo(f"sqlite:///{tmp_path / 'demo.db'}")
    pg = await open_storage(pg_cluster.fresh_url(), now=NOW)
    back = await open_storage(str(tmp_path / "back.db"), now=NOW)
    try:
        # The legal clocks' rows (issue 19) and the replicas' (issue 18) come along too.
        case_id = min(c.case_id for c in (await source.import_snapshot()).values())
        paper = await source.issue_document(
            case_id, DocumentKind.COLLECTION_NOTICE, None, None, None, NOW
        )
        await source.file_signed_copy(paper, NOW.date(), "photo-1", None, NOW)
        await source.record_suspension(
            case_id, NOW.date(), reason="force majeure", by_user_id=None, now=NOW
        )
        await source.ensure_send_places(3)
        await source.hold_chat(1000, until=NOW)
        expected = await _what_people_see(source)
        assert any(getattr(p, "items", None) for p in expected.values())
        legal = [f for k, v in expected.items() if k.startswith("legal:") for f in v]  # type: ignore[attr-defined]
        assert any(f.case_id == case_id and f.events and f.suspensions for f in legal)
        assert expected["digest"] is not None
        copied = await copy_database(source, pg, now=NOW)  # type: ignore[arg-type]
        assert {c.table: c.target_rows for c in copied}["cases"] == len(
            await source.import_snapshot()
        )
        assert await _what_people_see(pg) == expected
        await copy_database(pg, back, now=NOW)  # type: ignore[arg-type]
        assert await _what_people_see(back) == expected
        # New rows after the copy take new ids (the identity sequences were moved past).
        t = await pg.ensure_team("西城组", now=NOW)
        assert t.id > max(x.id for x in [await pg.ensure_team(TEAM, now=NOW)])
        # A target holding anything is refused, whole.
        with pytest.raises(StorageError, match="not empty"):
            await copy_database(source, pg, now=NOW)  # type: ignore[arg-type]
    finally:
        for s in (source, pg, back):
            await s.close()


def test_db_copy_command_prints_each_tables_rows_and_refuses_a_non_empty_target(
    pg_cluster, tmp_path, capsys
):
    import asyncio

    src = tmp_path / "demo.db"

    async def seed() -> None:
        s = await _demo(str(src))
        await s.close()

    asyncio.run(seed())
    url = pg_cluster.fresh_url()
    assert main(["db", "copy", str(src), url]) == 0
    out = capsys.readouterr().out
    assert "cases" in out
    assert "every count checked" in out
    assert main(["db", "copy", str(src), url]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["db", "copy", str(tmp_path / "none.db"), url]) == 2
    assert "does not exist" in capsys.readouterr().err


# -- several replicas on one database ---------------------------------------------------------


async def test_replicas_racing_a_read_then_write_create_one_row_and_one_audit_entry(pg_cluster):
    """ensure_team reads, then inserts: two replicas (two pools) racing on it must neither fail
    on the unique name nor audit twice: the writer lock queues their transactions."""
    import asyncio

    url = pg_cluster.fresh_url()
    replicas = [await open_storage(url, now=NOW) for _ in range(3)]
    try:
        teams = await asyncio.gather(
            *(r.ensure_team(f"组{i % 4}", now=NOW) for i in range(40) for r in replicas)
        )
        assert len({t.id for t in teams}) == 4
        row = await replicas[0]._fetchone(
            "SELECT COUNT(*) FROM audit WHERE action = 'create' AND entity = 'team'"
        )
        assert row[0] == 4
    finally:
        for r in replicas:
            await r.close()


async def test_a_write_waits_for_another_replicas_open_transaction_and_reads_do_not(pg_cluster):
    import asyncio

    from bot.storage.testing import held_transaction

    url = pg_cluster.fresh_url()
    a = await open_storage(url, now=NOW)
    b = await open_storage(url, now=NOW)
    try:
        async with held_transaction(a) as db:
            await db.execute("INSERT INTO meta (key, value) VALUES ('held', 'a')")
            write = asyncio.create_task(b.set_meta("other", "b"))
            await asyncio.sleep(0.3)
            assert not write.done()  # queued behind a's transaction, as on SQLite
            assert await b.get_meta("held") is None  # a reader neither waits nor sees it
        await asyncio.wait_for(write, 5)
        assert await b.get_meta("held") == "a"
        assert await a.get_meta("other") == "b"
    finally:
        await a.close()
        await b.close()
