"""A tiny run of bench/requests.py, so that the benchmark keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.backends import CLOCK_TICKS, server_cpu_seconds
from bench.requests import ECHOES, UPDATES_PER_ENTERPRISE, bench_application, bench_echo

pytestmark = pytest.mark.slow  # an end-to-end suite: `./test -m "not slow"` skips it


async def test_benchmark_smoke() -> None:
    app = await bench_application(2, rate_limited=False)
    echoes = [await bench_echo(2, kind) for kind in ECHOES]
    for run in [app, *echoes]:
        assert run.updates == len(run.latencies) == 2 * UPDATES_PER_ENTERPRISE
        assert run.rate > 0 and run.cpu_seconds > 0
        assert run.calls_per_update >= 1


def test_the_server_cpu_is_the_postgres_processes_time_only(tmp_path: Path) -> None:
    """bench.backends.server_cpu_seconds adds utime and stime of the processes named
    postgres (a process name may hold spaces and parentheses), nothing else's."""
    processes = {"101": ("postgres", 300, 100), "102": ("python3", 5000, 5000)}
    processes["103"] = ("postgres", 50, 50)
    for pid, (name, user, system) in processes.items():
        folder = tmp_path / pid
        folder.mkdir()
        (folder / "comm").write_text(f"{name}\n")
        fields = ["S", *["0"] * 10, str(user), str(system), *["0"] * 30]
        (folder / "stat").write_text(f"{pid} (a (b) c) {' '.join(fields)}\n")
    (tmp_path / "self").mkdir()
    assert server_cpu_seconds(tmp_path) == pytest.approx(500 / CLOCK_TICKS)
