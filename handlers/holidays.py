"""Holiday schedules in the chat (admins): send the year's .toml file to load it, /holidays
to see where this year's and next year's days come from and get a template to fill in."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.holiday_schedule import (
    FILE_SUFFIX,
    MAX_FILE_BYTES,
    Problem,
    ScheduleRejected,
    awaited_year,
    describe_loaded,
    describe_rejection,
    parse_schedule,
    status_lines,
    template,
)
from bot.roles import FILE_RULES, HOLIDAY_SCHEDULE, permits
from handlers.access import refuse
from handlers.context import AppContext


async def receive_schedule(update: Update, context: AppContext) -> None:
    """Load the holiday schedule an admin sent, or say what is wrong with it."""
    actor = context.actor
    texts = await context.texts(update)
    message = update.effective_message
    assert message is not None and message.document is not None
    if not permits(actor, FILE_RULES[HOLIDAY_SCHEDULE]):
        await refuse(update, context)
        return
    services, document = context.services, message.document
    name = document.file_name or FILE_SUFFIX
    tz = services.settings.locale.tz
    try:
        if (document.file_size or 0) > MAX_FILE_BYTES:
            raise ScheduleRejected([Problem("too_big", {"limit": MAX_FILE_BYTES // 1024})])
        data = bytes(await (await document.get_file()).download_as_bytearray())
        schedule = parse_schedule(data)
        loaded = await services.holidays.load(
            schedule,
            file_name=name,
            file_text=data.decode("utf-8-sig"),
            actor_id=actor.telegram_id,
        )
    except ScheduleRejected as rejected:
        await services.audit.record(
            now=services.clock.now(),
            actor_id=actor.telegram_id,
            action="holidays.load",
            result="rejected",
            detail=f"{name}: {rejected}",
        )
        await message.reply_text(describe_rejection(rejected, name, texts))
        return
    await message.reply_text(describe_loaded(loaded, texts, tz))


async def show_schedules(update: Update, context: AppContext) -> None:
    """Where this year's and next year's days come from; a template for the awaited year."""
    texts = await context.texts(update)
    message = update.effective_message
    assert message is not None
    services = context.services
    calendar = services.calendar
    today = calendar.local_day(services.clock.now())
    lines = [texts("holidays.status_title"), *status_lines(calendar, today, texts)]
    lines.append(texts("holidays.status_help"))
    await message.reply_text("\n".join(lines))
    year = awaited_year(calendar, today) or today.year + 1
    await context.bot.send_document(
        message.chat_id,
        template(year, calendar).encode(),
        filename=f"holidays-{year}.toml",
        caption=texts("holidays.template_caption", year=year),
    )


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("holidays", show_schedules),
    # Before the rosters, which take every other document an admin sends.
    MessageHandler(
        filters.Document.FileExtension(FILE_SUFFIX.removeprefix(".")) & filters.ChatType.PRIVATE,
        receive_schedule,
    ),
]
