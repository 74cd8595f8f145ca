-- cases.ledger_gaps: the facts the ledger file of the case's last import had no column for,
-- comma-separated bot.domain.casefile.LedgerGap values ('balance', 'collateral', 'guarantees');
-- '' = the file had them all (or the rows were not read from a file). The card then says "not
-- in the file" instead of showing the overdue principal as the balance or "none on file" as
-- the security, and the urgency score claims no weak fallback it cannot know. Written by every
-- import for every row it touches (new, updated and unchanged), from ledger_gaps(plan.columns).
ALTER TABLE cases ADD COLUMN ledger_gaps TEXT NOT NULL DEFAULT '';
