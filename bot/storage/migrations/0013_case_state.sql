-- One case state read by every view (issue 16). cases.figures_at: when the ledger's figures of
-- the case last changed (an import that changed them; NULL: at imported_at, the row's first
-- import). A payment recorded in the bot after that moment is not in the figures yet, and the
-- views subtract it; an unchanged re-import does not move it, so a payment is never taken off
-- twice, nor forgotten because the same figures were sent again. With the export's own date
-- (ledger_as_of), payments received after that date are the ones not in the figures.
ALTER TABLE cases ADD COLUMN figures_at TEXT;
