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


def _ledger(rows: int, *, amount: int = 1000, start: int = 0) -> bytes:
    lines = [f"HT{i:06d},借款人{i},{amount},2026-01-05,\n" for i in range(start, start + rows)]
    return ("合同号,借款人,逾期本金,逾期日期,清收人员\n" + "".join(lines)).encode("gb18030")


def test_an_import_shows_its_progress_on_stderr_and_its_result_in_words(env, capsys):
    """Issue 17: `qingshou import` on the server shows how far it has got (on stderr, only
    with --progress or on a terminal), and its result in words."""
    assert main(["invite", "--role", "admin", "--team", "东城", "--create-team"]) == 0
    capsys.readouterr()
    (env / "ledger.csv").write_bytes(_ledger(12_000))
    assert main(["import", "ledger.csv", "--team", "东城", "--progress"]) == 0
    captured = capsys.readouterr()
    assert "ledger.csv imported into team 东城: 12000 new, 0 updated, 0 unchanged" in captured.out
    assert "100%, 12,000 rows read" in captured.err
    assert "[" + "#" * 30 + "]" in captured.err
    # Not a terminal and no --progress: no bar.
    assert main(["import", "ledger.csv", "--team", "东城"]) == 0
    captured = capsys.readouterr()
    assert "0 new, 0 updated, 12000 unchanged" in captured.out
    assert captured.err == ""


def test_a_killed_import_leaves_the_database_as_it_was_and_nothing_behind(env, capsys):
    """Issue 17: `qingshou import` killed with SIGKILL in the middle of writing (batches
    already written inside its transaction) leaves the database as it was — integrity ok, no
    case or change of this import — and no 'pending' import row; the same import run again
    then goes through."""
    import os
    import signal
    import subprocess
    import sys
    import time

    assert main(["invite", "--role", "admin", "--team", "东城", "--create-team"]) == 0
    (env / "first.csv").write_bytes(_ledger(5))
    assert main(["import", "first.csv", "--team", "东城"]) == 0
    capsys.readouterr()
    db = env / "q.db"
    before = query_file(db, "SELECT contract_no, overdue_principal, import_id FROM cases")
    imports_before = query_file(db, "SELECT id, status FROM imports")
    assert len(before) == 5
    assert [status for _, status in imports_before] == ["applied"]
    (env / "big.csv").write_bytes(_ledger(60_000, amount=2000))

    with subprocess.Popen(
        [sys.executable, "-m", "bot", "import", "big.csv", "--team", "东城", "--progress"],
        cwd=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    ) as proc:
        assert proc.stderr is not None
        seen = b""
        deadline = time.monotonic() + 240
        # Killed once a batch has been written (the bar moves after each batch is written).
        while not re.search(rb"[1-9][\d,]* rows read", seen):
            assert time.monotonic() < deadline, seen
            chunk = os.read(proc.stderr.fileno(), 4096)
            assert chunk, f"the import ended before it could be killed: {seen!r}"
            seen += chunk
        assert b"100%" not in seen
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)

    assert query_file(db, "PRAGMA integrity_check") == [("ok",)]
    assert query_file(db, "SELECT contract_no, overdue_principal, import_id FROM cases") == before
    assert query_file(db, "SELECT id, status FROM imports") == imports_before
    assert query_file(db, "SELECT COUNT(*) FROM audit WHERE action = 'import'") == [(1,)]

    assert main(["import", "big.csv", "--team", "东城"]) == 0
    assert "big.csv imported into team 东城: 59995 new, 5 updated" in capsys.readouterr().out
    assert [s for _, s in query_file(db, "SELECT id, status FROM imports")] == ["applied"] * 2
