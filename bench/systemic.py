"""Benchmark: how long suggesting similar systemic issues and requests takes, at scale.

Seeds N open requests (texts made of the six categories' typical phrases, Chinese, with
numbers and enterprise-specific words) and M unresolved issues in a fresh SQLite database,
then times ``SystemicDesk.suggest`` for an admin (issues + the newest
``systemic.max_candidates`` open requests) and for an entrepreneur (issues only), as the
median of R rounds. Baseline in the same run: reading the same candidate rows without
ranking them, so the ratio shows what the similarity itself costs.

    python -m bench.systemic [--requests 20000] [--issues 200] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FakeClock, to_epoch
from bot.config import Settings
from bot.services import Services

PHRASES = (
    "厂区用电增容申请迟迟没有批复",
    "新项目用地指标无法落实",
    "国有企业拖欠货款多次催告无果",
    "高新技术企业补贴政策没有兑现",
    "环评审批手续办理时间太长",
    "专利被同行仿冒侵权需要协调",
    "上游原材料供应中断产业链不稳",
    "招工难，技术工人缺口大",
    "银行贷款审批慢，流动资金紧张",
    "出口退税到账慢",
)
QUERY = "用电增容审批太慢，新生产线等电投产"


def _text(rng: random.Random, i: int) -> str:
    parts = rng.sample(PHRASES, 2)
    return f"{parts[0]}，{parts[1]}，涉及金额{rng.randint(10, 900)}万元，第{i}号车间"


async def _seed(services: Services, requests: int, issues: int, rng: random.Random) -> None:
    now = to_epoch(services.clock.now())
    async with services.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO enterprises (name, credit_code, city, stage, created_at)"
            " VALUES ('bench', '91210100MA0QC0QX3P', 'shenyang', 'growth', ?)",
            (now,),
        )
        await tx.executemany(
            "INSERT INTO requests (number, enterprise_id, submitted_by, category, summary,"
            " description, status, created_at) VALUES (?, 1, 1, 'factors', ?, ?, 'assigned', ?)",
            [
                (f"LN-B-{i:07d}", text[:30], text, now + i)
                for i, text in ((i, _text(rng, i)) for i in range(requests))
            ],
        )
        await tx.executemany(
            "INSERT INTO systemic_issues (title, created_by, created_at) VALUES (?, 0, ?)",
            [(rng.choice(PHRASES), now) for _ in range(issues)],
        )


async def _median(call: Callable[[], Awaitable[object]], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def run(requests: int, issues: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.model_validate(
            {
                "storage": {"path": str(Path(folder) / "bench.sqlite3")},
                "admins": {"telegram_ids": [1]},
            }
        )
        services = await Services.open(settings, clock=FakeClock(datetime(2026, 3, 2, tzinfo=UTC)))
        try:
            await _seed(services, requests, issues, random.Random(7))
            admin, guest = await services.actor(1), await services.actor(2)
            limit = settings.systemic.max_candidates
            repo = services.systemic.repo

            async def read_only() -> None:
                await repo.matchable_issues()
                await repo.matchable_requests(limit=limit, exclude=None)

            baseline = await _median(read_only, rounds)
            as_admin = await _median(lambda: services.systemic.suggest(admin, QUERY), rounds)
            as_guest = await _median(lambda: services.systemic.suggest(guest, QUERY), rounds)
        finally:
            await services.close()
    print(f"{requests} open requests ({limit} compared), {issues} issues, median of {rounds}")
    print(f"read candidates only (baseline): {baseline * 1000:.1f} ms")
    print(f"suggest for an admin:            {as_admin * 1000:.1f} ms ({as_admin / baseline:.1f}x)")
    print(f"suggest for an entrepreneur:     {as_guest * 1000:.1f} ms")
    print(f"python -m bench.systemic --requests {requests} --issues {issues} --rounds {rounds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.issues, args.rounds))


if __name__ == "__main__":
    main()
