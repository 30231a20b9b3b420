"""Telegram I/O: thin handlers that parse an update, call the domain and render the answer."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from bot.config import Settings
from handlers import (
    access,
    audit,
    backups,
    broadcast_composer,
    broadcasts,
    business_cards,
    charts,
    chats,
    common,
    dialogues,
    errors,
    fallback,
    holidays,
    impostors,
    journeys,
    ledger,
    notices,
    offices,
    privacy,
    registration,
    request_lists,
    requests,
    rosters,
    start,
    stats,
    systemic_issues,
    thread_view,
    verification,
)


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any], settings: Settings) -> None:
    """The whole routing table, in order. Earlier groups run first; within a group the first
    matching handler wins."""
    # Group -3: record the user, keep the bot out of group chats.
    app.add_handlers(chats.GUARDS, group=-3)
    # Group -2: find who the user is, parse the button, refuse what the access policy
    # (bot/roles.py) does not allow them.
    app.add_handlers(access.GATE, group=-2)

    # Conversations come first so that their states see the user's messages before anything
    # generic does.
    # Announcements (admins only): first, so that while an admin composes one, what they type
    # goes to the composer; then the buttons of stored broadcasts and /broadcasts.
    app.add_handlers(broadcast_composer.handlers(app.bot_data))
    app.add_handlers(broadcasts.HANDLERS)
    # Verifying an official: typing a code, checking a number or an account.
    app.add_handlers(verification.handlers(app.bot_data))
    # Reporting an impostor, and the admins' warning to the official's portfolio.
    app.add_handlers(impostors.handlers(app.bot_data))
    # Requests: the intake (/new), writing on a request (reply, note, ask, resolve, return),
    # site visits (/visit) and registering an enterprise (/register): one conversation.
    app.add_handlers(
        dialogues.handlers(settings.requests.conversation_timeout_seconds, app.bot_data)
    )
    # Contact notices and "who is contacting me?".
    app.add_handlers(notices.HANDLERS)
    # Business cards; their /start deep link must come before the plain /start below.
    app.add_handlers(business_cards.HANDLERS)
    # Deep links and greetings (the invite link before plain /start).
    app.add_handlers(start.HANDLERS)
    # Help, language, cancel and who is reachable.
    app.add_handlers(common.HANDLERS)
    app.add_handlers(chats.HANDLERS)
    # Requests: the lists (/my, /inbox, /queue), /open and a bare number; then the buttons
    # on cards that act at once (after the conversation, which takes the ones that ask for text).
    app.add_handlers(request_lists.HANDLERS)
    app.add_handlers(requests.HANDLERS)
    # A request's full thread (📜): the whole description, the messages, the files.
    app.add_handlers(thread_view.HANDLERS)
    # Systemic issues (admins): /issues and the other /issue… commands, their buttons.
    app.add_handlers(systemic_issues.HANDLERS)
    # Admins approve or reject registered enterprises.
    app.add_handlers(registration.HANDLERS)
    # The ledger: counts and rates, charts, the ledger file.
    app.add_handlers(stats.HANDLERS)
    app.add_handlers(charts.HANDLERS)
    app.add_handlers(ledger.HANDLERS)
    # The audit: a request's full history, what one user did (admins).
    app.add_handlers(audit.HANDLERS)
    # Holiday schedules (admins): /holidays, and a .toml file sent to the bot is loaded.
    app.add_handlers(holidays.HANDLERS)
    # Rosters sent as files; after the conversations, which take the files sent in them.
    app.add_handlers(rosters.HANDLERS)
    # Personal data (admins only): export one user's, or erase it after a confirmation.
    app.add_handlers(privacy.HANDLERS)
    # Offices: appoint an admin by a one-time link, list and revoke them (admins).
    app.add_handlers(offices.HANDLERS)

    # Last: whatever nobody else took gets a plain answer.
    app.add_handlers(fallback.HANDLERS)

    # Group -1, before all of the above: an update that starts a journey (a command, a menu
    # button, a button that opens a dialogue) first ends every dialogue the user is in, so
    # that what they type next goes to the one they see (handlers/journeys.py).
    journeys.install(app, group=-1)
    app.add_error_handler(errors.on_error)


def schedule_jobs(app: Application[Any, Any, Any, Any, Any, Any], settings: Settings) -> None:
    """Repeating alarm clocks; each asks the database what is due."""
    broadcasts.schedule_ticks(app, settings.broadcast.tick_seconds)
    backups.schedule_backups(app, settings.storage.backup_interval_hours)
    privacy.schedule_pruning(app, settings.privacy.prune_interval_hours)
