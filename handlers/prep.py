"""/prep: the guided preparation for the next meeting, and the one-screen brief; /brief.

The interview is the ``prep`` flow, in the order of the source document: know them (策略1
知己知彼), our lines (策略10 取上求中, 策略6 留有余地), this meeting (策略2 立竿见影, 策略3 主场
作战), the approach (策略7 攻心为上, 策略4 以攻为守, 策略8 首开先河), money today (策略5
忌华而不实). Buttons first; every fact may be left for later (it stays "still unknown") and a
whole part can be left at once; a fact the case already has is shown with "✓ Keep". The three
figures are checked as they are typed (opening ≥ target ≥ bottom line > 0, opening ≤ the debt):
only the wrong one is asked again. A different approach from last time asks why (策略12).

Read :data:`PREP_FLOW` first: the draft, the questions by part, the hooks, the entry points.
The draft lives in the flow's row (a restart, a phone call, a closed app lose nothing) for a
day (``QINGSHOU_PREP_DRAFT_HOURS``); coming back offers "continue where you were / start over".
Stopped with /cancel (or ✖) after some answers, it asks "keep them for later?": kept, the next
/prep of the case goes on from them (and says so) for as long again; discarded, they are gone.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import labels
from bot.config import Settings
from bot.context import QingshouContext
from bot.domain.casefile import CaseFile, local_date
from bot.domain.cases import Attitude
from bot.domain.money import format_amount
from bot.domain.prep import (
    NO_PRE_CHAT,
    Approach,
    Business,
    Capacity,
    Character,
    Concession,
    FigureField,
    Figures,
    FileQuality,
    LegalQuestion,
    MeetingKind,
    MeetingStep,
    OpenQuestion,
    PrepAnswers,
    Venue,
    WeakPoint,
    approach_for,
    build_brief,
    check_figure,
    figure_suggestions,
    known_facts,
    money_today_required,
    open_questions,
    talking_points,
    urgency_inputs,
)
from bot.domain.unknowns import unknown_facts
from bot.flows import (
    ENGINE,
    Amount,
    Button,
    Buttons,
    Choices,
    Command,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Input,
    Option,
    Refusal,
    Reply,
    Step,
    Text,
    decode_with,
    register,
)
from bot.i18n import N_
from bot.labels import options as _options
from bot.labels import word as _word
from bot.lookup import case_to_act_on, case_to_work_on, pressed_case
from bot.routes import OUTCOME, PREP_DRAFT, PREPARE, UNKNOWNS
from bot.storage import KEPT_UNTIL, FlowState

#: /prep without a case offers this many of the most urgent.
CHOICES = 8
STANCES = (Attitude.COOPERATIVE, Attitude.NEUTRAL, Attitude.HOSTILE, Attitude.UNKNOWN)
_QA_SPLIT = re.compile(r"\s*(?:/|→|->|—|｜|\|)\s*")
_QUESTION_MARK = re.compile(r"[?？]")


# -- the draft: what the interview knows so far ------------------------------------------------


def _parties_of(raw: Sequence[Sequence[Any]]) -> tuple[tuple[int, str, str], ...]:
    return tuple((int(i), str(name), str(role)) for i, name, role in raw)


@dataclass(frozen=True, kw_only=True)
class PrepDraft(Draft):
    """The prep interview so far: the case as it started, then one field per question (the
    step of the same name writes it; a fact left for later stays None). A several-choice
    question holds its tapped option codes until "Done", then the chosen values."""

    VERSION: ClassVar[int] = 1

    # The case, when the interview started.
    owed: int = 0
    principal: int = 0
    #: The related parties whose stance is asked: (party id, name, role), ten at most.
    case_parties: tuple[tuple[int, str, str], ...] = field(
        default=(), metadata=decode_with(_parties_of)
    )
    #: The previous prep's answers as stored (their "✓ Keep" and 策略12's "why the change").
    prev: dict[str, Any] = field(default_factory=dict)

    # 1 Know them
    capacity: str | None = None
    business: str | None = None
    character: str | None = None
    weak_points: list[Any] | None = None
    weak_points_text: str | None = None
    file_quality: str | None = None
    parties: list[Any] | None = None
    social_relations: str | None = None
    legal_questions: list[Any] | None = None
    # 2 Our lines
    bottom: int | None = None
    target: int | None = None
    opening: int | None = None
    needs_approval: list[Any] | None = None
    # 3 This meeting
    kind: str | None = None
    venue: str | None = None
    step: str | None = None
    step_text: str | None = None
    attendees: str | None = None
    qa: str | None = None
    # 4 Approach
    approach: str | None = None
    open_questions: list[Any] | None = None
    pre_chat_by: str | None = None
    # 5 Money today, and 策略12's reason for a new approach
    money_today: int | None = None
    approach_reason: str | None = None

    @property
    def figures(self) -> Figures:
        return Figures(bottom=self.bottom, target=self.target, opening=self.opening)

    def answers(self) -> PrepAnswers:
        """The answers as the domain reads them."""
        stances: dict[str, str] = {}
        for value in self.parties or []:
            party, _, stance = str(value).partition(":")
            stances[party] = stance
        facts = {name: getattr(self, name) for name in _ANSWERS if getattr(self, name) is not None}
        return PrepAnswers.from_json(
            {
                **{k: v for k, v in self.extra.items() if v is not None},
                **facts,
                "party_stances": stances,
                "figures": {
                    f.value: getattr(self, f.value)
                    for f in FigureField
                    if getattr(self, f.value) is not None
                },
                "qa": _qa(self.qa),
            }
        )

    @classmethod
    def from_legacy(cls, data: Mapping[str, Any]) -> PrepDraft:
        """A row of the untyped flow (before version 1): the answers had today's names; the
        case's facts were "internal" keys (``_owed``, ``_principal``, ``_parties``, ``_prev``)."""
        renamed = {k: v for k, v in data.items() if not k.startswith("_")}
        renamed.update(
            owed=data.get("_owed") or 0,
            principal=data.get("_principal") or 0,
            case_parties=data.get("_parties") or [],
            prev=data.get("_prev") or {},
        )
        return cls.from_json(renamed)


