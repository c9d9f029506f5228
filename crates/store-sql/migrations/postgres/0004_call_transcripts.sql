-- Ringbase schema, PostgreSQL: 0004.
-- A call's transcript (issue 5): text from a speech-to-text integration, set after the call
-- through the call update endpoint; NULL until then.
ALTER TABLE calls ADD COLUMN transcript TEXT;
