-- The import of an unchanged ledger row without parsing it (issue 17, item 2). Each case keeps
-- a fingerprint of the raw cells of the ledger line that last wrote it (the columns the file
-- maps, their headers, the parser's version: bot.domain.ledger.LedgerReading.raw_hash). A line
-- of a later file with the same fingerprint would parse to the same row, so a case that has a
-- lead (the collector cell is then not read) and whose overdue date is not after the import's
-- day is "unchanged" without being parsed. NULL: written another way (the whole-file plan,
-- before this migration): the line is parsed.
ALTER TABLE cases ADD COLUMN ledger_raw_hash TEXT;

-- A party inserted for a case whose queue key is already stale ('') need not mark it again:
-- the same end state without rewriting the case's row once per party (an import of 100 000
-- new cases inserts a quarter of a million parties).
DROP TRIGGER parties_queue_insert;
CREATE TRIGGER parties_queue_insert AFTER INSERT ON case_parties
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.case_id AND q_until <> '';
END;
