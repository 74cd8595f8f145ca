"""Several bot processes (replicas) on one database: who is who, and who is alive.

Each replica has a stable name (``Settings.instance``, QINGSHOU_INSTANCE) that it writes on
every lease it takes, so that, restarted after a crash, it takes back at once what it held
(``take_back_leases``) instead of waiting for those leases to run out. Two live processes
under one name would each take the other's leases for their own: the second is refused at
start-up. A replica reports itself alive every :data:`BEAT` (the clock job in
:mod:`reminders`); a report older than :data:`ALIVE` is a replica that is gone.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import ConfigError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.storage import Storage

log = logging.getLogger(__name__)

BEAT = timedelta(seconds=5)
ALIVE = timedelta(seconds=15)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def register_replica(storage: Storage, settings: Settings) -> None:
    """Report this process as ``settings.instance``; refuse to start when another live process
    already runs under that name (on this host: its pid is alive; elsewhere: it reported
    itself within :data:`ALIVE`)."""
    now = datetime.now(UTC)
    host, pid = socket.gethostname(), os.getpid()
    seen = await storage.get_replica(settings.instance)
    if seen is not None and seen.seen_until > now and (seen.host, seen.pid) != (host, pid):
        twin = _pid_alive(seen.pid) if seen.host == host else True
        if twin:
            raise ConfigError(
                f"QINGSHOU_INSTANCE: another process ({seen.host}, pid {seen.pid}) runs as "
                f"{settings.instance!r} on this database; give each replica its own name "
                f"(or, if that process was killed on another machine, start again after "
                f"{int((seen.seen_until - now).total_seconds()) + 1} s)"
            )
    await storage.beat_replica(settings.instance, host=host, pid=pid, now=now, until=now + ALIVE)


async def beat(storage: Storage, settings: Settings) -> None:
    """This replica is alive (the clock job every :data:`BEAT`)."""
    now = datetime.now(UTC)
    await storage.beat_replica(
        settings.instance, host=socket.gethostname(), pid=os.getpid(), now=now, until=now + ALIVE
    )
