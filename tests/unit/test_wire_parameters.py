"""The bot sends each Bot API method only the parameters it has.

python-telegram-bot gives every message method the parse mode of the bot's ``Defaults``, also
``editMessageReplyMarkup``, which has none: Telegram ignores it, the emulator records it. The
rate limiter, which every call but getUpdates passes, takes it off a call with no text or
caption to parse.
"""

from __future__ import annotations

from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Defaults, ExtBot

from bot.telegram_io import ResilientRateLimiter, drop_stray_parse_mode
from tgemu import Emulator, EmulatorConfig

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        ({"chat_id": 1, "message_id": 2, "reply_markup": "{}", "parse_mode": "HTML"}, False),
        ({"chat_id": 1, "latitude": 1.0, "longitude": 2.0, "parse_mode": "HTML"}, False),
        ({"chat_id": 1, "photo": "x", "parse_mode": "HTML"}, False),
        ({"chat_id": 1, "text": "<b>a</b>", "parse_mode": "HTML"}, True),
        ({"chat_id": 1, "photo": "x", "caption": "<b>a</b>", "parse_mode": "HTML"}, True),
    ],
)
def test_parse_mode_stays_only_with_a_text_or_a_caption(data: dict[str, Any], kept: bool):
    before = dict(data)
    drop_stray_parse_mode(data)
    assert data == (before if kept else {k: v for k, v in before.items() if k != "parse_mode"})


async def test_the_bot_edits_a_keyboard_without_a_parse_mode():
    async with Emulator(EmulatorConfig(port=0)) as emulator:
        emulator.add_bot(TOKEN, username="qingshou_test_bot", first_name="清收")
        alice = emulator.add_user(first_name="Alice")
        emulator.user_sends_text(alice.id, "/start")
        bot = ExtBot(
            TOKEN,
            base_url=emulator.api_base_url,
            defaults=Defaults(parse_mode="HTML"),
            rate_limiter=ResilientRateLimiter(),
        )
        async with bot:
            sent = await bot.send_message(alice.id, "<b>due today</b>")
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("Paid", callback_data="p")]])
            await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=markup)
        assert sent.text == "due today"  # the parse mode still went with the text
        assert emulator.undefined_fields == {}
