"""A tiny run of bench/requests.py, so that the benchmark keeps working."""

from __future__ import annotations

from bench.requests import UPDATES_PER_ENTERPRISE, bench_application, bench_echo


async def test_benchmark_smoke() -> None:
    app = await bench_application(2, rate_limited=False)
    echo = await bench_echo(2)
    like_app = await bench_echo(2, like_app=True)
    assert app.updates == echo.updates == like_app.updates == 2 * UPDATES_PER_ENTERPRISE
    assert len(app.latencies) == len(echo.latencies) == 2 * UPDATES_PER_ENTERPRISE
    assert app.rate > 0 and echo.rate > 0 and like_app.rate > 0
    assert app.cpu_seconds > 0 and echo.cpu_seconds > 0
