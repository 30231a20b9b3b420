"""The simulated Telegram world: accounts, chats, their messages and what the bot stored."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from standin import errors
from standin.errors import bad_request, forbidden, migrated
from standin.files import FileStore, StoredFile
from standin.updates import UpdateQueue
from standin.waiting import Signal
from standin.webhook import WebhookState

JSON = dict[str, Any]


@dataclass
class Account:
    """A Telegram account: a simulated user, or the bot itself."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    started: bool = False
    blocked: bool = False
    deactivated: bool = False

    def as_user(self) -> JSON:
        """The User object."""
        user: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                user[key] = getattr(self, key)
        return user


@dataclass
class StoredMessage:
    """A message and its history; ``data`` is the current Message object as Telegram sends it."""

    chat_id: int
    message_id: int
    from_bot: bool
    data: JSON
    source: str | None = None  # the text or caption exactly as sent, HTML markup included
    markup: JSON | None = None  # reply_markup as sent, of any kind (data keeps inline only)
    files: dict[str, StoredFile] = field(default_factory=dict)
    edit_count: int = 0
    deleted: bool = False
    version: int = 0

    @property
    def html(self) -> str | None:
        """The text or caption as the bot sent it (same as ``source``)."""
        return self.source

    @property
    def text(self) -> str | None:
        return self.data.get("text")

    @property
    def entities(self) -> list[JSON]:
        return list(self.data.get("entities", []))

    @property
    def caption(self) -> str | None:
        return self.data.get("caption")

    @property
    def caption_entities(self) -> list[JSON]:
        return list(self.data.get("caption_entities", []))

    @property
    def reply_markup(self) -> JSON | None:
        return self.data.get("reply_markup")

    @property
    def photo(self) -> bytes | None:
        return self.files["photo"].data if "photo" in self.files else None

    @property
    def document(self) -> bytes | None:
        return self.files["document"].data if "document" in self.files else None

    @property
    def filename(self) -> str | None:
        return self.files["document"].filename if "document" in self.files else None

    def snapshot(self) -> StoredMessage:
        """A copy that later edits do not change."""
        return replace(self, data=copy.deepcopy(self.data), files=dict(self.files))


class Chat:
    """A private chat with one account, or a group; message ids count per chat."""

    def __init__(
        self, chat_id: int, kind: str, *, title: str | None = None, account: Account | None = None
    ) -> None:
        self.id = chat_id
        self.type = kind
        self.title = title
        self.account = account
        self.bot_member = kind == "private"
        self.messages: dict[int, StoredMessage] = {}
        self.version = 0
        self.signal = Signal()
        self.actions: list[str] = []
        self.reply_keyboard: JSON | None = None
        self.migrated_to: int | None = None  # a group upgraded to this supergroup

    def as_chat(self) -> JSON:
        """The Chat object."""
        if self.account is not None:
            user = self.account.as_user()
            user.pop("is_bot")
            user.pop("language_code", None)
            return {**user, "type": self.type}
        return {"id": self.id, "type": self.type, "title": self.title or ""}

    def add(self, data: JSON, *, from_bot: bool, date: int, **extra: Any) -> StoredMessage:
        """Store a new message, giving it the next message_id."""
        message_id = len(self.messages) + 1
        data = {"message_id": message_id, "date": date, "chat": self.as_chat(), **data}
        message = StoredMessage(self.id, message_id, from_bot, data, **extra)
        self.messages[message_id] = message
        self.touch(message)
        return message

    def touch(self, message: StoredMessage) -> None:
        """Record a change to ``message`` and wake whoever watches the chat."""
        self.version += 1
        message.version = self.version
        self.signal.notify()

    def find(self, message_id: Any) -> StoredMessage | None:
        """The message with that id, unless it does not exist or was deleted."""
        found = self.messages.get(message_id) if isinstance(message_id, int) else None
        return None if found is None or found.deleted else found


@dataclass
class CallbackQuery:
    """A button press waiting for answerCallbackQuery."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answer: JSON | None = None


class World:
    """Everything the stand-in knows; the methods and the test API both work on it."""

    def __init__(self, *, bot: Account, clock: Callable[[], float], strict_ampersand: bool) -> None:
        self.bot = bot
        self.clock = clock
        self.strict_ampersand = strict_ampersand
        self.accounts: dict[int, Account] = {}
        self.chats: dict[int, Chat] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.webhook = WebhookState()
        self.commands: dict[tuple[str, int | None, int | None, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.callback_signal = Signal()
        self.closing = asyncio.Event()
        # Telegram's verification mark (standin/verifying.py): off until Telegram approves.
        self.verifier_allowed = False
        self.custom_descriptions_allowed = True
        self.verified: dict[int, str] = {}
        # The bot's Telegram Stars, in nanostars (paid broadcasts spend 0.1 Star a message).
        self.star_nanos = 0
        self.paid_messages = 0

    @staticmethod
    def now() -> int:
        """Unix time for message dates (wall clock, not the injectable one)."""
        return int(time.time())

    def private_chat(self, account: Account) -> Chat:
        chat = self.chats.get(account.id)
        if chat is None:
            chat = self.chats[account.id] = Chat(account.id, "private", account=account)
        return chat

    def known_chat(self, chat_id: Any) -> Chat:
        """A chat the bot can see: a started private chat or any known group."""
        key = _chat_key(chat_id)
        chat = self.chats.get(key) if key is not None else None
        if chat is None or (chat.account is not None and not chat.account.started):
            raise bad_request(errors.CHAT_NOT_FOUND)
        if chat.migrated_to is not None:
            raise migrated(chat.migrated_to)
        return chat

    def target_chat(self, chat_id: Any) -> Chat:
        """A chat the bot may send to now, or Telegram's 400/403 why not."""
        chat = self.known_chat(chat_id)
        if chat.account is not None and chat.account.deactivated:
            raise forbidden(errors.DEACTIVATED)
        if chat.account is not None and chat.account.blocked:
            raise forbidden(errors.BLOCKED)
        if not chat.bot_member:
            raise forbidden("bot is not a member of the group chat")
        return chat

    def post_user_message(self, chat: Chat, account: Account, content: JSON) -> StoredMessage:
        """A user's new message: stored in the chat and queued as a ``message`` update."""
        account.started = account.started or chat.type == "private"
        data = {"from": account.as_user(), **content}
        message = chat.add(data, from_bot=False, date=self.now())
        self.updates.put("message", copy.deepcopy(message.data))
        return message


def _chat_key(chat_id: Any) -> int | None:
    if isinstance(chat_id, int) and not isinstance(chat_id, bool):
        return chat_id
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        return int(chat_id)
    return None
