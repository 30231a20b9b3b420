"""One bot per database: a second ``run`` (or ``run --webhook``, ``sandbox`` or ``migrate``) on a
database a bot is running on is refused at start with one line and exit code 2; the commands
that only read or are safe alongside the bot keep working; a SIGKILLed bot leaves no lock.

The bot runs as a real process (``python -m bot run``) against the stand-in; the other
commands run in this process (``runtime.cli.main``, in a thread: each runs its own event loop).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from runtime.cli import EXIT_USAGE, main
from runtime.instance import AlreadyRunning, InstanceLock, lock_path
from standin import TelegramStandin

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:TEST-token-never-logged"
START_SECONDS = 30.0


def _write_config(tmp_path: Path, standin: TelegramStandin, db: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{standin.api_base_url}"\n'
        f'base_file_url = "{standin.file_base_url}"\npoll_timeout = 1\n'
        f'[storage]\npath = "{db}"\nbackup_interval_hours = 0\n'
        '[security]\nhash_key = "single-instance-hash-key-0123"\n'
        '[webhook]\nurl = "https://bot.example.org/telegram"\nsecret_token = "hook-secret-1"\n'
        "port = 0\n",
        encoding="utf-8",
    )
    return config


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PTB_TIMEDELTA": "1", "BOT_CONFIG": str(config)}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def _polling(standin: TelegramStandin, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until ``process`` has started (getMe) and waits in a long poll."""
    started = len(standin.calls_to("getMe"))
    deadline = time.monotonic() + START_SECONDS
    while len(standin.calls_to("getMe")) == started or not standin.world.updates.polling:
        assert process.poll() is None, _text(log)
        assert time.monotonic() < deadline, "the bot did not start polling"
        await asyncio.sleep(0.05)


def _text(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")


async def _command(config: Path, *argv: str) -> subprocess.CompletedProcess[bytes]:
    """``python -m bot ARGV`` as the operator runs it, to its end."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "--config", str(config), *argv],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PTB_TIMEDELTA": "1"},
    )


async def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT and wait, without blocking the loop the stand-in answers the bot's last calls on."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


async def _cli(*argv: str) -> int:
    """``runtime.cli.main`` in a thread (each command runs its own event loop)."""
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture
async def running_bot(
    tmp_path: Path, standin: TelegramStandin
) -> AsyncIterator[tuple[Path, Path, subprocess.Popen[bytes]]]:
    db = tmp_path / "bot.sqlite3"
    config = _write_config(tmp_path, standin, db)
    log = tmp_path / "bot.log"
    process = _start(config, log)
    try:
        await _polling(standin, process, log)
        yield config, db, process
    finally:
        await _stop(process)


@pytest.mark.slow  # the bot as a real process, started and stopped
@pytest.mark.parametrize(
    "argv",
    [["run"], ["run", "--webhook"], ["sandbox", "--data", "{db}", "--port", "0"], ["migrate"]],
    ids=["run", "webhook", "sandbox", "migrate"],
)
async def test_a_second_bot_on_the_same_database_is_refused_with_one_line(
    running_bot: tuple[Path, Path, subprocess.Popen[bytes]],
    standin: TelegramStandin,
    argv: list[str],
) -> None:
    config, db, first = running_bot
    calls_before = len(standin.calls)
    second = await _command(config, *(arg.format(db=db) for arg in argv))
    assert second.returncode == EXIT_USAGE
    assert second.stdout == b""
    lines = second.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "already running" in lines[0] and str(db) in lines[0] and str(first.pid) in lines[0]
    # Refused before it said anything to Telegram (no getMe, no deleteWebhook or setWebhook,
    # no poll cutting the first one off).
    assert [c for c in standin.calls[calls_before:] if c.method != "getUpdates"] == []
    assert [c for c in standin.calls_to("getUpdates") if c.status != 200] == []
    assert first.poll() is None


@pytest.mark.slow  # the bot as a real process, started and stopped
async def test_commands_safe_alongside_the_bot_keep_working(
    running_bot: tuple[Path, Path, subprocess.Popen[bytes]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, _, first = running_bot
    c = ("--config", str(config))
    assert await _cli(*c, "add-official", "LN-901", "孙立", "--title", "副市长") == 0
    assert await _cli(*c, "invite", "--official", "LN-901") == 0
    assert await _cli(*c, "invite", "--admin", "大连") == 0  # an admin of Dalian's office
    assert await _cli(*c, "invites", "--all-officials", str(tmp_path / "invites.csv")) == 0
    roster = tmp_path / "officials.csv"
    assert await _cli(*c, "export", "officials", str(roster)) == 0
    assert await _cli(*c, "import", "officials", str(roster)) == 0
    assert await _cli(*c, "ledger", str(tmp_path / "ledger.csv")) == 0
    assert await _cli(*c, "backup", str(tmp_path / "copy.sqlite3")) == 0
    assert "already running" not in capsys.readouterr().err
    assert first.poll() is None


@pytest.mark.slow  # the bot as a real process, started and stopped
async def test_a_killed_bot_leaves_no_lock_behind(
    running_bot: tuple[Path, Path, subprocess.Popen[bytes]],
    standin: TelegramStandin,
    tmp_path: Path,
) -> None:
    config, db, first = running_bot
    first.send_signal(signal.SIGKILL)
    await asyncio.to_thread(first.wait, 10)
    assert lock_path(db).exists()  # the file stays; only the OS lock counted, and it died
    log = tmp_path / "second.log"
    second = _start(config, log)
    try:
        await _polling(standin, second, log)
        user = standin.user(730001, first_name="Lin", language_code="en")
        await user.send("/help")
        assert (await user.expect_message(timeout=10)).text
    finally:
        await _stop(second)
    assert second.returncode == 0, _text(log)


# --- The lock on its own ---------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data" / "bot.sqlite3"


def test_the_lock_is_held_once_and_released_on_close(database: Path) -> None:
    with InstanceLock(database) as first:
        assert lock_path(database) == database.with_name("bot.sqlite3.lock")
        assert lock_path(database).read_text().strip() == str(os.getpid())
        with pytest.raises(AlreadyRunning) as refused:
            InstanceLock(database).acquire()
        assert refused.value.pid == os.getpid()
        assert "already running" in str(refused.value)
        assert first.held
    with InstanceLock(database) as again:  # released: taken again at once
        assert again.held


def test_the_same_database_by_another_path_is_the_same_lock(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database.parent.mkdir(parents=True)
    monkeypatch.chdir(database.parent)
    with InstanceLock(Path("bot.sqlite3")), pytest.raises(AlreadyRunning):
        InstanceLock(database).acquire()
