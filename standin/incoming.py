"""What a Telegram client puts into the messages a user sends: text with its command entities,
photos, documents, stickers, voice notes, locations, contacts, shared users."""

from __future__ import annotations

import re
from typing import Any

from standin.files import FileStore
from standin.html import utf16_len

JSON = dict[str, Any]
COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")
WEBP_STUB = b"RIFF\x1a\x00\x00\x00WEBPVP8L" + bytes(18)
OGG_STUB = b"OggS\x00\x02" + bytes(20)


def text(value: str) -> JSON:
    """A text message; every /command (or /command@bot) gets its bot_command entity."""
    entities = [
        {
            "type": "bot_command",
            "offset": utf16_len(value[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in COMMAND.finditer(value)
    ]
    return {"text": value, **({"entities": entities} if entities else {})}


def caption(value: str | None) -> JSON:
    return {"caption": value} if value else {}


def photo(files: FileStore, data: bytes, caption_text: str | None) -> tuple[JSON, JSON]:
    """A photo message; also returns the stored file by kind, for the message record."""
    stored = files.add(data, kind="photos", mime_type="image/jpeg")
    return {"photo": stored.as_photo(), **caption(caption_text)}, {"photo": stored}


def document(
    files: FileStore, data: bytes, filename: str, caption_text: str | None, mime_type: str | None
) -> tuple[JSON, JSON]:
    """A document message and the stored file."""
    stored = files.add(data, kind="documents", filename=filename, mime_type=mime_type)
    return {"document": stored.as_document(), **caption(caption_text)}, {"document": stored}


def sticker(files: FileStore, emoji: str) -> JSON:
    """A regular static sticker."""
    stored = files.add(WEBP_STUB, kind="stickers", mime_type="image/webp")
    return {
        "sticker": {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.data),
        }
    }


def voice(files: FileStore, data: bytes | None, duration: int) -> JSON:
    """A voice note (an OGG stub unless ``data`` is given)."""
    stored = files.add(data or OGG_STUB, kind="voice", mime_type="audio/ogg")
    return {
        "voice": {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(stored.data),
        }
    }


def location(latitude: float, longitude: float) -> JSON:
    return {"location": {"latitude": latitude, "longitude": longitude}}


def contact(phone_number: str, first_name: str, user_id: int | None) -> JSON:
    shared: JSON = {"phone_number": phone_number, "first_name": first_name}
    if user_id is not None:
        shared["user_id"] = user_id
    return {"contact": shared}


def users_shared(request_id: int, users: list[JSON]) -> JSON:
    """The service message a KeyboardButtonRequestUsers answer produces."""
    return {"users_shared": {"request_id": request_id, "users": users}}
