"""Benchmark: a real bot process fed garbage updates, or sharing its token with another poller.

The bot runs as a real subprocess (``python -m bot run``, long polling, ``poll_timeout`` 1 s)
against the stand-in in this process; ``--root`` runs another checkout's bot (e.g. an older
commit in a git worktree) against the same stand-in, for a before/after. After warming up with
one ``/help``:

- ``garbage``: one update the library cannot read, carrying an invite link, then nothing for
  ``--seconds``;
- ``flood``: a new such update every 10 ms for ``--seconds``;
- ``conflict``: another client polls getUpdates with the bot's token, as fast as it is
  answered, for ``--seconds``.

Then a user sends ``/help``. Figures: bytes and lines the bot logged meanwhile, tracebacks,
whether the link's token is in the log, getUpdates calls (the bot's 409s for ``conflict``),
and how long the ``/help`` took to be answered (none: not within 60 s).

    python -m bench.polling garbage|flood|conflict [--seconds 20] [--root PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.broadcasts import ROOT, TOKEN, write_config
from standin import TelegramStandin

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
USER_ID = 740001
FAKE_TOKEN = "FAKEinviteTOKENfor1bench"  # an invite link's token, to look for in the log
GARBAGE_EVERY = 0.01
ANSWER_SECONDS = 60.0


def start(root: Path, config: Path, log: Path) -> subprocess.Popen[bytes]:
    python = root / ".venv" / "bin" / "python"
    env = {**os.environ, "PTB_TIMEDELTA": "1", "BOT_CONFIG": str(config)}
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(python if python.exists() else sys.executable), "-m", "bot", "run"],
            cwd=root,
            env=env,
            stdout=out,
            stderr=out,
        )


def garbage(n: int) -> dict[str, object]:
    """Not an update python-telegram-bot can read: a message without id, date or chat."""
    return {"message": {"text": f"/start inv_{FAKE_TOKEN}", "from": {"id": USER_ID + n}}}


async def other_poller(standin: TelegramStandin, seconds: float) -> int:
    url = f"{standin.api_base_url}{TOKEN}/getUpdates"
    polls = 0
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.post(url, json={"timeout": 1}) as answer:
                await answer.read()
                polls += 1
    return polls


async def run(mode: str, seconds: float, root: Path) -> None:
    standin = TelegramStandin()
    await standin.start()
    with tempfile.TemporaryDirectory(prefix="bench-polling-") as tmp:
        directory = Path(tmp)
        config = write_config(directory, standin, directory / "bot.sqlite3")
        log = directory / "bot.log"
        bot = start(root, config, log)
        try:
            user = standin.user(USER_ID, first_name="Bench", language_code="en")
            await user.send("/help")
            await user.expect_message(timeout=ANSWER_SECONDS)
            size, lines = log.stat().st_size, len(log.read_bytes().splitlines())
            polls = len(standin.calls_to("getUpdates"))
            extra = ""
            if mode == "conflict":
                other = await other_poller(standin, seconds)
                ours = [
                    c
                    for c in standin.calls_to("getUpdates")[polls:]
                    if c.status == 409 and "allowed_updates" in c.params
                ]
                extra = f", other poller's polls {other}, the bot's 409s {len(ours)}"
            else:
                sent = 0
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    if mode == "flood" or sent == 0:
                        standin.inject_update(garbage(sent))
                        sent += 1
                    await asyncio.sleep(GARBAGE_EVERY)
                extra = f", unreadable updates {sent}"
            text = log.read_bytes()  # the log and the polls over the window itself
            window_polls = len(standin.calls_to("getUpdates")) - polls
            asked = time.monotonic()
            await user.send("/help")
            try:
                await user.expect_message(timeout=ANSWER_SECONDS)
                answered = f"{time.monotonic() - asked:.2f} s"
            except AssertionError:
                answered = f"not within {ANSWER_SECONDS:.0f} s"
            print(
                f"{mode} for {seconds:.0f} s ({root}){extra}: log {len(text) - size:,} bytes,"
                f" {len(text.splitlines()) - lines:,} lines, {text.count(b'Traceback'):,}"
                f" tracebacks, token in the log {text.count(FAKE_TOKEN.encode()):,} times,"
                f" getUpdates {window_polls:,},"
                f" next /help answered in {answered}"
            )
        finally:
            bot.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(bot.wait, 30)
            except subprocess.TimeoutExpired:
                bot.kill()
                await asyncio.to_thread(bot.wait)
            await standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["garbage", "flood", "conflict"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose bot runs")
    args = parser.parse_args()
    print(f"python -m bench.polling {args.mode} --seconds {args.seconds:g} --root {args.root}")
    asyncio.run(run(args.mode, args.seconds, args.root.resolve()))


if __name__ == "__main__":
    main()
