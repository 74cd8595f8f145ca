-- Legal clocks (issue 19): what the clocks of bot.domain.legal read beyond what cases already
-- keep (the due date is cases.maturity, 到期日; the borrower's payments and agreed plans are in
-- payments / commitments / instalments).

-- guarantee_facts: one row per guarantor (a case_parties row of role 'guarantor'): the kind of
--   the guarantee (保证方式: 'general' 一般保证 / 'joint' 连带责任保证; NULL = not in the file, never
--   assumed, 第686条) and the agreed end of the guarantee period (保证期间; NULL = none agreed or
--   not in the file: 6 months from the due date, 第692条). source: 'import' (the ledger's
--   columns) or 'asked' (a collector answered the card's question once).
CREATE TABLE guarantee_facts (
    party_id    INTEGER PRIMARY KEY REFERENCES case_parties(id),
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    kind        TEXT CHECK (kind IN ('general', 'joint')),
    agreed_end  TEXT,                              -- local date
    source      TEXT NOT NULL CHECK (source IN ('import', 'asked')),
    set_by      INTEGER REFERENCES users(id),      -- NULL: an import from the command line
    set_at      TEXT NOT NULL
);
CREATE INDEX guarantee_facts_case ON guarantee_facts(case_id);

-- legal_documents: a paper issued for a case (催收通知书 collection notice, 还款协议 repayment
--   agreement, or the court's receipt of a suit), addressed to the borrower (party_id NULL) or
--   one related party (策略9: one notice per person); and, once its signed copy came back, the
--   filing: signed_on (the local date on the signed copy: the clock restarts from it), the
--   photo's Telegram file id, who filed it and when. Filed once (compare-and-set on signed_on).
CREATE TABLE legal_documents (
    id                INTEGER PRIMARY KEY,
    case_id           INTEGER NOT NULL REFERENCES cases(id),
    kind              TEXT NOT NULL CHECK (kind IN
                      ('collection_notice', 'repayment_agreement', 'court_filing')),
    party_id          INTEGER REFERENCES case_parties(id),
    commitment_id     INTEGER REFERENCES commitments(id),
    issued_at         TEXT NOT NULL,
    issued_by         INTEGER REFERENCES users(id),
    signed_on         TEXT,                        -- local date
    evidence_file_id  TEXT,
    filed_by          INTEGER REFERENCES users(id),
    filed_at          TEXT
);
CREATE INDEX legal_documents_case ON legal_documents(case_id, issued_at);

-- The batched read of a viewer's clocks walks these by case: agreed plans and payments of the
-- viewer's cases (commitments_case and payments_case exist already).

-- A filed document or a guarantee fact changes the case's clocks, so its queue key too.
CREATE TRIGGER legal_documents_queue_insert AFTER INSERT ON legal_documents
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.case_id;
END;
CREATE TRIGGER legal_documents_queue_update AFTER UPDATE OF signed_on, party_id, kind
    ON legal_documents
BEGIN
    UPDATE cases SET q_until = '' WHERE id IN (OLD.case_id, NEW.case_id);
END;
CREATE TRIGGER guarantee_facts_queue_insert AFTER INSERT ON guarantee_facts
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.case_id;
END;
CREATE TRIGGER guarantee_facts_queue_update AFTER UPDATE OF kind, agreed_end ON guarantee_facts
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.case_id;
END;
CREATE TRIGGER cases_queue_maturity AFTER UPDATE OF maturity ON cases
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.id;
END;
