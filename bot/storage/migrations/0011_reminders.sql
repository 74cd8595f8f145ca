-- Reminders on every agreed payment date (issue 10). The database is the truth, APScheduler
-- only the clock: each instalment of an agreed commitment gets, in the commitment's own
-- transaction, the reminder rows it needs (a heads-up the day before, the due-day reminder at
-- the cooperative's reminder hour, a next-morning follow-up), one per (instalment, kind).
-- due_at is the UTC instant (the local hour on the local date, zoneinfo applied when the row
-- is written). The poller claims due rows with a lease (claimed_until): a crash releases them,
-- two processes never take the same row. status: pending → queued (an outbox row holds the
-- message, outbox_id) ; retired (answered, paid elsewhere, amended, cancelled) ; late (too old
-- at catch-up, left to the supervisor's digest) ; dead (the collector's chat is blocked/gone).
CREATE TABLE reminders (
    id             INTEGER PRIMARY KEY,
    instalment_id  INTEGER NOT NULL REFERENCES instalments(id),
    kind           TEXT NOT NULL CHECK (kind IN ('heads_up', 'due', 'follow_up')),
    due_at         TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'queued', 'retired', 'late', 'dead')),
    claimed_until  TEXT,
    collector_id   INTEGER REFERENCES users(id),   -- who it went to (set when queued)
    outbox_id      INTEGER REFERENCES outbox(id),
    created_at     TEXT NOT NULL,
    done_at        TEXT,
    UNIQUE (instalment_id, kind)
);
CREATE INDEX reminders_due ON reminders(due_at) WHERE status = 'pending';
CREATE INDEX reminders_outbox ON reminders(outbox_id) WHERE outbox_id IS NOT NULL;

-- The collector's answer to a reminder: when, by whom, and for a miss the reason.
ALTER TABLE instalments ADD COLUMN answered_at TEXT;
ALTER TABLE instalments ADD COLUMN answered_by INTEGER REFERENCES users(id);
ALTER TABLE instalments ADD COLUMN miss_reason TEXT;
ALTER TABLE instalments ADD COLUMN miss_note TEXT;
-- When the instalment left 'open' (kept, broken, unconfirmed, ...): the digest counts by it.
ALTER TABLE instalments ADD COLUMN settled_at TEXT;
CREATE INDEX instalments_settled ON instalments(settled_at) WHERE settled_at IS NOT NULL;
CREATE INDEX instalments_commitment ON instalments(commitment_id);
