"""The guarantee kind a ledger does not give, asked once from the card ("🛡 Guarantee kind").

A guarantor's clock depends on the kind (第693条: a general guarantee needs a suit against the
borrower in the guarantee period, a joint-liability one a claim against the guarantor), and the
kind must come from the contract, never be assumed (issue 19). The card shows "kind not in the
file" and this button until someone who works the case answers from the contract: joint
liability, general, or "the contract does not say" — which the Civil Code makes a general
guarantee (第686条) — or "not known yet", which stores nothing.

The exchange is the ``guarantee`` flow: which guarantor (when more than one lacks the kind) →
the kind → the guarantee period the contract agrees, when the file did not give it (an end
date, typed; or none agreed, which the Civil Code makes 6 months from the due date, 第692条;
or not known yet) → stored. Each step re-checks through ``_load`` that the person may still work
on the case and that the guarantor is still one of its guarantors without a kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from telegram import Update

from bot.context import QingshouContext
from bot.domain.dates import DateError, parse_written_date
from bot.domain.legal import GuaranteeKind, GuarantorFacts
from bot.flows import (
    ENGINE,
    Button,
    Buttons,
    DateInput,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Option,
    Refusal,
    Reply,
    Step,
    register,
)
from bot.i18n import N_
from bot.lookup import case_to_act_on, not_yours
from bot.routes import GUARANTEE_KIND

#: The answer "the contract does not say which kind" (a general guarantee, 第686条).
SILENT = "silent"
#: The answer "not known yet": nothing is stored, the card keeps asking.
NOT_YET = "not_yet"
_KINDS = [
    Option(code=0, value=GuaranteeKind.JOINT.value, label=N_("Joint liability")),
    Option(code=1, value=GuaranteeKind.GENERAL.value, label=N_("General guarantee")),
    Option(code=2, value=SILENT, label=N_("The contract does not say")),
    Option(code=3, value=NOT_YET, label=N_("Not known yet")),
]
#: The contract agrees an end date for the guarantee period: asked next, typed.
END_DATE = "end_date"
#: No period agreed (or one that ends with the main debt): 6 months from its due date (第692条).
NONE_AGREED = "none"
_PERIODS = [
    Option(code=0, value=END_DATE, label=N_("It agrees an end date")),
    Option(code=1, value=NONE_AGREED, label=N_("None agreed: 6 months from the due date")),
    Option(code=2, value=NOT_YET, label=N_("Not known yet")),
]


@dataclass(frozen=True, kw_only=True)
class GuaranteeDraft(Draft):
    """The guarantor asked about, then the answer (a GuaranteeKind value, SILENT or NOT_YET)."""

    VERSION: ClassVar[int] = 1

    guarantor: int | None = None
    kind: str | None = None
    period: str | None = None
    agreed_end: str | None = None  # the typed day, ISO (a draft holds JSON values)


Run = FlowRun[GuaranteeDraft]


async def _unknown(run: Run) -> tuple[Any, list[GuarantorFacts]] | None:
    """The case (if the person may still work on it) and its guarantors without a kind."""
    case_file = await case_to_act_on(run.context, run.case_id)
    if case_file is None:
        return None
    facts = await run.context.storage.legal_facts(case_file.id)
    guarantors = [] if facts is None else [g for g in facts.guarantors if g.kind is None]
    return case_file, guarantors


async def _load(run: Run) -> dict[str, Any] | None:
    found = await _unknown(run)
    if found is None:
        return None
    case_file, guarantors = found
    chosen = next((g for g in guarantors if g.party_id == run.draft.guarantor), None)
    if run.draft.guarantor is not None and chosen is None:
        return None  # answered meanwhile (another tap, the next import): nothing left to ask
    return {"summary": case_file.summary, "guarantor": chosen, "count": len(guarantors)}


async def _guarantors(run: Run) -> list[Option]:
    found = await _unknown(run)
    guarantors = [] if found is None else found[1]
    return [Option(code=g.party_id, value=g.party_id, label=g.name, translate=False)
            for g in guarantors]  # fmt: skip


def _parse_end(text: str, today: date) -> date | Refusal:
    """The period's end as the contract writes it: a day ahead or one already gone."""
    try:
        return parse_written_date(text, today)
    except DateError as exc:
        return Refusal("guarantee/bad_end", {"error": exc})


