"""Joining, help, languages and access: the real bot over HTTP through the strict emulator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.people import Role
from tests.e2e.conftest import invite_code_in

HELP_WORDS = {
    "en": ("What I do", "Welcome"),
    "zh_Hans": ("我的用途", "欢迎"),
    "zh_Hant": ("我的用途", "歡迎"),
}


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "zh_Hant"])
async def test_invite_join_and_help_in_each_language(world, bot, storage, lang):
    supervisor = await world.member(Role.SUPERVISOR, "Li", lang="en")
    await supervisor.send("/invite")
    invite = await supervisor.expect(contains="Invite for a collector of team 东城")
    code = invite_code_in(invite.text)
    assert f"https://t.me/qingshou_test_bot?start={code}" in invite.text

    newcomer = await world.stranger("Zhang", lang=lang)
    await newcomer.send(f"/start {code}")
    help_title, welcome = HELP_WORDS[lang]
    joined = await newcomer.expect(contains=welcome)
    assert "Zhang" in joined.text
    assert "东城" in joined.text

    await newcomer.send("/help")
    reply = await newcomer.expect(contains=help_title)
    assert "/whoami" in reply.text
    assert "/invite" not in reply.text  # collectors cannot invite
    assert any(e["type"] == "bold" for e in reply.entities)  # HTML really rendered

    user = await storage.get_user_by_telegram_id(newcomer.id)
    assert (user.role, user.team_name, user.telegram_locale) == (Role.COLLECTOR, "东城", lang)
    # The inviter hears about it from the outbox, in their own language.
    await world.tick()
    notice = await supervisor.expect(contains="has joined team 东城 as a collector")
    assert "Zhang" in notice.text


async def test_unknown_user_gets_one_polite_answer_and_nothing_else(world, bot, storage, clock):
    member = await world.member(Role.COLLECTOR, "Zhao")
    stranger = await world.stranger("Eve", lang="en")
    await stranger.send("hello")
    reply = await stranger.expect(contains="only for the staff")
    assert str(stranger.id) in reply.text
    assert "invite link" in reply.text
    assert reply.buttons == []
    # More messages within the quiet period get nothing at all: no help, no data, no flood.
    for text in ("/help", "/users", "/invite", "/cases"):
        await stranger.send(text)
    await world.assert_silent(stranger)
    # A forged button to switch a real member off: refused, and the member stays on.
    await stranger.press_data(reply.message_id, f"us.off:{world.members[member.id].id}")
    assert await stranger.expect_toast(contains="No access")
    assert (await storage.get_user_by_telegram_id(member.id)).active
    # After the quiet period they are answered again, once.
    clock.advance(timedelta(minutes=11))
    await stranger.send("/start")
    await stranger.expect(contains="only for the staff")
    assert len(await stranger.messages()) == 2
    assert await storage.get_user_by_telegram_id(stranger.id) is None


async def test_unknown_user_is_answered_in_their_language(world, bot):
    stranger = await world.stranger("陳", lang="zh_Hant")
    await stranger.send("你好")
    reply = await stranger.expect(contains="本機器人僅供本社工作人員使用")
    assert str(stranger.id) in reply.text


async def test_deactivated_user_is_refused(world, bot, storage):
    admin = await world.member(Role.ADMIN, "Wang", team=None)
    collector = await world.member(Role.COLLECTOR, "Chen")
    await admin.send("/users")
    listing = await admin.expect(contains="Everyone")
    assert "Chen" in listing.text
    await admin.press("Chen", listing)
    card = await admin.expect(contains="Access: on")
    await admin.press("Switch access off", card)
    await admin.expect(contains="Switch off access for Chen?")
    await admin.press("Yes, switch access off")
    done = await admin.expect(contains="Access switched off")
    assert done.edited
    assert [[label for label, _ in row] for row in done.buttons] == [
        ["Switch access on"],
        ["◀ Back to the list"],
    ]
    assert not (await storage.get_user_by_telegram_id(collector.id)).active

    await collector.send("/help")
    refusal = await collector.expect(contains="switched off")
    assert str(collector.id) in refusal.text
    world.clock.advance(timedelta(minutes=11))  # past the quiet period for repeat answers
    # A switched-off person cannot come back in with a fresh invite either.
    invite = await storage.create_invite(
        role=Role.COLLECTOR,
        team_id=world.members[collector.id].team_id,
        created_by=None,
        now=world.clock.now(),
    )
    await collector.send(f"/start {invite.code}")
    await collector.expect(contains="switched off")
    assert (await storage.get_invite(invite.code)).used_by is None

    # Switched back on, they are in again.
    await admin.press("Switch access on", done)
    await admin.expect(contains="Access switched back on")
    await collector.send("/whoami")
    await collector.expect(contains="Role: collector")


async def test_language_choice_overrides_telegram_and_sticks(world, bot, storage):
    collector = await world.member(Role.COLLECTOR, "Zhao", lang="en")
    await collector.send("/lang")
    menu = await collector.expect(contains="Choose your language")
    assert [row[0][0] for row in menu.buttons] == ["English", "简体中文", "繁體中文"]
    await collector.press("繁體中文", menu)
    changed = await collector.expect(contains="繁體中文")
    assert changed.edited
    assert changed.message_id == menu.message_id
    await collector.send("/whoami")
    await collector.expect(contains="角色：清收人員")
    assert (await storage.get_user_by_telegram_id(collector.id)).locale == "zh_Hant"


async def test_forged_language_and_stale_buttons_are_refused(world, bot, storage):
    collector = await world.member(Role.COLLECTOR, "Zhao", lang="en")
    await collector.send("/lang")
    menu = await collector.expect(contains="Choose your language")
    await collector.press_data(menu.message_id, "lang:fr")
    assert await collector.expect_toast(contains="no longer valid")
    await collector.press_data(menu.message_id, "something:else")
    assert await collector.expect_toast(contains="no longer valid")
    assert (await storage.get_user_by_telegram_id(collector.id)).locale is None


async def test_admin_invites_a_supervisor_with_buttons(world, bot, storage):
    admin = await world.member(Role.ADMIN, "Wang", team=None)
    await storage.ensure_team("西城", now=world.clock.now())
    await admin.send("/invite")
    menu = await admin.expect(contains="Whom do you want to invite?")
    await admin.press("A supervisor", menu)
    teams = await admin.expect(contains="Which team")
    await admin.press("西城", teams)
    invite = await admin.expect(contains="Invite for a supervisor of team 西城")
    code = invite_code_in(invite.text)

    newcomer = await world.stranger("Sun")
    await newcomer.send(f"/start {code}")
    await newcomer.expect(contains="joined team 西城 as a supervisor")
    await newcomer.send("/help")
    helptext = await newcomer.expect(contains="/invite")
    assert "invite a collector to your team" in helptext.text
    await world.tick()
    await admin.expect_next("Sun has joined team 西城 as a supervisor using your invite.")


async def test_supervisor_cannot_forge_an_admin_invite(world, bot, storage):
    admin = await world.member(Role.ADMIN, "Boss", team=None)
    supervisor = await world.member(Role.SUPERVISOR, "Li")
    other = await storage.ensure_team("西城", now=world.clock.now())
    await admin.send("/invite")
    await admin.expect("Whom do you want to invite?")
    flow = await storage.open_flow(world.members[admin.id].id)
    assert flow is not None
    await supervisor.send("/whoami")
    msg = await supervisor.expect(contains="Role: supervisor")
    # The old hand-made formats decode to nothing; the admin's own flow buttons are not his.
    for forged in ("inv:role:admin", f"inv:make:supervisor:{other.id}"):
        await supervisor.press_data(msg.message_id, forged)
        assert await supervisor.expect_toast(contains="no longer valid")
    for code in range(3):
        await supervisor.press_data(msg.message_id, f"f:{flow.id}:{flow.version}:{code}")
        assert await supervisor.expect_toast(contains="This question has moved on")
    assert await storage.audit_log(entity="invite") == []
    assert (await storage.get_flow(flow.id)).version == flow.version  # the admin's is untouched


async def test_collector_cannot_invite_or_list_people(world, bot):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    await collector.send("/invite")
    await collector.expect(contains="Only supervisors and admins can invite")
    await collector.send("/users")
    await collector.expect(contains="Only supervisors and admins can see")


async def test_supervisor_sees_only_their_team(world, bot):
    supervisor = await world.member(Role.SUPERVISOR, "Li", team="东城")
    await world.member(Role.COLLECTOR, "Mine", team="东城")
    await world.member(Role.COLLECTOR, "NotMine", team="西城")
    await supervisor.send("/users")
    listing = await supervisor.expect(contains="Team 东城")
    assert "Mine" in listing.text
    assert "NotMine" not in listing.text
    assert listing.buttons == []  # supervisors cannot switch access


async def test_expired_and_reused_invites_are_explained(world, bot, storage, clock):
    team = await storage.ensure_team("东城", now=clock.now())
    invite = await storage.create_invite(
        role=Role.COLLECTOR,
        team_id=team.id,
        created_by=None,
        now=clock.now(),
        ttl=timedelta(hours=1),
    )
    first = await world.stranger("First")
    await first.send(f"/start {invite.code}")
    await first.expect(contains="Welcome")
    second = await world.stranger("Second")
    await second.send(f"/start {invite.code}")
    reply = await second.expect(contains="already been used")
    assert str(second.id) in reply.text

    late = await storage.create_invite(
        role=Role.COLLECTOR,
        team_id=team.id,
        created_by=None,
        now=clock.now(),
        ttl=timedelta(hours=1),
    )
    clock.advance(timedelta(hours=2))
    third = await world.stranger("Third")
    await third.send(f"/start {late.code}")
    await third.expect(contains="expired")
    await third.send("/start not-a-real-code-123")
    await third.expect(contains="not valid")


async def test_member_using_an_invite_keeps_it_unused(world, bot, storage):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    team_id = world.members[collector.id].team_id
    invite = await storage.create_invite(
        role=Role.SUPERVISOR, team_id=team_id, created_by=None, now=world.clock.now()
    )
    await collector.send(f"/start {invite.code}")
    await collector.expect(contains="already registered")
    assert (await storage.get_invite(invite.code)).used_by is None
    assert (await storage.get_user_by_telegram_id(collector.id)).role is Role.COLLECTOR


async def test_admins_from_settings_and_menu_commands(
    world, emulator, client, storage, settings, clock
):
    from dataclasses import replace

    from bot.app import build_application
    from bot.runner import running

    boss = await world.stranger("Boss")
    app = build_application(
        replace(settings, admins=frozenset({boss.id})), clock=clock, storage=storage
    )
    async with running(app, poll_timeout=1):
        await boss.send("/start")
        await boss.expect(contains="Welcome back")
        await boss.send("/whoami")
        reply = await boss.expect(contains="Role: admin")
        assert "Boss" in reply.text
    state = await client.bot_state()
    menus = {
        (entry["scope"]["type"], entry["scope"].get("chat_id"), entry["language_code"]): [
            c["command"] for c in entry["commands"]
        ]
        for entry in state["commands"]
    }
    # Strangers see only what a stranger can use, in English and Chinese...
    assert menus["default", None, ""] == ["start", "help", "lang"]
    assert len(menus["default", None, "zh"]) == 3
    # ...and the admin's own chat lists what an admin can do.
    assert {"invite", "users", "assign", "cases"} <= set(menus["chat", boss.id, ""])
    assert (await storage.get_meta("bot_username")) == "qingshou_test_bot"


async def test_unknown_text_from_a_member_points_to_help(world, bot):
    collector = await world.member(Role.COLLECTOR, "Zhao", lang="zh_Hans")
    await collector.send("随便说点什么")
    await collector.expect(contains="/help")


async def test_help_says_how_to_answer_a_reminder_and_no_longer_promises_them(world, bot):
    """Issue 16: /help still said "Next: reminders on the agreed dates" (they are here) and did
    not say how to answer one."""
    zhang = await world.member(Role.COLLECTOR, "张伟", lang="zh_Hans")
    await zhang.send("/help")
    text = (await zhang.expect("还款提醒")).text
    assert "接下来" not in text
    assert "已全额还款" in text
    assert "未还款" in text
    assert "“已还”、“已还700”或“没还”" in text  # typed answers are understood too
