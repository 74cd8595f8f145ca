"""The first ``make run`` installs the project quietly.

A directory under a package that is not itself in the package list (``templates/cases``,
``bot/storage/migrations``) makes setuptools print a forty-line warning for each, hundreds of
lines before the sandbox's address. Packages are found, not listed, so no directory is left out.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]
TOP = ("bot", "handlers", "reminders", "templates", "tgemu")


def test_every_directory_that_ships_files_is_a_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    setup = config["setuptools"]
    assert "packages" not in setup or isinstance(setup["packages"], dict)
    include = setup["packages"]["find"]["include"]
    found = set(find_namespace_packages(where=str(ROOT), include=include))
    shipped = {
        ".".join(d.relative_to(ROOT).parts)
        for top in TOP
        for d in [ROOT / top, *(ROOT / top).rglob("*")]
        if d.is_dir() and d.name != "__pycache__" and any(f.is_file() for f in d.iterdir())
    }
    assert shipped - found == set()
    assert not {p for p in found if not p.startswith(TOP)}


def test_httpcore_finds_sniffio_instead_of_failing_an_import_on_every_request():
    """Issue 17: without sniffio, httpcore's current_async_library() tried ``import sniffio``
    on every Bot API call (a failed import is not cached: ~170 µs each)."""
    import importlib.util
    import tomllib

    assert importlib.util.find_spec("sniffio") is not None
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(d.startswith("sniffio") for d in pyproject["project"]["dependencies"])
