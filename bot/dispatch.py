"""The notices a change of a request causes, queued in the transaction of the change itself.

A new request goes to its holder with its card (派单), or to the admins when nobody holds it;
a reassigned one to its new holder; a returned one (退单) to the admins; an automatic close-out
to the enterprise and the official. The enterprise sees its card when the request is
acknowledged, assigned, resolved or returned, and the official's question when it is put on
hold for them; the official learns of a confirmation, a
rejection or a withdrawal. They are outbox rows written inside the change's
transaction (:class:`bot.requests.Change`), so a crash keeps the change and its notices or
neither; the outbox delivers them (retrying the critical ones for hours, see bot/outbox.py).

A message written in a request's thread goes the same way to the other side (the
enterprise's contacts, or the official who holds the request), written in the transaction
that stores it (:class:`bot.requests.Posted`), with its photo or document if it has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.accounts import Accounts
from bot.delivery import Media
from bot.i18n import Translator
from bot.lifecycle import Action
from bot.offices import Offices
from bot.outbox import Outbox
from storage.db import Transaction
from storage.enterprises import EnterpriseRepository
from storage.models import Official
from storage.officials import OfficialRepository
from storage.outbox import NewMessage, enqueue

THREAD_KIND = "thread"
# The kinds of message these notices and thread messages are sent as.
NOTICE_KINDS = ("new_request", "update", "closed", THREAD_KIND)
# Telegram takes 1024 characters of caption; the headline's markup needs some room.
CAPTION_LIMIT = 1000
SHORTENED_CAPTION_TEXT = 500
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
    from bot.requests import Change, Known, Posted
    from storage.requests import Request


def official_label(official: Official | None, texts: Translator) -> str:
    """The verified name an official appears under: name, title, body."""
    if official is None:
        return texts("requests.nobody")
    role = "，".join(part for part in (official.title, official.body) if part)
    return f"{official.name}（{role}）" if role else official.name


class Notices:
    """The notices of changes and the thread messages, queued in the transaction that stores
    what they tell of, reading (officials, contacts) through that transaction what the desk
    did not read before it began (``Change.known``, ``Posted.known``)."""

    def __init__(
        self,
        *,
        officials: OfficialRepository,
        enterprises: EnterpriseRepository,
        accounts: Accounts,
        outbox: Outbox,
        offices: Offices,
    ) -> None:
        self._officials = officials
        self._enterprises = enterprises
        self._accounts = accounts
        self._outbox = outbox
        self._offices = offices

    async def _admins_for(self, request: Request) -> tuple[int, ...]:
        """Who holds the queue of a request nobody holds: its enterprise's city office and
        the province office."""
        return await self._offices.concerned(request.city)

    async def queue_change(self, tx: Transaction, change: Change) -> int:
        """Queue (in ``tx``) what ``change`` must tell others; return how many messages."""
        messages = await self.of_change(tx, change)
        await enqueue(tx, messages, now=change.now)
        return len(messages)

    async def queue_posted(self, tx: Transaction, posted: Posted) -> int:
        """Queue (in ``tx``) a thread message for the other side; return how many messages."""
        messages = await self.of_post(tx, posted)
        await enqueue(tx, messages, now=posted.now)
        return len(messages)

    async def of_change(self, tx: Transaction, change: Change) -> list[NewMessage]:
        action = change.action
        messages = []
        if action in (None, Action.ASSIGN):
            messages += await self._new_request(tx, change)
        if action is Action.RETURN:
            messages += await self._returned(tx, change)
        if action is Action.AUTO_CLOSE:
            messages += await self._auto_closed(tx, change)
        if action in OWNER_HEADLINES:
            messages += await self._to_owners(tx, change, OWNER_HEADLINES[action])
        if action in HOLDER_TEXTS:
            messages += await self._to_holder(tx, change, HOLDER_TEXTS[action])
        return messages

    async def _official(
        self, tx: Transaction, official_id: int | None, known: Known
    ) -> Official | None:
        """The official as read before the transaction if the desk did, else as ``tx`` sees it."""
        if official_id is None:
            return None
        if official_id in known.officials:
            return known.officials[official_id]
        return await self._officials.get_in(tx, official_id)

    async def _chat_of(self, tx: Transaction, official_id: int | None, known: Known) -> int | None:
        official = await self._official(tx, official_id, known)
        return None if official is None else official.telegram_id

    async def _owners(self, tx: Transaction, request: Request, known: Known) -> list[int]:
        contacts = known.contacts.get(request.enterprise_id)
        if contacts is None:
            contacts = await self._enterprises.contacts_in(tx, request.enterprise_id)
        return [c.telegram_id for c in contacts if c.telegram_id is not None]

    async def _texts(self, chat_id: int) -> Translator:
        return Translator(await self._accounts.language_of(chat_id))

    def _card(
        self, change: Change, chat_id: int, kind: str, text: str, *, card: bool = True
    ) -> NewMessage:
        request = change.after
        return self._outbox.message(
            chat_id,
            kind,
            text,
            at=change.now,
            urgent=request.urgent and kind == "new_request",
            dedupe_key=f"req:{request.id}:{request.version}:{kind}:{chat_id}",
            card=request.id if card else None,
        )

    async def _new_request(self, tx: Transaction, change: Change) -> list[NewMessage]:
        """The card to the (new) holder; to the admins' queue when nobody can take it."""
        request = change.after
        holder = await self._chat_of(tx, request.official_id, change.known)
        if holder is not None:
            texts = await self._texts(holder)
            text = texts("requests.new_for_official", number=request.number)
            return [self._card(change, holder, "new_request", text)]
        messages = []
        for admin_id in await self._admins_for(request):
            texts = await self._texts(admin_id)
            text = texts("requests.new_for_admins", number=request.number)
            messages.append(self._card(change, admin_id, "new_request", text))
        return messages

    async def _returned(self, tx: Transaction, change: Change) -> list[NewMessage]:
        """A returned request (退单) goes back to the admins, with who returned it and why."""
        request, before = change.after, change.before
        returned_by = (
            None if before is None else await self._official(tx, before.official_id, change.known)
        )
        messages = []
        for admin_id in await self._admins_for(request):
            texts = await self._texts(admin_id)
            text = texts(
                "requests.returned_for_admins",
                number=request.number,
                official=official_label(returned_by, texts),
                reason=change.note,
            )
            messages.append(self._card(change, admin_id, "new_request", text))
        return messages

    async def _to_owners(self, tx: Transaction, change: Change, key: str) -> list[NewMessage]:
        """The enterprise's contacts see the request's card under what just happened."""
        request = change.after
        holder = await self._official(tx, request.official_id, change.known)
        messages = []
        for chat_id in dict.fromkeys(await self._owners(tx, request, change.known)):
            texts = await self._texts(chat_id)
            label, note = official_label(holder, texts), change.note
            # Headlines name the holder as official or sender, and the note as note or text.
            text = texts(
                key, number=request.number, official=label, sender=label, note=note, text=note
            )
            messages.append(self._card(change, chat_id, "update", text))
        return messages

    async def _to_holder(self, tx: Transaction, change: Change, key: str) -> list[NewMessage]:
        """The official holding the request learns what the enterprise decided."""
        request = change.after
        chat_id = await self._chat_of(tx, request.official_id, change.known)
        if chat_id is None:
            return []
        texts = await self._texts(chat_id)
        text = texts(key, number=request.number, rating=request.rating or "—")
        return [self._card(change, chat_id, "update", text, card=False)]

    async def _auto_closed(self, tx: Transaction, change: Change) -> list[NewMessage]:
        """Nobody confirmed the resolved request in time: both sides learn it was closed."""
        request = change.after
        recipients: list[int | None] = [*await self._owners(tx, request, change.known)]
        recipients.append(await self._chat_of(tx, request.official_id, change.known))
        messages = []
        for chat_id in dict.fromkeys(r for r in recipients if r is not None):
            texts = await self._texts(chat_id)
            text = texts("reminders.auto_closed", number=request.number, summary=request.summary)
            messages.append(self._card(change, chat_id, "closed", text, card=False))
        return messages

    async def of_post(self, tx: Transaction, posted: Posted) -> list[NewMessage]:
        """The message for each recipient, in their language: the number, who wrote it (the
        official's verified name, or the enterprise's), the words, and a reply button (the
        card, for admins). Internal notes go to nobody."""
        request, post = posted.request, posted.post
        if post.internal:
            return []
        # Nobody holds it (submitted, returned): the admins, who hold the unassigned queue.
        to_admins = post.sender_role != "official" and request.official_id is None
        if post.sender_role == "official":
            recipients = await self._owners(tx, request, posted.known)
            key, enterprise_name = "from_official", None
        else:
            holder = await self._chat_of(tx, request.official_id, posted.known)
            admins = list(await self._admins_for(request)) if to_admins else []
            recipients = admins if to_admins else [h for h in [holder] if h is not None]
            enterprise = await self._enterprises.get_in(tx, request.enterprise_id)
            key = "to_admins" if to_admins else "from_enterprise"
            enterprise_name = enterprise.name if enterprise else ""
        attachment = post.attachment
        media = None if attachment is None else Media(attachment.kind, attachment.file_id)
        messages = []
        for chat_id in dict.fromkeys(recipients):
            texts = await self._texts(chat_id)
            sender = enterprise_name
            if sender is None:
                sender = official_label(posted.sender.official, texts)
            text = _thread_text(texts, f"thread.{key}", request, sender, post.text, media=media)
            # Admins do not reply in the thread: they get the card, to assign the request.
            card = request.id if to_admins and media is None else None
            reply_to = None if to_admins else request.id
            messages.append(
                self._outbox.message(
                    chat_id,
                    THREAD_KIND,
                    text,
                    at=posted.now,
                    card=card,
                    reply_to=reply_to,
                    media=media,
                )
            )
        return messages


async def owners(enterprises: EnterpriseRepository, request: Request) -> list[int]:
    """The Telegram users who speak for the request's enterprise."""
    contacts = await enterprises.contacts(request.enterprise_id)
    return [c.telegram_id for c in contacts if c.telegram_id is not None]


def _thread_text(
    texts: Translator, key: str, request: Request, sender: str, words: str, *, media: Media | None
) -> str:
    """The headline and the words; as a caption, the words shortened to fit."""
    text = texts(key, number=request.number, sender=sender, text=words)
    if media is not None and len(text) > CAPTION_LIMIT:
        shortened = words[:SHORTENED_CAPTION_TEXT] + "…"
        text = texts(key, number=request.number, sender=sender, text=shortened)
    return text
