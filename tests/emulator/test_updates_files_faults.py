"""Long polling, file round-trips, fault injection and the call log — via a real PTB Bot."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Conflict, NetworkError, RetryAfter, TimedOut

from tgemu import Emulator, EmulatorClient, EmulatorConfig, UserInfo, tiny_png

from .conftest import TOKEN, make_bot


async def test_get_updates_offset_confirms_updates(bot: Bot, emu: Emulator) -> None:
    user = emu.add_user(first_name="Carol")
    emu.user_sends_text(user.id, "/start CODE42")
    emu.user_sends_text(user.id, "second")
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["/start CODE42", "second"]
    first = updates[0].message
    assert first is not None
    assert first.entities[0].type == "bot_command"
    assert first.entities[0].length == len("/start")
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in updates]  # not confirmed yet
    rest = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["second"]
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()


async def test_get_updates_limit_and_negative_offset(bot: Bot, emu: Emulator) -> None:
    user = emu.add_user(first_name="Dan")
    for i in range(5):
        emu.user_sends_text(user.id, f"m{i}")
    assert len(await bot.get_updates(limit=2, timeout=0)) == 2
    last_two = await bot.get_updates(offset=-2, timeout=0)
    assert [u.message.text for u in last_two if u.message] == ["m3", "m4"]
    assert len(await bot.get_updates(timeout=0)) == 2  # earlier ones were forgotten


async def test_long_poll_waits_for_new_updates(bot: Bot, emu: Emulator) -> None:
    user = emu.add_user(first_name="Eve")

    async def later() -> None:
        await asyncio.sleep(0.3)
        emu.user_sends_text(user.id, "hello")

    started = time.monotonic()
    task = asyncio.create_task(later())
    updates = await bot.get_updates(timeout=3)
    await task
    elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 2.5
    assert updates[0].message is not None
    assert updates[0].message.text == "hello"
    started = time.monotonic()
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=1) == ()
    assert time.monotonic() - started >= 0.9


async def test_allowed_updates_filter_is_remembered(
    bot: Bot, emu: Emulator, alice: UserInfo
) -> None:
    await bot.get_updates(offset=-1, timeout=0)  # drain the /start
    old = await bot.get_updates(timeout=0)
    await bot.get_updates(offset=old[-1].update_id + 1, timeout=0, allowed_updates=["message"])
    sent = await bot.send_message(
        alice.id,
        "x",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},  # type: ignore[arg-type]
    )
    emu.user_presses(alice.id, sent.message_id, "a")
    emu.user_sends_text(alice.id, "text")
    updates = await bot.get_updates(timeout=0)  # no allowed_updates: the filter persists
    assert [u.message.text for u in updates if u.message] == ["text"]
    assert all(u.callback_query is None for u in updates)
    assert emu.bot().allowed_updates == ["message"]


async def test_concurrent_get_updates_conflict(bot: Bot, emu: Emulator) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first
    assert await second == ()


async def test_webhook_blocks_polling_until_deleted(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)an https url must be provided"):
        await bot.set_webhook("http://example.com/hook")
    await bot.set_webhook("https://example.com/hook")
    assert (await bot.get_webhook_info()).url == "https://example.com/hook"
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_document_upload_get_file_and_download(bot: Bot, alice: UserInfo) -> None:
    payload = "借款人,金额\n张三,1000\n".encode()
    message = await bot.send_document(
        alice.id, payload, filename="cases.csv", caption="<b>名单</b>", parse_mode="HTML"
    )
    assert message.document is not None
    assert message.document.file_name == "cases.csv"
    assert message.document.mime_type == "text/csv"
    assert message.caption == "名单"
    telegram_file = await message.document.get_file()
    assert telegram_file.file_size == len(payload)
    assert bytes(await telegram_file.download_as_bytearray()) == payload
    resent = await bot.send_document(alice.id, message.document.file_id)
    assert resent.document is not None
    assert resent.document.file_id == message.document.file_id


async def test_photo_upload_requires_a_real_image(bot: Bot, alice: UserInfo) -> None:
    message = await bot.send_photo(alice.id, tiny_png(4, 3), caption="pic")
    assert message.photo[-1].width == 4
    assert message.photo[-1].height == 3
    downloaded = await (await message.photo[-1].get_file()).download_as_bytearray()
    assert bytes(downloaded) == tiny_png(4, 3)
    with pytest.raises(BadRequest, match=r"^Image_process_failed$"):
        await bot.send_photo(alice.id, b"definitely not an image")
    with pytest.raises(BadRequest, match=r"^Wrong file identifier/http url specified$"):
        await bot.send_photo(alice.id, "AgACAgIAAxk-made-up")


async def test_user_documents_can_be_fetched_by_the_bot(
    bot: Bot, client: EmulatorClient, alice: UserInfo
) -> None:
    await client.send_document(alice.id, "debts.txt", b"hello", mime="text/plain", caption="c")
    updates = await bot.get_updates(timeout=0)
    document = updates[-1].message.document  # type: ignore[union-attr]
    assert document is not None
    assert document.file_name == "debts.txt"
    assert bytes(await (await document.get_file()).download_as_bytearray()) == b"hello"
    with pytest.raises(BadRequest, match=r"^Invalid file_id$"):
        await bot.get_file("nope")


class TestFileLimits:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(
            photo_max_bytes=1000,
            document_max_bytes=2000,
            download_max_bytes=500,
            request_max_bytes=4000,
        )

    async def test_size_limits(self, bot: Bot, emu: Emulator, alice: UserInfo) -> None:
        with pytest.raises(BadRequest, match=r"^File is too big$"):
            await bot.send_document(alice.id, b"x" * 2001, filename="big.bin")
        with pytest.raises(BadRequest, match=r"^File is too big$"):
            await bot.send_photo(alice.id, tiny_png() + b"\0" * 1000)
        message = await bot.send_document(alice.id, b"x" * 600, filename="mid.bin")
        with pytest.raises(BadRequest, match=r"^File is too big$"):
            await bot.get_file(message.document.file_id)  # type: ignore[union-attr]
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{emu.api_base_url}{TOKEN}/sendDocument",
                data={"chat_id": str(alice.id)},
                files={"document": ("huge.bin", b"x" * 5000)},
            )
        assert response.status_code == 413
        assert response.json()["description"] == "Request Entity Too Large"


async def test_unknown_file_path_is_404(emu: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{emu.file_base_url}{TOKEN}/documents/nope.bin")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_5xx_fault_then_success_is_visible_in_call_log(
    bot: Bot, emu: Emulator, alice: UserInfo
) -> None:
    emu.inject_fault(kind="5xx", count=2, method="sendMessage", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(alice.id, "a")
    emu.inject_fault(kind="5xx", method="getMe", status=500)  # does not affect sendMessage
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(alice.id, "a")
    assert (await bot.send_message(alice.id, "a")).text == "a"
    calls = [(c.method, c.status, c.fault) for c in emu.faults.query("sendMessage")]
    assert calls == [
        ("sendMessage", 502, "5xx"),
        ("sendMessage", 502, "5xx"),
        ("sendMessage", 200, None),
    ]
    assert len(emu.faults.faults) == 1  # the getMe fault is still pending


async def test_429_fault_raises_retry_after(bot: Bot, emu: Emulator, alice: UserInfo) -> None:
    emu.inject_fault(kind="429", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "a")
    assert caught.value.retry_after.total_seconds() == 7  # type: ignore[union-attr]


async def test_timeout_fault_holds_and_drops_without_performing(
    emu: Emulator, alice: UserInfo
) -> None:
    async with make_bot(emu, read_timeout=0.3) as impatient:
        emu.inject_fault(kind="timeout", method="sendMessage", delay=0.6)
        with pytest.raises(TimedOut):
            await impatient.send_message(alice.id, "lost")
        # The held request is dropped (and logged) 0.6 s after it came: wait for it, however
        # busy the machine.
        for _ in range(200):
            if emu.faults.query("sendMessage"):
                break
            await asyncio.sleep(0.05)
    transcript = emu.chat(emu.bot(), alice.id).transcript()
    assert all(m["text"] != "lost" for m in transcript["messages"])
    record = emu.faults.query("sendMessage")[-1]
    assert (record.status, record.fault) == (0, "timeout")


async def test_timeout_fault_with_patient_client_sees_dropped_connection(
    emu: Emulator, alice: UserInfo
) -> None:
    async with make_bot(emu, read_timeout=3) as patient:
        emu.inject_fault(kind="timeout", method="sendMessage", delay=0.2)
        with pytest.raises(NetworkError):
            await patient.send_message(alice.id, "dropped")


async def test_control_api_faults_and_calls(
    bot: Bot, client: EmulatorClient, alice: UserInfo
) -> None:
    fault = await client.inject_fault(kind="5xx", status=500, method="getChat")
    assert fault["status"] == 500
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_chat(alice.id)
    await bot.get_chat(alice.id)
    calls = await client.calls(method="getChat")
    assert [c["status"] for c in calls] == [500, 200]
    await client.inject_fault(kind="5xx", method="getChat")
    await client.clear_faults()
    await bot.get_chat(alice.id)
