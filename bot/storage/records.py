"""What the storage returns (and the few things it takes): plain dataclasses, never rows.

Backend-neutral: every backend returns these same types. Times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = [
    "FLOW_END_STATUSES",
    "KEPT_UNTIL",
    "AuditEntry",
    "DueReminder",
    "FlowState",
    "FlowStatus",
    "ImportRecord",
    "ImportStatus",
    "InboxItem",
    "InboxUpdate",
    "NewOutboxMessage",
    "OutboxMessage",
    "Reminder",
    "ReminderBatch",
    "StepDue",
]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor_id: int | None
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewOutboxMessage:
    """A template message to queue in the outbox for ``user_id`` (its chat: ``chat_id``, else
    the user's Telegram id), rendered at send time in the reader's language. With a
    ``dedupe_key`` used before, nothing is written ("once per X" is a database rule)."""

    user_id: int | None
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    #: Not sent before this moment (None: at once).
    not_before: datetime | None = None
    chat_id: int | None = None
    #: InlineKeyboardMarkup.to_dict(), labels final.
    markup: dict[str, Any] | None = None
    #: 'text', 'photo' (``attachment`` with the rendered template as caption) or 'document'.
    media: str = "text"
    attachment: bytes | None = None
    filename: str | None = None
    dedupe_key: str | None = None
    group_key: str | None = None
    #: 0 interactive, 1 notification, 2 bulk (a lower number goes first).
    priority: int = 1

    def __post_init__(self) -> None:
        if self.media not in ("text", "photo", "document"):
            raise ValueError(f"outbox media must be text, photo or document, not {self.media!r}")
        if self.media != "text" and self.attachment is None:
            raise ValueError(f"an outbox {self.media} needs its attachment bytes")
        if self.user_id is None and self.chat_id is None:
            raise ValueError("an outbox message needs a user or a chat")
        if self.priority not in (0, 1, 2):
            raise ValueError(f"outbox priority is 0, 1 or 2, not {self.priority!r}")


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A row of the outbox (due now, claimed, or read back with get_outbox).

    ``kind == 'template'``: a message for ``user_id``, rendered at send time in their language
    (``locale``) from ``template`` and ``params``. ``kind == 'call'``: a Bot API call that could
    not be made in time (``method`` with ``payload``), to be made again for ``chat_id``;
    ``user_id``/``locale`` may be None and ``template`` ''. ``telegram_id`` is the chat the row
    goes to in both kinds (equal to ``chat_id``).
    """

    id: int
    user_id: int | None
    telegram_id: int
    locale: str | None
    template: str
    params: dict[str, Any]
    not_before: datetime
    attempts: int
    kind: str = "template"
    chat_id: int = 0
    method: str | None = None
    payload: dict[str, Any] | None = None
    #: 'text', 'photo' (``attachment`` with the rendered template as caption) or 'document'.
    media: str = "text"
    #: InlineKeyboardMarkup.to_dict(), labels final (sent as the row's reply_markup).
    markup: dict[str, Any] | None = None
    attachment: bytes | None = None
    filename: str | None = None
    dedupe_key: str | None = None
    group_key: str | None = None
    #: 0 interactive, 1 notification, 2 bulk (a lower number goes first).
    priority: int = 1
    #: Telegram's id of the sent message (edit it in place later), once sent.
    message_id: int | None = None
    sent_at: datetime | None = None
    dropped_at: datetime | None = None
    last_error: str | None = None


class ImportStatus:
    PENDING = "pending"
    APPLIED = "applied"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """An uploaded ledger file: pending (dry run shown), applied or cancelled."""

    id: int
    team_id: int | None
    team_name: str | None
    created_by: int | None
    created_at: datetime
    file_name: str
    data: bytes | None
    status: str
    summary: dict[str, int]


class FlowStatus:
    OPEN = "open"
    WAITING = "waiting"
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    DROPPED = "dropped"


#: The key, in a cancelled flow's data, of the time until which its draft is kept for a later
#: start (the person answered "Keep my answers" to /cancel); absent: not kept.
KEPT_UNTIL = "kept_until"

#: The statuses :meth:`end_flow` may set.
FLOW_END_STATUSES = frozenset(
    {FlowStatus.DONE, FlowStatus.CANCELLED, FlowStatus.EXPIRED, FlowStatus.DROPPED}
)


@dataclass(frozen=True, slots=True)
class FlowState:
    """One started multi-step exchange of one person (at most one 'open' and one 'waiting').

    ``version`` moves on with every change of step or status: a button or a replayed update
    carrying an older version changes nothing (compare-and-set). ``message_id`` is the Telegram
    message that asked the open question (None once the flow moved on). ``last_update_id`` is
    the latest Telegram update the flow acted on.
    """

    id: int
    user_id: int
    flow: str
    step: str
    data: dict[str, Any]
    case_id: int | None
    message_id: int | None
    version: int
    status: str
    last_update_id: int | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class InboxUpdate:
    """An update from Telegram as it is stored: its id, its chat (if any) and the raw JSON."""

    update_id: int
    chat_id: int | None
    payload: str


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A stored update not handled yet, read back (``attempts``: claims so far)."""

    update_id: int
    chat_id: int | None
    payload: str
    attempts: int
    received_at: datetime


@dataclass(frozen=True, slots=True)
class SendTurn:
    """The answer to a request for a place in the send window all replicas share: the place
    taken (release it once the call has answered), or when to ask again (``chat_held``: the
    chat is under Telegram's flood control until then), or ``behind_calls``."""

    place: int | None
    wait_until: datetime | None = None
    chat_held: bool = False
    #: The chat has used its pace: ``wait_until`` is when its next token comes.
    chat_paced: bool = False
    #: The chat has deferred calls waiting in the outbox: a reply must queue behind them.
    behind_calls: bool = False


@dataclass(frozen=True, slots=True)
class ReplicaRecord:
    """A bot process as it last reported itself (``seen_until``: alive until then)."""

    instance: str
    host: str
    pid: int
    started_at: datetime
    seen_until: datetime


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder row (issue 10): one per (instalment, kind), read back for tests and tools."""

    id: int
    instalment_id: int
    kind: str  # bot.domain.reminders.ReminderKind
    due_at: datetime
    status: str  # bot.domain.reminders.ReminderStatus
    collector_id: int | None
    outbox_id: int | None
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A reminder row the poller claimed (leased until ``lease_until``), with what its message
    shows. ``collector_id``: the case's lead at claim time, else the team's supervisor."""

    id: int
    kind: str
    due_at: datetime
    instalment_id: int
    instalment_status: str
    seq: int
    due_on: date  # local
    amount: int  # fen, the instalment's
    paid: int  # fen, paid against it so far
    case_id: int
    contract_no: str
    borrower: str
    collector_id: int
    locale: str | None  # the collector's language (None: the cooperative's default)
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class ReminderBatch:
    """One reminder message to queue for ``collector_id``, covering ``reminder_ids``: an outbox
    row (``template``/``params``/``markup``, once per ``dedupe_key``) and the rows marked queued
    in the same transaction; ``follow_ups``: instalments that become 'unconfirmed' if still
    'open'."""

    collector_id: int
    reminder_ids: tuple[int, ...]
    template: str
    params: dict[str, Any]
    markup: dict[str, Any] | None
    dedupe_key: str
    follow_ups: tuple[int, ...] = ()
    group_key: str | None = None


@dataclass(frozen=True, slots=True)
class StepDue:
    """The next step a case's latest meeting set, due by now (``/today``): what and when."""

    case_id: int
    borrower_name: str
    contract_no: str
    next_step: str | None
    next_on: date


@dataclass(frozen=True, slots=True)
class HeldFile:
    """A ledger file a person sent while another question was open (issue 16), kept to be
    offered once none is: its Telegram file id (downloaded on "Import"), name and size.
    ``status``: held (not offered yet), offered, imported or discarded."""

    id: int
    user_id: int
    file_id: str
    file_name: str
    file_size: int | None
    status: str
    created_at: datetime
