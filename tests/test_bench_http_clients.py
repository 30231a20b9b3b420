"""A tiny run of bench/http_clients.py, so that the comparison can be made again."""

from __future__ import annotations

import asyncio

from bench.http_clients import MAKERS, answer_requests, measure


async def test_every_client_gets_the_answer_and_is_measured() -> None:
    server = await asyncio.start_server(answer_requests, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/bot1:t/sendMessage"
    try:
        for name in MAKERS:
            assert await measure(name, url, callers=2, calls=4) > 0
    finally:
        server.close()
        await server.wait_closed()
