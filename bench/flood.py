"""Benchmark: answers under Telegram's limits while someone floods or an announcement runs.

The stand-in enforces Telegram's limits (about 1 message a second per chat with bursts of 3,
30 a second overall, 429 with ``retry_after`` beyond); the bot runs as deployed (its pacing,
priorities and flood guard, SQLite) in a process of its own, started with ``python -m bot run``.
Latency is from a user's update to the bot's answer to it, as the user sees it.

(a) **flood**: one user sends ``--flood-rate`` texts a second for ``--flood-seconds`` while
    ``--helpers`` other users each send /help once a second. Targets: the others' p95 < 1 s,
    0 answers lost; the flooder gets one "slow down" answer, not minutes of queued answers.
(b) **announcement**: a ``--recipients`` announcement while ``--walkers`` users walk through the
    intake (/new, category, description, done, urgency, submit) one step a second, again and
    again. Targets: the announcement at >= 0.9 of ``broadcast.messages_per_second``, the
    walkers' p95 < 1 s, 0 answers lost, fewer than 10 429s in all.

    python -m bench.flood [--only flood|announcement] [--recipients 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.broadcasts import (
    ADMIN_ID,
    FIRST_RECIPIENT,
    FOOTER,
    delivered,
    seed,
    start_bot,
    status_of,
    write_config,
)
from bot.broadcasts import BroadcastStatus
from bot.config import BroadcastSettings
from standin import RateLimits, TelegramStandin, TestUser
from standin.state import StoredMessage

FLOODER_ID = 610_000
FIRST_HELPER = 620_000
ANSWER_TIMEOUT = 30.0  # seconds: an answer later than this counts as lost
SLOW_DOWN = "太快"  # in the Chinese "slow down" answer
HUMAN_STEP = 1.0  # seconds a walker takes between an answer and their next step


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)
    lost: int = 0
    # (when it started, which step, how long) for each answer: the breakdowns of a long run
    samples: list[tuple[float, str, float]] = field(default_factory=list)

    async def time(self, user: TestUser, action: Awaitable[object], step: str = "") -> bool:
        """Await ``action`` (a send or a press) and the bot's next message to ``user``."""
        started = time.perf_counter()
        await action
        try:
            while FOOTER in ((await user.expect_message(timeout=ANSWER_TIMEOUT)).text or ""):
                pass  # the announcement itself, not an answer
        except AssertionError:
            self.lost += 1
            return False
        self.seconds.append(time.perf_counter() - started)
        self.samples.append((started, step, self.seconds[-1]))
        return True

    @property
    def p95(self) -> float:
        if len(self.seconds) < 2:
            return float("nan")
        return statistics.quantiles(self.seconds, n=20)[-1]

    def line(self, who: str) -> str:
        if not self.seconds:
            return f"{who}: no answers, {self.lost} lost"
        return (
            f"{who}: n={len(self.seconds)}, median {statistics.median(self.seconds):.3f} s,"
            f" p95 {self.p95:.3f} s (target < 1 s), lost {self.lost} (target 0)"
        )


async def ask_help_every_second(user: TestUser, until: float, into: Latencies) -> None:
    while time.perf_counter() < until:
        started = time.perf_counter()
        await into.time(user, user.send("/help"))
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))


async def flood(user: TestUser, rate: float, seconds: float) -> int:
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        await user.send(f"flood {sent}")
        sent += 1
        await asyncio.sleep(max(0.0, sent / rate - (time.perf_counter() - started)))
    return sent


async def flood_run(args: argparse.Namespace, folder: Path) -> None:
    standin = TelegramStandin(limits=RateLimits())
    await standin.start()
    db = folder / "flood.sqlite3"
    await seed(db, 1, scheduled=False)  # the schema and an enterprise; nothing to announce
    bot = start_bot(write_config(folder, standin, db), folder / "flood.log")
    try:
        flooder = standin.user(FLOODER_ID, first_name="刷屏", language_code="zh-hans", started=True)
        helpers = [
            standin.user(FIRST_HELPER + n, first_name="访客", language_code="zh-hans", started=True)
            for n in range(args.helpers)
        ]
        await _wait_until_up(standin, helpers[0])
        baseline = Latencies()  # the same users, nobody flooding: the baseline of this run
        until = time.perf_counter() + args.flood_seconds
        await asyncio.gather(*(ask_help_every_second(h, until, baseline) for h in helpers))
        latencies = Latencies()
        until = time.perf_counter() + args.flood_seconds + 3
        before = standin.rate_limited
        sent, *_ = await asyncio.gather(
            flood(flooder, args.flood_rate, args.flood_seconds),
            *(ask_help_every_second(h, until, latencies) for h in helpers),
        )
        await asyncio.sleep(3)  # what the flooder still gets after the flood
    finally:
        bot.terminate()
        await asyncio.to_thread(bot.wait, 30)
        await standin.stop()
    answers = flooder.messages
    warned = sum(SLOW_DOWN in (m.text or "") for m in answers)
    print(f"(a) flood: {sent} texts at {args.flood_rate:g}/s for {args.flood_seconds:g} s")
    print("    " + baseline.line(f"baseline, nobody flooding, {args.helpers} users' /help"))
    print("    " + latencies.line(f"during the flood, {args.helpers} others' /help"))
    print(f"    p95 ratio flood/baseline: {latencies.p95 / baseline.p95:.2f}")
    print(
        f"    flooder: {len(answers)} answers, of which {warned} 'slow down' (target 1);"
        f" 429s {standin.rate_limited - before}"
    )


