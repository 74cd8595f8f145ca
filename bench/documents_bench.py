"""The papers of issue 19: how long one PDF takes, and what making them costs the event loop.

Makes the demo's repayment agreement and collection notice (docs/pictures.py) ``--count``
times each through :func:`bot.documents.make_pdf` (a worker thread, as the bot does) while a
5 ms ticker runs on the loop, then the ticker alone; prints the time per PDF and the ticker's
lateness (p50, p99, worst) with and without the papers, as ratios.

    python -m bench.documents_bench [--count 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))

from pictures import AGREEMENT, NOTICE

from bot.documents import make_pdf, render_pdf

TICK = 0.005


async def _ticker(stop: asyncio.Event, late: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK)
        late.append(time.perf_counter() - start - TICK)


def _quantiles(late: list[float]) -> tuple[float, float, float]:
    ordered = sorted(late)
    return (
        statistics.median(ordered) * 1000,
        ordered[int(len(ordered) * 0.99) - 1] * 1000,
        ordered[-1] * 1000,
    )


async def _run(count: int) -> None:
    first = time.perf_counter()
    render_pdf("zh_Hans", "agreement", AGREEMENT)
    cold = time.perf_counter() - first

    stop, late = asyncio.Event(), []
    ticker = asyncio.create_task(_ticker(stop, late))
    start = time.perf_counter()
    for _ in range(count):
        await make_pdf("zh_Hans", "agreement", AGREEMENT)
        await make_pdf("zh_Hans", "notice", NOTICE)
    busy = time.perf_counter() - start
    stop.set()
    await ticker

    idle_stop, idle_late = asyncio.Event(), []
    idle = asyncio.create_task(_ticker(idle_stop, idle_late))
    await asyncio.sleep(min(busy, 3.0))
    idle_stop.set()
    await idle

    per = busy / (2 * count) * 1000
    b50, b99, bmax = _quantiles(late)
    i50, i99, imax = _quantiles(idle_late)
    lines = [
        f"papers: first PDF {cold * 1000:.0f} ms (font loaded); then {per:.1f} ms a PDF "
        f"over {2 * count} (agreement + notice, 简体)",
        f"  loop lateness while making them: p50 {b50:.2f} ms, p99 {b99:.1f} ms, worst "
        f"{bmax:.1f} ms; idle: p50 {i50:.2f} ms, p99 {i99:.1f} ms, worst {imax:.1f} ms",
        f"  ratio busy/idle: p50 {b50 / max(i50, 1e-3):.1f}x, p99 {b99 / max(i99, 1e-3):.1f}x; "
        f"{1000 / per:.0f} PDFs a second",
    ]
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=40)
    asyncio.run(_run(parser.parse_args().count))


if __name__ == "__main__":
    main()
