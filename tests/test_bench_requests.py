"""A tiny run of bench/requests.py, so that the benchmark keeps working."""

from __future__ import annotations

import pytest

from bench.requests import ECHOES, UPDATES_PER_ENTERPRISE, bench_application, bench_echo

pytestmark = pytest.mark.slow  # an end-to-end suite: `./test -m "not slow"` skips it


async def test_benchmark_smoke() -> None:
    app = await bench_application(2, rate_limited=False)
    echoes = [await bench_echo(2, kind) for kind in ECHOES]
    for run in [app, *echoes]:
        assert run.updates == len(run.latencies) == 2 * UPDATES_PER_ENTERPRISE
        assert run.rate > 0 and run.cpu_seconds > 0
        assert run.calls_per_update >= 1
