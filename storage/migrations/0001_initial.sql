-- The whole product's schema, designed up front from every open issue.
-- Times are UTC Unix seconds (INTEGER); dates are ISO text (YYYY-MM-DD) in the bot's time zone.

CREATE TABLE users (
    telegram_id     INTEGER PRIMARY KEY,
    first_name      TEXT NOT NULL DEFAULT '',
    username        TEXT,
    telegram_language TEXT,
    language        TEXT CHECK (language IN ('zh', 'en')),
    unreachable_at  INTEGER,
    created_at      INTEGER NOT NULL,
    seen_at         INTEGER NOT NULL
);

CREATE TABLE officials (
    id              INTEGER PRIMARY KEY,
    external_id     TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    title           TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    level           TEXT NOT NULL DEFAULT 'city' CHECK (level IN ('province', 'city', 'county')),
    city            TEXT NOT NULL DEFAULT '',
    responsibilities TEXT NOT NULL DEFAULT '',
    supervisor_id   INTEGER REFERENCES officials(id) ON DELETE SET NULL,
    telegram_id     INTEGER UNIQUE REFERENCES users(telegram_id) ON DELETE SET NULL,
    card_token      TEXT UNIQUE,
    card_revoked_at INTEGER,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      INTEGER NOT NULL
);

-- Phones are stored as a keyed hash plus the last four digits for display.
CREATE TABLE official_phones (
    phone_hash      TEXT PRIMARY KEY,
    official_id     INTEGER NOT NULL REFERENCES officials(id) ON DELETE CASCADE,
    last4           TEXT NOT NULL CHECK (length(last4) = 4)
);
CREATE INDEX official_phones_by_official ON official_phones(official_id);

CREATE TABLE enterprises (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    credit_code     TEXT NOT NULL UNIQUE CHECK (length(credit_code) = 18),
    city            TEXT NOT NULL,
    stage           TEXT NOT NULL CHECK (stage IN ('startup', 'growth', 'mature')),
    industry        TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('pending', 'active', 'rejected')),
    registered_by   INTEGER REFERENCES users(telegram_id),
    created_at      INTEGER NOT NULL
);
CREATE INDEX enterprises_by_city ON enterprises(city, stage);

CREATE TABLE enterprise_contacts (
    id              INTEGER PRIMARY KEY,
    enterprise_id   INTEGER NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    name            TEXT NOT NULL DEFAULT '',
    phone_hash      TEXT,
    phone_last4     TEXT,
    telegram_id     INTEGER REFERENCES users(telegram_id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (enterprise_id, telegram_id)
);
CREATE INDEX contacts_by_user ON enterprise_contacts(telegram_id);

-- The official's portfolio; the primary assignment is the enterprise's designated official.
CREATE TABLE assignments (
    official_id     INTEGER NOT NULL REFERENCES officials(id) ON DELETE CASCADE,
    enterprise_id   INTEGER NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    is_primary      INTEGER NOT NULL DEFAULT 1 CHECK (is_primary IN (0, 1)),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (official_id, enterprise_id)
);
CREATE INDEX assignments_by_enterprise ON assignments(enterprise_id);
CREATE UNIQUE INDEX one_primary_official ON assignments(enterprise_id) WHERE is_primary = 1;

CREATE TABLE invites (
    id              INTEGER PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('official', 'contact')),
    official_id     INTEGER REFERENCES officials(id) ON DELETE CASCADE,
    contact_id      INTEGER REFERENCES enterprise_contacts(id) ON DELETE CASCADE,
    enterprise_id   INTEGER REFERENCES enterprises(id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    used_by         INTEGER,
    CHECK ((kind = 'official') = (official_id IS NOT NULL)),
    CHECK ((kind = 'contact') = (enterprise_id IS NOT NULL))
);

CREATE TABLE verification_codes (
    id              INTEGER PRIMARY KEY,
    code_hash       TEXT NOT NULL,
    official_id     INTEGER NOT NULL REFERENCES officials(id) ON DELETE CASCADE,
    enterprise_id   INTEGER REFERENCES enterprises(id) ON DELETE CASCADE,
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    used_by         INTEGER
);
CREATE INDEX codes_by_hash ON verification_codes(code_hash);

CREATE TABLE contact_notices (
    id              INTEGER PRIMARY KEY,
    official_id     INTEGER NOT NULL REFERENCES officials(id) ON DELETE CASCADE,
    enterprise_id   INTEGER NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL CHECK (channel IN ('phone', 'wechat', 'visit', 'telegram')),
    phone_last4     TEXT,
    window_start    INTEGER NOT NULL,
    window_end      INTEGER NOT NULL CHECK (window_end >= window_start),
    created_at      INTEGER NOT NULL
);
CREATE INDEX notices_by_enterprise ON contact_notices(enterprise_id, window_end);

CREATE TABLE notice_answers (
    notice_id       INTEGER NOT NULL REFERENCES contact_notices(id) ON DELETE CASCADE,
    telegram_id     INTEGER NOT NULL,
    answer          TEXT NOT NULL CHECK (answer IN ('available', 'later', 'message')),
    answered_at     INTEGER NOT NULL,
    PRIMARY KEY (notice_id, telegram_id)
);

CREATE TABLE impostor_reports (
    id              INTEGER PRIMARY KEY,
    reporter_id     INTEGER NOT NULL,
    enterprise_id   INTEGER REFERENCES enterprises(id) ON DELETE SET NULL,
    claimed_official_id INTEGER REFERENCES officials(id) ON DELETE SET NULL,
    claimed_name    TEXT NOT NULL DEFAULT '',
    channel         TEXT NOT NULL DEFAULT '',
    contact         TEXT NOT NULL DEFAULT '',
    asked_for       TEXT NOT NULL DEFAULT 'other'
                    CHECK (asked_for IN ('money', 'personal_data', 'link', 'other')),
    details         TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    warned_at       INTEGER
);

-- Failed code checks and look-ups, for per-user throttling and the global alarm.
CREATE TABLE throttle_events (
    id              INTEGER PRIMARY KEY,
    telegram_id     INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    at              INTEGER NOT NULL
);
CREATE INDEX throttle_by_user ON throttle_events(telegram_id, kind, at);
CREATE INDEX throttle_by_time ON throttle_events(kind, at);

CREATE TABLE systemic_issues (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'resolved')),
    notes           TEXT NOT NULL DEFAULT '',
    created_by      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    resolved_at     INTEGER
);

CREATE TABLE requests (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    enterprise_id   INTEGER NOT NULL REFERENCES enterprises(id),
    submitted_by    INTEGER NOT NULL,
    category        TEXT NOT NULL
                    CHECK (category IN ('policy', 'factors', 'approval', 'payments', 'ip', 'chain')),
    urgency         TEXT NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent')),
    summary         TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    details         TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL CHECK (status IN (
                        'submitted', 'assigned', 'acknowledged', 'in_progress', 'waiting',
                        'resolved', 'closed', 'returned', 'reopened', 'withdrawn')),
    official_id     INTEGER REFERENCES officials(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    resolved_at     INTEGER,
    closed_at       INTEGER,
    acknowledge_due_at INTEGER,
    resolve_due_at  INTEGER,
    waiting_since   INTEGER,
    escalated_at    INTEGER,
    flagged         INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    auto_closed     INTEGER NOT NULL DEFAULT 0 CHECK (auto_closed IN (0, 1)),
    outcome         TEXT CHECK (outcome IN ('solved', 'not_solved')),
    rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment  TEXT,
    systemic_issue_id INTEGER REFERENCES systemic_issues(id) ON DELETE SET NULL,
    version         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX requests_by_enterprise ON requests(enterprise_id, created_at);
CREATE INDEX requests_by_official ON requests(official_id, status, resolve_due_at);
CREATE INDEX requests_by_status ON requests(status, created_at);
CREATE INDEX requests_by_created ON requests(created_at);

CREATE TABLE request_numbers (
    day             TEXT PRIMARY KEY,
    last            INTEGER NOT NULL
);

-- Append-only: every state change of a request, who made it, when, and why.
CREATE TABLE request_history (
    id              INTEGER PRIMARY KEY,
    request_id      INTEGER NOT NULL REFERENCES requests(id),
    at              INTEGER NOT NULL,
    actor_id        INTEGER,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX history_by_request ON request_history(request_id, id);
CREATE INDEX history_by_actor ON request_history(actor_id, at);
CREATE TRIGGER request_history_no_update BEFORE UPDATE ON request_history
BEGIN SELECT RAISE(ABORT, 'request_history is append-only'); END;
CREATE TRIGGER request_history_no_delete BEFORE DELETE ON request_history
BEGIN SELECT RAISE(ABORT, 'request_history is append-only'); END;

CREATE TABLE request_messages (
    id              INTEGER PRIMARY KEY,
    request_id      INTEGER NOT NULL REFERENCES requests(id),
    at              INTEGER NOT NULL,
    sender_id       INTEGER,
    sender_role     TEXT NOT NULL CHECK (sender_role IN ('enterprise', 'official', 'admin', 'bot')),
    internal        INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
    text            TEXT NOT NULL DEFAULT '',
    media_kind      TEXT CHECK (media_kind IN ('photo', 'document')),
    file_id         TEXT,
    file_name       TEXT
);
CREATE INDEX messages_by_request ON request_messages(request_id, id);

-- An intake conversation in progress: saved at every step, so nothing typed is lost.
CREATE TABLE drafts (
    telegram_id     INTEGER PRIMARY KEY,
    data            TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE site_visits (
    id              INTEGER PRIMARY KEY,
    official_id     INTEGER NOT NULL REFERENCES officials(id),
    enterprise_id   INTEGER NOT NULL REFERENCES enterprises(id),
    visited_on      TEXT NOT NULL,
    notes           TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX visits_by_enterprise ON site_visits(enterprise_id);

-- Scheduled domain events (deadline reminders, escalations, confirmation reminders).
CREATE TABLE reminders (
    id              INTEGER PRIMARY KEY,
    request_id      INTEGER REFERENCES requests(id),
    kind            TEXT NOT NULL,
    recipient_id    INTEGER,
    due_at          INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'done', 'cancelled', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    done_at         INTEGER,
    UNIQUE (request_id, kind, due_at)
);
CREATE INDEX reminders_due ON reminders(status, due_at);

-- Durable outgoing messages: retried with backoff, held back in quiet hours, sent once.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    recipient_id    INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    urgent          INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
    not_before      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    dedupe_key      TEXT UNIQUE
);
CREATE INDEX outbox_due ON outbox(status, not_before);

CREATE TABLE digests (
    official_id     INTEGER NOT NULL REFERENCES officials(id) ON DELETE CASCADE,
    day             TEXT NOT NULL,
    sent_at         INTEGER NOT NULL,
    PRIMARY KEY (official_id, day)
);

CREATE TABLE broadcasts (
    id              INTEGER PRIMARY KEY,
    created_by      INTEGER NOT NULL,
    text_html       TEXT NOT NULL,
    media_kind      TEXT CHECK (media_kind IN ('photo', 'document')),
    media_file_id   TEXT,
    audience        TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')),
    scheduled_at    INTEGER,
    started_at      INTEGER,
    finished_at     INTEGER,
    progress_chat_id INTEGER,
    progress_message_id INTEGER,
    created_at      INTEGER NOT NULL
);

CREATE TABLE broadcast_recipients (
    broadcast_id    INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    telegram_id     INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unreachable')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    sent_at         INTEGER,
    error           TEXT,
    PRIMARY KEY (broadcast_id, telegram_id)
);
CREATE INDEX recipients_by_status ON broadcast_recipients(broadcast_id, status);

-- Webhook mode: an update id seen twice is processed once.
CREATE TABLE processed_updates (
    update_id       INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor_id        INTEGER,
    action          TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    result          TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_actor ON audit_log(actor_id, at);
CREATE INDEX audit_by_action ON audit_log(action, at);
