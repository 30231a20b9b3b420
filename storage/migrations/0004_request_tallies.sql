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

CREATE VIEW tally_axes (axis) AS
SELECT 'category' UNION ALL SELECT 'city' UNION ALL SELECT 'stage' UNION ALL SELECT 'official';

INSERT INTO request_tallies
SELECT a.axis, CASE a.axis WHEN 'category' THEN r.category WHEN 'city' THEN e.city
        WHEN 'stage' THEN e.stage ELSE IFNULL(r.official_id, '') END AS key,
    COUNT(*), SUM(resolved_at IS NOT NULL), SUM(outcome IS 'solved'),
    SUM(acknowledge_due_at IS NOT NULL), SUM(IFNULL(acknowledged_at <= acknowledge_due_at, 0)),
    SUM(rating IS NOT NULL), SUM(IFNULL(rating >= 4, 0)),
    SUM(overdue_at IS NOT NULL AND r.status IN ('submitted', 'assigned', 'acknowledged',
        'in_progress', 'waiting', 'reopened'))
FROM requests r
JOIN enterprises e ON e.id = r.enterprise_id
CROSS JOIN tally_axes a
WHERE r.status != 'withdrawn'
GROUP BY a.axis, key;

-- Every trigger upserts, per (axis, key), the difference a write makes: the old row's counts
-- with sign -1 and the new row's with sign +1.
CREATE TRIGGER request_tallies_on_insert AFTER INSERT ON requests
BEGIN
    INSERT INTO request_tallies
    SELECT a.axis, CASE a.axis WHEN 'category' THEN r.category WHEN 'city' THEN e.city
            WHEN 'stage' THEN e.stage ELSE IFNULL(r.official_id, '') END AS key,
        SUM(sign), SUM(sign * (resolved_at IS NOT NULL)), SUM(sign * (outcome IS 'solved')),
        SUM(sign * (acknowledge_due_at IS NOT NULL)),
        SUM(sign * IFNULL(acknowledged_at <= acknowledge_due_at, 0)),
        SUM(sign * (rating IS NOT NULL)), SUM(sign * IFNULL(rating >= 4, 0)),
        SUM(sign * (overdue_at IS NOT NULL AND r.status IN ('submitted', 'assigned', 'acknowledged',
            'in_progress', 'waiting', 'reopened')))
    FROM (SELECT 1 AS sign, NEW.official_id AS official_id, NEW.enterprise_id AS enterprise_id,
             NEW.category AS category, NEW.status AS status,
             NEW.resolved_at AS resolved_at, NEW.outcome AS outcome,
             NEW.acknowledge_due_at AS acknowledge_due_at,
             NEW.acknowledged_at AS acknowledged_at, NEW.rating AS rating,
             NEW.overdue_at AS overdue_at) AS r
    JOIN enterprises e ON e.id = r.enterprise_id
    CROSS JOIN tally_axes a
    WHERE r.status != 'withdrawn'
    GROUP BY a.axis, key
    ON CONFLICT (axis, key) DO UPDATE SET
        received = received + excluded.received, resolved = resolved + excluded.resolved,
        solved = solved + excluded.solved, ack_tracked = ack_tracked + excluded.ack_tracked,
        responded_on_time = responded_on_time + excluded.responded_on_time,
        rated = rated + excluded.rated, satisfied = satisfied + excluded.satisfied,
        open_with_deadline = open_with_deadline + excluded.open_with_deadline;
END;

CREATE TRIGGER request_tallies_on_delete AFTER DELETE ON requests
BEGIN
    INSERT INTO request_tallies
    SELECT a.axis, CASE a.axis WHEN 'category' THEN r.category WHEN 'city' THEN e.city
            WHEN 'stage' THEN e.stage ELSE IFNULL(r.official_id, '') END AS key,
        SUM(sign), SUM(sign * (resolved_at IS NOT NULL)), SUM(sign * (outcome IS 'solved')),
        SUM(sign * (acknowledge_due_at IS NOT NULL)),
        SUM(sign * IFNULL(acknowledged_at <= acknowledge_due_at, 0)),
        SUM(sign * (rating IS NOT NULL)), SUM(sign * IFNULL(rating >= 4, 0)),
        SUM(sign * (overdue_at IS NOT NULL AND r.status IN ('submitted', 'assigned', 'acknowledged',
            'in_progress', 'waiting', 'reopened')))
    FROM (SELECT -1 AS sign, OLD.official_id AS official_id, OLD.enterprise_id AS enterprise_id,
             OLD.category AS category, OLD.status AS status,
             OLD.resolved_at AS resolved_at, OLD.outcome AS outcome,
             OLD.acknowledge_due_at AS acknowledge_due_at,
             OLD.acknowledged_at AS acknowledged_at, OLD.rating AS rating,
             OLD.overdue_at AS overdue_at) AS r
    JOIN enterprises e ON e.id = r.enterprise_id
    CROSS JOIN tally_axes a
    WHERE r.status != 'withdrawn'
    GROUP BY a.axis, key
    ON CONFLICT (axis, key) DO UPDATE SET
        received = received + excluded.received, resolved = resolved + excluded.resolved,
        solved = solved + excluded.solved, ack_tracked = ack_tracked + excluded.ack_tracked,
        responded_on_time = responded_on_time + excluded.responded_on_time,
        rated = rated + excluded.rated, satisfied = satisfied + excluded.satisfied,
        open_with_deadline = open_with_deadline + excluded.open_with_deadline;
