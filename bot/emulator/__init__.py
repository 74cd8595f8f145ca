"""A local, strict Telegram Bot API emulator for end-to-end tests, benchmarks and the sandbox.

Typical use in a test::

    emu = Emulator(EmulatorConfig())
    await emu.start()
    emu.add_bot(token, username="qingshou_bot", first_name="清收")
    bot = telegram.Bot(token, base_url=emu.api_base_url, base_file_url=emu.file_base_url)
    async with EmulatorClient(emu.url) as client:
        alice = await Person.create(client, first_name="Alice")
        await alice.send("/start")
        reply = await alice.expect(contains="Welcome")

See :mod:`bot.emulator.server` for the HTTP control API.
"""

from bot.emulator.client import BotMessage, ControlApiError, EmulatorClient, Person
from bot.emulator.core import ControlError
from bot.emulator.errors import ApiError
from bot.emulator.faults import CallRecord, Fault
from bot.emulator.formatting import entities_to_html, parse_html, parse_markdown_v2, utf16_len
from bot.emulator.media import tiny_png
from bot.emulator.runner import BotSpec, main, serve
from bot.emulator.server import Emulator, EmulatorStartError
from bot.emulator.state import EmulatorConfig, UserInfo

__all__ = [
    "ApiError",
    "BotMessage",
    "BotSpec",
    "CallRecord",
    "ControlApiError",
    "ControlError",
    "Emulator",
    "EmulatorClient",
    "EmulatorConfig",
    "EmulatorStartError",
    "Fault",
    "Person",
    "UserInfo",
    "entities_to_html",
    "main",
    "parse_html",
    "parse_markdown_v2",
    "serve",
    "tiny_png",
    "utf16_len",
]
