"""The Telegram side of the verification mark: verifyUser and removeUserVerification, with
Telegram's errors turned into the domain's (bot/marks.py)."""

from __future__ import annotations

from collections.abc import Awaitable

from telegram.error import BadRequest, Forbidden, TelegramError

from bot.marks import AccountGone, MarkRefused, MarkUnavailable
from handlers.liaison_bot import LiaisonBot

GONE_WORDS = ("user not found", "user_id_invalid", "user is deactivated", "chat not found")


class TelegramMarks:
    """Gives and takes the mark through the Bot API."""

    def __init__(self, bot: LiaisonBot) -> None:
        self._bot = bot

    async def verify(self, telegram_id: int, description: str) -> None:
        await _call(self._bot.verify_user(telegram_id, custom_description=description or None))

    async def remove(self, telegram_id: int) -> None:
        await _call(self._bot.remove_user_verification(telegram_id))


async def _call(call: Awaitable[bool]) -> None:
    try:
        await call
    except (BadRequest, Forbidden) as exc:
        if any(word in exc.message.lower() for word in GONE_WORDS):
            raise AccountGone(exc.message) from exc
        raise MarkRefused(exc.message) from exc
    except TelegramError as exc:  # time-outs, network and server errors, flood control
        raise MarkUnavailable(exc.message) from exc
