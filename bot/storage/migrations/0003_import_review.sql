-- What the ledger import needs beyond 0002 (review of the import path).
--
-- cases.contract_ref: the 合同号 shown to people when the case is keyed by its 借据号 (loan
--   receipt: one contract can have several drawdowns, each its own overdue loan); NULL when
--   the key is the contract number itself.
-- cases.loan_officer: the ledger's 客户经理 / 管户人 / 责任人, who manages the loan at the branch.
--   Shown on the card; NOT the lead collector (that is 清收人员, or a supervisor's /assign).
-- cases.ledger_as_of: the export's 数据日期, when the file has one. The "debt growing" signal
--   (previous_overdue_amount) moves to the stored amount only when a newer export arrives: a
--   different as-of date, or, for files without one, a different amount. Re-sending the same
--   file keeps the signal.
ALTER TABLE cases ADD COLUMN contract_ref TEXT;
ALTER TABLE cases ADD COLUMN loan_officer TEXT;
ALTER TABLE cases ADD COLUMN ledger_as_of TEXT;

-- Related parties. A party the ledger gives only by phone (担保人 "（138…）") is keyed by that
-- phone, so two of them no longer collapse into one. ledger_phone is the phone as the ledger
-- last gave it: a corrected phone in the ledger replaces the stored one only while the stored
-- one is still the ledger's (a collector's correction wins). in_ledger: 1 = in the latest
-- import, 0 = the ledger no longer lists them (kept, marked), NULL = added by a collector.
ALTER TABLE case_parties ADD COLUMN ledger_phone TEXT;
ALTER TABLE case_parties ADD COLUMN in_ledger INTEGER CHECK (in_ledger IN (0, 1));
DROP INDEX case_parties_person;
CREATE UNIQUE INDEX case_parties_person ON case_parties
    (case_id, role, name, (CASE WHEN name = '' THEN ifnull(phone, '') ELSE '' END));