END;

CREATE TRIGGER request_tallies_on_update AFTER UPDATE OF
    status, official_id, enterprise_id, category, acknowledged_at, resolved_at,
    acknowledge_due_at, resolve_due_at, outcome, rating ON requests
BEGIN
    INSERT INTO request_tallies
    SELECT a.axis, CASE a.axis WHEN 'category' THEN r.category WHEN 'city' THEN e.city
            WHEN 'stage' THEN e.stage ELSE IFNULL(r.official_id, '') END AS key,
        SUM(sign), SUM(sign * (resolved_at IS NOT NULL)), SUM(sign * (outcome IS 'solved')),
        SUM(sign * (acknowledge_due_at IS NOT NULL)),
        SUM(sign * IFNULL(acknowledged_at <= acknowledge_due_at, 0)),
        SUM(sign * (rating IS NOT NULL)), SUM(sign * IFNULL(rating >= 4, 0)),
        SUM(sign * (overdue_at IS NOT NULL AND r.status IN ('submitted', 'assigned', 'acknowledged',
            'in_progress', 'waiting', 'reopened')))
    FROM (SELECT -1 AS sign, OLD.official_id AS official_id, OLD.enterprise_id AS enterprise_id,
             OLD.category AS category, OLD.status AS status,
             OLD.resolved_at AS resolved_at, OLD.outcome AS outcome,
             OLD.acknowledge_due_at AS acknowledge_due_at,
             OLD.acknowledged_at AS acknowledged_at, OLD.rating AS rating,
             OLD.overdue_at AS overdue_at
          UNION ALL
          SELECT 1, NEW.official_id, NEW.enterprise_id, NEW.category, NEW.status,
                 NEW.resolved_at, NEW.outcome, NEW.acknowledge_due_at, NEW.acknowledged_at,
                 NEW.rating, NEW.overdue_at) AS r
    JOIN enterprises e ON e.id = r.enterprise_id
    CROSS JOIN tally_axes a
    WHERE r.status != 'withdrawn'
    GROUP BY a.axis, key
    ON CONFLICT (axis, key) DO UPDATE SET
        received = received + excluded.received, resolved = resolved + excluded.resolved,
        solved = solved + excluded.solved, ack_tracked = ack_tracked + excluded.ack_tracked,
        responded_on_time = responded_on_time + excluded.responded_on_time,
        rated = rated + excluded.rated, satisfied = satisfied + excluded.satisfied,
        open_with_deadline = open_with_deadline + excluded.open_with_deadline;
END;

-- An enterprise that moves to another city or stage takes its requests' counts along.
CREATE TRIGGER request_tallies_on_enterprise_update AFTER UPDATE OF city, stage ON enterprises
WHEN OLD.city IS NOT NEW.city OR OLD.stage IS NOT NEW.stage
BEGIN
    INSERT INTO request_tallies
    SELECT m.axis, m.key,
        SUM(sign), SUM(sign * (resolved_at IS NOT NULL)), SUM(sign * (outcome IS 'solved')),
        SUM(sign * (acknowledge_due_at IS NOT NULL)),
        SUM(sign * IFNULL(acknowledged_at <= acknowledge_due_at, 0)),
        SUM(sign * (rating IS NOT NULL)), SUM(sign * IFNULL(rating >= 4, 0)),
        SUM(sign * (overdue_at IS NOT NULL AND r.status IN ('submitted', 'assigned', 'acknowledged',
            'in_progress', 'waiting', 'reopened')))
    FROM requests r
    CROSS JOIN (SELECT 'city' AS axis, OLD.city AS key, -1 AS sign
                UNION ALL SELECT 'city', NEW.city, 1
                UNION ALL SELECT 'stage', OLD.stage, -1
                UNION ALL SELECT 'stage', NEW.stage, 1) AS m
    WHERE r.enterprise_id = NEW.id AND r.status != 'withdrawn'
    GROUP BY m.axis, m.key
    ON CONFLICT (axis, key) DO UPDATE SET
        received = received + excluded.received, resolved = resolved + excluded.resolved,
        solved = solved + excluded.solved, ack_tracked = ack_tracked + excluded.ack_tracked,
        responded_on_time = responded_on_time + excluded.responded_on_time,
        rated = rated + excluded.rated, satisfied = satisfied + excluded.satisfied,
        open_with_deadline = open_with_deadline + excluded.open_with_deadline;
END;
