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
from bot.domain.casefile import local_date
from bot.domain.importing import FileProblem, check_upload
from bot.domain.ledger import LedgerError, LedgerField
from bot.domain.people import Role, User
from bot.i18n import N_
from bot.imports import FIELD_NAMES, error_report, prepare_import
from bot.storage import ImportRecord, ImportStatus

PREFIX = "im:"


def _may_decide(user: User, record: ImportRecord) -> bool:
    """Admins decide any pending import; a supervisor only their own team's."""
    if user.role is Role.ADMIN:
        return True
    return (
        user.role is Role.SUPERVISOR
        and record.team_id is not None
        and record.team_id == user.team_id
    )


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
    problem = check_upload(file_name, document.file_size)
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
    """Parse and plan (off the event loop), then show what the import would change."""
    assert record.team_id is not None and record.data is not None
    status = await chat.send_message(context.render("imports/reading", record=record))
    try:
        plan = await prepare_import(
            context.storage, record.data, team_id=record.team_id,
            today=local_date(context.clock.now(), context.settings.tz),
        )  # fmt: skip
    except LedgerError as exc:
        user = context.user
        await context.storage.cancel_import(
            record.id, actor_id=user.id if user else None, now=context.clock.now()
        )
        missing = [
            FIELD_NAMES[LedgerField(m)] for m in exc.params.get("missing", "").split(",") if m
        ]
        await status.edit_text(
            context.render("imports/unreadable", record=record, code=exc.code, missing=missing,
                           line=exc.params.get("line"))
        )  # fmt: skip
        return
    summary = plan.summary()
    await context.storage.record_preview(record.id, summary)
    keyboard = None
    if summary["new"] or summary["updated"] or summary["unchanged"]:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(context.label(N_("Import")),
                                   callback_data=f"{PREFIX}y:{record.id}"),
              InlineKeyboardButton(context.label(N_("Cancel")),
                                   callback_data=f"{PREFIX}n:{record.id}")]]
        )  # fmt: skip
    else:  # nothing good in the file: nothing to confirm
        await context.storage.cancel_import(record.id, actor_id=None, now=context.clock.now())
    await status.edit_text(
        context.render("imports/preview", record=record, summary=summary, plan=plan,
                       can_import=keyboard is not None),
        reply_markup=keyboard,
    )  # fmt: skip
    if plan.errors:
        stem = PurePath(record.file_name).stem or "ledger"
        await chat.send_document(
            error_report(plan, context.label),
            filename=f"{stem}-errors.csv",
            caption=context.render("imports/errors_caption", refused=summary["refused"]),
        )


async def import_button(update: Update, context: QingshouContext) -> None:
    """Team chosen (admins), "Import" or "Cancel"; re-checks who may decide on every press."""
    query = update.callback_query
    user = context.user
    assert query is not None and query.data is not None and user is not None
    parts = query.data.removeprefix(PREFIX).split(":")
    valid = (len(parts) == 3 and parts[0] == "t") or (len(parts) == 2 and parts[0] in "yn")
    record = (
        await context.storage.get_import(int(parts[1]))
        if valid and all(p.isdigit() for p in parts[1:])
        else None
    )
    if record is None:
        await query.answer(context.label(N_("That button is no longer valid.")), show_alert=True)
        return
    if parts[0] == "t" and user.role is not Role.ADMIN:
        await query.answer(context.label(N_("You may not do that.")), show_alert=True)
        return
    if (
        parts[0] != "t"
        and not _may_decide(user, record)
        and not (record.team_id is None and user.role is Role.ADMIN)
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
        plan = await prepare_import(
            context.storage, record.data, team_id=record.team_id,
            today=local_date(now, context.settings.tz),
        )  # fmt: skip
    except LedgerError:  # it was readable at the dry run; the rules may have changed since
        await context.storage.cancel_import(record.id, actor_id=user.id, now=now)
        await query.edit_message_text(context.render("imports/cancelled", record=record))
        return
    applied = await context.storage.apply_import(
        plan, import_id=record.id, actor_id=user.id, now=context.clock.now()
    )
    if applied is None:
        await query.edit_message_text(context.render("imports/already_done", record=record))
        return
    await query.edit_message_text(context.render("imports/applied", record=record, summary=applied))
