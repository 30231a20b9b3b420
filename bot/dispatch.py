"""The notices a change of a request causes, queued in the transaction of the change itself.

A new request goes to its holder with its card (派单), or to the admins when nobody holds it;
a reassigned one to its new holder; a returned one (退单) to the admins; an automatic close-out
to the enterprise and the official. They are outbox rows written inside the change's
transaction (:class:`bot.requests.Change`), so a crash keeps the change and its notices or
neither; the outbox delivers them (retrying the critical ones for hours, see bot/outbox.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiosqlite

from bot.i18n import Translator
from bot.lifecycle import Action
from storage.models import Official
from storage.outbox import NewMessage, enqueue

if TYPE_CHECKING:
    from bot.requests import Change
    from bot.services import Services


def official_label(official: Official | None, texts: Translator) -> str:
    """The verified name an official appears under: name, title, body."""
    if official is None:
        return texts("requests.nobody")
    role = "，".join(part for part in (official.title, official.body) if part)
    return f"{official.name}（{role}）" if role else official.name


async def queue_notices(services: Services, tx: aiosqlite.Connection, change: Change) -> int:
    """Queue (in ``tx``) what ``change`` must tell others; return how many messages."""
    messages = await notices(services, change)
    await enqueue(tx, messages, now=change.now)
    return len(messages)


async def notices(services: Services, change: Change) -> list[NewMessage]:
    if change.action in (None, Action.ASSIGN):
        return await _new_request(services, change)
    if change.action is Action.RETURN:
        return await _returned(services, change)
    if change.action is Action.AUTO_CLOSE:
        return await _auto_closed(services, change)
    return []


async def _chat_of(services: Services, official_id: int | None) -> int | None:
    official = None if official_id is None else await services.officials.get(official_id)
    return None if official is None else official.telegram_id


async def _texts(services: Services, chat_id: int) -> Translator:
    return Translator(await services.accounts.language_of(chat_id))


def _card(
    services: Services, change: Change, chat_id: int, kind: str, text: str, *, card: bool = True
) -> NewMessage:
    request = change.after
    return services.outbox.message(
        chat_id,
        kind,
        text,
        at=change.now,
        urgent=request.urgent and kind == "new_request",
        dedupe_key=f"req:{request.id}:{request.version}:{chat_id}",
        card=request.id if card else None,
    )


async def _new_request(services: Services, change: Change) -> list[NewMessage]:
    """The card to the (new) holder; to the admins' queue when nobody can take it."""
    request = change.after
    holder = await _chat_of(services, request.official_id)
    if holder is not None:
        texts = await _texts(services, holder)
        text = texts("requests.new_for_official", number=request.number)
        return [_card(services, change, holder, "new_request", text)]
    messages = []
    for admin_id in dict.fromkeys(services.settings.admins.telegram_ids):
        texts = await _texts(services, admin_id)
        text = texts("requests.new_for_admins", number=request.number)
        messages.append(_card(services, change, admin_id, "new_request", text))
    return messages


async def _returned(services: Services, change: Change) -> list[NewMessage]:
    """A returned request (退单) goes back to the admins, with who returned it and why."""
    request, before = change.after, change.before
    returned_by = None
    if before is not None and before.official_id is not None:
        returned_by = await services.officials.get(before.official_id)
    messages = []
    for admin_id in dict.fromkeys(services.settings.admins.telegram_ids):
        texts = await _texts(services, admin_id)
        text = texts(
            "requests.returned_for_admins",
            number=request.number,
            official=official_label(returned_by, texts),
            reason=change.note,
        )
        messages.append(_card(services, change, admin_id, "new_request", text))
    return messages


async def _auto_closed(services: Services, change: Change) -> list[NewMessage]:
    """Nobody confirmed the resolved request in time: both sides learn it was closed."""
    request = change.after
    recipients = [c.telegram_id for c in await services.enterprises.contacts(request.enterprise_id)]
    recipients.append(await _chat_of(services, request.official_id))
    messages = []
    for chat_id in dict.fromkeys(r for r in recipients if r is not None):
        texts = await _texts(services, chat_id)
        text = texts("reminders.auto_closed", number=request.number, summary=request.summary)
        messages.append(_card(services, change, chat_id, "closed", text, card=False))
    return messages
