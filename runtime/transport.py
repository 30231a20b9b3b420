"""The HTTP transport to the Bot API: python-telegram-bot's ``BaseRequest`` over aiohttp.

python-telegram-bot ships ``HTTPXRequest``. On the requests benchmark (docs/requests.md,
"Where the time goes") httpx, httpcore, anyio and h11 took about 40% of the bot's CPU, each
Bot API call running through several layers of pure-Python protocol code, and form-encoding
the parameters (percent-encoding every Chinese character) another 7%. aiohttp, already a
dependency for the webhook server and the stand-in, parses HTTP in C; the parameters go as
one JSON body, which Telegram accepts for every method.

Towards python-telegram-bot it behaves as ``HTTPXRequest`` does: a time-out is ``TimedOut``
and any other transport failure ``NetworkError``; a call with files is multipart/form-data. An
answer that is not JSON is ``TelegramError`` as there, but its body is never logged.

The calls without files (nearly all: every message, edit, button answer and getUpdates) skip
aiohttp's client for a leaner one of our own (runtime/http1.py: one POST, one answer, kept-alive
connections), which costs about half of aiohttp's CPU per call; uploads and file downloads
stay on aiohttp. Each of the two keeps up to ``pool_size`` connections. Every call on aiohttp
was measured again on 2026-12-05, and httpcore and h11 with it: none fits yet (runtime/http1.py,
docs/requests.md "Current figures").
"""

from __future__ import annotations

import json
from typing import Final

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.config import TelegramSettings
from runtime.http1 import Http1Client, target_of

JSON: Final = "application/json"
JSON_HEADERS: Final = {"Content-Type": JSON}
# getUpdates is one call at a time: one connection, kept alive between polls.
UPDATES_POOL_SIZE: Final = 1


class AiohttpRequest(BaseRequest):
    """Bot API calls over one aiohttp session with up to ``pool_size`` keep-alive connections.

    Time-outs, in seconds (``None``: no limit): ``connect`` to get a connection (a free one
    from the pool or a new one), ``read`` between bytes of the answer, ``write`` added to the
    whole call's limit (aiohttp has no per-write limit) and ``upload`` instead of it when files
    are sent.
    """

    __slots__ = ("_client", "_connect", "_pool_size", "_read", "_session", "_upload", "_write")

    def __init__(
        self,
        *,
        pool_size: int,
        connect: float | None,
        read: float | None,
        write: float | None,
        upload: float | None,
    ) -> None:
        self._pool_size = pool_size
        self._connect, self._read, self._write, self._upload = connect, read, write, upload
        self._session: aiohttp.ClientSession | None = None
        self._client: Http1Client | None = None

    @classmethod
    def for_calls(cls, settings: TelegramSettings) -> AiohttpRequest:
        """The transport of every call but getUpdates."""
        return cls(
            pool_size=settings.connection_pool_size,
            connect=settings.connect_timeout,
            read=settings.send_timeout,
            write=settings.send_timeout,
            upload=settings.upload_timeout,
        )

    @classmethod
    def for_updates(cls, settings: TelegramSettings) -> AiohttpRequest:
        """The transport of getUpdates: python-telegram-bot adds the long-poll time to
        ``read`` on each call."""
        return cls(
            pool_size=UPDATES_POOL_SIZE,
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.send_timeout,
            upload=settings.upload_timeout,
        )

    @property
    def read_timeout(self) -> float | None:
        return self._read

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """The answer as JSON, or ``TelegramError("Invalid server response")`` as in
        python-telegram-bot, whose version also logs the whole body with a traceback: an
        answer cut short or mangled on the way could carry anything (updates with invite
        links, codes). Only the error's position in the body is kept, never the body."""
        try:
            parsed: JSONDict = json.loads(payload.decode("utf-8", "replace"))
        except ValueError as error:
            raise TelegramError(f"Invalid server response (not JSON: {error})") from None
        return parsed

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # The Bot API sets no cookies; proxies are never taken from the environment.
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
            )
            self._client = Http1Client(self._pool_size, self.USER_AGENT)

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._client = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed or self._client is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        uploads = request_data is not None and request_data.contains_files
        connect = _chosen(connect_timeout, self._connect)
        read = _chosen(read_timeout, self._read)
        write = _chosen(write_timeout, self._upload if uploads else self._write)
        target = target_of(url) if method == "POST" and not uploads else None
        if target is not None:
            body = b"{}" if request_data is None else request_data.json_payload
            try:
                return await self._client.post(
                    target, body, JSON, connect=connect, write=write, read=read
                )
            except TimeoutError as error:  # before OSError, of which it is one
                raise TimedOut from error
            except OSError as error:
                raise NetworkError(f"{type(error).__name__}: {error}") from error
        # Waiting for a pooled connection counts in ``connect``: pool_timeout has no part.
        timeout = aiohttp.ClientTimeout(
            total=_whole_call(connect, write, read), connect=connect, sock_read=read
        )
        data, headers = _body(request_data)
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _chosen(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _whole_call(*phases: float | None) -> float | None:
    """The whole call's limit: the sum of its phases' limits; none if a phase has none."""
    limits = [phase for phase in phases if phase is not None]
    return sum(limits) if len(limits) == len(phases) else None


def _body(
    request_data: RequestData | None,
) -> tuple[bytes | aiohttp.FormData | None, dict[str, str] | None]:
    """The request body and its headers: the parameters as JSON, or multipart with files."""
    if request_data is None:
        return None, None
    if not request_data.contains_files:
        return request_data.json_payload, JSON_HEADERS
    # Names and file names as UTF-8, as Telegram reads them (not percent-encoded).
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None
