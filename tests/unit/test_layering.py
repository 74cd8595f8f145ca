"""Who may import what: the SQLite driver stays inside ``bot/storage``, and the bot's layers
hold (domain <- storage <- flows and the Telegram wire <- handlers and reminders <- app, with no
import cycle: see "the layers" below).

Nothing else imports ``sqlite3`` or ``aiosqlite``: not the application, nor the tests, nor the
benchmarks. A test or a benchmark that needs the database file from outside (a pragma, a row
seeded by SQL, a million of them) goes through ``bot.storage.testing``, which translates the
driver's errors like the storage itself does.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

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


# -- the layers ---------------------------------------------------------------------------------
#
# Lowest first; a module imports its own layer and the layers below, never one above:
#
#   domain (pure rules)  <-  storage  <-  flows and the Telegram wire (the rest of bot/: the flow
#   engine, routes, labels, rendering, the outbox's wire)  <-  handlers and reminders  <-  app
#
# Handlers and reminders are one layer side by side: neither imports the other, and no handler
# imports another handler (``handlers/__init__.py``, the registration, imports them all). What
# two of them share lives a layer down. No import cycle anywhere, imports inside functions
# included; only imports under ``if TYPE_CHECKING:`` (never run) are left out.

#: The project's own packages (the emulator's top-level package too, once it has one).
PACKAGES = ("bot", "handlers", "reminders", "tgemu")
#: Layer name -> the modules in it, by prefix; the longest prefix that fits decides.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("domain", ("bot.domain",)),
    ("storage", ("bot.storage",)),
    ("flows and the Telegram wire", ("bot",)),
    ("handlers and reminders", ("handlers", "reminders")),
    ("app", ("bot.app", "bot.cli", "bot.__main__", "bot.sandbox", "bot.demo", "bot.runner")),
)
#: Test tools with no part in the bot: they import nothing of it, and only the app imports them.
STANDALONE = ("bot.emulator", "tgemu")
#: Libraries a layer must not reach for: the domain is pure, storage knows no Telegram.
FORBIDDEN = {
    "domain": frozenset({"telegram", "sqlite3", "aiosqlite", "jinja2"}),
    "storage": frozenset({"telegram", "jinja2"}),
}
#: Where a callback route may be declared: one module for the bot, and the flow engine's own
#: three (answer, ✖, continue / drop) beside it, until the engine's split settles.
ROUTE_MODULES = ("bot.routes",)


@dataclass(frozen=True)
class Imported:
    """One import statement's edge: ``source`` imports ``target`` at ``line``."""

    source: str
    target: str
    line: int
    in_function: bool

    def __str__(self) -> str:
        where = ", inside a function" if self.in_function else ""
        return f"{self.source} -> {self.target} (line {self.line}{where})"


