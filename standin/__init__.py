"""A local Telegram stand-in: the Bot API over HTTP for the real bot, users for the tests."""

from standin.botapi import ApiCall
from standin.client import TestGroup, TestUser
from standin.limits import RateLimits
from standin.server import TelegramStandin
from standin.state import StoredMessage

__all__ = ["ApiCall", "RateLimits", "StoredMessage", "TelegramStandin", "TestGroup", "TestUser"]
