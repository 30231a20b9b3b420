-- The tally function in PL/pgSQL instead of SQL, the same statement: a SQL-language function
-- called from a trigger is planned again at every call (the view's four axes, the join and the
-- upsert), a PL/pgSQL one plans its statement once per session and keeps it. Every write that
-- changes a request calls it twice (before: its old counts out; after: its new ones in), on
-- the request desk's hottest path: an UPDATE of a request's status went from 1.7 ms to 0.9 ms
-- on the server (docs/postgresql.md, "Figures").
CREATE OR REPLACE FUNCTION request_tally_change(sign BIGINT, changed BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO request_tallies AS t
    SELECT axis, key, sign * received, sign * resolved, sign * solved,
        sign * ack_tracked, sign * responded_on_time, sign * rated,
        sign * satisfied, sign * open_with_deadline
    FROM request_tally_rows WHERE id = changed
    ON CONFLICT (axis, key) DO UPDATE SET
        received = t.received + excluded.received, resolved = t.resolved + excluded.resolved,
        solved = t.solved + excluded.solved, ack_tracked = t.ack_tracked + excluded.ack_tracked,
        responded_on_time = t.responded_on_time + excluded.responded_on_time,
        rated = t.rated + excluded.rated, satisfied = t.satisfied + excluded.satisfied,
        open_with_deadline = t.open_with_deadline + excluded.open_with_deadline;
END $$;
