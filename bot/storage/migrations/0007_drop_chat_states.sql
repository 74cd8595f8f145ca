-- Multi-step exchanges keep their state in flows (0005); the one-slot-per-person chat_states
-- table had no reader left. A question that was waiting in it is asked again by starting over.
DROP TABLE IF EXISTS chat_states;
