-- A message sent again because Telegram may or may not have had it already (the process died
-- mid-send, or the send timed out): its text carries the recipient's "resent" mark, once.
ALTER TABLE outbox ADD COLUMN resent INTEGER NOT NULL DEFAULT 0 CHECK (resent IN (0, 1));
