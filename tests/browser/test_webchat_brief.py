"""The demo cooperative's prepared case: a newcomer opens the brief on a phone (README picture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import Sandbox
from tests.browser.test_webchat import BOT_TIMEOUT, PHONE, expect, open_page, pane_of, send

pytestmark = pytest.mark.browser


async def test_the_demo_collector_reads_the_prepared_brief_on_a_phone(
    sandbox: Sandbox, browser: Any, screenshot_dir: Path
) -> None:
    page, problems = await open_page(browser, sandbox, PHONE)
    zhang = sandbox.people["collector"]
    await page.select_option("#switcher", str(zhang.id))
    pane = pane_of(page, zhang.id)
    await send(pane, "/brief 王建国")
    brief = pane.locator(".row.in").last
    await expect(brief).to_contain_text("王建国", timeout=BOT_TIMEOUT)
    await expect(brief).to_contain_text("≥")
    await expect(brief.locator(".text b").first).to_be_visible()
    await expect(pane.get_by_role("button", name="🧭", exact=False).first).to_be_visible()
    await page.screenshot(path=str(screenshot_dir / "brief-phone.png"))
    assert problems == []
    await page.close()
