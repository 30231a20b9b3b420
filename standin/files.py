"""Stored files: what users and the bot uploaded, served again by file_id and file_path."""

from __future__ import annotations

import mimetypes
import secrets
import struct
from dataclasses import dataclass
from typing import Any

from standin.errors import WRONG_FILE, bad_request

JSON = dict[str, Any]


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None

    def __repr__(self) -> str:
        return f"Upload(filename={self.filename!r}, size={len(self.data)})"


@dataclass(frozen=True)
class StoredFile:
    """One stored file and the Bot API objects that describe it."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    filename: str | None
    mime_type: str | None

    def __repr__(self) -> str:
        return f"StoredFile({self.file_path!r}, size={len(self.data)})"

    def as_file(self) -> JSON:
        """A File object, as getFile answers."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }

    def as_photo(self) -> list[JSON]:
        """The PhotoSize array of a photo message (one size: the original)."""
        width, height = image_size(self.data)
        size = {"width": width, "height": height, "file_size": len(self.data)}
        return [{"file_id": self.file_id, "file_unique_id": self.file_unique_id, **size}]

    def as_document(self) -> JSON:
        """A Document object."""
        document: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.filename:
            document["file_name"] = self.filename
        if self.mime_type:
            document["mime_type"] = self.mime_type
        return document


class FileStore:
    """Files by file_id and by file_path; ids are unique for the stand-in's lifetime."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}

    def add(
        self, data: bytes, *, kind: str, filename: str | None = None, mime_type: str | None = None
    ) -> StoredFile:
        """Store ``data`` as a new file of ``kind`` ("photos", "documents", "voice"...)."""
        number = len(self._by_id) + 1
        suffix = _extension(filename, mime_type, kind)
        if mime_type is None and filename:
            mime_type = mimetypes.guess_type(filename)[0]
        stored = StoredFile(
            file_id=f"{kind[:3].upper()}{number}-{secrets.token_hex(8)}",
            file_unique_id=f"U{number}{secrets.token_hex(3)}",
            data=data,
            file_path=f"{kind}/file_{number}{suffix}",
            filename=filename,
            mime_type=mime_type,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)

    def resolve(self, value: Any, *, kind: str) -> StoredFile:
        """An uploaded file becomes a new stored file; a string must be a known file_id."""
        if isinstance(value, Upload):
            filename = value.filename if kind != "photos" else None  # photos keep no name
            return self.add(
                value.data, kind=kind, filename=filename, mime_type=_useful_mime(value.content_type)
            )
        found = self.get(value) if isinstance(value, str) else None
        if found is None:
            raise bad_request(WRONG_FILE)
        return found


def _useful_mime(content_type: str | None) -> str | None:
    return None if content_type in (None, "application/octet-stream") else content_type


def _extension(filename: str | None, mime_type: str | None, kind: str) -> str:
    if filename and "." in filename:
        return "." + filename.rsplit(".", 1)[1]
    if mime_type:
        return mimetypes.guess_extension(mime_type) or ""
    return ".jpg" if kind == "photos" else ""


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or JPEG, or a placeholder 1x1 for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data) or (1, 1)
    return 1, 1


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Read the frame header (SOF0..SOF15 except DHT/JPG/DAC) of a JPEG."""
    pos = 2
    while pos + 9 < len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None
