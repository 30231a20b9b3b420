"""The alarm clock: what the bot sends on its own, through the one sender (handlers/delivery)."""

from __future__ import annotations

import logging
from typing import Any

from handlers.context import AppContext
from handlers.delivery import TelegramSender
from handlers.marks import TelegramMarks

log = logging.getLogger(__name__)

ALARM_JOB = "alarm"


async def wake(context: AppContext) -> None:
    """Every few seconds: send what fell due (the first wake-up also catches up after a restart)."""
    await context.services.alarm.tick()


async def start_alarm(app: Any) -> None:
    """Give the domain a Telegram sender, settle what a crash left mid-send, and start the
    repeating wake-up job."""
    services = app.bot_data.services
    await services.courier.recover()
    services.sender = TelegramSender(
        app.bot, services, timeout=services.settings.reminders.send_timeout_seconds
    )
    services.outbox.keep_going = lambda: app.running
    if services.settings.verification.telegram_mark:
        services.mark_port = TelegramMarks(app.bot)
    assert app.job_queue is not None
    app.job_queue.run_repeating(
        wake,
        interval=services.settings.reminders.tick_seconds,
        first=0,
        name=ALARM_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )
