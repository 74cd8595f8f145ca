"""Contract: teams, people and invites."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.domain.people import InviteProblem, Role
from bot.storage import StorageError
from tests.contract.conftest import NOW


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


async def test_two_people_racing_for_one_invite_exactly_one_wins(storage):
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


async def test_invite_needs_a_positive_lifetime(storage):
    with pytest.raises(StorageError):
        await storage.create_invite(
            role=Role.ADMIN, team_id=None, created_by=None, now=NOW, ttl=timedelta(0)
        )


async def test_naive_times_are_refused(storage):
    with pytest.raises(ValueError, match="naive"):
        await storage.ensure_team("A", now=datetime(2026, 1, 1))


async def test_an_invite_made_under_a_key_is_made_once(storage):
    team = await storage.ensure_team("A", now=NOW)
    kw = {"role": Role.COLLECTOR, "team_id": team.id, "created_by": None, "now": NOW}
    first = await storage.create_invite(**kw, staff_name="王五", key="invite:1:42")
    again = await storage.create_invite(**kw, staff_name="王五", key="invite:1:42")
    other = await storage.create_invite(**kw, key="invite:1:43")
    assert again == first
    assert other.code != first.code
    assert await storage.effect_result("invite:1:42") == {"code": first.code}
    assert await storage.effect_result("invite:1:44") is None
    made = [e for e in await storage.audit_log(entity="invite") if e.action == "create"]
    assert len(made) == 2


async def test_team_collectors_are_the_active_collectors(storage):
    team = await storage.ensure_team("A", now=NOW)
    a = await storage.add_user(telegram_id=1, name="甲", role=Role.COLLECTOR, team_id=team.id,
                               now=NOW)  # fmt: skip
    b = await storage.add_user(telegram_id=2, name="乙", role=Role.COLLECTOR, team_id=team.id,
                               now=NOW)  # fmt: skip
    await storage.add_user(telegram_id=3, name="丙", role=Role.SUPERVISOR, team_id=team.id, now=NOW)
    await storage.set_active(b.id, False, actor_id=None, now=NOW)
    assert [u.id for u in await storage.team_collectors(team.id)] == [a.id]


async def test_profile_locale_and_lookups(storage):
    team = await storage.ensure_team(" A ", now=NOW)
    assert await storage.find_team("A") == team
    assert await storage.get_team(team.id) == team
    assert await storage.ensure_team("A", now=NOW) == team  # not a second one
    u = await storage.add_user(telegram_id=9, name="x", role=Role.COLLECTOR, team_id=team.id,
                               now=NOW, staff_name="王建国")  # fmt: skip
    await storage.update_profile(u.id, name="小王", username="xw", telegram_locale="zh-hans")
    await storage.set_locale(u.id, "zh_Hans", now=NOW)
    got = await storage.get_user_by_telegram_id(9)
    assert (got.name, got.username, got.locale, got.staff_name) == ("小王", "xw", "zh_Hans",
                                                                    "王建国")  # fmt: skip
    assert got.created_at == NOW
    with pytest.raises(StorageError):
        await storage.ensure_team("  ", now=NOW)


async def test_a_broken_reference_is_a_storage_error(storage):
    with pytest.raises(StorageError):
        await storage.add_user(telegram_id=1, name="x", role=Role.COLLECTOR, team_id=999, now=NOW)
