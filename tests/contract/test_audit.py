"""Contract: the audit trail and installation facts."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.people import Role
from tests.contract.conftest import NOW


async def test_meta_is_set_and_replaced(storage):
    assert await storage.get_meta("bot_username") is None
    await storage.set_meta("bot_username", "qingshou_bot")
    await storage.set_meta("bot_username", "qingshou2_bot")
    assert await storage.get_meta("bot_username") == "qingshou2_bot"


async def test_audit_is_newest_first_by_entity_with_a_limit(storage):
    team = await storage.ensure_team("A", now=NOW)
    u = await storage.add_user(telegram_id=7, name="x", role=Role.COLLECTOR, team_id=team.id,
                               now=NOW + timedelta(minutes=1), actor_id=None)  # fmt: skip
    await storage.set_locale(u.id, "en", now=NOW + timedelta(minutes=2))
    users = await storage.audit_log(entity="user")
    assert [(e.action, e.entity_id, e.actor_id) for e in users] == [
        ("set_locale", str(u.id), u.id), ("create", str(u.id), None),
    ]  # fmt: skip
    assert users[0].detail == {"locale": "en"}
    assert users[0].at == NOW + timedelta(minutes=2)
    [team_entry] = await storage.audit_log(entity="team")
    assert (team_entry.action, team_entry.detail) == ("create", {"name": "A"})
    assert len(await storage.audit_log(limit=2)) == 2
    assert [e.action for e in await storage.audit_log(limit=1)] == ["set_locale"]


async def test_schema_is_at_a_version(storage):
    assert await storage.schema_version() >= 5
