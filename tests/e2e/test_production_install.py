"""``pip install .`` in a fresh venv: the bot runs without aiohttp and without the emulator's extra.

A production bot is only a client of Telegram; aiohttp (the emulator's HTTP server) comes with
the ``sandbox`` extra. Here the project is installed as an operator would, into a venv that sees
nothing of this one, and that bot answers a person through the emulator of the dev install.

It costs a venv and one ``pip install`` (~20 s, wheels from pip's configured index and cache),
shared by the tests of this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.e2e.conftest import TOKEN
from tgemu import Emulator, EmulatorClient, Person

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.install, pytest.mark.timeout(300)]


def _clean_env() -> dict[str, str]:
    """This environment without our settings and without this checkout on the import path."""
    drop = ("QINGSHOU_", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _copy_project(dest: Path) -> None:
    """What ``pip install .`` reads: pyproject, README and the packages it ships (copied, so the
    build writes its ``build/`` and egg-info there and not into this checkout)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tops = {
        name.rstrip("*") for name in config["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for top in sorted(tops):
        shutil.copytree(ROOT / top, dest / top, ignore=shutil.ignore_patterns("__pycache__"))


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` directory of a fresh venv (no system site-packages) with ``pip install .``."""
    root = tmp_path_factory.mktemp("production")
    _copy_project(root / "src")
    venv = root / "venv"
    # No pip of its own: this venv's pip installs into it (--python), which saves ensurepip.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--quiet", "--disable-pip-version-check", str(root / "src")],
        env=_clean_env(), capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"pip install . failed:\n{done.stdout}\n{done.stderr}"
    return venv / "bin"


def _run(production: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(production / args[0]), *args[1:]],
        cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_production_install_has_no_aiohttp_and_says_which_extra_the_sandbox_needs(
    production, tmp_path
):
    aiohttp = _run(production, "python", "-c", "import aiohttp", cwd=tmp_path)
    assert aiohttp.returncode != 0
    assert "No module named 'aiohttp'" in aiohttp.stderr
    # The emulator's files ship in the wheel (the extra makes them work); without it, inert.
    tgemu = _run(production, "python", "-c", "import tgemu", cwd=tmp_path)
    assert "No module named 'aiohttp'" in tgemu.stderr
    where = _run(production, "python", "-c", "import bot; print(bot.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(production.parent))  # the installed bot, not this one

    sandbox = _run(production, "qingshou", "run", cwd=tmp_path)  # no token: the sandbox
    assert sandbox.returncode == 2
    assert sandbox.stdout == ""
    assert sandbox.stderr == (
        "qingshou: QINGSHOU_BOT_TOKEN is not set, and the local sandbox that runs instead needs "
        "the emulator's extra (aiohttp is not installed): pip install 'qingshou[sandbox]'\n"
    )


async def test_a_production_install_answers_a_person_through_the_emulator(
    production: Path, emulator: Emulator, client: EmulatorClient, tmp_path: Path
):
    env = {
        **_clean_env(),
        "QINGSHOU_BOT_TOKEN": TOKEN,
        "QINGSHOU_API_URL": emulator.api_base_url,
        "QINGSHOU_DB": str(tmp_path / "production.db"),
        "QINGSHOU_LANG": "en",
        "PYTHONUNBUFFERED": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        str(production / "qingshou"), "run",
        cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    log = ""
    try:
        async with asyncio.timeout(60):
            while "qingshou is up" not in log:
                line = await proc.stdout.readline()
                assert line, f"the installed bot exited at start-up:\n{log}"
                log += line.decode(errors="replace")
        stranger = await Person.create(client, first_name="Stranger", language_code="en")
        await stranger.send("/start")
        await stranger.expect(contains="only for the staff", timeout=20)
        assert {"getMe", "getUpdates", "sendMessage"} <= {
            call["method"] for call in await client.calls()
        }
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
        log += rest.decode(errors="replace")
    assert proc.returncode in (0, 130), log
    assert "Traceback" not in log
