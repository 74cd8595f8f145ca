-- People, access and the audit trail. Times are UTC ISO-8601 text.
CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id               INTEGER PRIMARY KEY,
    telegram_id      INTEGER NOT NULL UNIQUE,
    name             TEXT NOT NULL DEFAULT '',   -- as Telegram shows it, refreshed
    username         TEXT,
    -- The name on the cooperative's books (the ledger's collector column is matched on it):
    -- given by the inviter, else the Telegram name at joining; never changed by Telegram.
    staff_name       TEXT,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'collector')),
    team_id          INTEGER REFERENCES teams(id),
    locale           TEXT CHECK (locale IN ('en', 'zh_Hans', 'zh_Hant')),
    telegram_locale  TEXT,
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    blocked_at       TEXT,
    created_at       TEXT NOT NULL,
    deactivated_at   TEXT
);
CREATE INDEX users_team ON users(team_id);

CREATE TABLE invites (
    code        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'collector')),
    team_id     INTEGER REFERENCES teams(id),
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_by     INTEGER REFERENCES users(id),
    used_at     TEXT,
    staff_name  TEXT  -- the invitee's name on the cooperative's books, if the inviter gave it
);

-- Who changed what and when. actor_id is NULL for the command line and the system itself.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users(id),
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_entity ON audit(entity, entity_id);

-- Small facts about this installation (the bot's username for invite links, ...).
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Messages to send later or to someone other than the person acting (an outbox): rows are
-- written in the same transaction as the change that causes them, and a clock-driven sender
-- delivers them and records Telegram's message id, so a crash never loses or repeats one.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    template      TEXT NOT NULL,
    params        TEXT NOT NULL DEFAULT '{}',
    not_before    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    sent_at       TEXT,
    message_id    INTEGER,
    dropped_at    TEXT
);
CREATE INDEX outbox_due ON outbox(not_before) WHERE sent_at IS NULL AND dropped_at IS NULL;
