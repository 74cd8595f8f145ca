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

See :mod:`tgemu.server` for the HTTP control API.
"""

from tgemu.client import BotMessage, ControlApiError, EmulatorClient, Person
from tgemu.core import ControlError
from tgemu.errors import ApiError
from tgemu.faults import CallRecord, Fault
from tgemu.formatting import entities_to_html, parse_html, parse_markdown_v2, utf16_len
from tgemu.media import tiny_png
from tgemu.runner import BotSpec, main, serve
from tgemu.server import Emulator, EmulatorStartError
from tgemu.state import EmulatorConfig, UserInfo

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
