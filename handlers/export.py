"""/export: the team's cases and their history as an XLSX workbook or a ZIP of CSVs.

Supervisors export their own team, admins one team or all of them (first question); then the
period (a tap for the usual ones, or two typed days read by the shared date parser), then the
format. The file comes back as a document with what it holds; collectors are told whom to ask.
It is the ``export`` flow: a restart in between loses nothing, a double tap exports once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from telegram import Update
from telegram.error import BadRequest

from bot.context import QingshouContext
from bot.domain.casefile import local_date
from bot.domain.dates import DateError, parse_past_date
from bot.domain.people import Role, User
from bot.exports import (
    BOT_MAX_ROWS,
    FORMATS,
    PRESETS,
    TELEGRAM_UPLOAD_LIMIT,
    ExportFailed,
    ExportRequest,
    ExportTooLarge,
    build_export,
    make_period,
    preset_period,
    summary_counts,
)
from bot.flows import (
    ENGINE,
    Buttons,
    Command,
    DateInput,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Option,
    Refusal,
    Reply,
    Step,
)
from bot.flows import register as register_flow
from bot.i18n import N_

#: The admin's "all teams" choice (team ids start at 1).
ALL_TEAMS = 0
CUSTOM = "custom"


def may_export(user: User) -> bool:
    """Supervisors (of a team) and admins; collectors ask their supervisor."""
    if not user.active:
        return False
    return user.role is Role.ADMIN or (user.role is Role.SUPERVISOR and user.team_id is not None)


@dataclass(frozen=True, kw_only=True)
class ExportDraft(Draft):
    """The answers: the team (admins; ``ALL_TEAMS``: every team), the period (a preset's key,
    or ``CUSTOM`` with its first and last day, ISO), the file's format."""

    VERSION: ClassVar[int] = 1

    scope: int | None = None
    period: str | None = None
    start: str | None = None
    end: str | None = None
    format: str | None = None

    @property
    def first_day(self) -> date | None:
        return date.fromisoformat(self.start) if self.start else None

    @property
    def last_day(self) -> date | None:
        return date.fromisoformat(self.end) if self.end else None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


Run = FlowRun[ExportDraft]


def _today(run: Run) -> date:
    return local_date(run.now, run.context.settings.tz)


def _team_id(run: Run, user: User) -> int | None:
    """The team exported: a supervisor's own, an admin's choice (None: all teams)."""
    if user.role is Role.SUPERVISOR:
        return user.team_id
    chosen = run.draft.scope
    return chosen if chosen != ALL_TEAMS else None


def _period(run: Run) -> tuple[date, date] | None:
    draft = run.draft
    if draft.period == CUSTOM:
        start = draft.first_day
        return (start, draft.last_day or start) if start is not None else None
    if draft.period is not None:
        return preset_period(draft.period, _today(run))
    return None


async def _load(run: Run) -> dict[str, Any] | None:
    """Who may still export, what scope and period are chosen so far."""
    user = run.context.user
    assert user is not None
    if not may_export(user):
        return None
    team_id = _team_id(run, user)
    team = await run.context.storage.get_team(team_id) if team_id is not None else None
    if team_id is not None and team is None:
        return None
    period = _period(run)
    return {
        "team": team,
        "start": period[0] if period else None,
        "end": period[1] if period else None,
    }


async def _scopes(run: Run) -> list[Option]:
    teams = await run.context.storage.list_teams()
    return [
        Option(code=ALL_TEAMS, value=ALL_TEAMS, label=N_("All teams")),
        *(Option(code=t.id, value=t.id, label=t.name, translate=False) for t in teams[:80]),
    ]


_PERIODS = (
    *(Option(code=i, value=key, label=label) for i, (key, label) in enumerate(PRESETS, 1)),
    Option(code=len(PRESETS) + 1, value=CUSTOM, label=N_("Other dates…")),
)
_FORMATS = (
    Option(code=1, value="xlsx", label=N_("Excel (XLSX)")),
    Option(code=2, value="csv", label=N_("CSV (ZIP)")),
)
assert {o.value for o in _FORMATS} == set(FORMATS)


