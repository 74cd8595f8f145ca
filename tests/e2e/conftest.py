"""End-to-end fixtures: the strict emulator on loopback and the real bot polling it over HTTP.

A test talks to the bot only as a person would (`await alice.send(...)`, `await alice.press(...)`,
`await alice.expect(...)`) and may look at the rows the bot stored.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.app import QingshouApp, build_application
from bot.clock import ManualClock
from bot.config import Secret, Settings
from bot.domain.people import Role, User
from bot.emulator import Emulator, EmulatorClient, EmulatorConfig, Person
from bot.runner import running
from bot.storage import SqliteStorage
from bot.telegram_io import ResilientRateLimiter

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
BOT_USERNAME = "qingshou_test_bot"
#: Monday 30 November 2026, 09:00 in Shanghai.
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

LANGUAGE_CODES = {"en": "en", "zh_Hans": "zh-hans", "zh_Hant": "zh-hant"}


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig(port=0)) as emu:
        emu.add_bot(TOKEN, username=BOT_USERNAME, first_name="清收")
        yield emu


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(emulator.url) as c:
        yield c
        # Every button press must be answered (or the person's button spins forever).
        assert await c.unanswered_callbacks() == []


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
    """Makes people: registered members (straight into storage) and strangers."""

    emulator: Emulator
    client: EmulatorClient
    storage: SqliteStorage
    clock: ManualClock
    members: dict[int, User] = field(default_factory=dict)

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


@pytest.fixture
def world(emulator, client, storage, clock) -> World:
    return World(emulator, client, storage, clock)


@pytest.fixture
def settings(emulator, tmp_path) -> Settings:
    return Settings(
        token=Secret(TOKEN),
        api_url=emulator.api_base_url,
        db_path=tmp_path / "e2e.db",
        default_locale="zh_Hans",
        request_timeout=1.5,
    )


@pytest.fixture
def rate_limiter() -> ResilientRateLimiter:
    return ResilientRateLimiter(backoff=0.2)


@pytest.fixture
async def bot(settings, clock, storage, rate_limiter) -> AsyncIterator[QingshouApp]:
    app = build_application(settings, clock=clock, storage=storage, rate_limiter=rate_limiter)
    async with running(app, poll_timeout=1):
        yield app


def invite_code_in(text: str) -> str:
    """The code in an invite message ("/start CODE")."""
    match = re.search(r"/start ([A-Za-z0-9_-]{8,64})", text)
    assert match, f"no invite code in {text!r}"
    return match[1]


async def expect_silence(person: Person, seconds: float = 1.0) -> None:
    """Assert the bot sends this person nothing (no message, no edit) for ``seconds``."""
    batch = await person.client.wait(person.id, person.seen_seq, seconds, person.bot)
    said = [
        e
        for e in batch["events"]
        if e["kind"] in ("message", "edit") and e.get("message", {}).get("from") == "bot"
    ]
    assert not said, f"expected silence, got {said}"
