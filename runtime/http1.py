"""A lean HTTP/1.1 client for the Bot API's JSON calls: one POST, one answer, kept-alive
connections.

Nearly every call the bot makes is a small JSON POST to one host. aiohttp's client does much
more per call (URL objects, header multidicts, cookies, traces, timers, a task per
connection, a response object and its stream): on the requests benchmark its request path
was about a sixth of the bot process's CPU, about 0.1 ms per call (docs/requests.md). Here a
call is one write of the request and a read of the answer on an asyncio stream.

What it does, and all it does: ``POST`` with a body of known length (``Content-Length``),
answers by ``Content-Length``, chunked, or up to the end of the connection; connections kept
alive (HTTP/1.1, no ``Connection: close``) and reused while idle for less than
:data:`KEEPALIVE_SECONDS`; TLS for ``https``; no proxies, cookies, redirects or compression
(none of which the Bot API uses). Each phase has its own limit: ``connect`` to get a
connection (waiting for a free one included), ``write`` to hand the request over, ``read``
between two parts of the answer. A limit passed is ``TimeoutError``; anything else that goes
wrong on the way is :class:`HttpError` (an ``OSError``). A connection that failed in any way,
or was left mid-call (cancelled), is closed, never reused.

Why no library instead (measured 2026-12-05, docs/requests.md "Current figures"): client CPU
per JSON POST, uvloop, 8 callers at once, the server in another process: this client 40-45
us, aiohttp 87-101 us, h11 over asyncio streams 98 us (and it would still need a pool of our
own), httpcore's ``AsyncConnectionPool`` 425 us, and 2.3 ms with 32 callers (its pool retries
``ConnectionNotAvailable`` and reassigns in O(connections x requests): encode/httpcore#822,
#1035). With every call on aiohttp, eleven pairs of the requests benchmark alternating with
this client: ratio to the bare echo 0.58 against 0.63 (issue 16's floor is 0.6), bot CPU 2.44
against 2.11 ms per update (higher in 10 of 11 pairs). Measure again (bench/http_clients.py)
when httpcore's pool or aiohttp's request path changes; if a library comes within the
benchmark's noise, replace this.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import urlsplit

import aiohappyeyeballs

# An idle connection older than this is closed instead of reused: the server (or a NAT on
# the way) may have dropped it meanwhile. aiohttp's default, which this replaces.
KEEPALIVE_SECONDS: Final = 15.0
# Connecting: the next address (IPv4 after IPv6) is tried this long after the one before, in
# parallel, as RFC 8305 and aiohttp have it: an address family that hangs does not hold the call.
HAPPY_EYEBALLS_DELAY: Final = 0.25
# Longest status line plus headers read (asyncio's own stream limit).
MAX_HEAD_BYTES: Final = 64 * 1024
# The answer's body is read in parts of at most this many bytes, the read limit applying to each.
READ_CHUNK: Final = 64 * 1024
HEAD_END: Final = b"\r\n\r\n"
CRLF: Final = b"\r\n"
NO_BODY_STATUSES: Final = frozenset({204, 304})


class HttpError(OSError):
    """The connection failed or the answer was not HTTP/1.x as expected."""


@dataclass(frozen=True, slots=True)
class Origin:
    host: str
    port: int
    tls: bool
    host_header: str


@dataclass(frozen=True, slots=True)
class Target:
    origin: Origin
    path: str  # path and query, as sent on the request line


@lru_cache(maxsize=256)  # a bot calls a few dozen methods of one base URL
def target_of(url: str) -> Target | None:
    """Where ``url`` points; None for what this client does not speak (not http(s), not ASCII)."""
    if not url.isascii():
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    netloc = parts.netloc.rpartition("@")[2]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(Origin(parts.hostname, port, tls, netloc), path)


class _Connection:
    __slots__ = ("idle_since", "origin", "reader", "writer")

    def __init__(
        self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.origin = origin
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        return (
            now - self.idle_since < KEEPALIVE_SECONDS
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        self.writer.close()


class Http1Client:
    """POSTs over up to ``pool_size`` connections at once (a call beyond waits for one)."""

    def __init__(self, pool_size: int, user_agent: str) -> None:
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: dict[Origin, deque[_Connection]] = {}
        self._user_agent = user_agent
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def post(
        self,
        target: Target,
        body: bytes,
        content_type: str,
        *,
        connect: float | None,
        write: float | None,
        read: float | None,
    ) -> tuple[int, bytes]:
        """The answer's status and body."""
        if self._closed:
            raise HttpError("the client is closed")
        async with asyncio.timeout(connect):
            await self._slots.acquire()
            try:
                connection = await self._connection(target.origin)
            except BaseException:
                self._slots.release()
                raise
        reusable = False
        try:
            head = (
                f"POST {target.path} HTTP/1.1\r\nHost: {target.origin.host_header}\r\n"
                f"User-Agent: {self._user_agent}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode("ascii")
            connection.writer.write(head + body)
            async with asyncio.timeout(write):
                await connection.writer.drain()
            status, answer, reusable = await _answer(connection.reader, read)
            return status, answer
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            raise HttpError(f"{type(e).__name__}: {e}") from e
        finally:
            self._release(connection, reusable)
            self._slots.release()

    async def _connection(self, origin: Origin) -> _Connection:
        idle = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            if connection.usable(now):
                return connection
            connection.close()
        addresses = await asyncio.get_running_loop().getaddrinfo(
            origin.host, origin.port, type=socket.SOCK_STREAM
        )
        sock = await aiohappyeyeballs.start_connection(
            addresses, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY
        )
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            context = self._context() if origin.tls else None
            reader, writer = await asyncio.open_connection(
                sock=sock,
                ssl=context,
                server_hostname=origin.host if context is not None else None,
                limit=MAX_HEAD_BYTES,
            )
        except BaseException:
            sock.close()
            raise
        return _Connection(origin, reader, writer)

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def _release(self, connection: _Connection, reusable: bool) -> None:
        if not reusable or self._closed:
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(connection.origin, deque()).append(connection)

    async def close(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


async def _answer(reader: asyncio.StreamReader, read: float | None) -> tuple[int, bytes, bool]:
    """Status, body, and whether the connection may carry another call."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(read) as limit:
        version, status, headers = _head(await reader.readuntil(HEAD_END))
        while 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
            version, status, headers = _head(await reader.readuntil(HEAD_END))
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"

        def more() -> None:
            if read is not None:
                limit.reschedule(loop.time() + read)

        if status in NO_BODY_STATUSES:
            return status, b"", keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return status, await _chunked(reader, more), keep
        length = headers.get("content-length")
        if length is None:
            return status, await _to_the_end(reader, more), False
        return status, await _exactly(reader, _length(length), more), keep


def _head(head: bytes) -> tuple[str, int, dict[str, str]]:
    try:
        lines = head[: -len(HEAD_END)].decode("latin-1").split("\r\n")
        version, status, *_ = lines[0].split(" ", 2)
        if not version.startswith("HTTP/1."):
            raise ValueError(version)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return version, int(status), headers
    except ValueError as e:
        raise HttpError(f"not an HTTP/1.x answer ({e})") from None


def _length(value: str) -> int:
    try:
        length = int(value)
    except ValueError:
        length = -1
    if length < 0:
        raise HttpError(f"bad Content-Length {value!r}")
    return length


async def _exactly(reader: asyncio.StreamReader, length: int, more: Callable[[], None]) -> bytes:
    if length <= READ_CHUNK:
        return await reader.readexactly(length)
    parts: list[bytes] = []
    while length > 0:
        part = await reader.readexactly(min(length, READ_CHUNK))
        parts.append(part)
        length -= len(part)
        more()
    return b"".join(parts)


async def _chunked(reader: asyncio.StreamReader, more: Callable[[], None]) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(CRLF)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpError("bad chunk size") from None
        if size == 0:
            while await reader.readuntil(CRLF) != CRLF:  # trailers, then the blank line
                pass
            return b"".join(parts)
        parts.append(await _exactly(reader, size, more))
        if await reader.readexactly(len(CRLF)) != CRLF:
            raise HttpError("bad chunk end")
        more()


async def _to_the_end(reader: asyncio.StreamReader, more: Callable[[], None]) -> bytes:
    parts: list[bytes] = []
    while part := await reader.read(READ_CHUNK):
        parts.append(part)
        more()
    return b"".join(parts)
