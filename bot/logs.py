"""Logging set-up: quiet the HTTP client (its URLs carry the token) and redact secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterable

REDACTED = "[REDACTED]"
NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler", "aiohttp.access")


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
    """httpx logs every request URL at INFO, and the URL carries the bot token."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: int = logging.INFO, secrets: Iterable[str] = ()) -> RedactSecrets:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_http_loggers()
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor
