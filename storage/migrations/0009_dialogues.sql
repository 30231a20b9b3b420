-- A short dialogue in progress (writing on a request, a site visit, registering an enterprise),
-- saved at every step so that a restart does not forget who was where. One per user: starting
-- a dialogue replaces any other. The intake keeps its draft in `drafts`.
CREATE TABLE dialogues (
    telegram_id     INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('compose', 'visit', 'registration')),
    state           TEXT NOT NULL CHECK (json_valid(state)),
    updated_at      INTEGER NOT NULL
);
