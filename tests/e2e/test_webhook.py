"""Webhook mode: the bot serves an endpoint, Telegram (the emulator) posts each update to it.

A request without the right secret gets 403 and stores nothing; an update is answered 200 only
once it is in the inbox, so a replica killed between the inbox's commit and the 200 has its
update handled exactly once (Telegram sends it again; only a pending update is ever claimed).
"""

from __future__ import annotations

import json
import socket
import textwrap
from dataclasses import replace

import httpx
import pytest

from bot.config import Secret
from bot.domain.people import Role
from tests.e2e.conftest import TOKEN, eventually
from tests.e2e.process import BotProcess

SECRET = "e2e-webhook-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(settings, emulator):
    # Quick redelivery (Telegram: at once, then 2, 4, 8... seconds) and a short time-out.
    emulator.config.webhook_backoff = 0.05
    emulator.config.webhook_timeout = 3.0
    port = _free_port()
    return replace(
        settings,
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_listen=("127.0.0.1", port),
        webhook_secret=Secret(SECRET),
    )


async def test_in_webhook_mode_telegram_posts_and_the_bot_answers(world, bot, emulator, settings):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    hook = emulator.bot().webhook
    assert hook["url"] == settings.webhook_url
    assert hook["secret_token"] == SECRET
    assert hook["allowed_updates"] == ["message", "callback_query"]
    await zhang.send("/help")
    await zhang.expect("How the lists are made")
    await world.settle()
    assert emulator.bot().webhook_posts >= 1
    assert await world.storage.inbox_counts() == {"pending": 0, "handled": 1, "set_aside": 0}
    # No polling meanwhile: Telegram would have refused it (409) while a webhook is set.
    assert not list(emulator.faults.query("getUpdates", None))


async def test_a_request_without_the_right_secret_gets_403_and_stores_nothing(world, bot, settings):
    update = {
        "update_id": 777,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 4242, "type": "private", "first_name": "Mallory"},
            "from": {"id": 4242, "is_bot": False, "first_name": "Mallory"},
            "text": "/start forged",
        },
    }
    async with httpx.AsyncClient() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guessed-secret-0000000"}):
            answer = await http.post(settings.webhook_url, json=update, headers=headers)
            assert answer.status_code == 403
        wrong_path = settings.webhook_url.replace("/telegram", "/other")
        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert (await http.post(wrong_path, json=update, headers=good)).status_code == 404
        assert (await http.get(settings.webhook_url, headers=good)).status_code == 405
    assert await world.storage.inbox_counts() == {"pending": 0, "handled": 0, "set_aside": 0}
    server = bot.bot_data.extra["webhook_server"]
    assert (server.forged, server.accepted) == (2, 0)


#: ``python -m bot run`` with a pause between the inbox's commit and the 200, the first time
#: only (a marker file), so that the test can kill the process exactly there.
_PAUSING_BOT = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path
    import bot.webhook

    marker = Path(sys.argv[1])

    async def pause(update_id):
        if not marker.exists():
            marker.write_text(str(update_id))
            print(f"stored update {update_id}; not answering", flush=True)
            await asyncio.sleep(3600)

    bot.webhook.after_store = pause
    from bot.cli import main
    sys.exit(main(["run"]))
    """
)


async def test_a_replica_killed_between_the_inbox_commit_and_the_200_handles_it_once(
    world, emulator, settings, tmp_path
):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    marker = tmp_path / "paused"
    host, port = settings.webhook_listen
    process = BotProcess(
        emulator,
        TOKEN,
        settings.db_path,
        env={
            "QINGSHOU_WEBHOOK_URL": settings.webhook_url,
            "QINGSHOU_WEBHOOK_LISTEN": f"{host}:{port}",
            "QINGSHOU_WEBHOOK_SECRET": SECRET,
            "QINGSHOU_INSTANCE": "replica-1",
        },
        command=["-c", _PAUSING_BOT, str(marker)],
    )
    await process.start()
    try:
        sent = await zhang.send("/help")
        await eventually(marker.exists, timeout=10)
        assert int(marker.read_text()) == sent["update_id"]
        await process.kill()
        # Stored and committed, never answered: Telegram still holds it, the inbox has it.
        assert len(emulator.bot().updates) == 1
        assert (await world.storage.inbox_counts())["pending"] == 1
        await process.start()
        await zhang.expect("How the lists are made")
        await eventually(lambda: not emulator.bot().updates, timeout=10)
        await eventually(lambda: _handled(world), timeout=10)
        # Exactly once: no second answer, one handled row.
        await zhang.assert_no_unread(wait=1.5)
        counts = await world.storage.inbox_counts()
        assert counts == {"pending": 0, "handled": 1, "set_aside": 0}
        assert emulator.bot().webhook_posts >= 2  # Telegram did send it again
    finally:
        await process.stop()
    assert process.tracebacks() == [], "".join(process.log[-60:])
    assert any("took back" in line or "qingshou is up" in line for line in process.log)


async def _handled(world) -> bool:
    return (await world.storage.inbox_counts())["handled"] == 1


def test_the_pausing_bot_script_is_valid_python() -> None:
    compile(_PAUSING_BOT, "<pausing bot>", "exec")
    assert json.dumps(SECRET)
