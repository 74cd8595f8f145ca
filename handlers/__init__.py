"""Telegram glue. ``register(app)`` is the whole bot on one screen: read it top to bottom.

This module is the only one here that imports the handlers: no handler imports another, and
what two of them share (a button's route, its label, the case search) lives in ``bot/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, TypeHandler, filters

from bot import flows, routes
from handlers import (
    access,
    approvals,
    assign,
    cases,
    commit,
    digest,
    errors,
    export,
    guarantee,
    imports,
    instalments,
    invite,
    notes,
    outcome,
    papers,
    prep,
    profile,
    router,
    settings,
    start,
    users,
)

if TYPE_CHECKING:
    from bot.app import QingshouApp

#: Handler groups run in order; the access check runs before anything else.
ACCESS_GROUP = -1


def register(app: QingshouApp) -> None:
    """Add every handler of the bot, in order."""
    # Access: who is this? Strangers and switched-off users stop here.
    app.add_handler(TypeHandler(Update, access.check_access), group=ACCESS_GROUP)

    # Joining and help.
    app.add_handler(CommandHandler("start", start.start))
    app.add_handler(CommandHandler("help", start.help_command))

    # The person's own settings.
    app.add_handler(CommandHandler("lang", profile.choose_language))
    app.add_handler(router.on(routes.LANGUAGE, profile.set_language))
    app.add_handler(CommandHandler("whoami", profile.whoami))

    # People and access (supervisors, admins).
    app.add_handlers(router.entry_points(invite.INVITE))
    app.add_handler(CommandHandler("users", users.list_users))
    app.add_handler(router.on(routes.USERS_PAGE, users.page))
    app.add_handler(router.on(routes.USER, users.show))
    app.add_handler(router.on(routes.ASK_OFF, users.ask_off))
    app.add_handler(router.on(routes.SWITCH_OFF, users.switch_off))
    app.add_handler(router.on(routes.SWITCH_ON, users.switch_on))

    # Cases: the queue by urgency, today's list, the case card, notes (collectors: their own).
    app.add_handler(CommandHandler("cases", cases.cases))
    app.add_handler(CommandHandler("today", cases.today))
    app.add_handler(CommandHandler("case", cases.case))
    app.add_handlers(router.entry_points(notes.NOTE))
    app.add_handler(router.on(routes.OPEN_CASE, cases.open_case))
    app.add_handler(router.on(routes.QUEUE_PAGE, cases.queue_page))
    app.add_handler(router.on(routes.UNKNOWNS, cases.unknowns))
    app.add_handler(router.on(routes.CASE_FILE, cases.full_file))

    # Preparing the next meeting (/prep, 🧭), its one-screen brief (/brief), and keeping the
    # answers of a prep stopped with /cancel for the next /prep of the case.
    app.add_handlers(router.entry_points(prep.PREP_FLOW))
    app.add_handler(CommandHandler("brief", prep.brief))
    app.add_handler(router.on(routes.PREP_DRAFT, prep.keep_or_discard))

    # After the meeting: how it went (/outcome, ✍), what was promised (/commit, 🤝), and the
    # supervisor's answer to a concession (Approve / Reject / Counter-offer).
    app.add_handlers(router.entry_points(outcome.OUTCOME_FLOW))
    for flow in (commit.COMMIT_FLOW, commit.UNCOMMIT_FLOW, commit.CONCESSION_FLOW):
        app.add_handlers(router.entry_points(flow))
    app.add_handlers(router.entry_points(approvals.COUNTER))

    # The papers (issue 19): "📨 Serve a notice" on the card or /notice (to the borrower or one
    # guarantor); the agreement PDF comes after /commit; a photo with no question open is the
    # signed copy of one of them (below).
    app.add_handlers(router.entry_points(papers.NOTICE_FLOW))

    # A reminder's answer for one instalment: ✅ Paid in full / Partial / Missed (issue 10).
    app.add_handlers(router.entry_points(instalments.PARTIAL_FLOW))

    # The supervisors' daily digest on demand, its drill-down lists, a team's digest for an
    # admin; /settings: one's own digest time and weekend mute (the daily job: reminders/).
    app.add_handler(CommandHandler("digest", digest.digest))
    app.add_handler(router.on(routes.DRILL, digest.drill_down))
    app.add_handler(router.on(routes.TEAM, digest.team_digest))
    app.add_handlers(router.entry_points(settings.SETTINGS))

    # Lead collector of a case (supervisors: their team; admins: all).
    app.add_handlers(router.entry_points(assign.ASSIGN))

    # A guarantee kind the ledger does not give, asked once from the card (issue 19).
    app.add_handlers(router.entry_points(guarantee.GUARANTEE_FLOW))

    # Exports: the team's cases and their history as XLSX or CSV (supervisors, admins).
    app.add_handlers(router.entry_points(export.EXPORT_FLOW))

    # Ledger import: a CSV/XLSX file sent to the bot, dry run, then "Import" (supervisors, admins).
    # A file answers the open question first, if one asks for a file.
    # An image sent as a file with no question open is a signed paper's photo (issue 19).
    app.add_handler(
        MessageHandler(
            filters.Document.ALL,
            router.to_flow_first(router.either(papers.signed_copy, imports.receive_file)),
        )
    )
    # A ledger sent while another question is open is kept (not that question's answer), and
    # offered (Import / Discard) once no question is open (issue 16).
    flows.ENGINE.set_hooks(aside=imports.hold_ledger, when_idle=imports.offer_held_files)
    app.add_handler(router.on(routes.HELD_FILE, imports.held_file_answer))

    # Multi-step exchanges (the flow engine): answer buttons, ✖, "continue / drop", /cancel, and
    # typed text or a location for the open question. Their state is in the database.
    app.add_handler(router.on(flows.ANSWER, router.flow_answer))
    app.add_handler(router.on(flows.CANCEL, router.flow_cancel))
    app.add_handler(router.on(flows.CONFLICT, router.flow_conflict))
    app.add_handler(CommandHandler("cancel", router.cancel))
    # With no question open, "paid", "paid 700", "missed" (any language; a reply to a reminder
    # or not) answer a reminder (issue 16); other text gets what was probably meant, or /help.
    app.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND,
            router.to_flow_first(router.either(instalments.typed_answer, start.unknown)),
        )
    )
    app.add_handler(MessageHandler(filters.LOCATION, router.to_flow_first(start.unknown)))
    app.add_handler(
        MessageHandler(
            filters.PHOTO, router.to_flow_first(router.either(papers.signed_copy, start.unknown))
        )
    )

    # Anything else (a sticker, a voice note): the open question is asked again, else /help;
    # an unknown command is answered with what was probably meant; a stale or forged button
    # gets a notice.
    app.add_handler(MessageHandler(~filters.COMMAND, router.to_flow_first(start.unknown)))
    app.add_handler(MessageHandler(filters.ALL, start.unknown))
    app.add_handler(CallbackQueryHandler(start.stale_button))

    # Everything that goes wrong ends here.
    app.add_error_handler(errors.on_error)