def _parse_day(text: str, today: date) -> date | Refusal:
    try:
        return parse_past_date(text, today)
    except DateError as exc:
        return Refusal("export/bad_date", {"error": exc})


def _after_start(day: date, run: Run) -> date | Refusal:
    start = run.draft.first_day
    if start is not None and day < start:
        return Refusal("export/end_before_start", {"start": start, "end": day})
    return day


def _not_custom(run: Run) -> bool:
    return run.draft.period != CUSTOM


def _not_admin(run: Run) -> bool:
    user = run.context.user
    return user is None or user.role is not Role.ADMIN


async def _export(run: Run) -> Reply:
    """Build the file (streaming, written in a child process), send it, say what it holds."""
    context = run.context
    user = context.user
    assert user is not None
    params = run.params
    start, end = params["start"], params["end"]
    fmt = run.draft.format
    assert fmt in FORMATS and isinstance(start, date) and isinstance(end, date)
    team = params["team"]
    scope = team.name if team is not None else context.label(N_("All teams"))
    query = run.update.callback_query
    if query is not None:
        # A year of a large team takes seconds: stop the spinner and say what is happening.
        await query.answer()
        try:
            await query.edit_message_text(
                context.render("export/preparing", scope=scope, start=start, end=end)
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
    tz = context.settings.tz
    request = ExportRequest(
        viewer=user,
        team_id=team.id if team is not None else None,
        period=make_period(start, end, tz),
        tz=tz,
        today=_today(run),
        locale=context.locale,
        max_rows=BOT_MAX_ROWS,
    )
    try:
        built = await build_export(context.storage, request, fmt, scope=scope)
    except ExportTooLarge as exc:
        return Reply(context.render("export/too_many_rows", limit=exc.limit))
    except ExportFailed:  # logged where it happened; nothing was sent or left behind
        return Reply(context.render("export/failed"))
    counts = summary_counts(built.counts)
    if len(built.data) > TELEGRAM_UPLOAD_LIMIT:
        return Reply(
            context.render("export/too_big", size=len(built.data), limit=TELEGRAM_UPLOAD_LIMIT)
        )
    chat = run.update.effective_chat
    assert chat is not None
    await chat.send_document(
        built.data,
        filename=built.filename,
        caption=context.render(
            "export/caption", scope=scope, start=start, end=end, counts=counts, format=fmt
        ),
    )
    return Reply(context.render("export/done", filename=built.filename, counts=counts))


async def export(update: Update, context: QingshouContext) -> None:
    """Start an export (supervisors: their team; admins: a team or all); refuse collectors."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    if not may_export(user):
        await message.reply_text(context.render("export/not_allowed", user=user))
        return
    await ENGINE.start(update, context, EXPORT_FLOW, ExportDraft())


EXPORT_FLOW: Flow[ExportDraft] = register_flow(
    Flow(
        name="export",
        title=N_("Export"),
        draft=ExportDraft,
        entry=Entry((Command("export"),), command=export),
        steps=(
            Step(
                "scope",
                prompt="export/choose_scope",
                input=Buttons(_scopes, columns=2),
                skip=_not_admin,
            ),
            Step("period", prompt="export/choose_period", input=Buttons(_PERIODS, columns=2)),
            Step("start", prompt="export/ask_start", input=DateInput(_parse_day), skip=_not_custom),
            Step(
                "end",
                prompt="export/ask_end",
                input=DateInput(_parse_day, validate=_after_start),
                skip=_not_custom,
            ),
            Step("format", prompt="export/choose_format", input=Buttons(_FORMATS, columns=2)),
        ),
        load=_load,
        on_finish=_export,
        lost="export/lost",
    )
)
