"""A flow row stored by the bot before drafts had types and versions (tests/fixtures, written by
main at a5eb685) goes on where it was after the upgrade; a row nothing can read any more is
ended with a message in the person's language, never a traceback."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from bot.domain.cases import PartyRole, RelatedParty
from bot.domain.commitments import Achieved, CommitmentStatus
from bot.domain.people import Role
from tests.e2e.conftest import START, expect_paper
from tests.e2e.seed import case_id, ledger, row

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


async def _stored(world, person, fixture: str, data: dict | None = None):
    """The row of ``fixture`` as the old bot stored it, for ``person`` on case HT1."""
    old = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))
    stored = old["data"] if data is None else data
    return await world.storage.start_flow(
        world.members[person.id].id, old["flow"], old["step"], stored,
        now=START, expires_at=START + timedelta(days=1), case_id=await case_id(world, "HT1"),
    )  # fmt: skip


async def _case(world):
    zhang = await world.member(Role.COLLECTOR, "张伟")
    guarantor = RelatedParty(PartyRole.GUARANTOR, "李四", "13900001111")
    await ledger(world, "东城", [row(2, "HT1", "张三", dpd=40, overdue_yuan=9_000,
                                      collector="张伟", parties=(guarantor,))])  # fmt: skip
    return zhang


async def test_an_old_commit_draft_at_its_summary_is_confirmed_and_stored(world, bot):
    zhang = await _case(world)
    await _stored(world, zhang, "flow_commit_v0_summary.json")
    await zhang.send("✅ Confirm")
    await zhang.expect("stored")
    await expect_paper(zhang, "Repayment agreement of 张三")
    (commitment,) = await world.storage.commitments_of(await case_id(world, "HT1"))
    assert commitment.status is CommitmentStatus.AGREED
    assert (commitment.money_today, commitment.total) == (200_000, 300_000)
    assert [i.amount for i in commitment.instalments] == [100_000] * 3
    assert commitment.promised_by_party is not None


async def test_an_old_prep_draft_goes_on_at_its_question_with_every_answer(world, bot):
    zhang = await _case(world)
    await _stored(world, zhang, "flow_prep_v0_opening.json")
    await zhang.send("9000")
    await zhang.expect("Which concessions need the supervisor?")
    state = await world.storage.open_flow(world.members[zhang.id].id)
    assert state.data["v"] == 1
    assert (state.data["capacity"], state.data["business"]) == ("partial", "declining")
    assert (state.data["bottom"], state.data["target"], state.data["opening"]) == (
        600_000, 800_000, 900_000)  # fmt: skip


async def test_a_draft_nothing_can_read_ends_the_flow_with_a_message(world, bot):
    zhang = await _case(world)
    await _stored(world, zhang, "flow_commit_v0_summary.json", {"v": 99, "money": "lots"})
    await zhang.send("✅ Confirm")
    told = await zhang.expect("earlier version of the bot")
    assert "Repayment commitment" in told.text
    assert await world.storage.open_flow(world.members[zhang.id].id) is None
    await zhang.send("/commit HT1")  # and a new one starts as usual
    await zhang.expect("First, money today")


async def _stored_row(world, person, flow: str, step: str, data: dict, *, on_case: bool = True):
    """A row of the untyped ``flow`` at ``step``, as the old bot stored it, for ``person``."""
    return await world.storage.start_flow(
        world.members[person.id].id, flow, step, data, now=START,
        expires_at=START + timedelta(days=1),
        case_id=await case_id(world, "HT1") if on_case else None,
    )  # fmt: skip


#: An /outcome row of the untyped flow: the prep's answers and the debt as "internal" keys.
OUTCOME_ROW = {"_prep": {"kind": "result", "venue": "office", "step": "sign_agreement",
                         "money_today": 150_000}, "_owed": 900_000, "kind": "result",
               "venue": "office", "attendees": "张三本人", "achieved": "partly",
               "moved": "承认欠款", "stance": "evasive", "money": 150_000, "channel": "cash",
               "receipt": None, "next_step": "other", "next_step_text": "签协议"}  # fmt: skip


async def test_an_old_outcome_draft_at_its_last_question_stores_the_meeting(world, bot):
    zhang = await _case(world)
    await _stored_row(world, zhang, "outcome", "next_on", OUTCOME_ROW)
    await zhang.send("12月9日")
    saved = await zhang.expect("recorded")
    assert "1,500.00" in saved.text
    (meeting,) = await world.storage.meetings_of(await case_id(world, "HT1"))
    assert (meeting.kind, meeting.venue, meeting.step_achieved, meeting.paid_today) == (
        "result", "office", Achieved.PARTLY, 150_000,
    )  # fmt: skip
    assert (meeting.next_step, meeting.next_on) == ("签协议", date(2026, 12, 9))


async def test_an_old_outcome_draft_still_shows_what_the_prep_planned(world, bot):
    zhang = await _case(world)
    row = {k: v for k, v in OUTCOME_ROW.items() if k in ("_prep", "_owed", "kind", "venue")}
    await _stored_row(world, zhang, "outcome", "attendees", row)
    await zhang.send("张三本人")
    asked = await zhang.expect("Did the meeting achieve its step?")
    assert "Planned:" in asked.text


async def test_an_old_note_draft_choosing_the_case_saves_the_note(world, bot):
    zhang = await _case(world)
    cid = await case_id(world, "HT1")
    row = {"query": "张", "text": "答应下周还", "matches": [[cid, "张三 · HT1"]]}
    await _stored_row(world, zhang, "note", "case", row, on_case=False)
    await zhang.send("1")
    await zhang.expect("Note saved on 张三")
