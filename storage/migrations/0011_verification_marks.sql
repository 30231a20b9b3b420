-- Telegram's verification mark on officials' accounts (issue #19, docs/verification.md).
-- What the mark should be is derived from the roster (an active official with a bound
-- account); this table remembers what Telegram was last told (`applied`: the description of
-- the mark the account carries, NULL for none) and how the last call for the account failed.
-- The alarm tick compares the two and makes the calls: a call lost to a crash is made again.
CREATE TABLE verification_marks (
    telegram_id     INTEGER PRIMARY KEY,
    official_id     INTEGER,
    applied         TEXT CHECK (applied IS NULL OR length(applied) <= 70),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at         INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    -- A refusal that will not change by retrying (the account is gone): not retried until
    -- the wanted description changes (it is kept here).
    given_up_for    TEXT,
    -- refused: Telegram said no (not approved as a verifier, description refused), retried
    -- slowly; gone: the account does not exist; unavailable: time-out, 5xx, flood control.
    failure         TEXT CHECK (failure IN ('refused', 'gone', 'unavailable')),
    reported_at     INTEGER,
    updated_at      INTEGER NOT NULL
);
