"""Files both ways: users' uploads the bot downloads, the bot's uploads users receive."""

from __future__ import annotations

import struct
import zlib

import pytest
from telegram import Bot, InputMediaDocument, InputMediaPhoto
from telegram.error import BadRequest

from standin import TelegramStandin


def png(width: int, height: int) -> bytes:
    """A tiny valid PNG header, enough for the stand-in to read the size."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(header))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


async def test_the_bot_downloads_what_a_user_sent(tg: Bot, standin: TelegramStandin) -> None:
    alice = standin.user(1001)
    await alice.send_photo(png(640, 480), caption="our plant")
    await alice.send_document(b"%PDF-1.4 licence", filename="licence.pdf")
    photo_update, document_update = await tg.get_updates(timeout=0)
    assert photo_update.message and document_update.message
    photo = photo_update.message.photo[-1]
    assert (photo.width, photo.height, photo_update.message.caption) == (640, 480, "our plant")
    photo_file = await tg.get_file(photo.file_id)
    assert bytes(await photo_file.download_as_bytearray()) == png(640, 480)
    document = document_update.message.document
    assert document and (document.file_name, document.mime_type) == (
        "licence.pdf",
        "application/pdf",
    )
    document_file = await tg.get_file(document.file_id)
    assert bytes(await document_file.download_as_bytearray()) == b"%PDF-1.4 licence"
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await tg.get_file("nonsense")


async def test_users_receive_what_the_bot_uploads(tg: Bot, standin: TelegramStandin) -> None:
    alice = standin.user(1001, started=True)
    sent = await tg.send_photo(1001, png(10, 20), caption="<i>chart</i>", parse_mode="HTML")
    await tg.send_document(1001, b"a,b\n1,2\n", filename="report.csv", caption="report")
    await tg.send_photo(1001, sent.photo[-1].file_id)  # the same file again, by file_id
    chart, report, again = alice.messages
    assert (chart.photo, chart.caption, chart.caption_entities) == (
        png(10, 20),
        "chart",
        [{"type": "italic", "offset": 0, "length": 5}],
    )
    assert (report.document, report.filename, report.caption) == (
        b"a,b\n1,2\n",
        "report.csv",
        "report",
    )
    assert again.photo == png(10, 20)
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await tg.send_photo(1001, "no-such-file-id")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await tg.send_photo(1001, png(1, 1), caption="x" * 1025)


async def test_caption_edit_and_media_group(tg: Bot, standin: TelegramStandin) -> None:
    alice = standin.user(1001, started=True)
    sent = await tg.send_photo(1001, png(1, 1), caption="before")
    await tg.edit_message_caption(1001, sent.message_id, caption="after")
    group = await tg.send_media_group(
        1001,
        [
            InputMediaPhoto(png(2, 2), caption="first"),
            InputMediaDocument(b"doc", filename="notes.txt"),
        ],
    )
    assert len({m.media_group_id for m in group}) == 1
    assert [m.caption for m in alice.messages] == ["after", "first", None]
    assert alice.messages[2].filename == "notes.txt"


async def test_copy_and_forward(tg: Bot, standin: TelegramStandin) -> None:
    alice = standin.user(1001)
    bob = standin.user(1002, started=True)
    original = await alice.send_document(b"minutes", filename="minutes.docx", caption="minutes")
    copied = await tg.copy_message(1002, 1001, original["message_id"], caption="for you")
    forwarded = await tg.forward_message(1002, 1001, original["message_id"])
    copy, forward = bob.messages
    assert copy.message_id == copied.message_id
    assert (copy.caption, copy.document, forward.caption) == ("for you", b"minutes", "minutes")
    assert forwarded.forward_origin and forwarded.forward_origin.type == "user"
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await tg.copy_message(1002, 1001, 999)
