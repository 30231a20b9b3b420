"""Telegram's error answers, raised by the method implementations.

The descriptions are Telegram's own: python-telegram-bot strips the "Bad Request: " prefix and
bots match on the rest ("message is not modified", "query is too old"), so the words matter.
"""

from __future__ import annotations

from typing import Any

CHAT_NOT_FOUND = "chat not found"
BLOCKED = "bot was blocked by the user"
DEACTIVATED = "user is deactivated"
TEXT_EMPTY = "message text is empty"
TEXT_TOO_LONG = "message is too long"
CAPTION_TOO_LONG = "message caption is too long"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "message to edit not found"
DELETE_NOT_FOUND = "message to delete not found"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
WRONG_FILE = "wrong file identifier/HTTP URL specified"
MIGRATED = "group chat was upgraded to a supergroup chat"


class ApiError(Exception):
    """A Bot API error answer; the HTTP status equals ``error_code``."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ):
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def envelope(self) -> dict[str, Any]:
        """The JSON body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        parameters = {
            key: value
            for key, value in (
                ("retry_after", self.retry_after),
                ("migrate_to_chat_id", self.migrate_to_chat_id),
            )
            if value is not None
        }
        if parameters:
            body["parameters"] = parameters
        return body


def bad_request(reason: str) -> ApiError:
    """400 "Bad Request: <reason>"."""
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    """403 "Forbidden: <reason>"."""
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 with ``parameters.retry_after``, as flood control answers."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def migrated(new_chat_id: int) -> ApiError:
    """400 for any call to a group that became a supergroup, with its new id."""
    return ApiError(400, f"Bad Request: {MIGRATED}", migrate_to_chat_id=new_chat_id)


def entities_error(reason: str) -> ApiError:
    """400 "Bad Request: can't parse entities: <reason>"."""
    return bad_request(f"can't parse entities: {reason}")
