"""One phone screen (issue 16, item 6): every message of a collector's day fits a 375 px phone.

The demo collector 张伟, his supervisor 李组长 and the English-speaking collector Chen Jing go
through the main screens in the web chat at 375×667 CSS px (an iPhone SE / 8): /start, /help,
/today, /cases, the card and its 📄 file, a /prep step, the brief, an /outcome, a 12-instalment
/commit plan and its approval request, a reminder with its answer buttons, the supervisor's
digest and its chart, /settings. For every message the bot sends:

- its bubble is no taller than one screen: the viewport's height less the chat's input bar
  (the chat's own header and the sandbox's person switcher are not subtracted: a phone scrolls
  them away less often than the input bar, and Telegram's header is smaller);
- no inline button's label is cut short (the web chat, like Telegram, ends a label that does
  not fit with an ellipsis: the label's ``scrollWidth`` exceeds its ``clientWidth``).

The tallest message, in rendered lines (the bubble's height over its line height) and in
pixels, is printed (``pytest -s``) and written to ``phone-screen.txt`` beside the screenshots.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import Sandbox
from tests.browser.test_webchat import BOT_TIMEOUT, expect, open_page, pane_of, send

try:
    from playwright.async_api import Locator, Page
except ImportError:  # pragma: no cover - CI installs the dev extra
    pytest.skip("playwright is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser

#: A common small phone (iPhone SE 2nd gen / iPhone 8): 375×667 CSS px.
PHONE_SCREEN = {"width": 375, "height": 667}

#: Labels still cut at 375 px, left for now: the date picker's seven columns and its month
#: (the flow engine's calendar). A label cut anywhere else fails the test.
KNOWN_CUT = re.compile(r"\d{1,2}\*|十二月 2026")


#: Every incoming bubble of a pane: its size, its lines, and every inline button whose label
#: does not fit.
MEASURE = """(pane) => {
  const composer = pane.querySelector('.composer');
  const screen = window.innerHeight - composer.getBoundingClientRect().height;
  const rows = [...pane.querySelectorAll('.row.in')];
  return {screen, visible: pane.querySelector('.messages').clientHeight, rows: rows.map((row) => {
    const bubble = row.querySelector('.bubble');
    const text = row.querySelector('.text');
    const style = getComputedStyle(bubble);
    const lineHeight = parseFloat(style.lineHeight);
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const buttons = [...row.querySelectorAll('.inline-button')];
    const photo = row.querySelector('img.photo');
    return {
      mid: row.dataset.mid,
      text: text ? text.innerText : '',
      height: bubble.getBoundingClientRect().height,
      lines: text ? Math.round((bubble.clientHeight - padding) / lineHeight) : 0,
      textLines: text ? text.textContent.split('\\n').length : 0,
      cut: buttons.filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => b.innerText),
      photo: photo ? [photo.getBoundingClientRect().width, photo.naturalWidth] : null,
    };
  })};
}"""


@dataclass
class Seen:
    """What the check found in one pane, by message id; an edited message keeps its worst."""

    who: str
    screen: float = 0
    visible: float = 0
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def look(self, pane: Locator) -> None:
        found = await pane.evaluate(MEASURE)
        self.screen, self.visible = found["screen"], found["visible"]
        for row in found["rows"]:
            earlier = self.rows.get(row["mid"])
            if earlier is not None:
                row["cut"] = sorted(set(row["cut"]) | set(earlier["cut"]))
                if earlier["height"] > row["height"]:
                    for key in ("height", "lines", "textLines", "text"):
                        row[key] = earlier[key]
            self.rows[row["mid"]] = row


class Chat:
    """One person's pane: type, tap, wait for the bot, and measure every bubble after each."""

    def __init__(self, page: Page, user_id: int, seen: Seen) -> None:
        self.page, self.user_id, self.seen = page, user_id, seen
        self.pane = pane_of(page, user_id)
        self.incoming = self.pane.locator(".row.in")

    async def open(self) -> Chat:
        await self.page.select_option("#switcher", str(self.user_id))
        await expect(self.pane).to_be_visible()
        return self

    async def wait(self, expected: str | re.Pattern[str]) -> Locator:
        message = self.incoming.filter(has_text=expected).last
        await expect(message).to_be_visible(timeout=BOT_TIMEOUT)
        await self.seen.look(self.pane)
        return message

    async def _state(self) -> tuple[int, str]:
        count = await self.incoming.count()
        return count, await self.incoming.last.inner_text() if count else ""

    async def _answered(self, before: tuple[int, str]) -> None:
        """Until the bot has answered: a new message, or the last one edited."""
        for _ in range(BOT_TIMEOUT // 50):
            if await self._state() != before:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.seen.who}: no answer after {before[1][:60]!r}")

    async def say(self, text: str, expected: str = "") -> Locator:
        before = await self._state()
        await send(self.pane, text)
        await self._answered(before)
        return await self.wait(expected)

    async def tap(
        self, label: str, expected: str = "", *, within: Locator | None = None
    ) -> Locator:
        where = within if within is not None else self.pane
        before = await self._state()
        await where.locator(".inline-button", has_text=label).last.click()
        await self._answered(before)
        return await self.wait(expected)