Step = Callable[[TestUser, StoredMessage], Awaitable[object]]
# After /new: the category, the description, done, the urgency, submit.
INTAKE_STEPS: list[tuple[str, Step]] = [
    ("category", lambda user, last: user.press(last, "政策落实")),
    ("description", lambda user, last: user.send("补贴迟迟没有兑现，影响资金周转。")),
    ("done", lambda user, last: user.press(last, "✅ 写完了")),
    ("urgency", lambda user, last: user.press(last, "一般")),
    ("submit", lambda user, last: user.press(last, "✅ 提交")),
]


async def walk_intake(user: TestUser, stop: asyncio.Event, into: Latencies) -> int:
    """The intake, one step a second, again and again; how many requests were filed."""
    filed = 0
    while not stop.is_set():
        if not await into.time(user, user.send("/new"), "/new"):
            continue
        for name, step in INTAKE_STEPS:
            await asyncio.sleep(HUMAN_STEP)
            last = [m for m in user.messages if FOOTER not in (m.text or "")][-1]
            if not await into.time(user, step(user, last), name):
                break
        else:
            filed += 1
        await asyncio.sleep(HUMAN_STEP)
    return filed


async def announcement_run(args: argparse.Namespace, folder: Path) -> None:
    standin = TelegramStandin(limits=RateLimits())
    await standin.start()
    db = folder / "announce.sqlite3"
    broadcast_id = await seed(db, args.recipients)
    ids = range(FIRST_RECIPIENT, FIRST_RECIPIENT + args.recipients)
    for user_id in [*ids, ADMIN_ID]:
        standin.user(user_id, started=True, language_code="zh-hans")
    walkers = [standin.user(FIRST_RECIPIENT + n) for n in range(args.walkers)]
    bot = start_bot(write_config(folder, standin, db), folder / "announce.log")
    print(f"(b) the bot's pid: {bot.pid} (for a profiler)", flush=True)
    stop = asyncio.Event()
    latencies = Latencies()
    first = last = 0.0
    try:
        while not standin.calls_to("sendMessage"):
            await asyncio.sleep(0.05)
            if bot.poll() is not None:
                raise SystemExit(f"the bot exited with {bot.returncode}; see {folder}")
        first = time.perf_counter()
        walking = [asyncio.create_task(walk_intake(w, stop, latencies)) for w in walkers]
        while await status_of(db, broadcast_id) is not BroadcastStatus.DONE:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        last = time.perf_counter()
        stop.set()
        filed = sum(await asyncio.gather(*walking))
    finally:
        bot.terminate()
        await asyncio.to_thread(bot.wait, 30)
        await standin.stop()
    counts = delivered(standin, ids)
    configured = BroadcastSettings().messages_per_second
    rate = sum(counts) / (last - first)
    print(f"(b) announcement to {args.recipients} while {args.walkers} users walk the intake")
    print(
        f"    achieved {rate:.1f} msg/s over {last - first:.0f} s: {rate / configured:.2f} of the"
        f" configured {configured:g}/s (target >= 0.9); once {counts.count(1)},"
        f" twice {counts.count(2)}, never {counts.count(0)}"
    )
    print("    " + latencies.line(f"intake steps ({filed} requests filed)"))
    for line in _breakdown(latencies, first):
        print("      " + line)
    print(f"    429s: {standin.rate_limited} (target < 10){_refused_chats(standin)}")


def _summary(seconds: list[float]) -> str:
    p95 = statistics.quantiles(seconds, n=20)[-1] if len(seconds) > 1 else float("nan")
    return f"n={len(seconds)}, median {statistics.median(seconds):.3f} s, p95 {p95:.3f} s"


def _breakdown(latencies: Latencies, first: float) -> list[str]:
    """The walkers' answers by step and by minute of the run: which step grows, and when."""
    lines = []
    for step in ["/new", *(name for name, _ in INTAKE_STEPS)]:
        seconds = [s for _, name, s in latencies.samples if name == step]
        if seconds:
            lines.append(f"{step}: {_summary(seconds)}")
    by_minute: dict[int, list[float]] = {}
    for started, _, took in latencies.samples:
        by_minute.setdefault(int((started - first) // 60), []).append(took)
    for minute, minute_seconds in sorted(by_minute.items()):
        lines.append(f"minute {minute + 1}: {_summary(minute_seconds)}")
    return lines


def _refused_chats(standin: TelegramStandin) -> str:
    """Which chats the 429s were for: the admin, the walkers or the announcement's recipients."""
    refused = [str(call.params.get("chat_id")) for call in standin.api.calls if call.status == 429]
    if not refused:
        return ""
    admin = sum(chat == str(ADMIN_ID) for chat in refused)
    return f"; for the admin {admin}, for others {len(refused) - admin}"


async def _wait_until_up(standin: TelegramStandin, user: TestUser) -> None:
    """The bot answers: its first answer is not measured."""
    await user.send("/help")
    await user.expect_message(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("flood", "announcement"))
    parser.add_argument("--flood-rate", type=float, default=100.0)
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    parser.add_argument("--helpers", type=int, default=20)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--walkers", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "flood"):
            asyncio.run(flood_run(args, Path(tmp)))
        if args.only in (None, "announcement"):
            asyncio.run(announcement_run(args, Path(tmp)))
    print(
        f"reproduce: python -m bench.flood --flood-rate {args.flood_rate:g}"
        f" --flood-seconds {args.flood_seconds:g} --helpers {args.helpers}"
        f" --recipients {args.recipients} --walkers {args.walkers}"
        + (f" --only {args.only}" if args.only else "")
    )


if __name__ == "__main__":
    main()
