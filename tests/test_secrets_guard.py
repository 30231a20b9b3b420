"""The suite-wide secrets guard (tests/secrets_guard.py) can fail, and does not cry wolf."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bot.config import VerificationSettings
from bot.logs import on_secret_issued
from bot.verification import issue_code, new_card_token
from tests.secrets_guard import GUARD, SecretsGuard, _KeepLines

FAKE_TOKEN = "987654321:AAFakeSecretForTheGuardTest"


def guarded_logger(guard: SecretsGuard, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.propagate = False  # keep the fake secrets out of the real guard's lines
    logger.setLevel(logging.DEBUG)
    logger.handlers = [_KeepLines(guard)]
    return logger


def test_a_leaked_secret_is_flagged_with_kind_and_logger_only() -> None:
    guard = SecretsGuard()
    guard.register("bot token", FAKE_TOKEN)
    guard.register("invite token", "inv-token-ABCdef_123")
    logger = guarded_logger(guard, "tests.guard.leaky")
    logger.debug("calling https://api.example/bot%s/getMe", FAKE_TOKEN)
    logger.info("nothing to see")
    try:
        raise ValueError("payload inv_inv-token-ABCdef_123 rejected")
    except ValueError:
        logger.exception("failed")  # only the traceback text carries the secret
    leaks = guard.leaks()
    assert [(leak.kind, leak.logger) for leak in leaks] == [
        ("bot token", "tests.guard.leaky"),
        ("invite token", "tests.guard.leaky"),
    ]
    assert all(FAKE_TOKEN not in repr(leak) for leak in leaks)


def test_codes_count_only_as_whole_numbers_and_short_values_are_ignored() -> None:
    guard = SecretsGuard()
    guard.register("verification code", "48312907")
    guard.register("verification code (as displayed)", "4831 2907")
    guard.register("too short", "abc")
    logger = guarded_logger(guard, "tests.guard.codes")
    logger.info("user 1483129070 sent abc")  # the code's digits inside a longer id: no leak
    assert guard.leaks() == []
    logger.info("code was 4831 2907.")
    logger.info("code=48312907")
    assert [leak.kind for leak in guard.leaks()] == [
        "verification code (as displayed)",
        "verification code",
    ]


def test_overlapping_secrets_are_all_found() -> None:
    guard = SecretsGuard()
    guard.register("a", "secret-one")
    guard.register("b", "secret-one-two")
    guard.register("c", "one-two-three")
    logger = guarded_logger(guard, "tests.guard.overlap")
    logger.info("x secret-one-two-three y")
    logger.info("x secret-one! y")
    assert sorted(leak.kind for leak in guard.leaks()) == ["a", "b", "c"]


def test_the_domain_registers_what_it_issues() -> None:
    seen: list[tuple[str, str]] = []
    unsubscribe = on_secret_issued(lambda kind, value: seen.append((kind, value)))
    try:
        card = new_card_token()
        code = issue_code(VerificationSettings(), "key", datetime(2026, 3, 2, tzinfo=UTC))
    finally:
        unsubscribe()
    assert seen == [
        ("card token", card),
        ("verification code", code.code),
        ("verification code (as displayed)", code.display),
    ]
    # The suite-wide guard heard them too.
    assert GUARD.secrets.get(card) == "card token"
    assert GUARD.secrets.get(code.code) == "verification code"


@pytest.mark.parametrize("level", [logging.DEBUG])
def test_the_suite_guard_listens_at_debug(level: int) -> None:
    assert logging.getLogger().level == level
    assert any(isinstance(h, _KeepLines) for h in logging.getLogger().handlers)
