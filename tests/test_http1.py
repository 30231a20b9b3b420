"""The lean HTTP/1.1 client of the JSON calls (runtime/http1.py) against servers that answer
in each way HTTP allows: by length, chunked, up to the close; keeping the connection or not.

tests/test_transport.py pins the errors python-telegram-bot sees (refused, held past the read
time-out, a proxy's error page, not JSON); every end-to-end test runs through it as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from runtime.http1 import Http1Client, HttpError, Target, target_of

Answer = Callable[[bytes], Awaitable[bytes | None]]  # the request's body -> the raw answer
JSON = "application/json"
LIMITS = {"connect": 1.0, "write": 1.0, "read": 1.0}


class Server:
    """A raw TCP server: counts connections and requests, answers each request with bytes."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.hang_up_after_answer = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                raw = await self.answer(await reader.readexactly(length))
                if raw is None:  # hang up without answering
                    break
                writer.write(raw)
                await writer.drain()
                if b"connection: close" in raw.lower() or self.hang_up_after_answer:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answer], Awaitable[tuple[Server, Target]]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> tuple[Server, Target]:
        server = Server(answer)
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        servers.append(listening)
        port = listening.sockets[0].getsockname()[1]
        target = target_of(f"http://127.0.0.1:{port}/bot123:abc/sendMessage")
        assert target is not None
        return server, target

    yield start
    for listening in servers:
        listening.close()


def by_length(body: bytes, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@pytest.fixture
async def client() -> AsyncIterator[Http1Client]:
    client = Http1Client(4, "test-agent")
    yield client
    await client.close()


async def test_calls_share_one_kept_alive_connection(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]], client: Http1Client
) -> None:
    async def echo(body: bytes) -> bytes:
        return by_length(body)

    server, target = await serve(echo)
    for n in range(3):
        body = f'{{"n": {n}, "text": "营商环境"}}'.encode()
        assert await client.post(target, body, JSON, **LIMITS) == (200, body)
    assert server.connections == 1
    first = server.requests[0].decode()
    assert first.startswith("POST /bot123:abc/sendMessage HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{target.origin.port}\r\n" in first
    assert "Content-Type: application/json\r\n" in first


async def test_a_chunked_answer_is_put_together(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]], client: Http1Client
) -> None:
    async def chunked(body: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'5\r\n{"ok"\r\n'
            b"a;ext=1\r\n: true}   \r\n"
            b"0\r\n\r\n"
        )

    server, target = await serve(chunked)
    assert await client.post(target, b"{}", JSON, **LIMITS) == (200, b'{"ok": true}   ')
    assert await client.post(target, b"{}", JSON, **LIMITS) == (200, b'{"ok": true}   ')
    assert server.connections == 1


async def test_an_answer_up_to_the_close_and_connection_close_are_not_reused(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]], client: Http1Client
) -> None:
    answers = [
        b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n<html>502</html>",
        by_length(b"{}", "Connection: close"),
        by_length(b"[]"),
    ]

    async def next_answer(body: bytes) -> bytes:
        return answers.pop(0)

    server, target = await serve(next_answer)
    assert await client.post(target, b"{}", JSON, **LIMITS) == (502, b"<html>502</html>")
    assert await client.post(target, b"{}", JSON, **LIMITS) == (200, b"{}")
    assert await client.post(target, b"{}", JSON, **LIMITS) == (200, b"[]")
    assert server.connections == 3


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]], client: Http1Client
) -> None:
    async def answer(body: bytes) -> bytes:
        return by_length(b"1")

    server, target = await serve(answer)
    server.hang_up_after_answer = True  # without saying so in the answer, as a proxy may
    assert await client.post(target, b"{}", JSON, **LIMITS) == (200, b"1")
    await asyncio.sleep(0.05)  # the hang-up reaches the idle connection
    assert await client.post(target, b"{}", JSON, **LIMITS) == (200, b"1")
    assert server.connections == 2


async def test_an_interim_answer_is_skipped_for_the_real_one(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]], client: Http1Client
) -> None:
    async def continue_first(body: bytes) -> bytes:
        return b"HTTP/1.1 100 Continue\r\n\r\n" + by_length(body)

    server, target = await serve(continue_first)
    assert await client.post(target, b"[1]", JSON, **LIMITS) == (200, b"[1]")
    assert await client.post(target, b"[2]", JSON, **LIMITS) == (200, b"[2]")
    assert server.connections == 1


async def test_a_hang_up_without_an_answer_is_an_http_error_not_a_time_out(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]], client: Http1Client
) -> None:
    async def hang_up(body: bytes) -> None:
        return None

    _, target = await serve(hang_up)
    with pytest.raises(HttpError):
        await client.post(target, b"{}", JSON, **LIMITS)


async def test_a_garbled_answer_is_an_http_error(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]], client: Http1Client
) -> None:
    async def garbage(body: bytes) -> bytes:
        return b"SSH-2.0-OpenSSH\r\n\r\n"

    _, target = await serve(garbage)
    with pytest.raises(HttpError, match="not an HTTP"):
        await client.post(target, b"{}", JSON, **LIMITS)


async def test_calls_beyond_the_pool_wait_for_a_connection(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]],
) -> None:
    async def slowly(body: bytes) -> bytes:
        await asyncio.sleep(0.05)
        return by_length(body)

    server, target = await serve(slowly)
    client = Http1Client(2, "test-agent")
    try:
        bodies = [str(n).encode() for n in range(6)]
        answers = await asyncio.gather(
            *(client.post(target, body, JSON, **LIMITS) for body in bodies)
        )
    finally:
        await client.close()
    assert answers == [(200, body) for body in bodies]
    assert server.connections == 2


async def test_a_cancelled_call_leaves_no_connection_behind(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]], client: Http1Client
) -> None:
    release = asyncio.Event()

    async def held(body: bytes) -> bytes:
        if body == b"held":
            await release.wait()
        return by_length(body)

    server, target = await serve(held)
    call = asyncio.create_task(client.post(target, b"held", JSON, **LIMITS))
    await asyncio.sleep(0.05)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    release.set()
    # The held answer, arriving late on the old connection, is never read as this call's.
    assert await client.post(target, b"next", JSON, **LIMITS) == (200, b"next")
    assert server.connections == 2


def test_what_the_client_does_not_speak_goes_elsewhere() -> None:
    assert target_of("ftp://example.org/x") is None
    assert target_of("https://api.telegram.org/bot1:x/файл") is None
    target = target_of("https://api.telegram.org/bot1:x/getMe?a=1")
    assert target is not None
    assert (target.origin.port, target.origin.tls, target.path) == (443, True, "/bot1:x/getMe?a=1")


async def test_a_name_with_several_addresses_reaches_the_one_that_listens(
    serve: Callable[[Answer], Awaitable[tuple[Server, Target]]], client: Http1Client
) -> None:
    """A name is resolved and its addresses raced (``localhost`` may be ::1 as well as
    127.0.0.1; the server listens on 127.0.0.1 only)."""

    async def echo(body: bytes) -> bytes:
        return by_length(body)

    _, target = await serve(echo)
    named = target_of(f"http://localhost:{target.origin.port}/bot123:abc/getMe")
    assert named is not None
    assert await client.post(named, b"{}", JSON, **LIMITS) == (200, b"{}")
