"""The real bot as a separate process (``python -m bot run``), to stop, kill and start again.

The in-process ``bot`` fixture cannot show what a crash does: a killed process loses its memory,
its queued updates and its half-done handlers; only what is in the database survives. Here the
bot runs exactly as in production (the same command, configured by environment variables)
against the test's emulator and database file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.seed import no_digest_now
from tgemu import Emulator

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """``python -m bot run`` with its own database file, polling ``emulator``."""

    def __init__(
        self,
        emulator: Emulator,
        token: str,
        db_path: Path,
        *,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        #: What runs after ``python``: ``-m bot run`` unless a test wraps it (``-c ...``).
        self._command = command or ["-m", "bot", "run"]
        self._env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("QINGSHOU_")},
            "QINGSHOU_BOT_TOKEN": token,
            "QINGSHOU_API_URL": emulator.api_base_url,
            "QINGSHOU_DB": str(db_path),
            "QINGSHOU_LANG": "en",
            "PYTHONUNBUFFERED": "1",
            # The emulator's flood control, kept by the bot too (tests/pace.py).
            "QINGSHOU_PER_CHAT_RATE": str(emulator.config.per_chat_rate),
            "QINGSHOU_PER_CHAT_BURST": str(emulator.config.per_chat_burst),
            "QINGSHOU_OVERALL_RATE": str(emulator.config.global_per_second),
            # These tests run on real time: keep the supervisors' digest from coming due in a
            # bot that lives past its hour (a test that wants it sets its own time).
            **no_digest_now(datetime.now(UTC)),
            **(env or {}),
        }
        self._proc: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        #: Everything the bot logged, over all its lives.
        self.log: list[str] = []
        self.starts = 0

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Start the bot and wait until it says it is up (storage open, about to poll)."""
        assert not self.running
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *self._command,
            cwd=ROOT,
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self.starts += 1
        assert self._proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await self._proc.stdout.readline()
                if not line:
                    raise AssertionError("the bot exited at start-up:\n" + "".join(self.log[-40:]))
                self.log.append(line.decode(errors="replace"))
                if "qingshou is up" in self.log[-1]:
                    break
        self._drain = asyncio.create_task(self._read_rest(self._proc))

    async def _read_rest(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            self.log.append(line.decode(errors="replace"))

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing in memory survives."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        """A clean stop (SIGINT, as Ctrl-C or a service manager would)."""
        await self._end(signal.SIGINT)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def _end(self, sig: signal.Signals) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._drain is not None:
            await self._drain
            self._drain = None

    def tracebacks(self) -> list[str]:
        """Log lines of tracebacks (a crash that was handled as one still shows here)."""
        return [line for line in self.log if "Traceback" in line]