_CONTEXT = frozenset({"owed", "principal", "case_parties", "prev"})
_ANSWERS = tuple(sorted(PrepDraft.field_names() - _CONTEXT))
Run = FlowRun[PrepDraft]


def answers_of(draft: PrepDraft) -> PrepAnswers:
    """The interview's answers as :class:`PrepAnswers`."""
    return draft.answers()


def _qa(text: object) -> list[list[str]]:
    """Up to three "question / our answer" pairs, one per line. The answer follows a ``/``,
    ``→`` or ``—``, else the question mark; a line without either is a question to prepare."""
    if not isinstance(text, str):
        return []
    pairs = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        parts = _QA_SPLIT.split(line, maxsplit=1)
        if len(parts) == 1 and (mark := _QUESTION_MARK.search(line)):
            parts = [line[: mark.end()], line[mark.end() :]]
        pairs.append([parts[0].strip(), parts[1].strip() if len(parts) > 1 else ""])
    return pairs[:3]


# -- the questions' options, validators and known answers ---------------------------------------


def _known(name: str) -> Callable[[Run], Any]:
    """The answer of the case's previous prep for this step (shown with ✓ Keep)."""

    def known(run: Run) -> Any:
        return run.draft.prev.get(name)

    return known


def _known_figure(field: FigureField) -> Callable[[Run], Any]:
    def known(run: Run) -> Any:
        value = (run.draft.prev.get("figures") or {}).get(field.value)
        if value is None:
            return None
        # A figure from last time is kept only if it still fits this time's figures.
        return None if _figure_problem(run, field, int(value)) else value

    return known


def _figure_problem(run: Run, field: FigureField, fen: int) -> Any:
    return check_figure(run.draft.figures, field, fen, run.draft.owed)


def _figure_validator(field: FigureField) -> Callable[[Any, Run], Any]:
    def validate(fen: Any, run: Run) -> Any:
        problem = _figure_problem(run, field, int(fen))
        if problem is not None:
            return Refusal("prep/figure_refused", {"problem": problem})
        return int(fen)

    return validate


def _figure_suggestions(field: FigureField) -> Callable[[Run], Awaitable[list[Option]]]:
    async def suggest(run: Run) -> list[Option]:
        found = figure_suggestions(
            field,
            total_overdue=run.draft.owed,
            overdue_principal=run.draft.principal,
            figures=run.draft.figures,
        )
        return [
            Option(
                code=i,
                value=s.amount,
                label=f"{format_amount(s.amount, run.context.locale)} · "
                f"{_word(run, 'suggestion', s)}",
                translate=False,
            )
            for i, s in enumerate(found)
            if _figure_problem(run, field, s.amount) is None
        ]

    return suggest


