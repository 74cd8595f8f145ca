"""Review fixes: faults that lose answers, Telegram's own wording and limits, a safe server."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut

from bot.clock import ManualClock
from tgemu import (
    ControlError,
    Emulator,
    EmulatorClient,
    EmulatorConfig,
    EmulatorStartError,
    UserInfo,
    main,
    serve,
)
from tgemu.formatting import parse_text

from .conftest import TOKEN, make_bot


def _texts(emu: Emulator, user: UserInfo) -> list[str]:
    chat = emu.chat(emu.bot(), user.id)
    return [m.text or "" for m in chat.messages.values() if m.sender == "bot"]


# -- faults ------------------------------------------------------------------------------------


async def test_lost_response_performs_the_call_then_times_out(
    emu: Emulator, alice: UserInfo
) -> None:
    async with make_bot(emu, read_timeout=0.3) as impatient:
        emu.inject_fault(kind="lost_response", method="sendMessage", delay=0.6)
        with pytest.raises(TimedOut):
            await impatient.send_message(alice.id, "sent once")
        assert _texts(emu, alice) == ["sent once"]  # Telegram did the work
        await impatient.send_message(alice.id, "sent once")  # a blind retry duplicates it
        # The held request is dropped (and logged) 0.6 s after it came: wait for it, however
        # busy the machine.
        for _ in range(200):
            if len(emu.faults.query("sendMessage")) == 2:
                break
            await asyncio.sleep(0.05)
    assert _texts(emu, alice) == ["sent once", "sent once"]
    logged = {(c.status, c.fault) for c in emu.faults.query("sendMessage")}
    assert logged == {(0, "lost_response"), (200, None)}


async def test_lost_response_without_delay_drops_the_connection(
    emu: Emulator, alice: UserInfo, client: EmulatorClient
) -> None:
    await client.inject_fault(kind="lost_response", method="sendMessage", delay=0)
    async with make_bot(emu, read_timeout=3) as patient:
        with pytest.raises(NetworkError):
            await patient.send_message(alice.id, "performed")
    assert _texts(emu, alice) == ["performed"]


async def test_502_and_504_come_as_html_pages_and_are_network_errors(
    emu: Emulator, bot: Bot, alice: UserInfo
) -> None:
    emu.inject_fault(kind="5xx", method="getMe", status=502)
    async with httpx.AsyncClient() as http:
        raw = await http.get(f"{emu.api_base_url}{TOKEN}/getMe")
    assert raw.status_code == 502
    assert raw.headers["content-type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in raw.text
    emu.inject_fault(kind="5xx", method="sendMessage", status=504)
    with pytest.raises(NetworkError, match="Gateway Timeout"):
        await bot.send_message(alice.id, "x")
    # An explicit description keeps Telegram's JSON shape.
    emu.inject_fault(kind="5xx", method="sendMessage", status=502, description="Bad Gateway")
    async with httpx.AsyncClient() as http:
        body = await http.post(
            f"{emu.api_base_url}{TOKEN}/sendMessage", json={"chat_id": alice.id, "text": "x"}
        )
    assert body.json() == {"ok": False, "error_code": 502, "description": "Bad Gateway"}


# -- Telegram's behaviour ---------------------------------------------------------------------


async def test_allowed_updates_does_not_drop_updates_already_queued(
    bot: Bot, emu: Emulator, alice: UserInfo
) -> None:
    sent = await bot.send_message(
        alice.id,
        "x",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},  # type: ignore[arg-type]
    )
    emu.user_presses(alice.id, sent.message_id, "a")  # queued before the filter
    updates = await bot.get_updates(timeout=0, allowed_updates=["message"])
    assert [u.callback_query.data for u in updates if u.callback_query] == ["a"]
    emu.user_presses(alice.id, sent.message_id, "a")  # created after: filtered out
    later = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert later == ()


async def test_messages_older_than_48_hours_cannot_be_deleted(
    bot: Bot, emu: Emulator, alice: UserInfo
) -> None:
    clock = ManualClock(datetime(2025, 3, 3, 10, 0, tzinfo=UTC), frozen=True)
    emu.attach_clock(clock, UTC)
    young = await bot.send_message(alice.id, "young")
    old = await bot.send_message(alice.id, "old")
    assert old.date == datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # stamped by the bot's clock
    clock.set(clock.now() + timedelta(hours=47, minutes=59))
    assert await bot.delete_message(alice.id, young.message_id)
    clock.set(clock.now() + timedelta(minutes=2))
    with pytest.raises(BadRequest, match=r"(?i)message can.t be deleted"):
        await bot.delete_message(alice.id, old.message_id)


async def test_a_deleted_account_is_deactivated(
    bot: Bot, emu: Emulator, alice: UserInfo, client: EmulatorClient
) -> None:
    answer = await client.set_deactivated(alice.id)
    assert answer["deactivated"] is True
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(alice.id, "hello?")
    with pytest.raises(ControlError, match="deactivated"):
        emu.user_sends_text(alice.id, "I am gone")
    await client.set_deactivated(alice.id, False)
    assert (await bot.send_message(alice.id, "welcome back")).text == "welcome back"


def test_bare_domains_t_me_links_commands_and_mentions_are_detected() -> None:
    text, entities = parse_text(
        "Join: t.me/qingshou_bot?start=AbC-9, see example.com. /help @alice_w README.md "
        "but not 1.5, plan.csv or e.g.",
        None,
    )
    found = [(e["type"], text[e["offset"] : e["offset"] + e["length"]]) for e in entities]
    assert found == [
        ("url", "t.me/qingshou_bot?start=AbC-9"),
        ("url", "example.com"),
        ("bot_command", "/help"),
        ("mention", "@alice_w"),
        ("url", "README.md"),
    ]


async def test_bot_messages_get_the_entities_telegram_detects(bot: Bot, alice: UserInfo) -> None:
    sent = await bot.send_message(alice.id, "Send /cases or open t.me/qingshou_bot?start=X1")
    assert [e.type for e in sent.entities] == ["bot_command", "url"]


async def test_unanswered_callback_queries_are_listed(
    bot: Bot, emu: Emulator, alice: UserInfo, client: EmulatorClient
) -> None:
    sent = await bot.send_message(
        alice.id,
        "x",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},  # type: ignore[arg-type]
    )
    first = emu.user_presses(alice.id, sent.message_id, "a")["callback_id"]
    second = emu.user_presses(alice.id, sent.message_id, "a")["callback_id"]
    await bot.answer_callback_query(first)
    pending = await client.unanswered_callbacks()
    assert [(p["callback_id"], p["chat_id"], p["data"]) for p in pending] == [
        (second, alice.id, "a")
    ]
    await bot.answer_callback_query(second)
    assert await client.unanswered_callbacks(bot="qingshou_bot") == []


# -- a safe server ----------------------------------------------------------------------------


async def test_non_loopback_addresses_need_an_explicit_opt_in(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(EmulatorStartError, match=r"refusing to listen on 0\.0\.0\.0"):
        await Emulator(EmulatorConfig(host="0.0.0.0")).start()
    async with Emulator(EmulatorConfig(host="0.0.0.0", allow_remote=True)) as remote:
        assert remote.port > 0
    assert "WARNING" in capsys.readouterr().err
    async with Emulator(EmulatorConfig(host="localhost")) as local:
        assert local.port > 0


async def test_a_busy_port_is_one_clear_error(emu: Emulator) -> None:
    with pytest.raises(EmulatorStartError, match=rf"port {emu.port} .* already in use"):
        await Emulator(EmulatorConfig(port=emu.port)).start()
    task = asyncio.create_task(serve(EmulatorConfig(port=emu.port)))
    with pytest.raises(EmulatorStartError, match="already in use"):
        await asyncio.wait_for(task, 5)


def test_the_command_line_prints_one_line_for_a_busy_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["--port", str(port)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"emulator: port {port} on 127.0.0.1 is already in use (another sandbox or emulator "
        "running?); stop it or choose another port with --port"
    )
    with pytest.raises(SystemExit):
        main(["--host", "0.0.0.0", "--port", "0"])
    assert "refusing to listen on 0.0.0.0" in capsys.readouterr().err
