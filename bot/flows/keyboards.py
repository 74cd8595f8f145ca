"""The keyboards under a flow's questions: the options, Keep / Later / Done, "rest of this part
later", ✖, and the inline month calendar of a date question."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from babel.dates import format_date, get_day_names
from telegram import InlineKeyboardButton

from bot.domain.dates import month_grid
from bot.flows.model import (
    DONE,
    KEEP,
    LATER,
    MONTH_BACK,
    MONTH_ON,
    NOTHING,
    REST_LATER,
    Amount,
    Buttons,
    Choices,
    DateInput,
    FlowRun,
    Option,
    Step,
    Text,
    resolve,
)
from bot.i18n import N_, SUPPORTED_LOCALES, babel_locale
from bot.routes import ANSWER, CANCEL

if TYPE_CHECKING:
    from bot.context import QingshouContext


def rest_of_section(run: FlowRun[Any], step: Step[Any]) -> list[Step[Any]]:
    """The steps from ``step`` to the end of its part, if there are several and all may be
    left for later (else nothing: the part cannot be skipped)."""
    if step.section is None:
        return []
    steps = run.flow.steps
    rest = [s for s in steps[steps.index(step) :] if s.section == step.section]
    if len(rest) < 2 or not all(s.is_optional(run) for s in rest):
        return []
    return rest


async def keyboard(
    run: FlowRun[Any], step: Step[Any], known: Any
) -> list[list[InlineKeyboardButton]]:
    """The question's buttons: its options, then Keep / Later / Done, then ✖."""
    context, state = run.context, run.state

    def button(text: str, code: int) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=ANSWER.data(state.id, state.version, code))

    kind = step.input
    rows: list[list[InlineKeyboardButton]] = []
    options: Sequence[Option] = ()
    columns = 2
    if isinstance(kind, Buttons | Choices):
        options, columns = await kind.resolve(run), kind.columns
    elif isinstance(kind, Amount | Text):
        # Suggested amounts and answers carry words ("¥27,400.00 · the rest of the debt"):
        # one to a row, or a phone cuts them ("¥27,400.00 · 剩…").
        options, columns = await resolve(kind.suggest, run), 1
    if isinstance(kind, DateInput) and kind.calendar:
        rows.extend(month_rows(run, step, button))
    chosen = set(run.draft.answer(step.name) or []) if isinstance(kind, Choices) else set()
    row: list[InlineKeyboardButton] = []
    group: str | None = None
    for option in options:
        text = label(context, option)
        if option.code in chosen:
            text = "✓ " + text
        starts_group = option.group is not None and option.group != group
        if row and (len(row) >= columns or starts_group):
            rows.append(row)
            row = []
        group = option.group
        row.append(button(text, option.code))
    if row:
        rows.append(row)
    extra = []
    if known is not None:
        extra.append(button(context.label(N_("✓ Keep")), KEEP))
    if isinstance(kind, Choices):
        extra.append(button(context.label(N_("✔ Done")), DONE))
    if step.is_optional(run):
        extra.append(button(context.label(N_("⏭ Later")), LATER))
    if extra:
        rows.append(extra)
    if rest_of_section(run, step):
        rows.append([button(context.label(N_("⏩ Rest of this part later")), REST_LATER)])
    rows.append(
        [
            InlineKeyboardButton(
                context.label(N_("✖ Cancel")), callback_data=CANCEL.data(state.id, state.version)
            )
        ]
    )
    return rows


def month_rows(
    run: FlowRun[Any], step: Step[Any], button: Callable[[str, int], InlineKeyboardButton]
) -> list[list[InlineKeyboardButton]]:
    """The inline calendar: ◀ month ▶, the weekdays, then the weeks (past days blank)."""
    today = run.now.astimezone(run.context.settings.tz).date()
    year, month = shown_month(run, step, today)
    locale = babel_locale(run.context.locale)
    title = format_date(date(year, month, 1), "LLLL y", locale=locale)
    # Telegram refuses a button without visible text: blanks are a middle dot.
    back = "◀" if (year, month) > (today.year, today.month) else "·"
    rows = [[button(back, MONTH_BACK), button(title, NOTHING), button("▶", MONTH_ON)]]
    names = get_day_names("narrow", "stand-alone", locale=locale)
    rows.append([button(names[i], NOTHING) for i in range(7)])
    for week in month_grid(year, month, today):
        row = []
        for cell in week:
            if cell is None or cell.past:
                row.append(button("·", NOTHING))
            else:
                text = f"[{cell.day.day}]" if cell.today else str(cell.day.day)
                row.append(button(text if cell.working else f"{text}*", cell.day.toordinal()))
        rows.append(row)
    return rows


def shown_month(run: FlowRun[Any], step: Step[Any], today: date) -> tuple[int, int]:
    """The month the calendar of ``step`` shows: the one turned to, else this month."""
    shown = run.draft.answer(f"{step.name}_month")
    if isinstance(shown, str) and len(shown) == 7 and shown[4] == "-":
        with contextlib.suppress(ValueError):
            return int(shown[:4]), int(shown[5:])
    return today.year, today.month


def groups_complete(options: Sequence[Option], chosen: Sequence[int]) -> bool:
    groups = {o.group for o in options if o.group is not None}
    have = {o.group for o in options if o.code in chosen}
    return groups <= have


def label(context: QingshouContext, option: Option) -> str:
    return context.label(option.label) if option.translate else option.label


def match_option(context: QingshouContext, options: Sequence[Option], text: str) -> Option | None:
    """Typed text as a choice: an option's label (any case), or its number in the list."""
    wanted = text.casefold().strip()
    if not wanted:
        return None
    for option in options:
        if label(context, option).casefold().strip() == wanted:
            return option
    for option in options:
        others = option.aliases
        if option.translate:  # a message id: its words in every language
            others = tuple(context.renderer.label(loc, option.label) for loc in SUPPORTED_LOCALES)
        if any(other.casefold().strip() == wanted for other in others):
            return option
    if wanted.isascii() and wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1]
    return None
