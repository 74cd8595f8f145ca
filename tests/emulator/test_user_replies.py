"""A user's reply to a message (Telegram's swipe-to-reply): the update carries the replied
message with its inline keyboard, as Telegram sends it; a reply to no message is refused."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from tgemu import Emulator, EmulatorClient
from tgemu.client import ControlApiError


async def test_a_reply_carries_the_replied_message_with_its_buttons(
    bot: Bot, emu: Emulator, client: EmulatorClient
) -> None:
    user = emu.add_user(first_name="Erin")
    emu.user_sends_text(user.id, "/start")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Paid", callback_data="ri:1:paid")]])
    sent = await bot.send_message(user.id, "Today: 1 payment due", reply_markup=keyboard)
    await client.send_message(user.id, "paid", reply_to=sent.message_id)
    updates = await bot.get_updates(timeout=0)
    message = updates[-1].message
    assert message is not None
    assert message.text == "paid"
    replied = message.reply_to_message
    assert replied is not None
    assert replied.message_id == sent.message_id
    assert replied.text == "Today: 1 payment due"
    assert replied.reply_markup == keyboard


async def test_a_reply_to_a_message_not_in_the_chat_is_refused(
    emu: Emulator, client: EmulatorClient
) -> None:
    user = emu.add_user(first_name="Finn")
    with pytest.raises(ControlApiError, match=r"400.*999 to reply to is not in this chat"):
        await client.send_message(user.id, "paid", reply_to=999)
