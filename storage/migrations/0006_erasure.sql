-- Erasing a user's personal data (docs/hardening.md §9) keeps their requests and the requests'
-- history, with the Telegram id of the person replaced by a pseudonym (a negative number, never
-- a Telegram user id). The history stays append-only otherwise: the one update allowed turns a
-- Telegram id into a pseudonym and changes nothing else.
DROP TRIGGER request_history_no_update;
CREATE TRIGGER request_history_no_update BEFORE UPDATE ON request_history
WHEN NOT (
    NEW.id = OLD.id AND NEW.request_id = OLD.request_id AND NEW.at = OLD.at
    AND NEW.from_status IS OLD.from_status AND NEW.to_status = OLD.to_status
    AND NEW.note = OLD.note AND OLD.actor_id > 0 AND NEW.actor_id < 0
)
BEGIN SELECT RAISE(ABORT, 'request_history is append-only'); END;
