-- PostgreSQL's 0019: the shared file in PostgreSQL's DDL. Keys that are Telegram's own ids or
-- a place's number are plain BIGINT keys (the translation would make them identities), a
-- chat's tokens DOUBLE PRECISION (REAL is four bytes there). Keep the two in step.
-- Several bot processes (replicas) on one database (issue 18).
--
-- Every lease names its holder (the replica's stable identity, QINGSHOU_INSTANCE), so a
-- replica restarted after a kill takes back at once what it held itself instead of waiting
-- for its leases to run out. Written in SQL that PostgreSQL runs as is (chat ids: BIGINT
-- there; times are ISO-8601 UTC text, as everywhere in this schema).
ALTER TABLE inbox ADD COLUMN claimed_by TEXT;
ALTER TABLE inbox ADD COLUMN claimed_until TEXT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE reminders ADD COLUMN claimed_by TEXT;

-- A chat's updates are handled one at a time, in order, by whichever replica holds its lease
-- (taken before an update is handled, renewed while it runs, handed on to the chat's next
-- pending update or deleted after).
CREATE TABLE chat_leases (
    chat_id  BIGINT PRIMARY KEY,
    holder   TEXT NOT NULL,
    until    TEXT NOT NULL
);
CREATE INDEX inbox_pending_chat ON inbox(chat_id, update_id)
    WHERE handled_at IS NULL AND set_aside_at IS NULL;

-- Telegram's 30 messages a second, shared by every replica: one row per place of the window.
-- A send holds a place from before the call until one second after its answer (until: NULL
-- when free); a crashed holder's place frees itself at its until.
CREATE TABLE send_places (
    place   BIGINT PRIMARY KEY,
    holder  TEXT,
    until   TEXT
);

-- Each chat's pace, shared by every replica: Telegram's token bucket (about one message a
-- second after a burst of three) as ``tokens`` left at ``at``, and flood control for that
-- chat only (a 429 with retry_after on a send to it: ``held_until``).
CREATE TABLE chat_pace (
    chat_id     BIGINT PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    at          TEXT NOT NULL,
    held_until  TEXT
);

-- When each stranger was last answered (one answer per quiet period, whichever replica).
CREATE TABLE stranger_replies (
    telegram_id  BIGINT PRIMARY KEY,
    at           TEXT NOT NULL
);

-- The replicas alive: a second live process with the same identity is refused at start-up.
CREATE TABLE replicas (
    instance    TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    pid         BIGINT NOT NULL,
    started_at  TEXT NOT NULL,
    seen_until  TEXT NOT NULL
);

-- A restarted replica's take-back reads only the rows still leased.
CREATE INDEX outbox_claimed_by ON outbox(claimed_by) WHERE claimed_until IS NOT NULL;
CREATE INDEX reminders_claimed_by ON reminders(claimed_by) WHERE claimed_until IS NOT NULL;
