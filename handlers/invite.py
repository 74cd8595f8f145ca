"""/invite: supervisors invite collectors to their team; admins invite anyone anywhere.

A supervisor's invite is made at once. An admin's goes through the ``invite`` flow: role →
(team, unless an admin is invited) → the invite, with the staff name typed after /invite kept in
the flow's answers all the way. Every step re-checks the right to invite (``_load``), and the
invite is created with the flow's idempotency key, so a double tap or a replay makes one invite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from telegram import Update

from bot.context import QingshouContext
from bot.domain.people import Role, deep_link, may_invite
from bot.flows import (
    ENGINE,
    Buttons,
    Command,
    Draft,
    Entry,
    Flow,
    FlowRun,
    Option,
    Reply,
    Step,
    register,
)
from bot.i18n import N_

#: Longest name on the books an invite may carry.
MAX_STAFF_NAME = 64
ROLE_LABELS = {
    Role.COLLECTOR: N_("A collector"),
    Role.SUPERVISOR: N_("A supervisor"),
    Role.ADMIN: N_("An admin"),
}


@dataclass(frozen=True, kw_only=True)
class InviteDraft(Draft):
    """The staff name typed after /invite (kept all the way), then the role and the team."""

    VERSION: ClassVar[int] = 1

    staff_name: str | None = None
    role: str | None = None
    team: int | None = None

    LEGACY_SAME_NAMES: ClassVar[bool] = True


Run = FlowRun[InviteDraft]


async def _load(run: Run) -> dict[str, Any] | None:
    user = run.context.user
    if user is None or user.role is not Role.ADMIN or not user.active:
        return None
    return {"teams": await run.context.storage.list_teams()}


async def _teams(run: Run) -> list[Option]:
    return [
        Option(code=t.id, value=t.id, label=t.name, translate=False)
        for t in await run.context.storage.list_teams()
    ]


_ROLES = [
    Option(code=i, value=role.value, label=label)
    for i, (role, label) in enumerate(ROLE_LABELS.items())
]


async def _make(run: Run) -> Reply:
    """Create the invite the admin chose (keyed: a replay returns the same invite)."""
    context = run.context
    user = context.user
    assert user is not None
    draft = run.draft
    assert draft.role is not None  # the flow finishes after its first step only
    role = Role(draft.role)
    team_id = draft.team if role is not Role.ADMIN else None
    if (team_id is not None and await context.storage.get_team(team_id) is None) or not may_invite(
        user, role, team_id
    ):
        return Reply(context.render("invite/not_allowed"))
    invite = await context.storage.create_invite(
        role=role,
        team_id=team_id,
        created_by=user.id,
        now=run.now,
        staff_name=draft.staff_name,
        key=run.key,
    )
    link = deep_link(context.bot_data.bot_username, invite.code)
    return Reply(context.render("invite/created", invite=invite, link=link))


async def invite(update: Update, context: QingshouContext) -> None:
    """Make an invite: at once for a supervisor, after choosing role and team for an admin."""
    user = context.user
    message = update.effective_message
    assert user is not None and message is not None
    staff_name = " ".join(context.args or ()).strip() or None
    if staff_name is not None and len(staff_name) > MAX_STAFF_NAME:
        await message.reply_text(context.render("invite/name_too_long", limit=MAX_STAFF_NAME))
        return
    if user.role is Role.SUPERVISOR and user.team_id is not None:
        created = await context.storage.create_invite(
            role=Role.COLLECTOR,
            team_id=user.team_id,
            created_by=user.id,
            now=context.clock.now(),
            staff_name=staff_name,
            key=f"update:{update.update_id}",
        )
        link = deep_link(context.bot_data.bot_username, created.code)
        await message.reply_text(context.render("invite/created", invite=created, link=link))
        return
    if user.role is not Role.ADMIN:
        await message.reply_text(context.render("invite/not_allowed"))
        return
    await ENGINE.start(update, context, INVITE, InviteDraft(staff_name=staff_name))


INVITE: Flow[InviteDraft] = register(
    Flow(
        name="invite",
        title=N_("Invite"),
        draft=InviteDraft,
        # ``/invite [staff name]``: a supervisor's invite is made at once, an admin's asks.
        entry=Entry((Command("invite"),), command=invite),
        steps=(
            Step(
                "role",
                prompt="invite/choose_role",
                input=Buttons(_ROLES),
                next=lambda run: None if run.draft.role == Role.ADMIN.value else "team",
            ),
            Step("team", prompt="invite/choose_team", input=Buttons(_teams)),
        ),
        load=_load,
        on_finish=_make,
        lost="invite/not_allowed",
    )
)
