"""The local sandbox: the emulator on loopback, the real bot polling it, a demo cooperative.

Nothing leaves the machine. The bot's clock is a :class:`ManualClock` so the sandbox can jump
forward in time (to a payment date, to tomorrow 09:00) and show reminders and digests at once.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.app import QingshouApp, build_application
from bot.clock import ManualClock
from bot.config import Secret, Settings
from bot.domain.people import Role, deep_link
from bot.i18n import normalise_locale
from bot.runner import running
from bot.sandbox.demo import seed_demo_cases, seed_demo_history
from bot.storage import Storage, open_storage
from tgemu import Emulator, EmulatorConfig, UserInfo

BOT_USERNAME = "qingshou_sandbox_bot"
TEAM = "东城组"


@dataclass(frozen=True)
class DemoPerson:
    key: str
    first_name: str
    last_name: str | None
    language_code: str
    role: Role | None  # None: a stranger, not yet registered
    team: str | None

    @property
    def display_name(self) -> str:
        """The name as the bot stores it: 王主任 (Chinese names run together), Chen Jing."""
        if self.language_code.startswith("zh") and not self.first_name.isascii():
            return f"{self.first_name}{self.last_name or ''}"
        return f"{self.first_name} {self.last_name or ''}".strip()

    @property
    def label(self) -> str:
        """Who this is in the web chat, beside the name: "supervisor · 东城组".

        The page shows the name already, so the label does not repeat it.  It is what the
        person was when the sandbox started: the stranger stays "stranger at start" after
        joining, because the emulator does not know what the bot decided.
        """
        role = self.role.value if self.role else "stranger at start (has an invite)"
        team = f" · {self.team}" if self.team else ""
        return f"{role}{team}"


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    # Chinese Telegram profiles usually carry the whole name as the first name.
    DemoPerson("admin", "王主任", None, "zh-hans", Role.ADMIN, None),
    DemoPerson("supervisor", "李组长", None, "zh-hans", Role.SUPERVISOR, TEAM),
    DemoPerson("collector", "张伟", None, "zh-hans", Role.COLLECTOR, TEAM),
    DemoPerson("collector2", "Chen", "Jing", "en", Role.COLLECTOR, TEAM),
    DemoPerson("stranger", "New", "Colleague", "zh-hant", None, None),
)


@dataclass
class Sandbox:
    """A running sandbox; ``people`` maps demo keys to emulator users."""

    emulator: Emulator
    app: QingshouApp
    clock: ManualClock
    storage: Storage
    settings: Settings
    invite_code: str
    people: dict[str, UserInfo] = field(default_factory=dict)

    @property
    def invite_link(self) -> str:
        return deep_link(BOT_USERNAME, self.invite_code)


async def seed_demo(
    storage: Storage, emulator: Emulator, clock: ManualClock
) -> dict[str, UserInfo]:
    """Create the demo people in the emulator and (if new) in storage."""
    now = clock.now()
    team = await storage.ensure_team(TEAM, now=now)
    bot = emulator.bot(BOT_USERNAME)
    people: dict[str, UserInfo] = {}
    for person in DEMO_PEOPLE:
        info = emulator.add_user(
            first_name=person.first_name,
            last_name=person.last_name,
            language_code=person.language_code,
            label=person.label,
        )
        people[person.key] = info
        if person.role is None:
            continue
        # The demo staff have talked to the bot before, so it may write to them first.
        emulator.chat(bot, info.id).started = True
        if await storage.get_user_by_telegram_id(info.id) is None:
            user = await storage.add_user(
                telegram_id=info.id,
                name=person.display_name,
                role=person.role,
                team_id=team.id if person.team else None,
                now=now,
            )
            # What joining with /start would have recorded: the Telegram language, so the
            # first message the bot writes to them (an assignment, an import) is in it.
            await storage.update_profile(
                user.id,
                name=user.name,
                username=user.username,
                telegram_locale=normalise_locale(person.language_code),
            )
    return people


@asynccontextmanager
async def start_sandbox(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    db_path: Path | None = None,
    emulator_config: EmulatorConfig | None = None,
    allow_remote: bool = False,
    clock: ManualClock | None = None,
) -> AsyncIterator[Sandbox]:
    """Start emulator, storage, demo data and bot; stop them all on exit. ``clock``: the
    sandbox's clock (tests start it at a day of their choosing; by default, now)."""
    clock = clock or ManualClock()
    # The sandbox's Telegram keeps the pace the bot is set to keep (Telegram's by default).
    config = emulator_config or EmulatorConfig(
        host=host,
        port=port,
        allow_remote=allow_remote,
        global_per_second=max(1, round(settings.overall_per_second)),
        per_chat_rate=settings.per_chat_per_second,
        per_chat_burst=settings.per_chat_burst,
    )
    token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(30)[:35]}"
    with tempfile.TemporaryDirectory(prefix="qingshou-sandbox-") as tmp:
        db = db_path or Path(tmp) / "sandbox.db"
        async with Emulator(config) as emulator:
            emulator.add_bot(token, username=BOT_USERNAME, first_name="清收 Sandbox")
            emulator.attach_clock(clock, settings.tz)
            storage = await open_storage(str(db), now=clock.now())
            try:
                people = await seed_demo(storage, emulator, clock)
                team = await storage.ensure_team(TEAM, now=clock.now())
                collectors = [
                    user
                    for person in DEMO_PEOPLE
                    if person.role is Role.COLLECTOR
                    and (user := await storage.get_user_by_telegram_id(people[person.key].id))
                ]
                await seed_demo_cases(
                    storage, team_id=team.id, collectors=collectors, now=clock.now()
                )
                await seed_demo_history(
                    storage,
                    team_id=team.id,
                    collectors=collectors,
                    now=clock.now(),
                    grace_days=settings.grace_days,
                )
                invite = await storage.create_invite(
                    role=Role.COLLECTOR, team_id=team.id, created_by=None, now=clock.now()
                )
                bot_settings = replace(
                    settings,
                    token=Secret(token),
                    api_url=emulator.api_base_url,
                    db_path=db,
                    admins=frozenset(),
                    # The time control's jump ("Tomorrow 09:00") shows the reminders at once.
                    poll_interval=min(settings.poll_interval, 2.0),
                )
                app = build_application(bot_settings, clock=clock, storage=storage)
                async with running(app, poll_timeout=5):
                    yield Sandbox(emulator, app, clock, storage, bot_settings, invite.code, people)
            finally:
                await storage.close()


