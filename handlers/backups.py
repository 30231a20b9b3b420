"""The online-backup alarm clock: the domain job (bot/backups.py) decides what is due."""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, BaseHandler

from handlers.context import AppContext
from storage.database import BackupFailed

log = logging.getLogger(__name__)

HANDLERS: list[BaseHandler[Any, Any, Any]] = []


async def tick(context: AppContext) -> None:
    try:
        written = await context.services.backups.tick()
    except BackupFailed as exc:  # tried again at the next interval
        log.error("online backup failed: %s", exc)
        return
    if written is not None:
        log.info("online backup written to %s", written)


def schedule_backups(app: Application[Any, Any, Any, Any, Any, Any], interval_hours: float) -> None:
    """First backup one interval after start (never during a short test run); 0 disables."""
    if interval_hours <= 0:
        return
    assert app.job_queue is not None
    seconds = interval_hours * 3600
    app.job_queue.run_repeating(tick, interval=seconds, first=seconds, name="backups")
