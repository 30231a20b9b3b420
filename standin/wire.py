"""Decoding a Bot API request the way Telegram accepts it.

Parameters come from the query string and from the body: form-urlencoded, JSON, or
multipart/form-data with file parts. A file is either a part named like the parameter or a
part referenced as ``attach://<part>`` (media groups).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from standin.errors import bad_request
from standin.files import Upload

ATTACH = "attach://"


async def read_params(request: web.Request) -> dict[str, Any]:
    """All parameters of the request; file parts as :class:`Upload`, strings still raw."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return params
    if request.content_type == "application/json":
        return params | await _json_body(request)
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            params[name] = Upload(value.file.read(), value.filename, value.content_type)
        else:
            params[name] = value
    return params


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise bad_request("can't parse request JSON object") from exc
    if not isinstance(body, dict):
        raise bad_request("can't parse request JSON object")
    return body


def resolve_attachments(params: dict[str, Any]) -> dict[str, Any]:
    """Replace ``attach://name`` references with the named file parts, dropping those parts."""
    used: set[str] = set()

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(ATTACH):
            name = value.removeprefix(ATTACH)
            part = params.get(name)
            if not isinstance(part, Upload):
                raise bad_request(f"file {name!r} must be uploaded in the request")
            used.add(name)
            return part
        if isinstance(value, list):
            return [resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        return value

    resolved = {name: resolve(value) for name, value in params.items()}
    return {name: value for name, value in resolved.items() if name not in used}


def dumps(body: Any) -> str:
    """Compact JSON, UTF-8 kept readable, as Telegram answers."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
