"""The typed context every handler receives: services, the acting user, their language."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext

from bot.i18n import Translator
from bot.roles import Actor, identify
from bot.services import Services
from handlers.liaison_bot import LiaisonBot


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

    @property
    def services(self) -> Services:
        return self.bot_data.services

    async def actor(self, update: Update) -> Actor:
        if self._actor is None:
            user = update.effective_user
            assert user is not None
            services = self.services
            self._actor = await identify(
                user.id,
                admin_ids=services.settings.admins.telegram_ids,
                officials=services.officials,
                enterprises=services.enterprises,
            )
        return self._actor

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

    def forget_user(self) -> None:
        """Drop the cached actor and language after they changed during this update."""
        self._actor = None
        self._translator = None
