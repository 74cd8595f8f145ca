-- Meetings, money received, repayment commitments with their instalments, and the supervisor's
-- approvals (issue 9). Money is integer fen. held_on / next_on / due_on / received_on are the
-- cooperative's LOCAL calendar date (ISO 'YYYY-MM-DD'); every other time is UTC ISO text.
-- Reminders (issue 10) are built on instalments: one row per agreed payment date, its amount,
-- what was paid against it and its state; nothing is ever deleted (amend and cancel keep the
-- history, instalments of an ended commitment become 'cancelled').

-- What happened at a meeting (/outcome), stored against the prep brief it was prepared with.
CREATE TABLE meetings (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    author_id      INTEGER NOT NULL REFERENCES users(id),
    prep_id        INTEGER REFERENCES preps(id),
    at             TEXT NOT NULL,                -- when it was recorded (UTC)
    held_on        TEXT NOT NULL,                -- local date
    kind           TEXT CHECK (kind IN ('investigative', 'result')),
    venue          TEXT,
    attendees      TEXT,
    step_achieved  TEXT CHECK (step_achieved IN ('yes', 'partly', 'no')),
    moved          TEXT,
    stance         TEXT,
    next_step      TEXT,
    next_on        TEXT,                         -- local date
    -- a commitment made at this meeting was agreed (策略2: meetings without one are counted)
    agreement      INTEGER NOT NULL DEFAULT 0 CHECK (agreement IN (0, 1))
);
CREATE INDEX meetings_case ON meetings(case_id, at);

-- A repayment commitment (promise to pay). promised_by_party NULL = the borrower (策略9: a
-- guarantor commits on their own). plan is the rule as the collector gave it (JSON); the
-- instalments are its dates. agreed_at: when it became agreed (策略2 counts meetings after it).
CREATE TABLE commitments (
    id                 INTEGER PRIMARY KEY,
    case_id            INTEGER NOT NULL REFERENCES cases(id),
    meeting_id         INTEGER REFERENCES meetings(id),
    created_by         INTEGER NOT NULL REFERENCES users(id),
    created_at         TEXT NOT NULL,
    promised_by_party  INTEGER REFERENCES case_parties(id),
    money_today        INTEGER NOT NULL CHECK (money_today >= 0),
    total              INTEGER NOT NULL CHECK (total >= 0),  -- the sum of the instalments
    plan               TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN
                       ('pending_approval', 'agreed', 'rejected', 'amended', 'cancelled')),
    approval_id        INTEGER REFERENCES approvals(id),
    replaces           INTEGER REFERENCES commitments(id),
    agreed_at          TEXT,
    end_reason         TEXT,
    ended_at           TEXT,
    ended_by           INTEGER REFERENCES users(id)
);
CREATE INDEX commitments_case ON commitments(case_id, created_at);
CREATE INDEX commitments_replaces ON commitments(replaces) WHERE replaces IS NOT NULL;

CREATE TABLE instalments (
    id             INTEGER PRIMARY KEY,
    commitment_id  INTEGER NOT NULL REFERENCES commitments(id),
    seq            INTEGER NOT NULL CHECK (seq >= 1),
    due_on         TEXT NOT NULL,                -- local date
    amount         INTEGER NOT NULL CHECK (amount > 0),
    paid           INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0),
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN
                   ('open', 'kept', 'partial', 'broken', 'unconfirmed', 'cancelled')),
    UNIQUE (commitment_id, seq)
);
-- What the reminders poll: open instalments by due date.
CREATE INDEX instalments_open_due ON instalments(due_on) WHERE status = 'open';

-- Money received: at a meeting (/outcome, amount 0 = "said nothing today" is kept too), as the
-- money today of a commitment (/commit), or answered to a reminder.
CREATE TABLE payments (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER NOT NULL REFERENCES cases(id),
    meeting_id       INTEGER REFERENCES meetings(id),
    commitment_id    INTEGER REFERENCES commitments(id),
    instalment_id    INTEGER REFERENCES instalments(id),
    amount           INTEGER NOT NULL CHECK (amount >= 0),
    channel          TEXT CHECK (channel IN ('cash', 'transfer', 'pos', 'other')),
    receipt_file_id  TEXT,                       -- Telegram file id of the receipt photo
    received_on      TEXT NOT NULL,              -- local date
    recorded_at      TEXT NOT NULL,
    recorded_by      INTEGER REFERENCES users(id),
    source           TEXT NOT NULL CHECK (source IN ('outcome', 'commit', 'reminder'))
);
CREATE INDEX payments_case ON payments(case_id, received_on);
CREATE INDEX payments_meeting ON payments(meeting_id) WHERE meeting_id IS NOT NULL;
CREATE INDEX payments_instalment ON payments(instalment_id) WHERE instalment_id IS NOT NULL;

-- A concession put to the supervisor (策略6 即时请示). reasons: comma list of
-- bot.domain.commitments.ApprovalReason codes; proposal / counter: JSON. flow_id: the
-- collector's flow that waits for the answer. Answered once (compare-and-set on status);
-- reminded_at: the one reminder sent to a supervisor who did not answer.
CREATE TABLE approvals (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    team_id        INTEGER NOT NULL REFERENCES teams(id),
    requested_by   INTEGER NOT NULL REFERENCES users(id),
    requested_at   TEXT NOT NULL,
    reasons        TEXT NOT NULL DEFAULT '',
    proposal       TEXT NOT NULL DEFAULT '{}',
    flow_id        INTEGER,
    commitment_id  INTEGER REFERENCES commitments(id),
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                   ('pending', 'approved', 'rejected', 'countered', 'withdrawn')),
    answered_by    INTEGER REFERENCES users(id),
    answered_at    TEXT,
    counter        TEXT,
    reminded_at    TEXT
);
CREATE INDEX approvals_pending ON approvals(team_id, requested_at) WHERE status = 'pending';
CREATE INDEX approvals_case ON approvals(case_id, requested_at);
CREATE INDEX approvals_commitment ON approvals(commitment_id) WHERE commitment_id IS NOT NULL;