def _period_known(run: Run) -> bool:
    """The kind is not being stored, or the file gave the agreed period already."""
    guarantor = run.params.get("guarantor")
    return run.draft.kind == NOT_YET or (guarantor is not None and guarantor.agreed_end is not None)


async def _store(run: Run) -> Reply:
    """Store the kind (the same answer twice stores the same fact: a replay changes nothing)."""
    context = run.context
    user = context.user
    assert user is not None and run.case_id is not None
    summary, guarantor = run.params["summary"], run.params["guarantor"]
    answer = run.draft.kind
    if answer == NOT_YET or guarantor is None:
        return Reply(context.render("guarantee/not_yet", summary=summary, guarantor=guarantor))
    kind = GuaranteeKind.GENERAL if answer == SILENT else GuaranteeKind(str(answer))
    # "None agreed" stores no end: the clock then counts 6 months from the due date, as it does
    # for a period not known yet (the earlier of the two, so never later than the real one).
    typed = run.draft.agreed_end
    agreed_end = date.fromisoformat(typed) if typed and run.draft.period == END_DATE else None
    stored = await context.storage.set_guarantee_facts(
        run.case_id,
        guarantor.party_id,
        kind=kind,
        agreed_end=agreed_end,
        by_user_id=user.id,
        now=run.now,
    )
    if stored is None:
        return Reply(context.render("guarantee/lost"))
    return Reply(
        context.render("guarantee/done", summary=summary, guarantor=stored, silent=answer == SILENT)
    )


async def ask_kind(update: Update, context: QingshouContext, case_id: int) -> None:
    """ "🛡 Guarantee kind" on a card: ask which guarantor (if several lack it), then the kind."""
    query = update.callback_query
    assert query is not None
    draft = GuaranteeDraft()
    run_case = await case_to_act_on(context, case_id)
    if run_case is None:
        await not_yours(update, context)
        return
    facts = await context.storage.legal_facts(case_id)
    missing = [] if facts is None else [g for g in facts.guarantors if g.kind is None]
    if not missing:
        await query.answer(context.label(N_("Every guarantee kind of this case is known.")))
        return
    await query.answer()
    if len(missing) == 1:
        draft = GuaranteeDraft(guarantor=missing[0].party_id)
        await ENGINE.start(update, context, GUARANTEE_FLOW, draft, case_id=case_id, step="kind")
        return
    await ENGINE.start(update, context, GUARANTEE_FLOW, draft, case_id=case_id)


GUARANTEE_FLOW: Flow[GuaranteeDraft] = register(
    Flow(
        name="guarantee",
        title=N_("Guarantee kind"),
        draft=GuaranteeDraft,
        # "🛡 Guarantee kind" on a card whose guarantors include one the file gives no kind.
        entry=Entry((Button(GUARANTEE_KIND),), button=ask_kind),
        steps=(
            Step(
                "guarantor",
                prompt="guarantee/choose_guarantor",
                input=Buttons(_guarantors),
                next="kind",
            ),
            Step("kind", prompt="guarantee/ask_kind", input=Buttons(_KINDS)),
            Step(
                "period",
                prompt="guarantee/ask_period",
                input=Buttons(_PERIODS),
                skip=_period_known,
                next=lambda run: "agreed_end" if run.draft.period == END_DATE else None,
            ),
            Step(
                "agreed_end",
                prompt="guarantee/ask_end",
                input=DateInput(_parse_end),
                skip=lambda run: run.draft.period != END_DATE,
            ),
        ),
        load=_load,
        on_finish=_store,
        lost="guarantee/lost",
    )
)
