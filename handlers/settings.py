"""``/settings``: a supervisor's (or an admin's) own digest — the time it comes (local, else
the cooperative's ``QINGSHOU_DIGEST_TIME``) and whether it comes on Saturdays and Sundays.

A flow of the flow engine: the first question shows the settings as they are with a button for
each change; "change the time" asks for it (``18:30``, ``8:00``, ``18点``), refused with the
reason when it is not a time of day. The daily job reads the stored settings at every tick, so
a change counts from the next minute (a digest already sent today is not sent again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from telegram import Update

from bot.context import QingshouContext
from bot.domain.digest import DigestSettings, parse_digest_time
from bot.flows import (
    ENGINE,
    Buttons,
    Command,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Option,
    Refusal,
    Reply,
    Step,
    Text,
    register,
)
from bot.i18n import N_

TIME, MUTE, UNMUTE, RESET = "time", "mute", "unmute", "reset"


@dataclass(frozen=True, kw_only=True)
class SettingsDraft(Draft):
    """What to change, and for a new digest time the time (``HH:MM``)."""

    VERSION: ClassVar[int] = 1

    what: str | None = None
    time: str | None = None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


Run = FlowRun[SettingsDraft]


async def _load(run: Run) -> dict[str, Any] | None:
    user = run.context.user
    if user is None or user.role.value == "collector":
        return None
    current = await run.context.storage.digest_settings(user.id)
    return {"current": current, "default": run.context.settings.digest_time}


async def _choices(run: Run) -> list[Option]:
    user = run.context.user
    assert user is not None
    current = await run.context.storage.digest_settings(user.id)
    options = [Option(1, TIME, N_("⏰ Change the digest time"))]
    if current.mute_weekends:
        options.append(Option(2, UNMUTE, N_("🔔 Digest on weekends too")))
    else:
        options.append(Option(2, MUTE, N_("🔕 No digest on weekends")))
    if current.digest_time is not None:
        options.append(Option(3, RESET, N_("↩️ The cooperative's time")))
    return options


def _time(text: str, run: Run) -> Any:
    parsed = parse_digest_time(text)
    if parsed is None:
        return Refusal("settings/time_refused", {"text": text})
    return parsed.strftime("%H:%M")


async def _save(run: Run) -> Reply:
    """Store the change and show the settings as they are now."""
    context = run.context
    user = context.user
    assert user is not None
    current = await context.storage.digest_settings(user.id)
    what = run.draft.what
    if what == TIME:
        new = DigestSettings(parse_digest_time(run.draft.time or ""), current.mute_weekends)
    elif what in (MUTE, UNMUTE):
        new = DigestSettings(current.digest_time, what == MUTE)
    else:
        new = DigestSettings(None, current.mute_weekends)
    await context.storage.set_digest_settings(user.id, new, now=run.now)
    return Reply(
        context.render("settings/saved", current=new, default=context.settings.digest_time)
    )


async def settings(update: Update, context: QingshouContext) -> None:
    """``/settings``: the digest's time and weekend mute, with a button for each change."""
    message = update.effective_message
    user = context.user
    assert message is not None and user is not None
    if user.role.value == "collector":
        await message.reply_text(context.render("settings/not_allowed"))
        return
    await ENGINE.start(update, context, SETTINGS, SettingsDraft())


SETTINGS: Flow[SettingsDraft] = register(
    Flow(
        name="settings",
        title=N_("Settings"),
        draft=SettingsDraft,
        entry=Entry((Command("settings"),), command=settings),
        steps=(
            Step(
                "what",
                prompt="settings/show",
                input=Buttons(_choices),
                next=lambda run: "time" if run.draft.what == TIME else None,
            ),
            Step(
                "time",
                prompt="settings/ask_time",
                input=Text(max_chars=20, single_line=True, validate=_time),
            ),
        ),
        load=_load,
        on_finish=_save,
        lost="settings/not_allowed",
    )
)
