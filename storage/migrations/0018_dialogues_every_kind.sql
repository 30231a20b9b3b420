-- Every dialogue in one store (issue 16 point 5): the impostor report, the announcement
-- composer and the code or number check are kept in `dialogues` too. SQLite cannot widen a
-- CHECK: the table is rebuilt.
CREATE TABLE dialogues_new (
    telegram_id     INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN (
                        'compose', 'visit', 'registration', 'report', 'broadcast', 'verify'
                    )),
    state           TEXT NOT NULL CHECK (json_valid(state)),
    updated_at      INTEGER NOT NULL
);
INSERT INTO dialogues_new (telegram_id, kind, state, updated_at)
    SELECT telegram_id, kind, state, updated_at FROM dialogues;
DROP TABLE dialogues;
ALTER TABLE dialogues_new RENAME TO dialogues;
