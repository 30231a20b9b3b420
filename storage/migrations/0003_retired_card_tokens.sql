-- Business-card tokens that were revoked or replaced by a newer one. Only a hash of each old
-- token is kept (officials.card_token holds the current one), so that an old link or QR code
-- can say "this card link was revoked" instead of "invalid".
CREATE TABLE retired_card_tokens (
    token_hash      TEXT PRIMARY KEY,
    official_id     INTEGER NOT NULL REFERENCES officials(id) ON DELETE CASCADE,
    revoked_at      INTEGER NOT NULL
);
CREATE INDEX retired_card_tokens_by_official ON retired_card_tokens(official_id);
