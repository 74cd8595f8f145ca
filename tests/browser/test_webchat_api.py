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
from bot.sandbox import DEMO_PEOPLE, Sandbox, describe
from tgemu import Emulator, EmulatorConfig, tiny_png

TOKEN = "123456789:TEST-token-for-the-web-chat"
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
#: What the page sends with every request; multipart uploads without it are refused (CSRF).
WEBCHAT = {"X-Webchat": "1"}


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
        ("x" * 4097, "would split it into several messages"),
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
    ok = await http.post(
        url, files={"file": ("notes.txt", b"a" * 1000, "text/plain")}, headers=WEBCHAT
    )
    assert ok.status_code == 200
    too_big = await http.post(
        url, files={"file": ("scan.pdf", b"a" * 1001, "application/pdf")}, headers=WEBCHAT
    )
    assert too_big.status_code == 413
    assert "file is too big" in too_big.json()["error"]
    huge = await http.post(
        url, files={"file": ("video.mp4", b"a" * 100_000, "video/mp4")}, headers=WEBCHAT
    )
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
        headers=WEBCHAT,
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


async def test_the_clock_jumps_at_most_five_years_and_never_overflows(
    emu: Emulator, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    for body in (
        {"at": "2031-03-04T09:00"},
        {"at": "9999-12-31T23:59"},
        {"advance_seconds": 1e12},
        {"advance_seconds": 1e300},
    ):
        refused = await http.post("/control/clock", json=body)
        assert refused.status_code == 400, body
        assert "at most 5 years" in refused.json()["error"]
    assert clock.now() == START
    ok = await http.post("/control/clock", json={"at": "2030-03-01T09:00"})
    assert ok.status_code == 200


async def test_messages_carry_the_bots_clock_when_one_is_attached(
    emu: Emulator, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    user = emu.add_user("Ann")
    first = emu.user_sends_text(user.id, "/start")["message"]
    assert first["date"] == int(START.timestamp())
    await http.post("/control/clock", json={"preset": "tomorrow_0900"})
    later = emu.user_sends_text(user.id, "hello")["message"]
    assert later["date"] == int(datetime(2025, 3, 4, 1, 0, tzinfo=UTC).timestamp())


async def test_a_bot_filtered_event_stream_still_carries_people_and_clock(
    emu: Emulator, clock: ManualClock
) -> None:
    emu.add_bot("987654321:OTHER-token-for-the-web-chat", username="other_bot")
    async with (
        httpx.AsyncClient(timeout=5) as http,
        http.stream("GET", f"{emu.url}/control/events?bot=qingshou_bot") as stream,
    ):
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        other = emu.add_user("Bo")
        emu.user_sends_text(other.id, "/start", bot="other_bot")  # filtered out
        emu.set_clock(datetime(2025, 3, 4, 1, 0, tzinfo=UTC))
        emu.set_label(other.id, "collector · 东城组")
        kinds = []
        async for line in lines:
            if line.startswith("event: "):
                kinds.append(line.removeprefix("event: "))
            if len(kinds) == 3:
                break
        assert kinds == ["user", "clock", "user"]


async def test_control_writes_from_another_origin_are_refused(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    user = emu.add_user("Ann")
    url = f"/control/users/{user.id}/message"
    own = emu.url
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port on localhost is the same *site*
        {"Origin": "http://evil.example"},
        {"Origin": "http://localhost:1"},
        {"Origin": "null"},
    ):
        refused = await http.post(url, json={"text": "hi"}, headers=headers)
        assert refused.status_code == 403, headers
    # A no-cors form post: text/plain or form-encoded bodies are refused.
    plain = await http.post(url, content=b'{"text": "hi"}', headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    form = await http.post(url, data={"text": "hi"})
    assert form.status_code == 415
    blocked = await http.post(f"/control/users/{user.id}/blocked")  # no body, no type
    assert blocked.status_code == 415
    # A multipart upload without the page's header (a cross-site form can't add one).
    upload = await http.post(
        f"/control/users/{user.id}/document", files={"file": ("a.txt", b"a", "text/plain")}
    )
    assert upload.status_code == 403
    assert "X-Webchat" in upload.json()["error"]
    assert emu.bot().updates == []
    same = await http.post(
        url, json={"text": "hi"}, headers={"Origin": own, "Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code == 200
    assert (await http.get("/control/users", headers={"Sec-Fetch-Site": "cross-site"})).is_success


async def test_foreign_host_names_are_misdirected(emu: Emulator) -> None:
    port = emu.port
    async with httpx.AsyncClient(base_url=emu.url, timeout=5) as http:
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
            assert (await http.get("/control/users", headers={"Host": host})).status_code == 200
        for host in (f"evil.example:{port}", "127.0.0.1:1", f"127.0.0.1.nip.io:{port}"):
            answer = await http.get("/", headers={"Host": host})
            assert answer.status_code == 421, host
        api = await http.get(f"/bot{TOKEN}/getMe", headers={"Host": f"rebind.example:{port}"})
        assert api.status_code == 421


async def test_the_sandbox_says_who_is_who_without_repeating_names(sandbox: Sandbox) -> None:
    text = describe(sandbox)
    admin = sandbox.people["admin"]
    assert f"{admin.id}  王主任: admin" in text  # no stray space before the colon
    assert "Chen Jing: collector, team 东城组" in text
    assert "to see reminders" not in text  # no promise of reminders that do not exist yet
    assert "days overdue" in text or "days past due" in text or "overdue" in text
    for person in DEMO_PEOPLE:
        label = sandbox.people[person.key].label or ""
        assert person.first_name not in label  # the page shows the name beside the label
    assert sandbox.people["stranger"].label == "stranger at start (has an invite)"
    assert sandbox.people["supervisor"].label == "supervisor · 东城组"
