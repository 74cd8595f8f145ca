"""Importing the cooperative's ledger by sending the file to the bot (supervisors, admins).

Upload → (admins: choose the team) → dry run: what would change, the refused rows as a CSV
document → "Import" / "Cancel". It is the ``import`` flow: the file waits in the database
(imports table) and the decision in the flow's row, so a restart of the bot in between loses
nothing; on "Import" the file is parsed and planned again (the cases may have changed
meanwhile), and applying is guarded by the import's own status, so a double tap imports once.

A ledger sent while another question is open (a CSV during /assign's choice) does not answer
it: it is kept (``held_files``, in storage: a restart loses nothing), the person is told so in
a line and asked the open question again, and once no question is open they are offered
"Import the ledger you sent? [Import] [Discard]" (the flow engine's ``aside`` and
``when_idle`` hooks, set in ``handlers.register``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import PurePath
from typing import Any, ClassVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import QingshouContext
from bot.domain.importing import (
    TELEGRAM_DOWNLOAD_LIMIT,
    FileProblem,
    check_upload,
    may_decide_import,
)
from bot.domain.ledger import LedgerError
from bot.domain.people import Role
from bot.flows import (
    ENGINE,
    Buttons,
    Draft,
    Flow,
    FlowRun,
    Option,
    Reply,
    Step,
    load_draft,
    register,
)
from bot.i18n import N_
from bot.imports import ImportLimits, apply_pending, preview
from bot.routes import HELD_FILE
from bot.storage import FlowState, ImportStatus

IMPORT = "import"


@dataclass(frozen=True, kw_only=True)
class ImportDraft(Draft):
    """The pending import (its file waits in the imports table), then the answers: the team
    (admins choose it), and the decision; between them what the dry run found (kept to word
    the question)."""

    VERSION: ClassVar[int] = 1

    import_id: int | None = None
    file_name: str | None = None

    # The answers.
    team: int | None = None
    decide: str | None = None

    # Stored by the decision's hook: the dry run's counts, and whether it may be imported.
    can_import: bool = False
    summary: Mapping[str, Any] | None = None
    team_name: str | None = None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


Run = FlowRun[ImportDraft]


async def _record(run: Run) -> Any:
    import_id = run.draft.import_id
    return await run.context.storage.get_import(import_id) if import_id is not None else None


async def _load(run: Run) -> dict[str, Any] | None:
    """The pending import, if the person may still decide on it."""
    user = run.context.user
    assert user is not None
    record = await _record(run)
    if record is None or record.status != ImportStatus.PENDING:
        return None
    if record.team_id is None and user.role is not Role.ADMIN:
        return None
    if record.team_id is not None and not may_decide_import(user, record.team_id):
        return None
    return {"record": record, "teams": await run.context.storage.list_teams()}


async def _teams(run: Run) -> list[Option]:
    return [
        Option(code=t.id, value=t.id, label=t.name, translate=False)
        for t in (await run.context.storage.list_teams())[:90]
    ]


async def _decisions(run: Run) -> list[Option]:
    # "Cancel" is the ✖ under every question (it closes the import: see _abandon).
    return [Option(code=0, value=IMPORT, label=N_("Import"))] if run.draft.can_import else []


async def _abandon(context: QingshouContext, state: FlowState) -> None:
    """The flow ended undecided (✖, /cancel, expired, dropped): close the import, drop its file."""
    draft = load_draft(ImportDraft, state.data)
    import_id = draft.import_id if draft is not None else None
    if import_id is not None:
        await context.storage.cancel_import(
            import_id, actor_id=state.user_id, now=context.clock.now()
        )


async def _dry_run(run: Run) -> ImportDraft | Reply:
    """On arriving at the decision: the team (admins chose it), then the dry run, once
    (its summary is kept in the draft)."""
    context = run.context
    user = context.user
    assert user is not None
    storage = context.storage
    record = await _record(run)
    if record is None or record.status != ImportStatus.PENDING:
        return Reply(context.render("imports/lost", data=run.draft, text=""))
    team_id = run.draft.team
    if record.team_id is None and team_id is not None:
        if await storage.get_team(team_id) is None or not await storage.set_import_team(
            record.id, team_id
        ):
            return Reply(context.render("imports/lost", data=run.draft, text=""))
        record = await storage.get_import(record.id)
        assert record is not None
    chat = run.update.effective_chat
    assert chat is not None
    await chat.send_message(context.render("imports/reading", record=record))
    shown = await preview(
        storage,
        record,
        now=context.clock.now(),
        tz=context.settings.tz,
        label=context.label,
        actor_id=user.id,
        limits=ImportLimits.from_settings(context.settings),
    )
    if shown.plan is None:
        return Reply(
            context.render(
                "imports/unreadable",
                record=record,
                code=shown.problem,
                missing=shown.missing,
                line=shown.line,
                params=shown.params,
            )
        )
    text = context.render(
        "imports/preview",
        record=record,
        summary=shown.summary,
        plan=shown.plan,
        mapping=shown.mapping,
        can_import=shown.can_import,
    )
    if shown.can_import:
        # The dry run, then the refused rows' file, then the question at the bottom.
        await chat.send_message(text)
    if shown.report is not None:
        stem = PurePath(record.file_name).stem or "ledger"
        await chat.send_document(
            shown.report,
            filename=f"{stem}-errors.csv",
            caption=context.render(
                "imports/errors_caption",
                refused=shown.summary["refused"],
                no_lead=shown.summary["no_lead"],
            ),
        )
    if not shown.can_import:  # nothing to decide: preview() closed the import already
        return Reply(text)
    return replace(
        run.draft, can_import=True, summary=dict(shown.summary), team_name=record.team_name
    )


async def _decide(run: Run) -> Reply:
    """Import (guarded by the import's status: once) or cancel."""
    context = run.context
    user = context.user
    assert user is not None
    record = run.params["record"]
    now = context.clock.now()
    query = run.update.callback_query
    if query is not None:
        # Writing a large file takes seconds: stop the spinner and say what is happening.
        await query.answer()
        await query.edit_message_text(context.render("imports/importing", record=record))
    try:
        applied = await apply_pending(
            context.storage,
            record,
            actor_id=user.id,
            now=now,
            tz=context.settings.tz,
            limits=ImportLimits.from_settings(context.settings),
        )
    except LedgerError:  # it was readable at the dry run; the rules may have changed since
        return Reply(context.render("imports/cancelled", record=record))
    if applied is None:
        return Reply(context.render("imports/already_done", record=record))
    return Reply(context.render("imports/applied", record=record, summary=applied))


IMPORT_FLOW: Flow[ImportDraft] = register(
    Flow(
        name="import",
        title=N_("Ledger import"),
        draft=ImportDraft,
        steps=(
            Step("team", prompt="imports/choose_team", input=Buttons(_teams)),
            Step(
                "decide",
                prompt="imports/decide",
                input=Buttons(_decisions, columns=2),
                on_enter=_dry_run,
            ),
        ),
        load=_load,
        on_finish=_decide,
        lost="imports/lost",
        on_abandon=_abandon,
        expires=timedelta(days=2),  # a supervisor may decide tomorrow
    )
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
    await _take_ledger(
        update, context, document.file_id, document.file_name or "ledger", document.file_size
    )


async def _take_ledger(
    update: Update,
    context: QingshouContext,
    file_id: str,
    file_name: str,
    file_size: int | None,
) -> None:
    """Check a ledger file (by name and size, then its bytes), keep it as a pending import
    and start the import flow on it."""
    user = context.user
    chat = update.effective_chat
    assert user is not None and chat is not None
    problem = check_upload(file_name, file_size, max_bytes=TELEGRAM_DOWNLOAD_LIMIT)
    if problem is not None:
        await chat.send_message(
            context.render("imports/refused", problem=problem.value, file_name=file_name)
        )
        return
    data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    if not data.strip():
        await chat.send_message(
            context.render("imports/refused", problem=FileProblem.EMPTY.value, file_name=file_name)
        )
        return
    team_id = user.team_id if user.role is Role.SUPERVISOR else None
    import_id = await context.storage.create_import(
        team_id=team_id,
        created_by=user.id,
        file_name=file_name,
        data=data,
        now=context.clock.now(),
    )
    draft = ImportDraft(import_id=import_id, file_name=file_name)
    await ENGINE.start(
        update, context, IMPORT_FLOW, draft, step="team" if team_id is None else "decide"
    )


# -- a ledger sent while another question is open (issue 16) -------------------------------------


def _is_ledger(file_name: str | None) -> bool:
    """A file a supervisor would import (by its name: .csv, .xlsx, or the old .xls, which
    the import itself refuses with its reason)."""
    problem = check_upload(file_name, None)
    return problem is None or problem is FileProblem.XLS


async def hold_ledger(update: Update, context: QingshouContext) -> bool:
    """Keep a ledger sent while another question is open, to offer it once none is (the
    engine then asks the open question again); False for any other file."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    document = message.document
    if document is None or not _is_ledger(document.file_name):
        return False
    file_name = document.file_name or "ledger"
    if user.role is Role.COLLECTOR:
        await message.reply_text(context.render("imports/not_allowed"))
        return True
    await context.storage.hold_file(
        user.id,
        file_id=document.file_id,
        file_name=file_name,
        file_size=document.file_size,
        update_id=update.update_id,
        now=context.clock.now(),
    )
    await message.reply_text(context.render("imports/held", file_name=file_name))
    return True


async def offer_held_files(
    update: Update, context: QingshouContext
) -> Callable[[], Awaitable[None]] | None:
    """A flow ended: the offer of each ledger kept meanwhile, to send once its last words are
    (the engine sends it only if no question is open); None if none was kept."""
    user = context.user
    chat = update.effective_chat
    assert user is not None
    if chat is None:
        return None
    held = await context.storage.held_files(user.id)
    if not held:
        return None

    async def offer() -> None:
        for file in held:
            buttons = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            context.label(N_("Import")),
                            callback_data=HELD_FILE.data(file.id, "import"),
                        ),
                        InlineKeyboardButton(
                            context.label(N_("Discard")),
                            callback_data=HELD_FILE.data(file.id, "discard"),
                        ),
                    ]
                ]
            )
            await chat.send_message(
                context.render("imports/held_offer", file_name=file.file_name),
                reply_markup=buttons,
            )
        await context.storage.mark_held_offered([f.id for f in held], now=context.clock.now())

    return offer


async def held_file_answer(
    update: Update, context: QingshouContext, held_id: int, choice: str
) -> None:
    """Import or discard a ledger kept while another question was open."""
    query = update.callback_query
    user = context.user
    assert query is not None and user is not None
    if choice == "import" and user.role is Role.COLLECTOR:
        await query.answer(context.render("imports/not_allowed"), show_alert=True)
        return
    status = "imported" if choice == "import" else "discarded"
    file = await context.storage.settle_held_file(held_id, user.id, status, now=context.clock.now())
    if file is None:  # a double tap, an old button, another person's
        await query.answer(context.render("imports/held_gone"), show_alert=True)
        return
    await query.answer()
    if choice == "discard":
        await query.edit_message_text(
            context.render("imports/held_discarded", file_name=file.file_name)
        )
        return
    await query.edit_message_reply_markup(reply_markup=None)
    await _take_ledger(update, context, file.file_id, file.file_name, file.file_size)
