"""The SQLite driver stays inside ``bot/storage``.

Nothing else imports ``sqlite3`` or ``aiosqlite``: not the application, nor the tests, nor the
benchmarks. A test or a benchmark that needs the database file from outside (a pragma, a row
seeded by SQL, a million of them) goes through ``bot.storage.testing``, which translates the
driver's errors like the storage itself does.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = frozenset({"sqlite3", "aiosqlite"})
#: Directories that are not the project's source: environments, build output, caches.
SKIPPED = frozenset(
    {".git", ".venv", "venv", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache",
     ".pytest_cache", "node_modules"}
)  # fmt: skip
#: Where the driver belongs.
ALLOWED = Path("bot", "storage")


def python_files(root: Path) -> Iterator[Path]:
    """Every ``.py`` file under ``root`` outside :data:`SKIPPED` and ``bot/storage``."""
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(
            d
            for d in subdirs
            if d not in SKIPPED
            and not d.endswith(".egg-info")
            and (here / d).relative_to(root) != ALLOWED
        )
        yield from (here / f for f in sorted(files) if f.endswith(".py"))


def driver_imports(path: Path, root: Path) -> list[str]:
    """``file:line`` of each import of a driver module in ``path`` (``import sqlite3``,
    ``import sqlite3.dbapi2``, ``from aiosqlite import ...``, anywhere in the file)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    where = path.relative_to(root).as_posix()
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name) for name in names if _top(name) in DRIVERS]
    return [f"{where}:{line}: {name}" for line, name in sorted(found)]


def _top(module: str) -> str:
    return module.partition(".")[0]


def test_no_sqlite_driver_is_imported_outside_bot_storage():
    offenders = [hit for path in python_files(ROOT) for hit in driver_imports(path, ROOT)]
    listed = "\n".join(offenders)
    assert offenders == [], f"the SQLite driver is imported outside bot/storage:\n{listed}"


def test_the_walk_sees_the_tests_and_benchmarks_but_not_bot_storage():
    seen = {p.relative_to(ROOT).as_posix() for p in python_files(ROOT)}
    assert {"bench/seed.py", "tests/e2e/test_digest.py", "bot/app.py"} <= seen
    assert not {p for p in seen if p.startswith(("bot/storage/", ".venv/"))}


def test_every_form_of_the_import_is_found(tmp_path):
    (tmp_path / "a.py").write_text(
        "import os, sqlite3\n"
        "from sqlite3 import connect\n"
        "def f():\n"
        "    import aiosqlite.core as core\n"
        "    from aiosqlite import connect\n"
        "import sqlite3_utils\n"
        "from .sqlite3 import x\n",
        encoding="utf-8",
    )
    assert driver_imports(tmp_path / "a.py", tmp_path) == [
        "a.py:1: sqlite3",
        "a.py:2: sqlite3",
        "a.py:4: aiosqlite.core",
        "a.py:5: aiosqlite",
    ]
