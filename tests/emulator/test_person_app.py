"""Person.send/expect/press driving a tiny python-telegram-bot Application over long polling."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tgemu import Emulator, EmulatorClient, EmulatorConfig, Person, serve

from .conftest import TOKEN


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    code = " ".join(context.args or [])
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("English", callback_data="lang:en"),
                InlineKeyboardButton("中文", callback_data="lang:zh"),
            ],
            [InlineKeyboardButton("Docs", url="https://example.com/docs")],
        ]
    )
    await update.effective_message.reply_html(
        f"<b>Welcome</b>, code <code>{code}</code>", reply_markup=keyboard
    )


async def _language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    if not query.data.startswith("lang:"):
        await query.answer("Unknown button", show_alert=True)
        return
    await query.answer("Saved")
    name = {"en": "English", "zh": "中文"}[query.data.split(":", 1)[1]]
    await query.edit_message_text(f"Language: {name}")


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    assert update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


@pytest.fixture
async def app(emu: Emulator) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emu.api_base_url)
        .base_file_url(emu.file_base_url)
        .build()
    )
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(CallbackQueryHandler(_language))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=dt.timedelta(seconds=1))
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


async def test_conversation_with_buttons_and_edits(
    app: Application,  # type: ignore[type-arg]
    client: EmulatorClient,
) -> None:
    alice = await Person.create(client, first_name="Alice", language_code="zh")
    await alice.send("/start CODE7")
    reply = await alice.expect(contains="Welcome", timeout=5)
    assert reply.text == "Welcome, code CODE7"
    assert reply.html == "<b>Welcome</b>, code <code>CODE7</code>"
    assert reply.buttons == [
        [("English", "lang:en"), ("中文", "lang:zh")],
        [("Docs", "https://example.com/docs")],
    ]
    await alice.press("English")
    edited = await alice.expect(contains="Language: English", timeout=5)
    assert edited.edited
    assert edited.message_id == reply.message_id
    assert edited.buttons == []
    toast = await alice.expect_toast("Saved")
    assert toast["show_alert"] is False
    assert alice.toasts[0]["text"] == "Saved"

    await alice.send("echo 清收 😀")
    assert (await alice.expect(timeout=5)).text == "echo 清收 😀"


async def test_person_failures_are_informative(
    app: Application,  # type: ignore[type-arg]
    client: EmulatorClient,
) -> None:
    bob = await Person.create(client, first_name="Bob")
    await bob.send("/start")
    welcome = await bob.expect("Welcome")
    with pytest.raises(AssertionError, match=r"available: \['English', '中文', 'Docs'\]"):
        await bob.press("Deutsch")
    with pytest.raises(AssertionError, match="is a URL button"):
        await bob.press("Docs")
    with pytest.raises(AssertionError, match=r"(?s)no bot message containing 'never'.*Welcome"):
        await bob.expect("never", timeout=0.3)
    await bob.press_data(welcome.message_id, "forged:payload")
    alert = await bob.expect_toast("Unknown button")
    assert alert["show_alert"] is True


async def test_control_api_transcript_wait_location_and_block(
    emu: Emulator, client: EmulatorClient
) -> None:
    carol = await Person.create(client, first_name="Carol")
    await carol.send("hi")
    await carol.send_location(31.23, 121.47)
    waited = await client.wait(carol.id, after=0, timeout=1)
    assert [e["kind"] for e in waited["events"]] == ["message", "message"]
    assert waited["events"][1]["message"]["location"] == {"latitude": 31.23, "longitude": 121.47}
    empty = await client.wait(carol.id, after=waited["seq"], timeout=0.2)
    assert empty["events"] == []
    await carol.block()
    transcript = await carol.transcript()
    assert transcript["blocked"] is True
    assert transcript["events"][-1]["kind"] == "blocked"
    kinds = [next(k for k in u if k != "update_id") for _, u in emu.bot().updates]
    assert kinds == ["message", "message", "my_chat_member"]
    users = await client.users()
    assert users[0]["first_name"] == "Carol"
    state = await client.bot_state()
    assert state["username"] == "qingshou_bot"
    assert state["pending_updates"] == 3


async def test_event_stream_delivers_chat_events(emu: Emulator) -> None:
    user = emu.add_user(first_name="Dora")
    async with (
        httpx.AsyncClient(timeout=5) as http,
        http.stream("GET", f"{emu.url}/control/events") as stream,
    ):
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        emu.user_sends_text(user.id, "streamed")
        data = ""
        while not data:
            line = await anext(lines)
            if line.startswith("data: "):
                data = line[len("data: ") :]
        event = json.loads(data)
        assert event["kind"] == "message"
        assert event["message"]["text"] == "streamed"


async def test_two_bots_on_one_emulator(emu: Emulator, client: EmulatorClient) -> None:
    emu.add_bot("555:SECOND-bot-token", username="other_bot", first_name="Other")
    erin = await Person.create(client, first_name="Erin", bot="other_bot")
    await erin.send("/start")
    assert emu.bot("other_bot").updates
    assert not emu.bot("qingshou_bot").updates


async def test_serve_runs_until_cancelled() -> None:
    ready: asyncio.Queue[Emulator] = asyncio.Queue()
    task = asyncio.create_task(
        serve(EmulatorConfig(port=0), [(TOKEN, "qingshou_bot", "清收")], ["Zoe"], ready.put_nowait)
    )
    running = await asyncio.wait_for(ready.get(), 5)
    async with httpx.AsyncClient() as http:
        me = (await http.get(f"{running.api_base_url}{TOKEN}/getMe")).json()
    assert me["result"]["username"] == "qingshou_bot"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_nothing_the_bot_says_is_silently_marked_read(
    app: Application,  # type: ignore[type-arg]
    client: EmulatorClient,
) -> None:
    carol = await Person.create(client, first_name="Carol")
    await carol.send("/start")
    await asyncio.sleep(0.5)  # the welcome arrives, unread
    await carol.send("one")
    assert (await carol.expect(timeout=5)).text == "one"  # expect: after her latest action
    unread = await carol.unread()
    assert [m.text for m in unread] == ["Welcome, code"]
    with pytest.raises(AssertionError, match=r"(?s)1 unread bot message.*Welcome"):
        await carol.assert_no_unread()
    # expect_next insists on the very next output, even one from before her latest action.
    with pytest.raises(AssertionError, match="does not contain 'two'"):
        await carol.expect_next("two")
    assert (await carol.expect_next("Welcome")).text == "Welcome, code"
    await carol.send("two")
    await asyncio.sleep(1.1)  # under Telegram's per-chat pace (the tiny bot does not retry)
    await carol.send("three")
    assert (await carol.expect("three", timeout=5)).text == "three"
    assert [m.text for m in await carol.unread(wait=0.3)] == ["two"]  # skipped by expect
    assert (await carol.expect_next("two")).text == "two"
    await carol.assert_no_unread()


async def test_pressing_a_button_reads_its_message(
    app: Application,  # type: ignore[type-arg]
    client: EmulatorClient,
) -> None:
    dan = await Person.create(client, first_name="Dan")
    await dan.send("/start")
    await asyncio.sleep(0.5)
    await dan.press("English")
    assert (await dan.expect_next("Language: English")).edited
    await dan.assert_no_unread(wait=0.2)
