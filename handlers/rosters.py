"""Rosters sent to the bot: an admin's .xlsx or .csv is checked and imported, or each bad row
is reported; nobody else's document is used."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.channels import ChannelHasher
from bot.cities import city_name
from bot.config import RosterSettings
from bot.i18n import Translator
from bot.roles import FILE_RULES, ROSTER, permits
from bot.rosters import UnknownKind, describe_report, export_roster, import_sent_roster, kind_named
from bot.tables import UnreadableFile, is_table_name
from handlers.access import refuse
from handlers.context import AppContext
from storage.rosters import RosterRepository


async def receive_roster(update: Update, context: AppContext) -> None:
    """Import the roster an admin sent and answer with the result or the bad rows."""
    actor = context.actor
    texts = await context.texts(update)
    message = update.effective_message
    assert message is not None and message.document is not None
    if not permits(actor, FILE_RULES[ROSTER]):
        await refuse(update, context)
        return
    document, services = message.document, context.services
    limits = services.settings.rosters
    refusal = _refusal(document.file_name or "", document.file_size or 0, texts, limits)
    if refusal is not None:
        await message.reply_text(refusal)
        return
    name = document.file_name or ""
    data = bytes(await (await document.get_file()).download_as_bytearray())
    refusal = _refusal(name, len(data), texts, limits)
    if refusal is not None:
        await message.reply_text(refusal)
        return
    try:
        report = await import_sent_roster(
            services.db,
            RosterRepository(services.db),
            data,
            name,
            message.caption or "",
            hasher=ChannelHasher(services.settings.security.hash_key.get_secret_value().encode()),
            now=services.clock.now(),
            max_unpacked=limits.max_unpacked_bytes,
            scope=actor.scope,  # a city admin: rows of their city only
        )
    except UnreadableFile as exc:
        detail = texts(f"roster.unreadable_reason.{exc.reason}")
        await message.reply_text(texts("roster.unreadable", name=name, detail=detail))
        return
    except UnknownKind:
        await message.reply_text(texts("roster.unknown_kind", name=name))
        return
    await services.audit.record(
        now=services.clock.now(),
        actor_id=actor.telegram_id,
        action="roster.import",
        subject=report.kind,
        result="imported" if report.ok else "rejected",
        detail=name,
    )
    await message.reply_text(describe_report(report, texts))


def _refusal(name: str, size: int, texts: Translator, limits: RosterSettings) -> str | None:
    """Why a file is not read, if it is not: not a table by its name, or too large."""
    if not is_table_name(name):
        return texts("roster.send_file")
    if size > limits.max_file_bytes:
        return texts("roster.too_big", limit=f"{limits.max_file_mb:g}")
    return None


async def send_roster(update: Update, context: AppContext) -> None:
    """``/roster 官员|企业|分工``: the roster as an .xlsx the import reads back; a city admin's
    holds their city's rows only (the policy lets only admins type it)."""
    texts = await context.texts(update)
    message = update.effective_message
    assert message is not None
    kind = kind_named(" ".join(context.args or []))
    if kind is None:
        await message.reply_text(texts("roster.export_usage"))
        return
    scope = context.actor.scope
    services = context.services
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{kind.value}.xlsx"
        count = await export_roster(
            RosterRepository(services.db), kind, path, language=texts.language, scope=scope
        )
        where = (
            ""
            if scope.city is None
            else texts("offices.scope_note", office=city_name(scope.city, texts.language))
        )
        caption = texts(
            "roster.exported", kind=texts(f"roster.kind_{kind.value}"), count=count, scope=where
        )
        await message.reply_document(path.read_bytes(), filename=path.name, caption=caption)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("roster", send_roster),
    MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE, receive_roster),
]
