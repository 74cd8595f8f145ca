"""The web chat under stress: reconnects, hostile HTML, phones, the moved clock, taps on links."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.sandbox import BOT_USERNAME, Sandbox
from tests.browser.conftest import REQUEST_MAX_BYTES
from tests.browser.test_webchat import BOT_TIMEOUT, PHONE, TOKEN, WIDE, open_page, pane_of, send
from tgemu import Emulator, EmulatorConfig

try:
    from playwright.async_api import Page, Request, expect
except ImportError:  # pragma: no cover - CI installs the dev extra
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser


async def standalone_page(browser: Any, emulator: Emulator, user_ids: list[int]) -> Page:
    page: Page = await browser.new_page()
    await page.goto(f"{emulator.url}/#p={','.join(map(str, user_ids))}")
    await expect(page.locator("body.ready")).to_have_count(1)
    return page


async def test_the_sanitiser_keeps_only_telegrams_tags(browser: Any) -> None:
    """Hostile HTML injected past the emulator (which would have escaped it) stays inert."""
    emulator = Emulator(EmulatorConfig(port=0))
    emulator.add_bot(TOKEN, username="other_bot")
    ann = emulator.add_user("Ann")
    async with emulator:
        page = await standalone_page(browser, emulator, [ann.id])
        hostile = (
            '<b onclick="window.pwned=1" style="color:red">bold</b> '
            '<img src=x onerror="window.pwned=2"> '
            '<a href="javascript:window.pwned=3" onmouseover="window.pwned=4">js link</a> '
            '<a href="https://example.com/ok" onclick="window.pwned=5">good link</a> '
            '<svg onload="window.pwned=6"><circle r=1></circle></svg>'
            '<script>window.pwned=7</script><iframe src="https://example.com"></iframe>'
            '<tg-spoiler onclick="window.pwned=8">hidden</tg-spoiler> '
            '<a href="data:text/html,<script>alert(1)</script>">data link</a>'
        )
        snapshot = {
            "message_id": 999, "from": "bot", "date": 1_700_000_000, "text": "x",
            "entities": [], "html": hostile, "buttons": [], "edited": False, "deleted": False,
        }  # fmt: skip
        assert await page.evaluate(
            "([id, m]) => window.webchatTest.showMessage(id, m)", [ann.id, snapshot]
        )
        text = pane_of(page, ann.id).locator('.row[data-mid="999"] .text')
        await expect(text.locator("b")).to_have_text("bold")
        await expect(text).to_contain_text("js link")
        for selector in ("img", "svg", "script", "iframe", "[style]"):
            assert await text.locator(selector).count() == 0, selector
        handlers = await text.evaluate(
            "t => [...t.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name))"
            ".filter(n => n.startsWith('on'))"
        )
        assert handlers == []
        hrefs = await text.evaluate("t => [...t.querySelectorAll('a')].map(a => a.href)")
        assert hrefs == ["https://example.com/ok"]  # javascript: and data: links are text
        await text.locator("b").click()
        await text.locator(".spoiler").click()
        await text.get_by_text("js link").hover()
        assert await page.evaluate("window.pwned === undefined")
        await page.close()


async def test_nothing_is_lost_or_doubled_across_a_reconnect(browser: Any) -> None:
    """The stream drops; what happens meanwhile shows up once, in order; notices stay put."""
    emulator = Emulator(EmulatorConfig(port=0, rate_limits=False))
    emulator.add_bot(TOKEN, username="other_bot", first_name="Other bot")
    ann = emulator.add_user("Ann")
    emulator.user_sends_text(ann.id, "/start")
    async with emulator, Bot(TOKEN, base_url=emulator.api_base_url) as bot:
        page = await standalone_page(browser, emulator, [ann.id])
        pane = pane_of(page, ann.id)
        await bot.send_message(ann.id, "before")
        await expect(pane.locator(".row.in .text")).to_have_text(["before"])
        await pane.locator(".send-button").click()  # refused: empty
        await expect(pane.locator(".row.refused")).to_have_count(1)
        await bot.send_message(ann.id, "after the refusal")
        await expect(pane.locator(".row.in")).to_have_count(2)

        emulator.suspend_event_streams()
        await expect(page.locator("body.offline")).to_have_count(1)
        sent = []
        for n in range(3):
            emulator.user_sends_text(ann.id, f"while offline {n}")
            sent.append(f"while offline {n}")
            await bot.send_message(ann.id, f"reply {n}")
            sent.append(f"reply {n}")
        first = await bot.send_message(ann.id, "to be edited")
        await bot.edit_message_text("edited offline", chat_id=ann.id, message_id=first.message_id)
        sent.append("edited offline")
        await asyncio.sleep(1.5)  # the page retries meanwhile and is refused
        emulator.resume_event_streams()
        await expect(page.locator("body.offline")).to_have_count(0, timeout=BOT_TIMEOUT)
        await bot.send_message(ann.id, "live again")
        sent.append("live again")

        rows = pane.locator(".row")
        await expect(rows.last).to_contain_text("live again", timeout=BOT_TIMEOUT)
        shown = await pane.locator(".row").evaluate_all(
            "rows => rows.map(r => r.classList.contains('refused') ? 'REFUSED' :"
            " r.querySelector('.text').textContent)"
        )
        # The refusal stays where it was shown, after "before", not at the end.
        assert shown == ["/start", "before", "REFUSED", "after the refusal", *sent]
        ids = await pane.locator(".row[data-mid]").evaluate_all("r => r.map(x => x.dataset.mid)")
        assert len(ids) == len(set(ids))  # no duplicates
        await page.close()


async def test_taps_on_commands_and_telegram_links_stay_in_the_web_chat(browser: Any) -> None:
    """/commands send themselves, t.me/<bot>?start=CODE sends /start CODE, URLs are links."""
    emulator = Emulator(EmulatorConfig(port=0, rate_limits=False))
    emulator.add_bot(TOKEN, username="other_bot", first_name="Other bot")
    ann = emulator.add_user("Ann")
    emulator.user_sends_text(ann.id, "/start")
    async with emulator, Bot(TOKEN, base_url=emulator.api_base_url) as bot:
        page = await standalone_page(browser, emulator, [ann.id])
        pane = pane_of(page, ann.id)
        await bot.send_message(
            ann.id,
            "Tap /help, join t.me/other_bot?start=XY12, not t.me/someone_else, "
            "read example.com or mail a@example.com, ask @someone_x",
        )
        text = pane.locator(".row.in .text").last
        await expect(text.locator("a.bot-command")).to_have_text("/help")
        links = await text.locator("a:not(.bot-command)").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        assert links == [
            "https://t.me/other_bot?start=XY12",
            "https://t.me/someone_else",
            "https://example.com/",
            "mailto:a@example.com",
        ]
        await expect(text.locator(".mention")).to_have_text("@someone_x")
        outgoing = pane.locator(".row.out")
        await text.locator("a.bot-command").click()
        await expect(outgoing.last).to_have_text(re.compile(r"^/help"))
        pages_before = len(browser.pages)
        await text.get_by_text("t.me/other_bot?start=XY12").click()
        await expect(outgoing.last).to_have_text(re.compile(r"^/start XY12"))
        await text.get_by_text("t.me/someone_else").click()
        await expect(pane.locator(".toast")).to_contain_text("Telegram link")
        assert len(browser.pages) == pages_before  # nothing opened, nothing left loopback
        chat = emulator.chat(emulator.bot(), ann.id)
        assert [m.text for m in chat.messages.values() if m.sender == "user"] == [
            "/start",
            "/help",
            "/start XY12",
        ]
        await page.close()


async def test_keyboards_labels_and_panes_behave(browser: Any) -> None:
    """The placeholder comes back, labels follow the emulator, closing a pane keeps focus."""
    emulator = Emulator(EmulatorConfig(port=0, rate_limits=False))
    emulator.add_bot(TOKEN, username="other_bot", first_name="Other bot")
    people = [emulator.add_user(name) for name in ("Ann", "Bo", "Cy")]
    for person in people:
        emulator.user_sends_text(person.id, "/start")
    ann = people[0]
    async with emulator, Bot(TOKEN, base_url=emulator.api_base_url) as bot:
        page = await standalone_page(browser, emulator, [p.id for p in people])
        pane = pane_of(page, ann.id)
        field = pane.locator(".text-input")
        await bot.send_message(
            ann.id,
            "Choose",
            reply_markup=ReplyKeyboardMarkup(
                [[KeyboardButton("Yes")]], input_field_placeholder="Yes or no?"
            ),
        )
        await expect(field).to_have_attribute("placeholder", "Yes or no?")
        await bot.send_message(ann.id, "Thanks", reply_markup=ReplyKeyboardRemove())
        await expect(pane.locator(".reply-keyboard")).to_be_hidden()
        await expect(field).to_have_attribute("placeholder", "Message")

        # Sending clears the field at once; a refusal gives the text back.
        await field.fill("x" * 4097)
        await field.press("Enter")
        await expect(pane.locator(".row.refused").last).to_contain_text(
            "would split it into several messages"
        )
        await expect(field).to_have_value("x" * 4097)

        emulator.set_label(ann.id, "collector · 东城组")
        await expect(pane.locator(".pane-sub")).to_contain_text("collector · 东城组")
        emulator.set_deactivated(ann.id)
        await expect(pane.locator(".pane-sub")).to_contain_text("deleted account")

        panes = page.locator(".pane")
        await expect(panes).to_have_count(3)
        await pane_of(page, people[2].id).locator(".text-input").click()
        await expect(page.locator(".pane.active")).to_have_attribute("data-user", str(people[2].id))
        await pane_of(page, ann.id).locator(".pane-close").click()
        await expect(panes).to_have_count(2)
        await expect(page.locator(".pane.active")).to_have_attribute("data-user", str(people[2].id))
        await page.close()


async def test_phone_drawer_clock_and_location(sandbox: Sandbox, browser: Any) -> None:
    """On a phone: the drawer opens and closes (backdrop, Escape), the clock jumps, a day
    separator appears, the bot counts from the new day, a location is shared."""
    page, problems = await open_page(browser, sandbox, PHONE)
    chen = sandbox.people["collector2"]  # English
    await page.select_option("#switcher", str(chen.id))
    pane = pane_of(page, chen.id)
    font = await pane.locator(".text-input").evaluate("e => getComputedStyle(e).fontSize")
    assert font == "16px"  # no zoom on focus

    async def days_overdue() -> dict[str, int]:
        # Her payment reminders may arrive meanwhile (the sandbox's poller runs on this clock).
        incoming = pane.locator(".row.in").filter(has_text="Cases by urgency")
        count = await incoming.count()
        await send(pane, "/cases")
        await expect(incoming).to_have_count(count + 1, timeout=BOT_TIMEOUT)
        reply = incoming.last
        await expect(reply).to_contain_text("Cases by urgency")
        found = re.findall(r"(\S+)\s*\n+\s*Overdue [^\n]*?, (\d+) days", await reply.inner_text())
        assert found, await reply.inner_text()
        return {contract: int(days) for contract, days in found}

    before = await days_overdue()
    await expect(pane.locator(".day-separator")).to_have_count(1)

    drawer = page.locator("#sidebar")
    await page.locator("#open-sidebar").click()
    await expect(drawer).to_be_in_viewport()
    await page.locator("#backdrop").click(position={"x": 360, "y": 400})
    await expect(drawer).not_to_be_in_viewport()
    await page.locator("#open-sidebar").click()
    await expect(drawer).to_be_in_viewport()
    shown = await page.locator("#clock-now").inner_text()
    await page.get_by_role("button", name="+1 day").click()
    await expect(page.locator("#clock-now")).not_to_have_text(shown)
    await page.keyboard.press("Escape")
    await expect(drawer).not_to_be_in_viewport()

    after = await days_overdue()
    assert {c: after[c] - d for c, d in before.items() if c in after} == dict.fromkeys(before, 1)
    await expect(pane.locator(".day-separator")).to_have_count(2)  # a new day in the chat

    await pane.get_by_role("button", name="Share a location").click()
    await page.get_by_role("button", name="Send location").click()
    await expect(pane.locator(".row.out .location")).to_contain_text("31.23040, 121.47370")
    assert problems == []
    await page.close()


async def test_the_page_refuses_a_huge_file_before_uploading(
    sandbox: Sandbox, browser: Any, tmp_path: Path
) -> None:
    page, problems = await open_page(browser, sandbox, WIDE)
    uploads: list[Request] = []
    page.on("request", lambda r: uploads.append(r) if r.url.endswith("/document") else None)
    collector = sandbox.people["collector"]
    await page.locator(f'.person-button[data-user="{collector.id}"]').click()
    pane = pane_of(page, collector.id)
    await pane.locator(".file-input").set_input_files(
        {"name": "video.mp4", "mimeType": "video/mp4", "buffer": b"\0" * (REQUEST_MAX_BYTES + 1)}
    )
    await expect(pane.locator(".row.refused").last).to_contain_text("file is too big")
    await pane.locator(".file-input").set_input_files(
        {"name": "ok.txt", "mimeType": "text/plain", "buffer": b"fine"}
    )
    await expect(pane.locator(".row.out .document")).to_contain_text("ok.txt")
    assert len(uploads) == 1  # only ok.txt went to the emulator
    assert uploads[0].headers.get("x-webchat") == "1"
    assert problems == []
    assert BOT_USERNAME in sandbox.invite_link
    await page.close()
