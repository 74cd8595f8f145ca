"""Two replicas behind the emulator's webhook delivery, one killed twice: nothing lost, nothing
doubled, every chat in order, never over 30 messages a second. The full size (three replicas,
200 notes, 2,000 reminders, ten kills) is ``python -m bench.replicas``."""

from __future__ import annotations

from bench.replicas import run_replicas


async def test_replicas_lose_nothing_double_nothing_and_keep_each_chats_order(tmp_path):
    result = await run_replicas(
        replicas=2, people=4, messages=4, reminders=40, kills=2, seed=3, workdir=tmp_path
    )
    print("\n".join(result.lines()))
    assert result.unanswered == 0, result.unanswered_ids
    assert result.doubled == 0
    assert result.reminded == result.reminders == 40
    assert result.repeated <= result.in_flight
    assert result.out_of_order == []
    assert result.busiest_second <= 30
