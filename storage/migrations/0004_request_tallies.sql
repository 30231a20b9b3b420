-- /stats at province scale (issue #7): the program's counts per category, city, stage and
-- official, kept by triggers in the same transaction as every write to a request, so that
-- /stats reads a few thousand rows instead of aggregating a million requests. Only the two
-- counts that depend on the clock are corrected at read time, from the few requests whose
-- deadlines are still ahead (storage/stats.py).

-- When an open request is (or becomes) overdue: its resolve deadline, or its acknowledge
-- deadline while it is unacknowledged, whichever comes first; NULL when it has neither.
ALTER TABLE requests ADD COLUMN overdue_at INTEGER GENERATED ALWAYS AS (
    CASE WHEN acknowledged_at IS NULL AND acknowledge_due_at IS NOT NULL
         THEN min(acknowledge_due_at, COALESCE(resolve_due_at, acknowledge_due_at))
         ELSE resolve_due_at END
) VIRTUAL;

-- The status list is storage.stats.OPEN_STATUSES, in that order: the queries must repeat it
-- exactly for SQLite to use these partial indexes.
CREATE INDEX requests_open_by_deadline ON requests(overdue_at)
WHERE status IN ('submitted', 'assigned', 'acknowledged', 'in_progress', 'waiting', 'reopened');
CREATE INDEX requests_unacknowledged_by_deadline ON requests(acknowledge_due_at)
WHERE acknowledged_at IS NULL AND status != 'withdrawn';

-- One row per (axis, key); key is the category, the city code, the stage, or the official's id
-- as text ('' for requests no official holds). Withdrawn requests are counted nowhere.
-- ack_tracked: requests with an acknowledge deadline; open_with_deadline: open requests with a
-- deadline (overdue_at). The rest are the columns of bot.stats.Tally.
CREATE TABLE request_tallies (
    axis                TEXT NOT NULL CHECK (axis IN ('category', 'city', 'stage', 'official')),
    key                 TEXT NOT NULL,
    received            INTEGER NOT NULL,
    resolved            INTEGER NOT NULL,
    solved              INTEGER NOT NULL,
    ack_tracked         INTEGER NOT NULL,
    responded_on_time   INTEGER NOT NULL,
    rated               INTEGER NOT NULL,
    satisfied           INTEGER NOT NULL,
    open_with_deadline  INTEGER NOT NULL,
    PRIMARY KEY (axis, key)
) WITHOUT ROWID;

-- What one stored request counts for, under each axis: every counted column is defined here
-- once, for the triggers and the backfill alike.
CREATE VIEW request_tally_rows AS
SELECT r.id, a.axis,
    CASE a.axis WHEN 'category' THEN r.category WHEN 'city' THEN e.city
        WHEN 'stage' THEN e.stage ELSE CAST(IFNULL(r.official_id, '') AS TEXT) END AS key,
    1 AS received,
    r.resolved_at IS NOT NULL AS resolved,
    r.outcome IS 'solved' AS solved,
    r.acknowledge_due_at IS NOT NULL AS ack_tracked,
    IFNULL(r.acknowledged_at <= r.acknowledge_due_at, 0) AS responded_on_time,
    r.rating IS NOT NULL AS rated,
    IFNULL(r.rating >= 4, 0) AS satisfied,
    r.overdue_at IS NOT NULL AND r.status IN ('submitted', 'assigned', 'acknowledged',
        'in_progress', 'waiting', 'reopened') AS open_with_deadline
FROM requests r
JOIN enterprises e ON e.id = r.enterprise_id
CROSS JOIN (SELECT 'category' AS axis UNION ALL SELECT 'city' UNION ALL SELECT 'stage'
            UNION ALL SELECT 'official') AS a
WHERE r.status != 'withdrawn';

INSERT INTO request_tallies
SELECT axis, key, SUM(received), SUM(resolved), SUM(solved), SUM(ack_tracked),
    SUM(responded_on_time), SUM(rated), SUM(satisfied), SUM(open_with_deadline)
FROM request_tally_rows
GROUP BY axis, key;

-- Inserting (sign, request id) here adds (+1) or takes away (-1) what that request, as stored
-- now, counts for. Triggers take a row's counts away before it changes and add them back after.
CREATE VIEW request_tally_changes (sign, request_id) AS SELECT 0, 0 WHERE false;

CREATE TRIGGER request_tally_change INSTEAD OF INSERT ON request_tally_changes
BEGIN
    INSERT INTO request_tallies
    SELECT axis, key, NEW.sign * received, NEW.sign * resolved, NEW.sign * solved,
        NEW.sign * ack_tracked, NEW.sign * responded_on_time, NEW.sign * rated,
        NEW.sign * satisfied, NEW.sign * open_with_deadline
    FROM request_tally_rows WHERE id = NEW.request_id
    ON CONFLICT (axis, key) DO UPDATE SET
        received = received + excluded.received, resolved = resolved + excluded.resolved,
        solved = solved + excluded.solved, ack_tracked = ack_tracked + excluded.ack_tracked,
        responded_on_time = responded_on_time + excluded.responded_on_time,
        rated = rated + excluded.rated, satisfied = satisfied + excluded.satisfied,
        open_with_deadline = open_with_deadline + excluded.open_with_deadline;
END;

CREATE TRIGGER request_tallies_after_insert AFTER INSERT ON requests
BEGIN
    INSERT INTO request_tally_changes VALUES (1, NEW.id);
END;

CREATE TRIGGER request_tallies_before_delete BEFORE DELETE ON requests
BEGIN
    INSERT INTO request_tally_changes VALUES (-1, OLD.id);
END;

CREATE TRIGGER request_tallies_before_update BEFORE UPDATE OF
    status, official_id, enterprise_id, category, acknowledged_at, resolved_at,
    acknowledge_due_at, resolve_due_at, outcome, rating ON requests
BEGIN
    INSERT INTO request_tally_changes VALUES (-1, OLD.id);
END;

CREATE TRIGGER request_tallies_after_update AFTER UPDATE OF
    status, official_id, enterprise_id, category, acknowledged_at, resolved_at,
    acknowledge_due_at, resolve_due_at, outcome, rating ON requests
BEGIN
    INSERT INTO request_tally_changes VALUES (1, NEW.id);
END;

-- An enterprise that moves to another city or stage takes its requests' counts along.
CREATE TRIGGER request_tallies_before_enterprise_move BEFORE UPDATE OF city, stage ON enterprises
WHEN OLD.city IS NOT NEW.city OR OLD.stage IS NOT NEW.stage
BEGIN
    INSERT INTO request_tally_changes SELECT -1, id FROM requests WHERE enterprise_id = OLD.id;
END;

CREATE TRIGGER request_tallies_after_enterprise_move AFTER UPDATE OF city, stage ON enterprises
WHEN OLD.city IS NOT NEW.city OR OLD.stage IS NOT NEW.stage
BEGIN
    INSERT INTO request_tally_changes SELECT 1, id FROM requests WHERE enterprise_id = NEW.id;
END;
