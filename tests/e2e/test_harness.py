"""The harness itself: a message nobody read fails the test; time passes only when ticked."""

from __future__ import annotations

import pytest

from bot.domain.people import Role
from bot.storage import NewOutboxMessage
from tests.e2e.conftest import CHECKED, assert_everything_read
from tgemu import Person


async def _check_now(request) -> None:
    """The teardown check, run inside the test (and armed again for the real teardown)."""
    try:
        await assert_everything_read(request, settle=0.0)
    finally:
        del request.node.stash[CHECKED]


async def test_a_reply_nobody_read_fails_the_test_naming_the_person_and_the_text(
    world, bot, client, request
):
    zhao = await world.member(Role.COLLECTOR, "Zhao")
    direct = await Person.create(client, first_name="Direct")  # made without world: watched too
    await zhao.send("/whoami")
    await direct.send("hello")
    await world.settle()
    with pytest.raises(pytest.fail.Exception) as failed:
        await _check_now(request)
    assert f"Zhao ({zhao.id}): 'Zhao\\nRole: collector" in str(failed.value)
    assert f"Direct ({direct.id}): " in str(failed.value)
    await zhao.expect_next("Role: collector")
    await direct.expect_next("only for the staff")
    await _check_now(request)  # everything read: passes


async def test_the_outbox_waits_for_a_tick_and_a_test_may_ignore_on_purpose(world, bot, request):
    zhao = await world.member(Role.COLLECTOR, "Zhao")
    await zhao.send("/whoami")
    await zhao.expect_next("Role: collector")
    notice = {"name": "X", "role": "admin", "team": None}
    await world.storage.enqueue(
        NewOutboxMessage(world.members[zhao.id].id, "notify/invite_used", notice),
        now=world.clock.now(),
    )
    await world.settle()
    assert await zhao.unread() == []  # no job fires on its own
    assert await world.tick() == 1
    assert [m.text for m in await zhao.unread()] == ["X has joined as an admin using your invite."]
    assert await world.tick() == 0  # sent once
    ignored = await zhao.ignore_unread()
    assert len(ignored) == 1
    await _check_now(request)
