"""The digest's messages, composed for one person (issue 11): the same for the daily run
(reminders/digest.py queues them in the outbox) and for ``/digest`` (handlers/digest.py sends them
at once). Text in the person's language split to Telegram's limit, the drill-down and answer
buttons, and a team's chart.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.approvals import answer_keyboard
from bot.charts import ChartLabels, NoCjkFont, digest_chart
from bot.domain.digest import (
    CooperativeDigest,
    DigestDay,
    DigestMessage,
    DrillDown,
    TeamDigest,
)
from bot.i18n import N_
from bot.routes import DRILL, TEAM

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.domain.people import User
    from bot.render import Renderer
    from bot.storage import Storage

log = logging.getLogger(__name__)

#: Collectors with a button of their own under the digest (a larger team uses the list).
COLLECTOR_BUTTONS = 12
#: Waiting requests sent after the digest, each with its answer buttons.
APPROVAL_BUTTONS = 5
TEAM_BUTTONS = 20


async def compose(
    storage: Storage,
    renderer: Renderer,
    settings: Settings,
    user: User,
    *,
    now: Any,
    team_id: int | None = None,
) -> list[DigestMessage]:
    """The digest's messages for ``user`` in their language: the chart (a team's digest) and
    the text parts, the buttons under the last part. Admins get the cooperative's digest unless
    ``team_id`` names a team. Empty for a collector or a supervisor without a team.

    What happened is counted since ``user``'s previous digest (its run row) up to ``now``:
    the daily run and ``/digest`` on demand show the same span, the one the next scheduled
    digest would show."""
    locale = user.effective_locale(settings.default_locale)
    since = await storage.last_digest_at(user.id, now=now)
    day = DigestDay.of(now, settings.tz, since=since)
    role = user.role.value
    if role == "admin" and team_id is None:
        coop = await storage.cooperative_digest(
            day, now=now, untouched_days=settings.untouched_days
        )
        parts = renderer.render_parts(locale, "digest/cooperative", digest=coop)
        return _texts(parts, _team_buttons(coop))
    if role == "supervisor":
        team_id = user.team_id
    if team_id is None or role == "collector":
        return []
    digest = await storage.team_digest(
        team_id, day, now=now, untouched_days=settings.untouched_days
    )
    if digest is None:
        return []
    parts = renderer.render_parts(locale, "digest/team", digest=digest)
    messages = _texts(parts, _team_markup(renderer, locale, digest))
    messages.extend(_legal(renderer, locale, digest))
    messages.extend(_approvals(renderer, locale, digest))
    chart = await _chart(renderer, locale, digest)
    if chart is not None:
        caption = {"team": digest.team_name, "day": day.today.isoformat()}
        messages.insert(
            0,
            DigestMessage(
                "digest/chart_caption",
                caption,
                media="photo",
                attachment=chart,
                filename="digest.png",
            ),
        )
    return messages


def _texts(parts: list[str], markup: InlineKeyboardMarkup | None) -> list[DigestMessage]:
    messages = [DigestMessage("digest/part", {"text": part}) for part in parts]
    if messages and markup is not None:
        last = messages[-1]
        messages[-1] = DigestMessage(last.template, last.params, markup=markup.to_dict())
    return messages


async def _chart(renderer: Renderer, locale: str, digest: TeamDigest) -> bytes | None:
    label = renderer.label
    labels = ChartLabels(
        title=label(locale, N_("Collected per day, last 30 days")),
        collected=label(locale, N_("Collected")),
        promised=label(locale, N_("Promised")),
        rate_title=label(locale, N_("Promises kept, last 30 days (lowest first)")),
        no_rates=label(locale, N_("No promises settled in 30 days")),
    )
    try:
        # matplotlib is CPU work: off the event loop, so the bot keeps answering meanwhile.
        return await asyncio.to_thread(digest_chart, digest.series, digest.collectors, labels)
    except NoCjkFont:
        log.exception("no CJK font: the digest goes out without its chart")
        return None


def _legal(renderer: Renderer, locale: str, d: TeamDigest) -> list[DigestMessage]:
    """The legal list (issue 19) as its own message, so the digest and it each fit a phone
    screen, with its drill-down buttons: within 30 days, within 90, lapsed this week."""
    if d.legal.empty:
        return []
    text = renderer.render(locale, "digest/legal", legal=d.legal)
    label = renderer.label
    lists = [
        (DrillDown.LEGAL_URGENT, d.legal.urgent, N_("⚖️ Within 30 days")),
        (DrillDown.LEGAL_SOON, d.legal.soon.total, N_("⚖️ Within 90 days")),
        (DrillDown.LEGAL_LAPSED, d.legal.lapsed.total, N_("⌛ Lapsed this week")),
    ]
    buttons = [
        InlineKeyboardButton(
            f"{label(locale, text)} ({total})",
            callback_data=DRILL.data(kind.value, d.team_id, 0),
        )
        for kind, total, text in lists
        if total
    ]
    markup = InlineKeyboardMarkup([buttons]) if buttons else None
    return _texts([text], markup)


def _approvals(renderer: Renderer, locale: str, d: TeamDigest) -> list[DigestMessage]:
    """Each waiting request as its own short message with Approve / Reject / Counter-offer:
    the answer edits that message (handlers/approvals.py), never the digest."""
    messages = []
    for a in d.approvals.items[:APPROVAL_BUTTONS]:
        markup = answer_keyboard(renderer, locale, a.id)
        asked = a.requested_at.astimezone(d.day.tz).date().isoformat()
        params = {
            "borrower": a.borrower_name,
            "contract": a.contract_no,
            "name": a.requested_by_name,
            "asked": asked,
            "reasons": list(a.reasons),
            "proposal": a.proposal,
        }
        messages.append(DigestMessage("digest/approval", params, markup=markup.to_dict()))
    return messages


def _team_markup(renderer: Renderer, locale: str, d: TeamDigest) -> InlineKeyboardMarkup | None:
    label = renderer.label
    rows: list[list[InlineKeyboardButton]] = []
    # The broken list of this digest's own span, whenever the button is pressed (the next
    # digest's run row must not empty it).
    since = int(d.day.span_start.timestamp())
    lists = [
        (DrillDown.BROKEN, d.broken_list.total, N_("❌ Broken")),
        (DrillDown.STALLED, d.stalled.total, N_("🔁 Stalled")),
        (DrillDown.UNTOUCHED, d.untouched.total, N_("⏳ Untouched")),
        (DrillDown.UNPREPARED, d.unprepared.total, N_("🚨 Not prepared")),
    ]
    drill = [
        InlineKeyboardButton(
            f"{label(locale, text)} ({total})",
            callback_data=DRILL.data(
                kind.value, d.team_id, since if kind is DrillDown.BROKEN else 0
            ),
        )
        for kind, total, text in lists
        if total
    ]
    rows.extend(drill[i : i + 2] for i in range(0, len(drill), 2))
    people = [
        InlineKeyboardButton(
            f"👤 {c.name}"[:40],
            callback_data=DRILL.data(DrillDown.COLLECTOR.value, d.team_id, c.user_id),
        )
        for c in d.collectors[:COLLECTOR_BUTTONS]
    ]
    rows.extend(people[i : i + 3] for i in range(0, len(people), 3))
    return InlineKeyboardMarkup(rows) if rows else None


def _team_buttons(coop: CooperativeDigest) -> InlineKeyboardMarkup | None:
    buttons = [
        InlineKeyboardButton(f"📊 {t.name}"[:40], callback_data=TEAM.data(t.team_id))
        for t in coop.teams[:TEAM_BUTTONS]
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows) if rows else None
