"""The typed context every handler receives: services, the acting user, their language, and
the button pressed.

Who the user is is found once per update, by handlers/access.py (through
:meth:`bot.services.Services.actor`, the one way to find an actor), which also parses the
pressed button and checks both against the access policy before any handler runs."""

from __future__ import annotations

from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application, CallbackContext

from bot.i18n import Translator
from bot.roles import Actor
from bot.services import Services
from handlers.callback_data import CallbackData
from handlers.liaison_bot import LiaisonBot

B = TypeVar("B", bound=CallbackData)


class BotData:
    """Application-wide state; not persisted by python-telegram-bot, so it may hold connections."""

    services: Services


class AppContext(CallbackContext[LiaisonBot, dict[Any, Any], dict[Any, Any], BotData]):
    """One per update: caches who the user is and which language they read."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._actor: Actor | None = None
        self._translator: Translator | None = None
        self.pressed: CallbackData | None = None

    @property
    def services(self) -> Services:
        return self.bot_data.services

    @property
    def actor(self) -> Actor:
        """Who sent the update, as handlers/access.py found them (it admitted the update)."""
        assert self._actor is not None, "an update from a user goes through handlers/access.py"
        return self._actor

    async def identify(self, update: Update) -> Actor:
        """Find who sent the update (again, after it changed who they are)."""
        user = update.effective_user
        assert user is not None
        self._actor = await self.services.actor(user.id)
        return self._actor

    def button(self, cls: type[B]) -> B:
        """The pressed button, parsed and admitted by handlers/access.py."""
        assert isinstance(self.pressed, cls), f"{self.pressed!r} is not a {cls.__name__}"
        return self.pressed

    async def texts(self, update: Update) -> Translator:
        if self._translator is None:
            user = update.effective_user
            language = (
                await self.services.accounts.language_of(user.id)
                if user is not None
                else self.services.settings.locale.default_language
            )
            self._translator = Translator(language)
        return self._translator

    async def texts_of(self, telegram_id: int) -> Translator:
        """Another user's texts, in their language (for a message to them)."""
        return Translator(await self.services.accounts.language_of(telegram_id))

    async def forget_user(self, update: Update) -> Actor:
        """Find the user and their language again after they changed during this update."""
        self._translator = None
        return await self.identify(update)
