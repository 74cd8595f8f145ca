"""A hostile XLSX against everyone else's replies: the 1 000 000-row file with no header.

Builds the file as openpyxl's write-only mode writes it (no ``<dimension>``; about 5 MB), then
with qingshou in its own process on the in-process emulator (flood limits off) measures:

(a) how long from the upload until the supervisor reads the refusal;
(b) the latency of another person's ``/help``, one after the other, while such a file is being
    refused (uploads repeated until there are enough samples), against the same without it.

Before parsing moved to a child process and the sheet stopped being scanned to size it, this
file cost 157 s of CPU before "lacks columns" and made everyone else's replies 25 times slower
(median 0.05 s -> 1.24 s).

    python -m bench.xlsx_bench [--rows 1000000] [--samples 20] [--uploads 5]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl

from bench.run_all import TOKENS, start_bot
from bot.domain.people import Role
from bot.storage import open_storage
from tgemu import Emulator, EmulatorConfig

KIND = "qingshou"
REFUSED = ("lacks columns", "cannot be read")


def headerless_xlsx(rows: int) -> bytes:
    """``rows`` rows of one number, no header, written by openpyxl's write-only mode."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    for i in range(rows):
        ws.append([i % 10])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def refusal_floor(data: bytes, repeat: int = 3) -> float:
    """The least work that finds the missing header: open the workbook read-only and read its
    first row (best of ``repeat``, in this process)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        next(wb.active.iter_rows(max_row=1, values_only=True), None)
        wb.close()
        best = min(best, time.perf_counter() - start)
    return best


class Chats:
    """The bot's messages and edits, per chat, from the emulator's event stream."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.bot = emu.bot(TOKENS[KIND]).username
        self.queues: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._source = emu.subscribe()
        self._task = asyncio.create_task(self._route())

    async def _route(self) -> None:
        while (event := await self._source.get()) is not None:
            if event.get("bot") != self.bot or event.get("kind") not in ("message", "edit"):
                continue
            message = event.get("message") or {}
            if message.get("from") == "bot":
                self.queue(int(event["chat_id"])).put_nowait(message)

    def queue(self, chat_id: int) -> asyncio.Queue[dict[str, Any]]:
        return self.queues.setdefault(chat_id, asyncio.Queue())

    async def help_latency(self, user: int) -> float:
        start = time.perf_counter()
        self.emu.user_sends_text(user, "/help", bot=TOKENS[KIND])
        await asyncio.wait_for(self.queue(user).get(), 60)
        return time.perf_counter() - start

    def close(self) -> None:
        self._task.cancel()
        self.emu.unsubscribe(self._source)


def stats(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]
    return (
        f"{name:<38} n={len(values):>3}  median {statistics.median(values) * 1000:7.1f} ms"
        f"  p95 {p95 * 1000:7.1f} ms"
    )


async def main_async(rows: int, samples: int, uploads: int) -> None:
    start = time.perf_counter()
    data = headerless_xlsx(rows)
    print(f"{rows:,} header-less rows, write-only openpyxl: {len(data) / 1e6:.1f} MB "
          f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        async with Emulator(EmulatorConfig(port=0, rate_limits=False)) as emu:
            emu.add_bot(TOKENS[KIND], username="bench_xlsx_bot", first_name=KIND)
            supervisor = emu.add_user(first_name="Supervisor").id
            other = emu.add_user(first_name="Collector").id
            db = Path(tmp) / "bench.db"
            now = datetime.now(UTC)
            storage = await open_storage(str(db), now=now)
            team = await storage.ensure_team("Bench", now=now)
            await storage.add_user(telegram_id=supervisor, name="Supervisor",
                                   role=Role.SUPERVISOR, team_id=team.id, now=now)  # fmt: skip
            await storage.add_user(telegram_id=other, name="Collector", role=Role.COLLECTOR,
                                   team_id=team.id, now=now)  # fmt: skip
            await storage.close()
            proc = await start_bot(KIND, emu, db)
            chats = Chats(emu)
            try:
                for _ in range(5):  # warm up: imports, templates, connections
                    await chats.help_latency(other)
                quiet = [await chats.help_latency(other) for _ in range(samples)]

                refusals: list[float] = []
                during: list[float] = []
                while len(during) < samples or len(refusals) < uploads:
                    sent = time.perf_counter()
                    emu.user_sends_document(supervisor, "ledger.xlsx", data, bot=TOKENS[KIND])
                    inbox = chats.queue(supervisor)
                    while True:
                        while not inbox.empty():
                            text = str(inbox.get_nowait().get("text") or "")
                            if any(word in text for word in REFUSED):
                                refusals.append(time.perf_counter() - sent)
                                break
                        else:
                            during.append(await chats.help_latency(other))
                            continue
                        break
            finally:
                chats.close()
                proc.terminate()
                await proc.wait()

    floor = refusal_floor(data)
    print(stats("(a) upload -> refusal read", refusals)
          + f"  x{statistics.median(refusals) / floor:.1f} of the floor")  # fmt: skip
    print(f"    floor: openpyxl opening the file read-only and reading its first row, "
          f"{floor * 1000:.1f} ms (what any reader must do to see there is no header)")  # fmt: skip
    print(stats("(b) /help, nothing else going on", quiet))
    print(stats("(b) /help while the file is refused", during))
    ratio = statistics.median(during) / statistics.median(quiet)
    p95_ratio = (
        sorted(during)[int(len(during) * 0.95 + 0.5) - 1]
        / sorted(quiet)[int(len(quiet) * 0.95 + 0.5) - 1]
    )
    print(f"/help while refusing vs. quiet: median x{ratio:.2f}, p95 x{p95_ratio:.2f} "
          f"({len(refusals)} uploads refused)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=20, help="/help requests per series")
    parser.add_argument("--uploads", type=int, default=5, help="uploads of the file, at least")
    args = parser.parse_args()
    asyncio.run(main_async(args.rows, args.samples, args.uploads))


if __name__ == "__main__":
    main()
