"""Contract: the digest's run rows (exactly once per person per local day, written with their
outbox rows), who is due a digest, and each person's digest settings."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

from bot.domain.digest import DigestDay, DigestMessage, DigestSettings, DrillDown
from bot.domain.people import Role
from tests.contract.conftest import NOW

DAY = date(2026, 11, 30)


async def test_a_digest_is_recorded_once_per_person_and_local_day(storage):
    team = await storage.ensure_team("东城组", now=NOW)
    boss = await storage.add_user(telegram_id=3, name="李组长", role=Role.SUPERVISOR,
                                  team_id=team.id, now=NOW)  # fmt: skip
    messages = [
        DigestMessage("digest/chart_caption", {"team": "东城组", "day": DAY.isoformat()},
                      media="photo", attachment=b"\x89PNG\r\n\x1a\n", filename="digest.png"),
        DigestMessage("digest/part", {"text": "💰"}, markup={"inline_keyboard": []}),
    ]  # fmt: skip
    assert [r.user_id for r in await storage.digest_recipients(DAY)] == [boss.id]
    assert await storage.record_digest(boss.id, DAY, messages, scope="team", now=NOW)
    assert not await storage.record_digest(boss.id, DAY, messages, scope="team", now=NOW)
    assert await storage.digest_recipients(DAY) == []
    ((day, group),) = await storage.digest_runs(boss.id)
    assert day == DAY
    assert group == f"digest:{boss.id}:{DAY.isoformat()}"
    due = await storage.due_outbox(NOW, limit=10)
    mine = [m for m in due if m.group_key == group]
    assert [m.media for m in mine] == ["photo", "text"]
    assert mine[0].attachment.startswith(b"\x89PNG")
    # The next local day is another digest.
    assert await storage.record_digest(boss.id, date(2026, 12, 1), messages, scope="team", now=NOW)


async def test_collectors_and_switched_off_people_get_no_digest(storage):
    team = await storage.ensure_team("东城组", now=NOW)
    await storage.add_user(telegram_id=1, name="张伟", role=Role.COLLECTOR, team_id=team.id,
                           now=NOW)  # fmt: skip
    off = await storage.add_user(telegram_id=2, name="旧组长", role=Role.SUPERVISOR,
                                 team_id=team.id, now=NOW)  # fmt: skip
    await storage.set_active(off.id, False, actor_id=None, now=NOW)
    admin = await storage.add_user(telegram_id=5, name="王主任", role=Role.ADMIN, team_id=None,
                                   now=NOW)  # fmt: skip
    assert [(r.user_id, r.role) for r in await storage.digest_recipients(DAY)] == [
        (admin.id, "admin")
    ]


async def test_digest_settings_round_trip(storage):
    team = await storage.ensure_team("东城组", now=NOW)
    boss = await storage.add_user(telegram_id=3, name="李组长", role=Role.SUPERVISOR,
                                  team_id=team.id, now=NOW)  # fmt: skip
    assert await storage.digest_settings(boss.id) == DigestSettings()
    await storage.set_digest_settings(boss.id, DigestSettings(time(20, 15), True), now=NOW)
    assert await storage.digest_settings(boss.id) == DigestSettings(time(20, 15), True)
    (r,) = await storage.digest_recipients(DAY)
    assert r.digest_time == time(20, 15)
    assert r.mute_weekends
    await storage.set_digest_settings(boss.id, DigestSettings(None, False), now=NOW)
    assert await storage.digest_settings(boss.id) == DigestSettings()


async def test_an_empty_team_has_a_digest_of_zeros_and_empty_lists(storage):
    team = await storage.ensure_team("东城组", now=NOW)
    day = DigestDay.of(NOW, ZoneInfo("Asia/Shanghai"))
    d = await storage.team_digest(team.id, day, now=NOW, untouched_days=14)
    assert d is not None
    assert d.collected == 0
    assert d.rate30.percent is None
    assert len(d.series) == 30
    assert d.collectors == []
    for kind in DrillDown:
        listed = await storage.digest_list(team.id, kind, day, now=NOW, untouched_days=14)
        assert listed.total == 0
    assert await storage.team_digest(9999, day, now=NOW, untouched_days=14) is None
    coop = await storage.cooperative_digest(day, now=NOW, untouched_days=14)
    assert [t.name for t in coop.teams] == ["东城组"]
