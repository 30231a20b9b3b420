"""The test-facing side: simulated users and groups, and what they see of the bot.

Every wait is event-driven (a chat's signal fires on each new, edited or deleted message), so
an expectation returns as soon as the bot has acted.
"""

from __future__ import annotations

import copy
from collections.abc import Generator
from typing import Any

from standin import incoming
from standin.chats import set_bot_membership
from standin.markup import find_inline_button, inline_buttons, keyboard_buttons
from standin.state import Account, CallbackQuery, Chat, StoredMessage, World
from standin.waiting import wait_for

JSON = dict[str, Any]


class Done:
    """Already done, but awaitable: ``user.block()`` and ``await user.block()`` both work."""

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


class ChatView:
    """One chat as a person in it sees it, with a cursor over the bot messages already read."""

    def __init__(self, world: World, chat: Chat) -> None:
        self.world = world
        self.chat = chat
        self._cursor = 0

    @property
    def messages(self) -> list[StoredMessage]:
        """Every bot message in the chat, current version (deleted ones flagged)."""
        return [m.snapshot() for m in self.chat.messages.values() if m.from_bot]

    @property
    def history(self) -> list[StoredMessage]:
        """Every message in the chat, the users' included."""
        return [m.snapshot() for m in self.chat.messages.values()]

    def _next_unread(self) -> StoredMessage | None:
        for message in self.chat.messages.values():
            if message.from_bot and message.message_id > self._cursor:
                return message
        return None

    async def expect_message(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 (the test API names it so)
    ) -> StoredMessage:
        """The next bot message not read yet; AssertionError with the chat dump on timeout."""
        found = await wait_for(self.chat.signal, self._next_unread, timeout)
        if found is None:
            raise AssertionError(f"no new bot message within {timeout}s\n{self.dump()}")
        self._cursor = found.message_id
        return found.snapshot()

    async def expect_no_message(self, within: float = 0.3) -> None:
        """Fail if the bot sends a message not read yet within ``within`` seconds."""
        found = await wait_for(self.chat.signal, self._next_unread, within)
        if found is not None:
            raise AssertionError(f"unexpected bot message #{found.message_id}\n{self.dump()}")

    async def expect_edit(
        self,
        message: StoredMessage,
        timeout: float = 5.0,  # noqa: ASYNC109 (the test API names it so)
    ) -> StoredMessage:
        """The new version of ``message`` once the bot has edited it (again)."""
        chat = self.world.chats[message.chat_id]
        current = chat.messages[message.message_id]

        def edited() -> StoredMessage | None:
            return current if current.edit_count > message.edit_count else None

        found = await wait_for(chat.signal, edited, timeout)
        if found is None:
            raise AssertionError(
                f"message #{message.message_id} not edited within {timeout}s\n{self.dump()}"
            )
        return found.snapshot()

    def dump(self) -> str:
        """The chat as text, for failure messages."""
        lines = [f"chat {self.chat.id} ({self.chat.type}), {len(self.chat.messages)} messages:"]
        lines += [f"  {describe(m)}" for m in self.chat.messages.values()]
        return "\n".join(lines)


def describe(message: StoredMessage) -> str:
    """One line about a message: who, what, which buttons, what happened to it."""
    who = "bot " if message.from_bot else "user"
    body = message.text if message.text is not None else message.caption
    kinds = [
        kind
        for kind in ("photo", "document", "sticker", "voice", "location", "contact", "users_shared")
        if kind in message.data
    ]
    line = f"#{message.message_id} {who}: {body!r}" + (f" [{', '.join(kinds)}]" if kinds else "")
    buttons = [
        b.get("text", "") + f"({b.get('callback_data') or b.get('url') or ''})"
        for b in inline_buttons(message.reply_markup)
    ]
    if buttons:
        line += " buttons: " + " | ".join(buttons)
    if message.edit_count:
        line += f" (edited {message.edit_count}x)"
    return line + (" (deleted)" if message.deleted else "")


