"""The backend-neutral stores: the use cases (an import, a commitment with its approval and
reminders, the digest, the outbox, ...) written once over a connector.

Each module is one aggregate's verbs as a mixin over :class:`bot.storage.stores.base.Engine`;
:class:`SqlStorage` composes them and implements :class:`bot.storage.protocol.Storage`. A
backend (``bot.storage.sqlite``, ``bot.storage.postgresql``) only adds how to open its connector.
"""

from __future__ import annotations

from bot.storage.stores.audit import SqlAudit
from bot.storage.stores.base import Engine, Migration, Tx, load_migrations, ts
from bot.storage.stores.cases import SqlCases
from bot.storage.stores.commitments import SqlCommitments
from bot.storage.stores.digest import SqlDigest
from bot.storage.stores.exports import SqlExports
from bot.storage.stores.flows import SqlFlows
from bot.storage.stores.inbox import SqlInbox
from bot.storage.stores.instalments import SqlInstalments
from bot.storage.stores.legal import SqlLegal
from bot.storage.stores.outbox import SqlOutbox
from bot.storage.stores.people import SqlPeople
from bot.storage.stores.preps import SqlPreps
from bot.storage.stores.queue import SqlQueue
from bot.storage.stores.reminders import SqlReminders
from bot.storage.stores.replicas import SqlReplicas

__all__ = ["Engine", "Migration", "SqlStorage", "Tx", "load_migrations", "ts"]


class SqlStorage(
    SqlPeople,
    SqlCases,
    SqlQueue,
    SqlPreps,
    SqlCommitments,
    SqlDigest,
    SqlInstalments,
    SqlReminders,
    SqlFlows,
    SqlInbox,
    SqlOutbox,
    SqlReplicas,
    SqlAudit,
    SqlExports,
    SqlLegal,
    Engine,
):
    """The application's storage over one connector (SQLite or PostgreSQL)."""
