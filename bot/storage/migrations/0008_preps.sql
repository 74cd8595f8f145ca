-- Meeting preparations (/prep): every completed interview is kept with its answers, so the
-- next prep shows "last time you planned …", the card's "still unknown" list counts what was
-- found out, and a change of approach (策略12 一以贯之) is recorded with who, when and why.
CREATE TABLE preps (
    id                 INTEGER PRIMARY KEY,
    case_id            INTEGER NOT NULL REFERENCES cases(id),
    author_id          INTEGER REFERENCES users(id),
    at                 TEXT NOT NULL,
    answers            TEXT NOT NULL,           -- bot.domain.prep.PrepAnswers.to_json()
    approach           TEXT NOT NULL,           -- bot.domain.prep.Approach value
    previous_approach  TEXT,                    -- the approach of the case's previous prep
    approach_reason    TEXT                     -- why it changed (asked only when it did)
);
CREATE INDEX preps_case ON preps(case_id, at);
