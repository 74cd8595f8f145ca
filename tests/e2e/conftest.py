"""End-to-end fixtures: the strict emulator on loopback and the real bot polling it over HTTP.

A test talks to the bot only as a person would (`await alice.send(...)`, `await alice.press(...)`,
`await alice.expect(...)`) and may look at the rows the bot stored.

Nothing the bot says goes unchecked: at teardown every person the test made (through ``world`` or
``Person.create`` with the ``client``) must have read every bot message they were sent, and every
button press must have been answered. Before that check the in-process bot finishes what is in
flight (every update the emulator holds handled) and the outbox ticks once, so a reply or a
notification the test caused but never looked at fails the test too. A test that does not care
what someone was told says so: ``await person.ignore_unread()``.

Time does not pass by itself here: the clock is a ``ManualClock`` and the outbox job never fires
on its own (``outbox_interval`` is a day); ``await world.tick()`` runs it once, now, through the
application's own job; the reminder poller likewise, ``await world.tick_reminders()``. Tests of
the bot as a separate process (``process.py``) run on real time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.app import QingshouApp, build_application, rate_limiter_for
from bot.clock import ManualClock
from bot.config import Secret, Settings
from bot.domain.people import Role, User
from bot.runner import running
from bot.storage import SqliteStorage
from bot.telegram_io import ResilientRateLimiter
from reminders import OUTBOX_JOB, REMINDERS_JOB
from tests.e2e.process import BotProcess
from tests.pace import Pace
from tgemu import BotMessage, Emulator, EmulatorClient, EmulatorConfig, Person

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
BOT_USERNAME = "qingshou_test_bot"
#: Monday 30 November 2026, 09:00 in Shanghai.
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
#: How long the teardown check waits for bot messages on their way when it cannot ask the bot
#: (no in-process bot: a bot process, or an application the test ran itself).
SETTLE = 0.3

LANGUAGE_CODES = {"en": "en", "zh_Hans": "zh-hans", "zh_Hant": "zh-hant"}

#: The people a test made (``Person.watch`` on its client), and whether they were checked.
PEOPLE = pytest.StashKey[list[Person]]()
CHECKED = pytest.StashKey[bool]()
#: Whether the test itself failed (then its leftovers are noise, not news).
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


async def assert_everything_read(request: pytest.FixtureRequest, settle: float = SETTLE) -> None:
    """Fail the test if any of its people has bot messages it did not read (once per test)."""
    node = request.node
    if node.stash.get(CHECKED, False) or node.stash.get(FAILED, False):
        return
    node.stash[CHECKED] = True
    people = node.stash.get(PEOPLE, [])
    if not people:
        return
    await asyncio.sleep(settle)
    unread = [(person, await person.unread()) for person in people]
    left = [(person, messages) for person, messages in unread if messages]
    if left:
        listed = "\n".join(
            f"  {person}: {m.text!r}" + "".join(f" [{t}]" for row in m.buttons for t, _ in row)
            for person, messages in left
            for m in messages
        )
        pytest.fail(
            "bot messages the test never read (expect them, or say "
            f"`await person.ignore_unread()`):\n{listed}",
            pytrace=False,
        )


@pytest.fixture
async def emulator(pace: Pace) -> AsyncIterator[Emulator]:
    # Fast flood control unless the test is marked real_pace (tests/pace.py); the bot gets the
    # same pace through ``settings`` (and a bot process through its environment).
    async with Emulator(EmulatorConfig(port=0, **pace.emulator_config())) as emu:
        emu.add_bot(TOKEN, username=BOT_USERNAME, first_name="清收")
        yield emu


@pytest.fixture
async def client(
    emulator: Emulator, request: pytest.FixtureRequest
) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(emulator.url) as c:
        with Person.watch(c) as people:
            request.node.stash[PEOPLE] = people
            yield c
        # Tests without the in-process bot (its teardown checks first) are checked here.
        await assert_everything_read(request)
        # Every button press must be answered (or the person's button spins forever).
        assert await c.unanswered_callbacks() == []
        # Only parameters the Bot API defines for each method: Telegram ignores any other,
        # silently, so a bot that sends one relies on something that does not happen.
        stray = {method: sorted(names) for method, names in emulator.undefined_fields.items()}
        assert stray == {}, f"the bot sent parameters the Bot API does not define: {stray}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def storage(tmp_path) -> AsyncIterator[SqliteStorage]:
    s = await SqliteStorage.open(tmp_path / "e2e.db", now=START)
    yield s
    await s.close()


@dataclass
class World:
    """Makes people: registered members (straight into storage) and strangers; ticks the jobs."""

    emulator: Emulator
    client: EmulatorClient
    storage: SqliteStorage
    clock: ManualClock
    members: dict[int, User] = field(default_factory=dict)
    #: The in-process bot, once the ``bot`` fixture runs it.
    app: QingshouApp | None = None

    async def stranger(self, name: str = "Stranger", lang: str = "en") -> Person:
        return await Person.create(
            self.client, first_name=name, language_code=LANGUAGE_CODES.get(lang, lang)
        )

    async def member(
        self, role: Role, name: str, *, team: str | None = "东城", lang: str = "en"
    ) -> Person:
        person = await self.stranger(name, lang)
        team_id = (await self.storage.ensure_team(team, now=self.clock.now())).id if team else None
        user = await self.storage.add_user(
            telegram_id=person.id, name=name, role=role, team_id=team_id, now=self.clock.now()
        )
        self.members[person.id] = user
        return person

    async def tick(self) -> int:
        """Run the outbox job once, now, as its schedule would; returns how many it sent.

        Through the application's own job: the real context, the clock, the rate limiter.
        """
        assert self.app is not None, "world.tick() needs the bot fixture"
        assert self.app.job_queue is not None
        (job,) = self.app.job_queue.get_jobs_by_name(OUTBOX_JOB)
        context = self.app.context_types.context.from_job(job, self.app)
        sent: int = await job.callback(context)
        return sent

    async def tick_reminders(self, *, deliver: bool = True) -> int:
        """Run the reminder poller once, now, as its schedule would (then, unless told not to,
        the outbox, so what it queued is sent); returns how many messages it queued."""
        assert self.app is not None, "world.tick_reminders() needs the bot fixture"
        assert self.app.job_queue is not None
        (job,) = self.app.job_queue.get_jobs_by_name(REMINDERS_JOB)
        context = self.app.context_types.context.from_job(job, self.app)
        queued: int = await job.callback(context)
        if deliver:
            await self.tick()
        return queued

    async def settle(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has handled every update people sent (its replies are out).

        An update leaves the emulator's queue only once the bot has stored it in its inbox, and
        leaves the inbox's pending ones once handled; handlers send their replies before that.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while self.emulator.bot().updates or (await self.storage.inbox_counts())["pending"]:
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"the bot is still busy after {timeout}s", pytrace=False)
            await asyncio.sleep(0.02)

    async def assert_silent(self, *people: Person) -> None:
        """Once the bot has handled everything sent so far, it has told ``people`` nothing new."""
        await self.settle()
        for person in people:
            await person.assert_no_unread()


@pytest.fixture
def world(emulator, client, storage, clock) -> World:
    return World(emulator, client, storage, clock)


@pytest.fixture
def settings(emulator, tmp_path, pace) -> Settings:
    return Settings(
        token=Secret(TOKEN),
        api_url=emulator.api_base_url,
        db_path=tmp_path / "e2e.db",
        default_locale="zh_Hans",
        request_timeout=1.5,
        outbox_interval=24 * 3600.0,  # never on its own: tests call world.tick()
        poll_first=24 * 3600.0,
        poll_interval=24 * 3600.0,  # the same for reminders: world.tick_reminders()
        **pace.settings(),
    )


@pytest.fixture
def rate_limiter(settings) -> ResilientRateLimiter:
    return rate_limiter_for(settings, backoff=0.2)


@pytest.fixture
async def bot(settings, clock, storage, rate_limiter, world, request) -> AsyncIterator[QingshouApp]:
    app = build_application(settings, clock=clock, storage=storage, rate_limiter=rate_limiter)
    async with running(app, poll_timeout=1):
        world.app = app
        try:
            yield app
            if not request.node.stash.get(FAILED, False):
                # What the test caused but never looked at: replies in flight, due notices.
                await world.settle()
                await world.tick()
                await assert_everything_read(request, settle=0.0)
        finally:
            world.app = None


def invite_code_in(text: str) -> str:
    """The code in an invite message ("/start CODE")."""
    match = re.search(r"/start ([A-Za-z0-9_-]{8,64})", text)
    assert match, f"no invite code in {text!r}"
    return match[1]


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]],
    timeout: float = 5.0,  # noqa: ASYNC109
) -> None:
    """Wait until ``condition()`` holds (polling), or fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still not true after {timeout}s")
        await asyncio.sleep(0.05)


