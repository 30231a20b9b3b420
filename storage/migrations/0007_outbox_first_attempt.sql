-- When a message was first handed to Telegram. A critical message is retried for
-- reminders.critical_retry_hours counted from here, not from when it was queued: a notice
-- held by quiet hours overnight still gets its hours of retries in the morning.
ALTER TABLE outbox ADD COLUMN first_attempt_at INTEGER;
