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

-- The same for a change of the case's own facts: a case already stale is not rewritten again
-- (an import's statements touch a case several times in one transaction: its figures, its
-- ledger gaps, its lead).
DROP TRIGGER cases_queue_facts;
CREATE TRIGGER cases_queue_facts AFTER UPDATE OF
    overdue_principal, overdue_interest, overdue_since, previous_overdue_amount,
    collateral_value, collateral_description, deterioration, strong_guarantor,
    high_default_cost, last_contact_at, guarantees, ledger_gaps, ledger_as_of, figures_at,
    imported_at, status ON cases
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.id AND q_until <> '';
END;
