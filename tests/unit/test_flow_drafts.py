"""Typed, versioned flow drafts: rows written by the untyped flows (before drafts had types,
kept in tests/fixtures as they were stored) still load; a draft that cannot be read is refused
(the engine then ends the flow with a message); choosing the next step changes nothing."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.domain.dates import Due
from bot.domain.plans import Plan
from bot.domain.prep import Capacity
from bot.flows import ENGINE, Answers, FlowRun, load_draft
from handlers.commit import (
    ASK,
    CHANGE,
    COMMIT_FLOW,
    CONCESSION_FLOW,
    CONFIRM,
    SHIFT,
    UNCOMMIT_FLOW,
    WAITING,
    WAIVER,
    CommitDraft,
    ConcessionDraft,
    UncommitDraft,
)
from handlers.prep import PREP_FLOW, PrepDraft

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _row(name: str) -> dict[str, Any]:
    row: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return row


def test_a_commit_row_of_the_untyped_flow_loads_with_every_answer():
    row = _row("flow_commit_v0_summary.json")
    assert "v" not in row["data"]
    draft = COMMIT_FLOW.load_draft(row["data"])
    assert isinstance(draft, CommitDraft)
    assert (draft.owed, draft.money, draft.channel, draft.total) == (900_000, 200_000, "cash",
                                                                    300_000)  # fmt: skip
    assert draft.parties == ((1, "李四", "guarantor"),)
    assert (draft.split, draft.promised_by, draft.summary) == ("equal", 1, None)
    assert draft.dues == (Due(date(2026, 12, 25)), Due(date(2027, 1, 25)), Due(date(2027, 2, 25)))
    assert draft.plan is not None
    assert (draft.plan.kind, draft.plan.day, draft.plan.count) == ("monthly", 25, 3)
    assert draft.instalment_amounts == [100_000, 100_000, 100_000]
    assert draft.remaining == 700_000


def test_a_commit_row_waiting_for_the_supervisor_keeps_its_request_and_the_prep_figures():
    draft = COMMIT_FLOW.load_draft(_row("flow_commit_v0_approval.json")["data"])
    assert isinstance(draft, CommitDraft)
    assert (draft.bottom, draft.target) == (600_000, 800_000)
    assert (draft.approval_id, draft.commitment_id, draft.supervisor) == (1, 1, "组长")
    assert (draft.summary, draft.money, draft.dues) == (ASK, 0, (Due(date(2026, 12, 25)),))


def test_a_prep_row_of_the_untyped_flow_loads_with_every_answer():
    draft = PREP_FLOW.load_draft(_row("flow_prep_v0_opening.json")["data"])
    assert isinstance(draft, PrepDraft)
    assert (draft.owed, draft.principal, draft.prev) == (900_000, 900_000, {})
    assert draft.case_parties == ((1, "李四", "guarantor"),)
    assert (draft.capacity, draft.business, draft.character) == ("partial", "declining", None)
    assert (draft.bottom, draft.target, draft.opening) == (600_000, 800_000, None)
    assert draft.needs_approval == [0, 1, 2]
    answers = draft.answers()
    assert answers.capacity is Capacity.PARTIAL
    assert (answers.figures.bottom, answers.figures.target) == (600_000, 800_000)


@pytest.mark.parametrize(
    ("flow", "fixture"),
    [
        (COMMIT_FLOW, "flow_commit_v0_summary.json"),
        (COMMIT_FLOW, "flow_commit_v0_approval.json"),
        (PREP_FLOW, "flow_prep_v0_opening.json"),
    ],
)
def test_a_loaded_draft_is_stored_with_its_version_and_reads_back_the_same(flow, fixture):
    old = _row(fixture)["data"]
    draft = flow.load_draft(old)
    stored = draft.to_json()
    assert stored["v"] == 1
    assert flow.load_draft(json.loads(json.dumps(stored))) == draft
    # The answers keep their names and their stored form (the tests read the rows).
    for name in ("money", "plan", "split", "total", "capacity", "bottom", "target"):
        if old.get(name) is not None:
            assert stored[name] == old[name]
    assert not any(key.startswith("_") for key in stored)


@pytest.mark.parametrize(
    "data",
    [
        {"v": 2, "money": 0},  # from a newer version of the bot
        {"money": 0, "plan": {"dues": [["25 Dec", False]]}},  # a shape nothing reads
        {"money": 0, "plan": {"text": "x"}},
        {"_parties": [[1, "李四"]]},
    ],
)
def test_a_draft_that_cannot_be_read_is_refused_not_raised(data):
    assert load_draft(CommitDraft, data) is None


def test_a_flow_without_a_dataclass_draft_reads_any_row_as_it_was_stored():
    data = {"text": "x", "_internal": 1}
    loaded = load_draft(Answers, data)
    assert loaded == data
    assert loaded.to_json() == data


def test_the_plan_keeps_the_stored_form_of_the_commitment():
    plan = Plan.from_json({"text": "12月25日", "dues": [["2026-12-25", False]], "kind": "dates"})
    assert plan.to_json() == {"text": "12月25日", "dues": [["2026-12-25", False]],
                              "kind": "dates"}  # fmt: skip
    moved = plan.on_working_days()
    assert moved.to_json()["shifted"] is True
    assert moved.dues == plan.dues


def _run(draft: CommitDraft, step: str = "summary") -> FlowRun[CommitDraft]:
    # Choosing the next step needs only the flow and the draft.
    return FlowRun(COMMIT_FLOW, None, None, None, draft)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("choice", "following"),
    # A fee waiver asks what is waived and how much before the request (issue 16).
    [(CONFIRM, None), (CHANGE, "plan"), (SHIFT, "summary"), (ASK, "approval"),
     (WAIVER, "waiver")],
)  # fmt: skip
def test_choosing_the_step_after_the_summary_changes_nothing(choice, following):
    draft = COMMIT_FLOW.load_draft(_row("flow_commit_v0_summary.json")["data"])
    assert draft is not None
    draft = draft.answered("summary", choice)
    before = draft.to_json()
    step = ENGINE._following(_run(draft), COMMIT_FLOW.step("summary"))
    assert (step.name if step else None) == following
    assert draft.to_json() == before


@pytest.mark.parametrize(("choice", "following"), [(CHANGE, "plan"), (WAITING, "approval")])
def test_choosing_the_step_after_the_approval_keeps_the_request_in_the_draft(choice, following):
    draft = COMMIT_FLOW.load_draft(_row("flow_commit_v0_approval.json")["data"])
    assert draft is not None
    draft = draft.answered("approval", choice)
    before = draft.to_json()
    step = ENGINE._following(_run(draft), COMMIT_FLOW.step("approval"))
    assert step is not None
    assert step.name == following
    assert draft.to_json() == before
    assert draft.approval_id == 1


def test_a_draft_cannot_be_changed_in_place():
    with pytest.raises(FrozenInstanceError):
        CommitDraft().money = 1  # type: ignore[misc]


def test_every_step_of_the_typed_flows_writes_a_field_of_its_draft():
    for flow, draft in ((COMMIT_FLOW, CommitDraft), (PREP_FLOW, PrepDraft)):
        assert {s.name for s in flow.steps} <= draft.field_names()


def test_the_small_commit_flows_read_their_untyped_rows():
    uncommit = UNCOMMIT_FLOW.load_draft({"commitment_id": 5, "reason": "paid elsewhere"})
    assert uncommit == UncommitDraft(commitment_id=5, reason="paid elsewhere")
    concession = CONCESSION_FLOW.load_draft({"kinds": [0, 2]})
    assert concession == ConcessionDraft(kinds=[0, 2])
