-- When the user left the intake for another journey (handlers/journeys.py) with its draft
-- unfinished: the draft waits for the next /new, but a restart no longer takes it up as the
-- dialogue the user is in. NULL while the user is in the intake (every step clears it).
ALTER TABLE drafts ADD COLUMN left_at INTEGER;
