"""/cases, /today, /case and /note: the queue by urgency, the case card, notes on a case.

Every button carries a case id, and callback data can be forged: each press loads the case
again through storage with the presser as viewer, which finds nothing that is not theirs.
"""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot import labels
from bot.callbacks import Route
from bot.context import QingshouContext
from bot.domain.casefile import (
    CaseFile,
    card_view,
    local_date,
    may_assign,
    may_prepare,
    sees_others_cases,
)
from bot.domain.legal import LegalAlert, LegalClocks, alert_window, legal_alerts, legal_clocks
from bot.domain.plans import stalled
from bot.domain.queue import TO_DO, rank_page, to_do_since
from bot.i18n import N_
from bot.labels import answer_rows
from bot.lookup import offer_urgent_cases, pressed_case_to_view
from bot.render import MESSAGE_LIMIT, fit_message  # noqa: F401 - fitting lives in the renderer
from bot.routes import (
    CASE_FILE,
    COMMIT,
    CONCESSION,
    GUARANTEE_KIND,
    LEAD_COLLECTOR,
    NOTE,
    NOTICE,
    OPEN_CASE,
    OUTCOME,
    PREPARE,
    QUEUE,
    QUEUE_PAGE,
    TODAY,
    UNCOMMIT,
    UNKNOWNS,
)

#: Several matches of /case: at most this many buttons to choose from.
MAX_CHOICES = 10
#: /today's legal deadlines: at most this many cases get a button of their own.
LEGAL_BUTTONS = 5


def _today(context: QingshouContext) -> date:
    return local_date(context.clock.now(), context.settings.tz)


