-- The supervisor's daily digest (issue 11). One digest_runs row per recipient per LOCAL day
-- (unique): written with the digest's outbox rows in one transaction, so it goes out exactly
-- once, also across restarts and DST change days. user_settings: a supervisor's own digest
-- time (local 'HH:MM', NULL = the cooperative's) and weekend mute.
CREATE TABLE digest_runs (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    local_date  TEXT NOT NULL,
    scope       TEXT NOT NULL DEFAULT 'team' CHECK (scope IN ('team', 'cooperative')),
    created_at  TEXT NOT NULL,
    group_key   TEXT NOT NULL,                 -- the outbox rows of this digest
    UNIQUE (user_id, local_date)
);

CREATE TABLE user_settings (
    user_id        INTEGER PRIMARY KEY REFERENCES users(id),
    digest_time    TEXT,
    mute_weekends  INTEGER NOT NULL DEFAULT 0 CHECK (mute_weekends IN (0, 1)),
    updated_at     TEXT NOT NULL
);

-- Digest queries read payments by date and meetings by time per case.
CREATE INDEX payments_received ON payments(received_on);
CREATE INDEX instalments_due_all ON instalments(due_on);
-- Meetings of a day per author (the collector lines), lead and approach changes of a day
-- (策略12), the last agreement per case (策略2's stalled cases), reminders given up.
CREATE INDEX meetings_held ON meetings(held_on, author_id);
CREATE INDEX case_leads_at ON case_leads(at);
CREATE INDEX preps_at ON preps(at);
CREATE INDEX commitments_agreed ON commitments(case_id, agreed_at) WHERE agreed_at IS NOT NULL;
CREATE INDEX reminders_dead ON reminders(done_at) WHERE status = 'dead';
-- Covering indexes, so that the digest of a team of 100,000 cases reads index pages only:
-- the team's open cases with what the lists filter and sort on (untouched: the expression is
-- the one the queries use), the case and commitment behind an instalment, the settled and
-- due instalments and the payments of a window with the columns summed.
CREATE INDEX cases_digest ON cases(team_id, status, lead_id, overdue_since, deterioration,
                                   COALESCE(last_contact_at, created_at));
CREATE INDEX cases_team_of ON cases(id, team_id, lead_id, status);
CREATE INDEX commitments_case_of ON commitments(id, case_id);
CREATE INDEX instalments_settled_digest ON instalments(settled_at, status, commitment_id)
    WHERE settled_at IS NOT NULL;
CREATE INDEX instalments_due_digest ON instalments(due_on, status, commitment_id, amount, paid);
CREATE INDEX payments_received_digest ON payments(received_on, case_id, amount, source);
CREATE INDEX meetings_agreement ON meetings(case_id, agreement, at);
-- Reminders left to the digest after downtime ('late'), by when they were given up.
CREATE INDEX reminders_late ON reminders(done_at) WHERE status = 'late';
