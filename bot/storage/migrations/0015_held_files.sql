-- held_files (issue 16): a ledger file sent while a question of another kind was open (a CSV
--   during /assign's choice) is kept here, and offered ("Import the ledger you sent?") once no
--   question is open. The Telegram file id is kept, not the bytes (a bot's file ids do not
--   expire): the file is downloaded when the person taps Import. One row per update, so a
--   replayed update keeps the file once. held → offered (the question sent) → imported or
--   discarded (a tap; compare-and-set, so a double tap imports once).
CREATE TABLE held_files (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    file_id     TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    file_size   INTEGER,
    update_id   INTEGER UNIQUE,
    status      TEXT NOT NULL DEFAULT 'held' CHECK (status IN
                ('held', 'offered', 'imported', 'discarded')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX held_files_user ON held_files(user_id, status);
