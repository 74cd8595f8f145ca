"""SIGKILL during a burst of due reminders: every reminder is delivered or dead, none lost, and
no more messages repeated than were in flight at the kills.

The full size (10,000 reminders over 500 collectors, 20 kills, the leases waited out) is
``python -m bench.reminder_crash``; CI runs it smaller and time-compressed (after each kill the
dead process's leases are made to run out at once instead of after their full time).
Counts only, no timing.
"""

from __future__ import annotations

import pytest

from bench.reminder_crash import run_reminder_crash


@pytest.mark.timeout(300)
async def test_sigkill_during_a_reminder_burst_loses_none(tmp_path):
    result = await run_reminder_crash(
        reminders=1_000,
        collectors=50,
        kills=5,
        blocked=1,
        known_blocked=1,
        seed=11,
        settle=120,
        expire_leases=True,
        workdir=tmp_path,
    )
    print(result.line())
    # The kills hit the burst, not its aftermath: the first came before everything was out,
    # and some came with work in flight (they had all missed it when the first kill was
    # aimed at the old 20 s first tick).
    assert result.kills[0].delivered < result.reminders - result.dead
    assert result.in_flight > 0
    assert result.lost == 0, result.lost_ids
    assert result.delivered + result.dead == result.reminders == 1_000
    # One collector's chat answers 403: their 20 reminders are dead; one the database knows
    # blocked the bot: their 20 go to the supervisor.
    assert result.dead == 20
    assert result.rerouted == 20
    assert result.misdelivered == 0
    assert result.duplicate_messages <= result.in_flight
    assert result.outbox_live == 0
    assert result.tracebacks == 0
