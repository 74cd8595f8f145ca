"""Each strictness rule, exercised through a real python-telegram-bot ``Bot`` over HTTP.

Every test asserts the exception class PTB raises and the exact description text the real
Bot API gives, so a bot that passes here is not relying on emulator leniency.
"""

from __future__ import annotations

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Defaults, ExtBot

from tgemu import Emulator, EmulatorClient, EmulatorConfig, UserInfo

from .conftest import TOKEN, make_bot


async def test_get_me_returns_the_registered_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        123456789,
        "qingshou_bot",
        "清收",
        True,
    )


async def test_unknown_token_is_unauthorized(emu: Emulator) -> None:
    stranger = make_bot(emu, token="987654321:not-a-registered-token")
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await stranger.get_me()
    await stranger.request.shutdown()  # never initialized, so Bot.shutdown() would skip it


async def test_unknown_method_is_404_with_telegram_body(emu: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{emu.api_base_url}{TOKEN}/sendTelepathy", data={"x": "1"})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_method_names_are_case_insensitive_and_json_bodies_work(
    emu: Emulator, alice: UserInfo
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{emu.api_base_url}{TOKEN}/SENDMESSAGE", json={"chat_id": alice.id, "text": "hi"}
        )
        query = await http.get(f"{emu.api_base_url}{TOKEN}/getMe")
    assert response.json()["result"]["text"] == "hi"
    assert query.json()["result"]["username"] == "qingshou_bot"


async def test_spec_method_not_implemented_is_refused_visibly(bot: Bot) -> None:
    # PTB capitalizes descriptions (str.capitalize), hence the case-insensitive match.
    with pytest.raises(
        BadRequest, match=r"(?i)method not supported by the local emulator: sendDice"
    ):
        await bot.send_dice(chat_id=1)


async def test_missing_chat_id_is_refused(emu: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{emu.api_base_url}{TOKEN}/sendMessage", data={"text": "x"})
    assert response.status_code == 400
    assert response.json()["description"] == "Bad Request: chat_id is empty"


async def test_missing_required_field_is_refused(bot: Bot, emu: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{emu.api_base_url}{TOKEN}/setMyCommands", data={})
    assert response.json()["description"] == 'Bad Request: parameter "commands" is required'


async def test_send_message_returns_a_real_message(bot: Bot, alice: UserInfo) -> None:
    message = await bot.send_message(alice.id, "<b>你好</b> Alice", parse_mode=ParseMode.HTML)
    assert message.text == "你好 Alice"
    assert message.chat.id == alice.id
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert message.from_user.is_bot
    assert message.entities[0].type == "bold"
    assert message.message_id == 2  # /start was message 1 in this private chat


async def test_empty_text_is_refused(bot: Bot, alice: UserInfo) -> None:
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(alice.id, "   ")
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(alice.id, "<b></b>", parse_mode=ParseMode.HTML)


async def test_text_longer_than_4096_utf16_units_is_refused(bot: Bot, alice: UserInfo) -> None:
    await bot.send_message(alice.id, "清" * 4096)  # 4096 code units: allowed
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(alice.id, "😀" * 2049)  # 4098 UTF-16 code units
    # markup does not count: 4096 characters of text inside tags is fine
    await bot.send_message(alice.id, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)


async def test_caption_longer_than_1024_is_refused(bot: Bot, alice: UserInfo) -> None:
    with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
        await bot.send_document(alice.id, b"data", filename="a.txt", caption="x" * 1025)


async def test_bad_html_is_refused(bot: Bot, alice: UserInfo) -> None:
    with pytest.raises(
        BadRequest, match='Can\'t parse entities: unsupported start tag "foo" at byte offset 6'
    ):
        await bot.send_message(alice.id, "Hello <foo>", parse_mode=ParseMode.HTML)


async def test_bad_markdown_v2_is_refused(bot: Bot, alice: UserInfo) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: character '.' is reserved"):
        await bot.send_message(alice.id, "Done.", parse_mode=ParseMode.MARKDOWN_V2)


async def test_callback_data_over_64_bytes_is_refused(bot: Bot, alice: UserInfo) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="清" * 21)]])  # 63 B
    await bot.send_message(alice.id, "fits", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="清" * 22)]])
    with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
        await bot.send_message(alice.id, "too long", reply_markup=too_long)