class TestUser(ChatView):
    """A simulated user and the private chat with the bot."""

    __test__ = False  # not a pytest test class

    def __init__(self, world: World, account: Account) -> None:
        super().__init__(world, world.private_chat(account))
        self.account = account

    @property
    def id(self) -> int:
        return self.account.id

    @property
    def reply_keyboard(self) -> JSON | None:
        """The reply keyboard the bot shows this user now, if any."""
        return self.chat.reply_keyboard

    async def send(self, text: str) -> JSON:
        """Send text; a leading /command gets its bot_command entity."""
        return self._post(incoming.text(text))

    async def send_photo(self, data: bytes, caption: str | None = None) -> JSON:
        content, files = incoming.photo(self.world.files, data, caption)
        return self._post(content, files)

    async def send_document(
        self,
        data: bytes,
        filename: str = "document.pdf",
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> JSON:
        content, files = incoming.document(self.world.files, data, filename, caption, mime_type)
        return self._post(content, files)

    async def send_sticker(self, emoji: str = "👍") -> JSON:
        return self._post(incoming.sticker(self.world.files, emoji))

    async def send_voice(self, data: bytes | None = None, duration: int = 1) -> JSON:
        return self._post(incoming.voice(self.world.files, data, duration))

    async def send_location(self, latitude: float, longitude: float) -> JSON:
        return self._post(incoming.location(latitude, longitude))

    async def send_contact(
        self, phone_number: str, first_name: str, user_id: int | None = None
    ) -> JSON:
        return self._post(incoming.contact(phone_number, first_name, user_id))

    async def share_user(self, request_id: int, user_id: int) -> JSON:
        """Answer the bot's request_users keyboard button with ``request_id``."""
        button = next(
            (
                b["request_users"]
                for b in keyboard_buttons(self.reply_keyboard)
                if b.get("request_users", {}).get("request_id") == request_id
            ),
            None,
        )
        if button is None:
            raise AssertionError(f"no request_users button {request_id} shown\n{self.dump()}")
        shared: JSON = {"user_id": user_id}
        known = self.world.accounts.get(user_id)
        if known is not None and button.get("request_name"):
            shared["first_name"] = known.first_name
        if known is not None and known.username and button.get("request_username"):
            shared["username"] = known.username
        return self._post(incoming.users_shared(request_id, [shared]))

    def _post(self, content: JSON, files: JSON | None = None) -> JSON:
        if self.account.deactivated:
            raise AssertionError(f"user {self.id} is deactivated and cannot send")
        if self.account.blocked:
            self.unblock()  # the app's "Restart bot" button unblocks first
        message = self.world.post_user_message(self.chat, self.account, content)
        message.files.update(files or {})
        return copy.deepcopy(message.data)

    async def edit(self, message_id: int, text: str) -> JSON:
        """Edit one of this user's own messages (an ``edited_message`` update)."""
        message = self.chat.find(message_id)
        if message is None or message.from_bot:
            raise AssertionError(f"user {self.id} has no message #{message_id} to edit")
        message.data.pop("entities", None)
        message.data.update(incoming.text(text), edit_date=self.world.now())
        message.edit_count += 1
        self.chat.touch(message)
        self.world.updates.put("edited_message", copy.deepcopy(message.data))
        return copy.deepcopy(message.data)

    async def press(self, message: StoredMessage | int, label: str) -> str:
        """Press an inline button (matched by text, then callback_data); the query id."""
        chat, current = self._current(message)
        message_id = current.message_id
        button = find_inline_button(current.reply_markup, label)
        if button is None or "callback_data" not in button:
            raise AssertionError(
                f"no callback button {label!r} on #{message_id}: {describe(current)}"
            )
        return self._callback_query(chat, current, str(button["callback_data"]))

    async def press_data(self, message: StoredMessage | int, data: str) -> str:
        """Send a callback query with any ``data`` for that message: a forged or stale button."""
        chat, current = self._current(message)
        return self._callback_query(chat, current, data)

    def _current(self, message: StoredMessage | int) -> tuple[Chat, StoredMessage]:
        """The chat of ``message`` and its current version (a bare id means this chat)."""
        if isinstance(message, StoredMessage):
            chat, message_id = self.world.chats[message.chat_id], message.message_id
        else:
            chat, message_id = self.chat, message
        current = chat.find(message_id)
        if current is None:
            raise AssertionError(f"message #{message_id} is gone\n{self.dump()}")
        return chat, current

    def _callback_query(self, chat: Chat, message: StoredMessage, data: str) -> str:
        query_id = str(4_000_000_000_000 + len(self.world.callback_queries) + 1)
        self.world.callback_queries[query_id] = CallbackQuery(
            query_id, self.id, chat.id, message.message_id, data, self.world.clock()
        )
        self.world.updates.put(
            "callback_query",
            {
                "id": query_id,
                "from": self.account.as_user(),
                "message": copy.deepcopy(message.data),
                "chat_instance": f"{chat.id}{self.world.bot.id}",
                "data": data,
            },
        )
        return query_id

    async def expect_callback_answer(
        self,
        query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 (the test API names it so)
    ) -> JSON:
        """The answerCallbackQuery parameters the bot gave for ``query_id``."""
        query = self.world.callback_queries[query_id]
        answer = await wait_for(self.world.callback_signal, lambda: query.answer, timeout)
        if answer is None:
            raise AssertionError(f"callback query {query_id} not answered within {timeout}s")
        return answer

    def block(self) -> Done:
        """Block the bot: later sends get 403; the bot gets my_chat_member "kicked"."""
        if not self.account.blocked:
            set_bot_membership(self.world, self.chat, self.account, "kicked")
        return Done()

    def unblock(self) -> Done:
        """Unblock the bot: my_chat_member "member"."""
        if self.account.blocked:
            set_bot_membership(self.world, self.chat, self.account, "member")
        return Done()

    def deactivate(self) -> Done:
        """Delete the account: later sends get 403 "user is deactivated"."""
        self.account.deactivated = True
        return Done()

    def set_language(self, language_code: str | None) -> Done:
        self.account.language_code = language_code
        return Done()


class TestGroup(ChatView):
    """A simulated group the bot may be added to."""

    __test__ = False

    async def add_bot(self, by: TestUser) -> None:
        """``by`` adds the bot: my_chat_member "member"."""
        set_bot_membership(self.world, self.chat, by.account, "member")

    async def remove_bot(self, by: TestUser) -> None:
        """``by`` removes the bot: my_chat_member "left"; sending then fails with 403."""
        set_bot_membership(self.world, self.chat, by.account, "left")

    async def send(self, user: TestUser, text: str) -> JSON:
        """``user`` writes in the group."""
        message = self.world.post_user_message(self.chat, user.account, incoming.text(text))
        return copy.deepcopy(message.data)
