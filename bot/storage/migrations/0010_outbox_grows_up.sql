-- The outbox grows up (issue 10): a message can carry reply markup and be a photo or a
-- document; a dedupe key makes "once per X" a database rule; a group key ties the messages of
-- one fan-out (a digest's text and its chart); priority orders the lanes (0 interactive,
-- 1 notification, 2 bulk: a reminder fan-out never holds up an answer to a person).
ALTER TABLE outbox ADD COLUMN media TEXT NOT NULL DEFAULT 'text'
    CHECK (media IN ('text', 'photo', 'document'));
ALTER TABLE outbox ADD COLUMN attachment BLOB;          -- the photo or document bytes
ALTER TABLE outbox ADD COLUMN filename TEXT;
ALTER TABLE outbox ADD COLUMN markup TEXT;              -- InlineKeyboardMarkup as JSON
ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;
ALTER TABLE outbox ADD COLUMN group_key TEXT;
ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
-- A lease: the sender that claimed the row and until when (a crash releases it).
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
CREATE UNIQUE INDEX outbox_dedupe ON outbox(dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX outbox_group ON outbox(group_key) WHERE group_key IS NOT NULL;
-- A chat's live rows in id order: a row waits while an earlier row of its chat is leased.
CREATE INDEX outbox_chat_live ON outbox(chat_id, id) WHERE sent_at IS NULL AND dropped_at IS NULL;
-- The rows under a lease (few: in flight, or left by a crash), by chat.
CREATE INDEX outbox_leased ON outbox(chat_id, id)
    WHERE claimed_until IS NOT NULL AND sent_at IS NULL AND dropped_at IS NULL;
