"""Invites, people lists and limits, as reviewers tried to break them: revoked invites, double
taps, long lists, notifying many people under Telegram's limit, log leaks, one person's order."""

from __future__ import annotations

import logging

import pytest

from bot.domain.people import Role
from bot.storage import NewOutboxMessage
from tests.e2e.conftest import TOKEN, invite_code_in


async def test_an_invite_dies_with_its_makers_rights(world, bot, storage):
    admin = await world.member(Role.ADMIN, "Wang", team=None)
    rogue = await world.member(Role.SUPERVISOR, "Rogue")
    await rogue.send("/invite")
    code = invite_code_in((await rogue.expect(contains="Invite for a collector")).text)
    # The admin switches the supervisor off before the invite is used.
    await storage.set_active(
        world.members[rogue.id].id,
        False,
        actor_id=world.members[admin.id].id,
        now=world.clock.now(),
    )
    newcomer = await world.stranger("Late")
    await newcomer.send(f"/start {code}")
    await newcomer.expect(contains="no longer valid")
    assert await storage.get_user_by_telegram_id(newcomer.id) is None


async def test_a_double_tap_on_the_invite_link_welcomes_twice_and_joins_once(world, bot, storage):
    team = await storage.ensure_team("东城", now=world.clock.now())
    invite = await storage.create_invite(
        role=Role.COLLECTOR, team_id=team.id, created_by=None, now=world.clock.now()
    )
    newcomer = await world.stranger("Quick")
    await newcomer.send(f"/start {invite.code}")
    await newcomer.send(f"/start {invite.code}")
    texts = [(await newcomer.expect_next()).text for _ in range(2)]
    assert all("Welcome" in t or "already registered" in t for t in texts), texts
    assert not any("Sorry" in t for t in texts)
    assert len([u for u in await storage.list_users() if u.telegram_id == newcomer.id]) == 1


async def test_staff_name_comes_from_the_inviter_not_from_telegram(world, bot, storage):
    supervisor = await world.member(Role.SUPERVISOR, "Li")
    await supervisor.send("/invite 张伟")
    created = await supervisor.expect(contains="For 张伟")
    code = invite_code_in(created.text)
    newcomer = await world.stranger("Zhang W.")
    await newcomer.send(f"/start {code}")
    await newcomer.expect(contains="Welcome")
    user = await storage.get_user_by_telegram_id(newcomer.id)
    assert (user.name, user.staff_name) == ("Zhang W.", "张伟")
    await world.tick()
    joined = await supervisor.expect_next("has joined team 东城 as a collector using your invite")
    assert joined.text.startswith("张伟 has joined")  # the name on the books, not "Zhang W."
    # A Telegram rename changes the display name only.
    await storage.update_profile(user.id, name="王五", username=None, telegram_locale="en")
    assert (await storage.get_user(user.id)).staff_name == "张伟"


async def test_admin_invite_with_a_name_keeps_it_through_the_buttons(world, bot, storage):
    admin = await world.member(Role.ADMIN, "Wang", team=None)
    await storage.ensure_team("西城", now=world.clock.now())
    await admin.send("/invite 赵六")
    menu = await admin.expect(contains="Whom do you want to invite?")
    await admin.press("A collector", menu)
    teams = await admin.expect(contains="Which team")
    await admin.press("西城", teams)
    created = await admin.expect(contains="For 赵六")
    invite = await storage.get_invite(invite_code_in(created.text))
    assert invite.staff_name == "赵六"


async def test_double_tapping_a_language_button_is_harmless(world, bot):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    await collector.send("/lang")
    menu = await collector.expect(contains="Choose your language")
    data = menu.buttons[0][0][1]
    await collector.press_data(menu.message_id, data)
    await collector.press_data(menu.message_id, data)
    await collector.expect_next("From now on I will write to you in English.")
    await world.settle()
    texts = [m.text for m in await collector.messages()]
    assert not any("Sorry" in t for t in texts), texts


