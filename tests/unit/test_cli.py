"""The command line as an operator uses it (each command runs its own event loop)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest

from bot.cli import build_parser, main
from bot.storage import open_storage
from bot.storage.testing import query_file, uncommitted_write


@pytest.fixture
def env(tmp_path, monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("QINGSHOU_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QINGSHOU_DB", str(tmp_path / "q.db"))
    return tmp_path


def test_every_command_has_help(capsys):
    parser = build_parser()
    for command in ("run", "sandbox", "emulator", "invite", "backup"):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([command, "--help"])
        assert exc.value.code == 0
        assert "usage: qingshou " + command in capsys.readouterr().out


def test_invite_to_a_new_team_needs_create_team(env, capsys):
    assert main(["invite", "--role", "collector", "--team", "东成"]) == 2
    err = capsys.readouterr().err
    assert "--team '东成' does not exist" in err
    assert "--create-team" in err


def test_invite_for_no_time_is_refused(env, capsys):
    assert main(["invite", "--role", "admin", "--hours", "0"]) == 2
    assert "--hours" in capsys.readouterr().err


def test_invite_prints_code_link_and_expiry(env, capsys):
    args = ["invite", "--role", "supervisor", "--team", "东城", "--hours", "24"]
    assert main([*args, "--create-team", "--name", "李娜"]) == 0
    out = capsys.readouterr().out
    assert "name:    李娜" in out
    code = re.search(r"code:\s+(\S+)", out)[1]
    assert f"start={code}" in out
    assert "team:    东城" in out
    assert "expires:" in out

    async def stored():
        s = await open_storage(str(env / "q.db"), now=datetime.now(UTC))
        try:
            return await s.get_invite(code)
        finally:
            await s.close()

    invite = asyncio.run(stored())
    assert invite.role.value == "supervisor"
    assert invite.team_name == "东城"
    assert invite.staff_name == "李娜"


def test_collector_invite_without_team_is_refused(env, capsys):
    assert main(["invite", "--role", "collector"]) == 2
    assert "--team is required" in capsys.readouterr().err


def test_a_bad_setting_stops_with_its_name(env, capsys, monkeypatch):
    monkeypatch.setenv("QINGSHOU_TZ", "Nowhere/Special")
    assert main(["invite", "--role", "admin"]) == 2
    assert "QINGSHOU_TZ" in capsys.readouterr().err


def test_backup_copies_the_live_database(env, capsys):
    main(["invite", "--role", "admin"])
    # A writer holding the database open meanwhile.
    with uncommitted_write(
        env / "q.db", "INSERT INTO meta (key, value) VALUES ('uncommitted', 'x')"
    ):
        assert main(["backup", str(env / "copy.db")]) == 0
    copy = env / "copy.db"
    assert query_file(copy, "SELECT count(*) FROM invites") == [(1,)]
    assert query_file(copy, "SELECT count(*) FROM meta WHERE key='uncommitted'") == [(0,)]
    assert query_file(copy, "PRAGMA integrity_check") == [("ok",)]


def test_backup_of_a_missing_database_is_refused(env, capsys):
    assert main(["backup", str(env / "copy.db")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_unreadable_ledger_is_refused_in_words_not_message_keys(env, capsys, monkeypatch):
    """Issue 16: `qingshou import` printed 'ledger.empty {}' and
    "ledger.unreadable {'reason': 'encoding'}" to the administrator."""
    assert main(["invite", "--role", "admin", "--team", "东城", "--create-team"]) == 0
    capsys.readouterr()
    (env / "empty.csv").write_bytes(b",,\n\n,\n")
    assert main(["import", "empty.csv", "--team", "东城"]) == 1
    err = capsys.readouterr().err
    assert "empty.csv" in err
    assert "ledger." not in err
    assert "{" not in err
    (env / "latin.csv").write_bytes("合同号,借款人\n".encode("utf-16"))
    monkeypatch.setenv("QINGSHOU_LANG", "en")
    assert main(["import", "latin.csv", "--team", "东城"]) == 1
    err = capsys.readouterr().err
    assert "“latin.csv” cannot be read. Nothing was imported." in err
    assert "ledger." not in err
    assert "<b>" not in err
