-- The queue from an index (issue 17). Each case stores what the queue sorts it by
-- (bot.domain.queue.QueueKey): score, overdue-since (days past due, as a date that does not
-- move), amount owed; whether it is on today's list whatever its rank; and the days the key is
-- valid for [q_from, q_until). A page of /cases is then an index range, not a ranking of every
-- case. q_until '' (before every date): the facts changed and the key must be worked out again. The triggers
-- below set it in the very transaction of every write that changes a fact the score reads
-- (import, payment, commitment, instalment answer, meeting, prep flags, parties), whichever
-- code path makes it; the key itself is computed by bot.domain.queue.queue_key, before a read
-- pages the queue and by the daily job for the parts that move with the date.
ALTER TABLE cases ADD COLUMN q_score INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN q_since TEXT NOT NULL DEFAULT '9999-12-31';
ALTER TABLE cases ADD COLUMN q_owed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN q_urgent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN q_from TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN q_until TEXT NOT NULL DEFAULT '';

-- One index per kind of viewer (a collector: own cases; a supervisor: the team's; an admin:
-- all), in queue order; the case id (rowid) ends every index entry, the last tie-break.
CREATE INDEX cases_queue_lead ON cases(lead_id, q_score DESC, q_since, q_owed DESC)
    WHERE status NOT IN ('settled', 'written_off');
CREATE INDEX cases_queue_team ON cases(team_id, q_score DESC, q_since, q_owed DESC)
    WHERE status NOT IN ('settled', 'written_off');
CREATE INDEX cases_queue_all ON cases(q_score DESC, q_since, q_owed DESC)
    WHERE status NOT IN ('settled', 'written_off');
-- Keys to work out again: changed ('' sorts first), or out of their days.
CREATE INDEX cases_queue_until ON cases(q_until) WHERE status NOT IN ('settled', 'written_off');
CREATE INDEX cases_queue_from ON cases(q_from) WHERE status NOT IN ('settled', 'written_off');

CREATE TRIGGER cases_queue_facts AFTER UPDATE OF
    overdue_principal, overdue_interest, overdue_since, previous_overdue_amount,
    collateral_value, collateral_description, deterioration, strong_guarantor,
    high_default_cost, last_contact_at, guarantees, ledger_gaps, ledger_as_of, figures_at,
    imported_at, status ON cases
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.id;
END;

CREATE TRIGGER parties_queue_insert AFTER INSERT ON case_parties
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.case_id;
END;
CREATE TRIGGER parties_queue_update AFTER UPDATE OF case_id, role ON case_parties
BEGIN
    UPDATE cases SET q_until = '' WHERE id IN (OLD.case_id, NEW.case_id);
END;
CREATE TRIGGER parties_queue_delete AFTER DELETE ON case_parties
BEGIN
    UPDATE cases SET q_until = '' WHERE id = OLD.case_id;
END;

CREATE TRIGGER commitments_queue_insert AFTER INSERT ON commitments
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.case_id;
END;
CREATE TRIGGER commitments_queue_update AFTER UPDATE OF case_id, status ON commitments
BEGIN
    UPDATE cases SET q_until = '' WHERE id IN (OLD.case_id, NEW.case_id);
END;
CREATE TRIGGER commitments_queue_delete AFTER DELETE ON commitments
BEGIN
    UPDATE cases SET q_until = '' WHERE id = OLD.case_id;
END;

CREATE TRIGGER instalments_queue_insert AFTER INSERT ON instalments
BEGIN
    UPDATE cases SET q_until = ''
    WHERE id = (SELECT case_id FROM commitments WHERE id = NEW.commitment_id);
END;
CREATE TRIGGER instalments_queue_update AFTER UPDATE OF commitment_id, due_on, status
    ON instalments
BEGIN
    UPDATE cases SET q_until = '' WHERE id IN
        (SELECT case_id FROM commitments WHERE id IN (OLD.commitment_id, NEW.commitment_id));
END;
CREATE TRIGGER instalments_queue_delete AFTER DELETE ON instalments
BEGIN
    UPDATE cases SET q_until = ''
    WHERE id = (SELECT case_id FROM commitments WHERE id = OLD.commitment_id);
END;

CREATE TRIGGER payments_queue_insert AFTER INSERT ON payments
BEGIN
    UPDATE cases SET q_until = '' WHERE id = NEW.case_id;
END;
CREATE TRIGGER payments_queue_update AFTER UPDATE OF case_id, amount, received_on, recorded_at
    ON payments
BEGIN
    UPDATE cases SET q_until = '' WHERE id IN (OLD.case_id, NEW.case_id);
END;
CREATE TRIGGER payments_queue_delete AFTER DELETE ON payments
BEGIN
    UPDATE cases SET q_until = '' WHERE id = OLD.case_id;
END;

-- How many open cases (and how many of them urgent: on today's list whatever their rank) each
-- lead holds in each team (lead_id 0: no lead yet), kept by triggers, so the queue's "page n
-- of m" is a sum over a few rows, not a count over every case a viewer sees.
CREATE TABLE queue_counts (
    team_id  INTEGER NOT NULL,
    lead_id  INTEGER NOT NULL,
    cases    INTEGER NOT NULL,
    urgent   INTEGER NOT NULL,
    PRIMARY KEY (team_id, lead_id)
) WITHOUT ROWID;
CREATE INDEX queue_counts_lead ON queue_counts(lead_id);
INSERT INTO queue_counts (team_id, lead_id, cases, urgent)
    SELECT team_id, COALESCE(lead_id, 0), COUNT(*), 0 FROM cases
    WHERE status NOT IN ('settled', 'written_off') GROUP BY team_id, COALESCE(lead_id, 0);

CREATE TRIGGER cases_count_insert AFTER INSERT ON cases
    WHEN NEW.status NOT IN ('settled', 'written_off')
BEGIN
    INSERT INTO queue_counts (team_id, lead_id, cases, urgent)
        VALUES (NEW.team_id, COALESCE(NEW.lead_id, 0), 1, NEW.q_urgent)
        ON CONFLICT (team_id, lead_id)
        DO UPDATE SET cases = cases + 1, urgent = urgent + excluded.urgent;
END;
CREATE TRIGGER cases_count_delete AFTER DELETE ON cases
    WHEN OLD.status NOT IN ('settled', 'written_off')
BEGIN
    UPDATE queue_counts SET cases = cases - 1, urgent = urgent - OLD.q_urgent
    WHERE team_id = OLD.team_id AND lead_id = COALESCE(OLD.lead_id, 0);
END;
CREATE TRIGGER cases_count_update AFTER UPDATE OF status, team_id, lead_id, q_urgent ON cases
    WHEN OLD.status IS NOT NEW.status OR OLD.team_id IS NOT NEW.team_id
        OR OLD.lead_id IS NOT NEW.lead_id OR OLD.q_urgent IS NOT NEW.q_urgent
BEGIN
    UPDATE queue_counts SET cases = cases - 1, urgent = urgent - OLD.q_urgent
    WHERE OLD.status NOT IN ('settled', 'written_off')
        AND team_id = OLD.team_id AND lead_id = COALESCE(OLD.lead_id, 0);
    INSERT INTO queue_counts (team_id, lead_id, cases, urgent)
        SELECT NEW.team_id, COALESCE(NEW.lead_id, 0), 1, NEW.q_urgent
        WHERE NEW.status NOT IN ('settled', 'written_off')
        ON CONFLICT (team_id, lead_id)
        DO UPDATE SET cases = cases + 1, urgent = urgent + excluded.urgent;
END;
