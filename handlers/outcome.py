"""/outcome: record a meeting — what happened, what moved, and the money received today.

The ``outcome`` flow asks, buttons first and prefilled from the case's prep: kind and venue
(策略3), who attended, whether the planned step was achieved and what moved (策略2 立竿见影),
the counterpart's stance, the money received today with its channel and an optional receipt
photo (goal 1, 策略5), the next step and its date (an inline calendar). The meeting is stored
against the prep; three or more meetings without an agreement flag the case (策略2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import labels
from bot.context import QingshouContext
from bot.domain.casefile import CaseFile, local_date
from bot.domain.commitments import Achieved, Channel, NewMeeting, NewPayment
from bot.domain.dates import DateError, parse_date
from bot.domain.money import format_amount
from bot.domain.plans import stalled
from bot.domain.prep import MeetingKind, MeetingStep, Venue
from bot.flows import (
    ENGINE,
    Amount,
    Buttons,
    DateInput,
    Draft,
    Flow,
    FlowRun,
    Option,
    PhotoInput,
    Refusal,
    Reply,
    Step,
    Text,
    register,
)
from bot.i18n import N_
from bot.lookup import case_entry, case_to_act_on
from bot.routes import COMMIT, OUTCOME

STANCES = ("cooperative", "neutral", "hostile", "evasive")
ACHIEVED_LABELS = {Achieved.YES: N_("Yes"), Achieved.PARTLY: N_("Partly"), Achieved.NO: N_("No")}
STANCE_LABELS = {
    "cooperative": N_("Cooperative"),
    "neutral": N_("Neutral"),
    "hostile": N_("Hostile"),
    "evasive": N_("Evasive, stalling"),
}


@dataclass(frozen=True, kw_only=True)
class OutcomeDraft(Draft):
    """What /outcome knows so far: the case's debt and what its latest prep planned for the
    meeting (offered as the answers, "✓ Keep"), then one field per step."""

    VERSION: ClassVar[int] = 1

    # The case, when the flow started.
    owed: int = 0
    #: The latest prep's plan for the meeting (None: not prepared, or not said).
    planned_kind: str | None = None
    planned_venue: str | None = None
    planned_attendees: str | None = None
    planned_step: str | None = None
    planned_step_text: str | None = None
    planned_money: int | None = None

    # The answers.
    kind: str | None = None
    venue: str | None = None
    attendees: str | None = None
    achieved: str | None = None
    moved: str | None = None
    stance: str | None = None
    money: int | None = None
    channel: str | None = None
    #: The receipt photo: ``{"file_id": ...}`` as the photo input gives it.
    receipt: Mapping[str, Any] | None = None
    next_step: str | None = None
    #: The next step in the person's words (typed instead of tapped: "other").
    next_step_text: str | None = None
    #: The day of the next step (ISO, as the date input gives it).
    next_on: str | None = None

    @property
    def next_day(self) -> date | None:
        return date.fromisoformat(self.next_on) if self.next_on else None

    @property
    def receipt_file_id(self) -> str | None:
        file_id = self.receipt.get("file_id") if self.receipt is not None else None
        return str(file_id) if file_id else None

    @classmethod
    def from_prep(cls, prep: Mapping[str, Any], owed: int) -> OutcomeDraft:
        """The draft a meeting starts from: the debt, and the prep's plan in its stored form
        (:meth:`PrepAnswers.to_json`)."""
        money = prep.get("money_today")
        return cls(
            owed=owed,
            planned_kind=prep.get("kind"),
            planned_venue=prep.get("venue"),
            planned_attendees=prep.get("attendees"),
            planned_step=prep.get("step"),
            planned_step_text=prep.get("step_text"),
            planned_money=money if isinstance(money, int) else None,
        )

    @classmethod
    def from_legacy(cls, data: Mapping[str, Any]) -> OutcomeDraft:
        """A row of the untyped flow (before version 1): the answers had today's names; the
        prep's answers (``_prep``) and the debt (``_owed``) were "internal" keys."""
        started = cls.from_prep(data.get("_prep") or {}, data.get("_owed") or 0)
        renamed = {k: v for k, v in data.items() if not k.startswith("_")}
        renamed.update((name, getattr(started, name)) for name in _STARTED_WITH)
        return cls.from_json(renamed)


#: The fields a meeting starts from (the rest are answers).
_STARTED_WITH = (
    "owed",
    "planned_kind",
    "planned_venue",
    "planned_attendees",
    "planned_step",
    "planned_step_text",
    "planned_money",
)

Run = FlowRun[OutcomeDraft]


async def _money_options(run: Run) -> list[Option]:
    options = [Option(code=0, value=0, label=labels.word(run, "money_today", 0), translate=False)]
    planned = run.draft.planned_money
    if planned is not None and planned > 0:
        options.append(
            Option(
                code=1,
                value=planned,
                label=format_amount(planned, run.context.locale),
                translate=False,
            )
        )
    return options


