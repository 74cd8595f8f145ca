-- A change of lead collector for "other reason" keeps the supervisor's own words (strategy 12:
-- a change of people must have a real, recorded reason). NULL for the listed reasons.
ALTER TABLE case_leads ADD COLUMN note TEXT;