async def test_people_lists_are_paged(world, bot, storage):
    admin = await world.member(Role.ADMIN, "Wang", team=None)
    team = await storage.ensure_team("东城", now=world.clock.now())
    for i in range(44):
        await storage.add_user(
            telegram_id=900_000 + i,
            name=f"Person {i:02d}",
            role=Role.COLLECTOR,
            team_id=team.id,
            now=world.clock.now(),
        )
    await admin.send("/users")
    first = await admin.expect(contains="Everyone")
    assert "(45)" in first.text
    assert "page 1 of 3" in first.text
    assert len(first.text) < 4096
    nav = first.buttons[-1]
    assert [label for label, _ in nav] == ["▶"]
    await admin.press("▶", first)
    second = await admin.expect(contains="page 2 of 3")
    assert second.message_id == first.message_id
    assert [label for label, _ in second.buttons[-1]] == ["◀", "▶"]


async def test_configured_admins_cannot_be_switched_off_in_the_bot(
    world, emulator, storage, settings, clock
):
    from dataclasses import replace

    from bot.app import build_application
    from bot.runner import running

    root = await world.stranger("Root")
    other = await world.member(Role.ADMIN, "Other", team=None)
    app = build_application(
        replace(settings, admins=frozenset({root.id})), clock=clock, storage=storage
    )
    async with running(app, poll_timeout=1):
        await other.send("/users")
        listing = await other.expect(contains="Everyone")
        assert "Root" not in [label for row in listing.buttons for label, _ in row]
        root_id = (await storage.get_user_by_telegram_id(root.id)).id
        await other.press_data(listing.message_id, f"us.off:{root_id}")
        assert await other.expect_toast(contains="You may not do that")
    assert (await storage.get_user_by_telegram_id(root.id)).active


async def test_a_supervisor_without_a_team_sees_no_one(world, bot):
    lost = await world.member(Role.SUPERVISOR, "Lost", team=None)
    await lost.send("/users")
    await lost.expect(contains="Only supervisors and admins can see")


@pytest.mark.real_pace
async def test_notifying_many_people_keeps_under_telegrams_overall_limit(
    world, bot, client, storage
):
    people = [await world.member(Role.COLLECTOR, f"C{i}") for i in range(40)]
    for person in people:  # they have talked to the bot before
        await person.send("/whoami")
    for person in people:  # replies paced out
        await person.expect_next("Role: collector", timeout=10)
    for person in people:
        await storage.enqueue(
            NewOutboxMessage(
                world.members[person.id].id,
                "notify/invite_used",
                {"name": "X", "role": "admin", "team": None},
            ),
            now=world.clock.now(),
        )
    assert await world.tick() == 40
    statuses = [c["status"] for c in await client.calls("sendMessage")]
    assert statuses.count(200) == 80
    assert 429 not in statuses
    for person in people:
        await person.expect_next("X has joined as an admin using your invite.")


async def test_the_token_never_reaches_the_log(world, bot, client, caplog):
    caplog.set_level(logging.DEBUG)
    collector = await world.member(Role.COLLECTOR, "Zhao")
    await client.inject_fault(kind="5xx", count=1, method="sendMessage", status=502)
    await collector.send("/whoami")
    await collector.expect(contains="Role: collector", timeout=8)
    await world.assert_silent(collector)
    assert "sendMessage" in caplog.text  # httpx and PTB did log the calls...
    assert TOKEN not in caplog.text  # ...without the token


async def test_one_persons_messages_are_handled_in_order(world, bot, storage):
    collector = await world.member(Role.COLLECTOR, "Zhao")
    await collector.send("/lang")
    menu = await collector.expect(contains="Choose your language")
    # Switch to 繁體 and ask who I am at once: the second must see the first's effect.
    await collector.press("繁體中文", menu)
    await collector.send("/whoami")
    await collector.expect_next("今後我將用繁體中文與您交流。")
    reply = await collector.expect_next("角色")
    assert "清收人員" in reply.text