def project_modules(root: Path, packages: Sequence[str] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``packages`` under ``root``."""
    found: dict[str, Path] = {}
    for package in packages:
        if not (root / package).is_dir():
            continue
        for path in python_files(root / package):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Every import of a module, with whether it runs inside a function; none under
    ``if TYPE_CHECKING:``."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []
        self.functions = 0

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions += 1
        self.generic_visit(node)
        self.functions -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self.functions > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self.functions > 0))


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of the project's modules."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def import_graph(known: dict[str, Path]) -> tuple[list[Imported], dict[str, set[str]]]:
    """The project's imports between its own modules, and each module's outside imports (top
    names: ``telegram``, ``jinja2``...)."""
    edges: list[Imported] = []
    outside: dict[str, set[str]] = {name: set() for name in known}
    for source, path in known.items():
        collector = _Imports()
        collector.visit(ast.parse(path.read_bytes(), filename=str(path)))
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node, in_function in collector.found:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                         for alias in node.names]  # fmt: skip
            for name in names:
                target = _resolve(name, known)
                if target is None:
                    outside[source].add(name.partition(".")[0])
                elif target != source:
                    edges.append(Imported(source, target, node.lineno, in_function))
    return list(dict.fromkeys(edges)), outside


def cycles(edges: Sequence[Imported]) -> list[tuple[list[str], list[Imported]]]:
    """Each group of modules that import each other, with one cycle through it (its edges)."""
    graph: dict[str, list[Imported]] = {}
    for edge in edges:
        graph.setdefault(edge.source, []).append(edge)
        graph.setdefault(edge.target, [])
    # Tarjan's strongly connected components, iteratively (no recursion limit to meet).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            out = graph[node]
            if i < len(out):
                work.append((node, i + 1))
                nxt = out[i].target
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return [(sorted(group), _cycle_in(group, graph)) for group in groups]


def _cycle_in(group: set[str], graph: dict[str, list[Imported]]) -> list[Imported]:
    """A shortest way from the group's first module back to itself, inside the group."""
    first = min(group)
    came: dict[str, Imported] = {}
    frontier = [first]
    while frontier:
        following = []
        for node in frontier:
            for edge in graph[node]:
                if edge.target not in group or edge.target in came:
                    continue
                came[edge.target] = edge
                if edge.target == first:
                    path = [edge]
                    while path[0].source != first:
                        path.insert(0, came[path[0].source])
                    return path
                following.append(edge.target)
        frontier = following
    raise AssertionError(f"no cycle through {first}")  # pragma: no cover - a group has one


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> int | None:
    """The index in :data:`LAYERS` of ``module``'s layer; ``None`` outside every layer."""
    best: tuple[int, int] | None = None
    for rank, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if _within(module, prefix) and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    return None if best is None else best[0]


def _standalone(module: str) -> str | None:
    return next((p for p in STANDALONE if _within(module, p)), None)


def _is_handler(module: str) -> bool:
    return _within(module, "handlers") and module != "handlers"


def layer_offences(edges: Sequence[Imported], outside: dict[str, set[str]]) -> list[str]:
    """Every import that breaks the layering, as a sentence naming both ends."""
    found = []
    for edge in edges:
        source, target = edge.source, edge.target
        alone = _standalone(source)
        if alone is not None:
            if not _within(target, alone):
                found.append(f"{edge}: a test tool imports the bot")
            continue
        if _standalone(target) is not None:
            if layer_of(source) != len(LAYERS) - 1:
                found.append(f"{edge}: only the app imports a test tool")
            continue
        low, high = layer_of(source), layer_of(target)
        if low is None or high is None:
            found.append(f"{edge}: a module outside every layer (name its layer in LAYERS)")
        elif high > low:
            found.append(f"{edge}: {LAYERS[low][0]} imports {LAYERS[high][0]}, a layer above")
        elif _is_handler(source) and _within(target, "handlers"):
            found.append(f"{edge}: a handler imports another handler")
        elif _within(source, "reminders") and _within(target, "handlers"):
            found.append(f"{edge}: reminders import a handler")
        elif _within(source, "handlers") and _within(target, "reminders"):
            found.append(f"{edge}: a handler imports reminders")
    for module, names in sorted(outside.items()):
        rank = layer_of(module)
        if rank is None or _standalone(module):
            continue
        for name in sorted(names & FORBIDDEN.get(LAYERS[rank][0], frozenset())):
            found.append(f"{module} -> {name}: {LAYERS[rank][0]} may not import {name}")
    return found


def route_declarations(known: dict[str, Path]) -> list[str]:
    """``module:line`` of each ``callbacks.route(...)`` call outside :data:`ROUTE_MODULES`."""
    found = []
    for module, path in sorted(known.items()):
        if module == "bot.callbacks" or any(_within(module, m) for m in ROUTE_MODULES):
            continue
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "route"
                    and isinstance(func.value, ast.Name) and func.value.id == "callbacks") or (
                    isinstance(func, ast.Name) and func.id == "route"):  # fmt: skip
                found.append(f"{module}:{node.lineno}")
    return found


@pytest.fixture(scope="module")
def graph() -> tuple[list[Imported], dict[str, set[str]]]:
    return import_graph(project_modules(ROOT))


