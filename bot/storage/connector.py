"""What every backend's connector offers the stores: the thin layer between SQL and a driver.

The model is procrastinate's: a connector per backend (open, close, one transaction, execute,
fetch one / all, executemany), the SQL shared by the stores above it, and per-backend text
only where the dialects differ. The stores (:mod:`bot.storage.stores`) speak to nothing else.

Shared SQL is written in SQLite's dialect (``?`` / ``?N`` parameters, ``json_each``, ...):
the SQLite connector runs it as written, at full speed; the PostgreSQL connector translates
it once per statement text (:mod:`bot.storage.postgresql.dialect`). A statement no
translation covers is an :class:`Sql` with its own text per backend, beside the shared one.

A *program* (:data:`Program`) is a generator that yields statements and receives their
results: a batch with Python between its statements (the queue's sort keys). SQLite runs it
in one trip to its driver's thread; PostgreSQL awaits each statement. The same code, once.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, TypeVar

T = TypeVar("T")

#: An id out of a JSON list in shared SQL: ``c.id IN (SELECT {ID_VALUE} FROM json_each(?))``
#: (a no-op on SQLite, where json_each's value is already an integer; on PostgreSQL the list's
#: elements come as text and must be cast to compare with an id).
ID_VALUE = "CAST(value AS BIGINT)"

#: What a statement brings back: a row, all rows, what a write did, or nothing (executemany).
ONE, ALL, DONE, MANY = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class Sql:
    """A statement whose text differs per backend (the shared text is a plain ``str``)."""

    sqlite: str
    postgresql: str

    def for_dialect(self, dialect: str) -> str:
        return self.postgresql if dialect == "postgresql" else self.sqlite


#: A statement's text: shared, or one per backend.
Text: TypeAlias = str | Sql


@dataclass(frozen=True, slots=True)
class Done:
    """What a write statement did (the cursor itself never leaves the connector).

    ``lastrowid`` is SQLite's alone (0 on PostgreSQL): shared code asks ``RETURNING id``."""

    lastrowid: int
    rowcount: int


@dataclass(frozen=True, slots=True)
class Stmt:
    """One statement a program yields: its text, parameters and what it wants back."""

    sql: Text
    params: Any = ()
    want: int = DONE


#: A generator of statements, each sent its result; its return value is the program's.
Program: TypeAlias = Generator[Stmt, Any, T]


def one(sql: Text, params: Sequence[Any] = ()) -> Stmt:
    return Stmt(sql, params, ONE)


def all_(sql: Text, params: Sequence[Any] = ()) -> Stmt:
    return Stmt(sql, params, ALL)


def done(sql: Text, params: Sequence[Any] = ()) -> Stmt:
    return Stmt(sql, params, DONE)


def many(sql: Text, rows: Iterable[Sequence[Any]]) -> Stmt:
    return Stmt(sql, rows, MANY)


def drive(program: Program[T], run: Callable[[Stmt], Any]) -> T:
    """Run ``program`` synchronously, each statement through ``run`` (an error is thrown into
    the program, which may roll back and re-raise)."""
    try:
        stmt = next(program)
        while True:
            try:
                result = run(stmt)
            except BaseException as exc:
                stmt = program.throw(exc)
                continue
            stmt = program.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value


class ConnectorTx(Protocol):
    """The statements of one open transaction."""

    dialect: str

    async def execute(self, sql: Text, params: Sequence[Any] = ()) -> Done: ...
    async def executemany(self, sql: Text, params: Iterable[Sequence[Any]]) -> None: ...
    async def fetchone(self, sql: Text, params: Sequence[Any] = ()) -> Any: ...
    async def fetchall(self, sql: Text, params: Sequence[Any] = ()) -> list[Any]: ...
    async def run(self, program: Program[T]) -> T: ...
    async def executescript_in_tx(self, script: str) -> None: ...


__all__ = [
    "ALL",
    "DONE",
    "ID_VALUE",
    "MANY",
    "ONE",
    "ConnectorTx",
    "Done",
    "Program",
    "Sql",
    "Stmt",
    "Text",
    "all_",
    "done",
    "drive",
    "many",
    "one",
]