async def test_more_than_100_buttons_are_refused(bot: Bot, alice: UserInfo) -> None:
    rows = [
        [InlineKeyboardButton(str(i * 10 + j), callback_data=str(i * 10 + j)) for j in range(10)]
        for i in range(11)
    ]
    with pytest.raises(BadRequest, match=r"^Reply_markup_too_long$"):
        await bot.send_message(alice.id, "many", reply_markup=InlineKeyboardMarkup(rows))


async def test_button_without_action_or_text_or_with_bad_url_is_refused(
    emu: Emulator, alice: UserInfo
) -> None:
    async def send(markup: str) -> str:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{emu.api_base_url}{TOKEN}/sendMessage",
                data={"chat_id": str(alice.id), "text": "x", "reply_markup": markup},
            )
        assert response.status_code == 400
        description: str = response.json()["description"]
        return description

    assert await send('{"inline_keyboard":[[{"text":"plain"}]]}') == (
        "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard"
    )
    assert await send('{"inline_keyboard":[[{"text":"","callback_data":"a"}]]}') == (
        "Bad Request: BUTTON_TEXT_INVALID"
    )
    assert await send('{"inline_keyboard":[[{"text":"u","url":"not a url"}]]}') == (
        "Bad Request: BUTTON_URL_INVALID"
    )
    assert await send("{not json") == "Bad Request: can't parse reply keyboard markup JSON object"


async def test_edit_with_identical_content_is_not_modified(bot: Bot, alice: UserInfo) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(alice.id, "<b>x</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"^Message is not modified: specified new message"):
        await bot.edit_message_text(
            "<b>x</b>", alice.id, sent.message_id, parse_mode="HTML", reply_markup=markup
        )
    edited = await bot.edit_message_text("x", alice.id, sent.message_id, reply_markup=markup)
    assert isinstance(edited, object)
    assert getattr(edited, "edit_date", None) is not None


async def test_edit_unknown_message_is_refused(bot: Bot, alice: UserInfo) -> None:
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("x", alice.id, 999)


async def test_edit_reply_markup_and_delete(bot: Bot, alice: UserInfo) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(alice.id, "x", reply_markup=markup)
    await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match=r"^Message is not modified"):
        await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=None)
    assert await bot.delete_message(alice.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"^Message to delete not found$"):
        await bot.delete_message(alice.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("y", alice.id, sent.message_id)


async def test_a_parameter_outside_the_method_is_answered_as_telegram_does_and_recorded(
    emu: Emulator, client: EmulatorClient, alice: UserInfo
) -> None:
    # python-telegram-bot with Defaults(parse_mode=...) sends parse_mode with every message
    # method, editMessageReplyMarkup included, which has no such parameter: Telegram ignores it.
    async with ExtBot(
        TOKEN, base_url=emu.api_base_url, defaults=Defaults(parse_mode="HTML")
    ) as bot:
        sent = await bot.send_message(alice.id, "<b>x</b>")
        assert emu.undefined_fields == {}
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
        edited = await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=markup)
    assert isinstance(edited, Message)
    assert edited.reply_markup == markup
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{emu.api_base_url}{TOKEN}/sendMessage",
            json={"chat_id": alice.id, "text": "hi", "colour": "red", "parse_mode": "HTML"},
        )
    assert answer.json()["ok"] is True
    assert emu.undefined_fields == {
        "editMessageReplyMarkup": {"parse_mode"},
        "sendMessage": {"colour"},
    }
    calls = await client.calls()
    assert [(c["method"], c["undefined"]) for c in calls if c["method"] != "getMe"] == [
        ("sendMessage", []),
        ("editMessageReplyMarkup", ["parse_mode"]),
        ("sendMessage", ["colour"]),
    ]


async def test_user_messages_cannot_be_edited(bot: Bot, alice: UserInfo) -> None:
    with pytest.raises(BadRequest, match=r"^Message can't be edited$"):
        await bot.edit_message_text("hacked", alice.id, 1)