async def _collectors_day(page: Page, sandbox: Sandbox, seen: dict[str, Seen], shots: Path) -> None:
    zhang = await Chat(page, sandbox.people["collector"].id, seen["张伟"]).open()
    li = Chat(page, sandbox.people["supervisor"].id, seen["李组长"])
    await zhang.say("/start", "张伟")
    await zhang.say("/help", "/today")
    await zhang.say("/today", "今日待办")
    await zhang.say("/cases", "按紧迫程度")
    card = await zhang.say("/case 王建国", "DC2024-0102")
    await page.screenshot(path=str(shots / "phone-card.png"))
    await zhang.tap("📄", "🗂", within=card)
    await zhang.say("/brief 王建国", "王建国")
    await zhang.say("/prep 吴敏", "对方有还款能力吗？")  # one step of a preparation
    await zhang.say("/cancel")

    # The meeting's outcome, then the plan: twelve monthly instalments, which needs approval.
    await zhang.say("/outcome 王建国", "计划")
    await zhang.tap("✓ 保留")
    for _ in range(8):  # the questions the prep left open, each put off
        if "今天当场收回多少" in await zhang.incoming.last.inner_text():
            break
        await zhang.tap("⏭ 以后再说")
    await zhang.say("30000", "用什么方式付的？")
    await zhang.tap("现金", "收据")
    await zhang.tap("⏭ 以后再说", "下一步做什么？")
    await zhang.tap("达成偿还本费协议", "什么时候？")
    await zhang.say("12月10日", "已记录")
    await zhang.say("/commit 王建国", "今天")
    await zhang.tap("✓ 保留", "再定还款计划")
    await zhang.say("每月15号 共12期", "共12期")
    await zhang.tap("每期等额", "分期合计多少？")
    await zhang.say("240000", "谁作出的承诺？")
    plan = await zhang.tap("借款人本人", "王建国的还款协议")
    await expect(plan).to_contain_text("12.")
    await page.screenshot(path=str(shots / "phone-plan.png"))
    await zhang.tap("🔒 请示上级", "已向李组长请示")

    await li.open()
    request = await li.wait("请示批准")
    await li.tap("✅ 批准", "您批准了", within=request)
    await zhang.open()
    told = await zhang.wait("批准了")
    await zhang.tap("✅ 完成", "已保存", within=told)
    await zhang.say("/case 王建国", "DC2024-0102")

    # The first instalment's morning: the reminder and its answer buttons, and /today.
    await page.locator("#open-sidebar").click()
    await page.fill("#clock-at", "2026-12-15T09:00")
    await page.get_by_role("button", name="Jump", exact=True).click()
    await page.locator("#close-sidebar").click()
    await zhang.wait(re.compile(r"今天：\d+笔还款到期"))  # with the demo week's own
    await page.screenshot(path=str(shots / "phone-reminder.png"))
    await zhang.say("/today", "今日待办")
    await zhang.say("/settings")

    await li.open()
    await li.say("/digest", "📊")
    await page.screenshot(path=str(shots / "phone-digest.png"))
    await li.say("/settings", "⚙️")


async def _english(page: Page, sandbox: Sandbox, seen: Seen) -> None:
    chen = await Chat(page, sandbox.people["collector2"].id, seen).open()
    await chen.say("/help", "/today")
    await chen.say("/today", "Today")
    card = await chen.say("/case 陈秀英", "DC2024-0318")
    await chen.tap("📄", "🗂", within=card)
    await chen.say("/case 孙丽", "DC2024-0690")


async def test_every_message_of_the_day_fits_one_phone_screen(
    sandbox: Sandbox, browser: Any, screenshot_dir: Path
) -> None:
    page, problems = await open_page(browser, sandbox, PHONE_SCREEN)
    seen = {name: Seen(name) for name in ("张伟", "李组长", "Chen Jing")}
    await _collectors_day(page, sandbox, seen, screenshot_dir)
    await _english(page, sandbox, seen["Chen Jing"])

    rows = [(s.who, s, row) for s in seen.values() for row in s.rows.values()]
    assert len(rows) >= 30  # the whole journey was measured
    who, screen, tallest = max(rows, key=lambda r: r[2]["height"])
    report = [
        f"viewport {PHONE_SCREEN['width']}×{PHONE_SCREEN['height']} CSS px; one screen = "
        f"{screen.screen:.0f} px (less the input bar); the chat's visible area "
        f"{screen.visible:.0f} px",
        f"{len(rows)} bot messages measured; the tallest: {tallest['lines']} lines "
        f"({tallest['textLines']} lines of text), {tallest['height']:.0f} px, to {who}: "
        f"{tallest['text'].splitlines()[0]}",
    ]
    for name, _, row in sorted(rows, key=lambda r: -r[2]["height"])[:8]:
        first = row["text"].splitlines()[0]
        report.append(f"  {row['lines']:>3} lines {row['height']:>5.0f} px  {name}: {first}")
    charts = [row["photo"] for _, _, row in rows if row["photo"]]
    for shown, natural in charts:
        report.append(
            f"chart: {natural} px wide, shown {shown:.0f} px wide ({shown / natural:.2f}×)"
        )
    cut = sorted({label for _, _, row in rows for label in row["cut"]})
    report.append(f"labels cut: {cut or 'none'}")
    (screenshot_dir / "phone-screen.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    print("\n" + "\n".join(report))

    too_tall = [
        f"{name}: {row['lines']} lines, {row['height']:.0f} px: {row['text'][:60]!r}"
        for name, s, row in rows
        if row["height"] > s.screen
    ]
    assert too_tall == []
    assert [label for label in cut if not KNOWN_CUT.fullmatch(label)] == []
    assert charts  # the digest's chart was drawn
    assert problems == []
    await page.close()