def _figure(field: FigureField) -> Amount:
    """One of our three lines (策略10), checked against the other two as it is typed."""
    return Amount(
        minimum=0,  # zero is refused by the domain, with 策略10's reason
        validate=_figure_validator(field),
        suggest=_figure_suggestions(field),
    )


async def _stances(run: Run) -> list[Option]:
    options = []
    for index, (party_id, _name, _role) in enumerate(run.draft.case_parties):
        for j, stance in enumerate(STANCES):
            options.append(
                Option(
                    code=party_id * len(STANCES) + j,
                    value=f"{party_id}:{stance.value}",
                    label=f"{index + 1}·{_word(run, 'stance', stance.value)}",
                    translate=False,
                    group=str(party_id),
                )
            )
    return options


async def _approaches(run: Run) -> list[Option]:
    suggested = approach_for(run.draft.answers().character)
    ordered = [suggested, *(a for a in Approach if a is not suggested)]
    return [
        Option(
            code=list(Approach).index(a),
            value=a.value,
            label=("★ " if a is suggested else "") + _word(run, "approach", a.value),
            translate=False,
        )
        for a in ordered
    ]


async def _open_questions(run: Run) -> list[Option]:
    suggested = open_questions(run.draft.answers())
    return [
        Option(
            code=list(OpenQuestion).index(q),
            value=q.value,
            label=_word(run, "question_short", q.value),
            translate=False,
        )
        for q in suggested
    ]


async def _money_today(run: Run) -> list[Option]:
    figures = run.draft.figures
    amounts = [0, *(a for a in (figures.target, figures.opening) if a)]
    seen: list[int] = []
    for amount in amounts:
        if amount not in seen:
            seen.append(amount)
    return [
        Option(
            code=i,
            value=amount,
            label=_word(run, "money_today", amount)
            if amount == 0
            else format_amount(amount, run.context.locale),
            translate=False,
        )
        for i, amount in enumerate(seen)
    ]


async def _no_pre_chat(run: Run) -> list[Option]:
    """The pre-chat question's tap: no colleague is needed first (策略4)."""
    return [
        Option(
            code=0, value=NO_PRE_CHAT, label=_word(run, "pre_chat", NO_PRE_CHAT), translate=False
        )
    ]


def _money_today_valid(fen: Any, run: Run) -> Any:
    owed = run.draft.owed
    if owed and int(fen) > owed:
        return Refusal("prep/money_today_too_much", {"amount": int(fen), "owed": owed})
    return int(fen)


def _approach_unchanged(run: Run) -> bool:
    previous = run.draft.prev.get("approach")
    return not previous or run.draft.answers().chosen_approach.value == previous


def _money_optional(run: Run) -> bool:
    kind = run.draft.kind
    return not money_today_required(MeetingKind(kind) if kind else None)


# -- loading, finishing ---------------------------------------------------------------------

KNOW, LINES, MEETING, APPROACH, MONEY = "know", "lines", "meeting", "approach", "money"


def _expiry(settings: Settings) -> timedelta:
    return timedelta(hours=settings.prep_draft_hours)


async def _load(run: Run) -> dict[str, Any] | None:
    """The case (the presser may still prepare it) and what the prompts show."""
    case_file = await case_to_act_on(run.context, run.case_id)
    if case_file is None:
        return None
    answers = run.draft.answers()
    approach = answers.chosen_approach
    return {
        "summary": case_file.summary,
        "case_file": case_file,
        "step": run.state.step,
        "answers": answers,
        "suggested": approach_for(answers.character),
        "points": talking_points(approach)[:3],
        "previous": case_file.latest_prep,
    }


async def _store_the_prep_and_brief(run: Run) -> Reply:
    """On finishing: store the prep (keyed: once), then send the brief."""
    context = run.context
    user = context.user
    assert user is not None
    case_file: CaseFile = run.params["case_file"]
    answers = run.draft.answers()
    guarantors = {
        p.id for p in case_file.parties if p.party.role.value in ("guarantor", "mortgagor")
    }
    record = await context.storage.add_prep(
        user,
        case_file.id,
        answers,
        approach_reason=run.draft.approach_reason,
        urgency=urgency_inputs(answers, guarantor_ids=guarantors),
        now=run.now,
        key=run.key,
    )
    if record is None:
        return Reply(context.render("prep/lost", text="", data=run.draft))
    fresh = await context.storage.get_case(user, case_file.id)
    return await brief_reply(context, fresh or case_file)


