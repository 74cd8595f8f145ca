-- PostgreSQL's 0016: the shared file's columns and indexes (translated), its triggers as
-- trigger functions. Keep the two in step: a trigger changed there is changed here.
-- The queue from an index (issue 17). Each case stores what the queue sorts it by
-- (bot.domain.queue.QueueKey): score, overdue-since (days past due, as a date that does not
-- move), amount owed; whether it is on today's list whatever its rank; and the days the key is
-- valid for [q_from, q_until). A page of /cases is then an index range, not a ranking of every
-- case. q_until '' (before every date): the facts changed and the key must be worked out again. The triggers
-- below set it in the very transaction of every write that changes a fact the score reads
-- (import, payment, commitment, instalment answer, meeting, prep flags, parties), whichever
-- code path makes it; the key itself is computed by bot.domain.queue.queue_key, before a read
-- pages the queue and by the daily job for the parts that move with the date.
ALTER TABLE cases ADD COLUMN q_score BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN q_since TEXT NOT NULL DEFAULT '9999-12-31';
ALTER TABLE cases ADD COLUMN q_owed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN q_urgent BIGINT NOT NULL DEFAULT 0;
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

-- The same triggers as the shared file, in PostgreSQL's form (a trigger runs a function).
-- A fact of the case itself changed: its key is worked out again (before the row is written).
CREATE FUNCTION cases_queue_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.q_until := '';
    RETURN NEW;
END $$;
CREATE TRIGGER cases_queue_facts BEFORE UPDATE OF
    overdue_principal, overdue_interest, overdue_since, previous_overdue_amount,
    collateral_value, collateral_description, deterioration, strong_guarantor,
    high_default_cost, last_contact_at, guarantees, ledger_gaps, ledger_as_of, figures_at,
    imported_at, status ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_queue_facts();

-- A row naming a case by case_id (party, commitment, payment) came, changed or went.
CREATE FUNCTION queue_mark_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE cases SET q_until = '' WHERE id = OLD.case_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE cases SET q_until = '' WHERE id = NEW.case_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER parties_queue_insert AFTER INSERT ON case_parties
    FOR EACH ROW EXECUTE FUNCTION queue_mark_case();
CREATE TRIGGER parties_queue_update AFTER UPDATE OF case_id, role ON case_parties
    FOR EACH ROW EXECUTE FUNCTION queue_mark_case();
CREATE TRIGGER parties_queue_delete AFTER DELETE ON case_parties
    FOR EACH ROW EXECUTE FUNCTION queue_mark_case();
CREATE TRIGGER commitments_queue_insert AFTER INSERT ON commitments
    FOR EACH ROW EXECUTE FUNCTION queue_mark_case();
CREATE TRIGGER commitments_queue_update AFTER UPDATE OF case_id, status ON commitments
    FOR EACH ROW EXECUTE FUNCTION queue_mark_case();
CREATE TRIGGER commitments_queue_delete AFTER DELETE ON commitments
    FOR EACH ROW EXECUTE FUNCTION queue_mark_case();
CREATE TRIGGER payments_queue_insert AFTER INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION queue_mark_case();
CREATE TRIGGER payments_queue_update AFTER UPDATE OF case_id, amount, received_on, recorded_at
    ON payments FOR EACH ROW EXECUTE FUNCTION queue_mark_case();
CREATE TRIGGER payments_queue_delete AFTER DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION queue_mark_case();

-- An instalment names its case through its commitment.
CREATE FUNCTION instalments_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE cases SET q_until = ''
        WHERE id = (SELECT case_id FROM commitments WHERE id = OLD.commitment_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE cases SET q_until = ''
        WHERE id = (SELECT case_id FROM commitments WHERE id = NEW.commitment_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER instalments_queue_insert AFTER INSERT ON instalments
    FOR EACH ROW EXECUTE FUNCTION instalments_queue();
CREATE TRIGGER instalments_queue_update AFTER UPDATE OF commitment_id, due_on, status
    ON instalments FOR EACH ROW EXECUTE FUNCTION instalments_queue();
CREATE TRIGGER instalments_queue_delete AFTER DELETE ON instalments
    FOR EACH ROW EXECUTE FUNCTION instalments_queue();

-- How many open cases (and how many of them urgent) each lead holds in each team (lead_id 0:
-- no lead yet), kept by triggers (see the shared file).
CREATE TABLE queue_counts (
    team_id  BIGINT NOT NULL,
    lead_id  BIGINT NOT NULL,
    cases    BIGINT NOT NULL,
    urgent   BIGINT NOT NULL,
    PRIMARY KEY (team_id, lead_id)
);
CREATE INDEX queue_counts_lead ON queue_counts(lead_id);
INSERT INTO queue_counts (team_id, lead_id, cases, urgent)
    SELECT team_id, COALESCE(lead_id, 0), COUNT(*), 0 FROM cases
    WHERE status NOT IN ('settled', 'written_off') GROUP BY team_id, COALESCE(lead_id, 0);

CREATE FUNCTION cases_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status NOT IN ('settled', 'written_off') THEN
        UPDATE queue_counts SET cases = cases - 1, urgent = urgent - OLD.q_urgent
        WHERE team_id = OLD.team_id AND lead_id = COALESCE(OLD.lead_id, 0);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status NOT IN ('settled', 'written_off') THEN
        INSERT INTO queue_counts AS q (team_id, lead_id, cases, urgent)
            VALUES (NEW.team_id, COALESCE(NEW.lead_id, 0), 1, NEW.q_urgent)
            ON CONFLICT (team_id, lead_id)
            DO UPDATE SET cases = q.cases + 1, urgent = q.urgent + excluded.urgent;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER cases_count_insert AFTER INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_count();
CREATE TRIGGER cases_count_delete AFTER DELETE ON cases
    FOR EACH ROW EXECUTE FUNCTION cases_count();
CREATE TRIGGER cases_count_update AFTER UPDATE OF status, team_id, lead_id, q_urgent ON cases
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.team_id IS DISTINCT FROM NEW.team_id
        OR OLD.lead_id IS DISTINCT FROM NEW.lead_id OR OLD.q_urgent IS DISTINCT FROM NEW.q_urgent)
    EXECUTE FUNCTION cases_count();
