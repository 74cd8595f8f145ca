-- Cases (案件): one loan from the cooperative's ledger, its borrower, security and related
-- parties, one lead collector (strategy 12, 一以贯之). Money is integer fen; timestamps are UTC
-- ISO-8601 text; calendar dates (overdue since, maturity) are ISO dates as the ledger gives them.
-- Columns fed by the ledger are overwritten by each import; everything collectors record
-- (status, lead, notes, party attitudes, deterioration flags) is never touched by an import.
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    team_id       INTEGER REFERENCES teams(id),  -- NULL while an admin has not chosen the team
    created_by    INTEGER REFERENCES users(id),  -- NULL: the command line
    created_at    TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    data          BLOB,                          -- the file, kept until applied or cancelled
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'applied', 'cancelled')),
    summary       TEXT NOT NULL DEFAULT '{}',    -- counts of the last preview / of the apply
    decided_by    INTEGER REFERENCES users(id),
    decided_at    TEXT
);

CREATE TABLE cases (
    id                      INTEGER PRIMARY KEY,
    contract_no             TEXT NOT NULL UNIQUE,
    team_id                 INTEGER NOT NULL REFERENCES teams(id),
    lead_id                 INTEGER REFERENCES users(id),
    status                  TEXT NOT NULL DEFAULT 'open' CHECK (status IN
                            ('open', 'negotiating', 'under_agreement', 'settled', 'legal',
                             'written_off')),
    -- borrower (借款人)
    borrower_name           TEXT NOT NULL,
    borrower_id_number      TEXT,
    borrower_phone          TEXT,
    borrower_address        TEXT,
    borrower_business       TEXT,
    -- loan (借款合同)
    product                 TEXT,
    principal_outstanding   INTEGER NOT NULL,
    overdue_principal       INTEGER NOT NULL,
    overdue_interest        INTEGER NOT NULL DEFAULT 0,
    overdue_since           TEXT NOT NULL,
    maturity                TEXT,
    -- security (担保情况)
    guarantees              TEXT NOT NULL DEFAULT '',
    collateral_description  TEXT,
    collateral_value        INTEGER,
    -- for the urgency score (strategy 11)
    previous_overdue_amount INTEGER,               -- total overdue at the previous import
    deterioration           TEXT NOT NULL DEFAULT '',  -- comma-separated flags
    strong_guarantor        INTEGER NOT NULL DEFAULT 0 CHECK (strong_guarantor IN (0, 1)),
    high_default_cost       INTEGER NOT NULL DEFAULT 0 CHECK (high_default_cost IN (0, 1)),
    last_contact_at         TEXT,
    -- bookkeeping
    ledger_hash             TEXT NOT NULL,         -- of the ledger's fields: "unchanged" rows
    import_id               INTEGER REFERENCES imports(id),
    created_at              TEXT NOT NULL,
    imported_at             TEXT NOT NULL
);
CREATE INDEX cases_team ON cases(team_id, status);
CREATE INDEX cases_lead ON cases(lead_id, status);
CREATE INDEX cases_import ON cases(import_id);
CREATE INDEX cases_phone ON cases(borrower_phone);

-- Related parties (相关人), each approached on their own (strategy 9, 步步为营).
CREATE TABLE case_parties (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    role          TEXT NOT NULL CHECK (role IN
                  ('spouse', 'guarantor', 'mortgagor', 'family', 'business_partner', 'other')),
    name          TEXT NOT NULL,
    phone         TEXT,
    relationship  TEXT,
    attitude      TEXT NOT NULL DEFAULT 'unknown'
                  CHECK (attitude IN ('cooperative', 'neutral', 'hostile', 'unknown')),
    notes         TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX case_parties_person ON case_parties(case_id, role, name);

-- What collectors write down about a case; an import never touches it.
CREATE TABLE case_notes (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    author_id  INTEGER REFERENCES users(id),
    at         TEXT NOT NULL,
    text       TEXT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes(case_id, at);

-- Every change of lead collector: who, when, why (strategy 12 wants these few and visible).
CREATE TABLE case_leads (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    from_id    INTEGER REFERENCES users(id),
    to_id      INTEGER NOT NULL REFERENCES users(id),
    by_id      INTEGER REFERENCES users(id),  -- NULL: an import from the command line
    at         TEXT NOT NULL,
    reason     TEXT NOT NULL
);
CREATE INDEX case_leads_case ON case_leads(case_id, at);

-- A person's unfinished multi-step input ("send the note as your next message"), kept in the
-- database so that a restart of the bot loses nothing. One pending flow per person.
CREATE TABLE chat_states (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    flow        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL
);
