"""The supervisors' daily digest, exactly once per person per local day (issue 11).

Every minute (and shortly after start-up) the clock job asks storage who has not had today's
digest yet, and the domain whether it is due for them (their own time from /settings, else
``QINGSHOU_DIGEST_TIME``; weekends muted or not). For each, the digest is composed — text in
their language, split to Telegram's limit, with the answer and drill-down buttons, and the
chart — and storage writes the run row and the outbox rows in one transaction. The run row is
unique per (person, local date): a second tick, a second process, a restart right after the
write, a DST day whose 02:30 happens twice, all find it and write nothing. A bot that was down
at digest time sends it at the first tick after start-up, the same local day (never the next).

The outbox sends it (text rendered again from the pre-rendered parts, the chart as a photo in
the same group). ``/digest`` (handlers/digest.py) composes the same messages on demand and
sends them at once, without a run row.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.callbacks import Choice, Int
from bot.charts import ChartLabels, NoCjkFont, digest_chart
from bot.domain.digest import (
    CooperativeDigest,
    DigestDay,
    DigestMessage,
    DrillDown,
    TeamDigest,
    digest_due,
)
from bot.i18n import N_

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.context import QingshouContext
    from bot.domain.people import User
    from bot.render import Renderer
    from bot.storage import Storage

log = logging.getLogger(__name__)

#: A drill-down list: (which list, team id, collector id or 0).
DRILL = callbacks.route("dg", Choice(tuple(k.value for k in DrillDown)), Int(), Int())
#: An admin's tap on a team of the cooperative digest: (team id).
TEAM = callbacks.route("dg.t", Int())
#: Collectors with a button of their own under the digest (a larger team uses the list).
COLLECTOR_BUTTONS = 12
#: Waiting requests sent after the digest, each with its answer buttons.
APPROVAL_BUTTONS = 5
TEAM_BUTTONS = 20


async def send_due(context: QingshouContext) -> int:
    """Compose and queue the digest of everyone whose digest is due now; how many."""
    storage, settings = context.storage, context.settings
    now = context.clock.now()
    local_date = now.astimezone(settings.tz).date()
    queued = 0
    for r in await storage.digest_recipients(local_date):
        day = digest_due(
            now, settings.tz, r.digest_time or settings.digest_time, mute_weekends=r.mute_weekends
        )
        if day != local_date:
            continue
        user = await storage.get_user(r.user_id)
        if user is None:
            continue
        try:
            messages = await compose(storage, context.renderer, settings, user, now=now)
        except Exception:  # one team's failure must not hold up the others
            log.exception("digest for user %s could not be composed", r.user_id)
            continue
        if not messages:
            continue
        scope = "cooperative" if user.role.value == "admin" else "team"
        if await storage.record_digest(user.id, day, messages, scope=scope, now=now):
            queued += 1
    return queued


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
    ``team_id`` names a team. Empty for a collector or a supervisor without a team."""
    locale = user.effective_locale(settings.default_locale)
    day = DigestDay.of(now, settings.tz)
    role = user.role.value
    if role == "admin" and team_id is None:
        coop = await storage.cooperative_digest(
            day, now=now, untouched_days=settings.untouched_days
        )
        parts = renderer.render_parts(locale, "digest/cooperative", d=coop)
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
    parts = renderer.render_parts(locale, "digest/team", d=digest)
    messages = _texts(parts, _team_markup(renderer, locale, digest))
    messages.extend(_approvals(renderer, locale, digest))
    chart = await _chart(renderer, locale, digest)
    if chart is not None:
        caption = {"team": digest.team_name, "day": day.today.isoformat()}
        messages.insert(
            0,
            DigestMessage("digest/chart_caption", caption, media="photo", attachment=chart,
                          filename="digest.png"),
        )  # fmt: skip
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


def _approvals(renderer: Renderer, locale: str, d: TeamDigest) -> list[DigestMessage]:
    """Each waiting request as its own short message with Approve / Reject / Counter-offer:
    the answer edits that message (handlers/approvals.py), never the digest."""
    from handlers.commit import ANSWER  # the approval buttons are answered there

    label = renderer.label
    messages = []
    for a in d.approvals.items[:APPROVAL_BUTTONS]:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label(locale, N_("✅ Approve")),
                                   callback_data=ANSWER.data(a.id, "ok")),
              InlineKeyboardButton(label(locale, N_("❌ Reject")),
                                   callback_data=ANSWER.data(a.id, "no"))],
             [InlineKeyboardButton(label(locale, N_("↩️ Counter-offer")),
                                   callback_data=ANSWER.data(a.id, "ct"))]]
        )  # fmt: skip
        asked = a.requested_at.astimezone(d.day.tz).date().isoformat()
        params = {"borrower": a.borrower_name, "contract": a.contract_no,
                  "name": a.requested_by_name, "asked": asked}  # fmt: skip
        messages.append(DigestMessage("digest/approval", params, markup=markup.to_dict()))
    return messages


def _team_markup(renderer: Renderer, locale: str, d: TeamDigest) -> InlineKeyboardMarkup | None:
    label = renderer.label
    rows: list[list[InlineKeyboardButton]] = []
    lists = [
        (DrillDown.BROKEN, d.broken_list.total, N_("❌ Broken")),
        (DrillDown.STALLED, d.stalled.total, N_("🔁 Stalled")),
        (DrillDown.UNTOUCHED, d.untouched.total, N_("⏳ Untouched")),
        (DrillDown.UNPREPARED, d.unprepared.total, N_("🚨 Not prepared")),
    ]
    drill = [
        InlineKeyboardButton(f"{label(locale, text)} ({total})",
                             callback_data=DRILL.data(kind.value, d.team_id, 0))
        for kind, total, text in lists if total
    ]  # fmt: skip
    rows.extend(drill[i : i + 2] for i in range(0, len(drill), 2))
    people = [
        InlineKeyboardButton(f"👤 {c.name}"[:40],
                             callback_data=DRILL.data(DrillDown.COLLECTOR.value, d.team_id,
                                                      c.user_id))
        for c in d.collectors[:COLLECTOR_BUTTONS]
    ]  # fmt: skip
    rows.extend(people[i : i + 3] for i in range(0, len(people), 3))
    return InlineKeyboardMarkup(rows) if rows else None


def _team_buttons(coop: CooperativeDigest) -> InlineKeyboardMarkup | None:
    buttons = [
        InlineKeyboardButton(f"📊 {t.name}"[:40], callback_data=TEAM.data(t.team_id))
        for t in coop.teams[:TEAM_BUTTONS]
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows) if rows else None
