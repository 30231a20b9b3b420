-- What a broadcast's progress message shows now (a digest of its text and buttons), so that
-- neither the same process nor the next one after a restart edits it to what it already
-- says: Telegram refuses such an edit with 400 "message is not modified".
ALTER TABLE broadcasts ADD COLUMN progress_shown TEXT;
