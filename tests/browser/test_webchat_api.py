"""What the web chat relies on in the emulator, over HTTP (no browser needed).

The page, file downloads without the bot token, persona labels, the sandbox's time control, and
Telegram's refusals of empty, over-long and over-large input.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.clock import ManualClock
from bot.emulator import Emulator, EmulatorConfig, tiny_png

TOKEN = "123456789:TEST-token-for-the-web-chat"
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(EmulatorConfig(document_max_bytes=1000, request_max_bytes=64 * 1024))
    emulator.add_bot(TOKEN, username="qingshou_bot", first_name="清收")
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emu.url, timeout=5) as client:
        yield client


@pytest.fixture
def clock(emu: Emulator) -> ManualClock:
    manual = ManualClock(START, frozen=True)
    emu.attach_clock(manual, SHANGHAI)
    return manual


async def test_the_page_and_its_files_are_served_with_a_strict_policy(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert '<script src="/webchat/app.js"' in page.text
    assert "http://" not in page.text
    assert "https://" not in page.text  # nothing outside loopback
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        response = await http.get(f"/webchat/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
        assert "@import" not in response.text
        assert "fonts.googleapis" not in response.text
    assert (await http.get("/webchat/../server.py")).status_code == 404
    assert (await http.get("/webchat/secret.txt")).status_code == 404


async def test_webchat_info_names_the_bot_and_limits(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    info = (await http.get("/control/webchat")).json()
    assert info["bot"]["username"] == "qingshou_bot"
    assert info["clock"] is False
    assert info["limits"]["text_utf16"] == 4096
    assert info["limits"]["document_max_bytes"] == 1000


async def test_users_carry_an_optional_label(emu: Emulator, http: httpx.AsyncClient) -> None:
    created = await http.post(
        "/control/users", json={"first_name": "李", "last_name": "组长", "label": "supervisor"}
    )
    assert created.status_code == 201
    assert created.json()["label"] == "supervisor"
    plain = emu.add_user("Dora")
    assert plain.label is None
    users = {u["id"]: u for u in (await http.get("/control/users")).json()}
    assert users[created.json()["id"]]["label"] == "supervisor"
    assert users[plain.id]["label"] is None
    assert "label" not in plain.to_api()  # never shown to bots


async def test_text_refusals_match_telegram(emu: Emulator, http: httpx.AsyncClient) -> None:
    user = emu.add_user("Ann")
    url = f"/control/users/{user.id}/message"
    for text, reason in (
        ("", "non-empty"),
        ("   \n ", "non-empty"),
        ("x" * 4097, "4096"),
        ("😀" * 2049, "4096"),  # 4098 UTF-16 code units
    ):
        refused = await http.post(url, json={"text": text})
        assert refused.status_code == 400
        assert reason in refused.json()["error"]
    assert (await http.post(url, json={"text": "x" * 4096})).status_code == 200


async def test_uploads_above_the_document_limit_are_refused(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    user = emu.add_user("Ann")
    url = f"/control/users/{user.id}/document"
    ok = await http.post(url, files={"file": ("notes.txt", b"a" * 1000, "text/plain")})
    assert ok.status_code == 200
    too_big = await http.post(url, files={"file": ("scan.pdf", b"a" * 1001, "application/pdf")})
    assert too_big.status_code == 413
    assert "file is too big" in too_big.json()["error"]
    huge = await http.post(url, files={"file": ("video.mp4", b"a" * 100_000, "video/mp4")})
    assert huge.status_code == 413
    assert "file is too big" in huge.json()["error"]
    assert len(emu.bot().updates) == 1  # only the accepted upload reached the bot


async def test_files_download_without_the_token_and_never_run_as_pages(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    user = emu.add_user("Ann")
    sent = await http.post(
        f"/control/users/{user.id}/document",
        files={"file": ("evil.html", b"<script>alert(1)</script>", "text/html")},
    )
    file_id = sent.json()["message"]["document"]["file_id"]
    page = await http.get(f"/control/files/{file_id}")
    assert page.status_code == 200
    assert page.headers["content-type"] == "application/octet-stream"
    assert page.headers["content-disposition"].startswith("attachment")
    assert page.headers["content-security-policy"] == "sandbox"
    assert page.content == b"<script>alert(1)</script>"

    photo = emu.bot().store_file(
        tiny_png(), folder="photos", extension="jpg", mime="image/jpeg", name=None
    )
    inline = await http.get(f"/control/files/{photo.file_id}")
    assert inline.headers["content-type"] == "image/jpeg"
    assert inline.headers["content-disposition"].startswith("inline")
    download = await http.get(f"/control/files/{photo.file_id}?download=1")
    assert download.headers["content-disposition"].startswith("attachment")
    assert (await http.get("/control/files/nope")).status_code == 404


async def test_no_clock_no_time_control(http: httpx.AsyncClient) -> None:
    assert (await http.get("/control/clock")).status_code == 404
    assert (await http.post("/control/clock", json={"preset": "plus_hour"})).status_code == 404


async def test_the_clock_jumps_forward_only(
    emu: Emulator, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    state = (await http.get("/control/clock")).json()
    assert state["tz"] == "Asia/Shanghai"
    assert state["local"] == "2025-03-03T18:00:00+08:00"
    assert state["tomorrow_0900"] == "2025-03-04T09:00:00+08:00"
    assert (await http.get("/control/webchat")).json()["clock"] is True

    async def jump(body: dict[str, object]) -> httpx.Response:
        return await http.post("/control/clock", json=body)

    assert (await jump({"preset": "tomorrow_0900"})).json()["local"] == "2025-03-04T09:00:00+08:00"
    assert clock.now() == datetime(2025, 3, 4, 1, 0, tzinfo=UTC)
    assert (await jump({"preset": "plus_hour"})).json()["local"] == "2025-03-04T10:00:00+08:00"
    assert (await jump({"preset": "plus_day"})).json()["local"] == "2025-03-05T10:00:00+08:00"
    assert (await jump({"advance_seconds": 60})).json()["local"] == "2025-03-05T10:01:00+08:00"
    at = await jump({"at": "2025-03-10T09:30"})  # naive: the cooperative's zone
    assert at.json()["now"] == "2025-03-10T01:30:00+00:00"

    for body in (
        {"at": "2025-03-01T09:00"},
        {"at": "2025-03-10T01:00:00+00:00"},
        {"advance_seconds": -5},
    ):
        refused = await jump(body)
        assert refused.status_code == 400
        assert "forward" in refused.json()["error"]
    assert clock.now() == datetime(2025, 3, 10, 1, 30, tzinfo=UTC)
    for body in ({"preset": "yesterday"}, {"at": "next tuesday"}, {}):
        assert (await jump(body)).status_code == 400
