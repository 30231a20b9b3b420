"""The bot's Telegram Stars and paid broadcasts.

A message sent with ``allow_paid_broadcast`` is not counted against the 30-a-second limit but
in a window of its own (1000 a second, standin/limits.py), and costs 0.1 Star, withdrawn from
the bot's balance when it is sent; with less than that left, Telegram refuses it with 400.
``getMyStarBalance`` answers the balance as a StarAmount. Tests set the balance with
:meth:`TelegramStandin.set_star_balance` (the sandbox's control API: ``POST /_standin/stars``).
"""

from __future__ import annotations

from typing import Any

from standin.errors import bad_request
from standin.state import World

JSON = dict[str, Any]
NANOS_PER_STAR = 1_000_000_000
PAID_MESSAGE_NANOS = NANOS_PER_STAR // 10  # 0.1 Star a message
BALANCE_TOO_LOW = "BALANCE_TOO_LOW"


def is_paid(params: JSON) -> bool:
    return params.get("allow_paid_broadcast") is True


def check_balance(world: World) -> None:
    """Refuse a paid message the balance cannot pay for."""
    if world.star_nanos < PAID_MESSAGE_NANOS:
        raise bad_request(BALANCE_TOO_LOW)


def charge(world: World) -> None:
    """Withdraw the price of one paid message, once it was sent."""
    world.star_nanos -= PAID_MESSAGE_NANOS
    world.paid_messages += 1


def set_balance(world: World, stars: float) -> None:
    world.star_nanos = round(stars * NANOS_PER_STAR)


def balance(world: World) -> float:
    return world.star_nanos / NANOS_PER_STAR


async def get_my_star_balance(world: World, params: JSON) -> JSON:
    """getMyStarBalance: whole Stars and the nanostars beyond them."""
    amount, nanostars = divmod(world.star_nanos, NANOS_PER_STAR)
    return {"amount": amount, "nanostar_amount": nanostars}


METHODS = {"getMyStarBalance": get_my_star_balance}
