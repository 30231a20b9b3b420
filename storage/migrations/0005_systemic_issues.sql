-- Systemic issues (系统性问题): 0001 created the table and requests.systemic_issue_id; this adds
-- the version that guards concurrent changes (a resolution notifies only the requests linked
-- when it was decided), an append-only log of what admins did to each issue (its notes
-- included), and the index that finds an issue's requests.
ALTER TABLE systemic_issues ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE systemic_issues ADD COLUMN updated_at INTEGER;

CREATE TABLE systemic_issue_events (
    id              INTEGER PRIMARY KEY,
    issue_id        INTEGER NOT NULL REFERENCES systemic_issues(id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    actor_id        INTEGER,
    kind            TEXT NOT NULL CHECK (kind IN ('created', 'note', 'status', 'link', 'unlink')),
    detail          TEXT NOT NULL DEFAULT '',
    request_id      INTEGER REFERENCES requests(id) ON DELETE SET NULL
);
CREATE INDEX systemic_issue_events_by_issue ON systemic_issue_events(issue_id, id);

CREATE INDEX requests_by_systemic_issue ON requests(systemic_issue_id)
    WHERE systemic_issue_id IS NOT NULL;
