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

-- legal_suspensions: a suspension of the limitation (中止, 第194条: force majeure, a debtor's death
--   without an heir yet, ...) recorded by hand when it happens; rare. ended_on NULL: the cause
--   still holds (the deadline is then open). Only one in the period's last six months counts
--   (bot.domain.legal decides).
CREATE TABLE legal_suspensions (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    started_on   TEXT NOT NULL,                   -- local date
    ended_on     TEXT,                            -- local date
    reason       TEXT NOT NULL,
    recorded_by  INTEGER REFERENCES users(id),
    recorded_at  TEXT NOT NULL
);
CREATE INDEX legal_suspensions_case ON legal_suspensions(case_id);

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
CREATE TRIGGER legal_suspensions_queue_insert AFTER INSERT ON legal_suspensions
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.case_id;
END;
CREATE TRIGGER legal_suspensions_queue_update AFTER UPDATE OF started_on, ended_on
    ON legal_suspensions
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.case_id;
END;
CREATE TRIGGER cases_queue_maturity AFTER UPDATE OF maturity ON cases
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.id;
END;

-- The queue (issue 17) ranks a case up as a legal clock nears its end (策略11; the urgency rule
-- legal.within_*). cases.legal_ends: the last days of the case's clocks still to act on
-- (bot.domain.legal.LegalClocks.ends: the limitation, each unclaimed guarantor's period, a
-- claimed guarantor's own limitation), comma-separated ISO dates, worked out from the facts
-- above; they do not depend on the day, so a summary carries them as it carries promise dates.
-- legal_fresh 0: the facts changed since (every change that marks the queue's key stale marks
-- this too, by the trigger below); the queue's refresh, the case lists and the card's read work
-- them out again first.
ALTER TABLE cases ADD COLUMN legal_ends TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN legal_fresh INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cases_legal_stale ON cases(id) WHERE legal_fresh = 0;
CREATE TRIGGER cases_legal_stale AFTER UPDATE OF q_until ON cases
    WHEN NEW.q_until = '' AND NEW.legal_fresh = 1
BEGIN
    UPDATE cases SET legal_fresh = 0 WHERE id = NEW.id;
END;
-- legal_next: the first of legal_ends on or after the day its sort key was worked out (the key
-- is valid until the day after each end, so it is the next clock's last day on every day the
-- key holds); /today's legal list reads the cases whose next end falls in its window by these
-- indexes, one per kind of viewer, as the queue's.
ALTER TABLE cases ADD COLUMN legal_next TEXT;
CREATE INDEX cases_legal_lead ON cases(lead_id, legal_next)
    WHERE legal_next IS NOT NULL AND status NOT IN ('settled', 'written_off');
CREATE INDEX cases_legal_team ON cases(team_id, legal_next)
    WHERE legal_next IS NOT NULL AND status NOT IN ('settled', 'written_off');
CREATE INDEX cases_legal_all ON cases(legal_next)
    WHERE legal_next IS NOT NULL AND status NOT IN ('settled', 'written_off');
-- Every key worked out again once, so every case gets its clocks.
UPDATE cases SET q_until = '';
