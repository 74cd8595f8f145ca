"""The web chat in a real headless Chromium: people use the whole bot without Telegram.

Each test starts the sandbox (emulator + real bot + demo cooperative) on a free port and opens
the page the way a trainer would. The screenshots in the README come from these runs
(``QINGSHOU_SCREENSHOT_DIR=docs``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    ReplyKeyboardMarkup,
)

from bot.sandbox import Sandbox
from tests.browser.conftest import DOCUMENT_MAX_BYTES, REQUEST_MAX_BYTES
from tgemu import Emulator, EmulatorConfig, tiny_png

try:
    from playwright.async_api import ConsoleMessage, Locator, Page, expect
except ImportError:  # pragma: no cover - CI installs the dev extra
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
WIDE = {"width": 1280, "height": 800}
#: How long to wait for the bot; the outbox (notifications) ticks every 2 s.
BOT_TIMEOUT = 10_000
TOKEN = "123456789:TEST-token-for-the-web-chat"


async def open_page(
    browser: Any, sandbox: Sandbox, viewport: dict[str, int]
) -> tuple[Page, list[str]]:
    """The web chat in a new tab, and a list collecting its script errors."""
    page: Page = await browser.new_page()
    await page.set_viewport_size(viewport)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    def on_console(message: ConsoleMessage) -> None:
        # Chromium logs every refused request (a 400 the page then shows) as a console error.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    page.on("console", on_console)
    await page.goto(f"{sandbox.emulator.url}/")
    await expect(page.locator("body.ready")).to_have_count(1)
    return page, problems


async def send(pane: Locator, text: str) -> None:
    await pane.locator(".text-input").fill(text)
    await pane.locator(".text-input").press("Enter")


def pane_of(page: Page, user_id: int) -> Locator:
    return page.locator(f'.pane[data-user="{user_id}"]')


async def test_phone_join_help_and_language(
    sandbox: Sandbox, browser: Any, screenshot_dir: Path
) -> None:
    """A newcomer on a phone joins with the invite, asks for help and switches to English."""
    page, problems = await open_page(browser, sandbox, PHONE)
    stranger = sandbox.people["stranger"]

    # One pane at a time on a phone; the switcher picks who you are.
    await expect(page.locator("#switcher")).to_be_visible()
    await expect(page.locator("#sidebar")).not_to_be_in_viewport()
    await page.select_option("#switcher", str(stranger.id))
    pane = pane_of(page, stranger.id)
    await expect(pane).to_be_visible()
    await expect(page.locator(".pane:visible")).to_have_count(1)
    await expect(pane.locator(".pane-name")).to_have_text("New Colleague")
    await expect(pane.locator(".start-button")).to_be_visible()  # never talked to the bot

    await send(pane, f"/start {sandbox.invite_code}")
    await expect(pane.locator(".row.out").last).to_contain_text(sandbox.invite_code)
    incoming = pane.locator(".row.in")
    await expect(incoming.last).to_contain_text("歡迎，New Colleague", timeout=BOT_TIMEOUT)
    await expect(pane.locator(".start-button")).to_be_hidden()

    # /help from the bot's command menu (what the bot set with setMyCommands).
    await pane.get_by_role("button", name="Commands").click()
    await pane.locator(".commands-menu .command", has_text="/help").click()
    await expect(pane.locator(".commands-menu")).to_be_hidden()
    await expect(incoming).to_have_count(2, timeout=BOT_TIMEOUT)
    help_message = incoming.last
    await expect(help_message).to_contain_text("/lang")
    # HTML formatting is rendered, not shown as tags.
    await expect(help_message.locator(".text b").first).to_be_visible()
    await expect(help_message).not_to_contain_text("<b>")

    await send(pane, "/lang")
    english = pane.get_by_role("button", name="English")
    await expect(english).to_be_visible(timeout=BOT_TIMEOUT)
    await expect(pane.get_by_role("button", name="繁體中文")).to_be_visible()
    await page.screenshot(path=str(screenshot_dir / "webchat-phone.png"))

    await english.click()
    choice = incoming.last
    await expect(choice).to_contain_text(
        "From now on I will write to you in English.", timeout=BOT_TIMEOUT
    )
    # The bot edited its message: replaced in place, marked edited, buttons gone.
    await expect(incoming).to_have_count(3)
    await expect(choice.locator(".edited")).to_be_visible()
    await expect(english).to_have_count(0)

    assert problems == []
    await page.close()


async def test_two_people_side_by_side(
    sandbox: Sandbox, browser: Any, screenshot_dir: Path
) -> None:
    """A supervisor invites a new person; both panes update live, without a refresh."""
    page, problems = await open_page(browser, sandbox, WIDE)
    supervisor = sandbox.people["supervisor"]

    await expect(page.locator("#switcher")).to_be_hidden()  # wide: the people list instead
    await page.locator(f'.person-button[data-user="{supervisor.id}"]').click()
    left = pane_of(page, supervisor.id)
    await expect(left.locator(".pane-name")).to_have_text("李组长")
    await expect(left.locator(".pane-sub")).to_have_text(
        re.compile(r"^supervisor · 东城组 · chat with")
    )

    # A brand-new stranger, opened beside the supervisor.
    await page.fill("#new-name", "马丽")
    await page.select_option("#new-lang", "zh-hans")
    await page.click("#new-person-button")
    await expect(page.locator(".pane")).to_have_count(2)
    right = page.locator(".pane").nth(1)
    await expect(right.locator(".pane-name")).to_have_text("马丽")
    newcomer_id = int(await right.get_attribute("data-user") or 0)
    assert newcomer_id not in {p.id for p in sandbox.people.values()}

    await send(left, "/invite")
    invite = left.locator(".row.in").last
    await expect(invite.locator(".text code")).to_contain_text("/start ", timeout=BOT_TIMEOUT)
    command = (await invite.locator(".text code").inner_text()).strip()
    assert re.fullmatch(r"/start \S+", command)

    await send(right, command)
    await expect(right.locator(".row.in").last).to_contain_text("马丽", timeout=BOT_TIMEOUT)
    # The outbox tells the inviter, in their own pane, live.
    await expect(left.locator(".row.in").last).to_contain_text(
        "马丽已通过您的邀请加入“东城组”", timeout=BOT_TIMEOUT
    )
    await send(right, "/lang")
    await expect(right.get_by_role("button", name="English")).to_be_visible(timeout=BOT_TIMEOUT)

    # The sandbox's time control: forward is fine, backwards is refused.
    await page.get_by_role("button", name="Tomorrow 09:00").click()
    await expect(page.locator("#clock-now")).to_contain_text("09:00:")
    await expect(page.locator("#clock-tz")).to_have_text("Asia/Shanghai")
    await page.screenshot(path=str(screenshot_dir / "webchat.png"))
    await page.fill("#clock-at", "2020-01-01T09:00")
    await page.get_by_role("button", name="Jump", exact=True).click()
    await expect(page.locator("#clock-error")).to_contain_text("only moves forward")

    assert problems == []
    await page.close()


async def test_refusals_and_uploads_are_shown_in_the_chat(
    sandbox: Sandbox, browser: Any, tmp_path: Path
) -> None:
    """Telegram's refusals appear in the chat; files and locations go through; no HTML runs."""
    page, problems = await open_page(browser, sandbox, WIDE)
    collector = sandbox.people["collector"]
    await page.locator(f'.person-button[data-user="{collector.id}"]').click()
    pane = pane_of(page, collector.id)
    refused = pane.locator(".row.refused")

    await pane.locator(".send-button").click()  # nothing typed
    await expect(refused.last).to_contain_text("Not sent: text must be non-empty")

    await send(pane, "长" * 5000)
    await expect(refused.last).to_contain_text("longer than 4096")
    await expect(refused).to_have_count(2)
    assert await pane.locator(".row.out:not(.refused)").count() == 0

    file_input = pane.locator(".file-input")
    over_limit = DOCUMENT_MAX_BYTES + 50_000  # the emulator refuses it (413)
    await file_input.set_input_files(
        {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%" * over_limit}
    )
    await expect(refused.last).to_contain_text("file is too big")
    await expect(refused.last).to_contain_text("scan.pdf")
    huge = REQUEST_MAX_BYTES + 1  # more than the emulator accepts at all: refused in the page
    await file_input.set_input_files(
        {"name": "video.mp4", "mimeType": "video/mp4", "buffer": b"\0" * huge}
    )
    await expect(refused.last).to_contain_text("video.mp4")
    await expect(refused.last).to_contain_text("file is too big")
    await expect(refused).to_have_count(4)

    note = "借款人 承诺 周五 还款 500 元\n".encode()
    await file_input.set_input_files(
        {"name": "visit-notes.txt", "mimeType": "text/plain", "buffer": note}
    )
    document = pane.locator(".row.out .document").last
    await expect(document).to_contain_text("visit-notes.txt")
    response = await page.request.get(await document.evaluate("link => link.href"))
    assert response.ok
    assert await response.body() == note
    assert "attachment" in response.headers["content-disposition"]

    await pane.get_by_role("button", name="Share a location").click()
    await page.get_by_role("button", name="Send location").click()
    await expect(pane.locator(".row.out .location")).to_contain_text("31.23040, 121.47370")

    # What a person types is text, never markup, even if it looks like HTML.
    trap = '<b>not bold</b> <img src=x onerror="window.pwned=1">'
    await send(pane, trap)
    mine = pane.locator(".row.out:not(.refused)").last
    await expect(mine.locator(".text")).to_have_text(trap)
    assert await mine.locator(".text b, .text img").count() == 0
    assert await page.evaluate("window.pwned === undefined")

    # The bot answered (its reply comes after the trap), and the page logged no errors.
    trap_id = int(await mine.get_attribute("data-mid") or 0)
    reply = pane.locator(f'.row.in[data-mid="{trap_id + 1}"]')
    await expect(reply).to_be_visible(timeout=BOT_TIMEOUT)
    assert problems == []
    await page.close()


async def test_standalone_emulator_shows_what_telegram_shows(browser: Any) -> None:
    """Without a sandbox: no time control; formatting, keyboards, media, toasts and alerts."""
    emulator = Emulator(EmulatorConfig(port=0, rate_limits=False))
    emulator.add_bot(TOKEN, username="other_bot", first_name="Other bot")
    ann = emulator.add_user("Ann", "Lee", language_code="en")
    emulator.user_sends_text(ann.id, "/start")
    async with emulator, Bot(TOKEN, base_url=emulator.api_base_url) as bot:
        page: Page = await browser.new_page()
        await page.goto(f"{emulator.url}/#p={ann.id}")
        await expect(page.locator("body.ready")).to_have_count(1)
        await expect(page.locator("#clock")).to_be_hidden()
        pane = pane_of(page, ann.id)
        await expect(pane.locator(".row.out")).to_have_text(re.compile("/start"))

        await bot.send_message(
            ann.id,
            '<b>Bold</b> <tg-spoiler>secret</tg-spoiler> <a href="https://example.com/x">link</a>'
            " <code>x &lt; y</code> &lt;script&gt;",
            parse_mode="HTML",
            reply_markup=ReplyKeyboardMarkup([["Yes", "No"]], one_time_keyboard=True),
        )
        text = pane.locator(".row.in .text").last
        await expect(text.locator("b")).to_have_text("Bold")
        await expect(text.locator(".spoiler")).to_have_text("secret")
        await expect(text.locator("a")).to_have_attribute("href", "https://example.com/x")
        await expect(text.locator("a")).to_have_attribute("rel", "noopener noreferrer")
        await expect(text.locator("code")).to_have_text("x < y")
        await expect(text).to_contain_text("<script>")
        assert await text.locator("script").count() == 0

        await pane.locator(".reply-keyboard").get_by_role("button", name="Yes").click()
        await expect(pane.locator(".row.out").last).to_contain_text("Yes")
        await expect(pane.locator(".reply-keyboard")).to_be_hidden()  # one-time keyboard

        await bot.send_photo(
            ann.id, tiny_png(40, 30), caption="<i>the house</i>", parse_mode="HTML"
        )
        photo = pane.locator(".row.in img.photo").last
        await expect(photo).to_be_visible()
        assert await photo.evaluate("img => img.complete && img.naturalWidth") == 40
        await expect(pane.locator(".row.in .text i").last).to_have_text("the house")

        await bot.send_document(ann.id, InputFile(b"a,b\n1,2\n", filename="plan.csv"))
        link = pane.locator(".row.in .document").last
        await expect(link).to_contain_text("plan.csv")
        async with page.expect_download() as download_info:
            await link.click()
        download = await download_info.value
        assert download.suggested_filename == "plan.csv"

        choice = await bot.send_message(
            ann.id,
            "Pick one",
            reply_markup=InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton("Toast", callback_data="t")],
                    [InlineKeyboardButton("Alert", callback_data="a")],
                ]
            ),
        )
        offset = 0

        async def next_query() -> str:
            nonlocal offset
            for _ in range(20):
                for update in await bot.get_updates(offset=offset, timeout=1):
                    offset = update.update_id + 1
                    if update.callback_query is not None:
                        return update.callback_query.id
            raise AssertionError("no callback query arrived")

        await pane.get_by_role("button", name="Toast").click()
        await bot.answer_callback_query(await next_query(), text="Saved")
        await expect(pane.locator(".toast")).to_have_text("Saved")
        await pane.get_by_role("button", name="Alert").click()
        await bot.answer_callback_query(await next_query(), text="Really?", show_alert=True)
        await expect(page.locator("#alert")).to_be_visible()
        await expect(page.locator("#alert-text")).to_have_text("Really?")
        await page.locator("#alert-ok").click()
        await expect(page.locator("#alert")).to_be_hidden()

        await bot.edit_message_text("Picked", chat_id=ann.id, message_id=choice.message_id)
        edited = pane.locator(f'.row[data-mid="{choice.message_id}"]')
        await expect(edited).to_contain_text("Picked")
        await expect(edited.locator(".edited")).to_be_visible()
        await expect(pane.get_by_role("button", name="Toast")).to_have_count(0)
        await page.close()
