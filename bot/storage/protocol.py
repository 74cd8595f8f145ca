"""The storage interface: what handlers, reminders, the CLI and the sandbox may ask of storage.

One ``Protocol`` per aggregate, and :class:`Storage` composing them with ``close``. Any backend
(SQLite today, PostgreSQL later) implements all of them and passes ``tests/contract``; open one
with :func:`bot.storage.open_storage`. All times are aware UTC datetimes, in and out. Failures
are :mod:`bot.storage.errors`, never a driver's exception. Methods are verbs and return the
dataclasses of :mod:`bot.storage.records` and :mod:`bot.domain`, never rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol

from bot.domain.casefile import CaseFile, CaseSummary, LeadChange, LeadReason, PrepRecord
from bot.domain.cases import CaseStatus, RelatedParty
from bot.domain.commitments import (
    Approval,
    ApprovalReason,
    ApprovalStatus,
    Commitment,
    Meeting,
    NewCommitment,
    NewMeeting,
    NewPayment,
)
from bot.domain.digest import (
    BrokenItem,
    CaseItem,
    CooperativeDigest,
    Counted,
    DigestDay,
    DigestMessage,
    DigestRecipient,
    DigestSettings,
    DrillDown,
    LegalItem,
    TeamDigest,
)
from bot.domain.importing import BatchPlan, CollectorRef, ImportPlan, StagedRow, StoredCase
from bot.domain.instalments import Answer, Answered, InstalmentView
from bot.domain.ledger import LedgerField
from bot.domain.legal import (
    DocumentKind,
    GuaranteeKind,
    GuarantorFacts,
    LegalDocument,
    LegalFacts,
)
from bot.domain.people import DEFAULT_INVITE_TTL, Invite, InviteProblem, Role, Team, User
from bot.domain.prep import PrepAnswers, UrgencyFromPrep
from bot.domain.queue import DAILY_CAPACITY, PAGE_SIZE, Page
from bot.domain.reminders import ReminderPolicy
from bot.domain.urgency import Deterioration
from bot.storage.export_records import (
    ExportApproval,
    ExportCase,
    ExportClock,
    ExportCommitment,
    ExportInstalment,
    ExportMeeting,
    ExportPayment,
    ExportPeriod,
)
from bot.storage.records import (
    AuditEntry,
    DueReminder,
    FlowState,
    HeldFile,
    ImportRecord,
    InboxItem,
    InboxUpdate,
    NewOutboxMessage,
    OutboxMessage,
    Reminder,
    ReminderBatch,
    ReplicaRecord,
    SendTurn,
    StepDue,
)

__all__ = [
    "APPROVAL_ID",
    "COMMITMENT_ID",
    "AuditStore",
    "CaseStore",
    "CommitmentStore",
    "DigestStore",
    "ExportStore",
    "FlowStore",
    "InboxStore",
    "InstalmentStore",
    "LegalStore",
    "OutboxCall",
    "OutboxStore",
    "PeopleStore",
    "PrepStore",
    "ReminderStore",
    "ReplicaStore",
    "Storage",
]


class PeopleStore(Protocol):
    """Teams, people (roles, languages, switched off, blocked) and one-time invites."""

    async def ensure_team(self, name: str, *, now: datetime, actor_id: int | None = None) -> Team:
        """The team called ``name``, created (and audited) if it does not exist yet."""

    async def find_team(self, name: str) -> Team | None: ...

    async def get_team(self, team_id: int) -> Team | None: ...

    async def list_teams(self) -> list[Team]: ...

    async def get_user_by_telegram_id(self, telegram_id: int) -> User | None: ...

    async def get_user(self, user_id: int) -> User | None: ...

    async def list_users(self, *, team_id: int | None = None) -> list[User]:
        """Everyone (admins' view), or one team's members (a supervisor's view)."""

    async def ensure_admins(self, telegram_ids: Iterable[int], *, now: datetime) -> None:
        """Make the operator's ``QINGSHOU_ADMINS`` admins (existing users are promoted)."""

    async def add_user(
        self,
        *,
        telegram_id: int,
        name: str,
        role: Role,
        team_id: int | None,
        now: datetime,
        actor_id: int | None = None,
        locale: str | None = None,
        staff_name: str | None = None,
    ) -> User:
        """Register someone directly (the sandbox's demo people, tests)."""

    async def update_profile(
        self, user_id: int, *, name: str, username: str | None, telegram_locale: str | None
    ) -> None:
        """Keep the name and language Telegram reports (not audited: nobody decided it)."""

    async def set_locale(self, user_id: int, locale: str, *, now: datetime) -> None: ...

    async def set_active(
        self, user_id: int, active: bool, *, actor_id: int | None, now: datetime
    ) -> User:
        """Deactivate or reactivate a user; returns the user as stored afterwards."""

    async def set_blocked(self, telegram_id: int, blocked: bool, *, now: datetime) -> bool:
        """Record that a user blocked (or unblocked) the bot; True if that changed anything."""

    async def team_collectors(self, team_id: int) -> list[User]:
        """Active collectors of a team, by name (the assign buttons)."""

    async def create_invite(
        self,
        *,
        role: Role,
        team_id: int | None,
        created_by: int | None,
        now: datetime,
        ttl: timedelta = DEFAULT_INVITE_TTL,
        staff_name: str | None = None,
        key: str | None = None,
    ) -> Invite:
        """A fresh one-time invite. Supervisors and collectors must belong to a team."""

    async def get_invite(self, code: str) -> Invite | None: ...

    async def redeem_invite(
        self,
        code: str,
        *,
        telegram_id: int,
        name: str,
        username: str | None,
        telegram_locale: str | None,
        now: datetime,
    ) -> User | InviteProblem:
        """Join with ``code``: checks and uses the invite and creates the user atomically."""


class ImportSink(Protocol):
    """One import in progress (:meth:`CaseStore.importing`)."""

    import_id: int | None

    async def collectors(self) -> list[CollectorRef]:
        """The team's active collectors, as the import's transaction sees them."""

    async def known_lines(self, today: date) -> str:
        """The raw fingerprints (``StagedRow.raw_hash``) of the team's cases whose line, read
        again on ``today``, would leave them unchanged: each case has a lead (the collector
        cell is then not read) and an overdue date not after ``today``. One string, the
        fixed-width (``LINE_HASH_WIDTH``) digests end to end: sent whole to the reader."""

    async def add(
        self, rows: Sequence[StagedRow], *, key_field: LedgerField, has_collector_column: bool
    ) -> BatchPlan:
        """Plan a batch against the cases it names (and write it, when the import writes)."""

    async def keep(self, keys: Sequence[str]) -> None:
        """The cases of lines known unchanged (not parsed): when the import writes, marked
        as imported by it, as an unchanged row of :meth:`add` is."""

    async def finish(
        self, *, keys: Sequence[str], columns: Mapping[LedgerField, str], summary: dict[str, int]
    ) -> dict[str, int]:
        """``summary`` with ``absent`` counted from every key of the file; when writing, the
        import recorded as applied, collectors told of their new cases, audited."""


class CaseStore(Protocol):
    """Cases and ledger imports. Reads a person triggers take the ``viewer`` and see only what
    that person may see (a forged id finds nothing)."""

    async def create_import(
        self,
        *,
        team_id: int | None,
        created_by: int | None,
        file_name: str,
        data: bytes | None,
        now: datetime,
    ) -> int:
        """Keep an uploaded file until it is imported or cancelled (survives a restart)."""

    async def get_import(self, import_id: int) -> ImportRecord | None: ...

    async def set_import_team(self, import_id: int, team_id: int) -> bool:
        """An admin chose the team of a pending import; False if it is no longer pending."""

    async def record_preview(self, import_id: int, summary: dict[str, int]) -> None: ...

    async def cancel_import(self, import_id: int, *, actor_id: int | None, now: datetime) -> bool:
        """Drop a pending import (and its file); False if it was already decided."""

    async def import_snapshot(self) -> dict[str, StoredCase]:
        """Every stored case by its key (借据号 or 合同号): what an import plan compares against."""

    async def collector_refs(self, team_id: int) -> list[CollectorRef]:
        """The team's active collectors, for matching the ledger's collector column: by the
        name on the cooperative's books (``staff_name``), never the Telegram display name."""

    def importing(
        self,
        *,
        team_id: int,
        import_id: int | None,
        file_name: str,
        actor_id: int | None,
        now: datetime,
        write: bool,
        notify: bool = True,
    ) -> AbstractAsyncContextManager[ImportSink | None]:
        """An import batch by batch: a dry run (``write=False``: reads only), or one
        transaction over every batch, committed when the block ends normally (``None``: the
        pending ``import_id`` was decided meanwhile; without one, the import's row is created
        inside the transaction, so a killed import leaves none)."""

    async def apply_import(
        self,
        plan: ImportPlan,
        *,
        import_id: int,
        actor_id: int | None,
        now: datetime,
        notify: bool = True,
        tz: tzinfo | None = None,
    ) -> dict[str, int] | None:
        """Write ``plan`` in one transaction; ``None`` if the import is no longer pending (a
        second press of "Import", or a cancel that came first). With the cooperative's ``tz``
        the queue's sort keys of the cases written are worked out in the same transaction."""

    async def list_cases(
        self, viewer: User, *, include_closed: bool = False, team_id: int | None = None
    ) -> list[CaseSummary]:
        """The cases ``viewer`` may see (open ones unless ``include_closed``), by id."""

    async def find_cases(self, viewer: User, query: str, *, limit: int = 20) -> list[CaseSummary]:
        """Cases ``viewer`` may see whose contract number, borrower name or phone contains
        ``query``; an exact contract number comes first, then by name."""

    async def queue_page(
        self,
        viewer: User,
        *,
        today: date,
        tz: tzinfo,
        number: int = 0,
        size: int = PAGE_SIZE,
        today_only: bool = False,
        capacity: int = DAILY_CAPACITY,
    ) -> Page[CaseSummary]:
        """Page ``number`` (0-based, clamped into range) of the open cases ``viewer`` may see,
        most urgent first on ``today`` (``bot.domain.urgency.rank_cases``'s order, read from
        each case's stored sort key); with ``today_only``, of today's list
        (``bot.domain.queue.select_today``'s cases). Only the page's cases are read."""

    async def refresh_queue(self, *, today: date, tz: tzinfo) -> int:
        """Work out again every stored sort key whose facts changed or that is not valid on
        ``today`` (the daily job); how many."""

    async def get_case(self, viewer: User, case_id: int) -> CaseFile | None:
        """The whole case file, or ``None`` when it does not exist or ``viewer`` may not see
        it (the two are not told apart: a forged id learns nothing)."""

    async def count_notes(self, case_id: int) -> int: ...

    async def add_note(
        self, viewer: User, case_id: int, text: str, *, now: datetime, key: str | None = None
    ) -> bool:
        """Record a note on a case ``viewer`` may see; False (nothing written) otherwise."""

    async def add_party(
        self, case_id: int, party: RelatedParty, *, actor_id: int | None, now: datetime
    ) -> int:
        """Add a related party (or update the one with the same role and name)."""

    async def set_case_flags(
        self,
        case_id: int,
        *,
        deterioration: Iterable[Deterioration] = (),
        strong_guarantor: bool = False,
        high_default_cost: bool = False,
        status: CaseStatus | None = None,
        last_contact_at: datetime | None = None,
        actor_id: int | None,
        now: datetime,
    ) -> None:
        """Record what collectors learned that the ledger cannot say (urgency inputs)."""

    async def assign_lead(
        self,
        actor: User,
        case_id: int,
        collector_id: int,
        reason: LeadReason,
        *,
        now: datetime,
        note: str | None = None,
        key: str | None = None,
    ) -> LeadChange | None:
        """Make ``collector_id`` the case's lead collector, record who, when and why, and tell
        the new lead and the previous one (outbox, same transaction). ``note`` is the
        supervisor's own words for :attr:`LeadReason.OTHER`."""


class FlowStore(Protocol):
    """Multi-step exchanges (compare-and-set on ``version``) and idempotency keys."""

    async def start_flow(
        self,
        user_id: int,
        flow: str,
        step: str,
        data: dict[str, Any],
        *,
        now: datetime,
        expires_at: datetime,
        case_id: int | None = None,
        waiting: bool = False,
        update_id: int | None = None,
    ) -> FlowState:
        """Start ``flow`` at ``step`` for ``user_id``."""

    async def open_flow(self, user_id: int) -> FlowState | None:
        """The flow the person's next message or button answers, if any (even if expired:
        the engine decides what an expired flow means)."""

    async def waiting_flow(self, user_id: int) -> FlowState | None: ...

    async def get_flow(self, flow_id: int) -> FlowState | None: ...

    async def advance_flow(
        self,
        flow_id: int,
        version: int,
        *,
        step: str,
        data: dict[str, Any],
        now: datetime,
        case_id: int | None = None,
        expires_at: datetime | None = None,
        update_id: int | None = None,
    ) -> FlowState | None:
        """Move an open flow to ``step`` with ``data`` if it is still at ``version`` (CAS);
        the new state, or None when the flow moved on, ended or does not exist. Clears
        ``message_id`` (the question asked belongs to the old step)."""

    async def set_flow_message(self, flow_id: int, version: int, message_id: int) -> bool:
        """Record which message asked the current question (version unchanged); False if the
        flow's version moved on meanwhile."""

    async def end_flow(
        self,
        flow_id: int,
        version: int | None,
        status: str,
        *,
        now: datetime,
        update_id: int | None = None,
    ) -> FlowState | None:
        """End an open or waiting flow as ``status`` (done, cancelled, expired, dropped); CAS
        on ``version`` unless it is None. The ended state, or None if nothing changed."""

    async def promote_waiting(
        self, user_id: int, *, now: datetime, expires_at: datetime
    ) -> FlowState | None:
        """Drop the open flow (if any) and open the waiting one, in one transaction; None
        (and nothing changed) when there is no waiting flow."""

    async def keep_flow_draft(
        self, flow_id: int, user_id: int, *, until: datetime | None, now: datetime
    ) -> FlowState | None:
        """Keep the draft of ``user_id``'s cancelled flow for a later start until ``until``
        (None: forget it); the changed state, or None when the flow is not theirs or not
        cancelled."""

    async def kept_flow(
        self, user_id: int, flow: str, case_id: int | None, *, now: datetime
    ) -> FlowState | None:
        """The latest cancelled ``flow`` of ``user_id`` on ``case_id`` whose draft is kept
        past ``now``, if any."""

    async def flow_consumed(self, user_id: int, update_id: int) -> FlowState | None:
        """The person's latest flow (any status) that last acted on ``update_id`` exactly: a
        replayed update it matches was handled before (one chat's updates are handled one
        at a time, so only the last can be replayed). Not "or a later one": after a week
        without updates Telegram numbers the next one at random, possibly lower."""

    async def effect_result(self, key: str) -> dict[str, Any] | None:
        """What the write done under idempotency ``key`` returned, or None if none was."""

    # A ledger sent while another question was open (issue 16): kept, offered when none is.

    async def hold_file(
        self,
        user_id: int,
        *,
        file_id: str,
        file_name: str,
        file_size: int | None,
        update_id: int | None,
        now: datetime,
    ) -> HeldFile:
        """Keep a file ``user_id`` sent (status 'held'); the same ``update_id`` again (a
        replayed update) keeps it once and returns the row kept the first time."""

    async def held_files(self, user_id: int) -> list[HeldFile]:
        """The person's files kept and not offered yet ('held'), oldest first."""

    async def mark_held_offered(self, held_ids: Sequence[int], *, now: datetime) -> None:
        """The offer of these held files was sent: 'held' becomes 'offered'."""

    async def settle_held_file(
        self, held_id: int, user_id: int, status: str, *, now: datetime
    ) -> HeldFile | None:
        """Close a held or offered file of ``user_id`` as ``status`` ('imported' or
        'discarded'); compare-and-set, so a double tap or another person's forged button
        gets None and changes nothing."""


class InboxStore(Protocol):
    """Every update from Telegram, stored before it is acknowledged (the hot path: one statement
    per call)."""

    async def store_updates(self, updates: Sequence[InboxUpdate], *, now: datetime) -> list[int]:
        """Store a batch of updates in one statement; the ids that were new (a re-fetched
        update already stored is ignored), in the order given."""

    async def pending_updates(self, *, limit: int = 1000) -> list[InboxItem]:
        """Stored updates neither handled nor set aside, in the order they came."""

    async def claim_update(self, update_id: int) -> int | None:
        """Count one more attempt at a pending update: the attempts so far, or None when it
        is handled, set aside or unknown."""

    async def finish_update(self, update_id: int, *, now: datetime) -> None: ...

    async def set_aside_update(self, update_id: int, reason: str, *, now: datetime) -> None:
        """An update that cannot be handled (a poison update): kept, never tried again."""

    async def inbox_counts(self) -> dict[str, int]: ...

    async def prune_inbox(self, *, before: datetime) -> int:
        """Delete handled updates received before ``before`` (how many), and the idempotency
        keys made of update ids (``update:<id>``) as old."""

    async def bind_inbox(self, bot_id: int, *, now: datetime) -> int:
        """Tie the inbox to the bot whose updates it holds (Telegram numbers updates per bot).
        When ``bot_id`` is not the bot it held (the database moved from a test bot to the real
        one, say), everything made of the other numbering goes: the inbox's rows (handled ones
        would hide the new bot's updates of the same ids; pending ones cannot be answered
        through another bot), the ``update:<id>`` idempotency keys and the flows' last update
        ids. How many were deleted (0 on the first call and for the same bot)."""


class OutboxStore(Protocol):
    """Messages to send later or to someone else, and Bot API calls deferred past their retries.

    A template row is rendered in the recipient's language at send time; ``media`` 'photo' or
    'document' sends ``attachment`` (with ``filename``) and the rendered template as caption
    (<= 1024 characters); ``markup`` (InlineKeyboardMarkup.to_dict(), labels final) is sent as
    the reply markup. ``priority``: 0 interactive, 1 notification, 2 bulk.
    """

    async def enqueue(self, message: NewOutboxMessage, *, now: datetime) -> int:
        """Queue ``message``; the row id. A ``dedupe_key`` used before writes nothing and
        returns that row's id."""

    async def get_outbox(self, row_id: int) -> OutboxMessage | None:
        """One row as it is now (``message_id``, ``sent_at``, ``dropped_at`` once known)."""

    async def defer_call(
        self,
        chat_id: int,
        method: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        user_id: int | None = None,
    ) -> int:
        """Keep a Bot API call that could not be made now; returns the row id."""

    async def deferred_chats(self) -> set[int]:
        """The chats with a deferred call still to make (their replies must wait behind it)."""

    async def due_outbox(self, now: datetime, *, limit: int = 100) -> list[OutboxMessage]:
        """Rows whose time has come, oldest first, each chat's calls in id order (a call
        waits while an earlier call of its chat is not due yet). A look: claims nothing."""

    async def claim_outbox(
        self,
        now: datetime,
        *,
        limit: int = 100,
        lease: timedelta = ...,
        today: date | None = None,
        holder: str | None = None,
    ) -> list[OutboxMessage]:
        """Take due rows for sending under a lease (highest priority first, then oldest): no
        other sender gets them until ``now + lease`` (a crash releases them then, or at once
        when ``holder``, the claiming replica, restarts: ``take_back_leases``), and a chat's
        later rows wait while its earlier ones are leased."""

    async def renew_outbox(self, row_ids: Sequence[int], *, until: datetime) -> int:
        """Extend the lease of claimed rows still unsent; how many were still leased."""

    async def release_outbox(self, row_ids: Sequence[int]) -> None:
        """Give claimed rows back unsent (due again at once for any sender)."""

    async def mark_sent(self, results: Sequence[tuple[int, int]], *, now: datetime) -> None:
        """Record Telegram's message id for each sent outbox row, in one batch."""

    async def mark_failed(
        self, row_id: int, error: str, *, now: datetime, retry_at: datetime | None
    ) -> None:
        """A send failed: try again at ``retry_at``, or give up (dropped, its reminders dead)
        when it is None."""

    async def give_up_unreachable(
        self, row_id: int, error: str, *, now: datetime, today: date, blocked: bool
    ) -> None:
        """The chat blocked the bot (``blocked``) or is gone for good: the row dropped, its
        reminders dead, the user marked blocked, their supervisor(s) told once per local day,
        in one transaction."""

    async def release_waiting(self, user_id: int, *, now: datetime) -> int:
        """Messages that waited because ``user_id`` had not opened the chat are due now."""


class ReplicaStore(Protocol):
    """What several bot processes (replicas) on one database share: a lease per chat for its
    updates, the leases' take-back by a restarted replica, Telegram's send window, flood
    control per chat, the strangers' quiet period, and who is alive. ``holder`` / ``instance``
    is the replica's stable identity (``Settings.instance``)."""

    async def claim_chat(
        self,
        chat_id: int,
        *,
        holder: str,
        now: datetime,
        lease: timedelta,
        finished: int | None = None,
        handled_at: datetime | None = None,
    ) -> InboxItem | None:
        """Take the chat's lease (free, run out, or ``holder``'s already) and its oldest
        pending update, one more attempt counted, in one transaction; None when another
        replica holds the chat or nothing of it is pending (then a lease of ``holder``'s is
        deleted). Called again after each update, with that update as ``finished`` (marked
        handled at ``handled_at`` in the same transaction): the lease passes to the chat's
        next pending update."""

    async def claim_lone_update(
        self, update_id: int, *, holder: str, now: datetime, lease: timedelta
    ) -> InboxItem | None:
        """Claim a pending update of no chat under its own lease; None when handled, set
        aside, unknown or leased by another replica."""

    async def renew_chat(self, chat_id: int, *, holder: str, until: datetime) -> bool:
        """Extend ``holder``'s lease of the chat; False when it is not (or no longer) its."""

    async def release_chat(self, chat_id: int, *, holder: str) -> None:
        """Delete ``holder``'s lease of the chat."""

    async def inbox_to_sweep(
        self, *, holder: str, now: datetime, limit: int = 100
    ) -> list[tuple[int | None, int]]:
        """Pending updates nobody holds, oldest first: (chat, its oldest pending update id)
        per chat whose lease is free, run out or ``holder``'s; (None, id) per pending update
        of no chat not leased by another."""

    async def take_back_leases(self, holder: str, *, now: datetime) -> dict[str, int]:
        """Free at once everything ``holder`` held (a replica restarted after a kill): chat
        leases, inbox, outbox and reminder claims; its send places count one more second.
        How many of each (keys chats, inbox, outbox, reminders, places)."""

    async def ensure_send_places(self, count: int) -> None:
        """The shared send window has at least ``count`` places."""

    async def take_send_place(
        self,
        *,
        holder: str,
        now: datetime,
        ttl: timedelta,
        places: int,
        keep_free: int = 0,
        chat_id: int | None = None,
        behind_calls: bool = False,
        chat_rate: float | None = None,
        chat_burst: int = 3,
    ) -> SendTurn:
        """One of the first ``places`` places of the send window, held until ``now + ttl``
        unless released sooner; none when no more than ``keep_free`` are free, or ``chat_id``
        is under flood control or, with ``chat_rate``, has used its pace (a token bucket of
        ``chat_burst``, refilled at ``chat_rate`` a second, shared by all replicas; a token is
        taken with the place) — ``SendTurn.wait_until``: when to ask again — or, asked with
        ``behind_calls``, when the chat has deferred calls waiting in the outbox (written by
        ``defer_call``, or failed once already)."""

    async def release_send_place(self, place: int, *, holder: str, until: datetime) -> None:
        """The place's call answered: it counts until ``until`` (a second after the answer)."""

    async def hold_chat(self, chat_id: int, *, until: datetime) -> None:
        """No send to this chat before ``until`` (Telegram's retry_after for that chat); its
        pace starts again from nothing then. Never shortens a hold."""

    async def answer_stranger(self, telegram_id: int, *, now: datetime, quiet: timedelta) -> bool:
        """True at most once per ``quiet`` period per stranger (compare-and-set)."""

    async def get_replica(self, instance: str) -> ReplicaRecord | None:
        """The last report of the replica of this identity."""

    async def beat_replica(
        self, instance: str, *, host: str, pid: int, now: datetime, until: datetime
    ) -> None:
        """Report this replica alive until ``until``."""

    async def prune_replica_state(self, *, now: datetime, before: datetime) -> int:
        """Delete strangers answered, replicas last seen, chat paces last used and chat leases
        run out before ``before``; how many rows."""


class AuditStore(Protocol):
    """The audit trail, small installation facts (meta), backups and the schema."""

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def audit_log(self, *, entity: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """Newest first."""

    async def backup(self, dest: Path) -> None:
        """A consistent copy of the live database (SQLite's online backup API); on
        PostgreSQL a :class:`StorageError` saying how to use ``pg_dump`` instead."""

    async def schema_version(self) -> int: ...

    async def migrations_applied(self, *, since: datetime) -> list[tuple[int, str]]:
        """The migrations applied at or after ``since`` (version, name), in order."""


class PrepStore(Protocol):
    """Meeting preparations (/prep), kept per case."""

    async def add_prep(
        self,
        viewer: User,
        case_id: int,
        answers: PrepAnswers,
        *,
        approach_reason: str | None,
        urgency: UrgencyFromPrep,
        now: datetime,
        key: str | None = None,
    ) -> PrepRecord | None:
        """Store a completed prep of a case ``viewer`` may see, with the party stances and the
        urgency inputs it teaches, in one transaction; None (nothing written) if not theirs.
        A key already used returns that prep instead of a second one."""

    async def preps_of(self, case_id: int, *, limit: int = 10) -> list[PrepRecord]:
        """The case's preparations, newest first (access is checked through get_case)."""


#: In an :class:`OutboxCall`'s payload, these texts are replaced by the id of the approval and of
#: the commitment the same transaction writes (the buttons of an approval request carry the
#: approval's id, which does not exist before the transaction does). Never in a message's
#: ``text`` or ``caption``: those hold what people typed, kept as typed.
APPROVAL_ID = "{approval_id}"
COMMITMENT_ID = "{commitment_id}"


@dataclass(frozen=True, slots=True)
class OutboxCall:
    """A Bot API call to make through the outbox (a row of kind 'call'), written in the same
    transaction as the change it tells of: ``method`` with ``payload`` for ``chat_id``."""

    chat_id: int
    method: str
    payload: dict[str, Any]


class CommitmentStore(Protocol):
    """Meetings (/outcome), money received, repayment commitments (/commit) with their
    instalments, and the supervisor's approvals of concessions (策略6 即时请示)."""

    async def add_meeting(
        self,
        viewer: User,
        case_id: int,
        meeting: NewMeeting,
        payment: NewPayment | None,
        *,
        now: datetime,
        key: str | None = None,
    ) -> Meeting | None:
        """Record a meeting of a case ``viewer`` may see (None, nothing written, if not), with
        the money received at it (source 'outcome'; an amount of 0 is stored too: "said
        nothing today"), and move the case's last contact to ``now``, in one transaction. A
        ``prep_id`` that is not this case's prep is stored as none. A key already used returns
        that meeting."""

    async def meetings_of(self, case_id: int, *, limit: int = 10) -> list[Meeting]:
        """The case's meetings, newest first (callers check access through get_case)."""

    async def next_steps_due(
        self, viewer: User, *, since: date, until: date, limit: int = 10
    ) -> list[StepDue]:
        """The next steps set by the latest meeting of each case ``viewer`` may see, due from
        ``since`` to ``until`` (local days), earliest first; an open case only."""

    async def meetings_without_agreement(self, case_id: int) -> int:
        """Meetings recorded since the case's last commitment became agreed (all of them if
        none ever did): 策略2's count, three or more is flagged."""

    async def add_commitment(
        self,
        viewer: User,
        case_id: int,
        commitment: NewCommitment,
        *,
        needs_approval: frozenset[ApprovalReason],
        proposal: dict[str, Any],
        flow_id: int | None,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
        replaces: int | None = None,
        key: str | None = None,
        today: date | None = None,
        reminders: ReminderPolicy | None = None,
    ) -> Commitment | None:
        """Store a commitment of a case ``viewer`` may see, in one transaction: it (agreed, or
        pending_approval with a pending approval row for the case's team when
        ``needs_approval``), its instalments (seq 1..n), the money-today payment (source
        'commit', only when ``money_channel`` is set and the amount is above 0; received on
        ``today`` — the local date, pass it — else on the meeting's date, else on the UTC
        date of ``now``), the meeting's agreement flag when agreed, the
        ``notify`` calls (their payloads' :data:`APPROVAL_ID` / :data:`COMMITMENT_ID` filled in),
        audit. ``replaces``: a live commitment of the same case, marked 'amended' with its open
        instalments cancelled (a request it still waits on withdrawn) — at once when the new
        one is agreed, on approval when it waits (a rejected amendment leaves the old promise
        standing). None (nothing written) if the case is not the
        viewer's, or ``promised_by_party`` / ``replaces`` / ``meeting_id`` is not of this
        case. A key already used returns that commitment, and so does a request still
        pending from the same ``flow_id`` (a step entered again after a crash asks once).
        With ``reminders``, an agreed
        commitment's instalments get their reminder rows (issue 10) in the same transaction;
        ending one (amended, cancelled, rejected) retires its pending reminders."""

    async def get_commitment(self, commitment_id: int) -> Commitment | None: ...

    async def commitments_of(self, case_id: int, *, limit: int = 10) -> list[Commitment]:
        """The case's commitments (every status: the history), newest first."""

    async def cancel_commitment(
        self,
        viewer: User,
        commitment_id: int,
        reason: str,
        *,
        now: datetime,
        key: str | None = None,
    ) -> Commitment | None:
        """End an agreed or waiting commitment of a case ``viewer`` may see: 'cancelled' with
        the reason, who and when; its open instalments cancelled, its pending approval
        withdrawn. None if not theirs or already ended. A key already used returns it."""

    async def request_approval(
        self,
        viewer: User,
        case_id: int,
        reasons: frozenset[ApprovalReason],
        proposal: dict[str, Any],
        *,
        flow_id: int | None,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
        key: str | None = None,
    ) -> Approval | None:
        """A request not tied to a commitment (from the case card or /outcome: a fee waiver,
        ...), pending for the case's team, with the ``notify`` calls; None if not theirs."""

    async def get_approval(self, approval_id: int) -> Approval | None: ...

    async def pending_approval_of_flow(self, flow_id: int) -> Approval | None:
        """The request a collector's flow is still waiting on, if any."""

    async def withdraw_approval(
        self,
        approval_id: int,
        *,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
    ) -> Approval | None:
        """Withdraw a request still waiting (its flow was cancelled, expired or dropped), in
        one transaction: the request 'withdrawn', its pending commitment cancelled (nothing of
        it binds), ``notify`` written to the outbox. None, and nothing changed, if it was
        answered or withdrawn already (compare-and-set: an answer and a withdrawal never both
        take effect)."""

    async def answer_approval(
        self,
        supervisor: User,
        approval_id: int,
        status: ApprovalStatus,
        *,
        counter: dict[str, Any] | None,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
        reminders: ReminderPolicy | None = None,
    ) -> Approval | None:
        """Answer a PENDING approval of a case of the supervisor's team (admins: any) with
        approved, rejected or countered (compare-and-set); None, nothing changed, otherwise
        (answered before, another team, a collector, a forged id). In the same transaction:
        approved → its commitment agreed (the meeting's agreement flag, the replaced one
        amended); rejected / countered → its commitment rejected, its instalments cancelled;
        the ``notify`` calls (to the collector); audit. With ``reminders``, an approved
        commitment's instalments get their reminder rows in the same transaction."""

    async def pending_approvals(self, *, team_id: int | None) -> list[Approval]:
        """Unanswered requests of a team (all teams: None), oldest first."""

    async def approvals_to_remind(self, *, asked_before: datetime) -> list[Approval]:
        """Pending requests made before ``asked_before`` and never reminded, oldest first (a
        read: :meth:`remind_approval` marks each)."""

    async def remind_approval(
        self,
        approval_id: int,
        *,
        notify: OutboxCall | Sequence[OutboxCall] | None,
        now: datetime,
    ) -> bool:
        """Mark a pending, never-reminded request reminded at ``now`` and write the ``notify``
        calls, in one transaction (compare-and-set): False, nothing written, when it was
        reminded or answered meanwhile (another process, a tick run twice)."""


class ExportStore(Protocol):
    """The sheets of an export (/export, ``qingshou export``), each as batches of rows in
    ``viewer``'s scope: a supervisor their team (another ``team_id`` finds nothing), an admin
    the ``team_id`` given or every team (None), anyone else nothing. Streamed by id, one batch
    in memory at a time."""

    def export_cases(
        self, viewer: User, *, team_id: int | None = None, batch: int = 2000
    ) -> AsyncIterator[list[ExportCase]]:
        """Every case in scope, closed ones too, as it stands now."""

    def export_legal(
        self,
        viewer: User,
        today: date,
        *,
        team_id: int | None = None,
        batch: int = 500,
    ) -> AsyncIterator[list[ExportClock]]:
        """Every legal clock of the open cases in scope as of ``today`` (issue 19): each
        case's limitation, each guarantor's period and own limitation, each mortgage, with
        what set the deadline and whether its signed copy is filed; ``batch`` cases at a
        time."""

    def export_meetings(
        self, viewer: User, period: ExportPeriod, *, team_id: int | None = None, batch: int = 2000
    ) -> AsyncIterator[list[ExportMeeting]]:
        """Meetings held in the period."""

    def export_commitments(
        self, viewer: User, period: ExportPeriod, *, team_id: int | None = None, batch: int = 2000
    ) -> AsyncIterator[list[ExportCommitment]]:
        """Commitments made in the period, every status."""

    def export_instalments(
        self, viewer: User, period: ExportPeriod, *, team_id: int | None = None, batch: int = 2000
    ) -> AsyncIterator[list[ExportInstalment]]:
        """Instalments due in the period."""

    def export_payments(
        self, viewer: User, period: ExportPeriod, *, team_id: int | None = None, batch: int = 2000
    ) -> AsyncIterator[list[ExportPayment]]:
        """Money received in the period."""

    def export_approvals(
        self, viewer: User, period: ExportPeriod, *, team_id: int | None = None, batch: int = 2000
    ) -> AsyncIterator[list[ExportApproval]]:
        """Approval requests made in the period."""


class ReminderStore(Protocol):
    """Reminder rows (issue 10): the database is the truth, APScheduler only the clock. Rows
    are written and retired inside the commitment verbs (``reminders=`` on add_commitment and
    answer_approval); the poller claims them under a lease and queues one message per
    collector."""

    async def claim_reminders(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        late_before: datetime,
        limit: int = 5000,
        holder: str | None = None,
    ) -> list[DueReminder]:
        """Claim up to ``limit`` due pending rows until ``lease_until``, oldest first (a row
        leased by another claim is skipped until its lease runs out; ``holder``, the claiming
        replica, takes its claims back at once when restarted: ``take_back_leases``). Same
        transaction: rows due before ``late_before`` become 'late' (a late follow-up makes its
        open instalment 'unconfirmed'); claimed rows of instalments no longer open are retired;
        rows with nobody to ask (no lead, no supervisor) become 'late'. Those are not returned.
        Each returned row names its collector: the case's lead now, else a team supervisor."""

    async def queue_reminders(self, batches: Sequence[ReminderBatch], *, now: datetime) -> int:
        """One transaction: per batch an outbox row (priority 2, markup, once per dedupe key)
        and its rows 'queued' with that outbox id; a follow-up's instalment still 'open'
        becomes 'unconfirmed' (settled_at). A batch with no row still pending writes nothing.
        Returns the outbox rows written."""

    async def backfill_reminders(self, policy: ReminderPolicy, *, now: datetime) -> int:
        """Write the rows missing for open instalments of agreed commitments stored without
        them (older databases, the demo); each instalment is looked at once."""

    async def reminders_of(
        self, *, instalment_ids: Iterable[int] | None = None, commitment_id: int | None = None
    ) -> list[Reminder]:
        """The reminder rows of some instalments or of a commitment, by due time."""


class InstalmentStore(Protocol):
    """The collector's answers to reminders (Paid in full / Partial / Missed, issue 10)."""

    async def get_instalment(self, viewer: User, instalment_id: int) -> InstalmentView | None:
        """An instalment of a case ``viewer`` may see (a collector: cases they lead; a
        supervisor: their team's; an admin: any), with its case and state; None otherwise."""

    async def instalments_seen_by(
        self, viewer: User, instalment_ids: Sequence[int]
    ) -> list[InstalmentView]:
        """Those of ``instalment_ids`` (at most 100) ``viewer`` may see, by id."""

    async def instalments_to_answer(
        self, viewer: User, *, on_or_before: date, limit: int = 10
    ) -> list[InstalmentView]:
        """The instalments of agreed plans due on or before ``on_or_before`` that nobody has
        answered yet (open, or unconfirmed after their follow-up), of the cases ``viewer``
        leads (a supervisor: their team's), oldest first: the top of a collector's /today."""

    async def broken_to_follow_up(
        self, viewer: User, *, since: datetime, limit: int = 5
    ) -> list[InstalmentView]:
        """Instalments broken since ``since`` whose plan is still the case's agreed one (not
        re-planned since), of the cases ``viewer`` leads (a supervisor: their team's), newest
        first: /today's "prepare again" list (策略2: every meeting moves the case)."""

    async def answer_instalment(
        self,
        viewer: User,
        instalment_id: int,
        answer: Answer,
        *,
        amount: int | None = None,
        reason: Sequence[str] | None = None,
        note: str | None = None,
        today: date,
        grace_days: int,
        now: datetime,
        key: str | None = None,
    ) -> Answered | None:
        """Take an answer to a reminder in one transaction; None (nothing written) if the
        instalment is not of a case ``viewer`` may see.

        Only an instalment of an agreed commitment that is open, partial or unconfirmed
        changes (compare-and-set on its status and paid sum); otherwise ``changed`` is False
        and nothing is written (a double tap, a replayed button, settled another way). A key
        already used returns what it did, unchanged. Paid: the rest is recorded as a payment
        (source 'reminder', its instalment, received on ``today``), the instalment kept.
        Partial: ``amount`` (1 fen up to the rest, else ``refused='amount'``) recorded, the
        instalment partial (kept when it pays the rest). Missed: broken once ``today`` is past
        ``due_on + grace_days`` (``reason`` codes and ``note`` kept), and every other active
        supervisor of the case's team gets ``instalments/broken_for_supervisor`` through the
        outbox; before that it stays as it is (late: ``late`` True, asked again). A kept or
        broken instalment's pending reminders are retired; answered_at/by, settled_at set."""


class DigestStore(Protocol):
    """The supervisors' daily digest (issue 11): its figures (SQL aggregates, see
    :mod:`bot.domain.digest` for what each means), its runs (exactly once per person per local
    day) and each person's digest settings (/settings)."""

    async def team_digest(
        self,
        team_id: int,
        day: DigestDay,
        *,
        now: datetime,
        untouched_days: int,
        limit: int = 5,
    ) -> TeamDigest | None:
        """One team's digest for ``day`` (lists cut to ``limit`` items, with their totals);
        None if there is no such team. Callers check that the viewer may see the team."""

    async def cooperative_digest(
        self, day: DigestDay, *, now: datetime, untouched_days: int
    ) -> CooperativeDigest:
        """Every team, one line each (the admins' digest)."""

    async def digest_list(
        self,
        team_id: int,
        kind: DrillDown,
        day: DigestDay,
        *,
        now: datetime,
        untouched_days: int,
        collector_id: int | None = None,
        limit: int = 20,
    ) -> Counted[CaseItem] | Counted[BrokenItem] | Counted[LegalItem]:
        """A drill-down list of one team: yesterday's broken promises, the stalled, untouched
        or unprepared urgent cases, one collector's open cases, or the legal clocks within 30
        or 90 days or lapsed this week (issue 19)."""

    async def digest_recipients(self, local_date: date) -> list[DigestRecipient]:
        """Active, reachable supervisors (of a team) and admins without a digest run for
        ``local_date`` yet, with their own digest settings."""

    async def record_digest(
        self,
        user_id: int,
        local_date: date,
        messages: Sequence[DigestMessage],
        *,
        scope: str,
        now: datetime,
    ) -> bool:
        """Write the run row (unique per person and local date) and the digest's outbox rows
        (one group key, priority 1) in one transaction; False, nothing written, when that
        day's digest was already recorded."""

    async def digest_runs(self, user_id: int) -> list[tuple[date, str]]:
        """The local days ``user_id`` had a digest, oldest first, with each run's group key."""

    async def last_digest_at(self, user_id: int, *, now: datetime) -> datetime | None:
        """When ``user_id``'s latest digest up to ``now`` was made (its run row), or None: the
        next digest counts from there (:meth:`bot.domain.digest.DigestDay.of`)."""

    async def digest_settings(self, user_id: int) -> DigestSettings: ...

    async def set_digest_settings(
        self, user_id: int, settings: DigestSettings, *, now: datetime
    ) -> DigestSettings:
        """Store a person's own digest time (None: the cooperative's) and weekend mute."""


class LegalStore(Protocol):
    """The legal clocks' facts (issue 19): guarantee facts, the papers issued and their signed
    copies, and everything :mod:`bot.domain.legal` reads for one case or a viewer's cases."""

    async def set_guarantee_facts(
        self,
        case_id: int,
        party_id: int,
        *,
        kind: GuaranteeKind | None = None,
        agreed_end: date | None = None,
        by_user_id: int | None,
        now: datetime,
        source: str = "asked",
    ) -> GuarantorFacts | None:
        """Record a guarantee's kind (保证方式) and/or agreed period end (保证期间); ``None``
        leaves a fact as it is; ``source`` 'asked' (the bot) or 'import'. None, nothing written,
        when ``party_id`` is not a guarantor of ``case_id``."""

    async def issue_document(
        self,
        case_id: int,
        kind: DocumentKind,
        addressee: int | None,
        commitment_id: int | None,
        by_user_id: int | None,
        now: datetime,
    ) -> int:
        """Record a document issued to ``addressee`` (a related party's id; None: the
        borrower), for ``commitment_id`` when it is a repayment agreement; its id.
        :class:`StorageError` when the case is unknown or the party / commitment not of it."""

    async def file_signed_copy(
        self,
        document_id: int,
        signed_on: date,
        file_id: str,
        by_user_id: int | None,
        now: datetime,
        key: str | None = None,
    ) -> LegalDocument | None:
        """File the signed copy (the local date signed, the photo's file id). Once only: a
        document already filed, or a replayed ``key``, comes back unchanged. None: no such
        document."""

    async def get_document(self, document_id: int) -> LegalDocument | None: ...

    async def record_suspension(
        self,
        case_id: int,
        started_on: date,
        *,
        reason: str,
        ended_on: date | None = None,
        by_user_id: int | None,
        now: datetime,
    ) -> int:
        """Record by hand a suspension of the case's limitation (中止, 第194条); its id.
        :class:`StorageError` for an unknown case or an end before the start."""

    async def end_suspension(
        self, suspension_id: int, ended_on: date, *, by_user_id: int | None, now: datetime
    ) -> bool:
        """The day a suspension's cause ended (once); False: none such still open, or an end
        before its start."""

    async def case_documents(self, case_id: int) -> list[LegalDocument]:
        """The case's documents, oldest first (callers check access through the case)."""

    async def legal_facts(self, case_id: int) -> LegalFacts | None:
        """What the clocks of one case read; None: no such case."""

    async def legal_facts_of(
        self, viewer: User, *, include_closed: bool = False
    ) -> list[LegalFacts]:
        """What the clocks of every case ``viewer`` may see read, in case id order; a fixed
        number of statements whatever the number of cases."""

    async def legal_facts_ending(
        self, viewer: User, *, first: date, last: date, tz: tzinfo
    ) -> list[LegalFacts]:
        """What the clocks read of ``viewer``'s open cases whose next clock still to act on
        ends between ``first`` (today) and ``last``, both included, in case id order; read by
        an index (the few near their end cost, not the viewer's thousands)."""


class Storage(
    PeopleStore,
    CaseStore,
    PrepStore,
    CommitmentStore,
    DigestStore,
    InstalmentStore,
    FlowStore,
    InboxStore,
    OutboxStore,
    AuditStore,
    ExportStore,
    ReminderStore,
    LegalStore,
    ReplicaStore,
    Protocol,
):
    """Everything the application asks of storage; opened by :func:`bot.storage.open_storage`."""

    async def close(self) -> None:
        """Close the connection(s); the object is unusable afterwards."""
