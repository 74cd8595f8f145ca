"""Importing the cooperative's ledger by sending the file to the bot (supervisors, admins).

Upload → (admins: choose the team) → dry run: what would change, the refused rows as a CSV
document → "Import" / "Cancel". The file waits in the database (imports table) between the
dry run and the decision, so a restart of the bot in between loses nothing; on "Import" it is
parsed and planned again, because the cases may have changed meanwhile.
"""

from __future__ import annotations

from pathlib import PurePath

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.domain.importing import (
    TELEGRAM_DOWNLOAD_LIMIT,
    FileProblem,
    check_upload,
    may_decide_import,
)
from bot.domain.ledger import LedgerError
from bot.domain.people import Role
from bot.i18n import N_
from bot.imports import ImportLimits, apply_pending, preview
from bot.storage import ImportRecord, ImportStatus

PREFIX = "im:"
#: Callback data: ``im:t:IMPORT:TEAM`` (admin chose the team), ``im:y:IMPORT``, ``im:n:IMPORT``.
_DECISIONS = ("y", "n")


async def receive_file(update: Update, context: QingshouContext) -> None:
    """Take a ledger file: check it, keep it, and show the dry run (or ask the team first)."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None and message.document is not None
    document = message.document
    if user.role is Role.COLLECTOR:
        await message.reply_text(context.render("imports/not_allowed"))
        return
    file_name = document.file_name or "ledger"
    problem = check_upload(file_name, document.file_size, max_bytes=TELEGRAM_DOWNLOAD_LIMIT)
    if problem is not None:
        await message.reply_text(
            context.render("imports/refused", problem=problem.value, file_name=file_name)
        )
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    if not data.strip():
        await message.reply_text(
            context.render("imports/refused", problem=FileProblem.EMPTY.value, file_name=file_name)
        )
        return
    team_id = user.team_id if user.role is Role.SUPERVISOR else None
    import_id = await context.storage.create_import(
        team_id=team_id, created_by=user.id, file_name=file_name, data=data,
        now=context.clock.now(),
    )  # fmt: skip
    if team_id is None:
        teams = await context.storage.list_teams()
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t.name, callback_data=f"{PREFIX}t:{import_id}:{t.id}")]
             for t in teams[:90]]
            + [[InlineKeyboardButton(context.label(N_("Cancel")),
                                     callback_data=f"{PREFIX}n:{import_id}")]]
        )  # fmt: skip
        await message.reply_text(
            context.render("imports/choose_team", file_name=file_name, teams=teams),
            reply_markup=keyboard,
        )
        return
    record = await context.storage.get_import(import_id)
    assert record is not None and message.chat is not None
    await _preview(context, message.chat, record)


async def _preview(context: QingshouContext, chat: Chat, record: ImportRecord) -> None:
    """Show what the import would change (the parse runs off the event loop)."""
    status = await chat.send_message(context.render("imports/reading", record=record))
    user = context.user
    shown = await preview(
        context.storage, record, now=context.clock.now(), tz=context.settings.tz,
        label=context.label, actor_id=user.id if user else None,
        limits=ImportLimits.from_settings(context.settings),
    )  # fmt: skip
    if shown.plan is None:
        await status.edit_text(
            context.render("imports/unreadable", record=record, code=shown.problem,
                           missing=shown.missing, line=shown.line, params=shown.params)
        )  # fmt: skip
        return
    keyboard = None
    if shown.can_import:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(context.label(N_("Import")),
                                   callback_data=f"{PREFIX}y:{record.id}"),
              InlineKeyboardButton(context.label(N_("Cancel")),
                                   callback_data=f"{PREFIX}n:{record.id}")]]
        )  # fmt: skip
    await status.edit_text(
        context.render("imports/preview", record=record, summary=shown.summary, plan=shown.plan,
                       mapping=shown.mapping, can_import=shown.can_import),
        reply_markup=keyboard,
    )  # fmt: skip
    if shown.report is not None:
        stem = PurePath(record.file_name).stem or "ledger"
        await chat.send_document(
            shown.report,
            filename=f"{stem}-errors.csv",
            caption=context.render("imports/errors_caption", refused=shown.summary["refused"],
                                   no_lead=shown.summary["no_lead"]),
        )  # fmt: skip


async def import_button(update: Update, context: QingshouContext) -> None:
    """Team chosen (admins), "Import" or "Cancel"; re-checks who may decide on every press."""
    query = update.callback_query
    user = context.user
    assert query is not None and query.data is not None and user is not None
    parts = query.data.removeprefix(PREFIX).split(":")
    valid = (len(parts) == 3 and parts[0] == "t") or (len(parts) == 2 and parts[0] in _DECISIONS)
    record = (
        await context.storage.get_import(int(parts[1]))
        if valid and all(p.isdigit() for p in parts[1:])
        else None
    )
    if record is None:
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return
    if (parts[0] == "t" and user.role is not Role.ADMIN) or not may_decide_import(
        user, record.team_id
    ):
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return
    if record.status != ImportStatus.PENDING:
        await query.answer(context.label(N_("This import is already done.")), show_alert=True)
        return
    now = context.clock.now()
    chat = update.effective_chat
    assert chat is not None

    if parts[0] == "n":
        await context.storage.cancel_import(record.id, actor_id=user.id, now=now)
        await query.answer()
        await query.edit_message_text(context.render("imports/cancelled", record=record))
        return

    if parts[0] == "t":
        team = await context.storage.get_team(int(parts[2]))
        if team is None or not await context.storage.set_import_team(record.id, team.id):
            await query.answer(
                context.label(N_("That button is no longer valid.")), show_alert=True
            )
            return
        await query.answer()
        await query.edit_message_text(
            context.render("imports/team_chosen", record=record, team=team.name)
        )
        chosen = await context.storage.get_import(record.id)
        assert chosen is not None
        await _preview(context, chat, chosen)
        return

    if record.team_id is None or record.data is None:
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(context.render("imports/importing", record=record))
    try:
        applied = await apply_pending(
            context.storage, record, actor_id=user.id, now=now, tz=context.settings.tz,
            limits=ImportLimits.from_settings(context.settings),
        )  # fmt: skip
    except LedgerError:  # it was readable at the dry run; the rules may have changed since
        await query.edit_message_text(context.render("imports/cancelled", record=record))
        return
    if applied is None:
        await query.edit_message_text(context.render("imports/already_done", record=record))
        return
    await query.edit_message_text(context.render("imports/applied", record=record, summary=applied))
