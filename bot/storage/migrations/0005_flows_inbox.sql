-- Flows, effects, the inbox, and deferred Bot API calls in the outbox (issue 7).
--
-- flows: one row per started multi-step exchange (a note, an assignment with its reason, an
--   invite, an import decision). At most one 'open' flow per person (the one their next message
--   or button answers) and one 'waiting' (started while another was open: "continue X / drop
--   X"). Every step is a compare-and-set on version. The ended rows stay, so a replayed update
--   is recognised by last_update_id. (chat_states stays until the handlers no longer use it.)
CREATE TABLE flows (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    flow            TEXT NOT NULL,
    step            TEXT NOT NULL,
    data            TEXT NOT NULL DEFAULT '{}',
    case_id         INTEGER,             -- the case it is about, if any (no FK: cases may go)
    message_id      INTEGER,             -- the Telegram message that asked the open question
    version         INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN
                    ('open', 'waiting', 'done', 'cancelled', 'expired', 'dropped')),
    last_update_id  INTEGER,             -- the latest Telegram update this flow acted on
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX flows_one_open ON flows(user_id) WHERE status = 'open';
CREATE UNIQUE INDEX flows_one_waiting ON flows(user_id) WHERE status = 'waiting';
CREATE INDEX flows_user ON flows(user_id, last_update_id);

-- effects: idempotency keys of writes done at the end of a flow. The key row is written in the
--   same transaction as the write, so a replayed update finds it and does not write twice.
CREATE TABLE effects (
    key     TEXT PRIMARY KEY,
    result  TEXT NOT NULL DEFAULT '{}',
    at      TEXT NOT NULL
);

-- inbox: every update from Telegram, written before Telegram is told it arrived; marked
--   handled when done, set aside when it cannot be handled (a poison update). On start-up the
--   pending ones are handled first.
CREATE TABLE inbox (
    update_id         INTEGER PRIMARY KEY,
    chat_id           INTEGER,
    payload           TEXT NOT NULL,     -- the raw JSON as received
    received_at       TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    handled_at        TEXT,
    set_aside_at      TEXT,
    set_aside_reason  TEXT
);
CREATE INDEX inbox_pending ON inbox(update_id) WHERE handled_at IS NULL AND set_aside_at IS NULL;

-- outbox, rebuilt: a row is either a message rendered from a template for a user (as before)
--   or a Bot API call that could not be made within its retries (kind 'call': method and its
--   parameters as JSON), sent again in order per chat when Telegram accepts again. user_id is
--   NULL for calls to chats that are not a registered user's.
CREATE TABLE outbox_new (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER REFERENCES users(id),
    chat_id       INTEGER,
    kind          TEXT NOT NULL DEFAULT 'template' CHECK (kind IN ('template', 'call')),
    template      TEXT NOT NULL DEFAULT '',
    params        TEXT NOT NULL DEFAULT '{}',
    method        TEXT,
    payload       TEXT,
    not_before    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    sent_at       TEXT,
    message_id    INTEGER,
    dropped_at    TEXT
);
INSERT INTO outbox_new (id, user_id, chat_id, kind, template, params, not_before, created_at,
                        attempts, last_error, sent_at, message_id, dropped_at)
    SELECT o.id, o.user_id, (SELECT u.telegram_id FROM users u WHERE u.id = o.user_id),
           'template', o.template, o.params, o.not_before, o.created_at, o.attempts,
           o.last_error, o.sent_at, o.message_id, o.dropped_at
    FROM outbox o;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(not_before) WHERE sent_at IS NULL AND dropped_at IS NULL;
CREATE INDEX outbox_calls ON outbox(chat_id, id)
    WHERE kind = 'call' AND sent_at IS NULL AND dropped_at IS NULL;