async def brief_reply(context: QingshouContext, case_file: CaseFile) -> Reply:
    """The brief of the case's latest prep, with its buttons (策略2 counts the meetings so far)."""
    latest = case_file.latest_prep
    assert latest is not None
    unknown = unknown_facts(case_file.case, known_facts(latest.answers))
    meetings = await context.storage.meetings_without_agreement(case_file.id)
    brief = build_brief(
        latest.answers, unknown_count=len(unknown), meetings_without_agreement=meetings
    )
    rows = []
    if unknown:  # the card's ❓ list, the same button
        label = context.label(labels.STILL_UNKNOWN) % {"n": len(unknown)}
        rows.append([InlineKeyboardButton(label, callback_data=UNKNOWNS.data(case_file.id))])
    rows.append(
        [
            InlineKeyboardButton(
                context.label(labels.PREPARE_AGAIN), callback_data=PREPARE.data(case_file.id)
            ),
            InlineKeyboardButton(
                context.label(labels.OUTCOME), callback_data=OUTCOME.data(case_file.id)
            ),
        ]
    )
    text = context.render("prep/brief", brief=brief, summary=case_file.summary, prep=latest)
    return Reply(text, InlineKeyboardMarkup(rows))


# -- entry points: /prep [case] and "🧭 Prepare" ------------------------------------------------


async def start_prep(update: Update, context: QingshouContext, case_file: CaseFile) -> None:
    """Open the interview on ``case_file`` with what the case already knows."""
    summary = case_file.summary
    latest = case_file.latest_prep
    draft = PrepDraft(
        owed=summary.total_overdue,
        principal=summary.overdue_principal,
        case_parties=tuple(
            (p.id, p.party.name, p.party.role.value) for p in case_file.parties[:10]
        ),
        prev=latest.answers.to_json() if latest is not None else {},
        # Conservative until the collector says otherwise: every concession is the supervisor's.
        needs_approval=list(range(len(Concession))),
        parties=[
            p.id * len(STANCES) + STANCES.index(p.party.attitude)
            for p in case_file.parties[:10]
            if p.party.attitude is not Attitude.UNKNOWN
        ],
    )
    kept = await _kept_draft(context, case_file.id)
    if kept is None:
        await ENGINE.start(update, context, PREP_FLOW, draft, case_id=case_file.id)
        return
    # The answers kept at /cancel, on today's facts of the case; said before the question.
    state, answers = kept
    resumed = dataclasses.replace(
        answers,
        owed=draft.owed,
        principal=draft.principal,
        case_parties=draft.case_parties,
        prev=draft.prev,
    )
    chat = update.effective_chat
    assert chat is not None
    steps = [s.name for s in PREP_FLOW.steps]
    await chat.send_message(
        context.render(
            "prep/resumed",
            since=state.updated_at,
            n=steps.index(state.step) + 1 if state.step in steps else 1,
            total=len(steps),
            answered=_answered(resumed),
        )
    )
    await ENGINE.start(
        update,
        context,
        PREP_FLOW,
        resumed,
        case_id=case_file.id,
        step=state.step if state.step in steps else None,
    )


async def _kept_draft(context: QingshouContext, case_id: int) -> tuple[FlowState, PrepDraft] | None:
    """The answers of this case's prep that the person stopped with /cancel and kept (then
    no longer kept: they go on in the new interview), if any can be read."""
    user = context.user
    assert user is not None
    storage = context.storage
    state = await storage.kept_flow(user.id, PREP_FLOW.name, case_id, now=context.clock.now())
    if state is None:
        return None
    await storage.keep_flow_draft(state.id, user.id, until=None, now=context.clock.now())
    draft = PREP_FLOW.load_draft({k: v for k, v in state.data.items() if k != KEPT_UNTIL})
    return None if draft is None else (state, draft)


#: Answers that start filled in (every concession the supervisor's, the stances the case
#: already has): not counted as given by the collector.
_PRESET = frozenset({"needs_approval", "parties"})


