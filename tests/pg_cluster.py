"""A throwaway PostgreSQL 15 cluster for the tests: initdb in a temporary directory, the server
on a Unix socket there (no TCP port), stopped at the end.

``initdb`` and ``postgres`` refuse to run as root, and CI runs as root: then both run as the
``postgres`` system user (``runuser -u postgres --``). One cluster per pytest-xdist worker (each
its own directory and socket). A migrated *template* database is made once; each test gets a
fresh database copied from it (``CREATE DATABASE ... TEMPLATE``: a file copy, milliseconds).
Without the binaries, :func:`missing` says why and the PostgreSQL tests skip with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BIN_DIRS = (os.environ.get("QINGSHOU_PG_BIN", ""), "/usr/lib/postgresql/15/bin")
TEMPLATE = "qingshou_template"
_counter = itertools.count(1)


def pg_bin() -> Path | None:
    for d in BIN_DIRS:
        if d and (Path(d) / "postgres").exists() and (Path(d) / "initdb").exists():
            return Path(d)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def missing() -> str | None:
    """Why no cluster can be started here, or None."""
    if pg_bin() is None:
        return "PostgreSQL binaries not found (install Debian's postgresql, or set QINGSHOU_PG_BIN)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start postgres as the postgres user"
    return None


class Cluster:
    """One running server; :meth:`fresh_url` gives a new database migrated to the latest."""

    def __init__(self) -> None:
        bindir = pg_bin()
        assert bindir is not None, missing()
        self.bin = bindir
        self.root = Path(tempfile.mkdtemp(prefix="qingshou-pg-"))
        self.data = self.root / "data"
        self.sock = self.root  # the socket lives beside the data directory
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload,no-any-return]

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.root / "log"),
            "-o",
            f"-k {self.sock} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db: str) -> str:
        return f"postgresql://postgres@/{db}?host={self.sock}"

    def psql(self, sql: str, db: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True) as conn:
            conn.execute(sql.encode())

    def make_template(self) -> None:
        """The template every test's database is copied from: migrated once."""
        from bot.storage.postgresql import PostgresStorage

        self.psql(f"CREATE DATABASE {TEMPLATE}")

        async def migrate() -> None:
            s = await PostgresStorage.open(self.url(TEMPLATE), now=datetime(2026, 1, 1, tzinfo=UTC))
            await s.close()

        asyncio.run(migrate())

    def fresh_url(self, *, migrated: bool = True) -> str:
        """A new database (the migrated template's copy, or empty) and its URL."""
        name = f"t{os.getpid()}_{next(_counter)}"
        self.psql(
            f"CREATE DATABASE {name}"
            + (f" TEMPLATE {TEMPLATE} STRATEGY FILE_COPY" if migrated else "")
        )
        return self.url(name)


def start_cluster() -> Cluster:
    cluster = Cluster()
    try:
        cluster.start()
        cluster.make_template()
    except BaseException:
        cluster.stop()
        raise
    return cluster