def describe(sandbox: Sandbox) -> str:
    """What ``make run`` prints: the web chat first, then who is who."""
    url = sandbox.emulator.url
    rule = "─" * 64
    lines = [
        "",
        rule,
        f"  清收 sandbox · open the web chat:  {url}/",
        rule,
        "",
        "qingshou sandbox is running (nothing leaves this machine; no Telegram account needed).",
        "In the web chat pick who you are, talk to the bot, press its buttons, open a second",
        "person beside the first, and move the bot's clock forward: a jump changes what the bot",
        "counts from today (days overdue, invite expiry); reminders will run on the same clock.",
        "The demo cooperative has a week behind it: try /today as 张伟, /digest as 李组长.",
        "",
        "Demo people (Telegram ids):",
    ]
    for person in DEMO_PEOPLE:
        info = sandbox.people[person.key]
        role = person.role.value if person.role else "stranger (not registered)"
        team = f", team {person.team}" if person.team else ""
        name = " ".join(part for part in (info.first_name, info.last_name) if part)
        lines.append(f"  {info.id}  {name}: {role}{team}")
    stranger = sandbox.people["stranger"].id
    lines += [
        "",
        f"The stranger can join as a collector by sending:  /start {sandbox.invite_code}",
        "",
        f"Telegram Bot API emulator: {sandbox.emulator.api_base_url}   bot: @{BOT_USERNAME}",
        f"database: {sandbox.settings.db_path}",
        f"Scripting instead of clicking: the control API is described at {url}/control, e.g.",
        f"  curl -s -X POST {url}/control/users/{stranger}/message "
        f"-H 'content-type: application/json' -d '{{\"text\": \"/start {sandbox.invite_code}\"}}'",
        "",
        "Ctrl-C stops the sandbox.",
    ]
    return "\n".join(lines)


async def run_sandbox(
    settings: Settings,
    *,
    host: str,
    port: int,
    db_path: Path | None,
    allow_remote: bool = False,
) -> None:
    """Run until interrupted, printing how to use it."""
    async with start_sandbox(
        settings, host=host, port=port, db_path=db_path, allow_remote=allow_remote
    ) as sandbox:
        print(describe(sandbox), flush=True)
        await asyncio.Event().wait()
