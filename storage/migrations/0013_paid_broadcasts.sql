-- Announcements at Telegram's paid speed (issue #19, docs/broadcasts.md): a broadcast made
-- while [broadcast] paid is on is sent with allow_paid_broadcast, 0.1 Star a message.
ALTER TABLE broadcasts ADD COLUMN paid INTEGER NOT NULL DEFAULT 0 CHECK (paid IN (0, 1));
