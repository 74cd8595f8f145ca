"""The reminder poller: every tick, what is due goes out as one message per collector.

The database is the truth, APScheduler only the clock (issue 10): the reminder rows were
written with the commitment; this job, registered once at start-up and run every
``Settings.poll_interval`` (a missed tick runs once, not N times), asks the application's one
clock what "now" is, claims the due rows under a lease (a crash releases them), groups them per
collector — the case's lead now, else the team's supervisor — and writes one outbox message per
collector per tick, in the collector's language: per instalment the borrower, contract, amount
and date, and a button row Paid in full / Partial / Missed / Open case. A long list is split
at Telegram's limits (4 096 characters, 100 buttons), never inside an item. The outbox rows and
the rows' 'queued' mark are one transaction, with a dedupe key per message, so a repeat after
a crash cannot queue the same reminders twice.

Catch-up: reminders whose time passed while the bot was down (due more than a few ticks ago)
go out as one summary per collector, oldest first; the ones older than
``Settings.catchup_hours`` are left to the supervisor's digest instead (storage marks them
'late' in the claim).

"While the bot was down" means while no process was polling: a reminder that came due after
this process began polling (without a gap in its ticks) was not missed, however old it is by
the clock when the tick sees it — the sandbox's clock moved forward a week between two ticks,
or the loop was busy. Those go out as ordinary reminders, neither in a catch-up summary nor
'late' (which the digest reports as "came due while the bot was offline"). The replicas keep,
in the database, since when one of them has been polling (:func:`polling_since`): a replica
restarted while another polled missed nothing; a gap of real time between two ticks (of any
replica) longer than :data:`POLLING_GAP` (the host slept, the loop hung) starts it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain.reminders import ReminderKind, ReminderPolicy
from bot.labels import answer_rows
from bot.render import MESSAGE_LIMIT, Renderer, visible_len
from bot.storage.records import DueReminder, ReminderBatch
from reminders.outbox import wake

if TYPE_CHECKING:
    from bot.context import QingshouContext
    from bot.storage.protocol import AuditStore, ReminderStore

log = logging.getLogger(__name__)

#: The job's name in the JobQueue (tests run it by hand, see tests/e2e/conftest.py).
REMINDERS_JOB = "reminders"
#: Rows claimed per transaction (the tick's first claim too: 5,000 held the write lock
#: 0.2-0.5 s among a million pending; 500 from the claim index of migration 0017 stay well
#: within 50 ms, ``python -m bench.reminders_bench``), and at most per tick (the rest waits for
#: the next tick).
CLAIM_LIMIT = 250
TICK_LIMIT = 20_000
#: A claim is held this long (a tick queues what it claimed within a second or two): a crash
#: between claim and queue gives the rows back this soon after (a second process that takes
#: them over after a very slow tick queues the same messages under the same dedupe keys).
LEASE = timedelta(seconds=30)
#: A reminder due longer ago than this (or three ticks, up to an hour) is overdue: the bot was
#: down, and it goes into a catch-up summary.
OVERDUE_AFTER = timedelta(minutes=10)
OVERDUE_AT_MOST = timedelta(hours=1)
#: Telegram allows 100 buttons per message; an item has a row of four.
BUTTONS_PER_ITEM = 4
MAX_ITEMS = 100 // BUTTONS_PER_ITEM
#: Room kept under Telegram's limit: the sender renders again at send time (another language,
#: if the collector switched meanwhile, can be a little longer).
MARGIN = 400
#: Build and queue the messages of this many collectors per transaction, then let the event
#: loop serve people (a fan-out never holds up an answer). A reply's own storage calls wait
#: for the transaction in progress: 50 collectors' messages held the database ~100 ms, and a
#: /help at the start of a fan-out waited behind a few of them (0.4-0.7 s).
COLLECTORS_PER_STEP = 10
#: An item's line shows at most this much besides the borrower's name and the contract number
#: (number, amount, date, which instalment, paid so far); a list surely within the limit by
#: this count is not rendered to be measured.
_ITEM_FIXED = 110
_FRAME = 300
#: bot_data.extra key: the rows missing for older commitments were written (once per process).
_BACKFILLED = "reminders_backfilled"
#: Meta key of the replicas' shared :class:`Polling` (since when *some* replica has polled
#: without a gap): a replica restarted while others kept polling missed nothing, so it must not
#: take what came due meanwhile for "missed while the bot was down".
_POLLING = "reminders_polling"
#: bot_data.extra key: this process's life (a replica restarted under its name is a new one).
_LIFE = "reminders_life"
#: Real time between two ticks of one process beyond which it was not polling in between (the
#: host slept, the loop hung): what came due meanwhile was missed as if the bot were down.
POLLING_GAP = timedelta(minutes=10)

TEMPLATE = "reminders/due"
CATCHUP_TEMPLATE = "reminders/catchup"

#: The order of sections in a message, and which kind wins when one instalment has several.
_ORDER = {ReminderKind.DUE: 0, ReminderKind.FOLLOW_UP: 1, ReminderKind.HEADS_UP: 2}
_RANK = {ReminderKind.HEADS_UP: 0, ReminderKind.DUE: 1, ReminderKind.FOLLOW_UP: 2}


@dataclass(frozen=True, slots=True)
class Polling:
    """Since when (the application's clock) this process has polled without a gap, and the
    real time (``time.time()``, which a moved sandbox clock does not move) of its last tick."""

    since: datetime
    real: float


def polling_since(
    previous: Polling | None, *, now: datetime, real: float, tick: timedelta
) -> Polling:
    """This tick's :class:`Polling`: the previous one carried on, or a new one from ``now``
    when this is the process's first tick or the real time since its last tick is longer than
    :data:`POLLING_GAP` (or three ticks, if longer). The application's clock may jump between
    two ticks (the sandbox's clock control): that is not a gap, the process was polling."""
    gap = max(POLLING_GAP, 3 * tick).total_seconds()
    if previous is None or not 0 <= real - previous.real <= gap or previous.since > now:
        return Polling(now, real)
    return Polling(previous.since, real)


@dataclass
class _Item:
    """One instalment in a message (its claimed rows merged)."""

    first: DueReminder
    kind: ReminderKind
    reminder_ids: list[int] = field(default_factory=list)
    follow_up: bool = False
    oldest: datetime | None = None

    def params(self, n: int) -> dict[str, Any]:
        r = self.first
        return {
            "n": n,
            "kind": self.kind.value,
            "instalment_id": r.instalment_id,
            "case_id": r.case_id,
            "borrower": r.borrower,
            "contract_no": r.contract_no,
            "seq": r.seq,
            "due_on": r.due_on.isoformat(),
            "amount": r.amount,
            "paid": r.paid,
            "left": max(r.amount - r.paid, 0),
        }


async def send_due(context: QingshouContext) -> int:
    """Queue the due reminders, one message per collector; returns the messages queued."""
    settings = context.settings
    storage = context.storage
    now = context.clock.now()
    policy = ReminderPolicy.from_settings(settings)
    extra = context.bot_data.extra
    if not extra.get(_BACKFILLED):
        written = await storage.backfill_reminders(policy, now=now)
        if written:
            log.info("wrote %s reminder rows missing for older commitments", written)
        extra[_BACKFILLED] = True
    tick = timedelta(seconds=settings.poll_interval)
    life = extra.setdefault(_LIFE, uuid.uuid4().hex)
    previous = await _shared_polling(storage, instance=settings.instance, life=life)
    polling = polling_since(previous, now=now, real=time.time(), tick=tick)
    record = {"since": polling.since.isoformat(), "real": polling.real}
    await storage.set_meta(_POLLING, json.dumps({**record, "by": settings.instance, "life": life}))
    lease_until = now + LEASE
    # Only what came due before this process began polling was missed while the bot was down:
    # later reminders are never 'late' and never in a catch-up summary, however old by now.
    late_before = min(now - timedelta(hours=settings.catchup_hours), polling.since)
    overdue_before = min(now - min(max(OVERDUE_AFTER, 3 * tick), OVERDUE_AT_MOST), polling.since)
    claimed = await claim_due(
        storage,
        now=now,
        lease_until=lease_until,
        late_before=late_before,
        holder=settings.instance,
    )
    if not claimed:
        return 0
    per_collector: dict[int, list[DueReminder]] = {}
    for row in claimed:
        per_collector.setdefault(row.collector_id, []).append(row)
    groups = list(per_collector.values())
    queued = 0
    for start in range(0, len(groups), COLLECTORS_PER_STEP):
        batches = build_batches(
            [row for group in groups[start : start + COLLECTORS_PER_STEP] for row in group],
            now=now,
            renderer=context.renderer,
            policy=policy,
            default_locale=settings.default_locale,
            overdue_before=overdue_before,
        )
        queued += await storage.queue_reminders(batches, now=now)
        await asyncio.sleep(0)
    if queued:
        # Out now, not at the outbox's next tick (a reminder came up to two ticks late).
        wake(context)
    return queued


async def _shared_polling(storage: AuditStore, *, instance: str, life: str) -> Polling | None:
    """The replicas' :class:`Polling` as the last tick of any of them wrote it; None when that
    was this replica in an earlier life (it was down since: nobody polled after it)."""
    raw = await storage.get_meta(_POLLING)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        if data.get("by") == instance and data.get("life") != life:
            return None
        return Polling(datetime.fromisoformat(data["since"]), float(data["real"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


async def claim_due(
    storage: ReminderStore,
    *,
    now: datetime,
    lease_until: datetime,
    late_before: datetime,
    holder: str | None = None,
) -> list[DueReminder]:
    """A tick's claims: :data:`CLAIM_LIMIT` rows at a time (each its own short transaction,
    the first included), up to :data:`TICK_LIMIT`; the rest waits for the next tick."""
    claimed: list[DueReminder] = []
    while len(claimed) < TICK_LIMIT:
        limit = min(CLAIM_LIMIT, TICK_LIMIT - len(claimed))
        got = await storage.claim_reminders(
            now=now, lease_until=lease_until, late_before=late_before, limit=limit, holder=holder
        )
        claimed.extend(got)
        if len(got) < limit:
            break
        await asyncio.sleep(0)  # a reply's storage calls between two claims
    return claimed


def build_batches(
    claimed: Sequence[DueReminder],
    *,
    now: datetime,
    renderer: Renderer,
    policy: ReminderPolicy,
    default_locale: str,
    overdue_before: datetime,
) -> list[ReminderBatch]:
    """The messages for ``claimed``: per collector one (or, past Telegram's limits, a few),
    a catch-up summary when any of theirs is overdue (due before ``overdue_before``)."""
    per_collector: dict[int, list[DueReminder]] = {}
    for row in claimed:
        per_collector.setdefault(row.collector_id, []).append(row)
    today = policy.local_day(now)
    batches: list[ReminderBatch] = []
    for collector_id, rows in per_collector.items():
        locale = rows[0].locale or default_locale
        items = _merge(rows)
        catchup = any(r.due_at < overdue_before for r in rows)
        if catchup:
            items.sort(key=lambda i: (i.first.due_on, i.oldest or now, i.first.instalment_id))
        else:
            items.sort(key=lambda i: (_ORDER[i.kind], i.first.due_on, i.first.contract_no))
        batches.extend(_messages(collector_id, locale, items, catchup, today, renderer))
    return batches


def _merge(rows: Sequence[DueReminder]) -> list[_Item]:
    """One item per instalment: a heads-up and a due-day reminder claimed together (after
    downtime) are one line, shown as the later kind."""
    items: dict[int, _Item] = {}
    for row in rows:
        kind = ReminderKind(row.kind)
        item = items.get(row.instalment_id)
        if item is None:
            item = items[row.instalment_id] = _Item(row, kind, oldest=row.due_at)
        elif _RANK[kind] > _RANK[item.kind]:
            item.kind = kind
        item.reminder_ids.append(row.id)
        item.follow_up = item.follow_up or kind is ReminderKind.FOLLOW_UP
        item.oldest = min(item.oldest or row.due_at, row.due_at)
    return list(items.values())


def _messages(
    collector_id: int,
    locale: str,
    items: list[_Item],
    catchup: bool,
    today: date,
    renderer: Renderer,
) -> list[ReminderBatch]:
    """Split ``items`` into messages within Telegram's limits (never inside an item)."""
    numbered = [(n, item) for n, item in enumerate(items, start=1)]
    totals = {kind.value: sum(1 for i in items if i.kind is kind) for kind in ReminderKind}
    template = CATCHUP_TEMPLATE if catchup else TEMPLATE
    chunks: list[list[tuple[int, _Item]]] = []
    rest = numbered
    while rest:
        size = min(MAX_ITEMS, len(rest))
        while size > 1 and not _fits(renderer, locale, template, rest[:size], totals, today):
            size -= 1
        chunks.append(rest[:size])
        rest = rest[size:]
    group = _key("remg", [rid for item in items for rid in item.reminder_ids])
    out = []
    for part, chunk in enumerate(chunks, start=1):
        ids = [rid for _, item in chunk for rid in item.reminder_ids]
        out.append(
            ReminderBatch(
                collector_id=collector_id,
                reminder_ids=tuple(sorted(ids)),
                template=template,
                params=_params(chunk, totals, today, part, len(chunks)),
                markup=_markup(renderer, locale, chunk),
                dedupe_key=_key("rem", ids),
                follow_ups=tuple(item.first.instalment_id for _, item in chunk if item.follow_up),
                group_key=group if len(chunks) > 1 else None,
            )
        )
    return out


def _params(
    chunk: Sequence[tuple[int, _Item]],
    totals: dict[str, int],
    today: date,
    part: int = 1,
    parts: int = 1,
) -> dict[str, Any]:
    return {
        "items": [item.params(n) for n, item in chunk],
        "totals": totals,
        "today": today.isoformat(),
        "tomorrow": (today + timedelta(days=1)).isoformat(),
        "part": part,
        "parts": parts,
    }


def _fits(
    renderer: Renderer,
    locale: str,
    template: str,
    chunk: Sequence[tuple[int, _Item]],
    totals: dict[str, int],
    today: date,
) -> bool:
    bound = _FRAME + sum(
        _ITEM_FIXED + _units(item.first.borrower) + _units(item.first.contract_no)
        for _, item in chunk
    )
    if bound <= MESSAGE_LIMIT - MARGIN:
        return True
    # "part 10 of 10" is the longest a part line gets for any list we split.
    parts = renderer.render_parts(locale, template, **_params(chunk, totals, today, 10, 10))
    return len(parts) == 1 and visible_len(parts[0]) <= MESSAGE_LIMIT - MARGIN


def _markup(renderer: Renderer, locale: str, chunk: Sequence[tuple[int, _Item]]) -> dict[str, Any]:
    """Per item a row: Paid in full / Partial / Missed / Open case, the first numbered."""

    words: dict[str, str] = {}

    def label(text: str) -> str:
        if text not in words:
            words[text] = renderer.label(locale, text)
        return words[text]

    rows = [
        row
        for n, item in chunk
        for row in answer_rows(label, n, item.first.instalment_id, item.first.case_id)
    ]
    return {"inline_keyboard": rows}


def _units(text: str) -> int:
    """Telegram's length of ``text``: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _key(prefix: str, reminder_ids: Sequence[int]) -> str:
    """A dedupe key naming exactly these reminder rows (a message is queued once)."""
    text = ",".join(str(i) for i in sorted(set(reminder_ids)))
    return f"{prefix}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"
