"""The emulator is a package of its own: it imports nothing of the bot.

The sandbox, the tests and the benchmarks use ``tgemu``; ``tgemu`` uses none of them, so it can
serve any bot (``python -m tgemu``) and the bot never needs it (a production install has no
aiohttp).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tgemu

PACKAGE = Path(tgemu.__file__).resolve().parent
PROJECT = frozenset({"bot", "handlers", "reminders", "templates", "bench", "tests"})


def test_the_emulator_imports_nothing_of_the_project():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [
                f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {name}"
                for name in names
                if name.partition(".")[0] in PROJECT
            ]
    assert found == []


def test_python_m_tgemu_is_the_emulator_command():
    done = subprocess.run(
        [sys.executable, "-m", "tgemu", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m tgemu")
