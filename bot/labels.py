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
from typing import Any

from bot.domain.commitments import Channel
from bot.flows import FlowRun, Option
from bot.i18n import N_

#: A question's buttons, built when it is asked (in the asker's language).
OptionsOf = Callable[[FlowRun[Any]], Awaitable[list[Option]]]

# -- buttons drawn on several screens -------------------------------------------------------------

#: Prepare the next meeting (the card, the brief).
PREPARE = N_("🧭 Prepare")
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
        return [
            Option(code=i, value=str(code), label=word(run, kind, code), translate=False)
            for i, code in enumerate(codes)
        ]

    return build
