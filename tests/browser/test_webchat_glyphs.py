"""The web chat draws the bot's emoji and Chinese as glyphs, not as empty boxes.

The bot's buttons and lists use emoji (📝 Note, 👤 Lead collector, ❓, ⛔ switched off); without a
colour emoji font beside the CJK one Chromium draws them as boxes. ``.ci/run`` installs both;
on a machine without the emoji font this test skips (and fails on CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from bot.sandbox import Sandbox
from tests.browser.test_webchat import WIDE, open_page

pytestmark = pytest.mark.browser

#: Draw ``text`` in the page's own font stack and count the coloured pixels: a colour emoji
#: has many, an empty box (or a missing glyph) none.
COLOURED_PIXELS = """(text) => {
  const canvas = document.createElement('canvas');
  canvas.width = 200; canvas.height = 60;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, 200, 60);
  ctx.fillStyle = '#000';
  ctx.font = `40px ${getComputedStyle(document.body).fontFamily}`;
  ctx.fillText(text, 4, 46);
  const data = ctx.getImageData(0, 0, 200, 60).data;
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const r = data[i], g = data[i + 1], b = data[i + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured += 1;
  }
  return coloured;
}"""


def _has_emoji_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout
    return "Noto Color Emoji" in listed


async def test_emoji_in_the_web_chat_are_drawn_in_colour(sandbox: Sandbox, browser: Any) -> None:
    if not _has_emoji_font():
        message = "no colour emoji font (apt-get install fonts-noto-color-emoji)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    page, problems = await open_page(browser, sandbox, WIDE)
    for emoji in ("📝", "👤", "❓", "⛔"):
        assert await page.evaluate(COLOURED_PIXELS, emoji) > 50, emoji
    assert problems == []