def _answered(draft: PrepDraft) -> int:
    """How many questions the collector has answered in ``draft``."""
    return sum(1 for name in _ANSWERS if name not in _PRESET and getattr(draft, name) is not None)


async def _offer_to_keep(context: QingshouContext, ended: FlowState) -> Reply | None:
    """On /cancel (or ✖) with answers given: "Keep your answers for later?" rather than
    losing them (the row keeps them; the choice marks them kept, or not)."""
    draft = PREP_FLOW.load_draft(ended.data)
    if draft is None or ended.case_id is None:
        return None
    answered = _answered(draft)
    if not answered:
        return None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.label(N_("💾 Keep draft")),
                    callback_data=PREP_DRAFT.data(ended.id, "keep"),
                ),
                InlineKeyboardButton(
                    context.label(N_("🗑 Discard")),
                    callback_data=PREP_DRAFT.data(ended.id, "drop"),
                ),
            ]
        ]
    )
    text = context.render(
        "prep/keep_draft", title=context.label(PREP_FLOW.title), answered=answered
    )
    return Reply(text, keyboard)


async def keep_or_discard(
    update: Update, context: QingshouContext, flow_id: int, choice: str
) -> None:
    """Keep the answers of a stopped prep for the next /prep of its case, or discard them."""
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    now = context.clock.now()
    until = now + _expiry(context.settings) if choice == "keep" else None
    state = await context.storage.keep_flow_draft(flow_id, user.id, until=until, now=now)
    await query.answer()
    if state is None:  # not theirs, or no longer a stopped prep
        await query.edit_message_reply_markup(reply_markup=None)
        return
    summary = None
    if state.case_id is not None:
        case_file = await context.storage.get_case(user, state.case_id)
        summary = case_file.summary if case_file is not None else None
    await query.edit_message_text(
        context.render(
            "prep/draft_kept" if choice == "keep" else "prep/draft_discarded",
            summary=summary,
            until=until,
        )
    )