async def expect_silence(person: Person, seconds: float = 1.0) -> None:
    """Assert the bot sends this person nothing (no message, no edit) for ``seconds``.

    With the in-process bot prefer ``world.assert_silent(person)``: it waits exactly until the
    bot has handled what it was sent, instead of a fixed time.
    """
    batch = await person.client.wait(person.id, person.seen_seq, seconds, person.bot)
    said = [
        e
        for e in batch["events"]
        if e["kind"] in ("message", "edit") and e.get("message", {}).get("from") == "bot"
    ]
    assert not said, f"expected silence, got {said}"


@pytest.fixture
async def bot_process(emulator, settings) -> AsyncIterator[BotProcess]:
    """The real bot as its own process (``python -m bot run``), to stop, kill and restart."""
    process = BotProcess(emulator, TOKEN, settings.db_path)
    await process.start()
    yield process
    await process.stop()
    assert process.tracebacks() == [], "".join(process.log[-60:])


def _is_paper(message: BotMessage, contains: str, known: Collection[int]) -> bool:
    return (
        message.document is not None
        and contains in message.text
        and message.message_id not in known
    )


async def expect_paper(
    person: Person,
    contains: str,
    *,
    known: Collection[int] = (),
    timeout: float = 10.0,  # noqa: ASYNC109
) -> BotMessage:
    """The PDF of a paper (issue 19: a document whose caption holds ``contains``, and whose
    message id is not in ``known``), whether it came just after the flow's last reply or just
    before it: the outbox sends it while the flow edits its question into the reply, so either
    may reach the chat first. One still unread is marked read."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in await person.unread():
            if _is_paper(message, contains, known):
                return person.mark_read(message)
        for message in await person.messages():
            if _is_paper(message, contains, known):
                # It may have come between the two reads: then it is unread now.
                for late in await person.unread():
                    if late.message_id == message.message_id:
                        return person.mark_read(late)
                return message
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no document {contains!r} within {timeout}s for {person}")
        await asyncio.sleep(0.1)