def _money_valid(fen: Any, run: Run) -> Any:
    owed = run.draft.owed
    if owed and int(fen) > owed:
        return Refusal("prep/money_today_too_much", {"amount": int(fen), "owed": owed})
    return int(fen)


def _no_money(run: Run) -> bool:
    return not run.draft.money


def _typed_date(text: str, today: date) -> date | Refusal:
    try:
        return parse_date(text, today)
    except DateError as exc:
        return Refusal("commit/date_refused", {"error": exc})


async def _load(run: Run) -> dict[str, Any] | None:
    case_file = await case_to_act_on(run.context, run.case_id)
    if case_file is None:
        return None
    return {"summary": case_file.summary, "case_file": case_file, "step": run.state.step}


async def _finish(run: Run) -> Reply:
    """Store the meeting and the money received (keyed: once); say what it means."""
    context = run.context
    user = context.user
    assert user is not None
    case_file: CaseFile = run.params["case_file"]
    draft = run.draft
    today = local_date(run.now, context.settings.tz)
    prep = case_file.latest_prep
    meeting = NewMeeting(
        held_on=today,
        kind=draft.kind,
        venue=draft.venue,
        attendees=draft.attendees,
        step_achieved=Achieved(draft.achieved) if draft.achieved else None,
        moved=draft.moved,
        stance=draft.stance,
        next_step=draft.next_step_text or draft.next_step,
        next_on=draft.next_day,
        prep_id=prep.id if prep else None,
    )
    money = draft.money or 0
    payment = NewPayment(
        amount=money,
        channel=Channel(draft.channel) if money and draft.channel else None,
        received_on=today,
        receipt_file_id=draft.receipt_file_id,
    )
    stored = await context.storage.add_meeting(
        user, case_file.id, meeting, payment, now=run.now, key=run.key
    )
    if stored is None:
        return Reply(context.render("outcome/lost", text="", data=draft))
    count = await context.storage.meetings_without_agreement(case_file.id)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.label(N_("🤝 Record the commitment")),
                    callback_data=COMMIT.data(case_file.id),
                )
            ]
        ]
    )
    text = context.render(
        "outcome/saved",
        summary=case_file.summary,
        meeting=stored,
        money=money,
        count=count,
        stalled=stalled(count),
    )
    return Reply(text, keyboard)


async def start_outcome(update: Update, context: QingshouContext, case_file: CaseFile) -> None:
    """Open /outcome on ``case_file`` (the prep's figures and the debt for its checks)."""
    latest = case_file.latest_prep
    prep = latest.answers.to_json() if latest is not None else {}
    draft = OutcomeDraft.from_prep(prep, case_file.summary.total_overdue)
    await ENGINE.start(update, context, OUTCOME_FLOW, draft, case_id=case_file.id)


OUTCOME_FLOW: Flow[OutcomeDraft] = register(
    Flow(
        name="outcome",
        title=N_("Meeting outcome"),
        draft=OutcomeDraft,
        # ``/outcome <name, contract or phone>``, and "✍ Outcome" on a card or a brief: record
        # how a meeting went.
        entry=case_entry(
            start_outcome, command="outcome", button=OUTCOME, icon="✍", usage="outcome/usage"
        ),
        steps=(
            Step(
                "kind",
                "outcome/ask",
                Buttons(labels.options("kind", list(MeetingKind))),
                optional=True,
                known=lambda run: run.draft.planned_kind,
            ),
            Step(
                "venue",
                "outcome/ask",
                Buttons(labels.options("venue", list(Venue)), columns=2),
                optional=True,
                known=lambda run: run.draft.planned_venue,
            ),
            Step(
                "attendees",
                "outcome/ask",
                Text(max_chars=300),
                optional=True,
                known=lambda run: run.draft.planned_attendees,
            ),
            Step(
                "achieved",
                "outcome/ask",
                Buttons(labels.labelled(ACHIEVED_LABELS), columns=3),
                optional=True,
            ),
            Step("moved", "outcome/ask", Text(max_chars=500), optional=True),
            Step(
                "stance",
                "outcome/ask",
                Buttons(labels.labelled(STANCE_LABELS), columns=2),
                optional=True,
            ),
            Step(
                "money",
                "outcome/ask",
                Amount(minimum=0, validate=_money_valid, suggest=_money_options),
            ),
            Step(
                "channel",
                "outcome/ask",
                Buttons(labels.labelled(labels.CHANNEL_LABELS), columns=2),
                skip=_no_money,
            ),
            Step("receipt", "outcome/ask", PhotoInput(), optional=True, skip=_no_money),
            Step(
                "next_step",
                "outcome/ask",
                Buttons(
                    labels.options("step", list(MeetingStep)),
                    columns=2,
                    other=MeetingStep.OTHER.value,
                ),
                optional=True,
            ),
            Step(
                "next_on", "outcome/ask", DateInput(parse=_typed_date, calendar=True), optional=True
            ),
        ),
        load=_load,
        on_finish=_finish,
        lost="outcome/lost",
    )
)
