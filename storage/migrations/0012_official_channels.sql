-- Officials' WeChat IDs and work e-mail addresses (issue #19), stored as phones are
-- (official_phones, 0001): a keyed HMAC-SHA256 of the normalised value under [security]
-- hash_key, prefixed by the channel so an ID and an address never share a digest, plus a
-- short hint for display ("l…08", "z…@ln.gov.cn"). Several per official; one owner each.
CREATE TABLE official_channels (
    digest          TEXT PRIMARY KEY CHECK (length(digest) = 64),
    official_id     INTEGER NOT NULL REFERENCES officials(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL CHECK (channel IN ('wechat', 'email')),
    hint            TEXT NOT NULL CHECK (length(hint) BETWEEN 3 AND 260)
);
CREATE INDEX official_channels_by_official ON official_channels(official_id);
