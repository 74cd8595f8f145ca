"""SIGKILL during a burst: every message is answered at least once, none is lost, none doubled.

The full size (200 messages × 10 kills) is ``python -m bench.crash_bench``; CI runs it smaller.
"""

from __future__ import annotations

from bench.crash_bench import run_crash


async def test_sigkill_during_a_burst_loses_no_message_and_doubles_no_note(tmp_path):
    result = await run_crash(people=10, messages=8, kills=3, seed=11, workdir=tmp_path)
    print(result.line())
    assert result.lost == 0, result.lost_ids
    assert result.answered == result.sent == 80
    assert result.doubled_notes == 0
    assert result.stored_notes == 80
    assert result.pending_after == 0
