"""A child process for work the event loop must not wait on, talked to through a pipe.

The idea of the import's reader (:mod:`bot.imports`), kept in one small place for the export's
writer (:mod:`bot.xlsx_writer`): the child is forked from a clean fork server (or spawned;
never a plain fork of the bot, which has threads, an event loop and database handles), runs
behind the bot for the CPU (``nice``) under a memory cap, and every call that could block —
starting it, sending to it, waiting for its answer — runs in a worker thread, so the loop only
awaits. Leaving :class:`Child`'s ``async with`` any way but :meth:`Child.finish` (an error, a
cancellation) kills the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

__all__ = ["CHILD_NICENESS", "Child", "ChildGone", "calm_child", "process_context"]

#: How much lower than the bot a child runs: it takes the CPU the bot leaves, not the reverse.
CHILD_NICENESS = 10

#: What the fork server imports once, so a child costs no interpreter start-up and no imports.
#: Both children's modules: the server is one per process, started by whichever comes first.
PRELOAD = ("bot.imports", "bot.xlsx_writer")


def process_context(preload: Sequence[str] = PRELOAD) -> ForkServerContext | SpawnContext:
    """Fork server where there is one (Linux, macOS), else spawn; never a fork of the bot."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context("spawn")


def calm_child(memory_bytes: int | None, niceness: int = CHILD_NICENESS) -> None:
    """In the child, first: behind the bot for the CPU, and at most ``memory_bytes``."""
    with contextlib.suppress(AttributeError, OSError):  # no nice() on this platform
        os.nice(niceness)
    if memory_bytes is not None:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        except (ImportError, ValueError, OSError):  # not on this platform
            pass


class ChildGone(Exception):
    """The child ended without its answer: it crashed, was killed or could not start.
    ``detail`` is its traceback when it sent one."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or "the child process ended without an answer")
        self.detail = detail


class Child:
    """``target(conn, *args)`` in a child process, with ``conn`` the child's end of a duplex
    pipe. The child answers ``("ok", value)`` once at the end, or ``("crash", traceback)``."""

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], *, name: str) -> None:
        self._target = target
        self._args = args
        self._name = name
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._done = False

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self._start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._done:
            self.kill()
        # Reaping takes a moment; a cancelled task must not wait for it on the loop.
        await asyncio.shield(asyncio.to_thread(self._reap))

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _start(self) -> None:
        context = process_context()
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(
            target=self._target, args=(theirs, *self._args), name=self._name, daemon=True
        )
        try:
            process.start()
        except OSError as exc:  # the fork server was killed: the next child starts a new one
            ours.close()
            theirs.close()
            raise ChildGone(f"could not start {self._name}: {exc}") from None
        finally:
            theirs.close()
        self._process, self._conn = process, ours

    async def send(self, make: Callable[[], Any]) -> None:
        """Send what ``make()`` returns, both in a worker thread (building the message and
        pickling it are work too). Blocks while the child is behind: the pipe is the queue."""
        await asyncio.to_thread(self._send, make)

    def _send(self, make: Callable[[], Any]) -> None:
        assert self._conn is not None
        message = make()
        try:
            self._conn.send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            del message
            raise self._gone() from None

    async def finish(self) -> Any:
        """Wait for the child's answer; its value, or :class:`ChildGone`."""
        answer = await asyncio.to_thread(self._answer)
        self._done = True
        return answer

    def _answer(self) -> Any:
        assert self._conn is not None
        try:
            answer = self._conn.recv()
        except (EOFError, OSError):
            raise self._gone() from None
        if answer[0] == "ok":
            return answer[1]
        raise ChildGone(str(answer[1]))

    def _gone(self) -> ChildGone:
        """Why the child stopped listening: its last words if it sent any."""
        assert self._conn is not None
        with contextlib.suppress(EOFError, OSError):
            if self._conn.poll(1.0):
                answer = self._conn.recv()
                if answer[0] == "crash":
                    return ChildGone(str(answer[1]))
        code = None if self._process is None else self._process.exitcode
        return ChildGone(f"{self._name} ended (exit code {code}) without an answer")

    def kill(self) -> None:
        """Stop the child now (it may be blocked writing, or not listening at all)."""
        if self._process is not None and self._process.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self._process.kill()

    def _reap(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                log.warning("%s did not end in time; killing it", self._name)
                self._process.kill()
                self._process.join(5)
