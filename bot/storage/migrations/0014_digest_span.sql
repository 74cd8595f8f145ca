-- The digest counts since the recipient's previous digest (issue 16), not calendar yesterday:
-- money by when it was recorded, meetings by when they were recorded, the last run per person.
CREATE INDEX payments_recorded_digest ON payments(recorded_at, case_id, amount, source);
CREATE INDEX meetings_recorded ON meetings(at, author_id, case_id);
CREATE INDEX digest_runs_last ON digest_runs(user_id, created_at);
