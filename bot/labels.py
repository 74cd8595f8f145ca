"""Words on buttons that several screens share, declared once.

The same button drawn on two screens says the same thing ("✍ Outcome" on the card, the brief
and a missed instalment), and a question asked by two flows offers the same words (the
payment channel of /outcome and /commit; the meeting kind of /prep and /outcome). Labels here
are message ids (``N_``): a screen translates them with ``context.label``. The words of the
prep's answers are the brief's own (``templates/prep/_words.j2``), rendered through
``prep/label``, so a button and the brief never disagree.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.domain.commitments import Channel
from bot.flows import FlowRun, Option
from bot.i18n import N_, SUPPORTED_LOCALES
from bot.routes import INSTALMENT, INSTALMENT_ANSWERS, OPEN_CASE

if TYPE_CHECKING:
    from bot.context import QingshouContext

#: A question's buttons, built when it is asked (in the asker's language).
OptionsOf = Callable[[FlowRun[Any]], Awaitable[list[Option]]]

# -- buttons drawn on several screens -------------------------------------------------------------

#: Prepare the next meeting (the card, the brief).
PREPARE = N_("🧭 Prepare")
#: Prepare once more after a broken promise or a meeting (the brief, /today).
PREPARE_AGAIN = N_("🧭 Prepare again")
#: Record how a meeting went (the card, the brief, a missed instalment).
OUTCOME = N_("✍ Outcome")
#: The "still unknown" checklist, with how many (the card, the brief): ``% {"n": count}``.
STILL_UNKNOWN = N_("❓ Still unknown (%(n)s)")

# -- answers two flows ask for ---------------------------------------------------------------------

#: How money was received (/outcome, /commit).
CHANNEL_LABELS: dict[Channel, str] = {
    Channel.CASH: N_("Cash"),
    Channel.TRANSFER: N_("Transfer"),
    Channel.POS: N_("POS card"),
    Channel.OTHER: N_("Other"),
}


def labelled(labels: Mapping[Any, str]) -> list[Option]:
    """One option per label, in order: the key (as text) is the answer, the label its button."""
    return [Option(code=i, value=str(k), label=v) for i, (k, v) in enumerate(labels.items())]


def word(run: FlowRun[Any], kind: str, code: object) -> str:
    """The brief's word for the answer ``code`` of ``kind`` (``"venue"``, ``"money_today"``...)
    in the asker's language, as a button shows it (plain text: no HTML escapes)."""
    return html.unescape(run.context.render("prep/label", kind=kind, code=code))


def options(kind: str, codes: Sequence[Any]) -> OptionsOf:
    """The buttons of a question whose answers are ``codes`` (an enum's members, in order),
    each labelled with :func:`word`."""

    async def build(run: FlowRun[Any]) -> list[Option]:
        renderer = run.context.renderer
        return [
            Option(
                code=i,
                value=str(code),
                label=word(run, kind, code),
                translate=False,
                # Typed in another language's words (经营下滑 with 繁體 chosen): the same answer.
                aliases=tuple(
                    html.unescape(renderer.render(loc, "prep/label", kind=kind, code=code))
                    for loc in SUPPORTED_LOCALES
                ),
            )
            for i, code in enumerate(codes)
        ]

    return build


# -- an instalment's answer row (a reminder, /today) --------------------------------------------

#: The three answers and the case, under each instalment a collector is asked about.
PAID, PARTIAL, MISSED, OPEN_CASE_LABEL = (
    N_("Paid in full"),
    N_("Partial"),
    N_("Missed"),
    N_("Open case"),
)


def answer_rows(
    label: Callable[[str], str], n: int, instalment_id: int, case_id: int
) -> list[list[dict[str, str]]]:
    """One instalment's two rows: ``n`` ✅ Paid in full / ◐ Partial, then ✖ Missed / 📂 Open
    case, in InlineKeyboardButton.to_dict()'s shape (a reminder of thousands of rows builds no
    objects). Two a row: four in one row were cut on a 375 px phone ("◐ 部分…"). The reminder
    and /today draw the same rows, so an answer edits either the same way (both rows become
    one line of state: ``handlers/instalments.shown_markup``)."""
    return [
        [
            {
                "text": f"{n} ✅ {label(PAID)}",
                "callback_data": INSTALMENT.data(instalment_id, "paid"),
            },
            {
                "text": f"◐ {label(PARTIAL)}",
                "callback_data": INSTALMENT.data(instalment_id, "partial"),
            },
        ],
        [
            {
                "text": f"✖ {label(MISSED)}",
                "callback_data": INSTALMENT.data(instalment_id, "missed"),
            },
            {"text": f"📂 {label(OPEN_CASE_LABEL)}", "callback_data": OPEN_CASE.data(case_id)},
        ],
    ]


# -- an instalment's answer typed under a reminder (issue 16) -------------------------------------

# Words a collector types for each answer besides the buttons' own, "|" between them (one
# message id per answer, so each language lists its own words). Every language's words are
# understood whichever language is chosen: "paid", "已还" and "已還" are the same answer.
TYPED_PAID = N_("paid|received")
TYPED_PARTIAL = N_("partial|part|paid part")
TYPED_MISSED = N_("missed|not paid|unpaid|no payment")


def typed_answers(context: QingshouContext) -> list[Option]:
    """The three answers to an instalment (values ``paid``, ``partial``, ``missed``) as options
    whose typed words, in every language, are the buttons' labels and the TYPED_* words: for
    :func:`bot.flows.keyboards.match_option`."""
    renderer = context.renderer

    def words(*msgids: str) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(
                word.strip()
                for locale in SUPPORTED_LOCALES
                for msgid in msgids
                for word in renderer.label(locale, msgid).split("|")
                if word.strip()
            )
        )

    return [
        Option(
            code=i,
            value=value,
            label=context.label(shown),
            translate=False,
            aliases=words(shown, typed),
        )
        for i, (value, shown, typed) in enumerate(
            (
                (INSTALMENT_ANSWERS[0], PAID, TYPED_PAID),
                (INSTALMENT_ANSWERS[1], PARTIAL, TYPED_PARTIAL),
                (INSTALMENT_ANSWERS[2], MISSED, TYPED_MISSED),
            )
        )
    ]
