"""An approval request as the supervisors see it (策略6 即时请示): who answers a team's requests,
and the request's message with its three answer buttons, in each supervisor's language.

Shared by the flows that ask (handlers/commit.py: a plan below the line, a concession from the
card), the reminder of a request nobody answered (reminders/approvals.py) and the digest's
waiting requests (:mod:`bot.digests`); the answer is handlers/approvals.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Slot
from bot.domain.casefile import CaseFile
from bot.domain.commitments import Approval
from bot.domain.people import User
from bot.i18n import N_
from bot.render import Renderer
from bot.routes import APPROVAL_ANSWER
from bot.telegram_io import message_call, wake

if TYPE_CHECKING:
    from bot.context import QingshouContext
    from bot.storage import OutboxCall


async def supervisors_of(context: QingshouContext, team_id: int | None) -> list[User]:
    """Who answers the team's requests: its active supervisors."""
    if team_id is None:
        return []
    people = await context.storage.list_users(team_id=team_id)
    return [p for p in people if p.role.value == "supervisor" and p.active]


def request_calls(
    context: QingshouContext,
    case_file: CaseFile,
    approval: Approval,
    supervisors: Sequence[User],
    approval_id: int | Slot,
    *,
    again: bool = False,
) -> list[OutboxCall]:
    """The request (or its reminder) for each supervisor, in their language, with the three
    answer buttons, as outbox calls to write beside the change."""
    calls = []
    for supervisor in supervisors:
        locale = supervisor.effective_locale(context.settings.default_locale)
        text = context.renderer.render(
            locale,
            "commit/approval_request",
            summary=case_file.summary,
            approval=approval,
            proposal=approval.proposal,
            again=again,
        )
        keyboard = answer_keyboard(context.renderer, locale, approval_id)
        calls.append(message_call(supervisor.telegram_id, text, keyboard))
    return calls


def answer_keyboard(
    renderer: Renderer, locale: str, approval_id: int | Slot
) -> InlineKeyboardMarkup:
    """✅ Approve, ❌ Reject / ↩️ Counter-offer for one request, in ``locale``."""
    label = renderer.label
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(locale, N_("✅ Approve")),
                    callback_data=APPROVAL_ANSWER.data(approval_id, "ok"),
                ),
                InlineKeyboardButton(
                    label(locale, N_("❌ Reject")),
                    callback_data=APPROVAL_ANSWER.data(approval_id, "no"),
                ),
            ],
            [
                InlineKeyboardButton(
                    label(locale, N_("↩️ Counter-offer")),
                    callback_data=APPROVAL_ANSWER.data(approval_id, "ct"),
                )
            ],
        ]
    )


async def withdraw(context: QingshouContext, approval: Approval) -> bool:
    """Withdraw ``approval`` with the flow that asked it (cancelled, expired, dropped): the
    request and its pending commitment end, so nothing of it binds, and the supervisors and
    the collector are told in the same transaction. False, and nothing changed, when it was
    answered or withdrawn already (a compare-and-set: an answer and a withdrawal never both
    take effect)."""
    people = [*await supervisors_of(context, approval.team_id)]
    requester = await context.storage.get_user(approval.requested_by)
    if requester is not None:
        people.append(requester)
    calls = []
    for person in people:
        locale = person.effective_locale(context.settings.default_locale)
        text = context.renderer.render(
            locale,
            "commit/withdrawn",
            approval=approval,
            borrower=approval.borrower_name,
            contract=approval.contract_no,
            for_collector=person.id == approval.requested_by,
        )
        calls.append(message_call(person.telegram_id, text, None))
    done = await context.storage.withdraw_approval(
        approval.id, notify=calls, now=context.clock.now()
    )
    if done is not None:
        wake(context)
    return done is not None
