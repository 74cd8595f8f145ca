"""Running the emulator standalone (``python -m tgemu`` / the ``qingshou emulator`` CLI)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from tgemu.server import Emulator, EmulatorStartError
from tgemu.state import EmulatorConfig

log = logging.getLogger(__name__)


class BotSpec(NamedTuple):
    """A bot to register at start-up."""

    token: str
    username: str = "qingshou_bot"
    first_name: str = "清收"


async def serve(
    config: EmulatorConfig | None = None,
    bots: Sequence[BotSpec | tuple[str, str, str]] = (),
    users: Sequence[str] = (),
    on_ready: Callable[[Emulator], None] | None = None,
) -> None:
    """Run an emulator until cancelled (Ctrl-C), with the given bots and users registered.

    Raises :class:`~tgemu.server.EmulatorStartError` (one printable line) when the port
    is busy or the address is beyond loopback without ``allow_remote``.
    """
    emulator = Emulator(config)
    for spec in bots:
        emulator.add_bot(*spec)
    for name in users:
        emulator.add_user(first_name=name)
    await emulator.start()
    try:
        if on_ready is not None:
            on_ready(emulator)
        else:
            log.info("Telegram Bot API emulator listening on %s", emulator.url)
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m tgemu", description="Local Telegram Bot API emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host beyond loopback (no login: anyone reaching it can act as anyone)",
    )
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456789:EMULATOR-local-token")
    parser.add_argument("--username", default="qingshou_bot")
    parser.add_argument("--first-name", default="清收")
    parser.add_argument("--user", action="append", default=[], help="create a user (repeatable)")
    parser.add_argument("--no-rate-limits", action="store_true", help="for benchmarks")
    args = parser.parse_args(argv)
    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        rate_limits=not args.no_rate_limits,
        allow_remote=args.allow_remote,
    )

    def ready(emulator: Emulator) -> None:
        print(f"emulator: {emulator.url}  (control API: {emulator.url}/control)", flush=True)
        print(f"base_url={emulator.api_base_url}  base_file_url={emulator.file_base_url}")
        for user in emulator.users.values():
            print(f"user {user.id}: {user.first_name}")

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                serve(
                    config, [BotSpec(args.token, args.username, args.first_name)], args.user, ready
                )
            )
    except EmulatorStartError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
