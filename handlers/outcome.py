"""/outcome: record a meeting — what happened, what moved, and the money received today.

The ``outcome`` flow asks, buttons first and prefilled from the case's prep: kind and venue
(策略3), who attended, whether the planned step was achieved and what moved (策略2 立竿见影),
the counterpart's stance, the money received today with its channel and an optional receipt
photo (goal 1, 策略5), the next step and its date (an inline calendar). The meeting is stored
against the prep; three or more meetings without an agreement flag the case (策略2).
"""

from __future__ import annotations

from datetime import date
from typing import Any

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


def _prev(name: str) -> Any:
    def known(run: FlowRun) -> Any:
        return (run.data.get("_prep") or {}).get(name)

    return known


async def _money_options(run: FlowRun) -> list[Option]:
    options = [Option(code=0, value=0, label=labels.word(run, "money_today", 0), translate=False)]
    planned = (run.data.get("_prep") or {}).get("money_today")
    if isinstance(planned, int) and planned > 0:
        options.append(
            Option(code=1, value=planned, label=format_amount(planned, run.context.locale),
                   translate=False)
        )  # fmt: skip
    return options


def _money_valid(fen: Any, run: FlowRun) -> Any:
    owed = int(run.data.get("_owed") or 0)
    if owed and int(fen) > owed:
        return Refusal("prep/money_today_too_much", {"amount": int(fen), "owed": owed})
    return int(fen)


def _no_money(run: FlowRun) -> bool:
    return not run.data.get("money")


def _typed_date(text: str, today: date) -> date | Refusal:
    try:
        return parse_date(text, today)
    except DateError as exc:
        return Refusal("commit/date_refused", {"e": exc})


async def _load(run: FlowRun) -> dict[str, Any] | None:
    case_file = await case_to_act_on(run.context, run.case_id)
    if case_file is None:
        return None
    return {"s": case_file.summary, "f": case_file, "step": run.state.step}


async def _finish(run: FlowRun) -> Reply:
    """Store the meeting and the money received (keyed: once); say what it means."""
    context = run.context
    user = context.user
    assert user is not None
    case_file: CaseFile = run.params["f"]
    data = run.data
    today = local_date(run.now, context.settings.tz)
    prep = case_file.latest_prep
    meeting = NewMeeting(
        held_on=today,
        kind=data.get("kind"),
        venue=data.get("venue"),
        attendees=data.get("attendees"),
        step_achieved=Achieved(data["achieved"]) if data.get("achieved") else None,
        moved=data.get("moved"),
        stance=data.get("stance"),
        next_step=data.get("next_step_text") or data.get("next_step"),
        next_on=date.fromisoformat(data["next_on"]) if data.get("next_on") else None,
        prep_id=prep.id if prep else None,
    )
    money = int(data.get("money") or 0)
    receipt = data.get("receipt") or {}
    payment = NewPayment(
        amount=money,
        channel=Channel(data["channel"]) if money and data.get("channel") else None,
        received_on=today,
        receipt_file_id=receipt.get("file_id") if isinstance(receipt, dict) else None,
    )
    stored = await context.storage.add_meeting(
        user, case_file.id, meeting, payment, now=run.now, key=run.key
    )
    if stored is None:
        return Reply(context.render("outcome/lost", text="", data=data))
    count = await context.storage.meetings_without_agreement(case_file.id)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(context.label(N_("🤝 Record the commitment")),
                               callback_data=COMMIT.data(case_file.id))]]
    )  # fmt: skip
    text = context.render(
        "outcome/saved", s=case_file.summary, m=stored, money=money, count=count,
        stalled=stalled(count),
    )  # fmt: skip
    return Reply(text, keyboard)


async def start_outcome(update: Update, context: QingshouContext, case_file: CaseFile) -> None:
    """Open /outcome on ``case_file`` (the prep's figures and the debt for its checks)."""
    latest = case_file.latest_prep
    prep = latest.answers.to_json() if latest is not None else {}
    data = {"_prep": prep, "_owed": case_file.summary.total_overdue}
    await ENGINE.start(update, context, OUTCOME_FLOW, data, case_id=case_file.id)


OUTCOME_FLOW = register(
    Flow(
        name="outcome",
        title=N_("Meeting outcome"),
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
                known=_prev("kind"),
            ),
            Step(
                "venue",
                "outcome/ask",
                Buttons(labels.options("venue", list(Venue)), columns=2),
                optional=True,
                known=_prev("venue"),
            ),
            Step(
                "attendees",
                "outcome/ask",
                Text(max_chars=300),
                optional=True,
                known=_prev("attendees"),
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
