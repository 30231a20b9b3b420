"""Changing what was sent: edits, deletions, and answers to button presses.

As in Telegram, an edit without ``reply_markup`` removes the inline keyboard, and an edit that
changes nothing is refused with "message is not modified".
"""

from __future__ import annotations

from typing import Any

from standin import errors, formatting
from standin.errors import bad_request
from standin.markup import checked_markup
from standin.state import Chat, StoredMessage, World

JSON = dict[str, Any]
QUERY_LIFETIME = 15 * 60.0
ANSWER_TEXT_LIMIT = 200


def _bot_message(world: World, params: JSON) -> tuple[Chat, StoredMessage]:
    if params.get("inline_message_id") is not None:
        raise bad_request("MESSAGE_ID_INVALID")
    if params.get("chat_id") is None:
        raise bad_request("chat_id is required")
    chat = world.target_chat(params["chat_id"])
    message = chat.find(params.get("message_id"))
    if message is None:
        raise bad_request(errors.EDIT_NOT_FOUND)
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return chat, message


def _apply(
    world: World, chat: Chat, message: StoredMessage, params: JSON, changes: dict[str, Any]
) -> JSON:
    """Apply ``changes`` (None removes a field) and the new keyboard, or refuse a no-op."""
    markup = checked_markup(params.get("reply_markup"), inline_only=True)
    data = message.data
    unchanged = all(data.get(key) == value for key, value in changes.items())
    if unchanged and data.get("reply_markup") == markup:
        raise bad_request(errors.NOT_MODIFIED)
    for key, value in {**changes, "reply_markup": markup}.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    message.markup = markup
    data["edit_date"] = world.now()
    message.edit_count += 1
    chat.touch(message)
    return data


async def edit_message_text(world: World, params: JSON) -> JSON:
    """editMessageText."""
    chat, message = _bot_message(world, params)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    text, entities = formatting.message_text(params, strict_ampersand=world.strict_ampersand)
    data = _apply(world, chat, message, params, {"text": text, "entities": entities or None})
    message.source = str(params["text"])
    return data


async def edit_message_caption(world: World, params: JSON) -> JSON:
    """editMessageCaption: photos and documents only."""
    chat, message = _bot_message(world, params)
    if not message.files:
        raise bad_request("there is no caption in the message to edit")
    fields = formatting.caption(params, strict_ampersand=world.strict_ampersand)
    changes = {"caption": fields.get("caption"), "caption_entities": fields.get("caption_entities")}
    data = _apply(world, chat, message, params, changes)
    message.source = params.get("caption")
    return data


async def edit_message_reply_markup(world: World, params: JSON) -> JSON:
    """editMessageReplyMarkup: no reply_markup removes the keyboard."""
    chat, message = _bot_message(world, params)
    return _apply(world, chat, message, params, {})


async def delete_message(world: World, params: JSON) -> bool:
    """deleteMessage: the message stays in the log, flagged ``deleted``."""
    chat = world.known_chat(params["chat_id"])
    message = chat.find(params["message_id"])
    if message is None:
        raise bad_request(errors.DELETE_NOT_FOUND)
    message.deleted = True
    chat.touch(message)
    return True


async def answer_callback_query(world: World, params: JSON) -> bool:
    """answerCallbackQuery: once per query, within 15 minutes of the press."""
    query = world.callback_queries.get(str(params["callback_query_id"]))
    expired = query is not None and world.clock() - query.created_at > QUERY_LIFETIME
    if query is None or query.answer is not None or expired:
        raise bad_request(errors.QUERY_TOO_OLD)
    if len(str(params.get("text") or "")) > ANSWER_TEXT_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    keys = ("text", "show_alert", "url", "cache_time")
    query.answer = {key: params[key] for key in keys if key in params}
    world.callback_signal.notify()
    return True


METHODS = {
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
}
