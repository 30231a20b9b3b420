"""Logging set-up: quiet the HTTP client (its URLs carry the token) and redact secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

REDACTED = "[REDACTED]"
NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler", "aiohttp.access")
# Their DEBUG lines carry secrets: the Bot API URL (with the token), every request and update
# payload (deep-link invite and card tokens, typed verification codes, message texts) and SQL
# parameters. Found by the suite's log guard (tests/secrets_guard.py); kept at INFO even with -v.
PAYLOAD_LOGGERS = (
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.ext.Application",
    "telegram.ext.Updater",
    "aiosqlite",
)

SecretListener = Callable[[str, str], None]
_secret_listeners: list[SecretListener] = []


def on_secret_issued(listener: SecretListener) -> Callable[[], None]:
    """Be told ``(kind, value)`` of every secret the domain issues; returns the unsubscriber.

    The test suite's log guard (``tests/secrets_guard.py``) registers here to learn every
    invite token and verification code it must never find in a log line.
    """
    _secret_listeners.append(listener)
    return lambda: _secret_listeners.remove(listener)


def secret_issued(kind: str, value: str) -> None:
    """Called by the issuing functions (invites, verification codes, card tokens)."""
    for listener in tuple(_secret_listeners):
        listener(kind, value)


class RedactSecrets(logging.Filter):
    """Replace every known secret in a record's final message, whatever logged it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def add(self, secret: str) -> None:
        if secret:
            self._secrets.append(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, REDACTED)
            record.msg, record.args = message, None
        return True


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO, and the URL carries the bot token; the payload
    loggers' DEBUG lines carry tokens and codes (see PAYLOAD_LOGGERS)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def configure_logging(level: int = logging.INFO, secrets: Iterable[str] = ()) -> RedactSecrets:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_http_loggers()
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor
