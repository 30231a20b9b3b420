-- Offices and managed admins (issue 18): the admins appointed to the province office or a
-- city's office, and the invite links that appoint them. The ids in [admins] stay the
-- province's bootstrap admins and are not stored here. SQLite cannot widen a CHECK: the
-- invites table is rebuilt with the kind 'admin', the office it appoints to and who issued it.
CREATE TABLE admins (
    id              INTEGER PRIMARY KEY,
    telegram_id     INTEGER NOT NULL,
    office          TEXT NOT NULL,
    appointed_by    INTEGER,
    appointed_at    INTEGER NOT NULL,
    revoked_at      INTEGER,
    revoked_by      INTEGER
);
-- One office at a time per admin.
CREATE UNIQUE INDEX admins_serving ON admins (telegram_id) WHERE revoked_at IS NULL;
CREATE INDEX admins_office ON admins (office, revoked_at);

CREATE TABLE invites_new (
    id              INTEGER PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('official', 'contact', 'admin')),
    official_id     INTEGER REFERENCES officials(id) ON DELETE CASCADE,
    contact_id      INTEGER REFERENCES enterprise_contacts(id) ON DELETE CASCADE,
    enterprise_id   INTEGER REFERENCES enterprises(id) ON DELETE CASCADE,
    office          TEXT,
    created_by      INTEGER,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    used_by         INTEGER,
    CHECK ((kind = 'official') = (official_id IS NOT NULL)),
    CHECK ((kind = 'contact') = (enterprise_id IS NOT NULL)),
    CHECK ((kind = 'admin') = (office IS NOT NULL))
);
INSERT INTO invites_new (id, token_hash, kind, official_id, contact_id, enterprise_id,
                         created_at, expires_at, used_at, used_by)
    SELECT id, token_hash, kind, official_id, contact_id, enterprise_id,
           created_at, expires_at, used_at, used_by FROM invites;
DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;

-- A systemic issue belongs to the office of the admin who opened it: a city admin sees and
-- changes their city's issues, the province all of them.
ALTER TABLE systemic_issues ADD COLUMN office TEXT NOT NULL DEFAULT 'province';

-- An announcement belongs to the office of the admin who wrote it: a city office's reaches
-- the contacts of its city's enterprises and its city's officials only, whatever audience
-- was chosen, and only its office lists and acts on it.
ALTER TABLE broadcasts ADD COLUMN office TEXT NOT NULL DEFAULT 'province';
