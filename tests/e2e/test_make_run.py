"""`make run` without a token: the real command brings up the sandbox, and the bot answers."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

import httpx

from tgemu import EmulatorClient, Person


async def test_run_without_token_starts_a_working_sandbox(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINGSHOU_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--port",
        "0",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = ""
    try:
        while "Ctrl-C stops the sandbox" not in output:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, f"sandbox exited early:\n{output}"
            output += line.decode()
        url = re.search(r"web chat:\s+(http://127\.0\.0\.1:\d+)/", output)[1]
        code = re.search(r"/start ([A-Za-z0-9_-]+)", output)[1]
        stranger_id = int(re.search(r"(\d+)\s+New Colleague", output)[1])

        async with httpx.AsyncClient(base_url=url) as http:
            page = await http.get("/")
        assert page.status_code == 200
        assert "web chat" in page.text.lower()
        async with EmulatorClient(url) as client:
            stranger = Person(client, stranger_id)
            await stranger.send(f"/start {code}")
            welcome = await stranger.expect(contains="歡迎", timeout=10)  # zh-hant demo person
            assert "东城组" in welcome.text
    finally:
        proc.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode in (0, 130), rest
    assert "Traceback" not in rest[0].decode()
