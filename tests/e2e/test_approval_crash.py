"""The supervisor's answer to an approval request survives a SIGKILL of the bot process.

The answer and the message that tells the collector are written in one transaction (an outbox
row); the bot is killed while that message is on its way to Telegram. After the restart the
collector is told exactly once, and a replayed press of the supervisor changes nothing.
"""

from __future__ import annotations

import asyncio

from bot.domain.commitments import ApprovalStatus, CommitmentStatus
from bot.storage.testing import execute_file
from tests.e2e.conftest import eventually, expect_paper
from tests.e2e.test_commit import _asked

TOLD = "approved your commitment request"


async def test_the_collector_is_told_once_although_the_bot_dies_sending_the_answer(
    world, bot_process, settings
):
    zhang, cid, boss, request = await _asked(world)  # a plan below the prep's bottom line

    # The next sendMessage (the collector's answer) hangs at Telegram without being made.
    world.emulator.faults.clear()
    hanging = world.emulator.inject_fault(kind="timeout", method="sendMessage", delay=20.0)
    await boss.press("✅ Approve", request)
    await boss.expect("You approved this request.", timeout=10)
    (commitment,) = await world.storage.commitments_of(cid)
    assert commitment.status is CommitmentStatus.AGREED
    await eventually(lambda: hanging.count == 0, timeout=15)  # the answer's send hangs now
    await bot_process.kill()
    world.emulator.faults.clear()
    assert TOLD not in " ".join(m.text for m in await zhang.messages())

    # The dead process's lease on the row runs out (as it would after 30 s), the bot comes back.
    execute_file(settings.db_path, "UPDATE outbox SET claimed_until = NULL")
    await bot_process.start()
    told = await zhang.expect(TOLD, timeout=15)
    # A replay of the supervisor's press (a double tap, Telegram sending it again): no second
    # answer, no second message to the collector.
    await boss.press_data(request.message_id, request.buttons[0][0][1])
    await boss.expect_toast("already answered", timeout=10)
    await asyncio.sleep(3)  # two outbox ticks of the bot process
    answers = [m for m in await zhang.messages() if TOLD in m.text]
    assert len(answers) == 1, [m.text for m in answers]
    await zhang.press("✅ Done: show the commitment", told)
    await zhang.expect("stored", timeout=10)
    await expect_paper(zhang, "Repayment agreement of 张三")  # the PDF to sign (issue 19)
    approval = await world.storage.get_approval(commitment.approval_id)
    assert approval.status is ApprovalStatus.APPROVED
    await boss.ignore_unread()
