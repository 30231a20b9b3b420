-- An outbox message may carry a photo or a document (a Telegram file_id) with its text as the
-- caption: a thread message of a request, delivered to the other side through the outbox.
ALTER TABLE outbox ADD COLUMN media_kind TEXT CHECK (media_kind IN ('photo', 'document'));
ALTER TABLE outbox ADD COLUMN media_file_id TEXT
    CHECK ((media_kind IS NULL) = (media_file_id IS NULL));
