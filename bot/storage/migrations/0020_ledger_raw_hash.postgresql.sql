-- The shared file's column (the raw fingerprint of the ledger line that last wrote the case).
-- Its trigger changes are SQLite's alone: on PostgreSQL the queue's triggers already set the
-- key stale before the row is written (0016's override), with no second write to spare.
ALTER TABLE cases ADD COLUMN ledger_raw_hash TEXT;
