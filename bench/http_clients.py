"""Benchmark: the client CPU of one Bot API JSON call, our HTTP/1.1 client against the libraries.

Each client POSTs a ``sendMessage``-sized JSON body and reads a small JSON answer, from
``--callers`` tasks at once on uvloop, over kept-alive connections. The server is a raw
asyncio server in another process, so the CPU counted (``time.process_time``) is the client's
alone. Each client runs in a fresh process per run, the clients alternating, and the median
over runs is reported. Why ``runtime/http1.py`` is kept: docs/requests.md, "Current figures".
httpx, httpcore and h11 are python-telegram-bot's own dependencies.

    python -m bench.http_clients [--callers 8] [--calls 2000] [--runs 3] [--clients a,b]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
from collections.abc import Awaitable, Callable
from multiprocessing.queues import Queue
from typing import Final
from urllib.parse import urlsplit

import aiohttp
import h11
import httpcore
import httpx
import uvloop

from runtime.http1 import Http1Client, target_of

BODY: Final = json.dumps(
    {"chat_id": 620001, "text": "诉求 LN-20260302-0001 已收到，我们会尽快处理。" * 2},
    ensure_ascii=False,
).encode()
ANSWER_BODY: Final = json.dumps(
    {"ok": True, "result": {"message_id": 12345, "date": 1764900000, "text": "诉求已收到"}},
    ensure_ascii=False,
).encode()
ANSWER: Final = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b"
    % (len(ANSWER_BODY), ANSWER_BODY)
)
JSON: Final = "application/json"
LIMIT: Final = 5.0  # seconds, every phase: never reached on loopback
WARM_UP_CALLS: Final = 50  # per caller, before the clock starts
READ_CHUNK: Final = 64 * 1024
CLIENTS: Final = ("http1", "aiohttp", "h11", "httpcore", "httpx")

Call = Callable[[], Awaitable[bytes]]
Close = Callable[[], Awaitable[None]]


async def answer_requests(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            start = head.index(b"content-length:") + len(b"content-length:")
            await reader.readexactly(int(head[start : head.index(b"\r\n", start)]))
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


def serve(ports: Queue[int]) -> None:
    async def run() -> None:
        server = await asyncio.start_server(answer_requests, "127.0.0.1", 0)
        ports.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    uvloop.run(run())


async def _http1(url: str, callers: int) -> tuple[Call, Close]:
    client = Http1Client(callers, "bench")
    target = target_of(url)
    assert target is not None

    async def call() -> bytes:
        return (await client.post(target, BODY, JSON, connect=LIMIT, write=LIMIT, read=LIMIT))[1]

    return call, client.close


async def _aiohttp(url: str, callers: int) -> tuple[Call, Close]:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=callers),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )
    timeout = aiohttp.ClientTimeout(total=3 * LIMIT, connect=LIMIT, sock_read=LIMIT)
    headers = {"Content-Type": JSON}

    async def call() -> bytes:
        async with session.post(url, data=BODY, headers=headers, timeout=timeout) as response:
            return await response.read()

    return call, session.close


async def _h11(url: str, callers: int) -> tuple[Call, Close]:
    """h11's parser on asyncio streams, one connection per caller opened beforehand: the
    parsing of a library with no pool, connecting or keep-alive policy around it."""
    parts = urlsplit(url)
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]]
    idle = asyncio.Queue()
    for _ in range(callers):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        idle.put_nowait((reader, writer, h11.Connection(h11.CLIENT)))
    headers = [("Host", parts.netloc), ("Content-Type", JSON), ("Content-Length", str(len(BODY)))]
    request = h11.Request(method="POST", target=parts.path, headers=headers)

    async def call() -> bytes:
        reader, writer, connection = await idle.get()
        writer.write(connection.send(request) or b"")
        writer.write(connection.send(h11.Data(data=BODY)) or b"")
        writer.write(connection.send(h11.EndOfMessage()) or b"")
        body: list[bytes] = []
        async with asyncio.timeout(LIMIT):
            await writer.drain()
            while not isinstance(event := connection.next_event(), h11.EndOfMessage):
                if event is h11.NEED_DATA:
                    connection.receive_data(await reader.read(READ_CHUNK))
                elif isinstance(event, h11.Data):
                    body.append(bytes(event.data))
        connection.start_next_cycle()
        idle.put_nowait((reader, writer, connection))
        return b"".join(body)

    async def close() -> None:
        while not idle.empty():
            idle.get_nowait()[1].close()

    return call, close


async def _httpcore(url: str, callers: int) -> tuple[Call, Close]:
    pool = httpcore.AsyncConnectionPool(max_connections=callers)
    headers = [(b"Content-Type", JSON.encode())]
    limits = {"connect": LIMIT, "read": LIMIT, "write": LIMIT, "pool": LIMIT}

    async def call() -> bytes:
        response = await pool.request(
            "POST", url, headers=headers, content=BODY, extensions={"timeout": limits}
        )
        return response.content

    return call, pool.aclose


async def _httpx(url: str, callers: int) -> tuple[Call, Close]:
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=callers), timeout=LIMIT, trust_env=False
    )
    headers = {"Content-Type": JSON}

    async def call() -> bytes:
        return (await client.post(url, content=BODY, headers=headers)).content

    return call, client.aclose


MAKERS: Final = {
    "http1": _http1,
    "aiohttp": _aiohttp,
    "h11": _h11,
    "httpcore": _httpcore,
    "httpx": _httpx,
}


async def measure(name: str, url: str, callers: int, calls: int) -> float:
    """Client CPU microseconds per call."""
    call, close = await MAKERS[name](url, callers)

    async def caller(count: int) -> None:
        for _ in range(count):
            if await call() != ANSWER_BODY:
                raise RuntimeError(f"{name}: a wrong answer")

    await asyncio.gather(*(caller(WARM_UP_CALLS) for _ in range(callers)))
    started = time.process_time()
    await asyncio.gather(*(caller(calls // callers) for _ in range(callers)))
    spent = time.process_time() - started
    await close()
    return spent / (calls // callers * callers) * 1e6


def run_client(name: str, url: str, callers: int, calls: int, results: Queue[float]) -> None:
    results.put(uvloop.run(measure(name, url, callers, calls)))


def main(clients: list[str], callers: int, calls: int, runs: int) -> None:
    spawn = multiprocessing.get_context("spawn")
    ports: Queue[int] = spawn.Queue()
    server = spawn.Process(target=serve, args=(ports,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get()}/bot123456789:BENCH-token/sendMessage"
    figures: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for _ in range(runs):
            for name in clients:
                results: Queue[float] = spawn.Queue()
                process = spawn.Process(
                    target=run_client, args=(name, url, callers, calls, results)
                )
                process.start()
                figures[name].append(results.get())
                process.join()
    finally:
        server.terminate()
    print(f"client CPU per JSON call, {callers} callers, {calls} calls, {runs} runs (medians)")
    for name, spent in figures.items():
        runs_text = ", ".join(f"{value:.0f}" for value in spent)
        print(f"{name:10s} {statistics.median(spent):7.1f} us   (runs: {runs_text})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    args = parser.parse_args()
    chosen = args.clients.split(",")
    unknown = sorted(set(chosen) - set(MAKERS))
    if unknown:
        parser.error(f"--clients: unknown {unknown}, known {list(MAKERS)}")
    main(chosen, args.callers, args.calls, args.runs)