async def test_reply_to_missing_message_is_refused(bot: Bot, alice: UserInfo) -> None:
    reply = await bot.send_message(alice.id, "re", reply_parameters=ReplyParameters(1))
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "/start"
    with pytest.raises(BadRequest, match=r"^Message to be replied not found$"):
        await bot.send_message(alice.id, "re", reply_parameters=ReplyParameters(77))


async def test_unknown_chat_and_user_who_never_started_are_not_found(
    bot: Bot, emu: Emulator
) -> None:
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(424242, "hello")
    silent = emu.add_user(first_name="Bob")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(silent.id, "hello")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.get_chat(silent.id)


async def test_blocked_user_is_forbidden(bot: Bot, emu: Emulator, alice: UserInfo) -> None:
    emu.set_blocked(alice.id, True)
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await bot.send_message(alice.id, "ping")
    emu.user_sends_text(alice.id, "/start")  # restarting the bot unblocks it
    await bot.send_message(alice.id, "welcome back")


async def test_per_chat_flood_control(bot: Bot, alice: UserInfo) -> None:
    for i in range(3):  # default burst
        await bot.send_message(alice.id, f"m{i}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "one too many")
    assert caught.value.retry_after.total_seconds() >= 1  # type: ignore[union-attr]


class TestGlobalFloodControl:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(global_per_second=5, per_chat_burst=100)

    async def test_more_than_the_global_rate_is_throttled(
        self, bot: Bot, emu: Emulator, alice: UserInfo
    ) -> None:
        for i in range(5):
            await bot.send_message(alice.id, f"m{i}")
        with pytest.raises(RetryAfter):
            await bot.send_message(alice.id, "sixth")
        calls = emu.faults.query("sendMessage")
        assert calls[-1].status == 429
        assert calls[-1].description == "Too Many Requests: retry after 1"


class TestWithoutRateLimits:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(rate_limits=False)

    async def test_benchmarks_can_switch_limits_off(self, bot: Bot, alice: UserInfo) -> None:
        for i in range(40):
            await bot.send_message(alice.id, f"m{i}")


async def test_answer_callback_query_rules(bot: Bot, emu: Emulator, alice: UserInfo) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(alice.id, "x", reply_markup=markup)
    callback_id = emu.user_presses(alice.id, sent.message_id, "a")["callback_id"]
    with pytest.raises(BadRequest, match=r"^Message_too_long$"):
        await bot.answer_callback_query(callback_id, text="x" * 201)
    assert await bot.answer_callback_query(callback_id, text="Done")
    too_old = "Query is too old and response timeout expired or query id is invalid"
    with pytest.raises(BadRequest, match=f"^{too_old}$"):
        await bot.answer_callback_query(callback_id)  # already answered
    with pytest.raises(BadRequest, match=f"^{too_old}$"):
        await bot.answer_callback_query("123")  # never existed


class TestStaleCallback:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(callback_timeout=0.0)

    async def test_too_old_callback_query_is_refused(
        self, bot: Bot, emu: Emulator, alice: UserInfo
    ) -> None:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
        sent = await bot.send_message(alice.id, "x", reply_markup=markup)
        callback_id = emu.user_presses(alice.id, sent.message_id, "a")["callback_id"]
        with pytest.raises(BadRequest, match=r"^Query is too old"):
            await bot.answer_callback_query(callback_id)


async def test_commands_descriptions_chat_action_and_get_chat(
    bot: Bot, emu: Emulator, alice: UserInfo
) -> None:
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.get_my_commands(language_code="zh") == ()
    with pytest.raises(BadRequest, match=r"^Bot_command_invalid$"):
        await bot.set_my_commands([BotCommand("Bad Command", "x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    await bot.set_my_description("清收助手", language_code="zh")
    assert (await bot.get_my_description("zh")).description == "清收助手"
    await bot.set_my_short_description("short")
    assert (await bot.get_my_short_description()).short_description == "short"
    assert await bot.send_chat_action(alice.id, "typing")
    with pytest.raises(BadRequest, match=r"^Wrong parameter action in request$"):
        await bot.send_chat_action(alice.id, "dancing")
    chat = await bot.get_chat(alice.id)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (
        alice.id,
        "private",
        "Alice",
        "alice_w",
    )
    events = emu.chat(emu.bot(), alice.id).events
    assert events[-1]["kind"] == "chat_action"
    assert await bot.close()
    assert await bot.log_out()
