"""The bot's calls go as JSON bodies (bot.json_request, issue 17) and Telegram's strict answers
are the same as for PTB's form-encoded calls; uploads stay multipart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.json_request import JsonHTTPXRequest
from tgemu import Emulator, UserInfo

from .conftest import TOKEN


@pytest.fixture
async def json_bot(emu: Emulator) -> AsyncIterator[tuple[Bot, list[str]]]:
    """A bot whose calls go through JsonHTTPXRequest, and the content types it sent."""
    request = JsonHTTPXRequest(read_timeout=5.0, connect_timeout=2.0)
    sent: list[str] = []
    async with Bot(
        TOKEN,
        base_url=emu.api_base_url,
        base_file_url=emu.file_base_url,
        request=request,
        get_updates_request=JsonHTTPXRequest(read_timeout=5.0, connect_timeout=2.0),
    ) as bot:

        async def note(req: httpx.Request) -> None:
            sent.append(req.headers.get("content-type", "").split(";")[0])

        request._client.event_hooks["request"] = [note]
        yield bot, sent


async def test_message_with_html_chinese_and_keyboard_goes_as_json(
    json_bot: tuple[Bot, list[str]], alice: UserInfo
) -> None:
    bot, sent = json_bot
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("✅ 已还", callback_data="i.p:7")]])
    message = await bot.send_message(
        alice.id,
        "<b>王芳</b> · ¥3,000.00 &amp; 逾期",
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )
    assert sent == ["application/json"]
    assert message.text == "王芳 · ¥3,000.00 & 逾期"
    assert message.entities[0].type == "bold"
    assert message.reply_markup == markup


async def test_strict_refusals_are_the_same_as_for_form_bodies(
    json_bot: tuple[Bot, list[str]], alice: UserInfo
) -> None:
    bot, _ = json_bot
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(alice.id, "<b>open", parse_mode=ParseMode.HTML)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(alice.id, "hi", reply_markup=too_long)


async def test_uploads_stay_multipart(json_bot: tuple[Bot, list[str]], alice: UserInfo) -> None:
    bot, sent = json_bot
    message = await bot.send_document(alice.id, b"a,b\n1,2\n", filename="cases.csv")
    assert sent == ["multipart/form-data"]
    assert message.document is not None
    assert message.document.file_name == "cases.csv"
