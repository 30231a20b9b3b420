"""Suite-wide guard: no secret issued during the test run may appear in any log line.

Loaded from ``tests/conftest.py``. At session start a handler on the root logger (level DEBUG,
root set to DEBUG, httpx/httpcore quieted as in production) keeps every formatted log line,
exception text included. Secrets are registered as they are issued: the bot token and webhook
secret of the ``settings`` fixture, and every invite token, verification code and card token
through the domain's registration point :func:`bot.logs.on_secret_issued`. At session end all
lines are scanned once with one trie-shaped regex (work proportional to the text, not to
lines × secrets); any hit fails the run, naming the kind of secret and the record's logger —
never the secret itself.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

import pytest

from bot.logs import on_secret_issued, quiet_http_loggers

MIN_SECRET_LENGTH = 6
FORMAT = "%(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True, slots=True)
class Leak:
    kind: str
    logger: str


def _trie_pattern(words: list[str]) -> str:
    """A regex matching any of ``words``, shaped as a trie so each position costs O(depth)."""
    trie: dict[str, dict[str, object]] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})  # type: ignore[assignment]
        node[""] = {}

    def build(node: dict[str, object]) -> str:
        ends = "" in node
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]  # type: ignore[arg-type]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return build(trie)


@dataclass
class SecretsGuard:
    """Collects log lines and secrets; :meth:`leaks` scans them all at once."""

    secrets: dict[str, str] = field(default_factory=dict)  # value → kind
    lines: list[tuple[str, str]] = field(default_factory=list)  # (logger name, text)

    def register(self, kind: str, value: str | None) -> None:
        if value and len(value) >= MIN_SECRET_LENGTH:
            self.secrets.setdefault(value, kind)

    def record(self, logger: str, text: str) -> None:
        self.lines.append((logger, text))

    def leaks(self) -> list[Leak]:
        if not self.secrets or not self.lines:
            return []
        # Longest first at equal prefixes is implied by the trie; the lookahead finds
        # overlapping hits, so a false hit cannot hide a real one right after it.
        finder = re.compile("(?=(" + _trie_pattern(list(self.secrets)) + "))")
        found: list[Leak] = []
        for logger, text in self.lines:
            kinds: dict[str, None] = {}  # one leak per kind and line, in order of appearance
            for match in finder.finditer(text):
                for value in self._candidates(match.group(1)):
                    if self._bounded(text, match.start(), value):
                        kinds.setdefault(self.secrets[value])
                        break
            found.extend(Leak(kind, logger) for kind in kinds)
        return found

    def _candidates(self, matched: str) -> list[str]:
        # The trie regex returns the longest secret at that position; shorter secrets that
        # are prefixes of it also count (e.g. a code of 8 digits inside a longer one).
        return [matched[:n] for n in range(len(matched), 0, -1) if matched[:n] in self.secrets]

    @staticmethod
    def _bounded(text: str, start: int, value: str) -> bool:
        """All-digit secrets (codes) count only as whole numbers: not inside a longer id."""
        if not value.replace(" ", "").isdigit():
            return True
        end = start + len(value)
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        return not before.isdigit() and not after.isdigit()


class _KeepLines(logging.Handler):
    def __init__(self, guard: SecretsGuard) -> None:
        super().__init__(logging.DEBUG)
        self.guard = guard
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)  # includes exc_text and stack_info
        except Exception:  # a broken record must not break the test that logged it
            text = f"{record.msg!r} {record.args!r}"
        self.guard.record(record.name, text)


GUARD = SecretsGuard()
_HANDLER = _KeepLines(GUARD)


def pytest_sessionstart(session: pytest.Session) -> None:
    root = logging.getLogger()
    root.addHandler(_HANDLER)
    root.setLevel(logging.DEBUG)
    quiet_http_loggers()
    on_secret_issued(GUARD.register)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_HANDLER)
    started = time.perf_counter()
    leaks = GUARD.leaks()
    elapsed_ms = (time.perf_counter() - started) * 1000
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    summary = (
        f"secrets guard: {len(GUARD.lines)} log lines checked, "
        f"{len(GUARD.secrets)} secrets registered, {len(leaks)} leaks ({elapsed_ms:.0f} ms)"
    )
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(summary)
        for leak in leaks:
            reporter.write_line(f"secrets guard: LEAK of a {leak.kind} in logger {leak.logger!r}")
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
