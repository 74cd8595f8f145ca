"""A production install has no aiohttp: the bot's own path never imports it nor the emulator.

aiohttp comes only with the ``sandbox`` extra (the emulator, ``tgemu``, is an HTTP server; the
bot is only a client of Telegram). Here, in a fresh interpreter of the dev install with aiohttp
hidden, the bot is built and its modules imported as ``qingshou run`` with a token does; and
``qingshou run`` without one says in one line which extra to install. The real thing, a fresh
venv with ``pip install .``, is ``tests/e2e/test_production_install.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: aiohttp hidden as if not installed: importing it raises ModuleNotFoundError(name="aiohttp").
HIDE_AIOHTTP = "import sys; sys.modules['aiohttp'] = None\n"


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINGSHOU_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", HIDE_AIOHTTP + code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_bot_builds_and_imports_nothing_of_the_emulator_without_aiohttp(tmp_path):
    done = _python(
        textwrap.dedent("""
            from pathlib import Path
            import bot.app, bot.cli, handlers, reminders
            from bot.config import Secret, Settings
            bot.app.build_application(Settings(token=Secret("1:x"), db_path=Path("q.db")))
            loaded = [name for name, module in sys.modules.items() if module is not None]
            print(sorted(m for m in loaded if m.split(".")[0] in ("aiohttp", "tgemu")
                         or m.startswith("bot.sandbox")))
        """),
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_run_without_a_token_and_without_aiohttp_names_the_extra_in_one_line(tmp_path):
    for command, says in [
        ("run", "QINGSHOU_BOT_TOKEN is not set"),
        ("sandbox", "the sandbox needs"),
        ("emulator", "the emulator needs"),
    ]:
        done = _python(f"import bot.cli; sys.exit(bot.cli.main([{command!r}]))", tmp_path)
        assert done.returncode == 2, done
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith(f"qingshou: {says}")
        assert "(aiohttp is not installed): pip install 'qingshou[sandbox]'" in done.stderr