async def prep(update: Update, context: QingshouContext) -> None:
    """``/prep [name, contract or phone]``: prepare the next meeting of a case."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    query = " ".join(context.args or []).strip()
    if query:
        case_file = await case_to_work_on(
            message, context, query, choose=PREPARE, icon="🧭", usage="prep/choose"
        )
        if case_file is not None:
            await start_prep(update, context, case_file)
        return
    # No case named: the most urgent ones, a tap away.
    top = await context.storage.queue_page(
        user, today=card_today(context), tz=context.settings.tz, size=CHOICES
    )
    choices = list(top.items)
    if not choices:
        await message.reply_text(context.render("prep/no_cases"))
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"🧭 {c.borrower_name} · {c.contract_no}", callback_data=PREPARE.data(c.id)
                )
            ]
            for c in choices
        ]
    )
    await message.reply_text(context.render("prep/choose"), reply_markup=keyboard)


def card_today(context: QingshouContext) -> Any:
    return local_date(context.clock.now(), context.settings.tz)


async def prepare_button(update: Update, context: QingshouContext, case_id: int) -> None:
    """ "🧭 Prepare" on a card, in /today or in a choice of cases."""
    case_file = await pressed_case(update, context, case_id, say_who_may=True)
    if case_file is not None:
        await start_prep(update, context, case_file)


# -- the flow --------------------------------------------------------------------------------


def _question(
    name: str,
    asked_with: Input,
    part: str,
    *,
    known: Callable[[Run], Any] | None = None,
    skip: Callable[[Run], bool] | None = None,
    optional: bool | Callable[[Run], bool] = True,
) -> Step[PrepDraft]:
    """A question of the interview (prompt ``prep/ask``) in one ``part`` of it; like every
    fact of a prep it may be left for later, unless ``optional`` says otherwise."""
    return Step(
        name, "prep/ask", asked_with, skip=skip, optional=optional, known=known, section=part
    )


PREP_FLOW: Flow[PrepDraft] = register(
    Flow(
        name="prep",
        title=N_("Meeting preparation"),
        draft=PrepDraft,
        entry=Entry((Command("prep"), Button(PREPARE)), command=prep, button=prepare_button),
        steps=(
            # 1 Know them (策略1 知己知彼)
            _question(
                "capacity",
                # One a row: side by side, "有全额还款能力" was cut at 375 px.
                Buttons(_options("capacity", list(Capacity)), columns=1),
                KNOW,
                known=_known("capacity"),
            ),
            _question(
                "business",
                Buttons(_options("business", list(Business)), columns=3),
                KNOW,
                known=_known("business"),
            ),
            _question(
                "character",
                Buttons(_options("character", list(Character))),
                KNOW,
                known=_known("character"),
            ),
            _question(
                "weak_points",
                Choices(_options("weak_point", list(WeakPoint)), free_text=True),
                KNOW,
            ),
            _question(
                "file_quality",
                Buttons(_options("file_quality", list(FileQuality)), columns=3),
                KNOW,
                known=_known("file_quality"),
            ),
            _question(
                "parties",
                Choices(_stances, columns=4, complete_groups=True, auto_done=True),
                KNOW,
                skip=lambda run: not run.draft.case_parties,
            ),
            _question(
                "social_relations", Text(max_chars=500), KNOW, known=_known("social_relations")
            ),
            _question("legal_questions", Choices(_options("legal", list(LegalQuestion))), KNOW),
            # 2 Our lines (策略10 取上求中, 策略6 留有余地)
            _question(
                "bottom",
                _figure(FigureField.BOTTOM),
                LINES,
                known=_known_figure(FigureField.BOTTOM),
            ),
            _question(
                "target",
                _figure(FigureField.TARGET),
                LINES,
                known=_known_figure(FigureField.TARGET),
            ),
            _question(
                "opening",
                _figure(FigureField.OPENING),
                LINES,
                known=_known_figure(FigureField.OPENING),
            ),
            _question(
                "needs_approval",
                Choices(_options("concession", list(Concession)), columns=1),
                LINES,
            ),
            # 3 This meeting (策略2 立竿见影, 策略3 主场作战)
            _question("kind", Buttons(_options("kind", list(MeetingKind))), MEETING),
            _question("venue", Buttons(_options("venue", list(Venue)), columns=2), MEETING),
            _question(
                "step",
                Buttons(
                    _options("step", list(MeetingStep)), columns=2, other=MeetingStep.OTHER.value
                ),
                MEETING,
            ),
            _question("attendees", Text(max_chars=300), MEETING),
            _question("qa", Text(max_chars=900), MEETING),
            # 4 Approach (策略7 攻心为上, 策略4 以攻为守, 策略8 首开先河)
            _question("approach", Buttons(_approaches), APPROACH, known=_known("approach")),
            _question("open_questions", Choices(_open_questions, columns=1), APPROACH),
            _question(
                "pre_chat_by",
                Text(max_chars=100, single_line=True, suggest=_no_pre_chat),
                APPROACH,
            ),
            # 5 Money today (策略5 忌华而不实; goal 1): a result meeting may not skip it
            _question(
                "money_today",
                Amount(minimum=0, validate=_money_today_valid, suggest=_money_today),
                MONEY,
                optional=_money_optional,
            ),
            # 策略12 一以贯之: a different approach from last time needs a reason
            Step(
                "approach_reason",
                "prep/ask",
                Text(max_chars=200, single_line=True),
                skip=_approach_unchanged,
            ),
        ),
        load=_load,
        on_finish=_store_the_prep_and_brief,
        lost="prep/lost",
        expires=_expiry,
        resumable=True,
        on_cancel=_offer_to_keep,
    )
)


# -- /brief ------------------------------------------------------------------------------------


async def brief(update: Update, context: QingshouContext) -> None:
    """``/brief <name, contract or phone>``: the latest brief of a case, again."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    query = " ".join(context.args or []).strip()
    if not query:
        await message.reply_text(context.render("prep/brief_usage"))
        return
    found = await context.storage.find_cases(user, query, limit=2)
    exact = [c for c in found if c.contract_no.casefold() == query.casefold()]
    if not found:
        await message.reply_text(context.render("cases/not_found", query=query))
        return
    if len(found) > 1 and len(exact) != 1:
        await message.reply_text(context.render("prep/brief_which", query=query))
        return
    case_file = await context.storage.get_case(user, (exact or found)[0].id)
    assert case_file is not None
    if case_file.latest_prep is None:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        context.label(labels.PREPARE), callback_data=PREPARE.data(case_file.id)
                    )
                ]
            ]
        )
        await message.reply_text(
            context.render("prep/no_brief", summary=case_file.summary), reply_markup=keyboard
        )
        return
    reply = await brief_reply(context, case_file)
    await message.reply_text(reply.text, reply_markup=reply.markup)