async def _queue(
    context: QingshouContext, mode: str, page_no: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    user = context.user
    assert user is not None
    today = _today(context)
    tz = context.settings.tz
    # One page from the stored sort keys (issue 17): only the cases shown are read and scored.
    page = rank_page(
        await context.storage.queue_page(
            user, today=today, tz=tz, number=page_no, today_only=mode == TODAY
        ),
        today,
        tz,
    )
    # /today opens with what came due and was not done: the promises broken on plans still in
    # force (prepare again, 策略2: the week's most urgent news, on top), the payments nobody
    # answered yet or paid only in part (with the reminder's own answer row: an answer here
    # edits this list as it edits a reminder) and the next steps the last meetings set, each
    # over the past week.
    to_answer, broken, steps = [], [], []
    legal: list[LegalAlert] = []
    if mode == TODAY and page_no == 0:
        storage = context.storage
        since, since_day = to_do_since(context.clock.now(), context.settings.tz)
        to_answer = await storage.instalments_to_answer(user, on_or_before=today, limit=TO_DO)
        broken = await storage.broken_to_follow_up(user, since=since, limit=TO_DO)
        steps = await storage.next_steps_due(user, since=since_day, until=today, limit=TO_DO)
        # Legal clocks ending soon (issue 19), most urgent first, with what to do.
        days = context.settings.legal_alert_days
        first, last = alert_window(today, days)
        near = await storage.legal_facts_ending(
            user, first=first, last=last, tz=context.settings.tz
        )
        legal = legal_alerts((legal_clocks(f, today) for f in near), today, days)
    text = context.render(
        "cases/queue",
        page=page,
        today=mode == TODAY,
        staff=sees_others_cases(user),
        to_answer=to_answer,
        broken=broken,
        steps=steps,
        legal=legal[:TO_DO],
        more_legal=max(len(legal) - TO_DO, 0),
        on=today,
    )
    answer_buttons = [
        [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
        for n, i in enumerate(to_answer, 1)
        for row in answer_rows(context.label, n, i.id, i.case_id)
    ]
    prepare_again = context.label(labels.PREPARE_AGAIN)
    broken_rows = [
        [
            InlineKeyboardButton(
                f"{prepare_again} · {i.borrower_name}", callback_data=PREPARE.data(i.case_id)
            )
        ]
        for i in broken  # the storage's scope is whom one may prepare for; a press is checked again
    ]
    # A legal deadline's case one tap away (its card shows every clock), each case once.
    legal_cases = list(dict.fromkeys((a.case_id, a.borrower_name) for a in legal[:TO_DO]))
    legal_rows = [
        [InlineKeyboardButton(f"⚖️ {name}", callback_data=OPEN_CASE.data(case_id))]
        for case_id, name in legal_cases[:LEGAL_BUTTONS]
    ]
    rows = (
        broken_rows
        + legal_rows
        + answer_buttons
        + [
            [
                InlineKeyboardButton(
                    # Beside a 🧭 the button has half a phone's width: the name alone fits
                    # (the contract number is in the list above it).
                    f"{r.rank}. {r.case.borrower_name}"
                    if prepare_here
                    else f"{r.rank}. {r.case.borrower_name} · {r.case.contract_no}",
                    callback_data=OPEN_CASE.data(r.case.id),
                )
            ]
            # Today's list is where meetings start: prepare one from it at once.
            + (
                [InlineKeyboardButton("🧭", callback_data=PREPARE.data(r.case.id))]
                if prepare_here
                else []
            )
            for r in page.items
            for prepare_here in [mode == TODAY and may_prepare(user, r.case)]
        ]
    )
    nav = []
    if page.has_previous:
        nav.append(InlineKeyboardButton("◀", callback_data=QUEUE_PAGE.data(mode, page.number - 1)))
    if page.has_next:
        nav.append(InlineKeyboardButton("▶", callback_data=QUEUE_PAGE.data(mode, page.number + 1)))
    if nav:
        rows.append(nav)
    return text, InlineKeyboardMarkup(rows) if rows else None


async def cases(update: Update, context: QingshouContext) -> None:
    """Show the queue: one's own open cases (the team's, everyone's), most urgent first."""
    assert update.effective_message is not None
    text, keyboard = await _queue(context, QUEUE, 0)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def today(update: Update, context: QingshouContext) -> None:
    """Show the cases that need action today."""
    assert update.effective_message is not None
    text, keyboard = await _queue(context, TODAY, 0)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def _card(context: QingshouContext, case_file: CaseFile) -> tuple[str, InlineKeyboardMarkup]:
    user = context.user
    assert user is not None
    summary = case_file.summary
    view = card_view(case_file, _today(context), context.settings.tz)
    storage = context.storage
    meetings = await storage.meetings_of(case_file.id, limit=3)
    commitments = await storage.commitments_of(case_file.id, limit=4)
    unsettled = await storage.meetings_without_agreement(case_file.id)
    current = next(
        (c for c in commitments if c.status.value in ("agreed", "pending_approval")), None
    )
    legal = await _legal(context, case_file.id)
    text = fit_message(
        context.render(
            "cases/card",
            legal=legal,
            card=view,
            case_file=case_file,
            summary=summary,
            meetings=meetings,
            commitments=commitments,
            current=current,
            unsettled=unsettled,
            stalled=stalled(unsettled),
        ),
        context.render("cases/card_cut", summary=summary),
    )
    # At most two buttons a row, so no label is cut on a 375 px phone (issue 16); the
    # checklist and the file are one tap away, so the card itself fits one phone screen.
    rows: list[list[InlineKeyboardButton]] = []
    if may_prepare(user, summary):
        rows.append(
            [
                InlineKeyboardButton(
                    context.label(labels.PREPARE), callback_data=PREPARE.data(case_file.id)
                )
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(
                    context.label(labels.OUTCOME), callback_data=OUTCOME.data(case_file.id)
                ),
                InlineKeyboardButton(
                    context.label(N_("🤝 Commitment")), callback_data=COMMIT.data(case_file.id)
                ),
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                context.label(N_("📝 Note")), callback_data=NOTE.data(case_file.id)
            ),
            InlineKeyboardButton(
                context.label(N_("📄 Full file")), callback_data=CASE_FILE.data(case_file.id)
            ),
        ]
    )
    if may_prepare(user, summary):
        ask = context.label(N_("🔒 Ask the supervisor"))
        notice = context.label(N_("📨 Serve a notice"))
        rows.append([InlineKeyboardButton(ask, callback_data=CONCESSION.data(case_file.id))])
        rows.append([InlineKeyboardButton(notice, callback_data=NOTICE.data(case_file.id))])
        if current is not None:
            cancel = context.label(N_("✖ Cancel commitment"))
            rows.append([InlineKeyboardButton(cancel, callback_data=UNCOMMIT.data(current.id))])
    if (
        may_prepare(user, summary)
        and legal is not None
        and any(g.kind is None for g in legal.guarantors)
    ):
        # The kind is asked once, from the contract (issue 19): never assumed.
        kind = context.label(N_("🛡 Guarantee kind"))
        rows.append([InlineKeyboardButton(kind, callback_data=GUARANTEE_KIND.data(case_file.id))])
    if may_assign(user, summary.team_id):
        lead = context.label(N_("👤 Lead collector"))
        rows.append([InlineKeyboardButton(lead, callback_data=LEAD_COLLECTOR.data(case_file.id))])
    if view.unknowns:
        label = context.label(labels.STILL_UNKNOWN) % {"n": len(view.unknowns)}
        rows.append([InlineKeyboardButton(label, callback_data=UNKNOWNS.data(case_file.id))])
    return text, InlineKeyboardMarkup(rows)


async def _legal(context: QingshouContext, case_id: int) -> LegalClocks | None:
    """The case's legal clocks on today's date (issue 19)."""
    facts = await context.storage.legal_facts(case_id)
    return None if facts is None else legal_clocks(facts, _today(context))


async def _full_file(context: QingshouContext, case_file: CaseFile) -> list[str]:
    """What the card leaves out, as two messages that each fit a phone screen: the borrower,
    the loan, the security, every guarantor's clock and the parties; then the reasons in full,
    the notes, the history."""
    view = card_view(case_file, _today(context), context.settings.tz)
    params = {
        "card": view,
        "case_file": case_file,
        "summary": case_file.summary,
        "legal": await _legal(context, case_file.id),
    }
    return [
        fit_message(context.render("cases/file", **params)),
        fit_message(context.render("cases/history", **params)),
    ]


def _unknowns(context: QingshouContext, case_file: CaseFile) -> str:
    """The "still unknown" checklist of a case (strategy 1, 知己知彼), from its card's ❓."""
    view = card_view(case_file, _today(context), context.settings.tz)
    return context.render("cases/unknowns", summary=case_file.summary, unknowns=view.unknowns)


async def case(update: Update, context: QingshouContext) -> None:
    """Find a case by contract number, borrower name or phone and show its card."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    query = " ".join(context.args or []).strip()
    if not query:
        await offer_urgent_cases(message, context, "cases/usage", choose=OPEN_CASE, icon="📋")
        return
    chosen = await find_one_case(message, context, query, choose=OPEN_CASE)
    if chosen is None:
        return
    case_file = await context.storage.get_case(user, chosen)
    assert case_file is not None  # found with the same viewer a moment ago
    text, keyboard = await _card(context, case_file)
    await message.reply_text(text, reply_markup=keyboard)


async def find_one_case(
    message: Message, context: QingshouContext, query: str, *, choose: Route
) -> int | None:
    """Search the viewer's cases for ``query``; return the one case id that fits.

    Otherwise answer for the caller: "not found", or buttons to choose among several (each
    a ``choose`` button with the case id, re-checked when pressed).
    """
    assert context.user is not None
    found = await context.storage.find_cases(context.user, query, limit=MAX_CHOICES + 1)
    if not found:
        await message.reply_text(context.render("cases/not_found", query=query))
        return None
    if len(found) == 1 or found[0].contract_no.casefold() == query.casefold():
        return found[0].id
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{c.borrower_name} · {c.contract_no}", callback_data=choose.data(c.id)
                )
            ]
            for c in found[:MAX_CHOICES]
        ]
    )
    await message.reply_text(
        context.render("cases/choose", query=query, more=len(found) > MAX_CHOICES),
        reply_markup=keyboard,
    )
    return None


async def queue_page(update: Update, context: QingshouContext, mode: str, page_no: int) -> None:
    """Turn a page of the queue (or of today's list), ranked again for the presser."""
    query = update.callback_query
    assert query is not None
    text, keyboard = await _queue(context, mode, page_no)
    await query.answer()
    await query.edit_message_text(text, reply_markup=keyboard)


async def open_case(update: Update, context: QingshouContext, case_id: int) -> None:
    """Show the card of the case a button names (from the queue or a choice of matches)."""
    case_file = await pressed_case_to_view(update, context, case_id)
    if case_file is not None and update.effective_chat is not None:
        text, keyboard = await _card(context, case_file)
        await update.effective_chat.send_message(text, reply_markup=keyboard)


async def full_file(update: Update, context: QingshouContext, case_id: int) -> None:
    """Show the rest of a case's file (its card's 📄): details, reasons, notes, history."""
    case_file = await pressed_case_to_view(update, context, case_id)
    if case_file is not None and update.effective_chat is not None:
        for text in await _full_file(context, case_file):
            await update.effective_chat.send_message(text)


async def unknowns(update: Update, context: QingshouContext, case_id: int) -> None:
    """Show what is still unknown about a case (its card's ❓ button)."""
    case_file = await pressed_case_to_view(update, context, case_id)
    if case_file is not None and update.effective_chat is not None:
        await update.effective_chat.send_message(_unknowns(context, case_file))
