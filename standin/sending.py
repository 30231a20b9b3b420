"""The bot's sending methods: messages, photos, documents, media groups, copies, forwards."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from standin import formatting
from standin.errors import bad_request
from standin.files import StoredFile
from standin.markup import checked_markup, inline_part
from standin.state import Chat, StoredMessage, World

JSON = dict[str, Any]
CONTENT_KEYS = (
    "text",
    "entities",
    "photo",
    "document",
    "caption",
    "caption_entities",
    "has_media_spoiler",
    "sticker",
    "voice",
    "location",
    "contact",
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_media_groups = itertools.count(13000000000000000)


def deliver(
    world: World,
    chat: Chat,
    params: JSON,
    content: JSON,
    *,
    source: str | None = None,
    files: dict[str, StoredFile] | None = None,
) -> StoredMessage:
    """Store a bot message built from ``content`` plus the common sending parameters."""
    markup = checked_markup(params.get("reply_markup"))
    data: JSON = {"from": world.bot.as_user(), **content}
    replied = _replied(chat, params)
    if replied is not None:
        data["reply_to_message"] = {
            k: v for k, v in replied.data.items() if k != "reply_to_message"
        }
    if inline_part(markup) is not None:
        data["reply_markup"] = markup
    message = chat.add(
        copy.deepcopy(data),
        from_bot=True,
        date=world.now(),
        source=source,
        markup=markup,
        files=files or {},
    )
    if markup is not None and "keyboard" in markup:
        chat.reply_keyboard = markup
    elif markup is not None and markup.get("remove_keyboard"):
        chat.reply_keyboard = None
    return message


def _replied(chat: Chat, params: JSON) -> StoredMessage | None:
    """The message being replied to (reply_parameters or the old reply_to_message_id)."""
    reply = params.get("reply_parameters")
    if not isinstance(reply, dict):
        reply = (
            {"message_id": params["reply_to_message_id"]}
            if params.get("reply_to_message_id")
            else None
        )
    if reply is None:
        return None
    found = chat.find(reply.get("message_id"))
    allowed = reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply")
    if found is None and not allowed:
        raise bad_request("message to be replied not found")
    return found


async def send_message(world: World, params: JSON) -> JSON:
    """sendMessage."""
    chat = world.target_chat(params["chat_id"])
    text, entities = formatting.message_text(params, strict_ampersand=world.strict_ampersand)
    content: JSON = {"text": text, **({"entities": entities} if entities else {})}
    return deliver(world, chat, params, content, source=str(params["text"])).data


async def send_photo(world: World, params: JSON) -> JSON:
    """sendPhoto: an uploaded file or a known file_id."""
    return _send_media(world, params, field="photo", kind="photos")


async def send_document(world: World, params: JSON) -> JSON:
    """sendDocument: an uploaded file or a known file_id."""
    return _send_media(world, params, field="document", kind="documents")


def _send_media(
    world: World, params: JSON, *, field: str, kind: str, extra: JSON | None = None
) -> JSON:
    chat = world.target_chat(params["chat_id"])
    caption = formatting.caption(params, strict_ampersand=world.strict_ampersand)
    stored = world.files.resolve(params[field], kind=kind)
    media = stored.as_photo() if field == "photo" else stored.as_document()
    content: JSON = {field: media, **caption, **(extra or {})}
    if params.get("has_spoiler"):
        content["has_media_spoiler"] = True
    source = params.get("caption")
    return deliver(world, chat, params, content, source=source, files={field: stored}).data


async def send_media_group(world: World, params: JSON) -> list[JSON]:
    """sendMediaGroup: 2-10 photos or documents sharing a media_group_id."""
    media = params["media"]
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise bad_request("wrong number of media items, 2-10 expected")
    if not all(
        isinstance(item, dict) and item.get("type") in ("photo", "document") for item in media
    ):
        raise bad_request("the stand-in sends media groups of photos and documents only")
    group = {"media_group_id": str(next(_media_groups))}
    common = {k: v for k, v in params.items() if k in ("chat_id", "reply_parameters")}
    kinds = {"photo": "photos", "document": "documents"}
    return [
        _send_media(
            world,
            {**common, **item, item["type"]: item["media"]},
            field=item["type"],
            kind=kinds[item["type"]],
            extra=group,
        )
        for item in media
    ]


def _source_message(world: World, params: JSON, action: str) -> StoredMessage:
    source_chat = world.known_chat(params["from_chat_id"])
    found = source_chat.find(params["message_id"])
    if found is None:
        raise bad_request(f"message to {action} not found")
    return found


async def copy_message(world: World, params: JSON) -> JSON:
    """copyMessage: the content again, without a link to the original; answers MessageId."""
    original = _source_message(world, params, "copy")
    chat = world.target_chat(params["chat_id"])
    content = {k: copy.deepcopy(v) for k, v in original.data.items() if k in CONTENT_KEYS}
    if not content:
        raise bad_request("the message can't be copied")
    source = original.source
    if "caption" in params and "text" not in content:
        content.pop("caption_entities", None)
        content.pop("caption", None)
        content.update(formatting.caption(params, strict_ampersand=world.strict_ampersand))
        source = params.get("caption")
    message = deliver(world, chat, params, content, source=source, files=dict(original.files))
    return {"message_id": message.message_id}


async def forward_message(world: World, params: JSON) -> JSON:
    """forwardMessage: the content with a forward_origin naming the original sender."""
    original = _source_message(world, params, "forward")
    chat = world.target_chat(params["chat_id"])
    content = {k: copy.deepcopy(v) for k, v in original.data.items() if k in CONTENT_KEYS}
    content["forward_origin"] = {
        "type": "user",
        "sender_user": original.data["from"],
        "date": original.data["date"],
    }
    forwarded = {k: v for k, v in params.items() if k != "reply_markup"}
    return deliver(
        world, chat, forwarded, content, source=original.source, files=dict(original.files)
    ).data


async def send_chat_action(world: World, params: JSON) -> bool:
    """sendChatAction: remembered per chat (``Chat.actions``)."""
    chat = world.target_chat(params["chat_id"])
    if params["action"] not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.actions.append(params["action"])
    return True


METHODS = {
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "sendMediaGroup": send_media_group,
    "copyMessage": copy_message,
    "forwardMessage": forward_message,
    "sendChatAction": send_chat_action,
}
