"""Template lines never run together.

The environment strips the newline after a block tag (``trim_blocks``), which is right for a
line that is only tags, and wrong for a line of text that ends with one: ``A{% endif %}`` then
``B`` renders as ``AB`` (“合同号”→合同号“借款人”→…, ``(4)◆ 李组长``). Such a line must end in
``+%}`` (keep the newline) or ``-%}`` (join on purpose).
"""

from __future__ import annotations

import re

from bot.render import TEMPLATE_DIR

_TAG_ONLY = re.compile(r"^\s*(\{%(?:(?!%\}).)*%\}\s*|\{#(?:(?!#\}).)*#\}\s*)*$")
_ENDS_WITH_PLAIN_BLOCK = re.compile(r"[^+\-]%\}\s*$")
_ONE_LINE_DEFINITION = re.compile(r"^\s*\{%-?\s*(macro|set)\b")


def offending_lines() -> list[str]:
    found = []
    for path in sorted(TEMPLATE_DIR.rglob("*.j2")):
        lines = path.read_text(encoding="utf-8").splitlines()
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        for i, line in enumerate(lines):
            if i >= last or _TAG_ONLY.match(line) or _ONE_LINE_DEFINITION.match(line):
                continue
            if _ENDS_WITH_PLAIN_BLOCK.search(line):
                found.append(f"{path.relative_to(TEMPLATE_DIR)}:{i + 1}: {line[-60:]}")
    return found


def test_no_line_of_text_loses_its_newline_to_a_trailing_block_tag():
    assert offending_lines() == []
