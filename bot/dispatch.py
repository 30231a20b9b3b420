"""The notices a change of a request causes, queued in the transaction of the change itself.

A new request goes to its holder with its card (派单), or to the admins when nobody holds it;
a reassigned one to its new holder; a returned one (退单) to the admins; an automatic close-out
to the enterprise and the official. The enterprise sees its card when the request is
acknowledged, assigned, resolved or returned, and the official's question when it is put on
hold for them; the official learns of a confirmation, a
rejection or a withdrawal. They are outbox rows written inside the change's
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

# The kinds of message these notices are sent as.
NOTICE_KINDS = ("new_request", "update", "closed")
# What the enterprise's contacts are told, with the card, when the request moves on.
OWNER_HEADLINES = {
    Action.ACKNOWLEDGE: "requests.acknowledged",
    Action.ASSIGN: "requests.assigned_for_owner",
    Action.RESOLVE: "requests.resolved_for_owner",
    Action.RETURN: "requests.returned_for_owner",
    Action.ASK_INFO: "thread.info_request",
}
# What the official who holds the request is told of the enterprise's decisions.
HOLDER_TEXTS = {
    Action.CONFIRM: "requests.closed_for_official",
    Action.REJECT: "requests.reopened_for_official",
    Action.WITHDRAW: "requests.withdrawn_for_official",
}

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
    action = change.action
    messages = []
    if action in (None, Action.ASSIGN):
        messages += await _new_request(services, change)
    if action is Action.RETURN:
        messages += await _returned(services, change)
    if action is Action.AUTO_CLOSE:
        messages += await _auto_closed(services, change)
    if action in OWNER_HEADLINES:
        messages += await _to_owners(services, change, OWNER_HEADLINES[action])
    if action in HOLDER_TEXTS:
        messages += await _to_holder(services, change, HOLDER_TEXTS[action])
    return messages


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
        dedupe_key=f"req:{request.id}:{request.version}:{kind}:{chat_id}",
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


async def _owners(services: Services, enterprise_id: int) -> list[int]:
    contacts = await services.enterprises.contacts(enterprise_id)
    return [c.telegram_id for c in contacts if c.telegram_id is not None]


async def _to_owners(services: Services, change: Change, key: str) -> list[NewMessage]:
    """The enterprise's contacts see the request's card under what just happened."""
    request = change.after
    holder = None
    if request.official_id is not None:
        holder = await services.officials.get(request.official_id)
    messages = []
    for chat_id in dict.fromkeys(await _owners(services, request.enterprise_id)):
        texts = await _texts(services, chat_id)
        label, note = official_label(holder, texts), change.note
        # Headlines name the holder as official or sender, and the note as note or text.
        text = texts(key, number=request.number, official=label, sender=label, note=note, text=note)
        messages.append(_card(services, change, chat_id, "update", text))
    return messages


async def _to_holder(services: Services, change: Change, key: str) -> list[NewMessage]:
    """The official holding the request learns what the enterprise decided."""
    request = change.after
    chat_id = await _chat_of(services, request.official_id)
    if chat_id is None:
        return []
    texts = await _texts(services, chat_id)
    text = texts(key, number=request.number, rating=request.rating or "—")
    return [_card(services, change, chat_id, "update", text, card=False)]


async def _auto_closed(services: Services, change: Change) -> list[NewMessage]:
    """Nobody confirmed the resolved request in time: both sides learn it was closed."""
    request = change.after
    recipients: list[int | None] = [*await _owners(services, request.enterprise_id)]
    recipients.append(await _chat_of(services, request.official_id))
    messages = []
    for chat_id in dict.fromkeys(r for r in recipients if r is not None):
        texts = await _texts(services, chat_id)
        text = texts("reminders.auto_closed", number=request.number, summary=request.summary)
        messages.append(_card(services, change, chat_id, "closed", text, card=False))
    return messages
