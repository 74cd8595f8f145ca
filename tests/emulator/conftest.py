"""Fixtures: a running emulator, a python-telegram-bot ``Bot`` pointed at it, and users."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from tgemu import Emulator, EmulatorClient, EmulatorConfig, UserInfo

TOKEN = "123456789:TEST-token-for-the-local-emulator"


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta time periods; otherwise RetryAfter emits a deprecation warning."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def config() -> EmulatorConfig:
    """Default (strict, rate-limited) config; tests override it by redefining the fixture."""
    return EmulatorConfig()


@pytest.fixture
async def emu(config: EmulatorConfig) -> AsyncIterator[Emulator]:
    emulator = Emulator(config)
    emulator.add_bot(TOKEN, username="qingshou_bot", first_name="清收")
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


def make_bot(emu: Emulator, token: str = TOKEN, read_timeout: float = 5.0) -> Bot:
    """A real PTB Bot talking to the emulator."""
    return Bot(
        token,
        base_url=emu.api_base_url,
        base_file_url=emu.file_base_url,
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
        get_updates_request=HTTPXRequest(read_timeout=5.0, connect_timeout=2.0),
    )


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    async with make_bot(emu) as tg_bot:
        yield tg_bot


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(emu.url) as control:
        yield control


@pytest.fixture
def alice(emu: Emulator) -> UserInfo:
    """A user who has started the bot (so the bot may write to her)."""
    user = emu.add_user(first_name="Alice", username="alice_w")
    emu.user_sends_text(user.id, "/start")
    return user
