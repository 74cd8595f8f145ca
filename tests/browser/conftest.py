"""Fixtures for the web chat: a running sandbox and Debian's Chromium driven by Playwright.

No browser is downloaded: Playwright drives ``/usr/bin/chromium``. Without it the browser tests
skip, unless ``CI`` is set, where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from bot.sandbox import Sandbox, start_sandbox
from tests.pace import Pace
from tgemu import EmulatorConfig

CHROMIUM = Path(os.environ.get("QINGSHOU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Small upload limits so refusals can be shown without shipping megabytes through the browser.
DOCUMENT_MAX_BYTES = 256 * 1024
REQUEST_MAX_BYTES = 1024 * 1024


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta time periods; otherwise RetryAfter emits a deprecation warning."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``QINGSHOU_SCREENSHOT_DIR`` (``make screenshots``: docs/)."""
    configured = os.environ.get("QINGSHOU_SCREENSHOT_DIR")
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
async def sandbox(pace: Pace) -> AsyncIterator[Sandbox]:
    # The emulator and the bot at the same pace: fast unless the test is marked real_pace.
    config = EmulatorConfig(
        port=0,
        document_max_bytes=DOCUMENT_MAX_BYTES,
        request_max_bytes=REQUEST_MAX_BYTES,
        **pace.emulator_config(),
    )
    settings = replace(load_settings({}), **pace.settings())
    async with start_sandbox(settings, emulator_config=config) as running:
        yield running
        # Only parameters the Bot API defines for each method (Telegram ignores any other).
        assert running.emulator.undefined_fields == {}


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium: skip without it, except on CI."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path, tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh Chromium profile; yields a Playwright BrowserContext."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
            locale="en-GB",
            accept_downloads=True,
        )
        try:
            yield context
        finally:
            await context.close()
