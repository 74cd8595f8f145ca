"""Every flow has a typed, versioned draft (test_flow_drafts.py: commit and prep, with rows kept
as fixtures). Here the other flows: a row as their untyped versions stored it (the dicts the old
handlers started them with and the engine added each answer to, with the "internal" ``_`` keys)
loads with every answer, is stored again with its version and reads back the same; and choosing
the next step only reads the draft."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

import handlers  # noqa: F401 - declares every flow
from bot.domain.people import Role
from bot.flows import ENGINE, Draft, Flow, FlowRun, flows
from handlers.approvals import COUNTER, CounterDraft
from handlers.assign import ASSIGN, KEEP, AssignDraft
from handlers.export import CUSTOM, EXPORT_FLOW, ExportDraft
from handlers.imports import IMPORT_FLOW, ImportDraft
from handlers.instalments import MISSED_FLOW, PARTIAL_FLOW, MissedDraft, PartialDraft, Pressed
from handlers.invite import INVITE, InviteDraft
from handlers.notes import NOTE, NoteDraft
from handlers.outcome import OUTCOME_FLOW, OutcomeDraft
from handlers.settings import SETTINGS, TIME, SettingsDraft

#: The prep's answers as PrepAnswers.to_json() stores them (what /outcome started from).
PREP = {"capacity": "partial", "kind": "result", "venue": "office", "attendees": "张三、李四",
        "step": "other", "step_text": "带担保人来", "money_today": 150_000,
        "figures": {"bottom": 600_000, "target": 800_000}}  # fmt: skip
MARKUP = {"inline_keyboard": [[{"text": "1 ✅ Paid in full", "callback_data": "ia:7:paid"}]]}

#: Rows as the untyped flows stored them, at their last question with every answer so far.
OUTCOME_ROW = {"_prep": PREP, "_owed": 900_000, "kind": "result", "venue": "office",
               "attendees": None, "achieved": "partly", "moved": "承认欠款", "stance": "evasive",
               "money": 150_000, "channel": "cash", "receipt": {"file_id": "AgAD-receipt"},
               "next_step": "other", "next_step_text": "签协议",
               "next_on_month": "2026-12"}  # fmt: skip
NOTE_ROW = {"query": "张", "text": "答应下周还", "matches": [[3, "张三 · HT1"], [4, "张四 · HT2"]]}
COUNTER_ROW = {"approval_id": 12}
ASSIGN_ROW = {"lead_id": 2, "collector": 5, "reason": "other"}
IMPORT_ROW = {"import_id": 4, "file_name": "台账.xlsx", "team": 1, "can_import": True,
              "summary": {"new": 3, "updated": 1, "refused": 0, "no_lead": 0},
              "team_name": "东城"}  # fmt: skip
INVITE_ROW = {"staff_name": "王五", "role": "supervisor"}
SETTINGS_ROW = {"what": "time"}
EXPORT_ROW = {"scope": 0, "period": "custom", "start": "2026-11-01"}
PARTIAL_ROW = {"instalment_id": 7, "_rest": 100_000, "_chat": 100_001, "_message": 55,
               "_markup": MARKUP}  # fmt: skip
MISSED_ROW = {"instalment_id": 7, "_rest": 100_000, "_chat": 100_001, "_message": 55,
              "_markup": MARKUP, "reason": [0, 2], "reason_text": "工资没发"}  # fmt: skip

ROWS: list[tuple[Flow[Any], dict[str, Any]]] = [
    (OUTCOME_FLOW, OUTCOME_ROW),
    (OUTCOME_FLOW, {"_prep": {}, "_owed": 900_000}),  # started on a case never prepared
    (NOTE, NOTE_ROW),
    (NOTE, {}),  # "📝 Note" on a card: only the text is asked
    (COUNTER, COUNTER_ROW),
    (COUNTER, {"approval_id": 12, "offer": {"amount": 500_000}}),
    (ASSIGN, ASSIGN_ROW),
    (ASSIGN, {"lead_id": None}),  # a first lead
    (IMPORT_FLOW, IMPORT_ROW),
    (IMPORT_FLOW, {"import_id": 4, "file_name": "ledger.csv"}),
    (INVITE, INVITE_ROW),
    (INVITE, {"staff_name": None}),
    (SETTINGS, SETTINGS_ROW),
    (SETTINGS, {}),
    (EXPORT_FLOW, EXPORT_ROW),
    (EXPORT_FLOW, {}),
    (PARTIAL_FLOW, PARTIAL_ROW),
    (PARTIAL_FLOW, {**PARTIAL_ROW, "amount": 30_000}),
    (MISSED_FLOW, MISSED_ROW),
    (MISSED_FLOW, {**MISSED_ROW, "reason": ["no_money", "later"], "reason_codes": [0, 3]}),
]


def test_every_declared_flow_has_a_dataclass_draft_with_a_field_for_each_step():
    declared = flows()
    assert {
        "outcome",
        "note",
        "counter",
        "assign",
        "import",
        "invite",
        "settings",
        "export",
        "instalment_partial",
        "instalment_missed",
        "commit",
        "prep",
    } <= set(declared)
    for flow in declared.values():
        assert isinstance(flow.draft, type), flow.name
        assert issubclass(flow.draft, Draft), flow.name
        assert flow.draft.VERSION >= 1, flow.name
        assert {s.name for s in flow.steps} <= flow.draft.field_names(), flow.name


@pytest.mark.parametrize(("flow", "row"), ROWS)
def test_an_untyped_row_loads_and_is_stored_again_with_its_version(flow, row):
    draft = flow.load_draft(row)
    assert isinstance(draft, flow.draft)
    stored = draft.to_json()
    assert stored["v"] == 1
    assert not any(key.startswith("_") for key in stored)
    assert flow.load_draft(json.loads(json.dumps(stored))) == draft
    # Each answer keeps its name and its stored form.
    for step in flow.steps:
        if row.get(step.name) is not None:
            assert stored[step.name] == row[step.name]


def test_an_untyped_outcome_row_keeps_the_prep_plan_the_debt_and_every_answer():
    draft = OUTCOME_FLOW.load_draft(OUTCOME_ROW)
    assert isinstance(draft, OutcomeDraft)
    assert draft.owed == 900_000
    assert (draft.planned_kind, draft.planned_venue, draft.planned_attendees) == (
        "result", "office", "张三、李四",
    )  # fmt: skip
    assert (draft.planned_step, draft.planned_step_text, draft.planned_money) == (
        "other", "带担保人来", 150_000,
    )  # fmt: skip
    assert (draft.kind, draft.achieved, draft.moved, draft.stance) == (
        "result", "partly", "承认欠款", "evasive",
    )  # fmt: skip
    assert (draft.money, draft.channel, draft.receipt_file_id) == (150_000, "cash", "AgAD-receipt")
    assert (draft.next_step, draft.next_step_text, draft.next_day) == ("other", "签协议", None)
    assert draft.extra == {"next_on_month": "2026-12"}  # the calendar's month, kept as it was
    assert draft.answered("next_on", "2026-12-09").next_day == date(2026, 12, 9)


def test_an_outcome_started_today_reads_the_prep_as_the_old_flow_did():
    assert OutcomeDraft.from_prep(PREP, 900_000) == OutcomeDraft.from_legacy(
        {"_prep": PREP, "_owed": 900_000}
    )


def test_the_small_flows_read_their_untyped_rows():
    assert NOTE.load_draft(NOTE_ROW) == NoteDraft(
        query="张", text="答应下周还", matches=((3, "张三 · HT1"), (4, "张四 · HT2"))
    )
    assert COUNTER.load_draft(COUNTER_ROW) == CounterDraft(approval_id=12)
    assert ASSIGN.load_draft(ASSIGN_ROW) == AssignDraft(lead_id=2, collector=5, reason="other")
    assert ASSIGN.load_draft({"lead_id": None}) == AssignDraft()
    imported = IMPORT_FLOW.load_draft(IMPORT_ROW)
    assert isinstance(imported, ImportDraft)
    assert (imported.import_id, imported.file_name, imported.team) == (4, "台账.xlsx", 1)
    assert (imported.can_import, imported.team_name, imported.summary["new"]) == (True, "东城", 3)
    assert IMPORT_FLOW.load_draft({"import_id": 4}) == ImportDraft(import_id=4)
    assert INVITE.load_draft(INVITE_ROW) == InviteDraft(staff_name="王五", role="supervisor")
    assert SETTINGS.load_draft({"what": TIME, "time": "18:30"}) == SettingsDraft(
        what=TIME, time="18:30"
    )
    export = EXPORT_FLOW.load_draft(EXPORT_ROW)
    assert export == ExportDraft(scope=0, period=CUSTOM, start="2026-11-01")
    assert (export.first_day, export.last_day) == (date(2026, 11, 1), None)


def test_an_untyped_reminder_answer_keeps_the_instalment_and_the_reminder_message():
    partial = PARTIAL_FLOW.load_draft({**PARTIAL_ROW, "amount": 30_000})
    assert isinstance(partial, PartialDraft)
    assert (partial.instalment_id, partial.rest, partial.amount) == (7, 100_000, 30_000)
    assert partial.pressed == Pressed(100_001, 55, MARKUP)
    missed = MISSED_FLOW.load_draft(MISSED_ROW)
    assert isinstance(missed, MissedDraft)
    assert (missed.reason, missed.reason_text, missed.pressed.message_id) == (
        [0, 2], "工资没发", 55,
    )  # fmt: skip
    assert MissedDraft.of(7, 100_000, Pressed()) == MissedDraft(instalment_id=7, rest=100_000)


@pytest.mark.parametrize(
    "flow", [OUTCOME_FLOW, NOTE, COUNTER, ASSIGN, IMPORT_FLOW, INVITE, SETTINGS, EXPORT_FLOW,
             PARTIAL_FLOW, MISSED_FLOW],
)  # fmt: skip
def test_a_draft_of_a_newer_version_is_refused_not_raised(flow):
    assert flow.load_draft({"v": 2}) is None


# -- choosing the next step only reads the draft ------------------------------------------------


def _run(flow: Flow[Any], draft: Any, role: Role = Role.ADMIN) -> FlowRun[Any]:
    # Choosing the next step needs the flow, the draft and (for /export) who asks.
    context = SimpleNamespace(user=SimpleNamespace(role=role))
    return FlowRun(flow, None, None, context, draft)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flow", "row", "step", "answer", "following"),
    [
        # /outcome: no money, no channel and no receipt.
        (OUTCOME_FLOW, OUTCOME_ROW, "money", 0, "next_step"),
        (OUTCOME_FLOW, OUTCOME_ROW, "money", 150_000, "channel"),
        (OUTCOME_FLOW, OUTCOME_ROW, "next_step", "other", "next_on"),
        (OUTCOME_FLOW, OUTCOME_ROW, "next_on", "2026-12-09", None),
        # /note: the text typed after the search saves it once the case is chosen.
        (NOTE, NOTE_ROW, "case", 3, None),
        (NOTE, {**NOTE_ROW, "text": ""}, "case", 3, "text"),
        # /assign: a first lead needs no reason; "other reason" asks for it in words.
        (ASSIGN, {"lead_id": None}, "collector", 5, None),
        (ASSIGN, ASSIGN_ROW, "collector", 5, "reason"),
        (ASSIGN, ASSIGN_ROW, "reason", "other", "reason_text"),
        (ASSIGN, ASSIGN_ROW, "reason", KEEP, None),
        # /invite: an admin needs no team.
        (INVITE, INVITE_ROW, "role", "admin", None),
        (INVITE, INVITE_ROW, "role", "supervisor", "team"),
        # /settings: only a new time asks for the time.
        (SETTINGS, {}, "what", TIME, "time"),
        (SETTINGS, {}, "what", "mute", None),
        # /export: the two days only for "other dates".
        (EXPORT_FLOW, {}, "scope", 0, "period"),
        (EXPORT_FLOW, {"scope": 0}, "period", CUSTOM, "start"),
        (EXPORT_FLOW, {"scope": 0}, "period", "7d", "format"),
        (IMPORT_FLOW, IMPORT_ROW, "team", 1, "decide"),
        (COUNTER, COUNTER_ROW, "offer", {"amount": 500_000}, None),
        (PARTIAL_FLOW, PARTIAL_ROW, "amount", 30_000, None),
        (MISSED_FLOW, MISSED_ROW, "reason", ["no_money"], None),
    ],
)
def test_choosing_the_next_step_changes_nothing(flow, row, step, answer, following):
    draft = flow.load_draft(row).answered(step, answer)
    before = draft.to_json()
    chosen = ENGINE._following(_run(flow, draft), flow.step(step))
    assert (chosen.name if chosen else None) == following
    assert draft.to_json() == before