def test_no_import_cycle_not_even_through_an_import_inside_a_function(graph):
    edges, _outside = graph
    found = cycles(edges)
    listed = "\n\n".join(
        f"{', '.join(group)} import each other; one cycle:\n" + "\n".join(f"  {e}" for e in cycle)
        for group, cycle in found
    )
    assert found == [], f"import cycles:\n{listed}"


def test_each_layer_imports_only_itself_and_the_layers_below(graph):
    offences = layer_offences(*graph)
    listed = "\n".join(offences)
    assert offences == [], f"imports against the layers:\n{listed}"


def test_no_handler_imports_another_and_reminders_import_no_handler(graph):
    edges, _outside = graph
    crossing = [
        str(e)
        for e in edges
        if (_is_handler(e.source) and _within(e.target, "handlers"))
        or (_within(e.source, "reminders") and _within(e.target, "handlers"))
    ]
    assert crossing == [], "\n".join(crossing)


def test_every_callback_route_is_declared_in_the_routes_module():
    found = route_declarations(project_modules(ROOT))
    assert found == [], f"routes declared outside {ROUTE_MODULES}: {found}"


def test_the_graph_sees_every_package_and_the_registration():
    known = project_modules(ROOT)
    assert {"bot", "bot.domain.dates", "bot.storage.sqlite.connector", "handlers", "handlers.cases",
            "reminders", "reminders.due", "bot.app"} <= set(known)  # fmt: skip
    assert all(layer_of(m) is not None or _standalone(m) for m in known), [
        m for m in known if layer_of(m) is None and not _standalone(m)
    ]


def _project(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return project_modules(tmp_path, ("bot", "handlers", "reminders"))


def test_the_checker_finds_a_cycle_through_an_import_inside_a_function(tmp_path):
    known = _project(tmp_path, {
        "bot/__init__.py": "",
        "handlers/__init__.py": "from handlers import a, b\n",
        "handlers/a.py": "from handlers.b import X\n",
        "handlers/b.py": "X = 1\ndef f():\n    from handlers import a\n",
        "handlers/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                         "    from handlers.a import X\n",
    })  # fmt: skip
    edges, _outside = import_graph(known)
    [(group, cycle)] = cycles(edges)
    assert group == ["handlers.a", "handlers.b"]
    assert [str(e) for e in cycle] == [
        "handlers.a -> handlers.b (line 1)",
        "handlers.b -> handlers.a (line 3, inside a function)",
    ]
    assert not [e for e in edges if e.source == "handlers.c"]  # TYPE_CHECKING: never runs


def test_the_checker_names_each_kind_of_offence(tmp_path):
    known = _project(tmp_path, {
        "bot/__init__.py": "",
        "bot/domain/__init__.py": "",
        "bot/domain/rules.py": "import telegram\nfrom bot import flows\n",
        "bot/flows.py": "from ..domain import rules\n",
        "bot/emulator/__init__.py": "from bot.flows import x\n",
        "handlers/__init__.py": "from handlers import a, b\n",
        "handlers/a.py": "from reminders import job\n",
        "handlers/b.py": "from . import a\nimport bot.emulator\n",
        "reminders/__init__.py": "",
        "reminders/job.py": "def f():\n    import handlers.a\n",
    })  # fmt: skip
    edges, outside = import_graph(known)
    assert sorted(layer_offences(edges, outside)) == sorted([
        "bot.domain.rules -> bot.flows (line 2): domain imports flows and the Telegram wire,"
        " a layer above",
        "bot.emulator -> bot.flows (line 1): a test tool imports the bot",
        "handlers.a -> reminders.job (line 1): a handler imports reminders",
        "handlers.b -> handlers.a (line 1): a handler imports another handler",
        "handlers.b -> bot.emulator (line 2): only the app imports a test tool",
        "reminders.job -> handlers.a (line 2, inside a function): reminders import a handler",
        "bot.domain.rules -> telegram: domain may not import telegram",
    ])  # fmt: skip
